// Rate limits, as Docker Hub's pull limit and vendors' quotas answer: 429 TOOMANYREQUESTS with
// Retry-After. A front in this process (helpers/registry/ratelimit.ts) stands before a distribution
// registry and refuses the repositories a scenario limits until it lifts the limit. Kubelet turns
// the 429 into ErrImagePull, then ImagePullBackOff, and pulls once the limit lifts, the pod untouched;
// pullcheck's own client waits out a 429 as long as its Retry-After says.
import type { V1Pod } from '@kubernetes/client-node';
import {
  type AccessEntry,
  claim,
  defineSuite,
  describePod,
  EventReason,
  pullAttempts,
  RateLimitedRegistry,
  type ScenarioContext,
  verdictOf,
  WaitingReason,
  waitForPodWhere,
  waitForVerdict,
} from '../helpers/framework/harness.ts';

export const suite = defineSuite({
  name: 'registry-rate-limit',
  registries: [{ name: 'limited', auth: 'none', rateLimit: { retryAfterSeconds: 10 } }],
});

/**
 * What kubelet's `Failed` event says of a pull the registry answered 429: containerd's resolver retries
 * a 429 a few times itself (core/remotes/docker resolver.go retryRequest), then fails the resolve
 * with the status it got ("unexpected status from HEAD request to …: 429 Too Many Requests").
 */
export const TOO_MANY_REQUESTS = /unexpected status from HEAD request to https:\/\/\S+\/manifests\/\S+: 429 Too Many Requests/;

/** CRI-O's words for it (containers/image): the registry's error code and message, `reading manifest … in …: toomanyrequests: …`. */
const TOO_MANY_REQUESTS_CRIO = /reading manifest \S+ in \S+: toomanyrequests: /;

function tooManyRequests(s: ScenarioContext): RegExp {
  return s.env.posture.runtime === 'cri-o' ? TOO_MANY_REQUESTS_CRIO : TOO_MANY_REQUESTS;
}

function limited(s: ScenarioContext): RateLimitedRegistry {
  const r = s.env.registry('limited');
  if (!(r instanceof RateLimitedRegistry)) return s.skip(`registry limited (${r.host}) is not pullcheck's rate-limiting front`);
  return r;
}

/** The front's answers under `repository` since `since`, as `METHOD kind status` words. */
function answers(log: readonly AccessEntry[], repository: string, since: Date): string[] {
  return log
    .filter((e) => e.uri.startsWith(`/v2/${repository}/`) && e.time >= since)
    .map((e) => `${e.method} ${e.uri.includes('/blobs/') ? (e.uri.includes('/uploads/') ? 'upload' : 'blob') : 'manifest'} ${e.status}`);
}

