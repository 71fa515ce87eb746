// ServiceAccount imagePullSecrets: the ServiceAccount admission plugin copies them into a new pod
// that lists none of its own, and only then; pods that already exist are never changed.

import type { V1Pod } from '@kubernetes/client-node';
import {
  admittedPod,
  claim,
  defineSuite,
  podWhere,
  type ScenarioContext,
  UNAUTHORIZED,
  waitForServiceAccount,
} from '../helpers/framework/harness.ts';

export const suite = defineSuite({
  name: 'service-account',
  registries: [{ name: 'private', auth: 'htpasswd' }],
});

async function setPullSecrets(s: ScenarioContext, name: string, secrets: string[]): Promise<void> {
  const { kube } = s.env.cluster;
  const sa = await waitForServiceAccount(kube, s.namespace, name);
  await kube.core.replaceNamespacedServiceAccount({
    name,
    namespace: s.namespace,
    body: { ...sa, imagePullSecrets: secrets.map((n) => ({ name: n })) },
  });
  // The admission plugin reads ServiceAccounts from the API server's cache, which may not have the
  // update yet (a pod created at once was admitted without them in a CI run). Its view shows only in
  // what it admits: a server-side dry run, nothing stored, until it copies the list. Past the
  // deadline the scenario goes on, and its own check of the real pod says what the plugin did.
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const dry = await admittedPod(kube, s.namespace, { image: 'pullcheck.invalid/probe:1' }, name);
    if (JSON.stringify((dry.spec?.imagePullSecrets ?? []).map((r) => r.name)) === JSON.stringify(secrets)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The ServiceAccount admission plugin copied the account's imagePullSecrets into the admitted pod. */
function expectInjected(pod: V1Pod, account: string, secrets: string[]): void {
  const got = (pod.spec?.imagePullSecrets ?? []).map((r) => r.name);
  if (JSON.stringify(got) !== JSON.stringify(secrets))
    throw new Error(
      `the ServiceAccount admission plugin must copy ServiceAccount ${account}'s imagePullSecrets [${secrets.join(', ')}] into pod ${pod.metadata?.name}, which lists none; it was admitted with [${got.join(', ')}]${pod.spec?.serviceAccountName ? '' : ' and no serviceAccountName (is the ServiceAccount plugin off?)'}`,
    );
}

suite.section('service-account: imagePullSecrets injection', () => {
  suite.scenario(
    'injects-image-pull-secrets',
    "the default ServiceAccount's imagePullSecrets are copied into a pod that lists none, which then runs",
    { capabilities: ['credentials-accepted'] },
    async (s) => {
      const image = await s.image(s.env.registry('private'));
      const secret = await s.pullSecret(s.env.registry('private'));
      await setPullSecrets(s, 'default', [secret]);
      expectInjected(await s.createPod({ name: 'injected', image: image.ref }), 'default', [secret]);
      await s.expectRan(await s.runPod({ image: image.ref }), image);
    },
  );

  suite.scenario(
    'named-service-account',
    "a pod naming its own ServiceAccount gets that ServiceAccount's imagePullSecrets",
    { capabilities: ['credentials-accepted'] },
    async (s) => {
      const image = await s.image(s.env.registry('private'));
      const secret = await s.pullSecret(s.env.registry('private'));
      await s.env.cluster.kube.core.createNamespacedServiceAccount({
        namespace: s.namespace,
        body: { metadata: { name: 'puller' }, imagePullSecrets: [{ name: secret }] },
      });
      expectInjected(await s.createPod({ name: 'named', image: image.ref, serviceAccountName: 'puller' }), 'puller', [secret]);
      await s.expectRan(await s.runPod({ image: image.ref, serviceAccountName: 'puller' }), image);
    },
  );

  suite.scenario(
    'pod-own-secrets-win',
    'a pod that lists its own imagePullSecrets gets none from the ServiceAccount: its wrong Secret alone is used, the registry refuses that password and the pull fails unauthorized',
    { capabilities: ['credentials-accepted'] },
    async (s) => {
      const registry = s.env.registry('private');
      const image = await s.image(registry);
      const secret = await s.pullSecret(registry);
      const wrong = await s.pullSecret(registry.credential('wrong-password-123'), { name: 'wrong' });
      await setPullSecrets(s, 'default', [secret]);
      const since = new Date();
      const verdict = await s.runPod({ name: 'own', image: image.ref, imagePullSecrets: [wrong] });
      const own = (verdict.pod.spec?.imagePullSecrets ?? []).map((r) => r.name);
      claim(
        JSON.stringify(own) === JSON.stringify(['wrong']),
        () =>
          `the ServiceAccount admission plugin must leave the imagePullSecrets of a pod that lists its own as they are (default's [${secret}] not added), but ${podWhere(verdict.pod)} was admitted with [${own.join(', ')}], not [wrong]`,
      );
      await s.expectPullFailure(verdict, UNAUTHORIZED);
      // The wrong Secret was what kubelet sent: a pull with no credential at all fails the same way.
      await s.expectCredentialRefused(registry, { repository: image.repository, since });
    },
  );

  suite.scenario(
    'existing-pods-unchanged',
    'adding imagePullSecrets to the ServiceAccount changes new pods only: a pod created before keeps none',
    { capabilities: ['credentials-accepted'] },
    async (s) => {
      const image = await s.image(s.env.registry('private'));
      const secret = await s.pullSecret(s.env.registry('private'));
      // The default ServiceAccount has no imagePullSecrets yet: the pull goes without credentials and is refused.
      const before = await s.runPod({ name: 'before', image: image.ref });
      await s.expectPullFailure(before, UNAUTHORIZED);
      await setPullSecrets(s, 'default', [secret]);
      const after = await s.runPod({ name: 'after', image: image.ref });
      await s.expectRan(after, image);
      const stillBefore = await s.env.cluster.kube.core.readNamespacedPod({ name: 'before', namespace: s.namespace });
      const kept = (stillBefore.spec?.imagePullSecrets ?? []).map((r) => r.name);
      claim(
        kept.length === 0,
        () =>
          `the ServiceAccount admission plugin acts when a pod is created only: ${podWhere(stillBefore)}, created before default got imagePullSecrets, should still list none, but it lists [${kept.join(', ')}]`,
      );
      expectInjected(after.pod, 'default', ['regcred']);
    },
  );
});
