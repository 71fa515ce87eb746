// KEP-2535 ("ensure secret-pulled images"): whether kubelet lets a pod without credentials use an
// image that kubelet itself pulled earlier with another pod's Secret. readKubeletPullSettings reads
// the node's kubelet configuration (configz) and version; the rest is pure and says what must happen.
//
// What kubelet does (pkg/kubelet/images/image_manager.go and pullmanager/ in k8s.io/kubernetes):
// with the gate KubeletEnsureSecretPulledImages off, a present image is used for IfNotPresent
// whoever pulled it. With the gate on, the policy decides whether credentials are re-checked:
// NeverVerify never; NeverVerifyPreloadedImages only for images kubelet pulled (its pull records);
// NeverVerifyAllowlistedImages for every image not on preloadedImagesVerificationAllowlist;
// AlwaysVerify always. A re-check with no credentials is a pull without them.

import type { Kube } from './kube.ts';

export const EnsureSecretPulledImagesGate = 'KubeletEnsureSecretPulledImages';

export const CredentialVerificationPolicy = {
  NeverVerify: 'NeverVerify',
  NeverVerifyPreloadedImages: 'NeverVerifyPreloadedImages',
  NeverVerifyAllowlistedImages: 'NeverVerifyAllowlistedImages',
  AlwaysVerify: 'AlwaysVerify',
} as const;
export type CredentialVerificationPolicy = (typeof CredentialVerificationPolicy)[keyof typeof CredentialVerificationPolicy];

const POLICIES: ReadonlySet<string> = new Set(Object.values(CredentialVerificationPolicy));

/** What the node reported, each value with where it came from. */
export interface KubeletPullSettings {
  kubeletVersion: string;
  gate: { enabled: boolean; source: 'configz' | `default for ${string}` };
  policy: { value: CredentialVerificationPolicy; source: 'configz' | 'default' };
  allowlist: string[];
}

export interface Kep2535Expectation {
  /** True: the pod without credentials must fail to pull. False: it runs on the image already there. */
  needsCredentials: boolean;
  /** One line naming the rule applied and the settings it was applied to, for the scenario log. */
  rule: string;
}

function minorOf(version: string): { major: number; minor: number } {
  const m = /^v?(\d+)\.(\d+)/.exec(version);
  if (!m) throw new Error(`cannot read a Kubernetes version from "${version}"`);
  return { major: Number(m[1]), minor: Number(m[2]) };
}

/** The gate's default: absent before 1.33, alpha (off) in 1.33 and 1.34, beta (on) since 1.35. */
export function gateDefault(kubeletVersion: string): boolean {
  const { major, minor } = minorOf(kubeletVersion);
  return major > 1 || (major === 1 && minor >= 35);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reads the settings from a `/configz` answer (`{"kubeletconfig": {...}}`). */
export function pullSettingsFromConfigz(configz: unknown, kubeletVersion: string): KubeletPullSettings {
  const kc = isRecord(configz) ? configz['kubeletconfig'] : undefined;
  if (!isRecord(kc)) throw new Error('configz answer has no "kubeletconfig" object');
  const gates = isRecord(kc['featureGates']) ? kc['featureGates'] : {};
  const gateValue = gates[EnsureSecretPulledImagesGate];
  const gate: KubeletPullSettings['gate'] = typeof gateValue === 'boolean'
    ? { enabled: gateValue, source: 'configz' }
    : { enabled: gateDefault(kubeletVersion), source: `default for ${kubeletVersion}` };
  const rawPolicy = kc['imagePullCredentialsVerificationPolicy'];
  let policy: KubeletPullSettings['policy'];
  if (rawPolicy === undefined || rawPolicy === '') {
    policy = { value: CredentialVerificationPolicy.NeverVerifyPreloadedImages, source: 'default' };
  } else if (typeof rawPolicy === 'string' && POLICIES.has(rawPolicy)) {
    policy = { value: rawPolicy as CredentialVerificationPolicy, source: 'configz' };
  } else {
    throw new Error(`unknown imagePullCredentialsVerificationPolicy ${JSON.stringify(rawPolicy)}`);
  }
  const rawList = kc['preloadedImagesVerificationAllowlist'];
  const allowlist = Array.isArray(rawList) ? rawList.filter((x): x is string => typeof x === 'string') : [];
  return { kubeletVersion, gate, policy, allowlist };
}

/** The image name without tag or digest, as kubelet matches the allowlist. */
export function imageName(ref: string): string {
  const at = ref.indexOf('@');
  const name = at >= 0 ? ref.slice(0, at) : ref;
  const colon = name.lastIndexOf(':');
  return colon > name.lastIndexOf('/') ? name.slice(0, colon) : name;
}

/** kubelet's allowlist: exact names, or `prefix/*` for everything under a path. */
export function onAllowlist(ref: string, allowlist: readonly string[]): boolean {
  const name = imageName(ref);
  return allowlist.some((p) => (p.endsWith('/*') ? name.startsWith(p.slice(0, -1)) : name === p));
}

/**
 * Pod A pulled `ref` onto the node with a Secret; pod B, without credentials and IfNotPresent, asks
 * for it on the same node. Must B prove it may pull it?
 */
export function kubeletPulledImageExpectation(s: KubeletPullSettings, ref: string): Kep2535Expectation {
  const facts = `kubelet ${s.kubeletVersion}, ${EnsureSecretPulledImagesGate}=${s.gate.enabled} (${s.gate.source}), imagePullCredentialsVerificationPolicy=${s.policy.value} (${s.policy.source})`;
  if (!s.gate.enabled) {
    return { needsCredentials: false, rule: `gate off: a present image is used for IfNotPresent whoever pulled it, so B runs [${facts}]` };
  }
  switch (s.policy.value) {
    case CredentialVerificationPolicy.NeverVerify:
      return { needsCredentials: false, rule: `NeverVerify: present images are never re-checked, so B runs [${facts}]` };
    case CredentialVerificationPolicy.NeverVerifyPreloadedImages:
      return { needsCredentials: true, rule: `NeverVerifyPreloadedImages: the image was pulled by kubelet with a Secret, so B must pull it itself and fails without credentials [${facts}]` };
    case CredentialVerificationPolicy.NeverVerifyAllowlistedImages:
      return onAllowlist(ref, s.allowlist)
        ? { needsCredentials: false, rule: `NeverVerifyAllowlistedImages: ${imageName(ref)} is on the allowlist, so B runs [${facts}]` }
        : { needsCredentials: true, rule: `NeverVerifyAllowlistedImages: ${imageName(ref)} is not on the allowlist, so B must pull it and fails without credentials [${facts}]` };
    case CredentialVerificationPolicy.AlwaysVerify:
      return { needsCredentials: true, rule: `AlwaysVerify: every present image is re-checked, so B fails without credentials [${facts}]` };
  }
}

/** The node's kubelet settings for KEP-2535, from its configz endpoint and its reported version. */
export async function readKubeletPullSettings(kube: Kube, node: string): Promise<KubeletPullSettings> {
  // The generated client is typed as string but hands back the parsed JSON; accept both.
  const raw: unknown = await kube.core.connectGetNodeProxyWithPath({ name: node, path: 'configz' });
  const configz: unknown = typeof raw === 'string' ? JSON.parse(raw) : raw;
  const version = (await kube.core.readNode({ name: node })).status?.nodeInfo?.kubeletVersion ?? '';
  return pullSettingsFromConfigz(configz, version);
}
