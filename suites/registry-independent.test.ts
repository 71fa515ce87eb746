// Nodes pull from a registry that is not CNCF distribution: go-containerregistry's registry
// (programs/ggcr-registry), an independent implementation of the distribution API, over TLS with
// the suite's CA. What the other suites prove against distribution holds against it too.
import {
  type AccessEntry,
  defineSuite,
  echoIndex,
  expectImageIdByDigest,
  hostPlatform,
  INDEX_PLATFORMS,
  imageIdOf,
  type ManifestFormat,
  MediaType,
  platformString,
  type ScenarioContext,
} from '../helpers/framework/harness.ts';

export const suite = defineSuite({
  name: 'registry-independent',
  registries: [{ name: 'ggcr', auth: 'none', implementation: 'ggcr' }],
});

/** The ggcr registry's own log shows the node's GET of each blob answered 200 after `since`. */
async function expectServedBlobs(s: ScenarioContext, repository: string, digests: readonly string[], since: Date): Promise<void> {
  const registry = s.env.registry('ggcr');
  const log: AccessEntry[] = await s.accessLog(registry);
  for (const digest of digests) {
    const uri = `/v2/${repository}/blobs/${digest}`;
    const served = log.filter((e) => e.method === 'GET' && e.uri === uri && e.time >= since);
    if (!served.some((e) => e.status === 200))
      throw new Error(
        `the node should have downloaded ${digest} from the ggcr registry ${registry.host}, but its access log has ${
          served.map((e) => `GET ${e.status}`).join(', ') || 'no GET'
        } of ${uri} since the pod was created`,
      );
  }
}

suite.scenario(
  'node-pulls-ggcr-by-tag',
  "a node pulls an OCI image by tag from go-containerregistry's registry over TLS and runs it; the blobs came from that registry",
  { capabilities: ['tls'], needs: ['access-log'] },
  async (s) => {
    const registry = s.env.registry('ggcr');
    const image = await s.image(registry);
    const since = new Date(Date.now() - 1000);
    const pod = await s.expectRan(await s.runPod({ image: image.ref }), image);
    expect(imageIdOf(pod)).toBe(`${registry.host}/${image.repository}@${image.digest}`);
    const manifest = await registry.client.getManifest(image.repository, image.digest, [MediaType.ociManifest]);
    const { config, layers } = JSON.parse(manifest.bytes.toString('utf8')) as { config: { digest: string }; layers: { digest: string }[] };
    // Its config and build-id layer are its own; the echo binary layer is in every image of the run, so the node may have it.
    const buildIdLayer = layers.at(-1)?.digest ?? '';
    await expectServedBlobs(s, image.repository, [config.digest, buildIdLayer], since);
  },
);

suite.scenario(
  'node-pulls-ggcr-by-digest',
  "a node pulls an image from go-containerregistry's registry by its manifest digest and runs it",
  { capabilities: ['tls'] },
  async (s) => {
    const registry = s.env.registry('ggcr');
    const image = await s.image(registry, { format: 'docker' });
    const ref = registry.ref(image.repository, image.digest);
    await s.expectRan(await s.runPod({ image: ref }), image);
  },
);

for (const [format, id, what] of [
  ['oci', 'oci-index', 'an OCI image index'],
  ['docker', 'docker-manifest-list', 'a Docker manifest list'],
] as const) {
  suite.scenario(
    `node-pulls-ggcr-${id}`,
    `a node pulls ${what} over amd64, arm64 and arm/v7 from go-containerregistry's registry and runs its own platform`,
    { capabilities: ['tls', id, 'platform-selection'] },
    async (s) => {
      const registry = s.env.registry('ggcr');
      const idx = await echoIndex(INDEX_PLATFORMS, s.env.logger, { format: format as ManifestFormat });
      const pushed = await s.pushIndex(registry, idx);
      const pod = await s.expectRan(await s.runPod({ image: pushed.ref }), {
        ...pushed,
        buildId: idx.buildId,
        platform: platformString(hostPlatform()),
      });
      const named = expectImageIdByDigest(pod, registry.host, pushed, what);
      s.observe('imageID', [named === 'pushed-digest' ? 'index-digest' : named]);
    },
  );
}

suite.scenario(
  'node-pulls-ggcr-tag-move',
  "a tag pushed again to go-containerregistry's registry points at the new image, and an Always pod runs the new one",
  { capabilities: ['tls', 'tag-moves'] },
  async (s) => {
    const registry = s.env.registry('ggcr');
    const first = await s.image(registry);
    await s.expectRan(await s.runPod({ name: 'before', image: first.ref, pullPolicy: 'Always' }), first);
    const second = await s.image(registry, { repository: first.repository, tag: first.tag });
    if (second.digest === first.digest)
      throw new Error(`the second image pushed to ${first.ref} has the first one's digest ${first.digest}`);
    const now = await registry.client.getManifest(first.repository, first.tag, [MediaType.ociManifest]);
    if (now.digest !== second.digest)
      throw new Error(
        `a tag pushed again should name the new manifest: ${first.ref} on the ggcr registry still resolves to ${now.digest}, not ${second.digest}`,
      );
    await s.expectRan(await s.runPod({ name: 'after', image: first.ref, pullPolicy: 'Always' }), second);
  },
);
