// `pullcheck run`: profile → cluster → (jest: registries → images → scenarios → verdicts) → report.
// One target per Kubernetes version (or the one existing cluster). For each, the run brings the
// cluster up through its provider, sweeps what killed runs left, writes the target's run context,
// runs the suites that leave nodes alone and then those that change nodes under per-node locks,
// each phase --parallel suites at a time, and deletes the cluster it made unless --keep.

import { existsSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join, resolve } from 'node:path';
import { execa } from 'execa';
import type { Cluster } from '../cluster/cluster.ts';
import { writeInClusterKubeconfig } from '../cluster/incluster.ts';
import { errorLine } from '../cluster/kube.ts';
import { sweepClusterLeftovers } from '../cluster/leftovers.ts';
import { deleteRunNamespaces, LABEL_ENDS_WITH_RUN } from '../cluster/namespaces.ts';
import { type ClusterProvider, providerFor } from '../cluster/provider.ts';
import { prebuiltProgramsPresent } from '../images/testimages.ts';
import { interrupted, onInterrupt, settled } from '../infra/lifecycle.ts';
import type { Logger } from '../infra/log.ts';
import { CODE_EXT, PACKAGE_ROOT } from '../infra/paths.ts';
import { checkHostTools } from '../infra/preflight.ts';
import { stopGroup } from '../infra/processgroup.ts';
import { registerCredentials, registerSecret } from '../infra/redact.ts';
import { sweepOrphans } from '../infra/sweep.ts';
import type { Posture, ProbeFinding } from '../model/posture.ts';
import { targetRegistry } from '../model/results.ts';
import { listJournal, safeName } from '../node/journal.ts';
import { liftQuarantines } from '../node/quarantine.ts';
import { holdJournalLease, type Restored, replayJournals } from '../node/replay.ts';
import { asFinding, checkPosture, type PostureMismatch, weakerThanUpstream } from '../posture/check.ts';
import { describePosture } from '../posture/posture.ts';
import { type OwnNodeCredentials, probePulls } from '../posture/probe.ts';
import { targetPosture } from '../posture/target.ts';
import { cleanPushed, cleanupLine, PUSH_JOURNAL, type RegistryCleanup, readJournal, runJournals } from '../registry/cleanup.ts';
import { trustRegistryOnNodes, untrustRegistryOnNodes } from '../registry/nodetrust.ts';
import { checkVendorRegistry, VendorRegistry } from '../registry/vendor.ts';
import { archiveRun } from '../report/archive.ts';
import { newRunId, runResults, writeReport } from '../report/assemble.ts';
import { describeCause } from '../report/causes.ts';
import { compareHalves, compareRuns, describeComparison, hasChanges, unobservedScenarios } from '../report/diff.ts';
import { publishToGitHub } from '../report/github.ts';
import { certificationVerdict } from '../report/html.ts';
import type { Finding, RunResults, TargetResult } from '../report/schema.ts';
import { nothingTested, nothingTestedLine, runFails, summaryLine, tally } from '../report/verdict.ts';
import { nodeRuntime } from '../runtime/runtime.ts';
import { loadCatalog, SELFTEST_DIR, SUITES_DIR, vendorSuitesDirs } from './catalog.ts';
import { certificationGaps, certify } from './certification.ts';
import { type ClusterTarget, RUN_CONTEXT_ENV, RUN_CONTEXT_SCHEMA, type RunContext, writeRunContext, writeSecretFile } from './context.ts';
import { orderByExpectedDuration, readDurations, withDurations, writeDurations } from './durations.ts';
import { runJestConfig } from './jestconfig.ts';
import { declaredRuntime, matrixLines, profileTargets } from './matrix.ts';
import type { RunOptions, VendorRegistryOptions } from './options.ts';
import { type Plan, phaseLanes, planRun } from './plan.ts';
import { shardName } from './shard.ts';
import { checkUpstream, upstreamSpec, upstreamTarget } from './upstream.ts';

export interface TargetSpec {
  name: string;
  cluster: ClusterTarget;
  /** `pullcheck upgrade`: this target's own selection (else the run's plan). */
  plan?: Plan;
  /** `pullcheck upgrade`: the registry this target's suites stand on instead of the run's (password in its 0600 file). */
  registry?: { options: VendorRegistryOptions; passwordFile?: string };
  /** `pullcheck upgrade`: which half of upgrade/* this target runs. */
  upgrade?: RunContext['upgrade'];
  /** Runs once the cluster is up, before posture, probe and suites (`pullcheck upgrade`: the upgrade itself). */
  prepare?: (cluster: Cluster) => Promise<void>;
}

