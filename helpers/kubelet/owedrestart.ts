// A kubelet restart owed to a node. A scenario that wrote credential files (or kubelet's HOME
// drop-in) and restarted kubelet to read them must, when it ends, remove them and restart kubelet
// again so that the process forgets what it read. When the next scenario of the same process takes
// the same node and writes its own files, that restore restart and the next one are the same
// restart: the files of the first are gone before those of the second are written, so the one new
// kubelet process reads only the second's. So the restore removes the files at once and leaves the
// restart owed; whoever takes the node next in this process pays it, by its own restart after its
// write or by a restart of its own before it reads or uses the node; the suite's end pays the rest.
//
// Until it is paid the debt keeps the node's lock (a reentrant hold of this process), so no other
// suite, process or run meets a kubelet that still holds a finished scenario's credentials; one
// that waits for the lock marks the lease (lock.ts), and the next restore pays the debt at once; and it
// is journaled on the node before the files go (a marker whose undo says "restart kubelet"), so a
// run killed with a restart owed leaves an entry the next run's replay restarts kubelet for.
import { errorLine, type Kube } from '../cluster/kube.ts';
import type { Logger } from '../infra/log.ts';
import type { NodeAccess } from '../node/access.ts';
import { type JournaledChange, journaledWrite } from '../node/journal.ts';
import { lockNode, lockWantedBy } from '../node/lock.ts';
import { quarantineNode } from '../node/quarantine.ts';
import { kubeletProcessFacts, restartKubelet } from './nodecreds.ts';

/** The journaled marker of an owed restart: its undo (in a replay) restarts kubelet. */
export function owedMarkerPath(pid = process.pid): string {
  return `/var/lib/pullcheck/kubelet-restart-owed-${pid}`;
}

interface Owed {
  node: string;
  nodes: NodeAccess;
  kube: Kube;
  logger: Logger;
  marker: JournaledChange;
  release: () => Promise<void>;
  /** Whose files the restart makes kubelet forget (for the log). */
  who: string[];
  /** The restart also changes kubelet's environment (a HOME drop-in was removed): HOME must be `home` again after it. */
  env: boolean;
  /** kubelet's HOME before the first scenario of the debt changed it. */
  home: string | undefined;
}

const owed = new Map<string, Owed>();

export interface OweOptions {
  nodes: NodeAccess;
  kube: Kube;
  node: string;
  logger: Logger;
  /** The scenario whose changes the restart undoes. */
  who: string;
  /** The scenario removed a HOME drop-in: the restart changes kubelet's environment back. */
  env?: boolean;
  /** kubelet's HOME before the scenario (checked after the restart when `env`). */
  home?: string | undefined;
}

/** Whether a restart is owed to `node` in this process, and whether it changes kubelet's environment. */
export function owedRestart(node: string): { env: boolean; home: string | undefined; who: readonly string[] } | undefined {
  const o = owed.get(node);
  return o ? { env: o.env, home: o.home, who: o.who } : undefined;
}

/** The nodes a restart is owed to in this process. */
export function owedNodes(): string[] {
  return [...owed.keys()];
}

/** The nodes, those a restart is owed to in this process first (a scenario there merges its restart with it). */
export function owedFirst(nodes: readonly string[]): string[] {
  return [...nodes.filter((n) => owed.has(n)), ...nodes.filter((n) => !owed.has(n))];
}

/**
 * Journals and keeps the restart `node` is owed, then runs `remove` (the scenario's undo of its
 * files). The node's lock stays held by this process until the restart is paid.
 */
export async function oweKubeletRestart(o: OweOptions, remove: () => Promise<void>): Promise<void> {
  await keepOwed(o, remove);
  // Someone else waits for the node: the debt would keep them out until the suite's end, so pay it now.
  const wanted = await lockWantedBy(o.kube, o.node).catch(() => undefined);
  if (wanted) await payOwedRestart(o.node, `${wanted} waits for the node`);
}

