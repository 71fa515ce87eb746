// The four use cases the Kubernetes "Images" page closes with, end to end. The third
// (proprietary images with AlwaysPullImages) needs its own cluster and lives in
// always-pull-images.test.ts as use-cases/proprietary-always-pull-with-secrets.
import { defineSuite, UNAUTHORIZED } from '../helpers/framework/harness.ts';
import { credentialSearchPaths, installNodeFile, kubeletProcessFacts, renderCredentialFile } from '../helpers/kubelet/nodecreds.ts';
import { waitForVerdict } from '../helpers/framework/pods.ts';

export const suite = defineSuite({
  name: 'use-cases',
  registries: [
    { name: 'public', auth: 'none' },
    { name: 'company', auth: 'htpasswd' },
    { name: 'tenant-a', auth: 'htpasswd' },
    { name: 'tenant-b', auth: 'htpasswd' },
  ],
  nodes: 'locked',
  home: 'first-worker', // the one image-pull-secrets and ensure-secret-pulled leave alone
});

suite.section('use-cases', () => {
  suite.scenario(
    'public-images-no-config',
    'public images only: an anonymous registry, nothing configured on nodes or pods, the pod runs',
    async (s) => {
      const image = await s.image(s.env.registry('public'));
      await s.expectRan(await s.runPod({ image: image.ref }), image);
    },
  );

  suite.scenario(
    'private-registry-node-config',
    'a company registry with the same config.json on every node: a pod without Secrets runs on each node',
    { needs: ['node-access'] },
    async (s) => {
      const image = await s.image(s.env.registry('company'));
      const content = renderCredentialFile('config.json', [s.env.registry('company').credential()]);
      for (const node of s.env.cluster.nodeNames) {
        await s.lockNode(node);
        const path = credentialSearchPaths(await kubeletProcessFacts(s.env.cluster.nodes, node)).find(
          (p) => p.format === 'config.json' && p.place === 'root-dir',
        );
        if (!path) throw new Error(`${node}: no {root-dir}/config.json search path`);
        await installNodeFile(s, node, path.path, content);
      }
      for (const node of s.env.cluster.nodeNames) {
        await s.expectRan(await s.runPod({ name: `on-${node}`, image: image.ref, nodeName: node }), image);
      }
    },
  );

  suite.scenario(
    'multi-tenant-per-namespace-registries',
    'each tenant its own registry and credentials in its namespace: own pulls run, cross-tenant pulls fail unauthorized',
    async (s) => {
      const { kube } = s.env.cluster;
      const a = await s.image(s.env.registry('tenant-a'));
      const b = await s.image(s.env.registry('tenant-b'));
      // Tenant A is this scenario's namespace, tenant B a second one; each holds only its own Secret.
      const nsB = await s.extraNamespace('b');
      await s.pullSecret(s.env.registry('tenant-a'), { name: 'tenant' });
      await s.pullSecret(s.env.registry('tenant-b'), { name: 'tenant', namespace: nsB });
      const ownA = await s.expectRan(await s.runPod({ name: 'a-own', image: a.ref, imagePullSecrets: ['tenant'] }), a);
      const cross = await s.runPod({ name: 'a-takes-b', image: b.ref, imagePullSecrets: ['tenant'] });
      await s.expectPullFailure(cross, UNAUTHORIZED);
      // And tenant B with its own Secret runs its own image (on the node tenant A's pods used, locked).
      const node = ownA.spec?.nodeName ?? '';
      await s.lockNode(node);
      await kube.core.createNamespacedPod({
        namespace: nsB,
        body: {
          metadata: { name: 'b-own' },
          spec: {
            restartPolicy: 'Never',
            nodeName: node,
            imagePullSecrets: [{ name: 'tenant' }],
            containers: [{ name: 'main', image: b.ref }],
          },
        },
      });
      await s.expectRan(await waitForVerdict(kube, nsB, 'b-own'), b);
    },
  );
});
