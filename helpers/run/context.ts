// The one thing `pullcheck run` hands its jest processes: a typed run context, written once per
// target as <target>/run.json and named by one variable (RUN_CONTEXT_ENV). Secrets never go in it:
// the registry password travels in a 0600 file of its own, removed when the run ends.
import type { UpstreamTarget } from './upstream.ts';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { privateTempDir, removePrivateTempDir } from '../infra/tempfiles.ts';
import { dirname, join, resolve } from 'node:path';
import type { PostureMismatch } from '../posture/check.ts';
import type { Posture } from '../posture/posture.ts';
import type { ProbeFinding } from '../posture/probe.ts';

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

/** The context of a jest run started by hand (npm run test:e2e): the default profile, a report of its own. */
export function defaultRunContext(targetDir = ''): RunContext {
  return {
    schema: RUN_CONTEXT_SCHEMA,
    runId: '',
    targetDir,
    cluster: { provider: 'kind', profile: 'default' },
    clusterReady: false,
    keep: false,
    reportManaged: false,
    allowPull: true,
  };
}

/** Writes the context (by default as <target>/run.json) and returns the file's path. */
export function writeRunContext(ctx: RunContext, file = join(ctx.targetDir, 'run.json')): string {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(ctx, null, 2)}\n`);
  return file;
}

let loaded: { file: string; ctx: RunContext } | undefined;

/** Whether a run named this process's context (else it is a jest run started by hand). */
export function hasRunContext(): boolean {
  return Boolean(process.env[RUN_CONTEXT_ENV]);
}

/** This process's run context: the file RUN_CONTEXT_ENV names (read once), else the default one. */
export function loadRunContext(): RunContext {
  const file = process.env[RUN_CONTEXT_ENV];
  if (!file) return defaultRunContext();
  if (loaded?.file === file) return loaded.ctx;
  if (!existsSync(file)) throw new Error(`${RUN_CONTEXT_ENV} names ${file}, which does not exist (the run that wrote it has ended)`);
  const ctx = JSON.parse(readFileSync(file, 'utf8')) as RunContext;
  if (ctx.schema !== RUN_CONTEXT_SCHEMA) throw new Error(`${file} is not a ${RUN_CONTEXT_SCHEMA} run context`);
  loaded = { file, ctx };
  return ctx;
}

/** Makes `ctx` this process's context and names its file for the processes it starts (jest workers). */
export function useRunContext(ctx: RunContext, at?: string): void {
  const file = writeRunContext(ctx, at);
  loaded = { file, ctx };
  process.env[RUN_CONTEXT_ENV] = file;
}

/** The registry password the run put in its secret file. */
export function registryPassword(ctx: RunContext): string | undefined {
  const file = ctx.registry?.passwordFile;
  return file && existsSync(file) ? readFileSync(file, 'utf8') : undefined;
}

/** A 0600 file in a private 0700 directory holding `secret`; `remove()` deletes both. */
export function writeSecretFile(secret: string): { file: string; remove(): void } {
  const dir = privateTempDir('secret');
  const file = resolve(dir, 'password');
  writeFileSync(file, secret, { mode: 0o600 });
  return { file, remove: () => removePrivateTempDir(dir) };
}

/** What the before halves recorded in `stateFile` (empty when they recorded nothing). */
export function readUpgradeState(stateFile: string): Record<string, unknown> {
  return existsSync(stateFile) ? (JSON.parse(readFileSync(stateFile, 'utf8')) as Record<string, unknown>) : {};
}
