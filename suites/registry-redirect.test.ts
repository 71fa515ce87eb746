// Blob downloads redirected to another host, as registries backed by object storage do: distribution's
// `redirect` storage middleware answers a blob GET with a 307 to a blob host (programs/blobhost)
// serving the same storage read-only with a certificate of its own. The registry's log shows the
// 307s, the blob host's log the downloads. containerd follows the redirect with the registry's own
// client, so the blob host is verified with the CA of the registry's certs.d entry, never its own.
import {
  type BlobHostView,
  blobDataPath,
  defineSuite,
  echoImage,
  echoIndex,
  hostPlatform,
  type Image,
  INDEX_PLATFORMS,
  nodeRuntime,
  platformString,
  redirectLocation,
  type ScenarioContext,
  type TestRegistry,
} from '../helpers/framework/harness.ts';

/** A registry whose blob GETs pullcheck redirects to a blob host it runs. */
type Redirecting = TestRegistry & { readonly blobHost: BlobHostView };

export const suite = defineSuite({
  name: 'registry-redirect',
  registries: [
    { name: 'redirect', auth: 'htpasswd', redirectBlobs: true },
    { name: 'separate', auth: 'none', redirectBlobs: true, blobHostCa: 'separate' },
  ],
});

function redirecting(s: ScenarioContext, name: string): Redirecting {
  const r = s.env.registry(name);
  const blobHost = r.blobHost;
  if (!blobHost) return s.skip(`registry ${name} (${r.host}) is not pullcheck's redirecting registry`);
  s.collect(
    `blob-host-log-${name}`,
    async () => `=== ${blobHost.host}: its log (last 60 lines)\n${(await blobHost.logs()).split('\n').slice(-60).join('\n')}`,
  );
  return r as Redirecting;
}

/**
 * The blobs only this image has: its config and its build-id layer. The echo binary layer is the
 * same in every image of the run, so a node that ran one before has it and does not download it.
 */
function ownBlobs(image: Image): string[] {
  const buildIdLayer = image.layers.at(-1);
  if (!buildIdLayer) throw new Error('the test image has no layers');
  return [image.config.digest, buildIdLayer.digest];
}

/**
 * Every blob of `digests`: the registry answered the node's GET with 307, and the blob host served
 * the blob's storage path (200) after `since`; and the registry served no blob of the repository itself.
 */
async function expectRedirected(
  s: ScenarioContext,
  r: Redirecting,
  repository: string,
  digests: readonly string[],
  since: Date,
): Promise<void> {
  const registryLog = await s.accessLog(r);
  const blobLog = await r.blobHost.accessLog();
  const direct = registryLog.filter(
    (e) => e.method === 'GET' && e.uri.startsWith(`/v2/${repository}/blobs/`) && e.time >= since && e.status !== 307,
  );
  if (direct.length > 0)
    throw new Error(
      `a registry with the redirect middleware answers every blob GET with 307, but ${r.host} answered ${direct.map((e) => `GET ${e.uri} ${e.status}`).join(', ')}`,
    );
  for (const digest of digests) {
    const uri = `/v2/${repository}/blobs/${digest}`;
    const asked = registryLog.filter((e) => e.method === 'GET' && e.uri === uri && e.time >= since);
    if (!asked.some((e) => e.status === 307))
      throw new Error(
        `blob GETs to a registry with the redirect middleware are answered 307, but the registry ${r.host} logged ${
          asked.map((e) => `GET ${e.status}`).join(', ') || 'no GET'
        } of ${uri} since the pod was created`,
      );
    const path = blobDataPath(digest);
    const served = blobLog.filter((e) => e.method === 'GET' && e.uri === path && e.time >= since);
    if (!served.some((e) => e.status === 200 || e.status === 206))
      throw new Error(
        `the node should have downloaded ${digest} from the blob host the registry redirected it to, but ${r.blobHost.host} logged ${
          served.map((e) => `GET ${e.status}`).join(', ') || 'no GET'
        } of ${path} since the pod was created`,
      );
  }
}

