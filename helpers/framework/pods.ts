// Pods as scenarios use them: create one, wait for its verdict (ran to the end, or the image could
// not be had), read its log, events and the image it ran. Reasons are named constants.
import { setTimeout as sleep } from 'node:timers/promises';
import type { CoreV1Event, V1Container, V1Pod } from '@kubernetes/client-node';
import { apiStatus, type Kube, waitFor } from '../cluster/kube.ts';
import { LABEL_MANAGED } from '../infra/docker.ts';

export const WaitingReason = {
  ErrImagePull: 'ErrImagePull',
  ImagePullBackOff: 'ImagePullBackOff',
  ErrImageNeverPull: 'ErrImageNeverPull',
  InvalidImageName: 'InvalidImageName',
} as const;

export const EventReason = {
  Pulling: 'Pulling',
  Pulled: 'Pulled',
  Failed: 'Failed',
  BackOff: 'BackOff',
  ErrImageNeverPull: 'ErrImageNeverPull',
  FailedToRetrieveImagePullSecret: 'FailedToRetrieveImagePullSecret',
} as const;

const PULL_FAILURES: ReadonlySet<string> = new Set(Object.values(WaitingReason));

/** Waiting reasons of a pull that failed (first try, then the back-off that follows). */
export const PULL_FAILED_REASONS: readonly string[] = [WaitingReason.ErrImagePull, WaitingReason.ImagePullBackOff];

/**
 * kubelet's own pull limiter (registryPullQPS) fails a pull before any request leaves the node; the
 * attempt after its back-off says what the registry answered. So it is no verdict, and not the
 * `Failed` event a cause is read from.
 */
const KUBELET_THROTTLED = /pull QPS exceeded/;
export const PULL_ATTEMPT_FAILED = new RegExp(`^Failed to pull image (?![\\s\\S]*${KUBELET_THROTTLED.source})`);

/**
 * How containerd words a registry's 404 in the kubelet's Failed event: the resolver's
 * "<ref>: not found", or the registry's own code where containerd quotes it.
 */
export const NOT_FOUND = /: not found\b|404 Not Found|\b(?:MANIFEST|NAME|BLOB)_UNKNOWN\b|manifest unknown/i;

/** A 404 in any of containerd's wordings (NOT_FOUND's): such an answer is never a refusal (a registry hiding a repository). */
const ANY_NOT_FOUND = NOT_FOUND.source;
const REFUSED_STATUS = '(?:401 Unauthorized|403 Forbidden)';
/** containerd's ErrUnexpectedStatus on the registry's own API (a `/v2/` URL): the registry answered it. */
const REGISTRY_REFUSED = String.raw`unexpected status from (?:HEAD|GET) request to https?://[^/\s]+/v2/\S*: ${REFUSED_STATUS}`;
/** The token realm the registry's challenge named refused to issue a token (POST, or GET after a POST 401). */
const REALM_REFUSED = String.raw`failed to fetch (?:oauth|anonymous) token: unexpected status from (?:GET|POST) request to \S+: ${REFUSED_STATUS}`;
/**
 * containerd's authorizer after the registry's 401 challenge: Basic and no credentials to send, or a
 * Bearer challenge repeated with error="insufficient_scope" (a token without the repository's pull).
 */
const CHALLENGE_REFUSED = 'authorization failed: no basic auth credentials|server message: insufficient_scope: authorization failed';

/**
 * How CRI-O (containers/image, docker/docker_client.go and errors.go) words the same refusals:
 * the registry's own answer to a manifest or blob request, "reading manifest <tag> in <repo>:
 * authentication required" (its 401's error message), "…: denied: …" or "requested access to the
 * resource is denied" (a 403), "unauthorized: …"; a 401 from the token realm is
 * ErrUnauthorizedForCredentials, "unable to retrieve auth token: invalid username/password".
 */
const CRIO_REGISTRY_REFUSED = String.raw`reading (?:manifest|blob) \S+ in \S+: (?:unauthorized: |denied: )?(?:authentication required|requested access to the resource is denied|access to the requested resource is not authorized|insufficient_scope)`;
const CRIO_REALM_REFUSED = 'unable to retrieve auth token: invalid username/password';

