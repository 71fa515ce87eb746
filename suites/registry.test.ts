// The registries and images every other suite relies on: what pullcheck pushes reads back byte for
// byte (through its own client and through skopeo), auth and TLS are enforced, tags move and go,
// and a kind node pulls each kind of image from each kind of registry.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../helpers/infra/exec.ts';
import { defineSuite, imageIdOf, type Capability, type PushedTestImage } from '../helpers/framework/harness.ts';
import { MediaType, sha256, type Platform } from '../helpers/images/oci.ts';
import { echoImage, echoIndex, INDEX_PLATFORMS, platformString } from '../helpers/images/testimages.ts';
import { hostPlatform } from '../helpers/images/oci.ts';
import { RegistryClient, RegistryError } from '../helpers/registry/client.ts';

export const suite = defineSuite({
  name: 'registry',
  registries: [
    { name: 'public', auth: 'none' },
    { name: 'private', auth: 'htpasswd' },
    { name: 'plain', auth: 'none', tls: false },
  ],
});

const ALL_MANIFEST_TYPES = [MediaType.ociManifest, MediaType.ociIndex, MediaType.dockerManifest, MediaType.dockerManifestList];

function caDir(pem: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'pullcheck-skopeo-'));
  writeFileSync(join(dir, 'ca.crt'), pem);
  return dir;
}

suite.section('registry: what is pushed reads back', () => {
  suite.scenario(
    'push-read-back',
    'single-platform OCI and Docker manifests, an OCI index and a Docker manifest list read back with the same digests and media types',
    async (s) => {
      const registry = s.env.registry('private');
      const oci = await s.image(registry);
      const docker = await s.image(registry, { format: 'docker' });
      const ociIndex = await s.pushIndex(registry, await echoIndex(INDEX_PLATFORMS, s.env.logger));
      const dockerList = await s.pushIndex(registry, await echoIndex(INDEX_PLATFORMS, s.env.logger, { format: 'docker' }));
      for (const [pushed, mediaType] of [
        [oci, MediaType.ociManifest],
        [docker, MediaType.dockerManifest],
        [ociIndex, MediaType.ociIndex],
        [dockerList, MediaType.dockerManifestList],
      ] as const) {
        const got = await registry.client.getManifest(pushed.repository, pushed.tag, ALL_MANIFEST_TYPES);
        expect({ digest: got.digest, mediaType: got.mediaType }).toEqual({ digest: pushed.digest, mediaType });
      }
    },
  );

  suite.scenario(
    'chunked-upload',
    'blobs uploaded in PATCH chunks read back with their digests, and a node runs the image',
    { capabilities: ['chunked-upload'] },
    async (s) => {
      const registry = s.env.registry('private');
      const chunked = new RegistryClient({ ...registry.client.options, chunkSize: 64 * 1024 });
      const test = await echoImage(hostPlatform(), s.env.logger);
      const biggest = Math.max(...test.image.layers.map((l) => l.size));
      expect(biggest).toBeGreaterThan(64 * 1024);
      const repository = s.uniqueRepository();
      const tag = s.uniqueTag();
      const digest = await chunked.pushImage(repository, tag, test.image);
      for (const layer of test.image.layers) expect(await registry.client.blobExists(repository, layer.digest)).toBe(true);
      expect((await registry.client.getManifest(repository, tag, ALL_MANIFEST_TYPES)).digest).toBe(digest);
      const secret = await s.pullSecret(registry);
      await s.expectRan(await s.runPod({ image: registry.ref(repository, tag), imagePullSecrets: [secret] }), {
        buildId: test.buildId,
        digest,
        platform: platformString(hostPlatform()),
      });
    },
  );

  suite.scenario(
    'skopeo-reads-what-pullcheck-pushed',
    'skopeo (an independent client) reads the index byte for byte and resolves each platform to its own manifest',
    async (s) => {
      const registry = s.env.registry('private');
      const idx = await echoIndex(INDEX_PLATFORMS, s.env.logger);
      const pushed = await s.pushIndex(registry, idx);
      const certDir = caDir(s.env.ca.certPem);
      const { username, password } = registry.credential();
      const base = ['skopeo', '--command-timeout', '60s', 'inspect', '--cert-dir', certDir, '--creds', `${username}:${password}`];
      const url = `docker://${registry.client.options.host}/${pushed.repository}:${pushed.tag}`;
      const raw = await run([...base, '--raw', url], { logger: s.env.logger });
      expect(sha256(raw.stdout)).toBe(pushed.digest);
      for (const child of idx.children) {
        const o: Platform = child.platform;
        const platformArgs = [
          '--override-os',
          o.os,
          '--override-arch',
          o.architecture,
          ...(o.variant ? ['--override-variant', o.variant] : []),
        ];
        // skopeo resolves the index to this platform: the config it returns is this child's, byte for byte.
        const config = await run([...base, ...platformArgs, '--config', '--raw', url], { logger: s.env.logger });
        expect({ platform: platformString(o), config: sha256(config.stdout) }).toEqual({
          platform: platformString(o),
          config: child.image.config.digest,
        });
        const byDigest = await run(
          [...base, '--raw', `docker://${registry.client.options.host}/${pushed.repository}@${child.image.manifest.digest}`],
          { logger: s.env.logger },
        );
        expect(sha256(byDigest.stdout)).toBe(child.image.manifest.digest);
      }
    },
  );
});

