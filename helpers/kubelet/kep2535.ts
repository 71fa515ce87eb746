// KEP-2535 ("ensure secret-pulled images"): whether kubelet lets a pod without credentials use an
// image that kubelet itself pulled earlier with another pod's Secret. readKubeletPullSettings reads
// the node's kubelet configuration (configz) and version, readPullHistory kubelet's pull record of an
// image; the rest is pure and says what must happen (unit-tested in test/kep2535.test.ts).
//
// What kubelet does (pkg/kubelet/images/image_manager.go and pullmanager/ in k8s.io/kubernetes):
// with the gate KubeletEnsureSecretPulledImages off, a present image is used for IfNotPresent
// whoever pulled it. With the gate on, the policy decides whether credentials are re-checked:
// NeverVerify never; NeverVerifyPreloadedImages only for images kubelet pulled (its pull records);
// NeverVerifyAllowlistedImages for every image not on preloadedImagesVerificationAllowlist;
// AlwaysVerify always. A re-check with no credentials is a pull without them.

import { createHash } from 'node:crypto';
import { isRecord } from '../infra/guards.ts';
import { CredentialVerificationPolicy } from '../model/posture.ts';
import type { NodeAccess } from '../node/access.ts';
import type { KubeletConfigPatch } from './config.ts';
import { kubeletArgv, rootDirOf } from './process.ts';

export { CredentialVerificationPolicy } from '../model/posture.ts';

export const EnsureSecretPulledImagesGate = 'KubeletEnsureSecretPulledImages';

const POLICIES: ReadonlySet<string> = new Set(Object.values(CredentialVerificationPolicy));

/** KEP-2535 settings, each value with where it came from: the declared posture, or (checking it) the node. */
export interface KubeletPullSettings {
  kubeletVersion: string;
  gate: { enabled: boolean; source: 'configz' | 'declared' | `default for ${string}` };
  policy: { value: CredentialVerificationPolicy; source: 'configz' | 'default' | 'declared' };
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

/** Reads the settings from a `/configz` answer (`{"kubeletconfig": {...}}`). */
export function pullSettingsFromConfigz(configz: unknown, kubeletVersion: string): KubeletPullSettings {
  const kc = isRecord(configz) ? configz['kubeletconfig'] : undefined;
  if (!isRecord(kc)) throw new Error('configz answer has no "kubeletconfig" object');
  const gates = isRecord(kc['featureGates']) ? kc['featureGates'] : {};
  const gateValue = gates[EnsureSecretPulledImagesGate];
  const gate: KubeletPullSettings['gate'] =
    typeof gateValue === 'boolean'
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
      return {
        needsCredentials: true,
        rule: `NeverVerifyPreloadedImages: the image was pulled by kubelet with a Secret, so B must pull it itself and fails without credentials [${facts}]`,
      };
    case CredentialVerificationPolicy.NeverVerifyAllowlistedImages:
      return onAllowlist(ref, s.allowlist)
        ? { needsCredentials: false, rule: `NeverVerifyAllowlistedImages: ${imageName(ref)} is on the allowlist, so B runs [${facts}]` }
        : {
            needsCredentials: true,
            rule: `NeverVerifyAllowlistedImages: ${imageName(ref)} is not on the allowlist, so B must pull it and fails without credentials [${facts}]`,
          };
    case CredentialVerificationPolicy.AlwaysVerify:
      return { needsCredentials: true, rule: `AlwaysVerify: every present image is re-checked, so B fails without credentials [${facts}]` };
  }
}

// ---------------------------------------------------------------------------------------------
// The whole check, per policy and per kind of present image (the ensure-secret-pulled suite).
//
// kubelet v1.36.3 and v1.37.2 (the same code in both), for a container whose image is present and
// whose policy is IfNotPresent:
// - images.EnsureImageExists: gate off → "already present on machine", no check. Gate on →
//   PullManager.MustAttemptImagePull(image, imageRef, the pod's credentials); true means pull.
// - MustAttemptImagePull: `pulledByKubelet` = a pull record for imageRef (the CRI image id) or a pull
//   intent for the image exists (under <root-dir>/image_manager/pulled and /pulling). The policy's
//   RequireCredentialVerificationForImage(image, pulledByKubelet) (pullmanager/image_pull_policies.go):
//   NeverVerify false; NeverVerifyPreloadedImages pulledByKubelet; NeverVerifyAllowlistedImages
//   "not on the allowlist" (whoever brought the image); AlwaysVerify true. Not required → use it.
//   Required: no record → pull. The record's credentialMapping entry for the image name (tag and
//   digest cut) missing → pull; nodePodsAccessible (pulled with no pod credentials) → use it; else
//   the pod's Secrets are compared with the recorded ones: the same credential hash (sha256 of the
//   JSON of username, password, email) OR the same coordinates (namespace, name, UID) → use it
//   (and the new Secret is added to the record); nothing matches → pull.
// - The pull is the ordinary one: with the pod's Secrets for the registry, or anonymous without any;
//   a Secret the registry refuses fails it ("Failed to pull image … unauthorized").

