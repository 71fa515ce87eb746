// The registries and images every other suite relies on: what pullcheck pushes reads back byte for
// byte (through its own client and through skopeo), auth and TLS are enforced, tags move, deletion
// works or is refused as the spec allows, and a kind node pulls each kind of image from each kind
// of registry.
import {
  type Capability,
  claim,
  defineSuite,
  echoImage,
  echoIndex,
  expectImageIdByDigest,
  expectRanPreseeded,
  hostPlatform,
  INDEX_PLATFORMS,
  MediaType,
  type Platform,
  type PushedTestImage,
  platformString,
  type RegistryClient,
  RegistryError,
  run,
  type ScenarioContext,
  sha256,
  toolAccess,
  UNTRUSTED_CERTIFICATE,
} from '../helpers/framework/harness.ts';

export const suite = defineSuite({
  name: 'registry',
  registries: [
    { name: 'public', auth: 'none' },
    { name: 'private', auth: 'htpasswd' },
    { name: 'plain', auth: 'none', tls: false },
    // Its certificate is from the run CA like the others, but the nodes get no certs.d entry for it.
    { name: 'untrusted', auth: 'none', trustedByNodes: false },
  ],
  variants: [
    {
      name: 'token-auth',
      registries: { private: { auth: 'token' } },
      scenarios: [
        'chunked-upload',
        'private-requires-auth',
        'node-pulls-docker-manifest-from-private',
        'node-pulls-oci-index-from-private',
      ],
    },
    {
      name: 'ggcr',
      registries: { public: { implementation: 'ggcr' } },
      scenarios: [
        'tls-verifies-with-run-ca',
        'tag-moves',
        'deletion',
        'node-pulls-oci-manifest-from-public',
        'node-pulls-docker-manifest-list-from-public',
      ],
    },
  ],
});

const ALL_MANIFEST_TYPES = [MediaType.ociManifest, MediaType.ociIndex, MediaType.dockerManifest, MediaType.dockerManifestList];

/** Blobs pushed in 64 KiB PATCH chunks read back, and a node runs the image (with a Secret where the registry is private). */
async function chunkedUpload(s: ScenarioContext, name: 'public' | 'private'): Promise<void> {
  const registry = s.env.registry(name);
  const chunkSize = 64 * 1024;
  const test = await echoImage(hostPlatform(), s.env.logger);
  const biggest = Math.max(...test.image.layers.map((l) => l.size));
  claim(
    biggest > chunkSize,
    `test setup: the echo image's biggest layer must be over 64 KiB for 64 KiB chunks to make a chunked (PATCH) upload, but it is ${biggest} bytes`,
  );
  // Through s.push: under the vendor's repository prefix, and recorded as this registry's scenario (certification).
  const { repository, tag, digest } = await s.push(registry, test.image, { chunkSize });
  const reader = s.observedClient('read-back', registry.client.options);
  for (const layer of test.image.layers)
    claim(
      await reader.blobExists(repository, layer.digest),
      `the registry ${registry.host} must have blob ${layer.digest} (${layer.size} bytes) of ${repository} after its upload in PATCH chunks (OCI distribution: chunked upload, closed by a PUT with the digest), but HEAD /v2/${repository}/blobs/${layer.digest} did not answer 200`,
    );
  const stored = (await reader.getManifest(repository, tag, ALL_MANIFEST_TYPES)).digest;
  claim(
    stored === digest,
    `the registry ${registry.host} must serve ${repository}:${tag}, pushed in chunks, as the pushed manifest ${digest}, but it served ${stored}`,
  );
  const secrets = name === 'private' ? [await s.pullSecret(registry)] : undefined;
  await s.expectRan(await s.runPod({ image: registry.ref(repository, tag), ...(secrets ? { imagePullSecrets: secrets } : {}) }), {
    buildId: test.buildId,
    digest,
    platform: platformString(hostPlatform()),
  });
}

/**
 * A tag pushed again points at the new manifest (and, with `nodePulls`, a node pulling the tag with
 * Always runs the new one). Deletion is proven apart (`deletion`): a registry may disable it.
 */
