// The AlwaysPullImages admission plugin: with it on, every container's policy becomes Always, so a
// tenant cannot run another tenant's private image just because a node has it cached. The same two
// tenants without the plugin show what the node itself does. For this file's second half a second
// API server with the plugin serves the same cluster, and its pods are created through it
// (helpers/cluster/apiserver.ts); the cluster's own API server is never changed.
import type { V1Pod } from '@kubernetes/client-node';
import { type ScenarioContext, scenario, useEnv } from '../helpers/framework/harness.ts';
import { echoImage } from '../helpers/images/testimages.ts';
import { startSecondApiServer, type SecondApiServer } from '../helpers/cluster/apiserver.ts';
import type { Kube } from '../helpers/cluster/kube.ts';
import { kubeletPulledImageExpectation, readKubeletPullSettings } from '../helpers/kubelet/kep2535.ts';
import { hostPlatform } from '../helpers/images/oci.ts';
import { createPod, ranToCompletion, UNAUTHORIZED, waitForVerdict, type PodVerdict } from '../helpers/framework/pods.ts';
import { dockerConfigJsonSecret } from '../helpers/registry/secrets.ts';

const getEnv = useEnv({ suite: 'always-pull-images', registries: [{ name: 'private', auth: 'htpasswd' }] });

/** What an API server makes of an IfNotPresent container, asked with a server-side dry run. */
async function defaultedPolicy(kube: Kube): Promise<string | undefined> {
  const pod = await kube.core.createNamespacedPod({
    namespace: 'default',
    dryRun: 'All',
    body: { metadata: { name: 'pullcheck-admission-probe' }, spec: { containers: [{ name: 'main', image: 'pullcheck.invalid/probe:1', imagePullPolicy: 'IfNotPresent' }] } },
  });
  return pod.spec?.containers[0]?.imagePullPolicy;
}

async function privateImage(s: ScenarioContext) {
  const test = await echoImage(hostPlatform(), s.env.logger);
  return { ...(await s.push(s.env.registry('private'), test.image)), buildId: test.buildId };
}

/**
 * Tenant A pulls its private image onto `node` with its Secret; tenant B then asks for it without
 * one. Both pods are created through `admission` (the cluster's own API server, or the second one).
 */
async function twoTenants(s: ScenarioContext, admission: Kube = s.env.cluster.kube): Promise<{ b: PodVerdict; image: string; node: string }> {
  const { kube } = s.env.cluster;
  const [node = ''] = s.workers();
  const image = await privateImage(s);
  const r = s.env.registry('private');
  await kube.core.createNamespacedSecret({ namespace: s.namespace, body: dockerConfigJsonSecret('tenant-a', s.namespace, [{ server: r.host, username: r.username ?? '', password: r.password ?? '' }]) });
  await createPod(admission, s.namespace, { name: 'tenant-a', image: image.ref, imagePullSecrets: ['tenant-a'], nodeName: node, pullPolicy: 'IfNotPresent' });
  const a = ranToCompletion(await waitForVerdict(kube, s.namespace, 'tenant-a'));
  expect(await s.log(a.pod)).toContain(`build=${image.buildId}`);
  const nsB = await s.extraNamespace('b');
  await admission.core.createNamespacedPod({
    namespace: nsB,
    body: { metadata: { name: 'tenant-b' }, spec: { restartPolicy: 'Never', nodeName: node, containers: [{ name: 'main', image: image.ref, imagePullPolicy: 'IfNotPresent' }] } },
  });
  return { b: await waitForVerdict(kube, nsB, 'tenant-b'), image: image.ref, node };
}


describe('always-pull-images: without the plugin (first, before it is turned on)', () => {
  scenario(getEnv, 'always-pull-images/control-without-plugin', 'without the plugin the node decides: before KEP-2535 tenant B runs A\'s cached image (the leak the docs warn of); with it B must pull and is refused', async (s) => {
    const [node = ''] = s.workers();
    const settings = await readKubeletPullSettings(s.env.cluster.kube, node);
    const { b, image } = await twoTenants(s);
    const rule = kubeletPulledImageExpectation(settings, image);
    s.rule(`[${node}] ${rule.rule}`);
    expect(b.pod.spec?.containers[0]?.imagePullPolicy).toBe('IfNotPresent');
    if (rule.needsCredentials) await s.expectPullFailure(b, UNAUTHORIZED);
    else ranToCompletion(b);
  });
});

