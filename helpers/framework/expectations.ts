// The two verdicts every scenario ends with, asserted the same way everywhere: the pod ran the
// image it should have, or its pull failed for the stated cause (waiting reason + kubelet event).
import type { CoreV1Event, V1Pod } from '@kubernetes/client-node';
import type { Kube } from '../cluster/kube.ts';
import {
  EventReason,
  failedImageOf,
  imageIdOf,
  LOG_SETTLE_MS,
  logTail,
  NOT_FOUND,
  type PodVerdict,
  PULL_ATTEMPT_FAILED,
  PULL_FAILED_REASONS,
  podEvents,
  podLog,
  pullFailedEventFor,
  refusingRegistryHosts,
  UNAUTHORIZED,
  UNTRUSTED_CERTIFICATE,
  WaitingReason,
  waitForEvent,
  waitForFirstEvent,
} from './pods.ts';

/**
 * A check that is not a pod verdict (a status code, a digest, a list that must be empty) fails with
 * one sentence, like the verdicts below: the rule, what was observed, and where (registry, node,
 * pod). `sentence` may be a function, to word the failure only when there is one.
 */
export function claim(ok: boolean, sentence: string | (() => string)): asserts ok {
  if (!ok) throw new Error(typeof sentence === 'function' ? sentence() : sentence);
}

export interface RanExpectation {
  /** The image's build id, which its marker line prints. */
  buildId: string;
  /** The manifest (or index) digest `imageID` must carry. */
  digest?: string;
  /** The platform the marker must name, e.g. linux/amd64. */
  platform?: string;
  /**
   * For an index `digest`: its platform manifests' digests, any of which `imageID` may carry instead.
   * The page leaves open which one a runtime reports: containerd names the index the tag resolved
   * to, CRI-O (containers/image) one of the digests it holds for the image, the index's or the
   * platform manifest's (docs/cri-o.md). The marker and platform above prove which manifest ran.
   */
  platformDigests?: readonly string[];
  /**
   * Of an image imported onto a node (no pull): the digests `imageID` may carry beside `digest`. An
   * imported image has no repo digest in containerd's CRI, so its imageID is the image ID; CRI-O
   * keeps the manifest digest skopeo copied and names repo@digest. The page is silent on either.
   */
  importedDigests?: readonly string[];
}

/**
 * The pod's imageID names what was pushed by digest, `host/repository@digest`; for an index, the
 * index's digest or one of its platform manifests' (the page is silent on which: containerd names the
 * index, CRI-O the index or the platform manifest it kept). Returns which one, else fails saying what it was.
 */
export function expectImageIdByDigest(
  pod: V1Pod,
  host: string,
  image: { ref: string; repository: string; digest: string; platformDigests?: readonly string[] },
  what = 'image',
): 'pushed-digest' | 'platform-manifest-digest' {
  const imageId = imageIdOf(pod);
  const pulled = `${host}/${image.repository}@${image.digest}`;
  const platform = (image.platformDigests ?? []).map((d) => `${host}/${image.repository}@${d}`);
  if (imageId === pulled) return 'pushed-digest';
  if (platform.includes(imageId)) return 'platform-manifest-digest';
  throw new Error(
    `${podWhere(pod)} ran ${image.ref} as ${imageId || '(no imageID)'}, but its imageID should be the pushed ${what} by digest, ${pulled}${platform.length ? ', or one of its platform manifests' : ''}`,
  );
}

/** `pod ns/name on node`, as every failure sentence says where. */
export function podWhere(pod: V1Pod): string {
  return `pod ${pod.metadata?.namespace}/${pod.metadata?.name} on ${pod.spec?.nodeName ?? '(no node)'}`;
}

function imageOf(pod: V1Pod): string {
  return pod.spec?.containers[0]?.image ?? '?';
}

/** The runtime's own words for a failed pull: the kubelet's `Failed` event, else the waiting message. */
async function pullCause(kube: Kube, verdict: Extract<PodVerdict, { kind: 'pull-failed' }>): Promise<string> {
  const { pod } = verdict;
  const events = await podEvents(kube, pod.metadata?.namespace ?? '', pod.metadata?.name ?? '').catch(() => []);
  const failed = events.find((e) => e.reason === EventReason.Failed && PULL_ATTEMPT_FAILED.test(e.message ?? ''));
  return failed?.message ?? (verdict.message || verdict.reason);
}