async function tagMoves(s: ScenarioContext, name: 'public' | 'private', o: { nodePulls: boolean }): Promise<void> {
  const registry = s.env.registry(name);
  const first = await s.image(registry);
  const second = await s.image(registry, { repository: first.repository, tag: first.tag });
  // Reads and the delete through a client of their own, whose answers the scenario records.
  const client = s.observedClient('reads-and-delete', registry.client.options);
  claim(
    second.digest !== first.digest,
    `test setup: the image pushed again to ${first.repository}:${first.tag} must differ from the first (a new build id), but both are ${first.digest}`,
  );
  const tagged = (await client.getManifest(first.repository, first.tag, ALL_MANIFEST_TYPES)).digest;
  claim(
    tagged === second.digest,
    `a tag pushed again must point at the new manifest (OCI distribution: a PUT to /v2/<name>/manifests/<tag> moves the tag), but ${registry.host} serves ${first.repository}:${first.tag} as ${tagged}${tagged === first.digest ? ' (still the first push)' : ''}, not ${second.digest}`,
  );
  if (o.nodePulls) {
    const secrets = name === 'private' ? [await s.pullSecret(registry)] : undefined;
    await s.expectRan(
      await s.runPod({ image: first.ref, pullPolicy: 'Always', ...(secrets ? { imagePullSecrets: secrets } : {}) }),
      second,
    );
  }
}

/** What a DELETE was answered: `202`, `405 UNSUPPORTED`. */
function answered(r: { status: number; code?: string }): string {
  return `${r.status}${r.code ? ` ${r.code}` : ''}`;
}

/** The OCI distribution spec's answer of a registry that disabled deletion (Content Management). */
function refused(r: { status: number }): boolean {
  return r.status === 400 || r.status === 405;
}

/**
 * Deletion, which the spec leaves optional ("Registries MAY implement deletion or they MAY disable
 * it"): a deleted tag is gone while its manifest stays readable by digest, then the manifest deleted
 * by digest is gone. A registry that deletes by manifest only passes too; one that answers 400 or
 * 405 to both makes deletion "not supported" (a declared skip), never a failure.
 */