suite.section('registry: auth and TLS are enforced', () => {
  suite.scenario(
    'private-requires-auth',
    'the htpasswd registry answers 401 without credentials or with a wrong password, 200 with the right ones',
    { capabilities: ['auth-enforced'] },
    async (s) => {
      const registry = s.env.registry('private');
      const anonymous = new RegistryClient({ host: registry.client.options.host, ca: s.env.ca.certPem });
      await expect(anonymous.ping()).rejects.toMatchObject({ status: 401 });
      const { username, password } = registry.credential('wrong-password');
      const wrong = new RegistryClient({ host: registry.client.options.host, ca: s.env.ca.certPem, username, password });
      expect((await wrong.ping()).status).toBe(401);
      expect((await registry.client.ping()).status).toBe(200);
      expect((await s.env.registry('public').client.ping()).status).toBe(200);
    },
  );

  suite.scenario('tls-verifies-with-run-ca', 'TLS verifies with the run CA and fails without it', async (s) => {
    const host = s.env.registry('public').client.options.host;
    await expect(new RegistryClient({ host }).ping()).rejects.toThrow(/self[- ]signed|unable to verify|certificate/i);
    expect((await new RegistryClient({ host, ca: s.env.ca.certPem }).ping()).status).toBe(200);
  });
});

suite.section('registry: plain HTTP, only where asked', () => {
  suite.scenario(
    'plain-http-when-asked',
    'a registry started without TLS is reached over http, and a node pulls from it through an http hosts.toml',
    async (s) => {
      const registry = s.env.registry('plain');
      expect(registry.client.baseUrl).toMatch(/^http:\/\//);
      const image = await s.image(registry);
      await s.expectRan(await s.runPod({ image: image.ref }), image);
    },
  );
});

suite.section('registry: tags move and go', () => {
  suite.scenario(
    'tag-moves-and-deletes',
    'a tag pushed again points at the new digest; a deleted tag is gone while its manifest stays',
    { capabilities: ['tag-moves'] },
    async (s) => {
      const registry = s.env.registry('public');
      const first = await s.image(registry);
      const second = await s.image(registry, { repository: first.repository, tag: first.tag });
      expect(second.digest).not.toBe(first.digest);
      expect((await registry.client.getManifest(first.repository, first.tag, ALL_MANIFEST_TYPES)).digest).toBe(second.digest);
      await registry.client.deleteManifest(first.repository, first.tag);
      await expect(registry.client.getManifest(first.repository, first.tag, ALL_MANIFEST_TYPES)).rejects.toBeInstanceOf(RegistryError);
      expect((await registry.client.getManifest(first.repository, second.digest, ALL_MANIFEST_TYPES)).digest).toBe(second.digest);
    },
  );
});

type Kind = 'oci-manifest' | 'docker-manifest' | 'oci-index' | 'docker-manifest-list';
const KINDS: readonly Kind[] = ['oci-manifest', 'docker-manifest', 'oci-index', 'docker-manifest-list'];

suite.section('registry: a node pulls every kind of image over TLS', () => {
  for (const registryName of ['public', 'private'] as const) {
    for (const kind of KINDS) {
      const capabilities: Capability[] = ['tls', ...(kind === 'oci-index' || kind === 'docker-manifest-list' ? [kind] : [])];
      suite.scenario(
        `node-pulls-${kind}-from-${registryName}`,
        `a kind node pulls a ${kind} from the ${registryName === 'public' ? 'anonymous' : 'htpasswd (with an imagePullSecret)'} registry and runs the node's platform`,
        { capabilities },
        async (s) => {
          const registry = s.env.registry(registryName);
          const format = kind.startsWith('oci') ? 'oci' : 'docker';
          let image: PushedTestImage;
          if (kind.endsWith('manifest')) {
            image = await s.image(registry, { format });
          } else {
            const idx = await echoIndex(INDEX_PLATFORMS, s.env.logger, { format });
            image = { ...(await s.pushIndex(registry, idx)), buildId: idx.buildId, platform: platformString(hostPlatform()) };
          }
          const secrets = registry.username && registry.password ? [await s.pullSecret(registry)] : [];
          const pod = await s.expectRan(await s.runPod({ image: image.ref, imagePullSecrets: secrets }), image);
          expect(imageIdOf(pod)).toBe(`${registry.host}/${image.repository}@${image.digest}`);
        },
      );
    }
  }
});
