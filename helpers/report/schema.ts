// The data a run leaves behind, one tree (run → target → scenario), which the JUnit, JSON and HTML
// writers each render. A "target" is one cluster at one Kubernetes version: `--k8s a,b` makes two.
// docs/report-schema.md documents this schema; bump RESULTS_SCHEMA when a field changes meaning.

export const RESULTS_SCHEMA = 'pullcheck.io/results/v1';

export type ScenarioStatus = 'passed' | 'failed' | 'skipped';

export type SkipKind = 'declared' | 'unavailable' | 'blocked';

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
  /**
   * For a skip: 'declared' — the declared posture or target says the scenario does not apply (a
   * registry pullcheck cannot read the log of, no node access, AlwaysPullImages on); 'unavailable' —
   * it should have run and could not, which fails the run; 'blocked' — the cluster is not what its
   * posture declares in a part the scenario's expectations rest on, or the pull probe found a node or
   * registry at fault where the scenario pulled (`explainedBy`), which fails the run.
   */
  skip?: SkipKind;
  /** The expectations' rules the scenario applied (version-aware ones say which version/setting). */
  rules: string[];
  /** Files under the target directory with what was collected on failure. */
  evidence: string[];
  namespace?: string;
  /** Registries (host:port) the scenario pushed its images to. */
  registries?: string[];
  /** The registry capabilities the scenario declares it proves (certification). */
  capabilities?: string[];
  /** A framework self-test, reported apart from the conformance scenarios. */
  selftest?: boolean;
  /** The posture mismatch that explains this failure: the scenario's expectation rests on that part. */
  explainedBy?: string;
  /**
   * What each pod the scenario ran was seen to do, in a closed vocabulary (helpers/framework/observe.ts),
   * whatever the verdict; absent in reports from before observations (then only verdicts compare).
   */
  observations?: PodObservation[];
}

/** One pod's observations, keyed by its name (stable per scenario), e.g. `{ pod: 'pod-1', observed: ['admitted:Always', 'pulled', 'ran', 'digest:pushed'] }`. */
export interface PodObservation {
  pod: string;
  observed: string[];
}

export interface TargetResult {
  /** Directory name of the target inside the run directory, e.g. `v1.37.2`. */
  name: string;
  kubernetesVersion: string;
  /** What the nodes reported (kubelet version, container runtime), when the cluster came up. */
  nodes: { name: string; kubeletVersion: string; containerRuntime: string }[];
  cluster: { mode: 'kind' | 'existing'; name: string; profile?: string; context?: string };
  /** `credentials`: whether certify was given any (false: an anonymous registry; absent in older reports). */
  registry: { mode: 'local' | 'vendor'; url?: string; credentials?: boolean };
  startedAt: string;
  finishedAt: string;
  scenarios: ScenarioRecord[];
  /** Set when the target could not run at all (cluster did not come up, jest crashed). */
  error?: string;
  /** Node changes runs that were killed had left, undone by this run before its probe (the node-change journal). */
  restored?: { node: string; what: string; run: string }[];
}

/**
 * A capability no scenario exercised against the registry is "not tested", never passed; "out of
 * scope" is one the run declared inapplicable (auth, for a registry certified without credentials).
 */
export type CertificationStatus = 'passed' | 'failed' | 'not tested' | 'out of scope';

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
  /** Why it is out of scope. */
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
  /** Failures that share a node and a runtime cause, named once (helpers/report/causes.ts). */
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

export function summarize(scenarios: readonly { status: ScenarioStatus }[]): Record<ScenarioStatus, number> {
  const counts: Record<ScenarioStatus, number> = { passed: 0, failed: 0, skipped: 0 };
  for (const s of scenarios) counts[s.status] += 1;
  return counts;
}