/** The one place a run's options become clusters: the existing one, or a kind cluster per version. */
export function targetsOf(o: RunOptions): TargetSpec[] {
  if (o.inCluster)
    return [{ name: 'in-cluster', cluster: { provider: 'existing', kubeconfig: writeInClusterKubeconfig(), inCluster: true } }];
  if (o.kubeconfig)
    return [
      {
        name: 'existing',
        cluster: { provider: 'existing', kubeconfig: resolve(o.kubeconfig), ...(o.context ? { context: o.context } : {}) },
      },
    ];
  const kind = (k8s?: string): ClusterTarget => ({
    provider: 'kind',
    profile: o.profile,
    ...(k8s ? { k8s } : {}),
    ...(o.name ? { name: o.name } : {}),
  });
  if (o.profiles) return profileTargets({ ...o, profiles: o.profiles });
  if (o.versions.length === 0) {
    const provider = providerFor(kind());
    return [{ name: provider.kubernetesVersion() ?? 'default', cluster: kind() }];
  }
  return o.versions.map((v) => ({ name: v.raw, cluster: kind(v.raw) }));
}

/** The vendor registry as the probe uses it (the suites make their own from the run context). */
function vendorOf(o: RunOptions, pushJournal?: string): VendorRegistry | undefined {
  const v = o.registry;
  if (!v) return undefined;
  return new VendorRegistry(
    {
      url: v.url,
      host: v.host,
      ...(v.username ? { username: v.username } : {}),
      ...(v.password ? { password: v.password } : {}),
      ...(v.caFile ? { caPem: readFileSync(v.caFile, 'utf8') } : {}),
      ...(v.repositoryPrefix ? { repositoryPrefix: v.repositoryPrefix } : {}),
      ...(v.repositoryLayout ? { repositoryLayout: v.repositoryLayout } : {}),
      ...(pushJournal ? { pushJournal } : {}),
      ...upstreamSpec(v.upstream),
      ...(v.preseeded ? { preseeded: v.preseeded } : {}),
    },
    'vendor',
  );
}

/**
 * The jest process running now (the leader of its own process group), the cluster creation and the
 * target being run: a Ctrl-C or SIGTERM stops the first, waits for the others, then deletes or sweeps.
 */
let activeJest: { pid: number; done: Promise<unknown> } | undefined;
let activeClusterUp: Promise<unknown> | undefined;
let activeTarget: Promise<unknown> | undefined;

/** The host programs this run needs, each with the reason a missing one is named with. */
function hostTools(plan: Plan, o: RunOptions): Map<string, string> {
  // In a pod, the runner image carries every program binary prebuilt: there, no Go. Elsewhere other
  // builds (registry kinds, the credential provider) need Go whatever the cache holds.
  const prebuilt = o.inCluster && prebuiltProgramsPresent();
  const tools = new Map<string, string>(prebuilt ? [] : [['go', 'every test image is built on this host']]);
  for (const e of plan.scenarios) for (const t of e.tools ?? []) if (!tools.has(t)) tools.set(t, `${e.id} runs it`);
  return tools;
}

/** Wherever npm put jest (hoisted or under pullcheck's own node_modules). */
const JEST_BIN = createRequire(import.meta.url).resolve('jest/bin/jest');

async function runJest(
  files: readonly string[],
  o: { maxWorkers: number; vendorDirs: readonly string[] },
  contextFile: string,
  logger: Logger,
  what: string,
): Promise<number> {
  if (files.length === 0 || interrupted()) return 0;
  return logger.phase(what, async () => {
    const child = execa(
      process.execPath,
      [
        // From a checkout jest's own modules (setup, reporter) are TypeScript; compiled, they need no loader.
        ...(CODE_EXT === 'ts' ? ['--import', 'tsx'] : []),
        '--experimental-vm-modules',
        // jest's ESM support needs the flag; its warning is not for pullcheck's users.
        '--disable-warning=ExperimentalWarning',
        JEST_BIN,
        '--config',
        runJestConfig(o.vendorDirs, o.maxWorkers),
        '--runTestsByPath',
        ...files,
      ],
      {
        cwd: PACKAGE_ROOT,
        env: { [RUN_CONTEXT_ENV]: contextFile },
        stdio: 'inherit',
        reject: false,
        // A group of its own: a signal reaches jest and its workers only through the run
        // (stopJest), which then sweeps what they left; a signal to the run's pid alone reaches them too.
        detached: true,
      },
    );
    if (child.pid) activeJest = { pid: child.pid, done: child };
    try {
      return (await child).exitCode ?? 1;
    } finally {
      activeJest = undefined;
    }
  });
}

/**
 * Forwards the signal to jest's process group and waits until none of it runs (a minute, then
 * SIGKILL): jest's workers cannot hear a signal themselves (their `process` is jest's sandbox copy),
 * so what they started is swept after them by the target's teardown (sweepLeftovers, the journal).
 */
async function stopJest(signal: NodeJS.Signals, logger: Logger): Promise<void> {
  const jest = activeJest;
  if (!jest) return;
  const how = await stopGroup(jest.pid, signal, 60_000);
  if (how !== 'ended') logger.warn(`jest's processes did not end on ${signal}: ${how} after SIGKILL`);
  await settled(jest.done, 5_000);
}

