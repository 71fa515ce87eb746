// `pullcheck run`: profile → cluster → (jest: registries → images → scenarios → verdicts) → report.
// One target per Kubernetes version (or the one existing cluster). For each, the run brings the
// cluster up itself (jest's global setup then finds it and leaves it alone), runs the suites that
// do not change nodes with --parallel workers, then those that do one at a time, and deletes the
// cluster unless --keep. The targets' results become one report.
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { CLUSTER_READY_ENV, clusterDown, clusterExists, clusterUp, kindBinary } from '../cluster/cluster.ts';
import { connectExisting } from '../cluster/existing.ts';
import { profileForRun } from '../cluster/profile.ts';
import type { Logger } from '../infra/log.ts';
import { checkBuildTools, checkDocker } from '../infra/preflight.ts';
import { checkKubernetesVersion } from '../build/nodeimage/index.ts';
import { registerCredentials, registerSecret } from '../infra/redact.ts';
import { checkVendorRegistry } from '../registry/vendor.ts';
import { newRunId, runCounts, runResults, writeReport } from '../report/assemble.ts';
import type { TargetResult } from '../report/schema.ts';
import { isSelected, TARGET_DIR_ENV } from '../report/records.ts';
import { certify } from './certification.ts';
import { loadCatalog, nodeChangingSuites, nodeLockingSuites, type CatalogEntry } from './catalog.ts';
import { UsageError, type RunOptions } from './options.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface Plan {
  /**
   * Suite files to run: those that leave nodes alone, those that change nodes under per-node locks
   * (they may run beside each other), and those that change nodes and must run alone.
   */
  shared: CatalogEntry['file'][];
  locked: CatalogEntry['file'][];
  exclusive: CatalogEntry['file'][];
  scenarios: CatalogEntry[];
}

/**
 * What the selection runs. Unknown suite names and selections that match nothing are usage errors
 * (a typo must not make a green run of nothing).
 */
export function planRun(catalog: readonly CatalogEntry[], changesNodes: ReadonlySet<string>, o: Pick<RunOptions, 'suites' | 'focus' | 'skip'>, locksNodes: ReadonlySet<string> = new Set()): Plan {
  const known = [...new Set(catalog.map((e) => e.suite))];
  for (const s of o.suites) {
    if (!known.includes(s)) throw new UsageError(`unknown suite "${s}": choose from ${known.join(', ')} (pullcheck list shows every scenario)`);
  }
  const selection = { ...(o.focus ? { focus: new RegExp(o.focus) } : {}), ...(o.skip ? { skip: new RegExp(o.skip) } : {}) };
  const scenarios = catalog.filter((e) => (o.suites.length === 0 || o.suites.includes(e.suite)) && isSelected(e.id, selection));
  if (scenarios.length === 0) {
    throw new UsageError(`the selection (${[o.suites.length ? `--suite ${o.suites.join(',')}` : '', o.focus ? `--focus ${o.focus}` : '', o.skip ? `--skip ${o.skip}` : ''].filter(Boolean).join(' ')}) matches no scenario: see pullcheck list`);
  }
  const files = [...new Set(scenarios.map((e) => e.file))];
  const suiteOf = (file: string) => catalog.find((e) => e.file === file)?.suite ?? '';
  return {
    shared: files.filter((f) => !changesNodes.has(suiteOf(f))),
    locked: files.filter((f) => changesNodes.has(suiteOf(f)) && locksNodes.has(suiteOf(f))),
    exclusive: files.filter((f) => changesNodes.has(suiteOf(f)) && !locksNodes.has(suiteOf(f))),
    scenarios,
  };
}

interface TargetSpec {
  name: string;
  /** undefined: the existing cluster. */
  k8s?: string;
}

function targetsOf(o: RunOptions): TargetSpec[] {
  if (o.kubeconfig) return [{ name: 'existing' }];
  if (o.versions.length === 0) return [{ name: profileForRun(o.profile).kubernetesVersion.raw }];
  return o.versions.map((v) => ({ name: v.raw, k8s: v.raw }));
}

