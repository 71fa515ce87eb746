// Pod imagePullSecrets: every way the Kubernetes docs make one, how kubelet merges them, and how a
// wrong, missing or out-of-namespace Secret fails.
import type { V1Secret } from '@kubernetes/client-node';
import { type PushedImage, type ScenarioContext, scenario, useEnv } from '../helpers/framework/harness.ts';
import { echoImage } from '../helpers/images/testimages.ts';
import { hostPlatform } from '../helpers/images/oci.ts';
import { EventReason, UNAUTHORIZED } from '../helpers/framework/pods.ts';
import { credentialSearchPaths, installNodeFile, kubeletProcessFacts, renderCredentialFile } from '../helpers/kubelet/nodecreds.ts';
import type { TestRegistry } from '../helpers/registry/registry.ts';
import { dockerCfgSecret, dockerConfigJsonSecret, secretFromConfigFile, type RegistryCredential } from '../helpers/registry/secrets.ts';

/**
 * Changes nodes, under per-node locks: every node it changes or runs a pod on is locked for the
 * scenario, so `pullcheck run` runs it beside other suites like it. Pods that name no node go to
 * the scenario's home node: the last worker (`pinnedPods`) when free, while node-credentials and
 * credential-provider start from the first; else any free node (ensure-secret-pulled's policy
 * groups hold the last worker for ~40 s at a time).
 */
export const changesNodes = true;
export const locksNodes = true;

const getEnv = useEnv({ suite: 'image-pull-secrets', registries: [{ name: 'private', auth: 'htpasswd' }, { name: 'private2', auth: 'htpasswd' }], pinnedPods: 'last-worker' });

function credentialOf(registry: TestRegistry, password = registry.password ?? ''): RegistryCredential {
  return { server: registry.host, username: registry.username ?? '', password };
}

async function pushTo(s: ScenarioContext, registryName: string): Promise<{ pushed: PushedImage; buildId: string }> {
  const test = await echoImage(hostPlatform(), s.env.logger);
  return { pushed: await s.push(s.env.registry(registryName), test.image), buildId: test.buildId };
}



async function createSecret(s: ScenarioContext, body: V1Secret, namespace = s.namespace): Promise<void> {
  await s.env.cluster.kube.core.createNamespacedSecret({ namespace, body });
}

describe('image-pull-secrets: Secrets that work', () => {
  scenario(getEnv, 'image-pull-secrets/dockerconfigjson-secret-pulls', 'a kubernetes.io/dockerconfigjson Secret shaped like kubectl create secret docker-registry pulls from the private registry', async (s) => {
    const { pushed, buildId } = await pushTo(s, 'private');
    await createSecret(s, dockerConfigJsonSecret('regcred', s.namespace, [{ ...credentialOf(s.env.registry('private')), email: 'pullcheck@example.invalid' }]));
    await s.expectRan(await s.runPod({ image: pushed.ref, imagePullSecrets: ['regcred'] }), { buildId: buildId });
  });

  scenario(getEnv, 'image-pull-secrets/from-existing-config-file', 'a Secret made from an existing docker config file (auths with only "auth", as docker login writes) pulls', async (s) => {
    const registry = s.env.registry('private');
    const { pushed, buildId } = await pushTo(s, 'private');
    const c = credentialOf(registry);
    const configFile = JSON.stringify({ auths: { [c.server]: { auth: Buffer.from(`${c.username}:${c.password}`).toString('base64') } } }, null, '\t');
    await createSecret(s, secretFromConfigFile('from-file', s.namespace, configFile));
    await s.expectRan(await s.runPod({ image: pushed.ref, imagePullSecrets: ['from-file'] }), { buildId: buildId });
  });

  scenario(getEnv, 'image-pull-secrets/legacy-dockercfg-secret', 'a legacy kubernetes.io/dockercfg Secret pulls', async (s) => {
    const { pushed, buildId } = await pushTo(s, 'private');
    await createSecret(s, dockerCfgSecret('legacy', s.namespace, [credentialOf(s.env.registry('private'))]));
    await s.expectRan(await s.runPod({ image: pushed.ref, imagePullSecrets: ['legacy'] }), { buildId: buildId });
  });

  scenario(getEnv, 'image-pull-secrets/one-secret-per-registry-merged', 'a pod with containers from two private registries and a Secret for each runs both', async (s) => {
    const a = await pushTo(s, 'private');
    const b = await pushTo(s, 'private2');
    await createSecret(s, dockerConfigJsonSecret('cred-a', s.namespace, [credentialOf(s.env.registry('private'))]));
    await createSecret(s, dockerConfigJsonSecret('cred-b', s.namespace, [credentialOf(s.env.registry('private2'))]));
    const verdict = await s.runPod({ image: a.pushed.ref, extraContainers: [{ name: 'second', image: b.pushed.ref }], imagePullSecrets: ['cred-a', 'cred-b'] });
    await s.expectRan(verdict, { buildId: a.buildId });
    expect(await s.log(verdict.pod, 'second')).toContain(`build=${b.buildId}`);
  });
});