export async function expectRan(kube: Kube, verdict: PodVerdict, e: RanExpectation): Promise<V1Pod> {
  const { pod } = verdict;
  const at = podWhere(pod);
  if (verdict.kind === 'pull-failed')
    throw new Error(`${at} should have run ${imageOf(pod)}, but its pull failed (${verdict.reason}): ${await pullCause(kube, verdict)}`);
  const marker = e.platform ? `pullcheck-marker platform=${e.platform} build=${e.buildId}` : `build=${e.buildId}`;
  const complete = (l: string) => verdict.exitCode !== 0 || (l.includes('SUCCESS') && l.includes(marker));
  const log = await podLog(kube, pod.metadata?.namespace ?? '', pod.metadata?.name ?? '', 'main', complete);
  const tail = logTail(log);
  if (verdict.exitCode !== 0) throw new Error(`${at} ran ${imageOf(pod)}, but it exited ${verdict.exitCode}: ${tail}`);
  // Not "another image": the runtime kept none of the container's output (seen on a loaded node).
  // The echo program's termination message, which kubelet reads itself, still names the image.
  const message = terminationMessageOf(pod);
  if (log.trim() === '' && !message.includes(marker))
    throw new Error(
      `${at} ran ${imageOf(pod)} and exited 0, but its log stayed empty (read again for ${LOG_SETTLE_MS / 1000} s): the runtime kept none of its output, and its termination message (${message.trim() || 'empty'}) lacks the marker "${marker}": nothing proves which image ran`,
    );
  if (log.trim() !== '' && (!log.includes('SUCCESS') || !log.includes(marker)))
    throw new Error(
      `${at} ran ${imageOf(pod)}, but not the image pushed for this scenario (its log lacks "${marker}"${log.includes('SUCCESS') ? '' : ' and SUCCESS'}): ${tail}`,
    );
  const imageId = imageIdOf(pod);
  const others = [...(e.platformDigests ?? []), ...(e.importedDigests ?? [])];
  if (e.digest && !imageId.includes(e.digest) && !others.some((d) => imageId.includes(d)))
    throw new Error(
      `${at} ran ${imageOf(pod)} as ${imageId || '(no imageID)'}, not the pushed digest ${e.digest}${e.platformDigests?.length ? ` nor one of its platform manifests ${e.platformDigests.join(', ')}` : ''}${e.importedDigests?.length ? ` nor ${e.importedDigests.join(', ')}` : ''}`,
    );
  return pod;
}

/** The main container's termination message (`state.terminated.message`): what it wrote to /dev/termination-log. */
export function terminationMessageOf(pod: V1Pod): string {
  const statuses = pod.status?.containerStatuses ?? [];
  return (statuses.find((c) => c.name === 'main') ?? statuses[0])?.state?.terminated?.message ?? '';
}

/** How a failure sentence names an expected cause: `unauthorized (401/403)` for UNAUTHORIZED, else the pattern. */
function causeName(cause: RegExp): string {
  if (cause === UNAUTHORIZED) return 'unauthorized (401/403)';
  if (cause === NOT_FOUND) return 'not found (404)';
  return cause === UNTRUSTED_CERTIFICATE ? 'x509: certificate signed by unknown authority' : `/${cause.source}/`;
}