async function deletion(s: ScenarioContext, name: 'public' | 'private'): Promise<void> {
  const registry = s.env.registry(name);
  const { repository, tag, digest } = await s.image(registry);
  // Deletes and reads through a client of their own, whose answers the scenario records.
  const client = s.observedClient('delete', registry.client.options);
  const status = async (reference: string) =>
    (await client.fetch('GET', `/v2/${repository}/manifests/${reference}`, { headers: { accept: ALL_MANIFEST_TYPES.join(', ') } })).status;
  const byTag = await client.tryDelete(repository, tag);
  if (byTag.status === 202) {
    const tagNow = await status(tag);
    claim(
      tagNow === 404,
      `a deleted tag must be gone (OCI distribution: once deleted, a GET to /v2/<name>/manifests/<tag> will return a 404), but after DELETE ${repository}:${tag} on ${registry.host} answered 202, GET answered ${tagNow}`,
    );
    const digestNow = await status(digest);
    claim(
      digestNow === 200,
      `deleting a tag must leave its manifest readable by digest, but after deleting ${repository}:${tag}, ${registry.host} answered GET ${repository}@${digest} with ${digestNow}`,
    );
  } else {
    claim(
      refused(byTag),
      `DELETE /v2/${repository}/manifests/${tag} must answer 202, or 400/405 where the registry disabled tag deletion (OCI distribution: Deleting tags), but ${registry.host} answered ${answered(byTag)}`,
    );
    s.rule(
      `${registry.host} refused deleting the tag ${tag} (${answered(byTag)}): the spec lets a registry allow deletion only by manifest`,
    );
  }
  const byDigest = await client.tryDelete(repository, digest);
  if (refused(byDigest) && byTag.status !== 202)
    s.notSupported(
      'deletion',
      answered(byDigest),
      `${registry.host} does not support deletion: DELETE of the tag answered ${answered(byTag)} and of the manifest ${digest} ${answered(byDigest)}, as the OCI distribution spec lets a registry that disabled deletion answer (400 or 405)`,
    );
  if (refused(byDigest)) {
    s.rule(`${registry.host} deletes tags but refused deleting the manifest ${digest} (${answered(byDigest)})`);
    return;
  }
  claim(
    byDigest.status === 202,
    `DELETE /v2/${repository}/manifests/${digest} must answer 202, or 400/405 where the registry disabled deletion (OCI distribution: Deleting manifests), but ${registry.host} answered ${answered(byDigest)}`,
  );
  const gone = [digest, ...(byTag.status === 202 ? [] : [tag])];
  for (const reference of gone) {
    const now = await status(reference);
    claim(
      now === 404,
      `a deleted manifest must be gone, and every tag pointing at it (OCI distribution: once deleted, a GET to /v2/<name>/manifests/<digest> and any tag pointing to that digest will return a 404), but after DELETE ${repository}@${digest} answered 202, ${registry.host} answered GET ${repository}:${reference} with ${now}`,
    );
  }
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
      const reader = s.observedClient('read-back', registry.client.options);
      for (const [pushed, mediaType] of [
        [oci, MediaType.ociManifest],
        [docker, MediaType.dockerManifest],
        [ociIndex, MediaType.ociIndex],
        [dockerList, MediaType.dockerManifestList],
      ] as const) {
        const got = await reader.getManifest(pushed.repository, pushed.tag, ALL_MANIFEST_TYPES);
        claim(
          got.digest === pushed.digest && got.mediaType === mediaType,
          () =>
            `the registry ${registry.host} must serve ${pushed.repository}:${pushed.tag} as pushed, ${mediaType} ${pushed.digest} (OCI distribution: GET /v2/<name>/manifests/<tag> returns the manifest with its media type), but it served ${got.mediaType || '(no Content-Type)'} ${got.digest}`,
        );
      }
    },
  );

  suite.scenario(
    'chunked-upload',
    'blobs uploaded in PATCH chunks read back with their digests, and a node runs the image',
    { capabilities: ['chunked-upload'] },
    (s) => chunkedUpload(s, 'private'),
  );

  suite.scenario(
    'skopeo-reads-what-pullcheck-pushed',
    'skopeo (an independent client) reads the index byte for byte and resolves each platform to its own manifest',
    { tools: ['skopeo'] },
    async (s) => {
      const registry = s.env.registry('private');
      const idx = await echoIndex(INDEX_PLATFORMS, s.env.logger);
      const pushed = await s.pushIndex(registry, idx);
      // The registry's own CA (a vendor's --registry-ca, else the run CA) and credentials, in files
      // removed when the scenario ends: what pullcheck's client is given, skopeo is given.
      const { ca } = registry.client.options;
      const access = toolAccess({ host: registry.client.options.host, ca, username: registry.username, password: registry.password });
      s.defer(() => access.remove());
      const base = ['skopeo', '--command-timeout', '60s', 'inspect', ...access.skopeoArgs];
      const url = `docker://${registry.client.options.host}/${pushed.repository}:${pushed.tag}`;
      const raw = await run([...base, '--raw', url], { logger: s.env.logger });
      const rawDigest = sha256(raw.stdout);
      s.observe('skopeo', [`index ${rawDigest === pushed.digest ? 'as-pushed' : 'other'}`]);
      claim(
        rawDigest === pushed.digest,
        `skopeo inspect --raw must read the index ${pushed.repository}:${pushed.tag} from ${registry.host} byte for byte (digest ${pushed.digest}), but what it read hashes to ${rawDigest}`,
      );
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
        const configDigest = sha256(config.stdout);
        s.observe('skopeo', [`${platformString(o)} config ${configDigest === child.image.config.digest ? 'as-pushed' : 'other'}`]);
        claim(
          configDigest === child.image.config.digest,
          `skopeo inspect --config with --override-os/--override-arch ${platformString(o)} must resolve the index ${pushed.repository}:${pushed.tag} on ${registry.host} to that platform's manifest and return its config ${child.image.config.digest}, but the config it returned hashes to ${configDigest}`,
        );
        const byDigest = await run(
          [...base, '--raw', `docker://${registry.client.options.host}/${pushed.repository}@${child.image.manifest.digest}`],
          { logger: s.env.logger },
        );
        const byDigestDigest = sha256(byDigest.stdout);
        s.observe('skopeo', [`${platformString(o)} manifest ${byDigestDigest === child.image.manifest.digest ? 'as-pushed' : 'other'}`]);
        claim(
          byDigestDigest === child.image.manifest.digest,
          `skopeo inspect --raw must read the ${platformString(o)} manifest ${pushed.repository}@${child.image.manifest.digest} from ${registry.host} byte for byte, but what it read hashes to ${byDigestDigest}`,
        );
      }
    },
  );
});