describe('image-pull-secrets: merged with the node\'s own credentials', () => {
  scenario(getEnv, 'image-pull-secrets/merged-with-node-credentials', 'node config.json for registry A and a pod Secret for registry B: one pod with an image from each runs both', async (s) => {
    const node = await s.homeNode();
    const a = await pushTo(s, 'private');
    const b = await pushTo(s, 'private2');
    const rootDir = credentialSearchPaths(await kubeletProcessFacts(s.env.cluster.nodes, node)).find((p) => p.format === 'config.json' && p.place === 'root-dir');
    if (!rootDir) throw new Error('no {root-dir}/config.json search path');
    await installNodeFile(s, node, rootDir.path, renderCredentialFile('config.json', [credentialOf(s.env.registry('private'))]));
    await createSecret(s, dockerConfigJsonSecret('cred-b', s.namespace, [credentialOf(s.env.registry('private2'))]));
    const verdict = await s.runPod({ image: a.pushed.ref, extraContainers: [{ name: 'second', image: b.pushed.ref }], imagePullSecrets: ['cred-b'], nodeName: node });
    await s.expectRan(verdict, { buildId: a.buildId });
    expect(await s.log(verdict.pod, 'second')).toContain(`build=${b.buildId}`);
  });
});

describe('image-pull-secrets: Secrets that do not', () => {
  scenario(getEnv, 'image-pull-secrets/no-secret-fails', 'without a Secret the private image fails to pull: unauthorized', async (s) => {
    const { pushed } = await pushTo(s, 'private');
    await s.expectPullFailure(await s.runPod({ name: 'no-secret', image: pushed.ref }), UNAUTHORIZED);
  });

  scenario(getEnv, 'image-pull-secrets/wrong-password-fails', 'a Secret with a wrong password fails to pull: unauthorized in the event message', async (s) => {
    const { pushed } = await pushTo(s, 'private');
    await createSecret(s, dockerConfigJsonSecret('wrong', s.namespace, [credentialOf(s.env.registry('private'), 'wrong-password-123')]));
    await s.expectPullFailure(await s.runPod({ name: 'wrong', image: pushed.ref, imagePullSecrets: ['wrong'] }), UNAUTHORIZED);
  });

  scenario(getEnv, 'image-pull-secrets/missing-secret-name', 'a Secret name that does not exist: FailedToRetrieveImagePullSecret, then the pull fails unauthorized', async (s) => {
    const { pushed } = await pushTo(s, 'private');
    const verdict = await s.runPod({ name: 'missing', image: pushed.ref, imagePullSecrets: ['does-not-exist'] });
    const event = await s.waitForEvent('missing', EventReason.FailedToRetrieveImagePullSecret, /does-not-exist/);
    expect(event.type).toBe('Warning');
    await s.expectPullFailure(verdict, UNAUTHORIZED);
  });

  scenario(getEnv, 'image-pull-secrets/other-namespace-secret-not-used', 'a Secret that exists only in another namespace is not used: FailedToRetrieveImagePullSecret and unauthorized', async (s) => {
    const { pushed } = await pushTo(s, 'private');
    const other = await s.extraNamespace('other');
    await createSecret(s, dockerConfigJsonSecret('regcred', other, [credentialOf(s.env.registry('private'))]), other);
    const verdict = await s.runPod({ name: 'elsewhere', image: pushed.ref, imagePullSecrets: ['regcred'] });
    await s.waitForEvent('elsewhere', EventReason.FailedToRetrieveImagePullSecret, /regcred/);
    await s.expectPullFailure(verdict, UNAUTHORIZED);
  });
});