suite.section('registry-redirect: nodes follow blob redirects', () => {
  suite.scenario(
    'node-pulls-blobs-through-redirect',
    'the registry answers blob GETs with a 307 to the blob host, which serves every blob of the image the node runs; the blob host needs no certs.d entry of its own',
    { capabilities: ['tls', 'credentials-accepted'], needs: ['access-log', 'node-access'] },
    async (s) => {
      const r = redirecting(s, 'redirect');
      const test = await echoImage(hostPlatform(), s.env.logger);
      const pushed = await s.push(r, test.image);
      // The Location as the middleware builds it: the blob host and the blob's storage path.
      const layer = test.image.layers[0]?.digest ?? '';
      const res = await r.client.fetch('GET', `/v2/${pushed.repository}/blobs/${layer}`, { redirect: 'manual' });
      const want = redirectLocation(r.blobHost.baseUrl, layer);
      if (res.status !== 307 || res.headers.location !== want)
        throw new Error(
          `the redirect middleware should answer GET ${layer} with 307 to ${want}, but ${r.host} answered ${res.status} ${res.headers.location ?? '(no Location)'}`,
        );
      const secret = await s.pullSecret(r);
      const since = new Date(Date.now() - 1000);
      const pod = await s.expectRan(await s.runPod({ image: pushed.ref, imagePullSecrets: [secret] }), {
        buildId: test.buildId,
        digest: pushed.digest,
        platform: platformString(test.platform),
      });
      await expectRedirected(s, r, pushed.repository, ownBlobs(test.image), since);
      // Trust came from the registry's entry: the node has none for the blob host.
      const node = pod.spec?.nodeName ?? '';
      const [entry = ''] = nodeRuntime(s.env.posture).trustPaths(r.blobHost.host);
      const probe = await s.env.cluster.nodes.exec(node, ['test', '-e', entry], { allowFailure: true });
      if (probe.exitCode === 0)
        throw new Error(`node ${node} has ${entry}: this scenario shows the blob host is trusted through the registry's entry alone`);
    },
  );

  suite.scenario(
    'node-pulls-redirect-by-digest',
    'a node pulls an image by digest from the redirecting registry; its blobs come from the blob host',
    { capabilities: ['tls', 'credentials-accepted'], needs: ['access-log'] },
    async (s) => {
      const r = redirecting(s, 'redirect');
      const test = await echoImage(hostPlatform(), s.env.logger, { format: 'docker' });
      const pushed = await s.push(r, test.image);
      const secret = await s.pullSecret(r);
      const since = new Date(Date.now() - 1000);
      await s.expectRan(await s.runPod({ image: r.ref(pushed.repository, pushed.digest), imagePullSecrets: [secret] }), {
        buildId: test.buildId,
        digest: pushed.digest,
        platform: platformString(test.platform),
      });
      await expectRedirected(s, r, pushed.repository, ownBlobs(test.image), since);
    },
  );

  suite.scenario(
    'node-pulls-redirect-index',
    "a node pulls an OCI index through the redirecting registry: the blob host serves its platform's blobs, and no other platform's config",
    { capabilities: ['tls', 'oci-index', 'platform-selection'], needs: ['access-log'] },
    async (s) => {
      const r = redirecting(s, 'redirect');
      const idx = await echoIndex(INDEX_PLATFORMS, s.env.logger);
      const pushed = await s.pushIndex(r, idx);
      const platform = platformString(hostPlatform());
      const mine = idx.children.find((c) => platformString(c.platform) === platform);
      if (!mine) throw new Error(`the test index has no ${platform} manifest`);
      const secret = await s.pullSecret(r);
      const since = new Date(Date.now() - 1000);
      await s.expectRan(await s.runPod({ image: pushed.ref, imagePullSecrets: [secret] }), {
        ...pushed,
        buildId: idx.buildId,
        platform,
      });
      await expectRedirected(s, r, pushed.repository, ownBlobs(mine.image), since);
      const served = new Set((await r.blobHost.accessLog()).filter((e) => e.time >= since).map((e) => e.uri));
      for (const other of idx.children.filter((c) => c !== mine)) {
        const path = blobDataPath(other.image.config.digest);
        if (served.has(path))
          throw new Error(
            `a node selects its own platform from an index, but the blob host ${r.blobHost.host} served the ${platformString(other.platform)} config ${path}`,
          );
      }
    },
  );
});

suite.section('registry-redirect: which certs.d entry verifies the blob host', () => {
  suite.scenario(
    'blob-host-verified-with-registry-entry',
    "a blob host whose certificate only its own certs.d entry's CA verifies fails the pull: containerd follows the redirect with the registry's TLS settings",
    { capabilities: ['tls'], needs: ['access-log'] },
    async (s) => {
      const r = redirecting(s, 'separate');
      s.rule(
        `containerd (core/remotes/docker request.do) follows a redirect with the registry host's http.Client, whose roots are the registry's certs.d CA; ${r.blobHost.host}'s own certs.d entry is not read`,
      );
      const test = await echoImage(hostPlatform(), s.env.logger);
      const pushed = await s.push(r, test.image);
      const since = new Date(Date.now() - 1000);
      await s.expectPullFailure(await s.runPod({ image: pushed.ref }), /x509|certificate/);
      const registryLog = await s.accessLog(r);
      const redirected = registryLog.filter(
        (e) => e.uri.startsWith(`/v2/${pushed.repository}/blobs/`) && e.status === 307 && e.time >= since,
      );
      if (redirected.length === 0)
        throw new Error(
          `the pull should have failed at the blob host, after a 307, but the registry ${r.host} logged no 307 for ${pushed.repository}`,
        );
      const downloads = (await r.blobHost.accessLog()).filter((e) => e.time >= since);
      if (downloads.length > 0)
        throw new Error(
          `the node should have refused ${r.blobHost.host}'s certificate, but the blob host served ${downloads.map((e) => `${e.method} ${e.uri} ${e.status}`).join(', ')}`,
        );
      if (!/TLS handshake error/.test(await r.blobHost.logs()))
        throw new Error(
          `the node's refusal of its certificate should show in ${r.blobHost.host}'s log as a TLS handshake error, and does not`,
        );
    },
  );
});