/** A pull failure: ErrImagePull/ImagePullBackOff, and a `Failed` event whose message matches `cause`. */
export async function expectPullFailure(kube: Kube, verdict: PodVerdict, cause: RegExp): Promise<CoreV1Event> {
  const { pod } = verdict;
  const at = podWhere(pod);
  if (verdict.kind !== 'pull-failed')
    throw new Error(
      `${at} should have failed to pull ${imageOf(pod)} (${causeName(cause)}), but it ran to the end (exit ${verdict.exitCode}, ${imageIdOf(pod) || 'no imageID'})`,
    );
  if (!PULL_FAILED_REASONS.includes(verdict.reason))
    throw new Error(
      `${at} should have failed its pull of ${imageOf(pod)} with ${PULL_FAILED_REASONS.join(' or ')}, but waits with ${verdict.reason}: ${verdict.message}`,
    );
  const image = failedImageOf(verdict);
  const failed = await failedEventNaming(kube, pod, image);
  // A registry that hides a private repository behind a 404 does not refuse the pull: say so, not "other cause".
  if (cause === UNAUTHORIZED && NOT_FOUND.test(failed.message ?? ''))
    throw new Error(
      `${at} failed to pull ${imageOf(pod)}, but the registry answered not found (404) where a pull without the right credentials must be refused with 401/403: kubelet says: ${failed.message}`,
    );
  if (!cause.test(failed.message ?? ''))
    throw new Error(`${at} failed to pull ${image}, but not for the expected cause (${causeName(cause)}): kubelet says: ${failed.message}`);
  // The refusal must be the image's own registry's: a mirror or proxy in front of it refusing is another hop.
  const named = image.split('/')[0] ?? '';
  // containerd's default host for docker.io (core/remotes/docker/config: DefaultHost).
  const host = named === 'docker.io' ? 'registry-1.docker.io' : named;
  const refusing = cause === UNAUTHORIZED ? refusingRegistryHosts(failed.message ?? '') : [];
  if (refusing.length > 0 && !refusing.includes(host))
    throw new Error(
      `${at} failed to pull ${image}, but the refusal came from ${refusing.join(', ')}, not from its registry ${host}: kubelet says: ${failed.message}`,
    );
  return failed;
}

/**
 * kubelet's Failed event for `image` on the pod: the first pull failure it records must name the
 * image the verdict is about (a second container's failure may come first: then its own, briefly).
 */
async function failedEventNaming(kube: Kube, pod: V1Pod, image: string): Promise<CoreV1Event> {
  const namespace = pod.metadata?.namespace ?? '';
  const name = pod.metadata?.name ?? '';
  const own = pullFailedEventFor(image);
  const first = await waitForFirstEvent(kube, namespace, name, [
    { reason: EventReason.Failed, message: own },
    { reason: EventReason.Failed, message: PULL_ATTEMPT_FAILED },
  ]);
  if (own.test(first.message ?? '')) return first;
  return waitForEvent(kube, namespace, name, EventReason.Failed, own, 30_000).catch((error: unknown) => {
    throw new Error(
      `${podWhere(pod)}: kubelet's Failed event should name the image whose pull failed, ${image}, but it says: ${first.message}`,
      { cause: error },
    );
  });
}

/**
 * A Never pod whose image the node does not have: waiting reason ErrImageNeverPull and kubelet's
 * `ErrImageNeverPull` event naming the image ("is not present with pull policy of Never").
 */
export async function expectNeverPullRefused(kube: Kube, verdict: PodVerdict): Promise<CoreV1Event> {
  const { pod } = verdict;
  const at = podWhere(pod);
  const image = imageOf(pod);
  if (verdict.kind !== 'pull-failed')
    throw new Error(
      `${at} with imagePullPolicy Never should have been refused ${image} (not on the node), but it ran (${imageIdOf(pod) || 'no imageID'})`,
    );
  if (verdict.reason !== WaitingReason.ErrImageNeverPull)
    throw new Error(
      `${at} with imagePullPolicy Never should wait with ErrImageNeverPull, but waits with ${verdict.reason}: ${verdict.message}`,
    );
  const event = await waitForEvent(
    kube,
    pod.metadata?.namespace ?? '',
    pod.metadata?.name ?? '',
    EventReason.ErrImageNeverPull,
    /is not present with pull policy of Never/,
  );
  if (!(event.message ?? '').includes(image))
    throw new Error(`${at}: kubelet's ErrImageNeverPull event does not name ${image}: ${event.message}`);
  return event;
}

/**
 * Kubelet used the image already on the node: a `Pulled` "already present" event, and no `Pulling`
 * (Pulled is recorded where Pulling would have been, so once it is there a Pulling would be too).
 */
export async function expectNoPull(kube: Kube, namespace: string, pod: string): Promise<void> {
  const first = await waitForFirstEvent(kube, namespace, pod, [
    { reason: EventReason.Pulled, message: /already present on machine/ },
    { reason: EventReason.Pulling },
  ]);
  const pulling =
    first.reason === EventReason.Pulling
      ? [first]
      : (await podEvents(kube, namespace, pod)).filter((e) => e.reason === EventReason.Pulling);
  if (pulling.length > 0)
    throw new Error(
      `pod ${namespace}/${pod}: kubelet pulled the image (${pulling.map((e) => `Pulling: ${e.message}`).join('; ')}) though the node had it and nothing asked for a pull`,
    );
}