async function keepOwed(o: OweOptions, remove: () => Promise<void>): Promise<void> {
  const existing = owed.get(o.node);
  if (existing) {
    existing.who.push(o.who);
    existing.env ||= o.env ?? false;
    await remove();
    return;
  }
  const release = await lockNode({
    kube: o.kube,
    node: o.node,
    holder: `${o.who}: kubelet restart owed`,
    logger: o.logger,
    reentrant: true,
  });
  let marker: JournaledChange;
  try {
    marker = await journaledWrite(o.nodes, o.node, owedMarkerPath(), `${o.who}\n`, { mode: '0600', fresh: true, restart: ['kubelet'] });
  } catch (error) {
    await release();
    throw error;
  }
  owed.set(o.node, {
    node: o.node,
    nodes: o.nodes,
    kube: o.kube,
    logger: o.logger,
    marker,
    release,
    who: [o.who],
    env: o.env ?? false,
    home: o.home,
  });
  await remove();
  o.logger.info(`[${o.who}] [${o.node}] RESTART kubelet owed (paid by the next scenario's restart on this node, or at the suite's end)`);
}

/** After a restart that paid the debt: kubelet's HOME is back when the debt changed it, the marker goes, the lock with it. */
async function settled(d: Owed, o: { homeSet: boolean }): Promise<void> {
  if (d.env && !o.homeSet) {
    const after = await kubeletProcessFacts(d.nodes, d.node);
    if (after.home !== d.home)
      throw new Error(
        `${d.node}: kubelet's HOME should be ${d.home ?? '(unset)'} again once ${d.who.join(', ')} removed their drop-in and kubelet restarted, but it is ${after.home ?? '(unset)'}`,
      );
  }
  owed.delete(d.node);
  await d.marker.undo();
  await d.release();
}

/**
 * For a caller about to restart kubelet on `node` after writing its own files: returns what to call
 * once that restart is done (it pays the debt; `homeSet`: the caller gave kubelet a HOME of its own,
 * so the old one is not checked), or undefined when nothing is owed.
 */
export function takeOwedRestart(node: string): ((o: { homeSet: boolean }) => Promise<void>) | undefined {
  const d = owed.get(node);
  if (!d) return undefined;
  return (o) => settled(d, o);
}

/** Owed restarts being paid, by node. */
const payments = new Map<string, Promise<void>>();

/** Restarts kubelet on `node` now when a restart is owed to it (why: for the log). */
export function payOwedRestart(node: string, why: string): Promise<void> {
  // Two callers at once (two environments of one suite file ending together) pay it once.
  let paying = payments.get(node);
  if (!paying) {
    const d = owed.get(node);
    if (!d) return Promise.resolve();
    paying = (async () => {
      await d.logger.phase(`[${d.who.join(', ')}] [${node}] RESTORE kubelet (owed restart, ${why})`, () =>
        restartKubelet(d.nodes, d.kube, node),
      );
      await settled(d, { homeSet: false });
    })().finally(() => payments.delete(node));
    payments.set(node, paying);
  }
  return paying;
}

/**
 * Pays every restart owed in this process (a suite's end). A node whose restart fails is quarantined
 * (its marker stays for the next run's replay) and the first error is thrown after the others are paid.
 */
export async function payAllOwedRestarts(why: string, runId: string): Promise<void> {
  let first: unknown;
  for (const node of owedNodes()) {
    const d = owed.get(node);
    try {
      await payOwedRestart(node, why);
    } catch (error) {
      first ??= error;
      if (!d) continue;
      owed.delete(node);
      await quarantineNode({
        kube: d.kube,
        node,
        runId,
        why: `kubelet restart owed by ${d.who.join(', ')}: ${errorLine(error)}`,
        logger: d.logger,
      }).catch((e: unknown) => d.logger.warn(`[${node}] quarantining: ${errorLine(e)}`));
      await d.release().catch(() => undefined);
    }
  }
  if (first !== undefined) throw first;
}