/**
 * How containerd v2 words a refusal by the registry itself or by the token realm its challenge
 * named, in the kubelet's Failed event (core/remotes/docker: resolver.go, authorizer.go, errcode.go):
 * "authorization failed: no basic auth credentials", "server message: insufficient_scope: authorization
 * failed", "unexpected status from HEAD request to https://<registry>/v2/…: 401 Unauthorized" (or 403
 * Forbidden, then the registry's JSON errors such as "denied: …" on the lines after), "failed to fetch
 * oauth token: unexpected status from GET request to <realm>: 401 Unauthorized". A "Forbidden" or
 * "denied" from another hop does not count: a proxy's CONNECT answer ("failed to do request: Head …:
 * Forbidden"), an image verifier, an API server's "forbidden". Never a 404 (NOT_FOUND).
 */
export const UNAUTHORIZED = new RegExp(
  String.raw`^(?![\s\S]*(?:${ANY_NOT_FOUND}))[\s\S]*(?:${REGISTRY_REFUSED}|${REALM_REFUSED}|${CHALLENGE_REFUSED}|${CRIO_REGISTRY_REFUSED}|${CRIO_REALM_REFUSED})`,
  'i',
);

/**
 * The `/v2/` hosts a Failed message says answered with a refusal: a refusal by a host other than the
 * image's registry (a mirror, a proxy in front of another registry) is another hop's.
 */
export function refusingRegistryHosts(message: string): string[] {
  const re = new RegExp(String.raw`unexpected status from (?:HEAD|GET) request to https?://([^/\s]+)/v2/\S*: ${REFUSED_STATUS}`, 'gi');
  return [...new Set([...message.matchAll(re)].map((m) => m[1] ?? ''))];
}

/**
 * kubelet's Failed event for a pull of exactly `image` (as the container names it, quoted by kubelet:
 * `Failed to pull image "<image>": …`), not one of its pull limiter's.
 */