suite.section('registry: auth and TLS are enforced', () => {
  suite.scenario(
    'private-requires-auth',
    'the private registry refuses a read without credentials and a wrong password with 401, and answers 200 with the right ones',
    { capabilities: ['auth-enforced'] },
    async (s) => {
      const registry = s.env.registry('private');
      const { host, ca } = registry.client.options;
      // Pull-only: the vendor's private manifest, read anonymously (pullcheck writes nothing there).
      const pushed = s.preseeded(registry, 'oci-manifest') ?? (await s.image(registry));
      const anonymous = s.observedClient('anonymous', { host, ...(ca ? { ca } : {}) });
      // A private repository's manifest, not GET /v2/: a token registry (Harbor, GHCR) gives anyone
      // an anonymous token, with which /v2/ answers 200; what it refuses is that token's pull.
      const anonymousRead = await anonymous.getManifest(pushed.repository, pushed.tag, ALL_MANIFEST_TYPES).then(
        () => ({ refused: false, seen: `GET /v2/${pushed.repository}/manifests/${pushed.tag} answered 200` }),
        (e: unknown) => {
          const status = (e as { status?: unknown } | null | undefined)?.status;
          return {
            refused: status === 401 || status === 403,
            seen: `GET /v2/${pushed.repository}/manifests/${pushed.tag} failed otherwise: ${e instanceof Error ? e.message : String(e)}`,
          };
        },
      );
      claim(
        anonymousRead.refused,
        `the private registry ${registry.host} must refuse a read without credentials with 401 or 403 (distribution's auth), but ${anonymousRead.seen}`,
      );
      const { username, password } = registry.credential('wrong-password');
      const wrong = s.observedClient('wrong-password', { host, ...(ca ? { ca } : {}), username, password });
      // Basic auth answers the retried request 401; a token registry refuses at its token endpoint.
      const wrongStatus = await wrong.ping().then(
        (res) => res.status,
        (e: unknown) => (e as { status?: number } | null | undefined)?.status ?? (e instanceof Error ? e.message : String(e)),
      );
      claim(
        wrongStatus === 401,
        `the htpasswd registry ${registry.host} must refuse a wrong password with 401 (distribution's auth), but GET /v2/ answered ${wrongStatus}`,
      );
      const rightStatus = (await s.observedClient('right-password', registry.client.options).ping()).status;
      claim(
        rightStatus === 200,
        `the htpasswd registry ${registry.host} must accept the right credentials with 200, but GET /v2/ answered ${rightStatus}`,
      );
      const publicStatus = (await s.observedClient('public', s.env.registry('public').client.options).ping()).status;
      claim(
        publicStatus === 200,
        `the anonymous registry ${s.env.registry('public').host} must answer 200 without credentials, but GET /v2/ answered ${publicStatus}`,
      );
    },
  );

  suite.scenario(
    'anonymous-manifest-and-blob-refused',
    "a client without credentials (with the anonymous token a token registry offers) is refused a private image's manifest, by tag and by digest, and its blob with 401 or 403",
    { capabilities: ['auth-enforced'] },
    async (s) => {
      const registry = s.env.registry('private');
      const { host, ca, insecure } = registry.client.options;
      const pushed = s.preseeded(registry, 'oci-manifest') ?? (await s.image(registry));
      const stored = await registry.client.getManifest(pushed.repository, pushed.digest, ALL_MANIFEST_TYPES);
      const layer = (JSON.parse(stored.bytes.toString('utf8')) as { layers?: { digest?: string }[] }).layers?.[0]?.digest;
      claim(layer !== undefined, `test setup: the manifest of ${pushed.ref} read with credentials must name a layer, but it names none`);
      // Every route of a private repository, not GET /v2/ alone: a gate on /v2/ proves nothing about
      // the others. The client answers a Bearer challenge with an anonymous token, a Basic one not at all.
      const anonymous = s.observedClient('anonymous', { host, ...(ca ? { ca } : {}), ...(insecure ? { insecure } : {}) });
      const accept = { accept: ALL_MANIFEST_TYPES.join(', ') };
      const requests: [method: string, path: string, headers: Record<string, string>][] = [
        ['GET', `/v2/${pushed.repository}/manifests/${pushed.tag}`, accept],
        ['HEAD', `/v2/${pushed.repository}/manifests/${pushed.tag}`, accept],
        ['GET', `/v2/${pushed.repository}/manifests/${pushed.digest}`, accept],
        ['GET', `/v2/${pushed.repository}/blobs/${layer}`, {}],
        ['HEAD', `/v2/${pushed.repository}/blobs/${layer}`, {}],
      ];
      const served: string[] = [];
      for (const [method, path, headers] of requests) {
        // A redirect counts as served: it hands out where the bytes are.
        const status = await anonymous.fetch(method, path, { headers, redirect: 'manual' }).then(
          (res) => res.status,
          (e: unknown) => {
            if (e instanceof RegistryError && e.status !== undefined) return e.status;
            throw e;
          },
        );
        if (status !== 401 && status !== 403) served.push(`${method} ${path} answered ${status}`);
      }
      claim(
        served.length === 0,
        () =>
          `the private registry ${registry.host} must refuse every read of a private repository without credentials with 401 or 403 (distribution's auth guards every /v2/<name>/ route, not only GET /v2/), but it served a client without credentials: ${served.join('; ')}`,
      );
    },
  );

  suite.scenario(
    'node-refuses-untrusted-ca',
    'every node refuses a registry whose CA it was not given (no certs.d entry): ErrImagePull, x509: certificate signed by unknown authority',
    async (s) => {
      const registry = s.env.registry('untrusted');
      // The host pushes with the run CA; only the nodes lack it.
      const image = await s.image(registry);
      s.rule(
        `the nodes have no certs.d entry for ${registry.host}: containerd verifies its certificate against the system roots, which do not hold the run CA, and must refuse it`,
      );
      // A node property: every schedulable node is asked, not whichever one the scheduler picks.
      s.rule(`asked of every worker: ${s.workers().join(', ')}`);
      for (const node of s.workers())
        await s.expectPullFailure(await s.runPod({ image: image.ref, pullPolicy: 'Always', nodeName: node }), UNTRUSTED_CERTIFICATE);
    },
  );

  suite.scenario('tls-verifies-with-run-ca', 'TLS verifies with the run CA and fails without it', async (s) => {
    const registry = s.env.registry('public');
    const { host, ca } = registry.client.options;
    // What a ping came to: an HTTP answer (the handshake verified) or the error it failed with.
    // Recorded under `subject`: the answers, or `GET ping tls-refused` for a handshake that failed.
    const answer = (subject: string, client: RegistryClient) =>
      client.ping().then(
        (res) => ({ status: res.status as number | undefined, seen: `GET /v2/ answered ${res.status}` }),
        (e: unknown) => {
          const status = (e as { status?: number } | null | undefined)?.status;
          const message = e instanceof Error ? e.message : String(e);
          if (!status) s.observe(subject, [`GET ping ${/certificate|self[- ]signed|verify/i.test(message) ? 'tls-refused' : 'failed'}`]);
          return { status, seen: status ? `GET /v2/ answered ${status}` : `GET /v2/ failed: ${message}` };
        },
      );
    if (!ca) {
      // A vendor's registry with a publicly trusted certificate: the system's roots must verify it.
      s.rule(`${registry.host} was given no CA (--registry-ca): its certificate must verify against the system's roots`);
      const system = await answer('system-roots', s.observedClient('system-roots', { host }));
      claim(
        system.status !== undefined,
        `the registry ${registry.host} must present a certificate the system's roots verify, but ${system.seen}`,
      );
      return;
    }
    const withoutCa = await answer('without-ca', s.observedClient('without-ca', { host }));
    claim(
      withoutCa.status === undefined && /self[- ]signed|unable to verify|certificate/i.test(withoutCa.seen),
      `a client without the CA that issued its certificate must fail to verify the registry ${registry.host} at ${host}, but ${withoutCa.seen}`,
    );
    const withCa = await answer('with-ca', s.observedClient('with-ca', { host, ca }));
    // pullcheck's anonymous registry answers 200; a vendor's may answer 401 to an anonymous ping.
    claim(
      registry.local ? withCa.status === 200 : withCa.status !== undefined,
      `a client with the CA must verify the registry ${registry.host} at ${host}${registry.local ? ' and be answered 200' : ''}, but ${withCa.seen}`,
    );
  });
});

