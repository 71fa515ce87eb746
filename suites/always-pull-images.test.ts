// The AlwaysPullImages admission plugin: with it on, every container's policy becomes Always, so a
// tenant cannot run another tenant's private image just because a node has it cached. The same two
// tenants without the plugin show what the node itself does. On a cluster declared with the plugin,
// the second half goes through the cluster's own API server; on one declared without it, through a
// second API server with the plugin beside the cluster's own (helpers/cluster/apiserver.ts), which
// is never changed.
import type { V1Pod } from '@kubernetes/client-node';
import {
  admittedPolicy,
  createPod,
  defineSuite,
  KindNodeAccess,
  type Kube,
  kubeletPulledImageReuse,
  type PodVerdict,
  type PushedTestImage,
  readClusterShape,
  type ScenarioContext,
  type SecondApiServer,
  startSecondApiServer,
  UNAUTHORIZED,
  waitForVerdict,
} from '../helpers/framework/harness.ts';

export const suite = defineSuite({
  name: 'always-pull-images',
  registries: [{ name: 'private', auth: 'htpasswd' }],
});

/**
 * Tenant A pulls its private image onto `node` with its Secret; tenant B then asks for it without
 * one. Both pods are created through `admission` (the cluster's own API server, or the second one).
 */
async function twoTenants(
  s: ScenarioContext,
  admission: Kube = s.env.cluster.kube,
): Promise<{ b: PodVerdict; image: PushedTestImage; node: string }> {
  const { kube } = s.env.cluster;
  const node = s.worker(0);
  const image = await s.image(s.env.registry('private'));
  const secret = await s.pullSecret(s.env.registry('private'), { name: 'tenant-a' });
  // Created through `admission`: tracked, so that the admitted policy and whether the node pulled are recorded.
  const a = await createPod(admission, s.namespace, {
    name: 'tenant-a',
    image: image.ref,
    imagePullSecrets: [secret],
    nodeName: node,
    pullPolicy: 'IfNotPresent',
  });
  s.trackPod(a);
  const aVerdict = await waitForVerdict(kube, s.namespace, 'tenant-a');
  s.trackPod(a, aVerdict);
  await s.expectRan(aVerdict, image);
  const nsB = await s.extraNamespace('b');
  const created = await admission.core.createNamespacedPod({
    namespace: nsB,
    body: {
      metadata: { name: 'tenant-b' },
      spec: { restartPolicy: 'Never', nodeName: node, containers: [{ name: 'main', image: image.ref, imagePullPolicy: 'IfNotPresent' }] },
    },
  });
  s.trackPod(created);
  const b = await waitForVerdict(kube, nsB, 'tenant-b');
  s.trackPod(created, b);
  return { b, image, node };
}

suite.section('always-pull-images: without the plugin (first, before it is turned on)', () => {
  suite.scenario(
    'control-without-plugin',
    "without the plugin the node decides: before KEP-2535 tenant B runs A's cached image (the leak the docs warn of); with it B must pull and is refused",
    { needs: ['worker'] },
    async (s) => {
      s.skipIfAlwaysPullImages("what the node itself does without the plugin (the cluster's API server has it)");
      const node = s.worker(0);
      const { b, image } = await twoTenants(s);
      const rule = kubeletPulledImageReuse(s.env.posture, node, image.ref);
      s.rule(`[${node}] ${rule.rule}`);
      const admitted = b.pod.spec?.containers[0]?.imagePullPolicy;
      if (admitted !== 'IfNotPresent')
        throw new Error(
          `the cluster's API server admitted tenant B's IfNotPresent container as ${admitted}: it mutates pull policies though the posture declares AlwaysPullImages off (${s.env.posture.sources.admission})`,
        );
      if (rule.needsCredentials) await s.expectPullFailure(b, UNAUTHORIZED);
      else await s.expectRan(b, image);
    },
  );
});