/** The environment jest's processes inherit: how the harness learns what the run is. */
function jestEnv(o: RunOptions, target: TargetSpec, targetDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PULLCHECK_PROJECTS: 'e2e',
    PULLCHECK_REPORT_MANAGED: '1',
    [TARGET_DIR_ENV]: targetDir,
    PULLCHECK_PROFILE: o.profile,
    PULLCHECK_KEEP: o.keep ? '1' : '0',
    ...(target.k8s ? { PULLCHECK_K8S: target.k8s } : {}),
    ...(o.focus ? { PULLCHECK_FOCUS: o.focus } : {}),
    ...(o.skip ? { PULLCHECK_SKIP: o.skip } : {}),
    ...(o.timeoutMs ? { PULLCHECK_SCENARIO_TIMEOUT_MS: String(o.timeoutMs) } : {}),
    ...(o.kubeconfig ? { PULLCHECK_KUBECONFIG: resolve(o.kubeconfig) } : {}),
    ...(o.context ? { PULLCHECK_CONTEXT: o.context } : {}),
  };
  if (o.registry) {
    env['PULLCHECK_REGISTRY'] = o.registry.url;
    env['PULLCHECK_REGISTRY_HOST'] = o.registry.host;
    if (o.registry.username) env['PULLCHECK_REGISTRY_USERNAME'] = o.registry.username;
    if (o.registry.password) env['PULLCHECK_REGISTRY_PASSWORD'] = o.registry.password;
    if (o.registry.caFile) env['PULLCHECK_REGISTRY_CA'] = resolve(o.registry.caFile);
  }
  return env;
}

/** The jest process running now: on Ctrl-C it removes its registries, and the run waits for that. */
let activeJest: Promise<unknown> | undefined;
/**
 * The cluster creation running now: kind goes on creating node containers after a Ctrl-C, so the
 * run waits for it to end before deleting the cluster (else the deletion could come first).
 */
let activeClusterUp: Promise<unknown> | undefined;
/**
 * Set by Ctrl-C or SIGTERM. Work that had not started by then never starts: a cluster that kind
 * finishes after the signal must not get a jest phase (and its global setup) while it is deleted.
 */
let interrupted = false;

async function runJest(files: readonly string[], maxWorkers: number, env: NodeJS.ProcessEnv, logger: Logger, what: string): Promise<number> {
  if (files.length === 0 || interrupted) return 0;
  return logger.phase(what, async () => {
    const child = execa(process.execPath, ['--experimental-vm-modules', join(ROOT, 'node_modules/jest/bin/jest.js'), `--maxWorkers=${maxWorkers}`, '--runTestsByPath', ...files], {
      cwd: ROOT, env, stdio: 'inherit', reject: false,
    });
    activeJest = child;
    try {
      const r = await child;
      return r.exitCode ?? 1;
    } finally {
      activeJest = undefined;
    }
  });
}

function readTarget(file: string): TargetResult | undefined {
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as TargetResult;
}

/** The two jest phases of a target as one: their scenarios together, the wider time span. */
export function mergeTargets(name: string, parts: readonly (TargetResult | undefined)[], fallback: Omit<TargetResult, 'scenarios' | 'startedAt' | 'finishedAt' | 'name'>, started: Date): TargetResult {
  const present = parts.filter((p): p is TargetResult => p !== undefined);
  const first = present[0];
  const errors = present.map((p) => p.error).filter(Boolean);
  return {
    ...(first ?? fallback),
    name,
    startedAt: present.map((p) => p.startedAt).sort()[0] ?? started.toISOString(),
    finishedAt: present.map((p) => p.finishedAt).sort().at(-1) ?? new Date().toISOString(),
    // Each phase's target also holds the records the earlier phases left in the directory: the
    // first appearance of an ID is the phase that ran it.
    scenarios: present.flatMap((p) => p.scenarios).filter((s, i, all) => all.findIndex((x) => x.id === s.id) === i),
    ...(errors.length ? { error: errors.join('; ') } : {}),
  };
}

