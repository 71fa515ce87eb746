// How soon a negative scenario can give its verdict: from the moment its pod is scheduled to the
// kubelet's first failure event for it (`Failed` to pull, `ErrImageNeverPull`, …), which is what the
// scenario waits for. Read after the run from the namespaces it kept (`pullcheck run --keep`), so it
// costs one list per namespace. Event times have one-second resolution (the kubelet's events carry
// firstTimestamp only); the scheduler's carry microseconds.
import type { CoreV1Event, V1Pod } from '@kubernetes/client-node';
import type { Kube } from '../cluster/kube.ts';

/** Warning reasons that end a negative scenario's wait. */
export const FAILURE_REASONS: ReadonlySet<string> = new Set([
  'Failed',
  'ErrImageNeverPull',
  'FailedToRetrieveImagePullSecret',
  'InspectFailed',
]);

export interface VerdictDelay {
  namespace: string;
  pod: string;
  reason: string;
  seconds: number;
}

function eventTime(e: CoreV1Event): Date | undefined {
  const t = e.eventTime ?? e.firstTimestamp ?? e.lastTimestamp;
  return t ? new Date(t) : undefined;
}

/** Per pod that failed to get its image: seconds from scheduled to the first failure event. */
export function verdictDelays(pods: readonly V1Pod[], events: readonly CoreV1Event[]): VerdictDelay[] {
  const out: VerdictDelay[] = [];
  for (const pod of pods) {
    const name = pod.metadata?.name ?? '';
    const namespace = pod.metadata?.namespace ?? '';
    const about = events.filter((e) => e.involvedObject.kind === 'Pod' && e.involvedObject.name === name);
    const scheduledEvent = about.find((e) => e.reason === 'Scheduled');
    const condition = pod.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'True')?.lastTransitionTime;
    const scheduled = (scheduledEvent && eventTime(scheduledEvent)) ?? (condition ? new Date(condition) : undefined);
    const failures = about
      .filter((e) => e.type === 'Warning' && FAILURE_REASONS.has(e.reason ?? ''))
      .map((e) => ({ reason: e.reason ?? '', at: eventTime(e) }))
      .filter((f): f is { reason: string; at: Date } => f.at !== undefined)
      .sort((a, b) => a.at.getTime() - b.at.getTime());
    const first = failures[0];
    if (!scheduled || !first) continue;
    out.push({ namespace, pod: name, reason: first.reason, seconds: Math.max(0, (first.at.getTime() - scheduled.getTime()) / 1000) });
  }
  return out;
}

/**
 * The verdict delays of every scenario namespace a run kept on this cluster, which are then
 * deleted (the benchmark's cluster is its own: every scenario namespace on it is the bench's).
 */
export async function collectVerdictDelays(kube: Kube): Promise<VerdictDelay[]> {
  const namespaces = (await kube.core.listNamespace({ labelSelector: 'pullcheck.io/scenario' })).items
    .filter((n) => !n.metadata?.deletionTimestamp)
    .map((n) => n.metadata?.name ?? '')
    .filter(Boolean);
  const out: VerdictDelay[] = [];
  for (const namespace of namespaces) {
    const [pods, events] = await Promise.all([kube.core.listNamespacedPod({ namespace }), kube.core.listNamespacedEvent({ namespace })]);
    out.push(...verdictDelays(pods.items, events.items));
  }
  await Promise.all(namespaces.map((name) => kube.core.deleteNamespace({ name }).catch(() => undefined)));
  return out;
}