suite.section('registry: plain HTTP, only where asked', () => {
  suite.scenario(
    'plain-http-when-asked',
    'a registry started without TLS is reached over http, and a node pulls from it through an http hosts.toml',
    async (s) => {
      const registry = s.env.registry('plain');
      claim(
        /^http:\/\//.test(registry.client.baseUrl),
        `test setup: the plain registry ${registry.host}, started without TLS, must be reached over http://, but pullcheck's client uses ${registry.client.baseUrl}`,
      );
      const image = await s.image(registry);
      await s.expectRan(await s.runPod({ image: image.ref }), image);
    },
  );
});

suite.section('registry: tags move and go', () => {
  suite.scenario('tag-moves', 'a tag pushed again points at the new digest', { capabilities: ['tag-moves'] }, (s) =>
    tagMoves(s, 'public', { nodePulls: false }),
  );

  suite.scenario(
    'deletion',
    'a deleted tag is gone while its manifest stays, and a deleted manifest is gone (optional: a registry answering 400/405 does not support deletion)',
    { capabilities: ['deletion'] },
    (s) => deletion(s, 'public'),
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
          // Pull-only (--registry-preseeded): the vendor's reference of this kind, by the digest it names.
          const seeded = s.preseeded(registry, kind);
          if (seeded) {
            const secrets = registry.username && registry.password ? [await s.pullSecret(registry)] : [];
            expectRanPreseeded(await s.runPod({ image: seeded.ref, imagePullSecrets: secrets }), seeded);
            return;
          }
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
          const named = expectImageIdByDigest(pod, registry.host, image, kind);
          if (image.platformDigests?.length) s.observe('imageID', [named === 'pushed-digest' ? 'index-digest' : named]);
        },
      );
    }
  }
});

