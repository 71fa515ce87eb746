// ServiceAccount imagePullSecrets: the ServiceAccount admission plugin copies them into a new pod
// that lists none of its own, and only then; pods that already exist are never changed.
import { type ScenarioContext, scenario, useEnv } from '../helpers/framework/harness.ts';
import { echoImage } from '../helpers/images/testimages.ts';
import { waitForServiceAccount } from '../helpers/cluster/kube.ts';
import { hostPlatform } from '../helpers/images/oci.ts';
import { UNAUTHORIZED } from '../helpers/framework/pods.ts';
import { dockerConfigJsonSecret } from '../helpers/registry/secrets.ts';

const getEnv = useEnv({ suite: 'service-account', registries: [{ name: 'private', auth: 'htpasswd' }] });

async function setPullSecrets(s: ScenarioContext, name: string, secrets: string[]): Promise<void> {
  const sa = await waitForServiceAccount(s.env.cluster.kube, s.namespace, name);
  await s.env.cluster.kube.core.replaceNamespacedServiceAccount({ name, namespace: s.namespace, body: { ...sa, imagePullSecrets: secrets.map((n) => ({ name: n })) } });
}

async function privateImage(s: ScenarioContext) {
  const test = await echoImage(hostPlatform(), s.env.logger);
  return { ...(await s.push(s.env.registry('private'), test.image)), buildId: test.buildId };
}

async function createRegcred(s: ScenarioContext, name: string, password?: string): Promise<void> {
  const r = s.env.registry('private');
  await s.env.cluster.kube.core.createNamespacedSecret({
    namespace: s.namespace,
    body: dockerConfigJsonSecret(name, s.namespace, [{ server: r.host, username: r.username ?? '', password: password ?? r.password ?? '' }]),
  });
}


describe('service-account: imagePullSecrets injection', () => {
  scenario(getEnv, 'service-account/injects-image-pull-secrets', 'the default ServiceAccount\'s imagePullSecrets are copied into a pod that lists none, which then runs', async (s) => {
    const image = await privateImage(s);
    await createRegcred(s, 'regcred');
    await setPullSecrets(s, 'default', ['regcred']);
    const created = await s.createPod({ name: 'injected', image: image.ref });
    expect(created.spec?.imagePullSecrets).toEqual([{ name: 'regcred' }]);
    await s.expectRan(await s.runPod({ image: image.ref }), { buildId: image.buildId });
  });

  scenario(getEnv, 'service-account/named-service-account', 'a pod naming its own ServiceAccount gets that ServiceAccount\'s imagePullSecrets', async (s) => {
    const image = await privateImage(s);
    await createRegcred(s, 'regcred');
    await s.env.cluster.kube.core.createNamespacedServiceAccount({ namespace: s.namespace, body: { metadata: { name: 'puller' }, imagePullSecrets: [{ name: 'regcred' }] } });
    const created = await s.createPod({ name: 'named', image: image.ref, serviceAccountName: 'puller' });
    expect(created.spec?.imagePullSecrets).toEqual([{ name: 'regcred' }]);
    await s.expectRan(await s.runPod({ image: image.ref, serviceAccountName: 'puller' }), { buildId: image.buildId });
  });

  scenario(getEnv, 'service-account/pod-own-secrets-win', 'a pod that lists its own imagePullSecrets gets none from the ServiceAccount: its wrong Secret alone is used and the pull fails unauthorized', async (s) => {
    const image = await privateImage(s);
    await createRegcred(s, 'regcred');
    await createRegcred(s, 'wrong', 'wrong-password-123');
    await setPullSecrets(s, 'default', ['regcred']);
    const verdict = await s.runPod({ name: 'own', image: image.ref, imagePullSecrets: ['wrong'] });
    expect(verdict.pod.spec?.imagePullSecrets).toEqual([{ name: 'wrong' }]);
    await s.expectPullFailure(verdict, UNAUTHORIZED);
  });

  scenario(getEnv, 'service-account/existing-pods-unchanged', 'adding imagePullSecrets to the ServiceAccount changes new pods only: a pod created before keeps none', async (s) => {
    const image = await privateImage(s);
    await createRegcred(s, 'regcred');
    const before = await s.runPod({ name: 'before', image: image.ref });
    expect(before.kind).toBe('pull-failed');
    await setPullSecrets(s, 'default', ['regcred']);
    const after = await s.runPod({ name: 'after', image: image.ref });
    await s.expectRan(after, { buildId: image.buildId });
    const stillBefore = await s.env.cluster.kube.core.readNamespacedPod({ name: 'before', namespace: s.namespace });
    expect(stillBefore.spec?.imagePullSecrets ?? []).toEqual([]);
    expect(after.pod.spec?.imagePullSecrets).toEqual([{ name: 'regcred' }]);
  });
});
