// What the cluster under test is meant to be: its declared posture. Expectations are derived from it
// (and from the documentation's rules), never from what the cluster reports; `posture/*` scenarios
// check that the cluster is what was declared. Undeclared fields take upstream's default for the
// cluster's Kubernetes version, from the table below.

import { isRecord } from '../infra/guards.ts';
import {
  describeImagePulls,
  IMAGE_PULL_DEFAULTS,
  type ImagePullSettings,
  imagePullSettingsError,
  resolveImagePulls,
} from '../kubelet/imagepulls.ts';
import {
  CredentialVerificationPolicy,
  EnsureSecretPulledImagesGate,
  type Kep2535Expectation,
  type KubeletPullSettings,
  kubeletPulledImageExpectation,
  type VerificationExpectation,
  verificationExpectation,
} from '../kubelet/kep2535.ts';

import type { AdmissionPosture, KubeletPosture, Posture, PostureDeclaration } from '../model/posture.ts';

export type { AdmissionPosture, KubeletPosture, Posture, PostureDeclaration } from '../model/posture.ts';

export class PostureError extends Error {
  override name = 'PostureError';
}

function minorOf(version: string): number {
  const m = /^v?1\.(\d+)/.exec(version);
  if (!m) throw new PostureError(`cannot read a Kubernetes 1.x version from "${version}"`);
  return Number(m[1]);
}

/** The API server gate behind the node audience restriction (pkg/features/kube_features.go). */
export const NodeAudienceRestrictionGate = 'ServiceAccountNodeAudienceRestriction';

/**
 * ServiceAccountNodeAudienceRestriction's default, from kubernetes' versioned feature table: absent
 * before 1.32 (no restriction), beta and off in 1.32, beta and on from 1.33.
 */
export function nodeAudienceRestrictionDefault(kubernetesVersion: string): boolean {
  return minorOf(kubernetesVersion) >= 33;
}

/**
 * Upstream's defaults for a version, with their sources:
 * - AlwaysPullImages is not among kube-apiserver's default admission plugins
 *   (kubernetes.io/docs/reference/access-authn-authz/admission-controllers, "Which plugins are enabled by default?").
 * - KubeletEnsureSecretPulledImages: alpha (off) in 1.33 and 1.34, beta (on) from 1.35; absent before
 *   1.33 (kubernetes.io/docs/reference/command-line-tools-reference/feature-gates; KEP-2535).
 * - imagePullCredentialsVerificationPolicy defaults to NeverVerifyPreloadedImages and the allowlist
 *   to empty (kubelet-config.k8s.io/v1beta1 KubeletConfiguration reference).
 * - serializeImagePulls defaults to true and maxParallelImagePulls to unset (same reference; the
 *   page's "Serial and parallel image pulls"), in every version that has them.
 * - kubelet runs no credential provider plugin unless --image-credential-provider-config is given
 *   (kubernetes.io/docs/tasks/administer-cluster/kubelet-credential-provider).
 * - ServiceAccountNodeAudienceRestriction: nodeAudienceRestrictionDefault.
 */
export function upstreamDefaults(kubernetesVersion: string): Omit<Posture, 'sources' | 'nodes' | 'runtime'> {
  const minor = minorOf(kubernetesVersion);
  return {
    kubernetesVersion,
    admission: { alwaysPullImages: false, serviceAccountNodeAudienceRestriction: nodeAudienceRestrictionDefault(kubernetesVersion) },
    kubelet: {
      ensureSecretPulledImages: minor >= 35,
      imagePullCredentialsVerificationPolicy: CredentialVerificationPolicy.NeverVerifyPreloadedImages,
      preloadedImagesVerificationAllowlist: [],
      ...IMAGE_PULL_DEFAULTS,
    },
    credentialProviders: false,
  };
}

const POLICIES: ReadonlySet<string> = new Set(Object.values(CredentialVerificationPolicy));
const KUBELET_FIELDS =
  'ensureSecretPulledImages, imagePullCredentialsVerificationPolicy, preloadedImagesVerificationAllowlist, serializeImagePulls, maxParallelImagePulls, kubeletVersion';
const ADMISSION_FIELDS = ['alwaysPullImages', 'serviceAccountNodeAudienceRestriction'] as const;

