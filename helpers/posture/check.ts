// Is the cluster what its posture declares? Each check reads the cluster's own settings (this and
// the posture suite are the only places that may) and returns one line per mismatch. The run calls
// them once before the suites, so that a cluster-wide mismatch is named once and the scenarios whose
// expectations rest on that part of the posture are marked as explained by it.
import type { Cluster } from '../cluster/cluster.ts';
import { admittedPolicy } from '../cluster/apiserver.ts';
import type { Kube } from '../cluster/kube.ts';
import { gateExists, readKubeletPullSettings, type KubeletPullSettings } from '../kubelet/kep2535.ts';
import { kubeletPostureOf, type Posture } from './posture.ts';

/** The parts of a posture a scenario's expectation can rest on. */
export type PosturePart = 'admission' | 'kubelet' | 'credentialProviders' | 'runtime';

export interface PostureMismatch {
  part: PosturePart;
  line: string;
}

/** AlwaysPullImages, by a server-side dry run on the cluster's own API server (admission runs, nothing is stored). */
export async function checkAdmission(
  kube: Kube,
  p: Posture,
  namespace = 'default',
  seen?: (admitted: string | undefined) => void,
): Promise<PostureMismatch[]> {
  const admitted = await admittedPolicy(kube, namespace);
  seen?.(admitted);
  const observed = admitted === 'Always';
  if (observed === p.admission.alwaysPullImages) return [];
  return [
    {
      part: 'admission',
      line: `the cluster's API server ${observed ? 'runs' : 'does not run'} AlwaysPullImages (a dry-run IfNotPresent container was admitted as ${admitted}), but the posture declares it ${p.admission.alwaysPullImages ? 'on' : 'off'} (${p.sources.admission}): declare admission.alwaysPullImages: ${observed} (--posture) or change the API server`,
    },
  ];
}

/** KEP-2535's gate, policy and allowlist on each node, from its /configz. */
export async function checkKubelets(
  cluster: Pick<Cluster, 'kube' | 'nodeNames'>,
  p: Posture,
  seen?: (node: string, have: KubeletPullSettings) => void,
): Promise<PostureMismatch[]> {
  const problems: string[] = [];
  for (const node of cluster.nodeNames) {
    const want = kubeletPostureOf(p, node);
    const have = await readKubeletPullSettings(cluster.kube, node);
    seen?.(node, have);
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
  if (problems.length === 0) return [];
  return [
    {
      part: 'kubelet',
      line: `kubelet does not run as declared (${p.sources.kubelet}) — ${problems.join('; ')}: declare what the nodes run (--posture, kubelet/nodes) or change them`,
    },
  ];
}

/** The checks that need no node access, as the run makes them before the suites. */
export async function checkPosture(cluster: Pick<Cluster, 'kube' | 'nodeNames'>, p: Posture): Promise<PostureMismatch[]> {
  return [...(await checkAdmission(cluster.kube, p)), ...(await checkKubelets(cluster, p))];
}
