// Pod imagePullSecrets: every way the Kubernetes docs make one, how kubelet merges them, and how a
// wrong, missing or out-of-namespace Secret fails.
import type { V1Secret } from '@kubernetes/client-node';
import {
  claim,
  credentialSearchPaths,
  defineSuite,
  dockerCfgSecret,
  EventReason,
  expectRanPreseeded,
  imageIdOf,
  installNodeFile,
  kubeletProcessFacts,
  logTail,
  podWhere,
  renderCredentialFile,
  type ScenarioContext,
  secretFromConfigFile,
  UNAUTHORIZED,
} from '../helpers/framework/harness.ts';

export const suite = defineSuite({
  name: 'image-pull-secrets',
  registries: [
    { name: 'private', auth: 'htpasswd' },
    { name: 'private2', auth: 'htpasswd' },
  ],
  nodes: 'locked',
  home: 'last-worker', // node-credentials and credential-provider start from the first worker
  // ggcr serves anonymously only: no Secret scenario applies to it.
  variants: [
    {
      name: 'token-auth',
      registries: { private: { auth: 'token' } },
      scenarios: ['dockerconfigjson-secret-pulls', 'legacy-dockercfg-secret', 'no-secret-fails', 'wrong-password-fails'],
    },
  ],
});

// Scenarios that rest on Secrets alone run side by side on the suite's home node (each its own
// namespace, Secrets and images); the one that writes the node's config.json runs alone.
const SIDE_BY_SIDE = { concurrency: 3 };

async function createSecret(s: ScenarioContext, body: V1Secret): Promise<string> {
  await s.env.cluster.kube.core.createNamespacedSecret({ namespace: s.namespace, body });
  return body.metadata?.name ?? '';
}

suite.section(
  'image-pull-secrets: Secrets that work',
  () => {
    suite.scenario(
      'dockerconfigjson-secret-pulls',
      'a kubernetes.io/dockerconfigjson Secret shaped like kubectl create secret docker-registry pulls from the private registry',
      { capabilities: ['credentials-accepted'] },
      async (s) => {
        const registry = s.env.registry('private');
        // Pull-only (--registry-preseeded): the vendor's private manifest, by the digest it names.
        const seeded = s.preseeded(registry, 'oci-manifest');
        const secret = await s.pullSecret({ ...registry.credential(), email: 'pullcheck@example.invalid' });
        if (seeded) {
          expectRanPreseeded(await s.runPod({ image: seeded.ref, imagePullSecrets: [secret] }), seeded);
          return;
        }
        const image = await s.image(registry);
        await s.expectRan(await s.runPod({ image: image.ref, imagePullSecrets: [secret] }), image);
      },
    );

    suite.scenario(
      'from-existing-config-file',
      'a Secret made from an existing docker config file (auths with only "auth", as docker login writes) pulls',
      { capabilities: ['credentials-accepted'] },
      async (s) => {
        const registry = s.env.registry('private');
        const image = await s.image(registry);
        const c = registry.credential();
        const configFile = JSON.stringify(
          { auths: { [c.server]: { auth: Buffer.from(`${c.username}:${c.password}`).toString('base64') } } },
          null,
          '\t',
        );
        const secret = await createSecret(s, secretFromConfigFile('from-file', s.namespace, configFile));
        await s.expectRan(await s.runPod({ image: image.ref, imagePullSecrets: [secret] }), image);
      },
    );

    suite.scenario(
      'legacy-dockercfg-secret',
      'a legacy kubernetes.io/dockercfg Secret pulls',
      { capabilities: ['credentials-accepted'] },
      async (s) => {
        const registry = s.env.registry('private');
        const image = await s.image(registry);
        const secret = await createSecret(s, dockerCfgSecret('legacy', s.namespace, [registry.credential()]));
        await s.expectRan(await s.runPod({ image: image.ref, imagePullSecrets: [secret] }), image);
      },
    );

    suite.scenario(
      'one-secret-per-registry-merged',
      'a pod with containers from two private registries and a Secret for each runs both',
      async (s) => {
        const a = await s.image(s.env.registry('private'));
        const b = await s.image(s.env.registry('private2'));
        const credA = await s.pullSecret(s.env.registry('private'), { name: 'cred-a' });
        const credB = await s.pullSecret(s.env.registry('private2'), { name: 'cred-b' });
        const verdict = await s.runPod({
          image: a.ref,
          extraContainers: [{ name: 'second', image: b.ref }],
          imagePullSecrets: [credA, credB],
        });
        await s.expectRan(verdict, a);
        const second = await s.log(verdict.pod, 'second');
        claim(
          second.includes(`build=${b.buildId}`),
          () =>
            `kubelet must use each of a pod's imagePullSecrets for its own registry, so container second of ${podWhere(verdict.pod)} should have run ${b.ref} with Secret ${credB}, but its log lacks build=${b.buildId}: ${logTail(second)}`,
        );
        const secondId = imageIdOf(verdict.pod, 'second');
        claim(
          secondId.includes(b.digest),
          () =>
            `container second of ${podWhere(verdict.pod)} ran ${b.ref} as ${secondId || '(no imageID)'}, not the pushed digest ${b.digest}`,
        );
      },
    );
  },
  SIDE_BY_SIDE,
);

