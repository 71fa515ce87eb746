// A node's kubelet configuration file (KubeletConfiguration, kubelet.config.k8s.io/v1beta1), changed
// the way an admin would: read the file kubelet was started with (`--config`), set some fields,
// write it, restart kubelet, and check through `configz` that the running kubelet took the change.
// The change is undone by writing the original bytes back and restarting again, checked the same way.
//
// Rendering, merging and comparing are pure (unit-tested in test/kubeletconfig.test.ts); the node
// side reads and writes through NodeAccess and restarts kubelet with restartKubelet (nodecreds.ts).
//
// A run that dies between the change and its undo leaves the original next to the file
// (`<config>.pullcheck-orig`); the next change on that node puts it back first.
import pRetry, { AbortError } from 'p-retry';
import { isMap, parseDocument } from 'yaml';
import type { Kube } from '../cluster/kube.ts';
import { isRecord } from '../infra/guards.ts';
import type { Logger } from '../infra/log.ts';
import type { NodeAccess } from '../node/access.ts';
import { type JournaledChange, journaledWrite } from '../node/journal.ts';
import { restartKubelet } from './nodecreds.ts';
import { kubeletArgv } from './process.ts';

export const DEFAULT_KUBELET_CONFIG_PATH = '/var/lib/kubelet/config.yaml';
export const BACKUP_SUFFIX = '.pullcheck-orig';

/**
 * A change to a KubeletConfiguration: top-level fields set (`null` removes a field), feature gates
 * merged into `featureGates` (the gates not named stay as they are).
 */
export interface KubeletConfigPatch {
  fields?: Record<string, unknown>;
  featureGates?: Record<string, boolean>;
}

/** The value of a flag in kubelet's argv, in either spelling (`--flag X`, `--flag=X`); last one wins, as in kubelet. */
export function flagValue(argv: readonly string[], flag: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a.startsWith(`${flag}=`)) value = a.slice(flag.length + 1);
    else if (a === flag && i + 1 < argv.length) value = argv[i + 1];
  }
  return value;
}

/** The configuration file kubelet reads (`--config`), or undefined when it runs from flags only. */
export function kubeletConfigPathOf(argv: readonly string[]): string | undefined {
  return flagValue(argv, '--config');
}

/** Feature gates set on kubelet's command line (`--feature-gates=A=true,B=false`): these win over the file. */
export function commandLineFeatureGates(argv: readonly string[]): Record<string, boolean> {
  const gates: Record<string, boolean> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    const value = a.startsWith('--feature-gates=') ? a.slice('--feature-gates='.length) : a === '--feature-gates' ? argv[i + 1] : undefined;
    for (const pair of (value ?? '').split(',')) {
      const [k, v] = pair.split('=').map((x) => x.trim());
      if (k && (v === 'true' || v === 'false')) gates[k] = v === 'true';
    }
  }
  return gates;
}

/**
 * Applies `patch` to the text of a KubeletConfiguration and returns the new text. Comments and the
 * order of untouched fields are kept. Refuses anything that is not a KubeletConfiguration.
 */
export function applyKubeletConfigPatch(original: string, patch: KubeletConfigPatch): string {
  const doc = parseDocument(original);
  if (doc.errors.length > 0) throw new Error(`kubelet configuration is not valid YAML: ${doc.errors.map((e) => e.message).join('; ')}`);
  if (!isMap(doc.contents)) throw new Error('kubelet configuration is not a YAML mapping');
  const kind = doc.get('kind');
  const apiVersion = doc.get('apiVersion');
  if (kind !== 'KubeletConfiguration' || typeof apiVersion !== 'string' || !apiVersion.startsWith('kubelet.config.k8s.io/')) {
    throw new Error(`not a KubeletConfiguration (kind ${JSON.stringify(kind)}, apiVersion ${JSON.stringify(apiVersion)})`);
  }
  for (const [field, value] of Object.entries(patch.fields ?? {})) {
    if (field === 'featureGates') throw new Error('feature gates go in patch.featureGates, merged gate by gate');
    if (value === null) doc.delete(field);
    else doc.set(field, doc.createNode(value));
  }
  const gates = Object.entries(patch.featureGates ?? {});
  if (gates.length > 0) {
    if (doc.get('featureGates') !== undefined && !isMap(doc.get('featureGates')))
      throw new Error('featureGates in the kubelet configuration is not a mapping');
    for (const [gate, on] of gates) doc.setIn(['featureGates', gate], on);
  }
  return doc.toString();
}