export function pullFailedEventFor(image: string): RegExp {
  const quoted = image.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^Failed to pull image "${quoted}": (?![\\s\\S]*${KUBELET_THROTTLED.source})`);
}

/** How containerd words a registry certificate the node does not trust (no CA for it in certs.d or the system roots). */
export const UNTRUSTED_CERTIFICATE = /x509: certificate signed by unknown authority/;

/** What a kubelet `Failed` message says the registry answered, for a sentence that names it. */
export function refusalKind(message: string): 'unauthorized (401/403)' | 'not found (404)' | 'other' {
  if (UNAUTHORIZED.test(message)) return 'unauthorized (401/403)';
  if (NOT_FOUND.test(message)) return 'not found (404)';
  return 'other';
}

export interface PodSpecInput {
  name: string;
  image: string;
  pullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  command?: string[];
  nodeName?: string;
  imagePullSecrets?: string[];
  serviceAccountName?: string;
  labels?: Record<string, string>;
  /** More containers beside `main` (e.g. one image from each of two registries). */
  extraContainers?: { name: string; image: string }[];
}

export function podManifest(namespace: string, i: PodSpecInput): V1Pod {
  const container: V1Container = {
    name: 'main',
    image: i.image,
    ...(i.pullPolicy ? { imagePullPolicy: i.pullPolicy } : {}),
    ...(i.command ? { command: i.command } : {}),
  };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: i.name, namespace, labels: { [LABEL_MANAGED]: 'true', ...(i.labels ?? {}) } },
    spec: {
      restartPolicy: 'Never',
      containers: [
        container,
        ...(i.extraContainers ?? []).map((c) => ({
          name: c.name,
          image: c.image,
          ...(i.pullPolicy ? { imagePullPolicy: i.pullPolicy } : {}),
        })),
      ],
      terminationGracePeriodSeconds: 0,
      ...(i.nodeName ? { nodeName: i.nodeName } : {}),
      ...(i.imagePullSecrets ? { imagePullSecrets: i.imagePullSecrets.map((name) => ({ name })) } : {}),
      ...(i.serviceAccountName ? { serviceAccountName: i.serviceAccountName } : {}),
    },
  };
}

export type PodVerdict =
  | { kind: 'completed'; pod: V1Pod; exitCode: number }
  | { kind: 'pull-failed'; pod: V1Pod; reason: string; message: string };

export function describePod(p: V1Pod): string {
  const statuses = (p.status?.containerStatuses ?? []).map((c) => {
    const state = c.state?.waiting
      ? `waiting ${c.state.waiting.reason}: ${c.state.waiting.message ?? ''}`
      : c.state?.terminated
        ? `terminated ${c.state.terminated.reason} exit ${c.state.terminated.exitCode}`
        : c.state?.running
          ? 'running'
          : '?';
    return `${c.name}=${state}`;
  });
  return `pod ${p.metadata?.name} on node ${p.spec?.nodeName ?? '(unscheduled)'}: phase ${p.status?.phase ?? '?'} ${statuses.join(' ')}`.trim();
}

/**
 * A pod's verdict: every container ran to the end, or one container's image could not be had (the
 * first such container decides).
 */
export function verdictOf(p: V1Pod): PodVerdict | undefined {
  const statuses = p.status?.containerStatuses ?? [];
  for (const c of statuses) {
    const waiting = c.state?.waiting;
    if (waiting?.reason && PULL_FAILURES.has(waiting.reason) && !KUBELET_THROTTLED.test(waiting.message ?? ''))
      return { kind: 'pull-failed', pod: p, reason: waiting.reason, message: waiting.message ?? '' };
  }
  const expected = p.spec?.containers.length ?? 1;
  if (statuses.length >= expected && statuses.every((c) => c.state?.terminated)) {
    return { kind: 'completed', pod: p, exitCode: Math.max(...statuses.map((c) => c.state?.terminated?.exitCode ?? 0)) };
  }
  return undefined;
}

/** The image of the container whose pull failed (the one the verdict is about), from the pod's spec. */
export function failedImageOf(v: Extract<PodVerdict, { kind: 'pull-failed' }>): string {
  const failing = (v.pod.status?.containerStatuses ?? []).find((c) => c.state?.waiting?.reason === v.reason)?.name;
  const containers = v.pod.spec?.containers ?? [];
  return (containers.find((c) => c.name === failing) ?? containers[0])?.image ?? '?';
}

export async function createPod(kube: Kube, namespace: string, input: PodSpecInput): Promise<V1Pod> {
  return kube.core.createNamespacedPod({ namespace, body: podManifest(namespace, input) });
}

export async function waitForVerdict(
  kube: Kube,
  namespace: string,
  name: string,
  timeoutMs = 180_000,
  extraContext?: () => Promise<string>,
): Promise<PodVerdict> {
  let verdict: PodVerdict;
  try {
    verdict = await waitFor({
      kube,
      what: `pod ${namespace}/${name} to finish or fail its pull`,
      path: `/api/v1/namespaces/${namespace}/pods`,
      fieldSelector: `metadata.name=${name}`,
      timeoutMs,
      list: async () => {
        const l = await kube.core.listNamespacedPod({ namespace, fieldSelector: `metadata.name=${name}` });
        return { items: l.items, resourceVersion: l.metadata?.resourceVersion ?? '' };
      },
      until: (pods: V1Pod[]) => (pods[0] ? verdictOf(pods[0]) : undefined),
      describe: describePod,
    });
  } catch (error) {
    if (extraContext) {
      const more = await extraContext().catch(() => '');
      if (error instanceof Error && more) error.message += `\n${more}`;
    }
    throw error;
  }
  const withoutSecrets = await pulledWithoutItsSecrets(kube, namespace, verdict);
  if (withoutSecrets) {
    // A pull made without the pod's Secret answers nothing; kubelet's retry after its back-off does.
    const retried = await verdictAfterRetry(kube, namespace, name, Math.min(timeoutMs, RETRY_AFTER_LAG_MS));
    if (retried) return retried;
    throw new Error(withoutSecrets);
  }
  return verdict;
}

/**
 * Watches pod `name` of `namespace` until `until` holds (a waiting reason, a terminated container)
 * and returns it; fails after `timeoutMs` with the container state it last saw.
 */
export function waitForPodWhere(
  kube: Kube,
  namespace: string,
  name: string,
  what: string,
  until: (p: V1Pod) => boolean,
  timeoutMs = 120_000,
): Promise<V1Pod> {
  return waitForPodIn(kube, namespace, `pod ${namespace}/${name} ${what}`, until, { fieldSelector: `metadata.name=${name}`, timeoutMs });
}

/**
 * Watches the pods of `namespace` (those `labelSelector` or `fieldSelector` selects) until one
 * satisfies `until` and returns it; fails after `timeoutMs` naming what it waited for and the pods'
 * last states (name, node, phase, containers).
 */
export function waitForPodIn(
  kube: Kube,
  namespace: string,
  what: string,
  until: (p: V1Pod) => boolean,
  o: { labelSelector?: string; fieldSelector?: string; timeoutMs?: number } = {},
): Promise<V1Pod> {
  const selectors = {
    ...(o.labelSelector ? { labelSelector: o.labelSelector } : {}),
    ...(o.fieldSelector ? { fieldSelector: o.fieldSelector } : {}),
  };
  return waitFor({
    kube,
    what,
    path: `/api/v1/namespaces/${namespace}/pods`,
    ...selectors,
    timeoutMs: o.timeoutMs ?? 120_000,
    list: async () => {
      const l = await kube.core.listNamespacedPod({ namespace, ...selectors });
      return { items: l.items, resourceVersion: l.metadata?.resourceVersion ?? '' };
    },
    until: (pods: V1Pod[]) => pods.find(until),
    describe: (p) =>
      `${p.metadata?.name} on ${p.spec?.nodeName ?? '?'}: ${p.status?.phase} ${(p.status?.containerStatuses ?? []).map((c) => JSON.stringify(c.state ?? {})).join(' ')}`,
  });
}

/** How long to wait for kubelet's next pull after one it made without the pod's Secret (its first back-off is 10 s). */
const RETRY_AFTER_LAG_MS = 90_000;

/** How many times the pod's events report `reason` (kubelet aggregates repeats into one event's count). */
export function eventCount(events: readonly CoreV1Event[], reason: string): number {
  return events.filter((e) => e.reason === reason).reduce((n, e) => n + (e.count ?? 1), 0);
}

/**
 * After a pull kubelet made without a Secret that exists, the verdict of its next attempt: the pod
 * completed, or a later pull failed with no new FailedToRetrieveImagePullSecret (the Secret was
 * read); undefined when neither came before the deadline.
 */
async function verdictAfterRetry(kube: Kube, namespace: string, name: string, timeoutMs: number): Promise<PodVerdict | undefined> {
  const before = await podEvents(kube, namespace, name);
  const failed = eventCount(before, EventReason.Failed);
  const unread = eventCount(before, SECRET_NOT_READ);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    await sleep(2_000);
    const v = verdictOf(await kube.core.readNamespacedPod({ name, namespace }));
    if (v?.kind === 'completed') return v;
    const events = await podEvents(kube, namespace, name);
    if (v?.kind === 'pull-failed' && eventCount(events, EventReason.Failed) > failed && eventCount(events, SECRET_NOT_READ) === unread)
      return v;
  }
  return undefined;
}

/**
 * kubelet's event when it cannot read a pod's pull Secret: its secret cache had not synced within
 * the second it waits (pkg/kubelet/util/manager), or the node authorizer did not know the pod yet.
 * kubelet then pulls without that Secret.
 */
export const SECRET_NOT_READ = 'FailedToRetrieveImagePullSecret';

/** The Secret names kubelet's FailedToRetrieveImagePullSecret events say it could not read. */
export function secretsNotRead(events: readonly CoreV1Event[]): string[] {
  const names = events
    .filter((e) => e.reason === SECRET_NOT_READ)
    .flatMap((e) => (/\(([^)]*)\)/.exec(e.message ?? '')?.[1] ?? '').split(','))
    .map((n) => n.trim())
    .filter(Boolean);
  return [...new Set(names)];
}

/**
 * A failed pull that kubelet made without a pull Secret that exists: no answer to what the scenario
 * asks (the registry refused a pull that carried none of the pod's credentials), so the failure names
 * kubelet's lag instead of a rule. A Secret that does not exist is the scenario's own doing, and
 * kubelet's answer to it stands.
 */
async function pulledWithoutItsSecrets(kube: Kube, namespace: string, v: PodVerdict): Promise<string | undefined> {
  if (v.kind !== 'pull-failed' || (v.pod.spec?.imagePullSecrets ?? []).length === 0) return undefined;
  const name = v.pod.metadata?.name ?? '';
  const unread = secretsNotRead(await podEvents(kube, namespace, name));
  if (unread.length === 0) return undefined;
  const exists = (secret: string) =>
    kube.core.readNamespacedSecret({ name: secret, namespace }).then(
      () => true,
      (e: unknown) => (apiStatus(e) === 404 ? false : Promise.reject(e)),
    );
  if (!(await Promise.all(unread.map(exists))).every(Boolean)) return undefined;
  return pulledWithoutSecretsLine(v, unread);
}

export function pulledWithoutSecretsLine(v: Extract<PodVerdict, { kind: 'pull-failed' }>, unread: readonly string[]): string {
  return `kubelet on ${v.pod.spec?.nodeName ?? '(no node)'} could not read pod ${v.pod.metadata?.namespace}/${v.pod.metadata?.name}'s pull Secret ${unread.join(', ')}, which exists, and pulled without it (${SECRET_NOT_READ}: its secret cache or the node authorizer lagged behind the API server, as on a loaded node), so its ${v.reason} says nothing about the rule: ${v.message}`;
}

