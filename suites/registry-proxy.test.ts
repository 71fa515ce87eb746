// Pull-through caches, as vendors run them (Harbor proxy projects, Artifactory remote repositories,
// zot sync): here CNCF distribution in its `proxy:` mode in front of another registry of the suite,
// its upstream (helpers/registry/pullthrough.ts). pullcheck pushes to the upstream; nodes pull from
// the cache, which the nodes trust, never the upstream. Both access logs show who fetched what.
import {
  type AccessEntry,
  defineSuite,
  MediaType,
  PullThroughRegistry,
  RegistryClient,
  RegistryError,
  type ScenarioContext,
  type StartedRegistry,
  type TestRegistry,
  VendorRegistry,
} from '../helpers/framework/harness.ts';

export const suite = defineSuite({
  name: 'registry-proxy',
  registries: [
    // An anonymous cache of an anonymous upstream.
    { name: 'cache', auth: 'none', pullThrough: { upstreamAuth: 'none' } },
    // A private cache of a private upstream: the cache holds the upstream's credentials, pods its own
    // (a pull Secret). A vendor's cache certified with --registry-upstream stands in for it.
    { name: 'private-cache', auth: 'htpasswd', pullThrough: { upstreamAuth: 'htpasswd' } },
  ],
});

const TAG_POLICY =
  "distribution v3.1.2's proxy (registry/proxy/proxytagservice.go Get) resolves a tag at the upstream on every request, a HEAD of the manifest by tag, and uses its own copy only when the upstream cannot be reached; its ttl (default 168h) is when cached blobs and manifests are removed, not how long a tag is trusted";

/**
 * A cache the scenario pushes to through its upstream: pullcheck's (PullThroughRegistry: pushes go to
 * its upstream registry) or a vendor's certified with --registry-upstream (its client speaks to the
 * upstream already). References name the cache either way.
 */
function anyCache(s: ScenarioContext, name: string): { cache: TestRegistry; pushTo: TestRegistry; own: PullThroughRegistry | undefined } {
  const r = s.env.registry(name);
  if (r instanceof PullThroughRegistry) return { cache: r, pushTo: r.upstream, own: cacheOf(s, name) };
  if (r instanceof VendorRegistry && r.upstream) {
    s.rule(
      `the vendor's registry ${r.host} is certified as a pull-through cache of ${r.upstream.host}: images are pushed there, pods pull them through ${r.host}`,
    );
    return { cache: r, pushTo: r, own: undefined };
  }
  return s.skip(`registry ${name} (${r.host}) is not a pull-through cache (pullcheck's, or a vendor's with --registry-upstream)`);
}

function cacheOf(s: ScenarioContext, name: string): PullThroughRegistry {
  const r = s.env.registry(name);
  if (!(r instanceof PullThroughRegistry)) return s.skip(`registry ${name} (${r.host}) is not pullcheck's pull-through cache`);
  s.collect(
    `upstream-log-${name}`,
    async () =>
      `=== ${r.upstream.host}: the upstream's log (last 80 lines)\n${(await r.upstream.logs()).split('\n').slice(-80).join('\n')}`,
  );
  return r;
}

/** The blobs only this image has (its config and build-id layer): the echo binary layer is in every image of the run. */
async function ownBlobs(upstream: StartedRegistry, repository: string, digest: string): Promise<string[]> {
  const manifest = await upstream.client.getManifest(repository, digest, [MediaType.ociManifest]);
  const { config, layers } = JSON.parse(manifest.bytes.toString('utf8')) as { config: { digest: string }; layers: { digest: string }[] };
  return [config.digest, layers.at(-1)?.digest ?? ''];
}

/** The upstream's requests for `repository` since `since`, as `METHOD kind status` words (no digests or hosts). */
function upstreamWords(log: readonly AccessEntry[], repository: string, since: Date, tag: string): string[] {
  const asked = log.filter((e) => e.uri.startsWith(`/v2/${repository}/`) && e.time >= since);
  // What the cache asked: after pullcheck's own push (its last PUT), reads only.
  const pushedAt = asked.map((e) => e.method).lastIndexOf('PUT');
  return asked
    .slice(pushedAt + 1)
    .filter((e) => e.method === 'GET' || e.method === 'HEAD')
    .map((e) => {
      const what = e.uri.includes('/blobs/') ? 'blob' : e.uri.endsWith(`/manifests/${tag}`) ? 'manifest by tag' : 'manifest by digest';
      return `${e.method} ${what} ${e.status}`;
    });
}

/** The upstream served each of `digests` (GET 200) to the cache after `since`. */
function expectFetchedOnce(
  log: readonly AccessEntry[],
  cache: PullThroughRegistry,
  repository: string,
  digests: readonly string[],
  since: Date,
) {
  for (const digest of digests) {
    const uri = `/v2/${repository}/blobs/${digest}`;
    const gets = log.filter((e) => e.method === 'GET' && e.uri === uri && e.time >= since);
    if (gets.filter((e) => e.status === 200).length !== 1)
      throw new Error(
        `a cache that does not have ${digest} fetches it from its upstream once as it serves the first pull, but the upstream ${cache.upstream.host} logged ${
          gets.map((e) => `GET ${e.status}`).join(', ') || 'no GET'
        } of ${uri} since the pod was created`,
      );
  }
}

