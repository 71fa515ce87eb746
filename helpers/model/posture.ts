// What the cluster under test is declared to be, and what the run found where it is not: data only,
// on the ground floor (nothing of pullcheck's imported), read by the run context, the posture checks
// and the report. The functions over it are in helpers/posture/.
import type { Finding } from './results.ts';

/** KEP-2535's imagePullCredentialsVerificationPolicy values. */
export const CredentialVerificationPolicy = {
  NeverVerify: 'NeverVerify',
  NeverVerifyPreloadedImages: 'NeverVerifyPreloadedImages',
  NeverVerifyAllowlistedImages: 'NeverVerifyAllowlistedImages',
  AlwaysVerify: 'AlwaysVerify',
} as const;
export type CredentialVerificationPolicy = (typeof CredentialVerificationPolicy)[keyof typeof CredentialVerificationPolicy];

/** KEP-2535's kubelet settings, as declared for a node. */
export interface KubeletPosture {
  /** The KubeletEnsureSecretPulledImages feature gate. */
  ensureSecretPulledImages: boolean;
  imagePullCredentialsVerificationPolicy: CredentialVerificationPolicy;
  /** preloadedImagesVerificationAllowlist (only with NeverVerifyAllowlistedImages). */
  preloadedImagesVerificationAllowlist: string[];
  /** One image pull at a time (true), or pulls for different pods at once (helpers/kubelet/imagepulls.ts). */
  serializeImagePulls: boolean;
  /** With serializeImagePulls false, how many pulls at once; unset: no limit. */
  maxParallelImagePulls?: number;
  /**
   * The kubelet's version (`v1.36` or `v1.36.3`) where it is not the cluster's: nodes left behind or
   * upgraded apart. Undeclared: the cluster's Kubernetes version. Version-dependent expectations and
   * defaults for the node follow it; what the node reports only checks it.
   */
  kubeletVersion?: string;
}

/** What the API server's admission does with images and with nodes' token requests. */
export interface AdmissionPosture {
  alwaysPullImages: boolean;
  /**
   * The API server's ServiceAccountNodeAudienceRestriction gate: NodeRestriction lets a node request
   * a service account token for an audience no pod on it projects only where RBAC grants it.
   */
  serviceAccountNodeAudienceRestriction: boolean;
}

export interface Posture {
  /** The Kubernetes version the defaults were taken for. */
  kubernetesVersion: string;
  /** Admission plugins that touch images, and the node audience restriction NodeRestriction enforces. */
  admission: AdmissionPosture;
  /** Every node's kubelet, unless `nodes` names it. */
  kubelet: KubeletPosture;
  /** Node groups that differ, by node name. */
  nodes: Record<string, KubeletPosture>;
  /** Whether kubelet runs credential provider plugins (--image-credential-provider-config). */
  credentialProviders: boolean;
  runtime: 'containerd' | 'cri-o';
  /** Where each part came from, for the report and the rules: "declared in …" or "upstream default for v1.37". */
  sources: { admission: string; nodeAudienceRestriction: string; kubelet: string; credentialProviders: string; runtime: string };
}

/** The posture as a profile or a config file writes it: every field optional. */
export interface PostureDeclaration {
  admission?: Partial<AdmissionPosture>;
  kubelet?: Partial<KubeletPosture>;
  nodes?: Record<string, Partial<KubeletPosture>>;
  credentialProviders?: boolean;
  runtime?: 'containerd' | 'cri-o';
}

/** The part of the posture a mismatch is in. */
export type PosturePart = 'admission' | 'kubelet' | 'credentialProviders' | 'runtime';

export interface PostureMismatch extends Finding {
  part: PosturePart;
}

/** A node that cannot pull from a registry the run uses, or pulls its private images with no Secret (the pull probe). */
export interface ProbeFinding extends Finding {
  registry: string;
  /** For a failed pull: the registry's label and the runtime's cause, from which `line` is rendered. */
  pull?: { label: string; cause: string };
}