suite.section('registry-rate-limit: 429 with Retry-After', () => {
  suite.scenario(
    'rate-limited-pull-backs-off-then-runs',
    "a registry answering 429 TOOMANYREQUESTS with Retry-After: the pod's pull fails (ErrImagePull, kubelet's Failed event with the 429), it waits in ImagePullBackOff, and once the limit lifts it runs the image without being re-created",
    { capabilities: ['tls'], needs: ['access-log', 'worker'], timeoutMs: 240_000 },
    async (s) => {
      const r = limited(s);
      const { kube } = s.env.cluster;
      const image = await s.image(r.backend);
      const ref = r.ref(image.repository, image.tag);
      r.limit(image.repository);
      s.defer(() => r.lift(image.repository));
      const since = new Date();
      const created = await s.createPod({ name: 'limited', image: ref, pullPolicy: 'IfNotPresent', nodeName: s.worker(0) });
      const pod = (what: string, until: (p: V1Pod) => boolean) => waitForPodWhere(kube, s.namespace, 'limited', what, until);
      const failed = await waitForVerdict(kube, s.namespace, 'limited');
      if (failed.kind !== 'pull-failed')
        throw new Error(`pod limited should have failed its pull while limited: ${describePod(failed.pod)}`);
      const event = await s.expectPullFailure(failed, tooManyRequests(s));
      // kubelet says the pull waits in the sync that finds it in back-off: its BackOff event and the
      // container's error, the waiting reason ImagePullBackOff. The pod's status shows that reason a
      // sync later, the sync that pulls again: lifting only then would cost a second back-off.
      await s.waitForEvent('limited', EventReason.BackOff, /Back-off pulling image/);
      await s.waitForEvent('limited', EventReason.Failed, new RegExp(`^Error: ${WaitingReason.ImagePullBackOff}$`));
      const refused = pullAttempts(await r.accessLog(), image.repository, since);
      claim(
        refused.length > 0 && refused.every((a) => a.statuses.every((st) => st === 429)),
        () =>
          `the front should have answered the node's pulls of ${ref} with 429 only while limited, but answered ${refused.map((a) => a.statuses.join('/')).join('; ') || 'none'}`,
      );
      const lifted = new Date();
      r.lift(image.repository);
      const ran = await pod('to run once the limit lifted', (p) => Boolean(p.status?.containerStatuses?.[0]?.state?.terminated));
      const verdict = verdictOf(ran);
      if (!verdict) throw new Error(`pod limited should have run: ${describePod(ran)}`);
      s.trackPod(created, verdict);
      await s.expectRan(verdict, image);
      claim(
        ran.metadata?.uid === created.metadata?.uid,
        () => `pod limited should have run as created (uid ${created.metadata?.uid}), but it is ${ran.metadata?.uid}`,
      );
      const log = await r.accessLog();
      const after = log.filter((e) => e.uri.startsWith(`/v2/${image.repository}/`) && e.time >= lifted);
      claim(
        after.some((e) => e.method === 'GET' && e.uri.includes('/blobs/') && e.status === 200),
        () =>
          `after the limit lifted the node should have downloaded ${ref}'s blobs through the front, which answered ${answers(log, image.repository, lifted).join(', ') || 'nothing'}`,
      );
      // kubelet's words, the image, registry and digests replaced by their roles.
      const said = (event.message ?? '')
        .replaceAll(ref, 'IMAGE')
        .replaceAll(r.host, 'REGISTRY')
        .replaceAll(image.repository, 'REPOSITORY')
        .replaceAll(`manifests/${image.tag}`, 'manifests/TAG')
        .replace(/sha256:[0-9a-f]{64}/g, 'DIGEST');
      s.observe('kubelet', [`Failed: ${said}`, 'ImagePullBackOff', 'ran after the limit lifted']);
      s.observe('registry', [
        ...refused.map((a, i) => `attempt ${i + 1} ${[...new Set(a.statuses)].join('/')} ×${a.statuses.length}`),
        ...pullAttempts(log, image.repository, lifted).map((a) => `after the lift ${a.statuses.at(-1)}`),
      ]);
    },
  );

  suite.scenario(
    'client-honours-retry-after',
    "pullcheck's own registry client, answered 429 with Retry-After while it pushes, waits as long as it says and asks again: the push completes and the image runs",
    { capabilities: ['tls'], needs: ['access-log'] },
    async (s) => {
      const r = limited(s);
      const repository = s.uniqueRepository('pushed');
      const retryAfterSeconds = 2;
      r.limit(repository, 2, retryAfterSeconds);
      const since = new Date();
      const image = await s.image(r, { repository });
      const log = (await r.accessLog()).filter((e) => e.uri.startsWith(`/v2/${repository}/`) && e.time >= since);
      const limitedAt = log.filter((e) => e.status === 429);
      claim(
        limitedAt.length === 2,
        () => `the front should have answered the push's first 2 requests 429, and answered ${answers(log, repository, since).join(', ')}`,
      );
      // Each request after a 429 came at least Retry-After later (less a little clock slack).
      for (const l of limitedAt) {
        const next = log.find((e) => e.time > l.time);
        claim(
          next !== undefined && next.time.getTime() - l.time.getTime() >= retryAfterSeconds * 1000 - 100,
          () =>
            `after a 429 with Retry-After: ${retryAfterSeconds} the client should have waited ${retryAfterSeconds}s, but asked again ${next ? `${next.time.getTime() - l.time.getTime()}ms` : 'never'} later`,
        );
      }
      await s.expectRan(await s.runPod({ image: image.ref }), image);
      s.observe('registry', answers(log, repository, since).slice(0, 4));
    },
  );
});