suite.section("image-pull-secrets: merged with the node's own credentials", () => {
  suite.scenario(
    'merged-with-node-credentials',
    'node config.json for registry A and a pod Secret for registry B: one pod with an image from each runs both',
    { needs: ['node-access'] },
    async (s) => {
      const node = await s.homeNode();
      const a = await s.image(s.env.registry('private'));
      const b = await s.image(s.env.registry('private2'));
      const rootDir = credentialSearchPaths(await kubeletProcessFacts(s.env.cluster.nodes, node)).find(
        (p) => p.format === 'config.json' && p.place === 'root-dir',
      );
      if (!rootDir) throw new Error('no {root-dir}/config.json search path');
      await installNodeFile(s, node, rootDir.path, renderCredentialFile('config.json', [s.env.registry('private').credential()]));
      const credB = await s.pullSecret(s.env.registry('private2'), { name: 'cred-b' });
      const verdict = await s.runPod({
        image: a.ref,
        extraContainers: [{ name: 'second', image: b.ref }],
        imagePullSecrets: [credB],
        nodeName: node,
      });
      await s.expectRan(verdict, a);
      const second = await s.log(verdict.pod, 'second');
      claim(
        second.includes(`build=${b.buildId}`),
        () =>
          `kubelet must merge a pod's imagePullSecrets with the node's own credentials, so container second of ${podWhere(verdict.pod)} should have run ${b.ref} with Secret ${credB} (the node's config.json has only ${s.env.registry('private').host}), but its log lacks build=${b.buildId}: ${logTail(second)}`,
      );
      const secondId = imageIdOf(verdict.pod, 'second');
      claim(
        secondId.includes(b.digest),
        () =>
          `container second of ${podWhere(verdict.pod)} ran ${b.ref} as ${secondId || '(no imageID)'}, not the pushed digest ${b.digest}`,
      );
    },
  );
});

suite.section(
  'image-pull-secrets: Secrets that do not',
  () => {
    suite.scenario(
      'no-secret-fails',
      'without a Secret the private image fails to pull: unauthorized',
      { capabilities: ['auth-enforced'] },
      async (s) => {
        const image = await s.image(s.env.registry('private'));
        await s.expectPullFailure(await s.runPod({ name: 'no-secret', image: image.ref }), UNAUTHORIZED);
      },
    );

    suite.scenario(
      'wrong-password-fails',
      'a Secret with a wrong password fails to pull: unauthorized in the event message, and the registry saw that password and refused it',
      { capabilities: ['auth-enforced'] },
      async (s) => {
        const registry = s.env.registry('private');
        const image = await s.image(registry);
        const secret = await s.pullSecret(registry.credential('wrong-password-123'), { name: 'wrong' });
        const since = new Date();
        await s.expectPullFailure(await s.runPod({ name: 'wrong', image: image.ref, imagePullSecrets: [secret] }), UNAUTHORIZED);
        await s.expectCredentialRefused(registry, { repository: image.repository, since });
      },
    );

    suite.scenario(
      'missing-secret-name',
      'a Secret name that does not exist: FailedToRetrieveImagePullSecret, then the pull fails unauthorized',
      async (s) => {
        const image = await s.image(s.env.registry('private'));
        const verdict = await s.runPod({ name: 'missing', image: image.ref, imagePullSecrets: ['does-not-exist'] });
        const event = await s.waitForEvent('missing', EventReason.FailedToRetrieveImagePullSecret, /does-not-exist/);
        claim(
          event.type === 'Warning',
          `kubelet's FailedToRetrieveImagePullSecret event for pod ${s.namespace}/missing, whose Secret does-not-exist is missing, should be a Warning, but it is ${event.type ?? '(no type)'}: ${event.message}`,
        );
        await s.expectPullFailure(verdict, UNAUTHORIZED);
      },
    );

    suite.scenario(
      'other-namespace-secret-not-used',
      'a Secret that exists only in another namespace is not used: FailedToRetrieveImagePullSecret and unauthorized',
      async (s) => {
        const registry = s.env.registry('private');
        const image = await s.image(registry);
        const other = await s.extraNamespace('other');
        await s.pullSecret(registry, { name: 'regcred', namespace: other });
        const verdict = await s.runPod({ name: 'elsewhere', image: image.ref, imagePullSecrets: ['regcred'] });
        await s.waitForEvent('elsewhere', EventReason.FailedToRetrieveImagePullSecret, /regcred/);
        await s.expectPullFailure(verdict, UNAUTHORIZED);
      },
    );
  },
  SIDE_BY_SIDE,
);