/**
 * A container's log, read again for a while until `complete` holds: the status can say terminated
 * before the runtime has written the last lines to the node's log file (an empty log of a container
 * that exited 0 was seen under load). Returns the last read, complete or not, for the caller to judge.
 */
export async function podLog(
  kube: Kube,
  namespace: string,
  name: string,
  container?: string,
  complete: (log: string) => boolean = (log) => log.trim() !== '',
): Promise<string> {
  const read = () => kube.core.readNamespacedPodLog({ name, namespace, ...(container ? { container } : {}) });
  const deadline = Date.now() + LOG_SETTLE_MS;
  let log = await read();
  while (!complete(log) && Date.now() < deadline) {
    await sleep(500);
    log = await read();
  }
  return log;
}

export const LOG_SETTLE_MS = 10_000;

/**
 * A log's last lines for a failure sentence. An empty one is named as the runtime's loss (seen on a
 * loaded node), so it is not read as another image or a missing marker.
 */
export function logTail(log: string): string {
  const tail = log.trim().split('\n').slice(-3).join(' | ');
  return tail || `(empty log, read again for ${LOG_SETTLE_MS / 1000} s: the runtime kept none of the container's output)`;
}

export async function podEvents(kube: Kube, namespace: string, name: string): Promise<CoreV1Event[]> {
  const l = await kube.core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name},involvedObject.kind=Pod` });
  return l.items;
}

export function describeEvents(events: readonly CoreV1Event[]): string {
  return events.map((e) => `${e.type} ${e.reason}: ${e.message ?? ''}`).join('\n') || '(no events)';
}

/** Waits for an event on the pod with this reason (and message pattern); fails with the events it saw. */
export async function waitForEvent(
  kube: Kube,
  namespace: string,
  podName: string,
  reason: string,
  message: RegExp = /.*/,
  timeoutMs = 120_000,
): Promise<CoreV1Event> {
  return waitForFirstEvent(kube, namespace, podName, [{ reason, message }], timeoutMs);
}

/**
 * Waits for the first event on the pod matching any of `wanted`: a caller that also lists the events
 * that contradict its expectation ends as soon as one comes, instead of at the deadline.
 */
export async function waitForFirstEvent(
  kube: Kube,
  namespace: string,
  podName: string,
  wanted: readonly { reason: string; message?: RegExp }[],
  timeoutMs = 120_000,
): Promise<CoreV1Event> {
  const selector = `involvedObject.name=${podName},involvedObject.kind=Pod`;
  const matches = (e: CoreV1Event) => wanted.some((w) => e.reason === w.reason && (w.message ?? /.*/).test(e.message ?? ''));
  return waitFor({
    kube,
    what: `event ${wanted.map((w) => `${w.reason}${w.message ? ` matching ${w.message}` : ''}`).join(' or ')} on pod ${namespace}/${podName}`,
    path: `/api/v1/namespaces/${namespace}/events`,
    fieldSelector: selector,
    timeoutMs,
    list: async () => {
      const l = await kube.core.listNamespacedEvent({ namespace, fieldSelector: selector });
      return { items: l.items, resourceVersion: l.metadata?.resourceVersion ?? '' };
    },
    until: (events: CoreV1Event[]) => events.find(matches),
    describe: (e) => `${e.type} ${e.reason}: ${e.message ?? ''}`,
  });
}

/** `status.containerStatuses[0].imageID` (or the named container's): the digest the node really ran. */
export function imageIdOf(p: V1Pod, container?: string): string {
  const statuses = p.status?.containerStatuses ?? [];
  return (container ? statuses.find((c) => c.name === container) : statuses[0])?.imageID ?? '';
}

/** The verdict of a pod that must have run; otherwise fails with the pull's own reason and message. */
export function ranToCompletion(v: PodVerdict): Extract<PodVerdict, { kind: 'completed' }> {
  if (v.kind !== 'completed')
    throw new Error(
      `pod ${v.pod.metadata?.namespace}/${v.pod.metadata?.name} on ${v.pod.spec?.nodeName ?? '(no node)'} should have run ${v.pod.spec?.containers[0]?.image}, but its pull failed (${v.reason}): ${v.message}`,
    );
  return v;
}