function readTarget(file: string): TargetResult | undefined {
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as TargetResult;
}

/** The two jest phases of a target as one: their scenarios together, the wider time span. */
export function mergeTargets(
  name: string,
  parts: readonly (TargetResult | undefined)[],
  fallback: Omit<TargetResult, 'scenarios' | 'startedAt' | 'finishedAt' | 'name'>,
  started: Date,
): TargetResult {
  const present = parts.filter((p): p is TargetResult => p !== undefined);
  const first = present[0];
  const errors = present.map((p) => p.error).filter(Boolean);
  return {
    ...(first ?? fallback),
    name,
    startedAt: present.map((p) => p.startedAt).sort()[0] ?? started.toISOString(),
    finishedAt:
      present
        .map((p) => p.finishedAt)
        .sort()
        .at(-1) ?? new Date().toISOString(),
    // Each phase's target also holds the records the earlier phases left in the directory: the
    // first appearance of an ID is the phase that ran it.
    scenarios: present.flatMap((p) => p.scenarios).filter((s, i, all) => all.findIndex((x) => x.id === s.id) === i),
    ...(errors.length ? { error: errors.join('; ') } : {}),
  };
}

interface RunShared {
  o: RunOptions;
  plan: Plan;
  runId: string;
  runDir: string;
  logger: Logger;
  passwordFile: string | undefined;
  /** The deletion of the cluster being worked on, for the Ctrl-C cleanup. */
  onCluster(down: (() => Promise<void>) | undefined): void;
}

/** What one target's steps share: set by a step, read by the later ones and by the teardown. */
interface TargetRun {
  r: RunShared;
  target: TargetSpec;
  provider: ClusterProvider;
  targetDir: string;
  started: Date;
  fallback: Omit<TargetResult, 'scenarios' | 'startedAt' | 'finishedAt' | 'name'>;
  down?: () => Promise<void>;
  untrustVendor?: () => Promise<void>;
  liftQuarantine?: () => Promise<unknown>;
  journal?: { cluster: Cluster; release: () => Promise<void> };
  restored: Restored[];
  cluster?: Cluster;
  posture?: Posture;
  postureMismatches: PostureMismatch[];
  weaker: Finding[];
  probeFindings: ProbeFinding[];
  trustedByRun: boolean;
  contextFile?: string;
  parts: (TargetResult | undefined)[];
}

/** One named step of a target, run in order (kind's create actions); a step that throws ends the target. */
interface TargetStep {
  name: string;
  run(t: TargetRun): Promise<void>;
}

function clusterOf(t: TargetRun): Cluster {
  if (!t.cluster) throw new Error(`${t.target.name}: no cluster yet`);
  return t.cluster;
}

function postureOf(t: TargetRun): Posture {
  if (!t.posture) throw new Error(`${t.target.name}: no posture yet`);
  return t.posture;
}

/** The cluster through its provider; Ctrl-C during creation removes the half-made cluster too. */
async function clusterUp(t: TargetRun): Promise<void> {
  const { provider } = t;
  const { o, logger } = t.r;
  // Known before kind starts, so that Ctrl-C during creation removes the half-made cluster too.
  // One deletion, however many ask for it (the signal handler and this target's finally).
  const existed = await provider.exists(logger);
  let deleting: Promise<void> | undefined;
  if (!existed && !o.keep && provider.info().makesClusters) t.down = () => (deleting ??= provider.down(logger));
  t.r.onCluster(t.down);
  const up = logger.phase(
    `cluster ${provider.name}${provider.kubernetesVersion() ? ` (Kubernetes ${provider.kubernetesVersion()})` : ''}`,
    () => provider.up({ logger, allowPull: o.allowPull }),
  );
  activeClusterUp = up;
  const { cluster } = await up.finally(() => {
    activeClusterUp = undefined;
  });
  t.cluster = cluster;
  if (existed && provider.info().makesClusters) logger.info(`cluster ${provider.name} existed before the run: it stays`);
  // Nodes a failed cleanup quarantined (helpers/node/quarantine.ts): named in one line, the taints lifted.
  t.liftQuarantine = () => liftQuarantines({ kube: cluster.kube, runId: t.r.runId, logger });
}

/** What killed runs left, in every mode: containers and networks on this host (a pod has no Docker), objects in the cluster. */
async function sweepLeftovers(t: TargetRun): Promise<void> {
  const cluster = clusterOf(t);
  const { logger } = t.r;
  if (t.provider.info().sweepableHost) await sweepOrphans(logger);
  await sweepClusterLeftovers({
    kube: cluster.kube,
    ...(cluster.nodes.how === 'none' ? {} : { nodes: cluster.nodes }),
    logger,
  });
}

/**
 * The run's journal lease, and what killed runs changed on the nodes undone before the probe looks at
 * them. Without node access yet (the node agent comes with the suites), each suite replays once its agent runs.
 */
