// `--registry-preseeded FILE` (`registry.preseeded` in --config): pull-only mode, for a registry
// pullcheck may not push to. The vendor seeds the content and names it, as the OCI distribution
// conformance suite's read-only setup does (OCI_NAMESPACE, OCI_TAG_NAME, OCI_MANIFEST_DIGEST …):
//
//   - name: oci-manifest            # one of PRESEEDED_KINDS; private-… is read with the credentials
//     reference: registry.example.com/team/app:1.0
//     digest: sha256:…              # of what the reference names (the manifest, or the index)
//     platforms: [linux/amd64, linux/arm64]   # an index's, optional
//
// pullcheck then never writes to the registry (its client refuses every method but GET and HEAD:
// helpers/registry/client.ts `readOnly`); scenarios that only read take their image from the file
// (`s.preseeded`), those that push are not applicable with the reason. Data only, checked here.
import { existsSync, readFileSync } from 'node:fs';
import YAML from 'yaml';

/** What a scenario may ask for: the node-pull kinds, read anonymously or (private-…) with the credentials. */
export const PRESEEDED_KINDS = [
  'oci-manifest',
  'docker-manifest',
  'oci-index',
  'docker-manifest-list',
  'private-oci-manifest',
  'private-docker-manifest',
  'private-oci-index',
  'private-docker-manifest-list',
] as const;
export type PreseededKind = (typeof PRESEEDED_KINDS)[number];
/** A kind without its `private-`: what the scenario pulls, whoever reads it. */
export type PreseededFormat = 'oci-manifest' | 'docker-manifest' | 'oci-index' | 'docker-manifest-list';

export interface PreseededEntry {
  name: PreseededKind;
  /** host/repository:tag (or @digest): the host must be the registry's. */
  reference: string;
  /** The digest the reference names: what a pod's imageID must carry. */
  digest: string;
  /** `os/architecture[/variant]` an index offers (informative). */
  platforms?: string[];
}

/** The reason a scenario that writes is not applicable in pull-only mode. */
export const PULL_ONLY_PUSH_REASON =
  'pull-only: the registry is certified with --registry-preseeded, pullcheck does not push to it; this scenario pushes its own image';

/** The reason a scenario that reads a kind the file does not name is not applicable. */
export function pullOnlyMissing(kind: PreseededKind): string {
  return `pull-only: the registry was given no pre-seeded ${kind} reference (--registry-preseeded)`;
}

const DIGEST = /^sha256:[a-f0-9]{64}$/;
const PLATFORM = /^[a-z0-9]+\/[a-z0-9_]+(?:\/[a-z0-9]+)?$/;

/** host, repository and tag-or-digest of a reference (`host/repo:tag`, `host/repo@sha256:…`). */
export function splitReference(reference: string): { host: string; repository: string; tagOrDigest: string } | undefined {
  const m = /^([^/]+)\/([a-z0-9]+(?:[._/-]+[a-z0-9]+)*)(?::([\w][\w.-]{0,127})|@(sha256:[a-f0-9]{64}))$/.exec(reference);
  if (!m?.[1] || !m[2]) return undefined;
  const tagOrDigest = m[3] ?? m[4];
  return tagOrDigest ? { host: m[1], repository: m[2], tagOrDigest } : undefined;
}

/**
 * The entries of a pre-seeded file's content, checked: a list (or `{references: [...]}`), each a
 * known kind once, a reference on `host` with a tag or digest, a sha256 digest. Throws one line.
 */
export function parsePreseeded(raw: unknown, where: string, host: string): PreseededEntry[] {
  const list = Array.isArray(raw) ? raw : (raw as { references?: unknown } | null)?.references;
  if (!Array.isArray(list) || list.length === 0)
    throw new Error(`${where}: write a list of {name, reference, digest} entries (name one of ${PRESEEDED_KINDS.join(', ')})`);
  const seen = new Set<string>();
  return list.map((item: unknown, i) => {
    const at = `${where}: entry ${i + 1}`;
    if (typeof item !== 'object' || item === null || Array.isArray(item))
      throw new Error(`${at} must be a mapping {name, reference, digest}`);
    const e = item as Record<string, unknown>;
    for (const key of Object.keys(e))
      if (!['name', 'reference', 'digest', 'platforms'].includes(key))
        throw new Error(`${at}: unknown key "${key}" (allowed: name, reference, digest, platforms)`);
    const { name, reference, digest, platforms } = e;
    if (typeof name !== 'string' || !(PRESEEDED_KINDS as readonly string[]).includes(name))
      throw new Error(`${at}: name "${String(name)}" is not one of ${PRESEEDED_KINDS.join(', ')}`);
    if (seen.has(name)) throw new Error(`${at}: ${name} is named twice; give one reference per kind`);
    seen.add(name);
    const ref = typeof reference === 'string' ? splitReference(reference) : undefined;
    if (!ref) throw new Error(`${at} (${name}): reference "${String(reference)}" is not host/repository:tag or host/repository@sha256:…`);
    if (ref.host !== host) throw new Error(`${at} (${name}): reference ${String(reference)} is not on the registry under test (${host})`);
    if (typeof digest !== 'string' || !DIGEST.test(digest))
      throw new Error(`${at} (${name}): digest "${String(digest)}" is not sha256:<64 hex digits>`);
    if (ref.tagOrDigest.startsWith('sha256:') && ref.tagOrDigest !== digest)
      throw new Error(`${at} (${name}): the reference names ${ref.tagOrDigest}, the digest says ${digest}`);
    if (platforms !== undefined && !(Array.isArray(platforms) && platforms.every((p) => typeof p === 'string' && PLATFORM.test(p))))
      throw new Error(`${at} (${name}): platforms must be a list such as [linux/amd64, linux/arm/v7]`);
    return {
      name: name as PreseededKind,
      reference: reference as string,
      digest,
      ...(platforms ? { platforms: platforms as string[] } : {}),
    };
  });
}

/** Reads and checks `--registry-preseeded FILE` (YAML or JSON). */
export function readPreseededFile(file: string, host: string): PreseededEntry[] {
  if (!existsSync(file))
    throw new Error(`--registry-preseeded ${file} does not exist: pass the YAML file naming the pre-seeded references`);
  let raw: unknown;
  try {
    raw = YAML.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`--registry-preseeded ${file} is not valid YAML or JSON: ${(error as Error).message.split('\n')[0]}`);
  }
  return parsePreseeded(raw, `--registry-preseeded ${file}`, host);
}

/** The entry of `format` a registry read with credentials (`private-…`) or anonymously gets. */
export function preseededEntry(
  entries: readonly PreseededEntry[] | undefined,
  format: PreseededFormat,
  withCredentials: boolean,
): { kind: PreseededKind; entry: PreseededEntry | undefined } {
  const kind: PreseededKind = withCredentials ? `private-${format}` : format;
  return { kind, entry: entries?.find((e) => e.name === kind) };
}
