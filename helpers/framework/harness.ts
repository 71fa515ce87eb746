// What a suite file imports, the built-in suites as a vendor's: `defineSuite` and the types and
// names its scenarios use, and below them the fixtures and readings by concern (images, pods, nodes
// and kubelet, registries, posture). A suite is one file: `export const suite = defineSuite({...})`,
// then `suite.scenario(name, title, body)`. Nothing under helpers/ imports this file back.

export { buildOwnProgram } from '../build/components.ts';
export {
  admittedPod,
  admittedPolicy,
  type SecondApiServer,
  startSecondApiServer,
} from '../cluster/apiserver.ts';
export { CERTS_D } from '../cluster/kindconfig.ts';
// Pods, waits and expectations.
export {
  type Kube,
  waitFor,
  waitForServiceAccount,
} from '../cluster/kube.ts';
export { readClusterShape } from '../cluster/shape.ts';
export {
  assembleImage,
  hostPlatform,
  type Image,
  layerFromFiles,
  type ManifestFormat,
  MediaType,
  type Platform,
  sha256,
} from '../images/oci.ts';
// Images: the test images and the OCI pieces they are made of.
export {
  echoImage,
  echoIndex,
  INDEX_PLATFORMS,
  platformString,
} from '../images/testimages.ts';
export { managedLabels } from '../infra/docker.ts';
export { run } from '../infra/exec.ts';
export {
  backOffDelay,
  backOffProblems,
  IMAGE_BACK_OFF,
} from '../kubelet/backoff.ts';
export { commandLineFeatureGates } from '../kubelet/config.ts';
export {
  AUDIENCE_VERB,
  AudienceRestrictionGate,
  describePluginRequest,
  execProviderSupport,
  type InstalledProvider,
  kubeletFeatureGates,
  kubeletHasProviderFlags,
  nodeMayRequestAudience,
  type PluginRequest,
  reportedKubeletVersion,
  requestedImage,
  type TokenAttributes,
  tokenModeSupport,
} from '../kubelet/credprovider.ts';
// Nodes and kubelet: node files, kubelet restarts and configuration changes under the node lock, journaled (fixtures/ take the scenario and register their undo first), preloads, kubelet records.
export {
  describeImagePulls,
  describeIntervals,
  type ImagePullSettings,
  imagePullMismatch,
  imagePullRule,
  maxOverlap,
  parallelPullsPatch,
  pullConcurrencyLimit,
  pullIntervals,
} from '../kubelet/imagepulls.ts';
export {
  CredentialVerificationPolicy,
  EnsureSecretPulledImagesGate,
  gateExists,
  imageName,
  type KubeletPullSettings,
  kubeletCredentialHash,
  type PodSecret,
  type PullHistory,
  PullRecordKeyError,
  policyKebab,
  policyPlan,
  pulledRecordPath,
  pullRecordUnderPulledRef,
  readPullHistory,
  recordUnderPulledRefLine,
  type VerificationExpectation,
  verificationExpectation,
} from '../kubelet/kep2535.ts';
export {
  type CredentialFileFormat,
  type CredentialSearchPath,
  credentialSearchPaths,
  credsStoreOnlyConfigJson,
  fileKubeletReads,
  httpHeadersOnlyConfigJson,
  kubeletProcessFacts,
  pageVerificationPod,
  presentCredentialFiles,
  renderCredentialFile,
  restartKubelet,
  type SearchPlace,
  sameFileAs,
  writeNewNodeFile,
} from '../kubelet/nodecreds.ts';
export { owedFirst, owedMarkerPath } from '../kubelet/owedrestart.ts';
export { DEFAULT_KUBELET_ROOT_DIR, kubeletArgv, rootDirOf } from '../kubelet/process.ts';
export { readImagePullSettings, readKubeletPullSettings } from '../kubelet/pullsettings.ts';
export { KindNodeAccess } from '../node/access.ts';
export {
  nodeHasImage,
  preloadImage,
  removeNodeImage,
} from '../node/preload.ts';
export {
  checkAdmission,
  checkImagePulls,
  checkKubelets,
  checkKubeletVersions,
  observedAudienceRestriction,
} from '../posture/check.ts';
// Posture and the cluster: what the run declares, how a cluster's shape and API server are read.
export {
  declaredImagePulls,
  declaredPullSettings,
  kubeletPulledImageReuse,
  kubeletVersionMismatch,
  kubeletVersionOf,
  NodeAudienceRestrictionGate,
  nodeAudienceRestrictionMismatch,
  preloadedImageUse,
} from '../posture/posture.ts';
export { checkRuntime, runtimeOf } from '../posture/runtime.ts';
export {
  type AccessEntry,
  manifestRequests,
  pullAttempts,
} from '../registry/accesslog.ts';
// Registries: pullcheck's own and their logs, Secrets, the registry client and host tools.
export {
  nodeAttemptsOn,
  parseAuthAttempts,
} from '../registry/authlog.ts';
export {
  RegistryClient,
  RegistryError,
} from '../registry/client.ts';
export {
  blobDataPath,
  RedirectingRegistry,
  redirectLocation,
} from '../registry/kinds.ts';
export {
  describeRequests,
  type LoggedRequest,
  loggedRequests,
  nsOf,
  repositoryRequests,
  servedPullGaps,
} from '../registry/mirror.ts';
// Pull-through caches and rate limits (suites registry-proxy, registry-rate-limit).
export { PullThroughRegistry } from '../registry/pullthrough.ts';
export { RateLimitedRegistry } from '../registry/ratelimit.ts';
export type { BlobHostView, TestRegistry } from '../registry/registry.ts';
export {
  StartedRegistry,
  TOKEN_PUBLIC_PREFIXES,
  underPrefix,
} from '../registry/registry.ts';
export type { RegistryCredential } from '../registry/secrets.ts';
export {
  dockerCfgSecret,
  secretFromConfigFile,
} from '../registry/secrets.ts';
export type { TokenRequestRecord, TokenServer } from '../registry/tokenserver.ts';
export { toolAccess } from '../registry/toolaccess.ts';
export { VendorRegistry } from '../registry/vendor.ts';
export { type NodeRuntime, nodeRuntime } from '../runtime/runtime.ts';
export { CAPABILITIES, type Capability, type Need, type NodePolicy } from './declaration.ts';
export type { HomeNode, RegistryRequest, RunEnv } from './env.ts';
export { claim, expectImageIdByDigest, expectNoPull, podWhere, type RanExpectation } from './expectations.ts';
export {
  allowNodeAudience,
  installCredentialProvider,
} from './fixtures/credential-provider.ts';
export {
  type KubeletConfigGroup,
  type KubeletConfigPlan,
  useKubeletConfigChange,
} from './fixtures/kubelet-config.ts';
export { installMirror, scenarioRegistry } from './fixtures/mirror.ts';
export {
  expectNodeAttempts,
  expectNoFailedPullEvent,
  installNodeCredentials,
  installNodeFile,
  settleNode,
} from './fixtures/node-credentials.ts';
export {
  createPod,
  describePod,
  EventReason,
  imageIdOf,
  logTail,
  NOT_FOUND,
  type PodSpecInput,
  type PodVerdict,
  PULL_FAILED_REASONS,
  ranToCompletion,
  UNAUTHORIZED,
  UNTRUSTED_CERTIFICATE,
  verdictOf,
  WaitingReason,
  waitForPodIn,
  waitForPodWhere,
  waitForVerdict,
} from './pods.ts';
export { expectRanPreseeded, type PreseededImage } from './pullonly.ts';
export type { PushedImage, PushedTestImage, ScenarioContext } from './scenario.ts';
export { defineSuite, type ScenarioOptions, type Suite, type SuiteOptions } from './suite.ts';
export { upgradeScenario } from './upgrade.ts';
