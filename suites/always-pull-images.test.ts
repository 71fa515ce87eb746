// The AlwaysPullImages admission plugin: with it on, every container's policy becomes Always, so a
// tenant cannot run another tenant's private image just because a node has it cached. The same two
// tenants without the plugin show what the node itself does. For this file's second half a second
// API server with the plugin serves the same cluster, and its pods are created through it
// (helpers/cluster/apiserver.ts); the cluster's own API server is never changed.
import type { V1Pod } from '@kubernetes/client-node';
import { defineSuite, UNAUTHORIZED, type PodVerdict, type PushedTestImage, type ScenarioContext } from '../helpers/framework/harness.ts';
import { startSecondApiServer, type SecondApiServer } from '../helpers/cluster/apiserver.ts';
import type { Kube } from '../helpers/cluster/kube.ts';
import { kubeletPulledImageExpectation, readKubeletPullSettings } from '../helpers/kubelet/kep2535.ts';
import { createPod, waitForVerdict } from '../helpers/framework/pods.ts';

export const suite = defineSuite({
  name: 'always-pull-images',
  registries: [{ name: 'private', auth: 'htpasswd' }],
});

/** What an API server makes of an IfNotPresent container, asked with a server-side dry run. */
async function defaultedPolicy(kube: Kube): Promise<string | undefined> {
  const pod = await kube.core.createNamespacedPod({
    namespace: 'default',
    dryRun: 'All',
    body: {
      metadata: { name: 'pullcheck-admission-probe' },
      spec: { containers: [{ name: 'main', image: 'pullcheck.invalid/probe:1', imagePullPolicy: 'IfNotPresent' }] },
    },
  });
  return pod.spec?.containers[0]?.imagePullPolicy;
}

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
  await createPod(admission, s.namespace, {
    name: 'tenant-a',
    image: image.ref,
    imagePullSecrets: [secret],
    nodeName: node,
    pullPolicy: 'IfNotPresent',
  });
  await s.expectRan(await waitForVerdict(kube, s.namespace, 'tenant-a'), image);
  const nsB = await s.extraNamespace('b');
  await admission.core.createNamespacedPod({
    namespace: nsB,
    body: {
      metadata: { name: 'tenant-b' },
      spec: { restartPolicy: 'Never', nodeName: node, containers: [{ name: 'main', image: image.ref, imagePullPolicy: 'IfNotPresent' }] },
    },
  });
  return { b: await waitForVerdict(kube, nsB, 'tenant-b'), image, node };
}

suite.section('always-pull-images: without the plugin (first, before it is turned on)', () => {
  suite.scenario(
    'control-without-plugin',
    "without the plugin the node decides: before KEP-2535 tenant B runs A's cached image (the leak the docs warn of); with it B must pull and is refused",
    async (s) => {
      const node = s.worker(0);
      const settings = await readKubeletPullSettings(s.env.cluster.kube, node);
      const { b, image } = await twoTenants(s);
      const rule = kubeletPulledImageExpectation(settings, image.ref);
      s.rule(`[${node}] ${rule.rule}`);
      expect(b.pod.spec?.containers[0]?.imagePullPolicy).toBe('IfNotPresent');
      if (rule.needsCredentials) await s.expectPullFailure(b, UNAUTHORIZED);
      else await s.expectRan(b, image);
    },
  );
});

suite.section('always-pull-images: with the admission plugin', () => {
  let second: SecondApiServer | undefined;
  const admission = (): Kube => {
    if (!second) throw new Error('the second API server (with AlwaysPullImages) did not start: see its setup error');
    return second.kube;
  };
  suite.setup(async () => {
    const env = suite.env();
    const controlPlane = env.cluster.nodeNames.find((n) => n.endsWith('-control-plane')) ?? '';
    second = await startSecondApiServer({
      kube: env.cluster.kube,
      nodes: env.cluster.nodes,
      controlPlane,
      logger: env.logger,
      plugin: 'AlwaysPullImages',
      probe: async (kube) => (await defaultedPolicy(kube)) === 'Always',
    });
  }, 600_000);
  suite.teardown(async () => {
    await second?.stop();
  }, 600_000);

  suite.scenario(
    'mutates-policy',
    'IfNotPresent and Never become Always, for containers and init containers',
    { needs: ['kind'] },
    async (s) => {
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
      const created = await admission().core.createNamespacedPod({ namespace: s.namespace, body });
      expect(created.spec?.initContainers?.map((c) => c.imagePullPolicy)).toEqual(['Always']);
      expect(created.spec?.containers.map((c) => c.imagePullPolicy)).toEqual(['Always', 'Always']);
      // The same pod through the cluster's own API server (no plugin) keeps its policies: the
      // plugin is what changed them.
      const plain = await s.env.cluster.kube.core.createNamespacedPod({
        namespace: s.namespace,
        dryRun: 'All',
        body: { ...body, metadata: { name: 'unmutated' } },
      });
      expect(plain.spec?.containers.map((c) => c.imagePullPolicy)).toEqual(['IfNotPresent', 'Never']);
    },
  );

  suite.scenario(
    'tenant-cannot-reuse-cached-private-image',
    "tenant B, without a Secret, cannot run tenant A's private image from node N's cache: its IfNotPresent became Always and the pull fails unauthorized",
    { needs: ['kind'] },
    async (s) => {
      const { b } = await twoTenants(s, admission());
      expect(b.pod.spec?.containers[0]?.imagePullPolicy).toBe('Always');
      await s.expectPullFailure(b, UNAUTHORIZED);
    },
  );

  suite.scenario(
    'proprietary-always-pull-with-secrets',
    'proprietary images on a cluster with AlwaysPullImages: each namespace pulls with its own Secret, and only with it',
    { group: 'use-cases', needs: ['kind'] },
    async (s) => {
      const { kube } = s.env.cluster;
      const { b, image, node } = await twoTenants(s, admission());
      const nsB = b.pod.metadata?.namespace ?? '';
      await s.expectPullFailure(b, UNAUTHORIZED);
      // The same image, in B's namespace with B's own Secret, runs.
      const secret = await s.pullSecret(s.env.registry('private'), { name: 'tenant-b', namespace: nsB });
      await admission().core.createNamespacedPod({
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
      await s.expectRan(await waitForVerdict(kube, nsB, 'tenant-b-own-secret'), image);
    },
  );
});
