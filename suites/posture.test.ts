// The cluster is what its posture declares: the admission plugins that touch images, KEP-2535's gate
// and policy on each node, credential provider plugins and the runtime. Every other suite takes its
// expectations from the declaration; these scenarios are the only ones that read the cluster's own
// settings to judge, and each mismatch is one line naming the setting, the node and both values.
import { defineSuite } from '../helpers/framework/harness.ts';
import { gateExists, readKubeletPullSettings } from '../helpers/kubelet/kep2535.ts';
import { kubeletArgv } from '../helpers/kubelet/process.ts';
import { kubeletPostureOf } from '../helpers/posture/posture.ts';

export const suite = defineSuite({
  name: 'posture',
  // The node agent (clusters whose nodes are not kind containers) is pulled from this registry.
  registries: [{ name: 'private', auth: 'htpasswd' }],
});

const PROBE_IMAGE = 'pullcheck.invalid/posture-probe:1';

suite.scenario(
  'always-pull-images',
  "the cluster's own API server runs AlwaysPullImages exactly when the posture declares it",
  async (s) => {
    const p = s.env.posture;
    // A server-side dry run: admission runs, nothing is stored, no node is involved.
    const pod = await s.env.cluster.kube.core.createNamespacedPod({
      namespace: s.namespace,
      dryRun: 'All',
      body: {
        metadata: { name: 'posture-probe' },
        spec: { containers: [{ name: 'main', image: PROBE_IMAGE, imagePullPolicy: 'IfNotPresent' }] },
      },
    });
    const admitted = pod.spec?.containers[0]?.imagePullPolicy;
    const observed = admitted === 'Always';
    s.rule(
      `declared: AlwaysPullImages ${p.admission.alwaysPullImages ? 'on' : 'off'} (${p.sources.admission}); a dry-run IfNotPresent container was admitted as ${admitted}`,
    );
    if (observed !== p.admission.alwaysPullImages)
      throw new Error(
        `posture: the cluster's API server ${observed ? 'runs' : 'does not run'} AlwaysPullImages (a dry-run IfNotPresent container was admitted as ${admitted}), but the posture declares it ${p.admission.alwaysPullImages ? 'on' : 'off'} (${p.sources.admission}): declare admission.alwaysPullImages: ${observed} (--posture) or change the API server`,
      );
  },
);

suite.scenario(
  'kubelet-credential-verification',
  "every node's kubelet runs the KEP-2535 gate, policy and allowlist the posture declares for it",
  async (s) => {
    const p = s.env.posture;
    const problems: string[] = [];
    for (const node of s.env.cluster.nodeNames) {
      const want = kubeletPostureOf(p, node);
      const have = await readKubeletPullSettings(s.env.cluster.kube, node);
      if (gateExists(have.kubeletVersion) && have.gate.enabled !== want.ensureSecretPulledImages)
        problems.push(
          `${node}: KubeletEnsureSecretPulledImages=${have.gate.enabled} (${have.gate.source}), declared ${want.ensureSecretPulledImages}`,
        );
      if (!have.gate.enabled) continue;
      if (have.policy.value !== want.imagePullCredentialsVerificationPolicy)
        problems.push(
          `${node}: imagePullCredentialsVerificationPolicy=${have.policy.value} (${have.policy.source}), declared ${want.imagePullCredentialsVerificationPolicy}`,
        );
      if (JSON.stringify([...have.allowlist].sort()) !== JSON.stringify([...want.preloadedImagesVerificationAllowlist].sort()))
        problems.push(
          `${node}: preloadedImagesVerificationAllowlist=[${have.allowlist.join(' ')}], declared [${want.preloadedImagesVerificationAllowlist.join(' ')}]`,
        );
    }
    s.rule(`declared (${p.sources.kubelet}); read from each node's /configz`);
    if (problems.length > 0)
      throw new Error(
        `posture: kubelet does not run as declared (${p.sources.kubelet}) — ${problems.join('; ')}: declare what the nodes run (--posture, kubelet/nodes) or change them`,
      );
  },
);

suite.scenario(
  'credential-providers',
  'kubelet runs credential provider plugins exactly where the posture declares them',
  { needs: ['node-access'] },
  async (s) => {
    const p = s.env.posture;
    const problems: string[] = [];
    for (const node of s.env.cluster.nodeNames) {
      const argv = await kubeletArgv(s.env.cluster.nodes, node);
      const flag = argv.find((a) => a.startsWith('--image-credential-provider-config'));
      if (Boolean(flag) !== p.credentialProviders)
        problems.push(`${node}: ${flag ? `kubelet runs with ${flag}` : 'kubelet has no --image-credential-provider-config'}`);
    }
    s.rule(
      `declared: credential providers ${p.credentialProviders ? 'configured' : 'none'} (${p.sources.credentialProviders}); read from kubelet's command line`,
    );
    if (problems.length > 0)
      throw new Error(
        `posture: credential providers are declared ${p.credentialProviders ? 'configured' : 'absent'} (${p.sources.credentialProviders}), but ${problems.join('; ')}: declare credentialProviders: ${!p.credentialProviders} (--posture) or change kubelet`,
      );
  },
);

suite.scenario('runtime', 'every node runs the container runtime the posture declares', async (s) => {
  const p = s.env.posture;
  const nodes = (await s.env.cluster.kube.core.listNode()).items;
  const other = nodes.filter((n) => !(n.status?.nodeInfo?.containerRuntimeVersion ?? '').startsWith(`${p.runtime}://`));
  s.rule(`declared: ${p.runtime} (${p.sources.runtime}); read from each node's status`);
  if (other.length > 0)
    throw new Error(
      `posture: the runtime is declared ${p.runtime} (${p.sources.runtime}), but ${other.map((n) => `${n.metadata?.name} runs ${n.status?.nodeInfo?.containerRuntimeVersion}`).join('; ')}`,
    );
});
