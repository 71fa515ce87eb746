// What a pod was seen to do, in a small closed vocabulary, so that two runs (before and after an
// upgrade) can be compared even where both verdicts read "passed". Nothing run-specific goes in:
// digests are named by role (the one the scenario pushed, or another), never literally.
import type { CoreV1Event, V1Pod } from '@kubernetes/client-node';
import type { PodObservation } from '../report/schema.ts';
import { EventReason, imageIdOf, type PodVerdict, PULL_ATTEMPT_FAILED, WaitingReason } from './pods.ts';

/** Every word an observation may hold; `exited:N` stands for any non-zero exit code. Order is the order recorded. */
export const OBSERVATIONS = [
  'admitted:Always',
  'admitted:IfNotPresent',
  'admitted:Never',
  'secret-missing',
  'pulled',
  'cached',
  'ran',
  'exited:N',
  'never-pull',
  'pull-failed:unauthorized',
  'pull-failed:forbidden',
  'pull-failed:not-found',
  'pull-failed:tls',
  'pull-failed:no-match',
  'pull-failed:other',
  'digest:pushed',
  'digest:other',
] as const;

export type Observation = (typeof OBSERVATIONS)[number] | `exited:${number}`;

export function isObservation(word: string): word is Observation {
  return (OBSERVATIONS as readonly string[]).includes(word) || /^exited:[1-9]\d*$/.test(word);
}

/**
 * The cause of a failed pull, from the runtime's own words. x509 and platform errors first (their
 * messages can end in "not found"), then the HTTP status, then how registries word it.
 */
export function pullFailureCause(message: string): Observation {
  if (/x509|certificate/i.test(message)) return 'pull-failed:tls';
  if (/no match for platform|no matching manifest|no image found in (?:image index|manifest list) for architecture/i.test(message))
    return 'pull-failed:no-match';
  if (/\b401\b/.test(message)) return 'pull-failed:unauthorized';
  if (/\b403\b/.test(message)) return 'pull-failed:forbidden';
  if (/\b404\b/.test(message)) return 'pull-failed:not-found';
  // containerd says "pull access denied … authorization failed" for a 401 too: denied alone is a 403.
  if (/insufficient_scope/i.test(message)) return 'pull-failed:forbidden';
  // CRI-O (containers/image) gives the registry's words: "authentication required", or its token client's.
  if (/unauthorized|authorization failed|authentication required|unable to retrieve auth token|not authorized/i.test(message))
    return 'pull-failed:unauthorized';
  if (/denied/i.test(message)) return 'pull-failed:forbidden';
  if (/not found|manifest unknown/i.test(message)) return 'pull-failed:not-found';
  return 'pull-failed:other';
}

/** The digests a scenario pushed, by image reference and by repository: what `digest:pushed` means. */
export class PushedDigests {
  private readonly byRef = new Map<string, string>();
  private readonly byRepository = new Map<string, Set<string>>();

  /** `ref` is `host/repository:tag` as the registry spells it; a later push under the same tag wins (a moved tag). */
  add(ref: string, digest: string): void {
    this.byRef.set(ref, digest);
    const repo = repositoryOf(ref);
    this.byRepository.set(repo, (this.byRepository.get(repo) ?? new Set()).add(digest));
  }

  /**
   * The digests that count as pushed for `image`, taken when its pod is created (a tag moved later
   * does not change what the pod should have got): the digest it names, else the one last pushed
   * under its tag, else (a tag the scenario set by other means, e.g. `:latest`) any pushed to its
   * repository.
   */
  expectedFor(image: string): ReadonlySet<string> {
    const at = image.indexOf('@');
    const repository = this.byRepository.get(repositoryOf(image)) ?? new Set<string>();
    if (at >= 0) return new Set([image.slice(at + 1)].filter((d) => repository.has(d)));
    const tagged = this.byRef.get(image);
    return new Set(tagged ? [tagged] : repository);
  }
}

/** Whether the `imageID` a pod ran carries one of the digests expected for it. */
export function ranExpectedDigest(imageId: string, expected: ReadonlySet<string>): boolean {
  const ran = /sha256:[0-9a-f]{64}/.exec(imageId)?.[0];
  return ran !== undefined && expected.has(ran);
}

/** `host:port/repo:tag` (or `…:tag@sha256:…`, `…@sha256:…`) → `host:port/repo` (the colon of a port is before the last slash). */
function repositoryOf(ref: string): string {
  const at = ref.indexOf('@');
  const named = at >= 0 ? ref.slice(0, at) : ref;
  const colon = named.lastIndexOf(':');
  return colon > named.lastIndexOf('/') ? named.slice(0, colon) : named;
}