async function replayNodeJournal(t: TargetRun): Promise<void> {
  const cluster = clusterOf(t);
  const { logger } = t.r;
  t.journal = { cluster, release: await holdJournalLease(cluster.kube, t.r.runId, logger) };
  if (cluster.nodes.how === 'none')
    logger.info('node-change journal: replayed by each suite once its node agent runs (no node access before the suites)');
  else {
    const { nodes, nodeNames } = cluster;
    t.restored = await logger.phase(`node-change journal: undo what killed runs left on ${nodeNames.length} node(s)`, () =>
      replayJournals({ kube: cluster.kube, nodes, nodeNames, logger, keepRuns: journalRunsKept(t.r) }),
    );
  }
}

/** The target's posture, its mismatches with the cluster and what is weaker than upstream: named once here. */
async function readPosture(t: TargetRun): Promise<void> {
  const cluster = clusterOf(t);
  const { target } = t;
  const { o, logger } = t.r;
  const posture = await targetPosture(target.cluster, cluster, o.posture);
  t.posture = posture;
  logger.info(
    `posture of ${target.name}: ${describePosture(posture)} (admission: ${posture.sources.admission}; kubelet: ${posture.sources.kubelet})`,
  );
  // Named once here; the scenarios whose expectations rest on a mismatched part say so.
  t.postureMismatches = await checkPosture(cluster, posture);
  for (const m of t.postureMismatches) logger.warn(`posture of ${target.name}: ${m.line}`);
  t.weaker = weakerThanUpstream(posture);
  for (const f of t.weaker) logger.warn(`posture of ${target.name}: ${f.line}`);
}

/**
 * A vendor registry's CA goes on the nodes once for the run (every suite pulls from the same host in
 * parallel), and comes off once at its end.
 */
async function trustVendorRegistry(t: TargetRun): Promise<void> {
  const cluster = clusterOf(t);
  const vendor = vendorOf(t.r.o);
  t.trustedByRun = Boolean(vendor?.caPem) && cluster.nodes.how !== 'none';
  if (vendor?.caPem && t.trustedByRun) {
    const runtime = nodeRuntime(postureOf(t));
    await trustRegistryOnNodes(cluster.nodes, cluster.nodeNames, vendor.host, vendor.caPem, runtime);
    const untrust = () => untrustRegistryOnNodes(cluster.nodes, cluster.nodeNames, vendor.host, runtime);
    t.untrustVendor = untrust;
    // Ctrl-C: the CA comes off the nodes before the cluster (if the run made it) goes.
    const deleteCluster = t.down;
    t.r.onCluster(async () => {
      await untrust().catch(() => undefined);
      await deleteCluster?.();
    });
  }
}

/** Each node pulls from each registry the run uses; what fails is a finding named before the suites. */
async function probe(t: TargetRun): Promise<void> {
  const cluster = clusterOf(t);
  const { target, targetDir } = t;
  const { o, logger } = t.r;
  t.probeFindings = await logger.phase(
    `pull probe: each of ${cluster.nodeNames.length} node(s) pulls from each registry the run uses`,
    async () =>
      probePulls({
        cluster,
        vendor: vendorOf(o, join(targetDir, PUSH_JOURNAL)),
        runId: t.r.runId,
        logger,
        runtime: nodeRuntime(postureOf(t)),
        ...(await keptNodeCredentials(t.r, target, cluster)),
      }),
  );
  for (const f of t.probeFindings) logger.warn(`posture of ${target.name}: ${f.line}`);
}

/** The target's run context (helpers/run/context.ts), which every suite process reads once. */
async function writeTargetContext(t: TargetRun): Promise<void> {
  const { target, targetDir, trustedByRun, postureMismatches, probeFindings, posture } = t;
  const { o, plan } = t.r;
  if (!posture) throw new Error(`${target.name}: no posture yet`);
  const ctx: RunContext = {
    schema: RUN_CONTEXT_SCHEMA,
    runId: t.r.runId,
    targetDir,
    cluster: target.cluster,
    clusterReady: true,
    ...(o.registry
      ? {
          registry: {
            url: o.registry.url,
            host: o.registry.host,
            ...(o.registry.username ? { username: o.registry.username } : {}),
            ...(o.registry.caFile ? { caFile: resolve(o.registry.caFile) } : {}),
            ...(t.r.passwordFile ? { passwordFile: t.r.passwordFile } : {}),
            ...(trustedByRun ? { trustedByRun } : {}),
            ...(o.registry.repositoryPrefix ? { repositoryPrefix: o.registry.repositoryPrefix } : {}),
            ...(o.registry.publicPrefix ? { publicPrefix: o.registry.publicPrefix } : {}),
            ...(o.registry.repositoryLayout ? { repositoryLayout: o.registry.repositoryLayout } : {}),
            ...upstreamTarget(o.registry.upstream, resolve),
            ...(o.registry.preseeded ? { preseeded: o.registry.preseeded } : {}),
          },
        }
      : {}),
    scenarioIds: plan.scenarios.map((e) => e.id),
    keep: o.keep,
    namespacesEndWithRun: true,
    ...(o.timeoutMs ? { scenarioTimeoutMs: o.timeoutMs } : {}),
    reportManaged: true,
    allowPull: o.allowPull,
    posture,
    ...(postureMismatches.length ? { postureMismatches } : {}),
    ...(probeFindings.length ? { probeFindings } : {}),
    ...(target.upgrade ? { upgrade: target.upgrade } : {}),
  };
  t.contextFile = writeRunContext(ctx);
}

