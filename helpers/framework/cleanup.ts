// A scenario's deferred cleanups, run last first. One that throws fails the scenario ("cleanup: …")
// and, when it concerned a node (it restores a file there, restarts its kubelet), quarantines that
// node before the scenario lets go of the node's lock, so no later scenario of the run lands on it.
import { errorLine, type Kube } from '../cluster/kube.ts';
import type { Logger } from '../infra/log.ts';
import { quarantineNode } from '../node/quarantine.ts';

export interface Cleanup {
  fn: () => Promise<unknown> | unknown;
  /** The node it restores, if it restores one. */
  node?: string;
}

export interface CleanupFailure {
  node?: string;
  message: string;
}

/** What a scenario that had passed fails with when cleanups failed. */
export function cleanupFailureMessage(failures: readonly CleanupFailure[]): string {
  const nodes = [...new Set(failures.flatMap((f) => (f.node ? [f.node] : [])))];
  return `cleanup: ${failures.map((f) => (f.node ? `[${f.node}] ${f.message}` : f.message)).join('; ')}${
    nodes.length ? ` (${nodes.join(', ')} quarantined for the rest of the run)` : ''
  }`;
}

/** Runs (and removes) the pending cleanups, last first; returns those that threw. */
export async function runCleanups(
  pending: Cleanup[],
  o: { id: string; kube: Pick<Kube, 'core'>; runId: string; logger: Pick<Logger, 'warn'> },
): Promise<CleanupFailure[]> {
  const failures: CleanupFailure[] = [];
  for (let c = pending.pop(); c; c = pending.pop()) {
    try {
      await c.fn();
    } catch (error) {
      const message = errorLine(error);
      o.logger.warn(`[${o.id}] cleanup${c.node ? ` [${c.node}]` : ''}: ${message}`);
      failures.push({ ...(c.node ? { node: c.node } : {}), message });
      if (c.node)
        await quarantineNode({ kube: o.kube, node: c.node, runId: o.runId, why: `${o.id}: ${message}`, logger: o.logger }).catch(
          (e: unknown) => o.logger.warn(`[${o.id}] quarantining ${c.node}: ${errorLine(e)}`),
        );
    }
  }
  return failures;
}