function checkKubelet(where: string, raw: unknown): Partial<KubeletPosture> {
  if (raw === undefined) return {};
  if (!isRecord(raw)) throw new PostureError(`${where} must be a mapping (${KUBELET_FIELDS})`);
  const out: Partial<KubeletPosture> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (k === 'ensureSecretPulledImages') {
      if (typeof v !== 'boolean') throw new PostureError(`${where}.ensureSecretPulledImages must be true or false`);
      out.ensureSecretPulledImages = v;
    } else if (k === 'imagePullCredentialsVerificationPolicy') {
      if (typeof v !== 'string' || !POLICIES.has(v))
        throw new PostureError(`${where}.imagePullCredentialsVerificationPolicy must be one of ${[...POLICIES].join(', ')}`);
      out.imagePullCredentialsVerificationPolicy = v as CredentialVerificationPolicy;
    } else if (k === 'preloadedImagesVerificationAllowlist') {
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))
        throw new PostureError(`${where}.preloadedImagesVerificationAllowlist must be a list of image names`);
      out.preloadedImagesVerificationAllowlist = v as string[];
    } else if (k === 'serializeImagePulls') {
      if (typeof v !== 'boolean') throw new PostureError(`${where}.serializeImagePulls must be true or false`);
      out.serializeImagePulls = v;
    } else if (k === 'maxParallelImagePulls') {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 1)
        throw new PostureError(`${where}.maxParallelImagePulls must be a whole number of 1 or more`);
      out.maxParallelImagePulls = v;
    } else if (k === 'kubeletVersion') {
      if (typeof v !== 'string' || !/^v1\.\d+(\.\d+)?$/.test(v))
        throw new PostureError(`${where}.kubeletVersion must be a version such as v1.36 or v1.36.3`);
      out.kubeletVersion = v;
    } else {
      throw new PostureError(`${where}: unknown field "${k}" (${KUBELET_FIELDS})`);
    }
  }
  const pulls = imagePullSettingsError(out);
  if (pulls) throw new PostureError(`${where}: ${pulls}`);
  return out;
}

/** Reads a `posture:` mapping (profile, config file or --posture file); every mistake names the field. */
export function parsePostureDeclaration(raw: unknown, where: string): PostureDeclaration {
  if (raw === undefined || raw === null) return {};
  if (!isRecord(raw)) throw new PostureError(`${where} must be a mapping (admission, kubelet, nodes, credentialProviders, runtime)`);
  const out: PostureDeclaration = {};
  for (const [k, v] of Object.entries(raw)) {
    switch (k) {
      case 'admission':
        if (
          !isRecord(v) ||
          Object.keys(v).some((x) => !(ADMISSION_FIELDS as readonly string[]).includes(x)) ||
          Object.values(v).some((x) => typeof x !== 'boolean')
        )
          throw new PostureError(`${where}.admission takes ${ADMISSION_FIELDS.map((f) => `${f}: true|false`).join(', ')}`);
        out.admission = v as Partial<AdmissionPosture>;
        break;
      case 'kubelet':
        out.kubelet = checkKubelet(`${where}.kubelet`, v);
        break;
      case 'nodes':
        if (!isRecord(v)) throw new PostureError(`${where}.nodes must map node names to kubelet settings`);
        out.nodes = Object.fromEntries(Object.entries(v).map(([node, k2]) => [node, checkKubelet(`${where}.nodes.${node}`, k2)]));
        break;
      case 'credentialProviders':
        if (typeof v !== 'boolean') throw new PostureError(`${where}.credentialProviders must be true or false`);
        out.credentialProviders = v;
        break;
      case 'runtime':
        if (v !== 'containerd' && v !== 'cri-o') throw new PostureError(`${where}.runtime must be containerd or cri-o`);
        out.runtime = v;
        break;
      default:
        throw new PostureError(`${where}: unknown field "${k}" (admission, kubelet, nodes, credentialProviders, runtime)`);
    }
  }
  const kubelets = [out.kubelet, ...Object.values(out.nodes ?? {})];
  for (const k of kubelets) {
    if (
      k?.preloadedImagesVerificationAllowlist?.length &&
      k.imagePullCredentialsVerificationPolicy !== CredentialVerificationPolicy.NeverVerifyAllowlistedImages
    )
      throw new PostureError(
        `${where}: preloadedImagesVerificationAllowlist goes only with imagePullCredentialsVerificationPolicy: NeverVerifyAllowlistedImages (kubelet refuses it otherwise)`,
      );
  }
  return out;
}