/** The suites that leave nodes alone, then those that change nodes under per-node locks, each a jest process. */
async function runSuites(t: TargetRun): Promise<void> {
  const { target, targetDir, contextFile } = t;
  const { o, plan, logger } = t.r;
  if (!contextFile) throw new Error(`${target.name}: no run context yet`);
  const phases = [
    ['shared', plan.shared, 'that leave nodes alone'],
    ['locked', plan.locked, 'that change nodes under per-node locks'],
  ] as const;
  const durations = readDurations();
  for (const [phase, files, what] of phases) {
    if (files.length === 0) continue;
    const lanes = phaseLanes(phase, o.parallel, clusterOf(t).nodeNames.length);
    await runJest(
      orderByExpectedDuration(files, plan.scenarios, durations),
      { maxWorkers: lanes, vendorDirs: vendorSuitesDirs(o.suitesDirs) },
      contextFile,
      logger,
      `${target.name}: ${files.length} suite(s) ${what} (${lanes} at a time)`,
    );
    const file = join(targetDir, 'target.json');
    t.parts.push(readTarget(file));
    if (existsSync(file)) renameSync(file, join(targetDir, `target-${phase}.json`));
  }
}

/** A target's steps, in order: each sets what the later ones read on the TargetRun. */
const TARGET_STEPS: readonly TargetStep[] = [
  { name: 'cluster up', run: clusterUp },
  // `pullcheck upgrade`: the upgrade itself, before posture, probe and suites.
  { name: 'prepare', run: async (t) => t.target.prepare?.(clusterOf(t)) },
  { name: 'sweep leftovers', run: sweepLeftovers },
  { name: 'node-change journal', run: replayNodeJournal },
  { name: 'posture', run: readPosture },
  { name: "vendor registry's CA on the nodes", run: trustVendorRegistry },
  { name: 'pull probe', run: probe },
  { name: 'run context', run: writeTargetContext },
  { name: 'suites', run: runSuites },
];

/** The target's result: the jest phases' records merged, with the findings named before the suites and what was restored. */
function targetResult(t: TargetRun): TargetResult {
  const { target, targetDir, parts, restored } = t;
  const merged = mergeTargets(target.name, parts, t.fallback, t.started);
  if (t.posture) merged.runtime = t.posture.runtime;
  const findings = [...t.postureMismatches.map(asFinding), ...t.probeFindings, ...t.weaker];
  if (findings.length) merged.findings = findings;
  if (parts.every((p) => p === undefined)) merged.error = `jest wrote no results for ${target.name}; see the output above`;
  restored.push(...restoredBySuites(targetDir));
  if (restored.length > 0) merged.restored = restored;
  return merged;
}

/** What its scenarios took, for the order of the next run's suite files; a record that cannot be written only costs that order. */
function recordDurations(result: TargetResult, logger: Logger): void {
  try {
    writeDurations(withDurations(readDurations(), result.scenarios));
  } catch (error) {
    logger.info(`scenario durations not recorded (${errorLine(error)}): the next run orders its suites by scenario count`);
  }
}

/** A target whose step threw: no scenarios, the error named with the phase it happened in. */
function failedTarget(t: TargetRun, error: unknown): TargetResult {
  const { logger } = t.r;
  const phase = logger.phases.find((p) => !p.ok)?.name;
  const message = `${phase ? `${phase}: ` : ''}${errorLine(error)}`;
  logger.warn(`${t.target.name}: ${message}`);
  return {
    ...t.fallback,
    name: t.target.name,
    startedAt: t.started.toISOString(),
    finishedAt: new Date().toISOString(),
    scenarios: [],
    error: message,
    ...(t.restored.length > 0 ? { restored: t.restored } : {}),
  };
}

/** The namespaces of the target's scenarios (emptied of pods as each ended), deleted; the cluster empties them after the run. */
async function deleteNamespaces(t: TargetRun): Promise<void> {
  const { logger, runId } = t.r;
  try {
    const n = await deleteRunNamespaces(clusterOf(t).kube, runId);
    if (n > 0)
      logger.info(
        `${t.target.name}: deleted the run's ${n} namespace(s); the cluster removes what is in them in the background (kubectl get namespaces -l ${LABEL_ENDS_WITH_RUN}=${runId})`,
      );
  } catch (e) {
    logger.warn(`${t.target.name}: deleting the run's namespaces: ${errorLine(e)} (the next run on this host removes them)`);
  }
}

