// Replaying the node-change journal (journal.ts): at the start of every run, and on `pullcheck
// cluster clean`, the entries of runs that are dead are undone on each node, newest first, then
// whatever they say must restart does. A run is dead when its process is gone from this host, or,
// for a run from another host, when the Lease its process renewed has expired or is gone.

import { hostname } from 'node:os';
import { CoordinationV1Api, type V1Lease, V1MicroTime } from '@kubernetes/client-node';
import { apiStatus, type Kube } from '../cluster/kube.ts';
import { LABEL_MANAGED } from '../infra/docker.ts';
import type { Logger } from '../infra/log.ts';
import { alive } from '../infra/sweep.ts';
import { restartKubelet } from '../kubelet/nodecreds.ts';
import { crioRuntime } from '../runtime/crio.ts';
import type { NodeAccess } from './access.ts';
import {
  describeUndo,
  JOURNAL_ROOT,
  type JournalEntry,
  LIST_SHELL,
  parseListing,
  type Restart,
  safeName,
  setJournalRun,
  UNDO_SHELL,
  writerOfDirectory,
} from './journal.ts';
import { LOCK_NAMESPACE, leaseExpired, lockNode } from './lock.ts';

/** One change a dead run left on a node and this run undid: a record of the report. */
export interface Restored {
  node: string;
  /** e.g. "removed /.docker/config.json". */
  what: string;
  /** The run that made the change. */
  run: string;
}

type Liveness = (w: { run: string; host: string; pid: number; lease?: string }) => Promise<boolean>;

/** Dead on this host: its process is gone. From elsewhere: its Lease expired or is gone (no Lease named: alive, left alone). */
export function journalLiveness(kube: Kube | undefined, host = safeName(hostname())): Liveness {
  const coordination = kube?.config.makeApiClient(CoordinationV1Api);
  return async (w) => {
    if (w.host === host) return w.pid === process.pid || alive(w.pid);
    if (!w.lease || !coordination) return true;
    const lease = await coordination
      .readNamespacedLease({ name: w.lease, namespace: LOCK_NAMESPACE })
      .catch((e: unknown) => (apiStatus(e) === 404 ? undefined : Promise.reject(e)));
    return lease !== undefined && !leaseExpired(lease, new Date());
  };
}

async function restartAll(
  o: { kube: Kube; nodes: NodeAccess; node: string; logger: Logger },
  restart: ReadonlySet<Restart>,
): Promise<void> {
  if (restart.has('daemon-reload')) await o.nodes.exec(o.node, ['systemctl', 'daemon-reload']);
  if (restart.has('containerd')) await o.nodes.exec(o.node, ['systemctl', 'restart', 'containerd']);
  if (restart.has('crio')) await crioRuntime.reload(o.nodes, o.node);
  if (restart.has('kubelet') || restart.has('containerd'))
    await o.logger.phase(`[journal] [${o.node}] RESTART kubelet after undoing a dead run's changes`, () =>
      restartKubelet(o.nodes, o.kube, o.node),
    );
}

/** Undoes the dead runs' entries on one node; returns what it undid. */
export async function replayNode(o: {
  kube: Kube;
  nodes: NodeAccess;
  node: string;
  logger: Logger;
  root?: string;
  isAlive: Liveness;
  /** Take the node's lock before undoing (default true; the unit tests have no cluster). */
  lock?: boolean;
}): Promise<Restored[]> {
  const root = o.root ?? JOURNAL_ROOT;
  const listDead = async () => {
    const { stdout } = await o.nodes.exec(o.node, ['sh', '-c', LIST_SHELL, 'sh', root]);
    const { entries, partial } = parseListing(stdout);
    const dead: JournalEntry[] = [];
    for (const e of entries) if (!(await o.isAlive(e))) dead.push(e);
    const deadPartial: string[] = [];
    for (const p of partial) {
      const w = writerOfDirectory(p.replace(/\/[^/]*$/, ''));
      if (w && !(await o.isAlive(w))) deadPartial.push(p);
    }
    return { dead, deadPartial };
  };
  const first = await listDead();
  if (first.dead.length === 0 && first.deadPartial.length === 0) return [];
  // Not while another run restarts this node's kubelet or holds it for a scenario.
  const release = o.lock === false ? undefined : await lockNode({ kube: o.kube, node: o.node, holder: 'journal replay', logger: o.logger });
  const restored: Restored[] = [];
  try {
    // Listed again under the lock: another suite's replay may have undone them meanwhile.
    const { dead, deadPartial } = o.lock === false ? first : await listDead();
    // A write killed before its entry was whole changed nothing: its partial entry just goes.
    for (const p of deadPartial) await o.nodes.exec(o.node, ['sh', '-c', UNDO_SHELL, 'sh', p.replace(/\.tmp$/, '')]);
    const restart = new Set<Restart>();
    for (const e of [...dead].sort((a, b) => b.entry.localeCompare(a.entry))) {
      await o.nodes.exec(o.node, ['sh', '-c', UNDO_SHELL, 'sh', e.entry]);
      for (const r of e.restart) restart.add(r);
      const r: Restored = { node: o.node, what: describeUndo(e), run: e.run };
      o.logger.warn(`restored ${r.node}: ${r.what} left by run ${r.run}`);
      restored.push(r);
    }
    if (restart.size > 0) await restartAll(o, restart);
  } finally {
    await release?.();
  }
  return restored;
}

