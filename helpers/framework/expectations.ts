// The two verdicts every scenario ends with, asserted the same way everywhere: the pod ran the
// image it should have, or its pull failed for the stated cause (waiting reason + kubelet event).
import type { CoreV1Event, V1Pod } from '@kubernetes/client-node';
import type { Kube } from '../cluster/kube.ts';
import { EventReason, PULL_FAILED_REASONS, podEvents, podLog, ranToCompletion, waitForEvent, type PodVerdict } from './pods.ts';

export interface RanExpectation {
  /** The image's build id, which its marker line prints. */
  buildId: string;
  /** The manifest (or index) digest `imageID` must carry. */
  digest?: string;
  /** The platform the marker must name, e.g. linux/amd64. */
  platform?: string;
}

export async function expectRan(kube: Kube, verdict: PodVerdict, e: RanExpectation): Promise<V1Pod> {
  const { pod, exitCode } = ranToCompletion(verdict);
  expect(exitCode).toBe(0);
  const log = await podLog(kube, pod.metadata?.namespace ?? '', pod.metadata?.name ?? '', 'main');
  expect(log).toContain('SUCCESS');
  expect(log).toContain(e.platform ? `pullcheck-marker platform=${e.platform} build=${e.buildId}` : `build=${e.buildId}`);
  if (e.digest) expect(pod.status?.containerStatuses?.[0]?.imageID).toContain(e.digest);
  return pod;
}

/** A pull failure: ErrImagePull/ImagePullBackOff, and a `Failed` event whose message matches `cause`. */
export async function expectPullFailure(kube: Kube, verdict: PodVerdict, cause: RegExp): Promise<CoreV1Event> {
  if (verdict.kind !== 'pull-failed') throw new Error(`expected pod ${verdict.pod.metadata?.name} to fail its pull (${cause}), but it ran`);
  expect(PULL_FAILED_REASONS).toContain(verdict.reason);
  const failed = await waitForEvent(
    kube,
    verdict.pod.metadata?.namespace ?? '',
    verdict.pod.metadata?.name ?? '',
    EventReason.Failed,
    /Failed to pull image/,
  );
  expect(failed.message).toMatch(cause);
  return failed;
}

/**
 * Kubelet used the image already on the node: a `Pulled` "already present" event, and no `Pulling`
 * (Pulled is recorded where Pulling would have been, so once it is there a Pulling would be too).
 */
export async function expectNoPull(kube: Kube, namespace: string, pod: string): Promise<void> {
  await waitForEvent(kube, namespace, pod, EventReason.Pulled, /already present on machine/);
  const pulling = (await podEvents(kube, namespace, pod)).filter((e) => e.reason === EventReason.Pulling);
  if (pulling.length > 0)
    throw new Error(
      `pod ${pod}: kubelet pulled the image (${pulling.map((e) => `Pulling: ${e.message}`).join('; ')}) though the node had it and nothing asked for a pull`,
    );
}