/** Whatever happened: quarantines lifted, the vendor's CA off the nodes, this run's journal replayed, the cluster deleted if the run made it. */
async function tearDownTarget(t: TargetRun): Promise<void> {
  const { r, target, down } = t;
  const { logger } = r;
  await t.liftQuarantine?.().catch((e: unknown) => logger.warn(`lifting the run's node quarantines: ${String(e)}`));
  await t.untrustVendor?.().catch((e: unknown) => logger.warn(`removing the registry's CA from the nodes: ${String(e)}`));
  // Stopped by a signal, jest's workers are gone (stopJest): their registries, namespaces and node
  // locks are swept as a killed run's are. Not from a cluster about to be deleted.
  if (interrupted() && t.cluster && !down)
    await sweepLeftovers(t).catch((e: unknown) => logger.warn(`sweeping what the stopped suites left: ${String(e)}`));
  if (t.cluster && !down && !r.o.keep) await deleteNamespaces(t);
  // A suite's worker that died (a crash, an OOM kill, a signal) left entries of this run: they go
  // now, except what an upgrade's before half hands over to its after half.
  const c = t.journal?.cluster;
  if (c && !down && c.nodes.how !== 'none' && target.upgrade?.half !== 'before')
    await replayJournals({ kube: c.kube, nodes: c.nodes, nodeNames: c.nodeNames, logger, onlyRuns: journalRunsKept(r) }).catch(
      (e: unknown) => logger.warn(`node-change journal at the end of ${target.name}: ${String(e)}`),
    );
  await t.journal?.release().catch(() => undefined);
  if (down) await down().catch((e: unknown) => logger.warn(`deleting the cluster of ${target.name}: ${String(e)}`));
  r.onCluster(undefined);
}

/** What the target stands on before any step: its provider, directory, and the result it reports if no suite runs. */
function targetRun(shared: RunShared, target: TargetSpec): TargetRun {
  const r: RunShared = {
    ...shared,
    o: target.registry ? { ...shared.o, registry: target.registry.options } : shared.o,
    plan: target.plan ?? shared.plan,
    passwordFile: target.registry ? target.registry.passwordFile : shared.passwordFile,
  };
  const { o } = r;
  const provider: ClusterProvider = providerFor(target.cluster);
  return {
    r,
    target,
    provider,
    targetDir: join(r.runDir, target.name),
    started: new Date(),
    fallback: {
      kubernetesVersion: provider.kubernetesVersion() ?? target.name,
      nodes: [],
      cluster: provider.describe(),
      runtime: declaredRuntime(target.cluster, o.posture),
      registry: targetRegistry(o.registry),
    },
    restored: [],
    postureMismatches: [],
    weaker: [],
    probeFindings: [],
    trustedByRun: false,
    parts: [],
  };
}

/** One target: its steps in order (TARGET_STEPS), its result, and its teardown whatever happened. */
async function runTarget(shared: RunShared, target: TargetSpec): Promise<TargetResult> {
  const t = targetRun(shared, target);
  try {
    for (const step of TARGET_STEPS) {
      if (interrupted()) throw new Error(`stopped by a signal before ${step.name}`);
      await step.run(t);
    }
    const result = targetResult(t);
    recordDurations(result, t.r.logger);
    return result;
  } catch (error) {
    return failedTarget(t, error);
  } finally {
    await tearDownTarget(t);
  }
}

/**
 * The vendor's registry left as found: what the run pushed there (its push journals) is deleted;
 * with --keep, or for the `--after` run of `upgrade --before` (which pulls the same images again),
 * it stays and is listed like what the registry refused.
 */
async function cleanVendorRegistry(
  o: RunOptions,
  runDir: string,
  logger: Logger,
  keptFor: string | undefined,
): Promise<RegistryCleanup | undefined> {
  const vendor = vendorOf(o);
  if (!vendor) return undefined;
  const entries = runJournals(runDir).flatMap(readJournal);
  if (!entries.length) return undefined;
  const repositories = [...new Set(entries.map((e) => e.repository))];
  const kept = o.keep ? 'kept (--keep)' : keptFor;
  const result: RegistryCleanup = kept
    ? { registry: vendor.host, deleted: 0, left: repositories.map((repository) => ({ repository, answer: kept })) }
    : await logger
        .phase(`registry ${vendor.host}: deleting what this run pushed`, () => cleanPushed(vendor.client, entries))
        .catch((e: unknown) => ({
          registry: vendor.host,
          deleted: 0,
          left: repositories.map((repository) => ({ repository, answer: `not deleted: ${e instanceof Error ? e.message : String(e)}` })),
        }));
  if (result.left.length)
    logger.warn(
      `${cleanupLine(result)}: \`pullcheck registry clean --registry ${o.registry?.url} --run ${basename(runDir)}\` retries (the report lists them)`,
    );
  else logger.info(cleanupLine(result));
  return result;
}