/** KEP-2535's gate and its policy field exist from v1.33 (alpha) on. */
export function gateExists(kubeletVersion: string): boolean {
  const { major, minor } = minorOf(kubeletVersion);
  return major > 1 || (major === 1 && minor >= 33);
}

/** `NeverVerifyAllowlistedImages` → `never-verify-allowlisted-images`, for scenario ids. */
export function policyKebab(policy: CredentialVerificationPolicy): string {
  return policy.replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase();
}

export interface PolicyWanted {
  policy: CredentialVerificationPolicy;
  /** preloadedImagesVerificationAllowlist; kubelet accepts it only with NeverVerifyAllowlistedImages. */
  allowlist?: readonly string[];
}

/**
 * What to write into the node's kubelet configuration to run with `want`, or why it cannot be
 * done. The gate is turned on in the file where the version has it but it is off (alpha in 1.33 and
 * 1.34, or turned off); a gate turned off on kubelet's command line wins over the file, so that node
 * is skipped. The allowlist is removed for every other policy (kubelet refuses it there).
 */
export function policyPlan(
  current: KubeletPullSettings,
  want: PolicyWanted,
  commandLineGates: Readonly<Record<string, boolean>> = {},
): { patch: KubeletConfigPatch; note: string } | { skip: string; declared?: boolean } {
  const v = current.kubeletVersion;
  if (!gateExists(v))
    return {
      skip: `kubelet ${v} has no ${EnsureSecretPulledImagesGate} gate (KEP-2535 came as alpha in v1.33): there is no imagePullCredentialsVerificationPolicy to set`,
      // The version table rules it out: skipped by declaration, not a failure to run.
      declared: true,
    };
  if (commandLineGates[EnsureSecretPulledImagesGate] === false)
    return {
      skip: `${EnsureSecretPulledImagesGate}=false on kubelet ${v}'s command line (--feature-gates), which wins over the configuration file`,
    };
  const allowlist = want.allowlist ?? [];
  if (allowlist.length > 0 && want.policy !== CredentialVerificationPolicy.NeverVerifyAllowlistedImages) {
    throw new Error(`an allowlist is only accepted with NeverVerifyAllowlistedImages, not ${want.policy}`);
  }
  const gateOn = current.gate.enabled || commandLineGates[EnsureSecretPulledImagesGate] === true;
  const patch: KubeletConfigPatch = {
    fields: {
      imagePullCredentialsVerificationPolicy: want.policy,
      preloadedImagesVerificationAllowlist: allowlist.length > 0 ? [...allowlist] : null,
    },
    ...(gateOn ? {} : { featureGates: { [EnsureSecretPulledImagesGate]: true } }),
  };
  const gateNote = gateOn
    ? `${EnsureSecretPulledImagesGate} already on (${current.gate.source})`
    : `turning ${EnsureSecretPulledImagesGate} on in the file (off: ${current.gate.source})`;
  return {
    patch,
    note: `kubelet ${v}: ${gateNote}; policy ${want.policy}${allowlist.length > 0 ? `, allowlist ${allowlist.join(' ')}` : ''}`,
  };
}

/** A Secret as kubelet tracks it in pull records and compares it: coordinates and credential hash. */
export interface SecretCoordinates {
  namespace: string;
  name: string;
  uid: string;
  credentialHash: string;
}

/**
 * kubelet's credential hash of a registry credential (credentialprovider.hashAuthConfig): sha256 of
 * Go's JSON of AuthConfig{Username, Password, Email} (empty fields left out, `<`, `>`, `&`, U+2028
 * and U+2029 escaped as Go does). Two Secrets with the same credentials have the same hash.
 */
