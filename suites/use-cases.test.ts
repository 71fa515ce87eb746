// The four use cases the Kubernetes "Images" page closes with, end to end. The third
// (proprietary images with AlwaysPullImages) needs its own cluster and lives in
// always-pull-images.test.ts as use-cases/proprietary-always-pull-with-secrets.
import { type ScenarioContext, scenario, useEnv } from '../helpers/framework/harness.ts';
import { echoImage } from '../helpers/images/testimages.ts';
import { credentialSearchPaths, installNodeFile, kubeletProcessFacts, renderCredentialFile } from '../helpers/kubelet/nodecreds.ts';
import { hostPlatform } from '../helpers/images/oci.ts';
import { podLog, ranToCompletion, UNAUTHORIZED, waitForVerdict } from '../helpers/framework/pods.ts';
import type { TestRegistry } from '../helpers/registry/registry.ts';
import { dockerConfigJsonSecret, type RegistryCredential } from '../helpers/registry/secrets.ts';

/**
 * Changes nodes, under per-node locks: every node it changes or runs a pod on is locked for the
 * scenario, so `pullcheck run` runs it beside other suites like it. Pods that name no node go to
 * the scenario's home node: the first worker (`pinnedPods`), the one image-pull-secrets and
 * ensure-secret-pulled leave alone, when free, else any free node.
 */
export const changesNodes = true;
export const locksNodes = true;

const getEnv = useEnv({
    suite: 'use-cases',
    registries: [{ name: 'public', auth: 'none' }, { name: 'company', auth: 'htpasswd' }, { name: 'tenant-a', auth: 'htpasswd' }, { name: 'tenant-b', auth: 'htpasswd' }],
    pinnedPods: 'first-worker',
  });

function credentialOf(r: TestRegistry): RegistryCredential {
  return { server: r.host, username: r.username ?? '', password: r.password ?? '' };
}

async function pushTo(s: ScenarioContext, registry: string) {
  const test = await echoImage(hostPlatform(), s.env.logger);
  return { ...(await s.push(s.env.registry(registry), test.image)), buildId: test.buildId };
}

describe('use-cases', () => {
  scenario(getEnv, 'use-cases/public-images-no-config', 'public images only: an anonymous registry, nothing configured on nodes or pods, the pod runs', async (s) => {
    const image = await pushTo(s, 'public');
    const verdict = ranToCompletion(await s.runPod({ image: image.ref }));
    expect(await s.log(verdict.pod)).toContain(`build=${image.buildId}`);
  });

  scenario(getEnv, 'use-cases/private-registry-node-config', 'a company registry with the same config.json on every node: a pod without Secrets runs on each node', async (s) => {
    const image = await pushTo(s, 'company');
    const content = renderCredentialFile('config.json', [credentialOf(s.env.registry('company'))]);
    for (const node of s.env.cluster.nodeNames) {
      await s.lockNode(node);
      const path = credentialSearchPaths(await kubeletProcessFacts(s.env.cluster.nodes, node)).find((p) => p.format === 'config.json' && p.place === 'root-dir');
      if (!path) throw new Error(`${node}: no {root-dir}/config.json search path`);
      await installNodeFile(s, node, path.path, content);
    }
    for (const node of s.env.cluster.nodeNames) {
      const verdict = ranToCompletion(await s.runPod({ name: `on-${node}`, image: image.ref, nodeName: node }));
      expect(await s.log(verdict.pod)).toContain(`build=${image.buildId}`);
    }
  });

  scenario(getEnv, 'use-cases/multi-tenant-per-namespace-registries', 'each tenant its own registry and credentials in its namespace: own pulls run, cross-tenant pulls fail unauthorized', async (s) => {
    const { kube } = s.env.cluster;
    const a = await pushTo(s, 'tenant-a');
    const b = await pushTo(s, 'tenant-b');
    // Tenant A is this scenario's namespace, tenant B a second one; each holds only its own Secret.
    const nsB = await s.extraNamespace('b');
    await kube.core.createNamespacedSecret({ namespace: s.namespace, body: dockerConfigJsonSecret('tenant', s.namespace, [credentialOf(s.env.registry('tenant-a'))]) });
    await kube.core.createNamespacedSecret({ namespace: nsB, body: dockerConfigJsonSecret('tenant', nsB, [credentialOf(s.env.registry('tenant-b'))]) });
    const ownA = ranToCompletion(await s.runPod({ name: 'a-own', image: a.ref, imagePullSecrets: ['tenant'] }));
    expect(await s.log(ownA.pod)).toContain(`build=${a.buildId}`);
    const cross = await s.runPod({ name: 'a-takes-b', image: b.ref, imagePullSecrets: ['tenant'] });
    await s.expectPullFailure(cross, UNAUTHORIZED);
    // And tenant B with its own Secret runs its own image (on the node tenant A's pods used, locked).
    const node = ownA.pod.spec?.nodeName ?? '';
    await s.lockNode(node);
    await kube.core.createNamespacedPod({ namespace: nsB, body: { metadata: { name: 'b-own' }, spec: { restartPolicy: 'Never', nodeName: node, imagePullSecrets: [{ name: 'tenant' }], containers: [{ name: 'main', image: b.ref }] } } });
    const ownB = ranToCompletion(await waitForVerdict(kube, nsB, 'b-own'));
    expect(await podLog(kube, nsB, ownB.pod.metadata?.name ?? '')).toContain(`build=${b.buildId}`);
  });
});
