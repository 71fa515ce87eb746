// Is the cluster what its posture declares? Each check reads the cluster's own settings (this and
// the posture suite are the only places that may) and returns one line per mismatch. The run calls
// them once before the suites, so that a cluster-wide mismatch is named once and the scenarios whose
// expectations rest on that part of the posture are marked as explained by it.

import { admittedPolicy } from '../cluster/apiserver.ts';
import type { Cluster } from '../cluster/cluster.ts';
import type { Kube } from '../cluster/kube.ts';
import { AudienceRestrictionGate, apiServerFacts } from '../kubelet/credprovider.ts';
import { type ImagePullSettings, imagePullMismatch } from '../kubelet/imagepulls.ts';
import { CredentialVerificationPolicy, EnsureSecretPulledImagesGate, gateExists, type KubeletPullSettings } from '../kubelet/kep2535.ts';
import { readImagePullSettings, readKubeletPullSettings } from '../kubelet/pullsettings.ts';
import type { PostureMismatch, PosturePart } from '../model/posture.ts';
import type { Finding } from '../report/schema.ts';
import {
  declaredImagePulls,
  type KubeletPosture,
  kubeletPostureOf,
  kubeletVersionMismatch,
  nodeAudienceRestrictionDefault,
  nodeAudienceRestrictionMismatch,
  type Posture,
  upstreamDefaults,
} from './posture.ts';
import { checkRuntime } from './runtime.ts';

export type { PostureMismatch, PosturePart } from '../model/posture.ts';

/** The parts of a posture a scenario's expectation can rest on. */

/** A part of the cluster that is not what the posture declares: a finding that fails the run. */

/**
 * The fix is the cluster's or the declaration's: pullcheck cannot tell which one is wrong, and
 * declaring what a cluster runs can turn a leak into a pass, so it never advises that alone.
 */
const FIX = 'fix the cluster, or the declaration if it is the one that is wrong';

/** The finding a mismatch is, without the part only attribution needs. */
export function asFinding({ part: _part, ...finding }: PostureMismatch): Finding {
  return finding;
}

function mismatch(part: PosturePart, nodes: string[], line: string): PostureMismatch {
  return { part, source: 'posture', cause: `posture:${part}`, nodes, line: `${line}: ${FIX}`, fails: true };
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
    mismatch(
      'admission',
      [],
      `the cluster's API server ${observed ? 'runs' : 'does not run'} AlwaysPullImages (a dry-run IfNotPresent container was admitted as ${admitted}), and the posture declares it ${p.admission.alwaysPullImages ? 'on' : 'off'} (${p.sources.admission})`,
    ),
  ];
}

/** KEP-2535's gate, policy and allowlist on each node, from its /configz. */
export async function checkKubelets(
  cluster: Pick<Cluster, 'kube' | 'nodeNames'>,
  p: Posture,
  seen?: (node: string, have: KubeletPullSettings) => void,
): Promise<PostureMismatch[]> {
  const problems: string[] = [];
  const nodes = new Set<string>();
  for (const node of cluster.nodeNames) {
    const before = problems.length;
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
    if (problems.length > before) nodes.add(node);
  }
  if (problems.length === 0) return [];
  return [mismatch('kubelet', [...nodes], `kubelet does not run as declared (${p.sources.kubelet}) — ${problems.join('; ')}`)];
}

/** serializeImagePulls and maxParallelImagePulls on each node, from its /configz. */
export async function checkImagePulls(
  cluster: Pick<Cluster, 'kube' | 'nodeNames'>,
  p: Posture,
  seen?: (node: string, have: ImagePullSettings) => void,
): Promise<PostureMismatch[]> {
  const problems: { node: string; line: string }[] = [];
  for (const node of cluster.nodeNames) {
    const have = await readImagePullSettings(cluster.kube, node);
    seen?.(node, have);
    const line = imagePullMismatch(have, declaredImagePulls(p, node));
    if (line) problems.push({ node, line: `${node}: ${line}` });
  }
  if (problems.length === 0) return [];
  return [
    mismatch(
      'kubelet',
      problems.map((x) => x.node),
      `kubelet does not pull images as declared (${p.sources.kubelet}) — ${problems.map((x) => x.line).join('; ')}`,
    ),
  ];
}

