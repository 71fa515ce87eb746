// `pullcheck cluster clean`: on demand, what every run does at its start: removes what killed runs
// of this host left (containers, networks, namespaces, RBAC, static pods, stale locks) and replays
// the node-change journal (node files and images of dead runs put back). Nothing a live run uses.
import type { Logger } from '../infra/log.ts';
import { sweepOrphans } from '../infra/sweep.ts';
import { type Restored, replayJournals } from '../node/replay.ts';
import type { Cluster } from './cluster.ts';
import { sweepClusterLeftovers } from './leftovers.ts';

export interface Cleaned {
  /** Containers, networks and cluster objects removed. */
  removed: string[];
  restored: Restored[];
  /** Why the nodes were not looked at (no node access without a run's node agent). */
  nodesSkipped?: string;
}

export async function cleanCluster(cluster: Cluster, o: { logger: Logger; docker: boolean }): Promise<Cleaned> {
  const { logger } = o;
  const removed = o.docker ? await sweepOrphans(logger) : [];
  const pending = cluster.nodes.how === 'none';
  removed.push(...(await sweepClusterLeftovers({ kube: cluster.kube, ...(pending ? {} : { nodes: cluster.nodes }), logger })));
  if (pending)
    return {
      removed,
      restored: [],
      nodesSkipped:
        "its nodes are not kind containers: their journal is replayed by the next run's suites once its node agent runs (pullcheck run --kubeconfig … --registry …)",
    };
  const restored = await replayJournals({ kube: cluster.kube, nodes: cluster.nodes, nodeNames: cluster.nodeNames, logger });
  return { removed, restored };
}

/** What `cluster clean` prints: one line per thing removed or put back. */
export function describeCleaned(name: string, c: Cleaned): string[] {
  const lines = [...c.removed.map((r) => `removed ${r}`), ...c.restored.map((r) => `restored ${r.node}: ${r.what} left by run ${r.run}`)];
  if (c.nodesSkipped) lines.push(`${name}: nodes not looked at: ${c.nodesSkipped}`);
  if (lines.length === 0 || (lines.length === 1 && c.nodesSkipped)) lines.unshift(`${name}: nothing left by killed runs`);
  return lines;
}
