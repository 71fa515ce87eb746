// The cluster is what its posture declares: the admission plugins that touch images, KEP-2535's gate
// and policy and serial or parallel image pulls on each node, credential provider plugins and the
// runtime. Every other suite takes its expectations from the declaration; these scenarios are the
// only ones that read the cluster's own settings to judge, and each mismatch is one line naming
// the setting, the node and both values.
import {
  AudienceRestrictionGate,
  checkAdmission,
  checkImagePulls,
  checkKubelets,
  checkKubeletVersions,
  checkRuntime,
  defineSuite,
  describeImagePulls,
  kubeletArgv,
  kubeletVersionOf,
  nodeAudienceRestrictionMismatch,
  observedAudienceRestriction,
  runtimeOf,
} from '../helpers/framework/harness.ts';

export const suite = defineSuite({
  name: 'posture',
  // The node agent (clusters whose nodes are not kind containers) is pulled from this registry.
  registries: [{ name: 'private', auth: 'htpasswd' }],
});

suite.scenario(
  'always-pull-images',
  "the cluster's own API server runs AlwaysPullImages exactly when the posture declares it",
  async (s) => {
    const p = s.env.posture;
    s.rule(
      `declared: AlwaysPullImages ${p.admission.alwaysPullImages ? 'on' : 'off'} (${p.sources.admission}); checked by a dry run on the cluster's API server`,
    );
    const [mismatch] = await checkAdmission(s.env.cluster.kube, p, s.namespace, (admitted) =>
      s.observe('api-server', [`IfNotPresent admitted as ${admitted ?? '(none)'}`]),
    );
    if (mismatch) throw new Error(`posture: ${mismatch.line}`);
  },
);

suite.scenario(
  'kubelet-credential-verification',
  "every node's kubelet runs the KEP-2535 gate, policy and allowlist the posture declares for it",
  async (s) => {
    s.rule(`declared (${s.env.posture.sources.kubelet}); read from each node's /configz`);
    const [mismatch] = await checkKubelets(s.env.cluster, s.env.posture, (node, have) =>
      s.observe(s.nodeRole(node), [
        `gate ${have.gate.enabled}`,
        ...(have.gate.enabled ? [`policy ${have.policy.value}`, `allowlist ${have.allowlist.length}`] : []),
      ]),
    );
    if (mismatch) throw new Error(`posture: ${mismatch.line}`);
  },
);

suite.scenario(
  'kubelet-image-pulls',
  "every node's kubelet sends image pulls to the runtime as the posture declares: serializeImagePulls, and maxParallelImagePulls where pulls are parallel",
  async (s) => {
    s.rule(`declared (${s.env.posture.sources.kubelet}); read from each node's /configz`);
    const [mismatch] = await checkImagePulls(s.env.cluster, s.env.posture, (node, have) =>
      s.observe(s.nodeRole(node), [describeImagePulls(have)]),
    );
    if (mismatch) throw new Error(`posture: ${mismatch.line}`);
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
      s.observe(s.nodeRole(node), [`credential providers ${flag ? 'configured' : 'none'}`]);
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
  s.rule(`declared: ${p.runtime} (${p.sources.runtime}); read from each node's status.nodeInfo.containerRuntimeVersion`);
  const [mismatch] = await checkRuntime(s.env.cluster.kube, p, (n) =>
    s.observe(s.nodeRole(n.name), [`runtime ${runtimeOf(n.containerRuntimeVersion)}`]),
  );
  if (mismatch) throw new Error(`posture: ${mismatch.line}`);
});

suite.scenario(
  'node-audience-restriction',
  "the cluster's API server restricts node token audiences (ServiceAccountNodeAudienceRestriction) exactly when the posture declares it",
  async (s) => {
    const p = s.env.posture;
    // Unset, the API server runs its own version's default.
    const observed = await observedAudienceRestriction(s.env.cluster.kube);
    s.observe('api-server', [`node audience restriction ${observed.restricted}`]);
    s.rule(
      `declared: ${AudienceRestrictionGate}=${p.admission.serviceAccountNodeAudienceRestriction} (${p.sources.nodeAudienceRestriction}); read from the kube-apiserver pods' --feature-gates`,
    );
    const mismatch = nodeAudienceRestrictionMismatch(p, observed);
    if (mismatch) throw new Error(`posture: ${mismatch}`);
  },
);

suite.scenario('kubelet-versions', "every node's kubelet runs the version the posture declares for it", async (s) => {
  const p = s.env.posture;
  const nodes = (await s.env.cluster.kube.core.listNode()).items;
  s.rule(
    `declared: ${nodes.map((n) => `${n.metadata?.name} ${kubeletVersionOf(p, n.metadata?.name ?? '')}`).join(', ')}; read from each node's status`,
  );
  // The minor, as a diff across an upgrade should see it; patches may differ node to node.
  for (const n of nodes)
    s.observe(s.nodeRole(n.metadata?.name ?? ''), [
      `kubelet ${(/^v?\d+\.\d+/.exec(n.status?.nodeInfo?.kubeletVersion ?? '') ?? ['(none reported)'])[0]}`,
    ]);
  const problems = (await checkKubeletVersions(s.env.cluster.kube, p)).map((m) => m.line);
  if (problems.length > 0) throw new Error(`posture: ${problems.join('; ')}`);
});
