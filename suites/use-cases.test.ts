// The four use cases the Kubernetes "Images" page closes with, end to end. The third
// (proprietary images with AlwaysPullImages) needs its own cluster and lives in
// always-pull-images.test.ts as use-cases/proprietary-always-pull-with-secrets.
import { randomBytes } from 'node:crypto';
import {
  createPod,
  credentialSearchPaths,
  defineSuite,
  expectNoPull,
  installNodeFile,
  kubeletProcessFacts,
  kubeletPulledImageReuse,
  type PodSpecInput,
  type PodVerdict,
  renderCredentialFile,
  UNAUTHORIZED,
  waitForVerdict,
} from '../helpers/framework/harness.ts';

export const suite = defineSuite({
  name: 'use-cases',
  registries: [
    { name: 'public', auth: 'none' },
    { name: 'company', auth: 'htpasswd' },
    { name: 'tenant-a', auth: 'htpasswd' },
    { name: 'tenant-b', auth: 'htpasswd' },
    // One registry for two tenants: only token auth grants each user its own repositories (htpasswd grants all).
    { name: 'tenants', auth: 'token' },
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
      // In the nodes' order, control plane first, as every scenario that holds several does:
      // node-credentials holds the control plane and then takes a worker.
      for (const node of s.env.cluster.nodeNames) {
        await s.lockNode(node);
        const path = credentialSearchPaths(await kubeletProcessFacts(s.env.cluster.nodes, node)).find(
          (p) => p.format === 'config.json' && p.place === 'root-dir',
        );
        if (!path) throw new Error(`${node}: no {root-dir}/config.json search path`);
        await installNodeFile(s, node, path.path, content);
      }
      for (const node of s.env.cluster.nodeNames) {
        // Named by the node's role, not its name: observations compare across clusters.
        await s.expectRan(await s.runPod({ name: `on-${s.nodeRole(node)}`, image: image.ref, nodeName: node }), image);
      }
    },
  );
});

// The control and the tenants rest on Secrets alone (or on none): side by side on the home node,
// after private-registry-node-config has taken its config.json off every node.
suite.section(
  'use-cases: without node configuration',
  () => {
    suite.scenario(
      'private-registry-node-config-control',
      'the control of private-registry-node-config: the same company image, with no config.json on the node and no Secret, is refused (ErrImagePull, unauthorized): the node config is what makes the pod run',
      async (s) => {
        const registry = s.env.registry('company');
        const image = await s.image(registry);
        s.rule(
          `no credential file on the node and no pull Secret: kubelet pulls anonymously, and the htpasswd registry ${registry.host} refuses it`,
        );
        await s.expectPullFailure(await s.runPod({ name: 'no-node-config', image: image.ref }), UNAUTHORIZED);
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
        const bOwn = await kube.core.createNamespacedPod({
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
        const bRan = await waitForVerdict(kube, nsB, 'b-own');
        s.trackPod(bOwn, bRan);
        await s.expectRan(bRan, b);
      },
    );

    suite.scenario(
      'multi-tenant-one-registry-one-node',
      "two tenants on one token-auth registry and one node, each with its own repository grant, Secret and ServiceAccount: A's pod runs A's image; B's pod is refused it, before and after it is on the node (as AlwaysPullImages or KEP-2535 declare)",
      async (s) => {
        const registry = s.env.registry('tenants');
        const server = registry.tokenServer;
        if (!server)
          throw new Error(`registry tenants (${registry.host}) has no token server: the scenario needs pullcheck's token-auth registry`);
        const { kube } = s.env.cluster;
        const a = await s.image(registry);
        const b = await s.image(registry);
        // Each tenant: an account granted pull on its own repository only, a Secret and a ServiceAccount listing it.
        const nsB = await s.extraNamespace('b');
        const tenants = { a: { namespace: s.namespace, image: a }, b: { namespace: nsB, image: b } };
        for (const [name, t] of Object.entries(tenants)) {
          const user = { username: `tenant-${name}-${randomBytes(3).toString('hex')}`, password: randomBytes(18).toString('base64url') };
          server.addUser({ ...user, grants: [{ repository: t.image.repository, actions: ['pull'] }] });
          await s.pullSecret({ server: registry.host, ...user }, { name: 'tenant', namespace: t.namespace });
          await kube.core.createNamespacedServiceAccount({
            namespace: t.namespace,
            body: { metadata: { name: 'tenant' }, imagePullSecrets: [{ name: 'tenant' }] },
          });
        }
        s.rule(
          `each tenant's account is granted pull on its own repository of ${registry.host} only: a token for the other's carries no actions`,
        );
        const node = await s.homeNode();
        const run = async (namespace: string, input: Omit<PodSpecInput, 'nodeName' | 'serviceAccountName'>): Promise<PodVerdict> => {
          const created = await createPod(kube, namespace, { ...input, nodeName: node, serviceAccountName: 'tenant' });
          s.trackPod(created);
          const verdict = await waitForVerdict(kube, namespace, input.name);
          s.trackPod(created, verdict);
          return verdict;
        };
        // B asks for A's image before the node has it: its token for A's repository grants nothing.
        await s.expectPullFailure(await run(nsB, { name: 'b-takes-a', image: a.ref, pullPolicy: 'Always' }), UNAUTHORIZED);
        await s.expectRan(await run(s.namespace, { name: 'a-own', image: a.ref, pullPolicy: 'IfNotPresent' }), a);
        // A's image is on the node now, pulled by kubelet with A's Secret: the declared posture says whether B must prove access.
        const expected = kubeletPulledImageReuse(s.env.posture, node, a.ref);
        s.rule(
          `[${node}] ${expected.rule}; B's own credentials do not cover ${a.repository}, so a pull B must make fails as one without credentials does`,
        );
        const cached = await run(nsB, { name: 'b-takes-cached-a', image: a.ref, pullPolicy: 'IfNotPresent' });
        if (expected.needsCredentials) await s.expectPullFailure(cached, UNAUTHORIZED);
        else {
          // The leak the page warns about, as declared: the image is used without any credential check.
          await s.expectRan(cached, a);
          await expectNoPull(kube, nsB, 'b-takes-cached-a');
        }
        // And B's own Secret works on the same node and registry: the refusals are about A's repository.
        await s.expectRan(await run(nsB, { name: 'b-own', image: b.ref }), b);
      },
    );
  },
  { concurrency: 3 },
);
