// A vendor's registry is left as found: every manifest pullcheck puts there (scenarios, the pull
// probe, the node agent) is journalled, one JSON line per PUT, in the target's directory
// (`registry-pushes.jsonl`), and the run ends by deleting them — tags first, then manifests by
// digest, newest first (an index before its children). Where the registry does not allow deletion
// (400/405, which the spec allows) the repositories stay and the report names them;
// `pullcheck registry clean --run RUN` retries from the same journal.
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { RegistryClient } from './client.ts';

export const PUSH_JOURNAL = 'registry-pushes.jsonl';

/** One manifest PUT: under a tag, or by digest (an index's children). */
export interface PushedManifest {
  /** host[:port] */
  registry: string;
  repository: string;
  /** The tag or digest it was PUT under. */
  reference: string;
  digest: string;
}

/** What cleaning a registry came to: how many manifests are gone, and each repository left with why. */
export interface RegistryCleanup {
  registry: string;
  deleted: number;
  /** Repositories something of the run is still in, each with the registry's answer (`405 UNSUPPORTED`) or `kept (--keep)`. */
  left: { repository: string; answer: string }[];
}

/** Appends one push to the journal; workers and the main process append to the same file (lines well under PIPE_BUF). */
export function journalPush(file: string, pushed: PushedManifest): void {
  // The probe pushes before the target's directory holds anything else.
  mkdirSync(dirname(file), { recursive: true });
  appendFileSync(file, `${JSON.stringify(pushed)}\n`, { mode: 0o600 });
}

/** The journal's entries (a torn last line from a killed writer is skipped). */
export function readJournal(file: string): PushedManifest[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .flatMap((line) => {
      try {
        const e = JSON.parse(line) as Partial<PushedManifest>;
        return e.registry && e.repository && e.reference && e.digest ? [e as PushedManifest] : [];
      } catch {
        return [];
      }
    });
}

/** Every journal of a run directory: one per target (`<run>/<target>/registry-pushes.jsonl`). */
export function runJournals(runDir: string): string[] {
  if (!existsSync(runDir)) return [];
  return readdirSync(runDir)
    .map((d) => join(runDir, d, PUSH_JOURNAL))
    .filter((f) => existsSync(f) && statSync(f).isFile());
}

/** Per repository, in push order: the tags to delete, then the digests, newest first. */
export function deletionPlan(entries: readonly PushedManifest[]): { repository: string; tags: string[]; digests: string[] }[] {
  const byRepository = new Map<string, { tags: string[]; digests: string[] }>();
  for (const e of entries) {
    const r = byRepository.get(e.repository) ?? { tags: [], digests: [] };
    byRepository.set(e.repository, r);
    if (!e.reference.includes(':') && !r.tags.includes(e.reference)) r.tags.push(e.reference);
    if (!r.digests.includes(e.digest)) r.digests.push(e.digest);
  }
  return [...byRepository].map(([repository, r]) => ({ repository, tags: [...r.tags].reverse(), digests: [...r.digests].reverse() }));
}

function answerOf(r: { status: number; code?: string }): string {
  return `${r.status}${r.code ? ` ${r.code}` : ''}`;
}

/**
 * Deletes what the journal holds for `client`'s registry. A tag's DELETE may be refused (a registry
 * may delete by manifest only); a manifest's must answer 202 or 404 (gone already: a deletion
 * scenario), else its repository is left, with the answer.
 */
export async function cleanPushed(client: RegistryClient, entries: readonly PushedManifest[]): Promise<RegistryCleanup> {
  const host = client.options.host;
  const result: RegistryCleanup = { registry: host, deleted: 0, left: [] };
  for (const { repository, tags, digests } of deletionPlan(entries.filter((e) => e.registry === host))) {
    let refused: string | undefined;
    for (const tag of tags) await client.tryDelete(repository, tag).catch(() => undefined);
    for (const digest of digests) {
      const answer = await client.tryDelete(repository, digest).catch((e: unknown) => ({
        status: 0,
        code: e instanceof Error ? e.message.split('\n')[0] : String(e),
      }));
      if (answer.status === 202) result.deleted += 1;
      else if (answer.status !== 404) refused ??= answerOf(answer);
    }
    if (refused) result.left.push({ repository, answer: refused });
  }
  return result;
}

/** The one line a run logs about it. */
export function cleanupLine(c: RegistryCleanup): string {
  if (!c.left.length) return `registry ${c.registry}: deleted the ${c.deleted} manifest${c.deleted === 1 ? '' : 's'} this run pushed`;
  const answers = [...new Set(c.left.map((l) => l.answer))].join(', ');
  return `registry ${c.registry}: ${c.left.length} repositor${c.left.length === 1 ? 'y' : 'ies'} of this run left (${answers}), ${c.deleted} manifest${c.deleted === 1 ? '' : 's'} deleted`;
}
