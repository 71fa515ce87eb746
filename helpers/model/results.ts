// The data a run leaves behind, one tree (run → target → scenario), which the JUnit, JSON and HTML
// writers each render. A "target" is one cluster at one Kubernetes version: `--k8s a,b` makes two.
// docs/report-schema.md documents this schema; bump RESULTS_SCHEMA when a field changes meaning.

export const RESULTS_SCHEMA = 'pullcheck.io/results/v2';
/** The schema before verdicts had five values (`skipped` with a `skip` kind): still read, and migrated. */
export const RESULTS_SCHEMA_V1 = 'pullcheck.io/results/v1';

/**
 * A scenario's verdict, the one every output renders (helpers/report/verdict.ts counts them).
 * `blocked`: it failed, and a cause the run named before the suites (a posture mismatch, a pull
 * probe finding) on the scenario's own nodes and registry explains it; a failure all the same.
 * `could-not-run`: it should have run here and could not; a failure. `not-applicable`: the declared
 * posture or the cluster's shape rules it out; a reason, neither a pass nor a failure.
 */
export type ScenarioStatus = 'passed' | 'failed' | 'blocked' | 'could-not-run' | 'not-applicable';

export const SCENARIO_STATUSES: readonly ScenarioStatus[] = ['passed', 'failed', 'blocked', 'could-not-run', 'not-applicable'];

/** Where a finding comes from: the posture check, the pull probe, the declaration itself, a failed cleanup. */
export type FindingSource = 'posture' | 'probe' | 'declaration' | 'cleanup';

/**
 * A cause the run names once, as data: messages are rendered from these fields and nobody parses
 * them back. Certification reads `capability`, the shared causes read `cause`, `nodes`, `registry`.
 */
export interface Finding {
  source: FindingSource;
  /**
   * A short stable key: `posture:admission`, `posture:kubelet`, `cannot-pull`, `pulls-without-credentials`,
   * `serves-anyone`, `registry-refuses`, `weaker-than-upstream:<field>`, `quarantined`.
   */
  cause: string;
  /** The nodes it was seen on; empty: not a node's (the cluster's API server, or the registry itself). */
  nodes: string[];
  /** The registry it concerns (a probe key: `pullcheck` for pullcheck's own, else the host). */
  registry?: string;
  /** The registry capability it disproves, when the registry is the one at fault. */
  capability?: string;
  /** For a failed pull: the failure as a pod observation (`pull-failed:tls`), what a blocked pod must show too. */
  observed?: string;
  /** One sentence an operator acts on. */
  line: string;
  /** Whether it fails the run (a mismatch, a probe finding); a declaration weaker than upstream's default does not. */
  fails: boolean;
}

/** What the harness writes per scenario while it runs (one JSON file per scenario). */
export interface ScenarioRecord {
  /** Stable ID, `suite/name`, e.g. `pull-policy/never-absent-fails`. */
  id: string;
  suite: string;
  title: string;
  status: ScenarioStatus;
  durationMs: number;
  /** Why it failed or was skipped: the first lines of the error, or the skip reason. */
  reason?: string;
  /** The expectations' rules the scenario applied (version-aware ones say which version/setting). */
  rules: string[];
  /** Files under the target directory with what was collected on failure. */
  evidence: string[];
  namespace?: string;
  /** Registries (host:port) the scenario pushed its images to. */
  registries?: string[];
  /** The registry capabilities the scenario declares it proves (certification). */
  capabilities?: string[];
  /**
   * An optional capability the registry answered it does not support, as the OCI distribution spec
   * lets it (deletion: `405 UNSUPPORTED`): the scenario is skipped by declaration, the capability reads "not supported".
   */
  notSupported?: { capability: string; detail: string };
  /**
   * The registry rate-limited pullcheck (429 after its Retry-After was waited out): the scenario
   * could not run, and proves nothing of its capabilities either way (helpers/framework/ratelimited.ts).
   */
  rateLimited?: { registry: string; detail: string };
  /** A framework self-test, reported apart from the conformance scenarios. */
  selftest?: boolean;
  /** For `blocked`: the finding that explains it (a posture mismatch in a part its expectations read, a probe finding where it pulled). */
  blockedBy?: Finding;
  /**
   * What each pod the scenario ran was seen to do, in a closed vocabulary (helpers/framework/observe.ts),
   * whatever the verdict; absent in reports from before observations (then only verdicts compare).
   */
  observations?: PodObservation[];
  /**
   * 'node side only': the claim's registry half (its access or auth log) could not be read, a vendor's
   * registry, so the verdict rests on the node's side alone (kubelet's events, the digest that ran);
   * the rules say which check was left out. Absent: both halves were proven, or the claim has one.
   */
  proven?: 'node side only';
}

/** One pod's observations, keyed by its name (stable per scenario), e.g. `{ pod: 'pod-1', observed: ['admitted:Always', 'pulled', 'ran', 'digest:pushed'] }`. */
export interface PodObservation {
  pod: string;
  observed: string[];
  /** The node it was scheduled to (attribution only: not compared between runs). */
  node?: string;
}