/** The runs whose journal entries this target leaves to their owner: its own, and an upgrade's before half for its after half. */
/**
 * The after half of an upgrade keeps the node credentials its before half wrote (upgrade/* asks
 * whether they still work): the nodes holding one, read from the node journals, for the probe.
 */
async function keptNodeCredentials(r: RunShared, target: TargetSpec, cluster: Cluster): Promise<{ ownCredentials?: OwnNodeCredentials }> {
  // `pullcheck upgrade` runs both halves in one run; `upgrade --after` names the before run's report.
  const afterHalf = target.upgrade?.half === 'after' || r.o.upgradeHalf?.half === 'after';
  if (!afterHalf || cluster.nodes.how === 'none') return {};
  const before = safeName(r.o.upgradeHalf?.half === 'after' ? r.o.upgradeHalf.baseline.results.runId : r.runId);
  const holding: string[] = [];
  for (const node of cluster.nodeNames) {
    const entries = await listJournal(cluster.nodes, node);
    if (entries.some((e) => e.run === before && e.kind === 'file' && e.restart.includes('kubelet'))) holding.push(node);
  }
  return holding.length
    ? { ownCredentials: { nodes: holding, why: `a node credential the upgrade's before half (run ${before}) wrote for the after half` } }
    : {};
}

function journalRunsKept(r: RunShared): string[] {
  return [r.runId, ...(r.o.upgradeHalf?.half === 'after' ? [r.o.upgradeHalf.baseline.results.runId] : [])];
}

/** What suites replayed through their node agent (journal entries of killed runs), from the files they wrote. */
function restoredBySuites(targetDir: string): Restored[] {
  if (!existsSync(targetDir)) return [];
  return readdirSync(targetDir)
    .filter((f) => /^restored-.*\.json$/.test(f))
    .flatMap((f) => JSON.parse(readFileSync(join(targetDir, f), 'utf8')) as Restored[]);
}

export interface RunOutcome {
  exitCode: 0 | 1;
  runDir: string;
}

/** What `pullcheck upgrade` gives a run instead of the options' targets. */
export interface GivenTargets {
  /** The halves of the upgrade, then the default selection. */
  targets: TargetSpec[];
  runId?: string;
  plan?: Plan;
  /** Results of targets run by an earlier command (the --kubeconfig form's before half), reported first. */
  earlier?: TargetResult[];
  /** Targets `before` and `after` are the upgrade/* halves: compared in the report. */
  halves?: boolean;
  /** What the report keeps for a later `--after` run, made once the targets ran. */
  upgrade?: () => RunResults['upgrade'];
}

