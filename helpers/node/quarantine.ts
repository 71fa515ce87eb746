// A node whose cleanup failed (a credential file left, kubelet not restarted as it was) is not what
// later scenarios expect. It is quarantined for the rest of the run: a taint
// `pullcheck.io/quarantined=<run>:NoSchedule`, which every jest worker and shard sees on the node
// itself, which keeps the scheduler's pods off it, and which the scenario context reads to leave it
// out of every node it picks (pods naming their node pass taints). The run lifts its own taints at
// its end and names the nodes, so the cluster is left as the run found it, but for what the failed
// cleanup left, which the line asks the user to check.
import type { V1Node, V1Taint } from '@kubernetes/client-node';
import { apiStatus, errorLine, type Kube } from '../cluster/kube.ts';
import { QUARANTINE_TAINT } from '../cluster/shape.ts';
import type { Logger } from '../infra/log.ts';

/** Why the node was quarantined (`<scenario>: <what failed>`): for the run's closing line, removed with the taint. */
export const QUARANTINE_ANNOTATION = 'pullcheck.io/quarantine-reason';

export interface Quarantined {
  node: string;
  why: string;
}

/** `taints` with this run's quarantine taint (unchanged, as undefined, when it is there already). */
export function withQuarantine(taints: readonly V1Taint[] | undefined, runId: string): V1Taint[] | undefined {
  if ((taints ?? []).some((t) => t.key === QUARANTINE_TAINT && t.value === runId)) return undefined;
  return [...(taints ?? []), { key: QUARANTINE_TAINT, value: runId, effect: 'NoSchedule' }];
}

/** `taints` without this run's quarantine taint (undefined when it has none); another run's stays. */
export function withoutQuarantine(taints: readonly V1Taint[] | undefined, runId: string): V1Taint[] | undefined {
  const kept = (taints ?? []).filter((t) => !(t.key === QUARANTINE_TAINT && t.value === runId));
  return kept.length === (taints ?? []).length ? undefined : kept;
}

/** The run's one line naming the nodes it quarantined, or undefined when it quarantined none. */
export function quarantineLine(lifted: readonly Quarantined[]): string | undefined {
  if (lifted.length === 0) return undefined;
  return `quarantined for the rest of the run after a cleanup failed, and may still be changed (check them before the next run): ${lifted
    .map((q) => `${q.node} (${q.why})`)
    .join('; ')}`;
}

/** Reads the node, changes it, writes it back; again on a conflict (kubelet updates nodes all the time). */
async function updateNode(kube: Pick<Kube, 'core'>, name: string, change: (n: V1Node) => boolean): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const node = await kube.core.readNode({ name });
    if (!change(node)) return;
    try {
      await kube.core.replaceNode({ name, body: node });
      return;
    } catch (error) {
      if (apiStatus(error) !== 409 || attempt >= 10) throw error;
    }
  }
}

export async function quarantineNode(o: {
  kube: Pick<Kube, 'core'>;
  node: string;
  runId: string;
  why: string;
  logger: Pick<Logger, 'warn'>;
}): Promise<void> {
  await updateNode(o.kube, o.node, (n) => {
    const taints = withQuarantine(n.spec?.taints, o.runId);
    if (!taints) return false;
    n.spec = { ...n.spec, taints };
    n.metadata = { ...n.metadata, annotations: { ...n.metadata?.annotations, [QUARANTINE_ANNOTATION]: o.why.slice(0, 1000) } };
    return true;
  });
  o.logger.warn(`QUARANTINE ${o.node} for the rest of run ${o.runId}: ${o.why}`);
}

/** Whether `node` carries a quarantine taint now (a scenario that waited for its lock checks again). */
export async function isQuarantined(kube: Pick<Kube, 'core'>, node: string): Promise<boolean> {
  const n = await kube.core.readNode({ name: node });
  return (n.spec?.taints ?? []).some((t) => t.key === QUARANTINE_TAINT);
}

/** Removes this run's quarantine taints (and their reasons) from every node; returns what it lifted. */
export async function liftQuarantines(o: {
  kube: Pick<Kube, 'core'>;
  runId: string;
  logger: Pick<Logger, 'warn'>;
}): Promise<Quarantined[]> {
  const lifted: Quarantined[] = [];
  for (const n of (await o.kube.core.listNode()).items) {
    const name = n.metadata?.name ?? '';
    if (!withoutQuarantine(n.spec?.taints, o.runId)) continue;
    let why = '';
    await updateNode(o.kube, name, (fresh) => {
      const taints = withoutQuarantine(fresh.spec?.taints, o.runId);
      if (!taints) return false;
      why = fresh.metadata?.annotations?.[QUARANTINE_ANNOTATION] ?? 'a cleanup failed';
      fresh.spec = { ...fresh.spec, taints };
      if (fresh.metadata?.annotations) delete fresh.metadata.annotations[QUARANTINE_ANNOTATION];
      return true;
    }).catch((e: unknown) => o.logger.warn(`lifting the quarantine of ${name}: ${errorLine(e)}`));
    if (why) lifted.push({ node: name, why });
  }
  const line = quarantineLine(lifted);
  if (line) o.logger.warn(line);
  return lifted;
}