/** What is known of a pod when its observations are gathered. */
export interface PodFacts {
  /** The pod as the API server stored it when it was created (its admitted policy). */
  created: V1Pod;
  /** The digests pushed for its image when it was created (`PushedDigests.expectedFor`). */
  expected: ReadonlySet<string>;
  /** Its verdict, when the scenario waited for one (`s.runPod`); `s.createPod` does not. */
  verdict?: PodVerdict;
  /** Its events (one list, read once the verdict is known), with those the expect* helpers waited for. */
  events: readonly CoreV1Event[];
}

/**
 * A pod's observations, in the vocabulary's order, each once. A pod created without waiting for a
 * verdict records only its admitted policy: what it did later depends on when it is looked at.
 */
export function observePod(facts: PodFacts): Observation[] {
  const out = new Set<Observation>();
  const main = facts.created.spec?.containers[0];
  const policy = main?.imagePullPolicy;
  if (policy === 'Always' || policy === 'IfNotPresent' || policy === 'Never') out.add(`admitted:${policy}`);
  const v = facts.verdict;
  if (v) {
    const events = facts.events;
    if (events.some((e) => e.reason === EventReason.FailedToRetrieveImagePullSecret)) out.add('secret-missing');
    if (events.some((e) => e.reason === EventReason.Pulling)) out.add('pulled');
    if (events.some((e) => e.reason === EventReason.Pulled && /already present on machine/.test(e.message ?? ''))) out.add('cached');
    if (v.kind === 'completed') {
      out.add(v.exitCode === 0 ? 'ran' : `exited:${v.exitCode}`);
      out.add(ranExpectedDigest(imageIdOf(v.pod), facts.expected) ? 'digest:pushed' : 'digest:other');
    } else if (v.reason === WaitingReason.ErrImageNeverPull) {
      out.add('never-pull');
    } else {
      const failed = events.find((e) => e.reason === EventReason.Failed && PULL_ATTEMPT_FAILED.test(e.message ?? ''));
      out.add(pullFailureCause(failed?.message ?? v.message));
    }
  }
  const rank = (o: Observation) => {
    const i = (OBSERVATIONS as readonly string[]).indexOf(o);
    return i >= 0 ? i : OBSERVATIONS.indexOf('exited:N');
  };
  return [...out].sort((a, b) => rank(a) - rank(b));
}

/** The scenario's observations, one per pod, ordered by pod name (pod-2 before pod-10). */
export function scenarioObservations(pods: ReadonlyMap<string, PodFacts>): PodObservation[] {
  return [...pods]
    .sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }))
    .map(([pod, facts]) => {
      const node = facts.verdict?.pod.spec?.nodeName ?? facts.created.spec?.nodeName;
      return { pod, observed: observePod(facts), ...(node ? { node } : {}) };
    });
}

/**
 * One answer a registry client was given, as a scenario records it (`GET manifest 401`, `GET token
 * 200`): the route by its kind, never a repository, digest or host, so two runs compare. `origin`
 * is the registry's; another host's answer is its token realm (asked with a scope or service) or
 * the storage a redirect sent the client to.
 */
export function answerWord(answer: { method: string; url: URL; status: number }, origin: string): string {
  const { method, url, status } = answer;
  let route: string;
  if (url.origin !== origin || !url.pathname.startsWith('/v2/'))
    route = url.searchParams.has('scope') || url.searchParams.has('service') ? 'token' : 'storage';
  else if (url.pathname === '/v2/') route = 'ping';
  else if (/\/manifests\/[^/]+$/.test(url.pathname)) route = 'manifest';
  else if (/\/blobs\/uploads\//.test(url.pathname)) route = 'upload';
  else if (/\/blobs\/[^/]+$/.test(url.pathname)) route = 'blob';
  else if (/\/tags\/list$/.test(url.pathname)) route = 'tags';
  else route = 'other';
  return `${method} ${route} ${status}`;
}

/**
 * A node's name without its cluster's (`pc-page-worker2` → `worker2`), so that runs on clusters of
 * other names compare; a name that does not start with the cluster's stays whole.
 */
export function nodeRole(node: string, cluster: string): string {
  return node.startsWith(`${cluster}-`) ? node.slice(cluster.length + 1) : node;
}
