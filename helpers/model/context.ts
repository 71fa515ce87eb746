// The run context `pullcheck run` hands its jest processes (written by helpers/run/context.ts), and
// the targets in it: data only, on the ground floor, so that the cluster, posture and report stages
// import it rather than each other.
import type { Posture, PostureMismatch, ProbeFinding } from './posture.ts';

export const RUN_CONTEXT_ENV = 'PULLCHECK_RUN_CONTEXT';
export const RUN_CONTEXT_SCHEMA = 'pullcheck.io/run-context/v1';

/** Where the scenarios run: a kind cluster pullcheck makes from a profile, or one the user named. */
export type ClusterTarget =
  | { provider: 'kind'; profile: string; k8s?: string /** --name: the cluster's name instead of the profile's */; name?: string }
  | { provider: 'existing'; kubeconfig: string; context?: string /** --in-cluster: from a pod, without Docker */; inCluster?: boolean };

export interface RegistryTarget {
  url: string;
  host: string;
  username?: string;
  caFile?: string;
  /** A 0600 file holding the password (never the password itself). */
  passwordFile?: string;
  /** Every repository pushed there goes under it (--registry-repository-prefix). */
  repositoryPrefix?: string;
  /** A namespace anonymous clients may read (--registry-public-prefix). */
  publicPrefix?: string;
  /** `flat`: repositories at depth 2 under the prefix (--registry-repository-layout). */
  repositoryLayout?: 'nested' | 'flat';
  /** The run put the registry's CA on every node for its whole length: suites neither add nor remove it. */
  trustedByRun?: boolean;
  /** `--registry-upstream`: the registry is a pull-through cache of this one, where pullcheck pushes (helpers/run/upstream.ts). */
  upstream?: UpstreamTarget;
  /** `--registry-preseeded`: pull-only, the references the vendor seeded (helpers/registry/preseeded.ts). */
  preseeded?: PreseededReference[];
}

/** One pre-seeded reference (helpers/registry/preseeded.ts PreseededEntry; `name` one of its kinds). */
export interface PreseededReference {
  name: string;
  reference: string;
  digest: string;
  platforms?: string[];
}

/** The upstream of a pull-through cache under test: the password only by the variable's name. */
export interface UpstreamTarget {
  url: string;
  host: string;
  username?: string;
  passwordEnv?: string;
  caFile?: string;
}

export interface RunContext {
  schema: typeof RUN_CONTEXT_SCHEMA;
  runId: string;
  /** Where scenario records, evidence and target.json go. */
  targetDir: string;
  cluster: ClusterTarget;
  /** The run brought this kind cluster up and checked it: jest's processes connect without preflight. */
  clusterReady: boolean;
  registry?: RegistryTarget;
  /** The scenario IDs to run; undefined runs every scenario of the files jest was given. */
  scenarioIds?: string[];
  keep: boolean;
  /** `pullcheck run` ends the namespaces (deletes them, or the cluster they are in): scenarios delete only their pods. */
  namespacesEndWithRun?: boolean;
  /** `--timeout`: replaces every scenario's own deadline. */
  scenarioTimeoutMs?: number;
  /** `pullcheck run` assembles the report itself; jest's reporter writes only its target. */
  reportManaged: boolean;
  allowPull: boolean;
  /** What the cluster is meant to be; expectations come from it. Resolved by the run (or by the suite, by hand). */
  posture?: Posture;
  /** Where the cluster is not what the posture declares, found by the run before the suites. */
  postureMismatches?: PostureMismatch[];
  /** Nodes that cannot pull from a registry the run uses, or pull its private images with no Secret. */
  probeFindings?: ProbeFinding[];
  /** `pullcheck upgrade`: which half of upgrade/* runs, and where the before half leaves what the after half reads. */
  upgrade?: UpgradeHalf;
}

export interface UpgradeHalf {
  half: 'before' | 'after';
  from: string;
  to: string;
  /** JSON the before half writes (per scenario ID) and the after half reads, in the run's report directory. */
  stateFile: string;
  /**
   * The `pullcheck upgrade` process: owner of what the before half leaves in the cluster, so no
   * sweep takes it meanwhile. None in the --kubeconfig form: the after half is another command,
   * so what the before half leaves carries no owner a sweep could find gone.
   */
  ownerPid?: number;
}