export interface TargetResult {
  /** Directory name of the target inside the run directory, e.g. `v1.37.2`. */
  name: string;
  kubernetesVersion: string;
  /** What the nodes reported (kubelet version, container runtime), when the cluster came up. */
  nodes: { name: string; kubeletVersion: string; containerRuntime: string }[];
  cluster: { mode: 'kind' | 'existing'; name: string; profile?: string; context?: string };
  /**
   * The container runtime the target's posture declares (`posture/runtime` checks each node against
   * it; what the nodes report is in `nodes`). Absent in reports before the runtime matrix: containerd.
   */
  runtime?: 'containerd' | 'cri-o';
  /** `credentials`: whether certify was given any (false: an anonymous registry; absent in older reports). */
  /** `upstream`: the URL of the upstream the vendor's registry is a pull-through cache of (`--registry-upstream`). */
  /** `pullOnly`: certified with `--registry-preseeded`, pullcheck wrote nothing there. */
  registry: { mode: 'local' | 'vendor'; url?: string; credentials?: boolean; upstream?: string; pullOnly?: boolean };
  startedAt: string;
  finishedAt: string;
  scenarios: ScenarioRecord[];
  /** Set when the target could not run at all (cluster did not come up, jest crashed). */
  error?: string;
  /** Causes named once before or after the suites: posture mismatches, probe findings, weaker declarations, quarantined nodes. */
  findings?: Finding[];
  /** Node changes runs that were killed had left, undone by this run before its probe (the node-change journal). */
  restored?: { node: string; what: string; run: string }[];
}

/**
 * A capability no scenario exercised against the registry is "not tested", never passed; "out of
 * scope" is one the run declared inapplicable (auth, for a registry certified without credentials;
 * what needs a push, for one certified pull-only);
 * "not supported" is an optional one the registry refused as the spec lets it (deletion disabled).
 */
export type CertificationStatus = 'passed' | 'failed' | 'not tested' | 'out of scope' | 'not supported';

export interface CertificationItem {
  /** The capability's key as scenarios declare it (e.g. `oci-index`); absent in older reports. */
  key?: string;
  capability: string;
  /** Must pass for the registry to be certified (docs/certification.md). */
  required?: boolean;
  status: CertificationStatus;
  /** Scenario IDs the verdict rests on. */
  scenarios: string[];
  /** Each of those scenarios' verdicts, with the first line of its reason. */
  verdicts?: { id: string; verdict: CertificationStatus; reason?: string }[];
  /** Why it is out of scope, or what the registry answered for one it does not support ("405 UNSUPPORTED"). */
  note?: string;
}

export interface RunResults {
  schema: typeof RESULTS_SCHEMA;
  runId: string;
  tool: { name: 'pullcheck'; version: string };
  startedAt: string;
  finishedAt: string;
  /** The command line options that shaped the run (never credentials). */
  selection: {
    suites: string[];
    focus?: string;
    skip?: string;
    /** `I/N` for a run of one shard; a merged report lists the shards it joined. */
    shard?: string;
    shards?: string[];
  };
  targets: TargetResult[];
  /** Present when the run used a vendor registry. */
  certification?: CertificationItem[];
  /**
   * What the run left on the vendor's registry after deleting what it pushed (helpers/registry/cleanup.ts):
   * the manifests deleted, and each repository left with the registry's answer (`405 UNSUPPORTED`, `kept (--keep)`).
   */
  registryCleanup?: { registry: string; deleted: number; left: { repository: string; answer: string }[] };
  /** Causes shared by several failures, named once with the scenarios they explain (helpers/report/causes.ts). */
  causes?: { node: string; cause: string; scenarios: string[]; suites: string[] }[];
  /** `run --baseline FILE`: what behaves differently from that run (helpers/report/diff.ts). */
  baseline?: { file: string; runId: string; compared: number; changes: ScenarioChange[]; unmatchedTargets: string[] };
  /**
   * `pullcheck upgrade --kubeconfig K --before`: what its `--after` run needs: the cluster it ran on
   * (kube-system's UID), its version and registry, and what each before half recorded (by scenario ID).
   */
  upgrade?: UpgradeBaseline;
  /** `pullcheck upgrade`: the upgrade/* halves, target `before` against `after` (diff.ts `compareHalves`). */
  halves?: { compared: number; changes: ScenarioChange[]; halfOnly: number };
}

export interface UpgradeBaseline {
  half: 'before';
  /** The API server's version when the before halves ran. */
  from: string;
  /** The UID of the cluster's kube-system namespace: which cluster the state is on. */
  clusterUid: string;
  server: string;
  /** The registry the halves pushed to: the after halves pull those images again. */
  registry: string;
  state: Record<string, unknown>;
}

/** A scenario that differs between two runs or targets. */
export interface ScenarioChange {
  /** The pair of targets: `a → b` when their names differ, else the name. */
  target: string;
  id: string;
  /** One part per difference: `verdict passed → skipped (by declaration)`, `pod-2 cached → pulled`, `only in A (passed)`. */
  parts: string[];
}

/** The scenarios of each verdict; helpers/report/verdict.ts builds the run's whole tally on it. */
export function summarize(scenarios: readonly { status: ScenarioStatus }[]): Record<ScenarioStatus, number> {
  const counts: Record<ScenarioStatus, number> = { passed: 0, failed: 0, blocked: 0, 'could-not-run': 0, 'not-applicable': 0 };
  for (const s of scenarios) counts[s.status] += 1;
  return counts;
}

/** What a vendor registry's options say of it in a target's record; none given: pullcheck's own registries. */
export function targetRegistry(
  r: { url: string; username?: string | undefined; upstream?: { url: string } | undefined; preseeded?: unknown } | undefined,
): TargetResult['registry'] {
  if (!r) return { mode: 'local' };
  return {
    mode: 'vendor',
    url: r.url,
    credentials: Boolean(r.username),
    ...(r.upstream ? { upstream: r.upstream.url } : {}),
    ...(r.preseeded ? { pullOnly: true } : {}),
  };
}