/** One line for the log: `a=1 b=(removed) featureGates.X=true`. */
export function describePatch(patch: KubeletConfigPatch): string {
  const parts = [
    ...Object.entries(patch.fields ?? {}).map(([k, v]) => `${k}=${v === null ? '(removed)' : JSON.stringify(v)}`),
    ...Object.entries(patch.featureGates ?? {}).map(([k, v]) => `featureGates.${k}=${v}`),
  ];
  return parts.join(' ') || '(nothing)';
}

/** configz leaves out empty values; a removed field and an empty list or string read the same. */
function isEmpty(v: unknown): boolean {
  return v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0);
}

function same(a: unknown, b: unknown): boolean {
  if (isEmpty(a) && isEmpty(b)) return true;
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * What in the running kubelet's configuration (`kubeletconfig` of a configz answer) differs from
 * `patch`, one line each; empty when kubelet runs with every value the patch sets.
 */
export function configzMismatches(kubeletconfig: Record<string, unknown>, patch: KubeletConfigPatch): string[] {
  const out: string[] = [];
  for (const [field, want] of Object.entries(patch.fields ?? {})) {
    const have = kubeletconfig[field];
    if (!same(have, want))
      out.push(
        `${field}: configz has ${have === undefined ? '(unset)' : JSON.stringify(have)}, wanted ${want === null ? '(unset)' : JSON.stringify(want)}`,
      );
  }
  const gates = isRecord(kubeletconfig['featureGates']) ? kubeletconfig['featureGates'] : {};
  for (const [gate, want] of Object.entries(patch.featureGates ?? {})) {
    const have = gates[gate];
    if (have !== want)
      out.push(`featureGates.${gate}: configz has ${have === undefined ? '(unset)' : JSON.stringify(have)}, wanted ${want}`);
  }
  return out;
}

/**
 * The patch that states what configz shows now for every field and gate `patch` touches: after an
 * undo, configz must show it again. An absent field becomes `null`; an absent gate is left out (its
 * default is not in configz, so there is nothing to compare it with).
 */
export function currentValues(kubeletconfig: Record<string, unknown>, patch: KubeletConfigPatch): KubeletConfigPatch {
  const fields = Object.fromEntries(Object.keys(patch.fields ?? {}).map((f) => [f, isEmpty(kubeletconfig[f]) ? null : kubeletconfig[f]]));
  const gates = isRecord(kubeletconfig['featureGates']) ? kubeletconfig['featureGates'] : {};
  const featureGates = Object.fromEntries(
    Object.keys(patch.featureGates ?? {}).flatMap((g) => (typeof gates[g] === 'boolean' ? [[g, gates[g]]] : [])),
  );
  return { fields, featureGates };
}

/** The `kubeletconfig` object of the node's `/configz` answer: the configuration the running kubelet uses. */
export async function readKubeletConfigz(kube: Kube, node: string): Promise<Record<string, unknown>> {
  // The generated client is typed as string but hands back the parsed JSON; accept both.
  const raw: unknown = await kube.core.connectGetNodeProxyWithPath({ name: node, path: 'configz' });
  const configz: unknown = typeof raw === 'string' ? JSON.parse(raw) : raw;
  const kc = isRecord(configz) ? configz['kubeletconfig'] : undefined;
  if (!isRecord(kc)) throw new Error(`${node}: configz answer has no "kubeletconfig" object`);
  return kc;
}

export interface KubeletConfigChangeOptions {
  nodes: NodeAccess;
  kube: Kube;
  node: string;
  logger: Logger;
  patch: KubeletConfigPatch;
  /** Who asks, for the log lines: a scenario or group id. */
  who: string;
  /** Kubelet's argv when the caller read it already. */
  argv?: readonly string[];
}

/** A change in force on one node. `restore()` (or disposal) undoes it; a second call does nothing. */
export interface KubeletConfigChange extends AsyncDisposable {
  node: string;
  path: string;
  /** False when kubelet already ran with every value of the patch: nothing was written or restarted. */
  changed: boolean;
  /** The running kubelet's configuration once the change took. */
  kubeletconfig: Record<string, unknown>;
  restore(): Promise<void>;
}

async function readFile(nodes: NodeAccess, node: string, path: string): Promise<string | undefined> {
  const r = await nodes.exec(node, ['sh', '-c', 'if [ -f "$1" ]; then cat "$1"; else exit 3; fi', 'sh', path], { allowFailure: true });
  if (r.exitCode === 3) return undefined;
  if (r.exitCode !== 0) throw new Error(`${node}: cannot read ${path} (exit ${r.exitCode}): ${r.stderr.trim()}`);
  return r.stdout;
}

/** The last lines kubelet logged, for an error that says why it did not come back. */
async function kubeletJournal(nodes: NodeAccess, node: string): Promise<string> {
  const r = await nodes.exec(node, ['journalctl', '-u', 'kubelet', '--no-pager', '-n', '15', '-o', 'cat'], { allowFailure: true });
  return r.stdout.trim() || r.stderr.trim() || '(no journal)';
}

/** An API server proxy answer meaning that kubelet's port is not open (yet): 502/503, connection refused. */
function kubeletNotServing(error: unknown): boolean {
  const text = error instanceof Error ? error.message : String(error);
  return /HTTP-Code: 50[23]|connection refused|ECONNREFUSED|error trying to reach service/.test(text);
}

/**
 * configz of a kubelet that has just restarted. Its Lease is renewed before its server listens, so
 * "connection refused" (through the API server's proxy) is retried until the deadline; any other
 * error is not.
 */
export async function readKubeletConfigzAfterRestart(kube: Kube, node: string, timeoutMs = 60_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  return pRetry(
    async () => {
      try {
        return await readKubeletConfigz(kube, node);
      } catch (error) {
        if (!kubeletNotServing(error)) throw new AbortError(error instanceof Error ? error : String(error));
        if (Date.now() > deadline)
          throw new AbortError(
            new Error(
              `${node}: kubelet's server did not answer configz within ${timeoutMs / 1000}s of its restart: ${(error instanceof Error ? error.message : String(error)).split('\n')[0] ?? ''}`,
              { cause: error },
            ),
          );
        throw error;
      }
    },
    { retries: 1000, minTimeout: 250, maxTimeout: 2000, factor: 1.5 },
  );
}

async function restartAndRead(o: KubeletConfigChangeOptions, what: string): Promise<Record<string, unknown>> {
  try {
    await o.logger.phase(`[${o.who}] [${o.node}] RESTART kubelet (${what})`, () => restartKubelet(o.nodes, o.kube, o.node));
  } catch (error) {
    throw new Error(`${o.node}: kubelet did not come back after ${what}; its last log lines:\n${await kubeletJournal(o.nodes, o.node)}`, {
      cause: error,
    });
  }
  return readKubeletConfigzAfterRestart(o.kube, o.node);
}

/** Puts the file back (`write`), restarts kubelet and checks `expect` in configz. */
async function putBack(
  o: KubeletConfigChangeOptions,
  write: () => Promise<unknown>,
  expect: KubeletConfigPatch,
  what: string,
): Promise<void> {
  await write();
  const kc = await restartAndRead(o, what);
  const left = configzMismatches(kc, expect);
  if (left.length > 0)
    throw new Error(`${o.node}: after ${what}, kubelet does not run with its earlier configuration:\n${left.join('\n')}`);
}

/**
 * Changes the node's kubelet configuration: writes the patched file, restarts kubelet and checks in
 * configz that every patched value took. When it does not (kubelet not restarted, a command-line
 * flag winning over the file, a value kubelet rejected), the original is put back and the error
 * names the values configz shows. When kubelet already runs with the patch, nothing is touched.
 */
export async function changeKubeletConfig(o: KubeletConfigChangeOptions): Promise<KubeletConfigChange> {
  const argv = o.argv ?? (await kubeletArgv(o.nodes, o.node));
  const path = kubeletConfigPathOf(argv);
  if (!path) throw new Error(`${o.node}: kubelet runs without --config; there is no configuration file to change`);
  const backupPath = `${path}${BACKUP_SUFFIX}`;

  const leftover = await readFile(o.nodes, o.node, backupPath);
  if (leftover !== undefined) {
    o.logger.warn(`[${o.who}] [${o.node}] ${backupPath} left by an interrupted run: putting it back first`);
    // Backups are what runs before the node-change journal left; the journal's replay puts back the rest.
    await o.nodes.writeFile(o.node, path, leftover, '0644');
    await o.nodes.exec(o.node, ['rm', '-f', backupPath]);
    await restartAndRead(o, `putting back ${backupPath}`);
  }

  const before = await readKubeletConfigz(o.kube, o.node);
  if (configzMismatches(before, o.patch).length === 0) {
    o.logger.info(`[${o.who}] [${o.node}] KUBELET-CONFIG UNCHANGED kubelet already runs with ${describePatch(o.patch)}`);
    const noop = async () => undefined;
    return { node: o.node, path, changed: false, kubeletconfig: before, restore: noop, [Symbol.asyncDispose]: noop };
  }
  const expectAfterRestore = currentValues(before, o.patch);
  const original = await readFile(o.nodes, o.node, path);
  if (original === undefined) throw new Error(`${o.node}: kubelet's --config ${path} does not exist`);
  const rendered = applyKubeletConfigPatch(original, o.patch);

  let restored = false;
  let change: JournaledChange | undefined;
  const restore = async () => {
    if (restored) return;
    restored = true;
    await o.logger.phase(`[${o.who}] [${o.node}] KUBELET-CONFIG RESTORE ${path}`, () =>
      // The journal entry holds the original: its undo writes it back byte for byte.
      putBack(o, async () => change?.undo(), expectAfterRestore, `restoring ${path}`),
    );
  };
  try {
    const kubeletconfig = await o.logger.phase(`[${o.who}] [${o.node}] KUBELET-CONFIG SET ${describePatch(o.patch)}`, async () => {
      // Journaled: a run killed from here on leaves an entry the next run's replay puts back.
      change = await journaledWrite(o.nodes, o.node, path, rendered, { mode: '0644', restart: ['kubelet'] });
      const kc = await restartAndRead(o, `writing ${path}`);
      const mismatches = configzMismatches(kc, o.patch);
      if (mismatches.length > 0) {
        throw new Error(
          `${o.node}: kubelet did not take the change to ${path} (${describePatch(o.patch)}); configz shows:\n${mismatches.join('\n')}\n(was kubelet restarted after the write? does a command-line flag override the file?)`,
        );
      }
      return kc;
    });
    return { node: o.node, path, changed: true, kubeletconfig, restore, [Symbol.asyncDispose]: restore };
  } catch (error) {
    await restore().catch((e: unknown) => o.logger.warn(`[${o.who}] [${o.node}] restoring ${path} after a failed change: ${String(e)}`));
    throw error;
  }
}