suite.section('registry-proxy: nodes pull through a pull-through cache', () => {
  suite.scenario(
    'pull-through-first-pull-fills-cache',
    "a node pulls an image pushed to the upstream from the cache: the upstream's log shows the cache fetching each of its blobs once, and the cache then has them",
    { capabilities: ['pull-through'], needs: ['access-log'] },
    async (s) => {
      const r = cacheOf(s, 'cache');
      const image = await s.image(r.upstream);
      const blobs = await ownBlobs(r.upstream, image.repository, image.digest);
      const since = new Date(Date.now() - 1000);
      await s.expectRan(await s.runPod({ image: r.ref(image.repository, image.tag) }), image);
      const log = await r.upstream.accessLog();
      expectFetchedOnce(log, r, image.repository, blobs, since);
      // The cache stored what it served: HEAD at the cache answers 200 for each blob.
      for (const digest of blobs)
        if (!(await r.client.blobExists(image.repository, digest)))
          throw new Error(`the cache ${r.host} served ${digest} to the node but does not have it stored afterwards`);
      s.observe('upstream', upstreamWords(log, image.repository, since, image.tag));
      s.observe('cache', ['blobs served to the node stored in the cache']);
    },
  );

  suite.scenario(
    'pull-through-second-node-from-cache',
    'a second node pulls the image the first one pulled through the cache: the cache serves every blob itself, and asks the upstream for the tag alone (a HEAD)',
    { capabilities: ['pull-through'], needs: ['access-log', 'two-workers'] },
    async (s) => {
      const r = cacheOf(s, 'cache');
      s.rule(TAG_POLICY);
      const image = await s.image(r.upstream);
      const blobs = await ownBlobs(r.upstream, image.repository, image.digest);
      const ref = r.ref(image.repository, image.tag);
      const first = new Date(Date.now() - 1000);
      await s.expectRan(await s.runPod({ name: 'first', image: ref, nodeName: s.worker(0) }), image);
      expectFetchedOnce(await r.upstream.accessLog(), r, image.repository, blobs, first);
      const second = new Date();
      await s.expectRan(await s.runPod({ name: 'second', image: ref, nodeName: s.worker(1) }), image);
      const log = await r.upstream.accessLog();
      const after = log.filter((e) => e.uri.startsWith(`/v2/${image.repository}/`) && e.time >= second);
      const fetched = after.filter((e) => e.method === 'GET');
      if (fetched.length > 0)
        throw new Error(
          `the cache had every blob and manifest of the image after the first node's pull, yet the upstream ${r.upstream.host} served it ${fetched.map((e) => `GET ${e.uri} ${e.status}`).join(', ')} for the second node`,
        );
      // The node's blob GETs were answered by the cache.
      const served = (await r.accessLog()).filter((e) => e.method === 'GET' && e.time >= second && blobs.some((b) => e.uri.endsWith(b)));
      if (served.length !== blobs.length || served.some((e) => e.status !== 200))
        throw new Error(
          `the second node should have downloaded the image's own blobs from the cache, but the cache ${r.host} logged ${served.map((e) => `GET ${e.status}`).join(', ') || 'no GET'} of them`,
        );
      s.observe('upstream after the second pull', upstreamWords(log, image.repository, second, image.tag));
    },
  );

  suite.scenario(
    'pull-through-tag-moved-upstream',
    "a tag moved at the upstream is seen by the next pull through the cache (the cache's tag policy: asked at the upstream on every resolve), and the node runs the new build",
    { capabilities: ['pull-through', 'tag-moves'], needs: ['access-log'] },
    async (s) => {
      const r = cacheOf(s, 'cache');
      s.rule(TAG_POLICY);
      const repository = s.uniqueRepository('moved');
      const tag = s.uniqueTag();
      const before = await s.image(r.upstream, { repository, tag });
      const ref = r.ref(repository, tag);
      const node = s.worker(0);
      await s.expectRan(await s.runPod({ name: 'before', image: ref, nodeName: node }), before);
      const after = await s.image(r.upstream, { repository, tag });
      if (after.digest === before.digest) throw new Error("the second build has the first one's digest: the tag did not move");
      const moved = new Date();
      await s.expectRan(await s.runPod({ name: 'after', image: ref, nodeName: node, pullPolicy: 'Always' }), after);
      const log = await r.upstream.accessLog();
      const asked = log.filter((e) => e.method === 'HEAD' && e.uri === `/v2/${repository}/manifests/${tag}` && e.time >= moved);
      if (!asked.some((e) => e.status === 200))
        throw new Error(
          `the cache should have asked the upstream ${r.upstream.host} for ${tag} (a HEAD) when the node pulled again, but the upstream logged ${asked.map((e) => `HEAD ${e.status}`).join(', ') || 'no HEAD'} of it`,
        );
      s.observe('upstream after the tag moved', upstreamWords(log, repository, moved, tag));
    },
  );

  suite.scenario(
    'pull-through-private-upstream',
    "a private cache configured with a private upstream's credentials: a pod with the cache's pull Secret runs an image pushed only to the upstream; pullcheck's cache's upstream refuses it anonymously, and logs the cache fetching each blob once",
    { capabilities: ['pull-through', 'credentials-accepted'] },
    async (s) => {
      const { cache, pushTo, own } = anyCache(s, 'private-cache');
      const pushed = await s.image(pushTo);
      const image = { ...pushed, ref: cache.ref(pushed.repository, pushed.tag) };
      const secret = await s.pullSecret(cache);
      const since = new Date(Date.now() - 1000);
      await s.expectRan(await s.runPod({ image: image.ref, imagePullSecrets: [secret] }), image);
      if (!own) return;
      // pullcheck's own cache: the upstream is private, and its log shows the cache's fetches.
      const anonymous = new RegistryClient({ host: own.upstream.client.options.host, ca: own.upstream.caPem ?? '' });
      // The client answers a Basic challenge it has no credentials for with a RegistryError 401.
      const refused = await anonymous
        .fetch('HEAD', `/v2/${image.repository}/manifests/${image.tag}`)
        .then((a) => a.status)
        .catch((e: unknown) => (e instanceof RegistryError ? (e.status ?? 0) : 0));
      if (refused !== 401)
        throw new Error(
          `the private upstream ${own.upstream.host} should refuse an anonymous HEAD of the manifest with 401, and answered ${refused}`,
        );
      const blobs = await ownBlobs(own.upstream, image.repository, image.digest);
      const log = await own.upstream.accessLog();
      expectFetchedOnce(log, own, image.repository, blobs, since);
      s.observe('upstream, anonymous', [`HEAD manifest by tag ${refused}`]);
      s.observe('upstream, from the cache', upstreamWords(log, image.repository, since, image.tag));
    },
  );

  suite.scenario(
    'pull-through-private-tag-moved-upstream',
    "a tag moved at a private cache's upstream is seen by the next pull through the cache (Always): the node runs the new build",
    { capabilities: ['pull-through', 'tag-moves'] },
    async (s) => {
      const { cache, pushTo, own } = anyCache(s, 'private-cache');
      if (own) s.rule(TAG_POLICY);
      const repository = s.uniqueRepository('moved');
      const tag = s.uniqueTag();
      const ref = cache.ref(repository, tag);
      const secret = await s.pullSecret(cache);
      const node = s.worker(0);
      const before = await s.image(pushTo, { repository, tag });
      await s.expectRan(await s.runPod({ name: 'before', image: ref, nodeName: node, imagePullSecrets: [secret] }), { ...before, ref });
      const after = await s.image(pushTo, { repository, tag });
      if (after.digest === before.digest) throw new Error("the second build has the first one's digest: the tag did not move");
      await s.expectRan(await s.runPod({ name: 'after', image: ref, nodeName: node, pullPolicy: 'Always', imagePullSecrets: [secret] }), {
        ...after,
        ref,
      });
    },
  );

  suite.scenario(
    'pull-through-cache-refuses-push',
    'the cache refuses a push (a blob upload and a manifest PUT) with 405 UNSUPPORTED: content comes from its upstream only',
    { capabilities: [], needs: ['access-log'] },
    async (s) => {
      const r = cacheOf(s, 'cache');
      const repository = s.uniqueRepository('push');
      const upload = await r.client.fetch('POST', `/v2/${repository}/blobs/uploads/`);
      const put = await r.client.fetch('PUT', `/v2/${repository}/manifests/${s.uniqueTag()}`, {
        headers: { 'content-type': MediaType.ociManifest },
        body: Buffer.from('{"schemaVersion":2}'),
      });
      const words = [upload, put].map((a) => `${a.status} ${/"code":"([A-Z_]+)"/.exec(a.body.toString('utf8'))?.[1] ?? '(no code)'}`);
      s.observe('cache', [`POST blob upload ${words[0]}`, `PUT manifest ${words[1]}`]);
      if (upload.status !== 405 || !words[0]?.endsWith('UNSUPPORTED'))
        throw new Error(`a pull-through cache refuses uploads (405 UNSUPPORTED), but ${r.host} answered POST ${words[0]}`);
      if (put.status !== 405 || !words[1]?.endsWith('UNSUPPORTED'))
        throw new Error(`a pull-through cache refuses manifest PUTs (405 UNSUPPORTED), but ${r.host} answered PUT ${words[1]}`);
    },
  );
});