// What a registry with credentials and no anonymous namespace is certified by (the scenarios above
// prove platform selection, tag moves and chunked uploads only through the anonymous or only the
// private registry), and chunked uploads to an anonymous one.
suite.section('registry: each capability on either kind of registry', () => {
  suite.scenario(
    'private-index-selects-node-platform',
    "from an OCI index over amd64, arm64 and arm/v7 in the private registry, a pod with a pull Secret runs the node's own platform",
    { capabilities: ['platform-selection', 'oci-index'], needs: ['worker'] },
    async (s) => {
      const registry = s.env.registry('private');
      const seeded = s.preseeded(registry, 'oci-index');
      if (seeded) {
        // The vendor's index: the node resolves it to its own platform's manifest, whose digest
        // pullcheck does not know; imageID names the index's (what containerd records of a pull by tag).
        const secret = await s.pullSecret(registry);
        expectRanPreseeded(await s.runPod({ image: seeded.ref, nodeName: s.worker(0), imagePullSecrets: [secret] }), seeded);
        return;
      }
      const idx = await echoIndex(INDEX_PLATFORMS, s.env.logger);
      const pushed = await s.pushIndex(registry, idx);
      const node = s.worker(0);
      const info = (await s.env.cluster.kube.core.readNode({ name: node })).status?.nodeInfo;
      const platform = { os: info?.operatingSystem ?? 'linux', architecture: info?.architecture ?? '' };
      const secret = await s.pullSecret(registry);
      await s.expectRan(await s.runPod({ image: pushed.ref, nodeName: node, imagePullSecrets: [secret] }), {
        ...pushed,
        buildId: idx.buildId,
        platform: platformString(platform),
      });
    },
  );

  suite.scenario(
    'private-tag-moves',
    'in the private registry, a tag pushed again points at the new digest and a node pulls the new one',
    { capabilities: ['tag-moves'] },
    (s) => tagMoves(s, 'private', { nodePulls: true }),
  );

  suite.scenario(
    'private-deletion',
    'in the private registry, a deleted tag is gone while its manifest stays, and a deleted manifest is gone (optional)',
    { capabilities: ['deletion'] },
    (s) => deletion(s, 'private'),
  );

  suite.scenario(
    'public-chunked-upload',
    'blobs uploaded in PATCH chunks to the anonymous registry read back, and a pod with no Secret runs the image',
    { capabilities: ['chunked-upload'] },
    (s) => chunkedUpload(s, 'public'),
  );
});