export function kubeletCredentialHash(c: { username: string; password: string; email?: string }): string {
  const obj: Record<string, string> = {};
  if (c.username) obj['username'] = c.username;
  if (c.password) obj['password'] = c.password;
  if (c.email) obj['email'] = c.email;
  const goJson = JSON.stringify(obj).replace(/[<>&\u2028\u2029]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return createHash('sha256').update(goJson).digest('hex');
}

/** The credentials a pull record holds for one image name. */
export interface RecordedCredentials {
  nodePodsAccessible: boolean;
  secrets: SecretCoordinates[];
  serviceAccounts: number;
}

/** What kubelet knows of how the image came to the node. */
export type PullHistory =
  /** No pull record: the image came some other way (an admin's `ctr import`, a pre-baked node). */
  | { kind: 'no-record' }
  /** A pull record; `credentials` is its entry for the image's name, undefined when it has none. */
  | { kind: 'record'; credentials: RecordedCredentials | undefined };

/** The file kubelet keeps the pull record of a CRI image id in (pullmanager/fs_pullrecords.go). */
export function pulledRecordPath(rootDir: string, imageRef: string): string {
  return `${rootDir.replace(/\/+$/, '')}/image_manager/pulled/sha256-${createHash('sha256').update(imageRef).digest('hex')}`;
}

/** Reads a pull record (JSON, kind ImagePulledRecord) for the image `ref` names. */
export function pullHistoryFromRecord(recordJson: string, imageRef: string, ref: string): PullHistory {
  const parsed: unknown = JSON.parse(recordJson);
  if (!isRecord(parsed) || parsed['kind'] !== 'ImagePulledRecord') throw new Error('not an ImagePulledRecord');
  if (parsed['imageRef'] !== imageRef) throw new Error(`the record is for ${String(parsed['imageRef'])}, not ${imageRef}`);
  const mapping = isRecord(parsed['credentialMapping']) ? parsed['credentialMapping'] : {};
  const entry = mapping[imageName(ref)];
  if (!isRecord(entry)) return { kind: 'record', credentials: undefined };
  const secrets = Array.isArray(entry['kubernetesSecrets']) ? entry['kubernetesSecrets'].filter(isRecord) : [];
  return {
    kind: 'record',
    credentials: {
      nodePodsAccessible: entry['nodePodsAccessible'] === true,
      secrets: secrets.map((x) => ({
        namespace: String(x['namespace'] ?? ''),
        name: String(x['name'] ?? ''),
        uid: String(x['uid'] ?? ''),
        credentialHash: String(x['credentialHash'] ?? ''),
      })),
      serviceAccounts: Array.isArray(entry['kubernetesServiceAccounts']) ? entry['kubernetesServiceAccounts'].length : 0,
    },
  };
}

/** The CRI image id of `ref` on the node and kubelet's pull history of it, read from its record file. */
export async function readPullHistory(
  nodes: NodeAccess,
  node: string,
  rootDir: string,
  ref: string,
): Promise<{ imageRef: string; history: PullHistory }> {
  const inspected = await nodes.exec(node, ['crictl', 'inspecti', '-o', 'json', ref]);
  const status: unknown = (JSON.parse(inspected.stdout) as Record<string, unknown>)['status'];
  const imageRef = isRecord(status) && typeof status['id'] === 'string' ? status['id'] : '';
  if (!imageRef) throw new Error(`${node}: crictl inspecti ${ref} reports no image id`);
  return { imageRef, history: await readPullRecord(nodes, node, rootDir, imageRef, ref) };
}

/** kubelet's pull record filed under `recordKey` (an image ID, or a name@digest), for the image `ref` names. */
export async function readPullRecord(
  nodes: NodeAccess,
  node: string,
  rootDir: string,
  recordKey: string,
  ref: string,
): Promise<PullHistory> {
  const path = pulledRecordPath(rootDir, recordKey);
  const r = await nodes.exec(node, ['sh', '-c', 'if [ -f "$1" ]; then cat "$1"; else exit 3; fi', 'sh', path], { allowFailure: true });
  if (r.exitCode === 3) return { kind: 'no-record' };
  if (r.exitCode !== 0) throw new Error(`${node}: cannot read ${path}: ${r.stderr.trim()}`);
  return pullHistoryFromRecord(r.stdout, recordKey, ref);
}

/**
 * Where kubelet filed a pull record of `ref` under another key than the image's ID it looks records
 * up by: the `name@digest` a runtime's PullImage may answer (CRI-O does; containerd answers the
 * image ID). The file's path and record when one is there: the evidence that a missing record under
 * the ID is kubelet keying its record by PullImage's answer, not a pull it never made (docs/cri-o.md).
 */
export async function pullRecordUnderPulledRef(
  nodes: NodeAccess,
  node: string,
  rootDir: string,
  ref: string,
  digest: string,
): Promise<{ path: string; history: PullHistory } | undefined> {
  const key = `${imageName(ref)}@${digest}`;
  const history = await readPullRecord(nodes, node, rootDir, key, ref);
  return history.kind === 'record' ? { path: pulledRecordPath(rootDir, key), history } : undefined;
}

/** The one line for a pull kubelet recorded under PullImage's answer but looks up under the image ID. */
export function recordUnderPulledRefLine(o: { node: string; ref: string; imageRef: string; path: string; consequence: string }): string {
  return `${o.node}: kubelet filed its pull record of ${o.ref} under the ref the runtime's PullImage answered (${o.path}), not under the image's ID ${o.imageRef} it looks records up by, so ${o.consequence}`;
}

/** A failure whose cause is the key kubelet filed its pull record under: its message is the one line. */
export class PullRecordKeyError extends Error {
  override name = 'PullRecordKeyError';
}

/**
 * Why a pod expected to be refused ran a cached image, when the reason is the record's key: kubelet
 * has no record under the image's ID but one under the name@digest the pod's imageID names. The one
 * line saying so (ending in `what`), else undefined; never throws (it only explains a failure).
 */
export async function cachedRunByRecordKey(
  nodes: NodeAccess,
  o: { node: string; ref: string; imageId: string; what: string },
): Promise<string | undefined> {
  try {
    const digest = o.imageId.slice(o.imageId.lastIndexOf('@') + 1);
    if (!digest.startsWith('sha256:')) return undefined;
    const rootDir = rootDirOf(await kubeletArgv(nodes, o.node));
    const { imageRef, history } = await readPullHistory(nodes, o.node, rootDir, o.ref);
    if (history.kind !== 'no-record') return undefined;
    const elsewhere = await pullRecordUnderPulledRef(nodes, o.node, rootDir, o.ref, digest);
    if (!elsewhere) return undefined;
    return recordUnderPulledRefLine({
      node: o.node,
      ref: o.ref,
      imageRef,
      path: elsewhere.path,
      consequence: `KEP-2535 took the image for preloaded: ${o.what}`,
    });
  } catch {
    return undefined;
  }
}

/** A Secret the pod names for the image's registry, and whether the registry accepts what it holds. */
export interface PodSecret extends SecretCoordinates {
  acceptedByRegistry: boolean;
}

export interface PresentImageFacts {
  /** The image as the pod names it. */
  ref: string;
  history: PullHistory;
  /** The pod's imagePullSecrets for the registry (none: it pulls anonymously, and the registry is private). */
  podSecrets: readonly PodSecret[];
}

export type VerificationOutcome = 'runs-without-pull' | 'pulls-and-runs' | 'pull-fails';

export interface VerificationExpectation {
  outcome: VerificationOutcome;
  /** The `Pulled` event's message when the present image is used without a pull. */
  presentMessage?: RegExp;
  /** One line naming the rule, the facts it was applied to and the settings, for s.rule. */
  rule: string;
}

function secretName(x: Pick<SecretCoordinates, 'namespace' | 'name'>): string {
  return `${x.namespace}/${x.name}`;
}

function settingsFacts(s: KubeletPullSettings): string {
  const allow =
    s.policy.value === CredentialVerificationPolicy.NeverVerifyAllowlistedImages ? `, allowlist [${s.allowlist.join(' ')}]` : '';
  return `kubelet ${s.kubeletVersion}, ${EnsureSecretPulledImagesGate}=${s.gate.enabled} (${s.gate.source}), imagePullCredentialsVerificationPolicy=${s.policy.value} (${s.policy.source})${allow}`;
}

const PRESENT = /already present on machine/;
const PRESENT_AND_ACCESSIBLE = /already present on machine and can be accessed by the pod/;

/**
 * What kubelet does with a present image for an IfNotPresent pod on a node with settings `s`:
 * use it without a pull, or pull it with the pod's own credentials (which then decide).
 */
export function verificationExpectation(s: KubeletPullSettings, f: PresentImageFacts): VerificationExpectation {
  const facts = `[${settingsFacts(s)}]`;
  const name = imageName(f.ref);
  if (!s.gate.enabled) {
    return {
      outcome: 'runs-without-pull',
      presentMessage: PRESENT,
      rule: `gate off: a present image is used for IfNotPresent whoever pulled it and with whatever credentials, so the pod runs without a pull ${facts}`,
    };
  }
  const pulledByKubelet = f.history.kind === 'record';
  const origin = pulledByKubelet
    ? 'kubelet pulled the image (it has a pull record)'
    : 'kubelet has no pull record of the image (preloaded)';
  let why: string;
  switch (s.policy.value) {
    case CredentialVerificationPolicy.NeverVerify:
      return {
        outcome: 'runs-without-pull',
        presentMessage: PRESENT_AND_ACCESSIBLE,
        rule: `NeverVerify: present images are never checked; ${origin}, and the pod runs without a pull ${facts}`,
      };
    case CredentialVerificationPolicy.NeverVerifyPreloadedImages:
      if (!pulledByKubelet)
        return {
          outcome: 'runs-without-pull',
          presentMessage: PRESENT_AND_ACCESSIBLE,
          rule: `NeverVerifyPreloadedImages: ${origin}, so it is not checked and the pod runs without a pull ${facts}`,
        };
      why = `NeverVerifyPreloadedImages: ${origin}, so the pod's credentials are checked`;
      break;
    case CredentialVerificationPolicy.NeverVerifyAllowlistedImages:
      if (onAllowlist(f.ref, s.allowlist))
        return {
          outcome: 'runs-without-pull',
          presentMessage: PRESENT_AND_ACCESSIBLE,
          rule: `NeverVerifyAllowlistedImages: ${name} is on the allowlist, so it is not checked whoever brought it (${origin}) and the pod runs without a pull ${facts}`,
        };
      why = `NeverVerifyAllowlistedImages: ${name} is not on the allowlist, so the pod's credentials are checked (${origin})`;
      break;
    case CredentialVerificationPolicy.AlwaysVerify:
      why = `AlwaysVerify: every present image is checked (${origin})`;
      break;
  }
  const use = (how: string): VerificationExpectation => ({
    outcome: 'runs-without-pull',
    presentMessage: PRESENT_AND_ACCESSIBLE,
    rule: `${why}; ${how}, so the pod runs without a pull ${facts}`,
  });
  const pull = (how: string): VerificationExpectation => {
    const accepted = f.podSecrets.filter((x) => x.acceptedByRegistry);
    if (accepted.length > 0)
      return {
        outcome: 'pulls-and-runs',
        rule: `${why}; ${how}, so kubelet pulls the image with ${accepted.map(secretName).join(', ')}, which the registry accepts: the pod runs ${facts}`,
      };
    const withWhat =
      f.podSecrets.length === 0 ? 'without credentials' : `with ${f.podSecrets.map(secretName).join(', ')}, which the registry refuses`;
    return { outcome: 'pull-fails', rule: `${why}; ${how}, so kubelet pulls the image ${withWhat}: the pull fails unauthorized ${facts}` };
  };
  if (f.history.kind === 'no-record') return pull('there is no pull record to match credentials with');
  const rec = f.history.credentials;
  if (!rec) return pull(`the pull record has no credentials for ${name}`);
  if (rec.nodePodsAccessible) return use('the record says it was pulled without pod credentials (nodePodsAccessible)');
  if (rec.secrets.length === 0 && rec.serviceAccounts === 0) return pull('the record lists no credentials');
  const recorded = rec.secrets.map(secretName).join(', ') || '(none)';
  for (const p of f.podSecrets) {
    for (const r of rec.secrets) {
      if (r.credentialHash.length > 0 && p.credentialHash === r.credentialHash) {
        const same = p.uid === r.uid && p.namespace === r.namespace && p.name === r.name;
        return use(
          same
            ? `the pod names ${secretName(p)}, the Secret the record lists`
            : `the pod's Secret ${secretName(p)} holds the same credentials (credential hash) as ${secretName(r)}, which the record lists`,
        );
      }
      if (p.uid === r.uid && p.namespace === r.namespace && p.name === r.name) {
        return use(`the pod names ${secretName(p)} (same namespace, name and UID as the record's), whose credentials changed since`);
      }
    }
  }
  const presented =
    f.podSecrets.length === 0
      ? 'the pod names no Secret'
      : `none of the pod's Secrets (${f.podSecrets.map(secretName).join(', ')}) has the hash or coordinates of the record's (${recorded})`;
  return pull(presented);
}