describe('always-pull-images: with the admission plugin', () => {
  let second: SecondApiServer | undefined;
  const admission = (): Kube => {
    if (!second) throw new Error('the second API server (with AlwaysPullImages) did not start: see the beforeAll error');
    return second.kube;
  };
  beforeAll(async () => {
    const env = getEnv();
    const controlPlane = env.cluster.nodeNames.find((n) => n.endsWith('-control-plane')) ?? '';
    second = await startSecondApiServer({
      kube: env.cluster.kube, nodes: env.cluster.nodes, controlPlane, logger: env.logger, plugin: 'AlwaysPullImages',
      probe: async (kube) => (await defaultedPolicy(kube)) === 'Always',
    });
  }, 600_000);
  afterAll(async () => {
    await second?.stop();
  }, 600_000);

  scenario(getEnv, 'always-pull-images/mutates-policy', 'IfNotPresent and Never become Always, for containers and init containers', async (s) => {
    const image = (await privateImage(s)).ref;
    const body: V1Pod = {
      metadata: { name: 'mutated' },
      spec: {
        restartPolicy: 'Never',
        initContainers: [{ name: 'init', image, imagePullPolicy: 'IfNotPresent' }],
        containers: [{ name: 'if-not-present', image, imagePullPolicy: 'IfNotPresent' }, { name: 'never', image, imagePullPolicy: 'Never' }],
      },
    };
    const created = await admission().core.createNamespacedPod({ namespace: s.namespace, body });
    expect(created.spec?.initContainers?.map((c) => c.imagePullPolicy)).toEqual(['Always']);
    expect(created.spec?.containers.map((c) => c.imagePullPolicy)).toEqual(['Always', 'Always']);
    // The same pod through the cluster's own API server (no plugin) keeps its policies: the
    // plugin is what changed them.
    const plain = await s.env.cluster.kube.core.createNamespacedPod({ namespace: s.namespace, dryRun: 'All', body: { ...body, metadata: { name: 'unmutated' } } });
    expect(plain.spec?.containers.map((c) => c.imagePullPolicy)).toEqual(['IfNotPresent', 'Never']);
  });

  scenario(getEnv, 'always-pull-images/tenant-cannot-reuse-cached-private-image', 'tenant B, without a Secret, cannot run tenant A\'s private image from node N\'s cache: its IfNotPresent became Always and the pull fails unauthorized', async (s) => {
    const { b } = await twoTenants(s, admission());
    expect(b.pod.spec?.containers[0]?.imagePullPolicy).toBe('Always');
    await s.expectPullFailure(b, UNAUTHORIZED);
  });

  scenario(getEnv, 'use-cases/proprietary-always-pull-with-secrets', 'proprietary images on a cluster with AlwaysPullImages: each namespace pulls with its own Secret, and only with it', async (s) => {
    const { kube } = s.env.cluster;
    const { b, image, node } = await twoTenants(s, admission());
    const nsB = b.pod.metadata?.namespace ?? '';
    await s.expectPullFailure(b, UNAUTHORIZED);
    // The same image, in B's namespace with B's own Secret, runs.
    const r = s.env.registry('private');
    await kube.core.createNamespacedSecret({ namespace: nsB, body: dockerConfigJsonSecret('tenant-b', nsB, [{ server: r.host, username: r.username ?? '', password: r.password ?? '' }]) });
    await admission().core.createNamespacedPod({ namespace: nsB, body: { metadata: { name: 'tenant-b-own-secret' }, spec: { restartPolicy: 'Never', nodeName: node, imagePullSecrets: [{ name: 'tenant-b' }], containers: [{ name: 'main', image }] } } });
    ranToCompletion(await waitForVerdict(kube, nsB, 'tenant-b-own-secret'));
  });
});