export async function runPullcheck(o: RunOptions, logger: Logger, given?: GivenTargets): Promise<RunOutcome> {
  if (o.registry?.password) registerSecret(o.registry.password);
  if (o.registry?.username && o.registry.password) registerCredentials(o.registry.username, o.registry.password);
  const plan =
    given?.plan ?? planRun(await loadCatalog(o.selftest ? [SUITES_DIR, SELFTEST_DIR] : [SUITES_DIR], vendorSuitesDirs(o.suitesDirs)), o);
  const targets = given?.targets ?? targetsOf(o);
  // Preflight, before any cluster or registry exists: each failure is one line and exit 2.
  await checkHostTools(hostTools(plan, o));
  for (const t of targets) await providerFor(t.cluster).preflight(logger);
  if (o.registry) {
    // Not a logged phase: a failure must print its one line, not START/FAIL lines around it.
    await checkVendorRegistry(o.registry);
    await checkUpstream(o.registry.upstream, logger);
    logger.info(`registry ${o.registry.url} answers${o.registry.username ? ` and takes the credentials of ${o.registry.username}` : ''}`);
  }
  const started = new Date();
  const runId = given?.runId ?? newRunId(started);
  const runDir = resolve(o.reportDir, runId);
  logger.info(
    `run ${runId}: ${plan.scenarios.length} scenario(s) in ${plan.shared.length + plan.locked.length} suite(s); report in ${runDir}`,
  );

  // The password reaches jest's processes in a 0600 file, never in run.json or their environment.
  const secret = o.registry?.password ? writeSecretFile(o.registry.password) : undefined;
  let pendingDown: (() => Promise<void>) | undefined;
  // Ctrl-C or SIGTERM: jest's group gets the signal and is waited for; kind (its own process group)
  // finishes the cluster it is creating, which is then deleted, so that no node container appears
  // after the deletion; the target's teardown sweeps what jest's workers left and undoes their node
  // changes (their journal entries), as the next run would.
  const forget = onInterrupt('pullcheck run', async (signal) => {
    logger.warn('stopping; removing what this run created');
    await stopJest(signal, logger);
    if (activeClusterUp) logger.warn('waiting for kind to finish creating the cluster, then deleting it');
    await settled(activeClusterUp, 300_000);
    await settled(activeTarget, 300_000);
    await pendingDown?.();
    secret?.remove();
  });
  const results: TargetResult[] = [...(given?.earlier ?? [])];
  const shared: RunShared = {
    o,
    plan,
    runId,
    runDir,
    logger,
    passwordFile: secret?.file,
    onCluster: (down) => {
      pendingDown = down;
    },
  };
  try {
    for (const target of targets) {
      if (interrupted()) break;
      const running = runTarget(shared, target);
      activeTarget = running;
      results.push(await running);
    }
  } finally {
    if (!interrupted()) {
      forget();
      secret?.remove();
    }
  }
  // The signal handler finishes the cleanup and exits; nothing more is written.
  if (interrupted()) await new Promise<never>(() => undefined);
  const registryCleanup = o.registry
    ? await cleanVendorRegistry(o, runDir, logger, given?.upgrade ? 'kept for the upgrade --after run, which pulls them again' : undefined)
    : undefined;
  const run = runResults({
    runId,
    startedAt: started.toISOString(),
    finishedAt: new Date().toISOString(),
    selection: {
      suites: [...new Set(plan.scenarios.map((e) => e.suite))],
      ...(o.focus ? { focus: o.focus } : {}),
      ...(o.skip ? { skip: o.skip } : {}),
      ...(o.shard ? { shard: shardName(o.shard) } : {}),
    },
    targets: results,
    ...(o.registry ? { certification: certify(results) } : {}),
  });
  if (registryCleanup) run.registryCleanup = registryCleanup;
  const upgrade = given?.upgrade?.();
  if (upgrade) run.upgrade = upgrade;
  const baseline = o.baseline ? compareRuns(o.baseline.results, run) : undefined;
  if (o.baseline && baseline) run.baseline = { file: resolve(o.baseline.file), runId: o.baseline.results.runId, ...baseline };
  // `pullcheck upgrade`: its targets are the halves and the selection after them, not versions side by side.
  const halfTargets = given?.halves
    ? ([run.targets.find((t) => t.name === 'before'), run.targets.find((t) => t.name === 'after')] as const)
    : undefined;
  // An after half that did not run (the upgrade failed) has nothing to compare.
  const halves = halfTargets?.[0] && halfTargets[1] && !halfTargets[1].error ? compareHalves(halfTargets[0], halfTargets[1]) : undefined;
  if (halves) run.halves = { compared: halves.compared, changes: halves.changes, halfOnly: halves.halfOnly };
  writeReport(runDir, run);
  if (o.archive) logger.info(`archive ${await archiveRun(runDir)}`);
  const counted = tally(run);
  const broken = results.filter((t) => t.error);
  for (const t of broken) logger.warn(`${t.name} did not run completely: ${t.error}`);
  for (const cause of run.causes ?? []) logger.warn(describeCause(cause));
  // A registry is certified by the whole catalog (or `pullcheck certify`), not by a selection of it.
  const certifying = o.certify || (o.registry !== undefined && o.suites.length === 0 && !o.focus && !o.skip);
  const gaps = certifying && run.certification ? certificationGaps(run.certification) : [];
  for (const gap of gaps) logger.warn(`certification of ${o.registry?.url}: ${gap}`);
  publishToGitHub({ results: run, runDir, certifying }, o.github ?? {});
  if (run.certification)
    logger.info(
      `certification of ${o.registry?.url}: ${certificationVerdict(run.certification)}${certifying ? '' : ' (a selection: the exit code does not rest on it)'}; ${join(runDir, 'certification.html')}`,
    );
  logger.info(`pullcheck: ${summaryLine(counted)}; report ${join(runDir, 'index.html')}`);
  if (nothingTested(counted)) logger.warn(`pullcheck: ${nothingTestedLine(counted)}`);
  // Behaviour, not only verdicts: each target's counts, what differs between them, and from the baseline run.
  if (!given?.halves) for (const line of matrixLines(run)) logger.info(line);
  if (halves) {
    for (const line of describeComparison(halves)) logger.info(`upgrade/* before → after: ${line}`);
    logger.info(
      `upgrade/* before → after: ${halves.halfOnly} pods one half runs alone (its own step) are not compared; results.json holds them`,
    );
  }
  const changed = baseline !== undefined && hasChanges(baseline);
  if (baseline && o.baseline) {
    const lines = describeComparison(baseline);
    for (const line of lines) logger.info(`compared with ${o.baseline.results.runId}: ${line}`);
    if (changed && o.acceptChanges) logger.info('the changes are accepted (--accept-changes): they do not fail the run');
  }
  // Every scenario that ran records what it saw, so that a diff compares its behaviour, not only its
  // verdict; pullcheck's own tests (--selftest) fail on one that does not.
  const unobserved = [...new Set(run.targets.flatMap(unobservedScenarios))];
  if (unobserved.length)
    logger.warn(`${unobserved.length} scenario(s) recorded no observation (a diff compares only their verdicts): ${unobserved.join(', ')}`);
  const failedRun = runFails(counted) || gaps.length > 0 || (o.selftest === true && unobserved.length > 0);
  return { exitCode: failedRun || (changed && !o.acceptChanges) ? 1 : 0, runDir };
}