/** The posture in force: what was declared, upstream's default for the version where nothing was. */
export function resolvePosture(decl: PostureDeclaration, kubernetesVersion: string, declaredIn: string): Posture {
  const d = upstreamDefaults(kubernetesVersion);
  const dflt = `upstream default for ${kubernetesVersion}`;
  // A kubelet declared at another version takes that version's default gate, unless the gate is declared.
  const gateFor = (version: string | undefined, ...declared: (boolean | undefined)[]) =>
    declared.find((x) => x !== undefined) ?? upstreamDefaults(version ?? kubernetesVersion).kubelet.ensureSecretPulledImages;
  // Image pulls as kubelet defaults them: a limit of 2 or more alone means parallel pulls.
  const withPulls = (k: KubeletPosture, base: ImagePullSettings, declared?: Partial<KubeletPosture>): KubeletPosture => {
    const { serializeImagePulls: _s, maxParallelImagePulls: _m, ...rest } = k;
    return { ...rest, ...resolveImagePulls(base, declared) };
  };
  const kubelet: KubeletPosture = withPulls(
    {
      ...d.kubelet,
      ...decl.kubelet,
      ensureSecretPulledImages: gateFor(decl.kubelet?.kubeletVersion, decl.kubelet?.ensureSecretPulledImages),
    },
    d.kubelet,
    decl.kubelet,
  );
  const nodeKubelet = (k: Partial<KubeletPosture>): KubeletPosture =>
    withPulls(
      {
        ...kubelet,
        ...k,
        ensureSecretPulledImages: gateFor(
          k.kubeletVersion ?? kubelet.kubeletVersion,
          k.ensureSecretPulledImages,
          decl.kubelet?.ensureSecretPulledImages,
        ),
      },
      kubelet,
      k,
    );
  return {
    kubernetesVersion,
    admission: { ...d.admission, ...decl.admission },
    kubelet,
    nodes: Object.fromEntries(Object.entries(decl.nodes ?? {}).map(([n, k]) => [n, nodeKubelet(k)])),
    credentialProviders: decl.credentialProviders ?? d.credentialProviders,
    runtime: decl.runtime ?? 'containerd',
    sources: {
      admission: decl.admission?.alwaysPullImages === undefined ? dflt : `declared in ${declaredIn}`,
      nodeAudienceRestriction: decl.admission?.serviceAccountNodeAudienceRestriction === undefined ? dflt : `declared in ${declaredIn}`,
      kubelet: decl.kubelet || decl.nodes ? `declared in ${declaredIn} (the rest: ${dflt})` : dflt,
      credentialProviders: decl.credentialProviders === undefined ? dflt : `declared in ${declaredIn}`,
      runtime: decl.runtime === undefined ? 'default (containerd)' : `declared in ${declaredIn}`,
    },
  };
}

export function kubeletPostureOf(p: Posture, node: string): KubeletPosture {
  return p.nodes[node] ?? p.kubelet;
}

/** The kubelet version declared for `node`: its own, else the cluster's Kubernetes version. */
export function kubeletVersionOf(p: Posture, node: string): string {
  return kubeletPostureOf(p, node).kubeletVersion ?? p.kubernetesVersion;
}

/**
 * A node whose kubelet reports another version than the one declared for it (by minor; by patch too
 * where the declaration names one): one line saying both, or undefined. A kubelet an upgrade left
 * behind must fail here, not silently run the old version's expectations.
 */
export function kubeletVersionMismatch(p: Posture, node: string, reported: string): string | undefined {
  const declared = kubeletVersionOf(p, node);
  const parts = (v: string) => /^v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(v)?.slice(1) ?? [];
  const [dMajor, dMinor, dPatch] = parts(declared);
  const [rMajor, rMinor, rPatch] = parts(reported);
  const sameMinor = dMajor !== undefined && dMajor === rMajor && dMinor === rMinor;
  // The cluster's version stands for a minor (kubelets may differ by patch); a node's own may name a patch.
  const own = kubeletPostureOf(p, node).kubeletVersion;
  const declaresPatch = own !== undefined && /^v?\d+\.\d+\.\d+$/.test(own);
  if (sameMinor && (!declaresPatch || dPatch === rPatch)) return undefined;
  const where = own ? `declared for ${node}` : `the cluster's version, declared for every node`;
  return `kubelet on ${node} reports ${reported}, but ${declared} is ${where} (${p.sources.kubelet}): upgrade the node, or declare nodes.${node}.kubeletVersion: ${reported.replace(/[-+].*$/, '')}`;
}