const LEAK = 'a private image pulled on a node runs for any pod on it, without credentials';

function weakerKubelet(k: KubeletPosture, upstream: KubeletPosture, where: string, version: string): string[] {
  const out: string[] = [];
  if (!k.ensureSecretPulledImages && upstream.ensureSecretPulledImages)
    out.push(`${where}${EnsureSecretPulledImagesGate}=false where upstream's default for ${version} is true`);
  else if (k.ensureSecretPulledImages && k.imagePullCredentialsVerificationPolicy === CredentialVerificationPolicy.NeverVerify)
    out.push(
      `${where}imagePullCredentialsVerificationPolicy=NeverVerify where upstream's default is ${upstream.imagePullCredentialsVerificationPolicy}`,
    );
  return out;
}

/**
 * Declared fields weaker than upstream's default for the version: reported in the summary, junit.xml
 * and the report, so that a declaration cannot quietly make a leak pass. They do not fail the run:
 * the cluster runs as declared, and the owner chose it.
 */
export function weakerThanUpstream(p: Posture): Finding[] {
  if (!p.sources.kubelet.startsWith('declared')) return [];
  const upstream = upstreamDefaults(p.kubernetesVersion).kubelet;
  const lines = [
    ...weakerKubelet(p.kubelet, upstream, '', p.kubernetesVersion),
    ...Object.entries(p.nodes).flatMap(([node, k]) => weakerKubelet(k, upstream, `${node}: `, p.kubernetesVersion)),
  ];
  return lines.map((line) => ({
    source: 'declaration' as const,
    cause: 'weaker-than-upstream:kubelet',
    nodes: [],
    line: `declared weaker than upstream (${p.sources.kubelet}): ${line}${p.admission.alwaysPullImages ? '' : ', and AlwaysPullImages is off'}: ${LEAK}`,
    fails: false,
  }));
}

/** The API server's node audience restriction: its --feature-gates, else its version's default. */
export async function observedAudienceRestriction(kube: Kube): Promise<{ restricted: boolean; source: string }> {
  const api = await apiServerFacts(kube);
  const explicit = api.gates[AudienceRestrictionGate];
  return {
    restricted: explicit ?? nodeAudienceRestrictionDefault(api.version),
    source:
      explicit === undefined
        ? `no --feature-gates for it on the API server ${api.version}: its default`
        : "the API server's --feature-gates",
  };
}

/** The audience restriction the scenarios' expectations read (part admission). */
export async function checkAudienceRestriction(kube: Kube, p: Posture): Promise<PostureMismatch[]> {
  const line = nodeAudienceRestrictionMismatch(p, await observedAudienceRestriction(kube));
  return line ? [{ part: 'admission', source: 'posture', cause: 'posture:node-audience-restriction', nodes: [], line, fails: true }] : [];
}

/** Each node's reported kubelet version against the declared one (part kubelet). */
export async function checkKubeletVersions(kube: Kube, p: Posture): Promise<PostureMismatch[]> {
  const nodes = (await kube.core.listNode()).items;
  const problems = nodes.flatMap((n) => {
    const name = n.metadata?.name ?? '';
    const line = kubeletVersionMismatch(p, name, n.status?.nodeInfo?.kubeletVersion ?? '(none reported)');
    return line ? [{ name, line }] : [];
  });
  if (problems.length === 0) return [];
  return [
    {
      part: 'kubelet',
      source: 'posture',
      cause: 'posture:kubelet-version',
      nodes: problems.map((x) => x.name),
      line: problems.map((x) => x.line).join('; '),
      fails: true,
    },
  ];
}

/** The checks that need no node access, as the run makes them before the suites. */
export async function checkPosture(cluster: Pick<Cluster, 'kube' | 'nodeNames'>, p: Posture): Promise<PostureMismatch[]> {
  return [
    ...(await checkAdmission(cluster.kube, p)),
    ...(await checkAudienceRestriction(cluster.kube, p)),
    ...(await checkKubeletVersions(cluster.kube, p)),
    ...(await checkRuntime(cluster.kube, p)),
    ...(await checkKubelets(cluster, p)),
    ...(await checkImagePulls(cluster, p)),
  ];
}