async function runTarget(o: RunOptions, plan: Plan, target: TargetSpec, runDir: string, logger: Logger, onCluster: (down: (() => Promise<void>) | undefined) => void): Promise<TargetResult> {
  const targetDir = join(runDir, target.name);
  const started = new Date();
  const fallback: Omit<TargetResult, 'scenarios' | 'startedAt' | 'finishedAt' | 'name'> = {
    kubernetesVersion: target.k8s ?? target.name,
    nodes: [],
    cluster: o.kubeconfig ? { mode: 'existing', name: o.context ?? 'current-context' } : { mode: 'kind', name: profileForRun(o.profile, target.k8s).clusterName, profile: o.profile },
    registry: o.registry ? { mode: 'vendor', url: o.registry.url } : { mode: 'local' },
  };
  let down: (() => Promise<void>) | undefined;
  let readyCluster: string | undefined;
  try {
    if (!o.kubeconfig) {
      const profile = profileForRun(o.profile, target.k8s);
      const kind = await kindBinary(logger);
      const existed = await clusterExists(kind, profile.clusterName);
      // Known before kind starts, so that Ctrl-C during creation removes the half-made cluster too.
      // One deletion, however many ask for it (the signal handler and this target's finally).
      let deleting: Promise<void> | undefined;
      if (!existed && !o.keep) down = () => (deleting ??= clusterDown(profile.clusterName, logger));
      onCluster(down);
      const up = logger.phase(`cluster ${profile.clusterName} (Kubernetes ${profile.kubernetesVersion.raw})`, () => clusterUp({ profile, logger, allowPull: o.allowPull }));
      activeClusterUp = up;
      try {
        await up;
      } finally {
        activeClusterUp = undefined;
      }
      if (existed) logger.info(`cluster ${profile.clusterName} existed before the run: it stays`);
      readyCluster = profile.clusterName;
    }
    const env = jestEnv(o, target, targetDir);
    if (readyCluster) env[CLUSTER_READY_ENV] = readyCluster;
    else delete env[CLUSTER_READY_ENV];
    const parts: (TargetResult | undefined)[] = [];
    const phases = [
      ['shared', plan.shared, o.parallel, `that leave nodes alone (${o.parallel} at a time)`],
      ['locked', plan.locked, o.parallel, `that change nodes under per-node locks (${o.parallel} at a time)`],
      ['exclusive', plan.exclusive, 1, 'that change nodes (one at a time)'],
    ] as const;
    for (const [phase, files, workers, what] of phases) {
      if (files.length === 0) continue;
      await runJest(files, workers, env, logger, `${target.name}: ${files.length} suite(s) ${what}`);
      const file = join(targetDir, 'target.json');
      parts.push(readTarget(file));
      if (existsSync(file)) renameSync(file, join(targetDir, `target-${phase}.json`));
    }
    const merged = mergeTargets(target.name, parts, fallback, started);
    if (parts.every((p) => p === undefined)) merged.error = `jest wrote no results for ${target.name}; see the output above`;
    return merged;
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] ?? '' : String(error);
    logger.warn(`${target.name}: ${message}`);
    return { ...fallback, name: target.name, startedAt: started.toISOString(), finishedAt: new Date().toISOString(), scenarios: [], error: message };
  } finally {
    if (down) await down().catch((e: unknown) => logger.warn(`deleting the cluster of ${target.name}: ${String(e)}`));
    onCluster(undefined);
  }
}

export interface RunOutcome {
  exitCode: 0 | 1;
  runDir: string;
}