/** The cluster's node audience restriction (the API server's gate) against the declared one; undefined when they agree. */
export function nodeAudienceRestrictionMismatch(p: Posture, observed: { restricted: boolean; source: string }): string | undefined {
  const declared = p.admission.serviceAccountNodeAudienceRestriction;
  if (observed.restricted === declared) return undefined;
  return `the API server runs ${NodeAudienceRestrictionGate}=${observed.restricted} (${observed.source}), but the posture declares ${declared} (${p.sources.nodeAudienceRestriction}): fix the API server's --feature-gates, or the declaration (admission.serviceAccountNodeAudienceRestriction)`;
}

/** The KEP-2535 settings a node is declared to run with, in the shape the expectation rules take. */
export function declaredPullSettings(p: Posture, node: string): KubeletPullSettings {
  const k = kubeletPostureOf(p, node);
  const version = kubeletVersionOf(p, node);
  return {
    kubeletVersion: version,
    gate: { enabled: minorOf(version) >= 33 && k.ensureSecretPulledImages, source: 'declared' },
    policy: { value: k.imagePullCredentialsVerificationPolicy, source: 'declared' },
    allowlist: [...k.preloadedImagesVerificationAllowlist],
  };
}

/** How the node's kubelet is declared to send image pulls to the runtime. */
export function declaredImagePulls(p: Posture, node: string): ImagePullSettings {
  const { serializeImagePulls, maxParallelImagePulls } = kubeletPostureOf(p, node);
  return maxParallelImagePulls === undefined ? { serializeImagePulls } : { serializeImagePulls, maxParallelImagePulls };
}

/** One line naming the posture, for logs and the report. */
export function describePosture(p: Posture): string {
  const k = p.kubelet;
  return [
    `AlwaysPullImages ${p.admission.alwaysPullImages ? 'on' : 'off'}`,
    `${NodeAudienceRestrictionGate}=${p.admission.serviceAccountNodeAudienceRestriction}`,
    `${EnsureSecretPulledImagesGate}=${k.ensureSecretPulledImages}`,
    `imagePullCredentialsVerificationPolicy=${k.imagePullCredentialsVerificationPolicy}${k.preloadedImagesVerificationAllowlist.length ? ` [${k.preloadedImagesVerificationAllowlist.join(' ')}]` : ''}`,
    describeImagePulls(k),
    ...Object.entries(p.nodes).map(
      ([n, v]) =>
        `${n}: ${v.kubeletVersion ? `kubelet ${v.kubeletVersion}, ` : ''}${v.imagePullCredentialsVerificationPolicy}, gate ${v.ensureSecretPulledImages}, ${describeImagePulls(v)}`,
    ),
    `credential providers ${p.credentialProviders ? 'configured' : 'none'}`,
    p.runtime,
  ].join('; ');
}

/**
 * Pod A pulled `ref` onto `node` with a Secret; pod B, without credentials, asks for it with
 * IfNotPresent. Whether B must fail, by the declared posture: AlwaysPullImages makes B's policy
 * Always; without it KEP-2535's gate and policy on that node decide.
 */
export function kubeletPulledImageReuse(p: Posture, node: string, ref: string): Kep2535Expectation {
  if (p.admission.alwaysPullImages)
    return {
      needsCredentials: true,
      rule: `AlwaysPullImages (${p.sources.admission}): B's IfNotPresent becomes Always, so B must pull and fails without credentials`,
    };
  const e = kubeletPulledImageExpectation(declaredPullSettings(p, node), ref);
  return { ...e, rule: `${e.rule} (${p.sources.kubelet})` };
}

/**
 * An image an admin imported on `node` (kubelet never pulled it, so it has no pull record), asked for
 * by a pod without credentials with IfNotPresent or Never: by the node's declared KEP-2535 settings,
 * used as it is ('runs-without-pull') or re-verified, which without credentials is an anonymous pull
 * that fails ('pull-fails'; with Never, kubelet refuses with ErrImageNeverPull instead of pulling).
 * Callers skip under AlwaysPullImages, where no pod keeps IfNotPresent or Never.
 */
export function preloadedImageUse(p: Posture, node: string, ref: string): VerificationExpectation {
  const e = verificationExpectation(declaredPullSettings(p, node), { ref, history: { kind: 'no-record' }, podSecrets: [] });
  return { ...e, rule: `${e.rule} (${p.sources.kubelet})` };
}