suite.section('always-pull-images: with the admission plugin', () => {
  let second: SecondApiServer | undefined;
  /** The API server with the plugin: the cluster's own where it is declared with it, else the second one. */
  const admission = (s: ScenarioContext): Kube => {
    if (s.env.posture.admission.alwaysPullImages) return s.env.cluster.kube;
    if (!(s.env.cluster.nodes instanceof KindNodeAccess))
      return s.skipDeclared(
        `${s.env.cluster.name} is declared without AlwaysPullImages and is not a kind cluster, where pullcheck would start a second API server with it`,
      );
    if (!second) throw new Error('the second API server (with AlwaysPullImages) did not start: see its setup error');
    return second.kube;
  };
  suite.setup(async () => {
    const env = suite.env();
    if (env.posture.admission.alwaysPullImages || !(env.cluster.nodes instanceof KindNodeAccess)) return;
    const controlPlane = (await readClusterShape(env.cluster.kube)).controlPlanes[0] ?? '';
    second = await startSecondApiServer({
      kube: env.cluster.kube,
      nodes: env.cluster.nodes,
      controlPlane,
      logger: env.logger,
      plugin: 'AlwaysPullImages',
      probe: async (kube) => (await admittedPolicy(kube)) === 'Always',
    });
  }, 600_000);
  suite.teardown(async () => {
    await second?.stop();
  }, 600_000);

  suite.scenario('mutates-policy', 'IfNotPresent and Never become Always, for containers and init containers', async (s) => {
    const image = (await s.image(s.env.registry('private'))).ref;
    const body: V1Pod = {
      metadata: { name: 'mutated' },
      spec: {
        restartPolicy: 'Never',
        initContainers: [{ name: 'init', image, imagePullPolicy: 'IfNotPresent' }],
        containers: [
          { name: 'if-not-present', image, imagePullPolicy: 'IfNotPresent' },
          { name: 'never', image, imagePullPolicy: 'Never' },
        ],
      },
    };
    const api = admission(s);
    const created = await api.core.createNamespacedPod({ namespace: s.namespace, body });
    const policies = [...(created.spec?.initContainers ?? []), ...(created.spec?.containers ?? [])].map(
      (c) => `${c.name}=${c.imagePullPolicy}`,
    );
    s.observe('mutated', policies);
    const expected = ['init=Always', 'if-not-present=Always', 'never=Always'];
    if (JSON.stringify(policies) !== JSON.stringify(expected))
      throw new Error(
        `AlwaysPullImages must make every policy Always; the ${api === s.env.cluster.kube ? "cluster's own API server (declared with the plugin)" : 'second API server (with the plugin)'} admitted ${policies.join(', ')}`,
      );
    if (api === s.env.cluster.kube) return;
    // The same pod through the cluster's own API server (declared without the plugin) keeps its
    // policies: the plugin is what changed them.
    const plain = await s.env.cluster.kube.core.createNamespacedPod({
      namespace: s.namespace,
      dryRun: 'All',
      body: { ...body, metadata: { name: 'unmutated' } },
    });
    const kept = plain.spec?.containers.map((c) => c.imagePullPolicy) ?? [];
    s.observe('unmutated', plain.spec?.containers.map((c) => `${c.name}=${c.imagePullPolicy}`) ?? []);
    if (JSON.stringify(kept) !== JSON.stringify(['IfNotPresent', 'Never']))
      throw new Error(
        `the cluster's own API server admitted IfNotPresent and Never as ${kept.join(' and ')}, though the posture declares AlwaysPullImages off (${s.env.posture.sources.admission})`,
      );
  });

  suite.scenario(
    'tenant-cannot-reuse-cached-private-image',
    "tenant B, without a Secret, cannot run tenant A's private image from node N's cache: its IfNotPresent became Always and the pull fails unauthorized",
    { needs: ['worker'] },
    async (s) => {
      const { b } = await twoTenants(s, admission(s));
      const admitted = b.pod.spec?.containers[0]?.imagePullPolicy;
      if (admitted !== 'Always')
        throw new Error(`AlwaysPullImages must make tenant B's IfNotPresent container Always; it was admitted as ${admitted}`);
      await s.expectPullFailure(b, UNAUTHORIZED);
    },
  );

  suite.scenario(
    'proprietary-always-pull-with-secrets',
    'proprietary images on a cluster with AlwaysPullImages: each namespace pulls with its own Secret, and only with it',
    { group: 'use-cases', needs: ['worker'] },
    async (s) => {
      const { kube } = s.env.cluster;
      const { b, image, node } = await twoTenants(s, admission(s));
      const nsB = b.pod.metadata?.namespace ?? '';
      await s.expectPullFailure(b, UNAUTHORIZED);
      // The same image, in B's namespace with B's own Secret, runs.
      const secret = await s.pullSecret(s.env.registry('private'), { name: 'tenant-b', namespace: nsB });
      const own = await admission(s).core.createNamespacedPod({
        namespace: nsB,
        body: {
          metadata: { name: 'tenant-b-own-secret' },
          spec: {
            restartPolicy: 'Never',
            nodeName: node,
            imagePullSecrets: [{ name: secret }],
            containers: [{ name: 'main', image: image.ref }],
          },
        },
      });
      s.trackPod(own);
      const ran = await waitForVerdict(kube, nsB, 'tenant-b-own-secret');
      s.trackPod(own, ran);
      await s.expectRan(ran, image);
    },
  );
});