export async function runPullcheck(o: RunOptions, logger: Logger): Promise<RunOutcome> {
  if (o.registry?.password) registerSecret(o.registry.password);
  if (o.registry?.username && o.registry.password) registerCredentials(o.registry.username, o.registry.password);
  const catalog = await loadCatalog();
  const plan = planRun(catalog, nodeChangingSuites(catalog), o, nodeLockingSuites(catalog));
  // Preflight, before any cluster or registry exists: each failure is one line and exit 2.
  if (!o.kubeconfig) {
    await checkDocker();
    await checkBuildTools();
    for (const v of o.versions) await checkKubernetesVersion(v, logger);
  }
  // A kubeconfig, context or API server that is wrong fails here in one line, not in every suite.
  if (o.kubeconfig) await connectExisting({ kubeconfig: o.kubeconfig, ...(o.context ? { context: o.context } : {}), logger });
  if (o.registry) {
    // Not a logged phase: a failure must print its one line, not START/FAIL lines around it.
    await checkVendorRegistry(o.registry);
    logger.info(`registry ${o.registry.url} answers${o.registry.username ? ` and takes the credentials of ${o.registry.username}` : ''}`);
  }
  const started = new Date();
  const runId = newRunId(started);
  const runDir = resolve(o.reportDir, runId);
  logger.info(`run ${runId}: ${plan.scenarios.length} scenario(s) in ${plan.shared.length + plan.locked.length + plan.exclusive.length} suite(s); report in ${runDir}`);

  // Ctrl-C or SIGTERM: jest (same process group) removes its registries; the cluster this run
  // made goes here, then the process ends with the signal's code.
  let pendingDown: (() => Promise<void>) | undefined;
  interrupted = false;
  // `on`, not `once`: execa's signal-exit re-raises a signal that no other listener is left for,
  // which would end the process before the cleanup below has run.
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    logger.warn(`${signal}: stopping; removing what this run created`);
    const done = () => process.exit(signal === 'SIGINT' ? 130 : 143);
    const down = pendingDown;
    // jest got the signal too (same process group); its registries must be gone before the
    // cluster's network can be. A minute at most, then the cluster goes regardless.
    const settled = (p: Promise<unknown> | undefined, ms: number) => (p ? Promise.race([p.catch(() => undefined), new Promise((r) => setTimeout(r, ms).unref())]) : Promise.resolve());
    // kind runs in its own process group and did not get the signal: the cluster it is creating is
    // deleted once it is complete, so that no node container appears after the deletion.
    if (activeClusterUp) logger.warn('waiting for kind to finish creating the cluster, then deleting it');
    settled(activeClusterUp, 300_000)
      .then(() => settled(activeJest, 60_000))
      .then(() => (down ? down() : undefined)).then(done, done);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const targets: TargetResult[] = [];
  try {
    for (const target of targetsOf(o)) {
      if (interrupted) break;
      targets.push(await runTarget(o, plan, target, runDir, logger, (down) => {
        pendingDown = down;
      }));
    }
  } finally {
    if (!interrupted) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
  // The signal handler finishes the cleanup and exits; nothing more is written.
  if (interrupted) await new Promise<never>(() => undefined);
  const results = runResults({
    runId,
    startedAt: started.toISOString(),
    finishedAt: new Date().toISOString(),
    selection: { suites: [...new Set(plan.scenarios.map((e) => e.suite))], ...(o.focus ? { focus: o.focus } : {}), ...(o.skip ? { skip: o.skip } : {}) },
    targets,
    ...(o.registry ? { certification: certify(targets) } : {}),
  });
  writeReport(runDir, results);
  const c = runCounts(results);
  const broken = targets.filter((t) => t.error);
  for (const t of broken) logger.warn(`${t.name} did not run completely: ${t.error}`);
  logger.info(`pullcheck: ${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped; report ${join(runDir, 'index.html')}`);
  return { exitCode: c.failed > 0 || broken.length > 0 ? 1 : 0, runDir };
}