/**
 * Replays the journal on every node (in parallel: each node's own undo and restart). `keepRuns`:
 * runs whose entries stay whatever their process (this run's, an upgrade's before half handing
 * over to its after half); `onlyRuns`: look at these runs' entries alone (a run's own, at its end).
 */
export async function replayJournals(o: {
  kube: Kube;
  nodes: NodeAccess;
  nodeNames: readonly string[];
  logger: Logger;
  keepRuns?: readonly string[];
  onlyRuns?: readonly string[];
}): Promise<Restored[]> {
  const liveness = journalLiveness(o.kube);
  const keep = new Set((o.keepRuns ?? []).map(safeName));
  const only = o.onlyRuns ? new Set(o.onlyRuns.map(safeName)) : undefined;
  const isAlive: Liveness = async (w) => keep.has(w.run) || (only !== undefined && !only.has(w.run)) || liveness(w);
  const all = await Promise.all(o.nodeNames.map((node) => replayNode({ ...o, node, isAlive })));
  return all.flat();
}

/**
 * Names this process's entries after `run` and keeps a Lease that says the process lives, for a
 * replay from another host. Returns its release (the Lease expires by itself after a kill).
 */
export async function holdJournalLease(kube: Kube, run: string, logger: Logger): Promise<() => Promise<void>> {
  const name = `pullcheck-journal-${safeName(hostname())}-${process.pid}`
    .toLowerCase()
    .replace(/[^a-z0-9.-]/g, '-')
    .slice(0, 253);
  setJournalRun(run, name);
  // One Lease per process, however many suites (a suite's registry variants) hold it at once: each
  // taking and renewing it itself raced (409 Conflict on replace), and the first release deleted it.
  let held = heldLeases.get(name);
  if (!held) {
    const taking = takeJournalLease(kube, name, run, logger);
    held = { taking, holders: 0 };
    heldLeases.set(name, held);
    taking.catch(() => heldLeases.delete(name));
  }
  const entry = held;
  entry.holders += 1;
  const release = await entry.taking.catch((e: unknown) => {
    entry.holders -= 1;
    throw e;
  });
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    entry.holders -= 1;
    if (entry.holders > 0) return;
    heldLeases.delete(name);
    await release();
  };
}

const heldLeases = new Map<string, { taking: Promise<() => Promise<void>>; holders: number }>();

async function takeJournalLease(kube: Kube, name: string, run: string, logger: Logger): Promise<() => Promise<void>> {
  const coordination = kube.config.makeApiClient(CoordinationV1Api);
  const body = (l?: V1Lease): V1Lease => {
    const now = new V1MicroTime();
    return {
      metadata: {
        ...l?.metadata,
        name,
        namespace: LOCK_NAMESPACE,
        labels: { [LABEL_MANAGED]: 'true', 'pullcheck.io/journal': 'true' },
      },
      spec: { holderIdentity: `${run} (${hostname()} pid ${process.pid})`, leaseDurationSeconds: 60, renewTime: now, acquireTime: now },
    };
  };
  let held = await coordination.createNamespacedLease({ namespace: LOCK_NAMESPACE, body: body() }).catch(async (e: unknown) => {
    if (apiStatus(e) !== 409) throw e;
    const current = await coordination.readNamespacedLease({ name, namespace: LOCK_NAMESPACE });
    return coordination.replaceNamespacedLease({ name, namespace: LOCK_NAMESPACE, body: body(current) });
  });
  const renew = setInterval(() => {
    coordination
      .replaceNamespacedLease({ name, namespace: LOCK_NAMESPACE, body: body(held) })
      .then((l) => {
        held = l;
      })
      .catch((e: unknown) => logger.detail(`journal lease renewal: ${String(e).split('\n')[0] ?? ''}`));
  }, 15_000);
  renew.unref();
  return async () => {
    clearInterval(renew);
    await coordination
      .deleteNamespacedLease({ name, namespace: LOCK_NAMESPACE })
      .catch((e: unknown) => (apiStatus(e) === 404 ? undefined : Promise.reject(e)));
  };
}
