// npm run bench [-- --profile NAME] [--name CLUSTER] [--repeat N] [--suites a,b] [--cold] [--full]
//
// How long pullcheck's phases take on this machine, each the median of several runs where that is
// cheap, against the targets the project set itself. A benchmark, not a test: nothing here fails
// because a number is high; the table says which targets were met. It uses a cluster of its own
// (the default profile as kind cluster pullcheck-bench), deleted at the end whatever happens.
//
// Phases, in order: hermetic build cold (--cold only: ~30 min into a throw-away cache; otherwise the
// last measured figure is shown), node image resolve warm, cluster up and down, registry start and
// stop, image push, each suite (`pullcheck run --kubeconfig` against the bench cluster), the whole
// selection in one run, and with --full the whole `pullcheck run` including its own cluster up.

import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { execa, type ResultPromise } from 'execa';
import { readmeFigures } from '../helpers/bench/readme.ts';
import { formatTable, median, type PhaseResult, round, summarize, type Target } from '../helpers/bench/stats.ts';
import { collectVerdictDelays, type VerdictDelay } from '../helpers/bench/verdicts.ts';
import { resolveNodeImage } from '../helpers/build/nodeimage/index.ts';
import { type Cluster, clusterDown, clusterExists, clusterUp, kindBinary } from '../helpers/cluster/cluster.ts';
import { type Kube, kubeFromString } from '../helpers/cluster/kube.ts';
import { type Profile, ProfileError, profileFor } from '../helpers/cluster/profile.ts';
import { echoImage } from '../helpers/images/testimages.ts';
import { cacheDir } from '../helpers/infra/cache.ts';
import { LABEL_RUN, MANAGED_SELECTOR } from '../helpers/infra/docker.ts';
import { defaultLogFile, Logger } from '../helpers/infra/log.ts';
import { checkDocker, EnvironmentError } from '../helpers/infra/preflight.ts';
import { removeContainersSync } from '../helpers/infra/sweep.ts';
import { LocalRegistry, type StartedRegistry } from '../helpers/registry/registry.ts';
import { createCA } from '../helpers/registry/tls.ts';
import type { RunResults } from '../helpers/report/schema.ts';
import { summaryLine, type Tally, tally } from '../helpers/report/verdict.ts';
import { loadCatalog } from '../helpers/run/catalog.ts';
import { UsageError } from '../helpers/run/options.ts';
import { planRun } from '../helpers/run/plan.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BENCH_DIR = join(ROOT, 'reports', 'bench');
const COLD = 'hermetic build, cold (node image, empty cache)';

const TARGETS = {
  clusterUp: { max: 60, text: '≤ 60 s (warm, 3 nodes)' },
  // Issue #27: medians on an idle machine, beside the figures it measured on its day's main (144 scenarios).
  wholeExisting: { max: 220, text: '≤ 220 s median (all suites; issue #27 measured 419 s)', of: 'median' },
  wholeWithCluster: { max: 260, text: '≤ 260 s median, cluster up and down included (all suites; issue #27 measured 336 s)', of: 'median' },
  certify: { max: 90, text: '≤ 90 s median (issue #27 measured 95–111 s)', of: 'median' },
  verdict: { max: 5, text: '≤ 5 s after scheduled' },
} as const satisfies Record<string, Target>;

const USAGE = `usage: npm run bench -- [options]
  --profile NAME|FILE  cluster profile to measure (default: default = 1 control plane + 2 workers)
  --name CLUSTER       the cluster's name (default: pullcheck-bench, so that a bench never touches a cluster in use)
  --repeat N           samples of each cheap phase (default 3)
  --suites a,b         suites to time (default: all)
  --cold               also time the hermetic build into an empty cache (~30 min; re-tags pullcheck/node:<version>)
  --full               also time the whole \`pullcheck run\` with its own cluster up and down
  --whole-only         skip the per-suite runs: cluster, registry, the whole runs and certify only
  Whole runs and certify (of a \`registry serve --kind distribution-htpasswd\` registry) are each taken --repeat times.

Phases the README states a figure for (its "bench figures" table) get the ratio to it.`;

interface BenchOptions {
  profile: string;
  name: string;
  repeat: number;
  suites: string[];
  cold: boolean;
  full: boolean;
  wholeOnly: boolean;
}

function benchOptions(argv: string[]): BenchOptions | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      profile: { type: 'string', default: 'default' },
      name: { type: 'string', default: 'pullcheck-bench' },
      repeat: { type: 'string', default: '3' },
      suites: { type: 'string', multiple: true },
      cold: { type: 'boolean', default: false },
      full: { type: 'boolean', default: false },
      'whole-only': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) return undefined;
  const repeat = Number(values.repeat);
  if (!Number.isInteger(repeat) || repeat < 1 || repeat > 20)
    throw new UsageError(`--repeat "${values.repeat}" must be a whole number from 1 to 20`);
  return {
    profile: values.profile,
    name: values.name,
    repeat,
    suites: (values.suites ?? [])
      .flatMap((s) => s.split(','))
      .map((s) => s.trim())
      .filter(Boolean),
    cold: values.cold,
    full: values.full,
    wholeOnly: values['whole-only'],
  };
}

/** A `pullcheck` command as users run it; its output goes to the bench's log file. */
class Cli {
  private current: ResultPromise | undefined;

  constructor(private readonly logger: Logger) {}

  async run(args: string[], env: Record<string, string> = {}, input?: string): Promise<{ seconds: number; exitCode: number }> {
    const started = Date.now();
    this.logger.detail(`$ pullcheck ${args.join(' ')}`);
    // Its own process group, so that a signal reaches it (and the jest it starts) once, from stop().
    const child = execa(process.execPath, [join(ROOT, 'bin/pullcheck.js'), ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      reject: false,
      all: true,
      ...(input === undefined ? { stdin: 'ignore' as const } : { input }),
      detached: true,
    });
    this.current = child;
    child.all?.on('data', (chunk: Buffer) => this.logger.detail(chunk.toString()));
    const r = await child;
    this.current = undefined;
    return { seconds: (Date.now() - started) / 1000, exitCode: r.exitCode ?? -1 };
  }

  /** The running command and the jest it started get SIGTERM and tidy up after themselves. */
  async stop(): Promise<void> {
    if (this.current) await stopGroup(this.current, 'SIGTERM');
  }
}

/** Signals a detached child's process group (it and what it started) once, and waits for the child to end. */
async function stopGroup(child: ResultPromise, signal: NodeJS.Signals): Promise<void> {
  if (child.pid) {
    try {
      process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  }
  await child.catch(() => undefined);
}

async function timed<T>(logger: Logger, name: string, fn: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const started = Date.now();
  const value = await logger.phase(name, fn);
  return { seconds: (Date.now() - started) / 1000, value };
}

/**
 * After a run on the bench's cluster: the namespaces it deleted at its end gone, so that the next
 * sample starts on a cluster as quiet as a user's (the run does not wait for them; this says how long
 * the cluster took, its own phase).
 */
async function settled(kube: Kube, logger: Logger, name: string): Promise<number> {
  const started = Date.now();
  await logger.phase(name, async () => {
    while (Date.now() - started < 300_000) {
      const left = (await kube.core.listNamespace({ labelSelector: MANAGED_SELECTOR })).items.length;
      if (left === 0) return;
      await new Promise((r) => setTimeout(r, 1_000));
    }
    logger.warn(`${name}: namespaces still there after 300 s; the next sample starts anyway`);
  });
  return (Date.now() - started) / 1000;
}

/** The last cold build any earlier bench measured. */
function previousCold(): PhaseResult['previous'] | undefined {
  if (!existsSync(BENCH_DIR)) return undefined;
  const files = readdirSync(BENCH_DIR)
    .filter((f) => /^\d{8}-\d{6}\.json$/.test(f))
    .sort()
    .reverse();
  for (const f of files) {
    try {
      const report = JSON.parse(readFileSync(join(BENCH_DIR, f), 'utf8')) as {
        startedAt: string;
        phases: { name: string; samples: number[]; median?: number }[];
      };
      const cold = report.phases.find((p) => p.name === COLD && p.samples.length > 0);
      if (cold?.median !== undefined) return { median: cold.median, measuredAt: report.startedAt };
    } catch {
      // an unreadable old report says nothing
    }
  }
  return undefined;
}

function stamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

interface SuiteFigures {
  suite: string;
  exitCode: number;
  wallSeconds: number;
  jestSeconds?: number;
  scenarioSeconds: number;
  counts: Tally;
  verdicts: VerdictDelay[];
}

function readResults(reportDir: string): RunResults | undefined {
  const file = join(reportDir, 'latest', 'results.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as RunResults) : undefined;
}

function figures(
  suite: string,
  wall: { seconds: number; exitCode: number },
  results: RunResults | undefined,
): Omit<SuiteFigures, 'verdicts'> {
  const target = results?.targets[0];
  const scenarios = target?.scenarios ?? [];
  const counts = tally({ targets: target ? [target] : [] });
  return {
    suite,
    exitCode: wall.exitCode,
    wallSeconds: wall.seconds,
    ...(target ? { jestSeconds: (Date.parse(target.finishedAt) - Date.parse(target.startedAt)) / 1000 } : {}),
    scenarioSeconds: scenarios.reduce((sum, s) => sum + s.durationMs, 0) / 1000,
    counts,
  };
}

function countsText(f: Omit<SuiteFigures, 'verdicts'>): string {
  const c = f.counts;
  return `${summaryLine(c)}${f.exitCode === 0 ? '' : `; exit ${f.exitCode}`}`;
}

/** Each run's counts once, with how many runs said them: "172 passed, 0 failed (×3)". */
function distinct(notes: readonly string[]): string {
  const seen = new Map<string, number>();
  for (const n of notes) seen.set(n, (seen.get(n) ?? 0) + 1);
  return [...seen].map(([n, k]) => (k > 1 ? `${n} (×${k})` : n)).join('; ');
}

/**
 * `pullcheck certify` of a registry it did not start itself: `registry serve --kind distribution-htpasswd`
 * beside the bench cluster prints the certify line a vendor would run; it is run --repeat times.
 */
async function certifyPhase(
  o: BenchOptions,
  cli: Cli,
  logger: Logger,
  work: string,
  stated: number | undefined,
  cleanups: (() => Promise<void>)[],
  settle: () => Promise<number>,
): Promise<PhaseResult> {
  const name = 'certify (registry serve --kind distribution-htpasswd, existing cluster)';
  const serve = execa(
    process.execPath,
    [join(ROOT, 'bin/pullcheck.js'), 'registry', 'serve', '--kind', 'distribution-htpasswd', '--name', o.name],
    {
      cwd: ROOT,
      reject: false,
      stdin: 'ignore',
      detached: true,
    },
  );
  // Stopped before the bench's cluster goes, also on Ctrl-C: a serve left running brought the
  // cluster it serves beside up again after the bench had deleted it.
  const stopServe = () => stopGroup(serve, 'SIGINT');
  cleanups.push(stopServe);
  try {
    const line = await new Promise<string>((resolve, reject) => {
      if (serve.stdout)
        createInterface({ input: serve.stdout }).on('line', (l) => {
          if (l.startsWith('npx pullcheck certify')) resolve(l);
        });
      serve.then(
        (r) =>
          reject(
            new Error(
              `registry serve exited ${r.exitCode} before printing its certify line: ${String(r.stderr).trim().split('\n').pop() ?? ''}`,
            ),
          ),
        reject,
      );
    });
    const [command, input] = line.split(' < ');
    const args = (command ?? '').split(' ').slice(2); // from `certify` on: npx pullcheck certify …
    const password = input ? readFileSync(input.trim(), 'utf8') : '';
    const samples: number[] = [];
    const notes: string[] = [];
    for (let i = 0; i < o.repeat; i++) {
      const reportDir = join(work, 'reports', `certify-${i}`);
      const r = await timed(logger, `certify (${i + 1}/${o.repeat})`, () => cli.run([...args, '--report-dir', reportDir], {}, password));
      samples.push(r.value.seconds);
      notes.push(`${countsText(figures('certify', r.value, readResults(reportDir)))}${r.value.exitCode === 0 ? ', certified' : ''}`);
      await settle();
    }
    return { name, samples, unit: 's', target: TARGETS.certify, ...(stated ? { stated } : {}), note: distinct(notes) };
  } catch (error) {
    return { name, samples: [], unit: 's', target: TARGETS.certify, note: `not measured: ${String(error).split('\n')[0]}` };
  } finally {
    // Stopped here: the cleanup would signal a process group that may be another's by then.
    cleanups.splice(cleanups.indexOf(stopServe), 1);
    await stopServe();
  }
}

async function bench(o: BenchOptions, logger: Logger, cli: Cli, cleanups: (() => Promise<void>)[]): Promise<PhaseResult[]> {
  const phases: PhaseResult[] = [];
  const stated = readmeFigures(readFileSync(join(ROOT, 'README.md'), 'utf8'));
  const profile: Profile = profileFor({ profile: o.profile, name: o.name });
  const catalog = await loadCatalog();
  const plan = planRun(catalog, { suites: o.suites });
  // The default selection (upgrade/* runs only under pullcheck upgrade): what the targets are for.
  const allSuites = [...new Set(planRun(catalog, { suites: [] }).scenarios.map((e) => e.suite))];
  const suites = [...new Set(plan.scenarios.map((e) => e.suite))];
  const everySuite = suites.length === allSuites.length;
  const docker = await checkDocker();
  logger.info(
    `bench: profile ${profile.name} (cluster ${profile.clusterName}, ${profile.cluster.nodes.length} nodes, Kubernetes ${profile.kubernetesVersion.raw}); ${o.repeat} samples per cheap phase; suites ${suites.join(', ')}; ${cpus().length} CPUs, load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}; Docker ${docker.serverVersion}`,
  );
  const work = mkdtempSync(join(tmpdir(), 'pullcheck-bench-'));
  cleanups.push(async () => rmSync(work, { recursive: true, force: true }));

  // 1. The hermetic build from nothing: a throw-away cache and Go module cache.
  if (o.cold) {
    const cache = join(work, 'cold-cache');
    const modules = join(work, 'cold-gomodcache');
    cleanups.push(async () => {
      await execa('go', ['clean', '-modcache'], { env: { ...process.env, GOMODCACHE: modules }, reject: false });
    });
    const r = await timed(logger, 'hermetic build, cold', () =>
      cli.run(['images', 'build', '--profile', o.profile, '--no-pull', '--force'], { PULLCHECK_CACHE_DIR: cache, GOMODCACHE: modules }),
    );
    phases.push({
      name: COLD,
      samples: r.value.exitCode === 0 ? [r.seconds] : [],
      unit: 's',
      ...(r.value.exitCode === 0 ? {} : { note: `failed (exit ${r.value.exitCode}) after ${round(r.seconds)} s; see ${logger.logFile}` }),
    });
  } else {
    const previous = previousCold();
    phases.push({
      name: COLD,
      samples: [],
      unit: 's',
      ...(previous ? { previous } : {}),
      note: `${previous ? '' : 'never measured by bench (README: ≈ 31 min); '}--cold measures it (~30 min)`,
    });
  }

  // 2. The warm path every run takes: the node image is found in the store.
  const resolveSamples: number[] = [];
  const sources = new Set<string>();
  for (let i = 0; i < o.repeat; i++) {
    const r = await timed(logger, `node image resolve, warm (${i + 1}/${o.repeat})`, () =>
      resolveNodeImage(profile.kubernetesVersion, logger, { allowPull: false }),
    );
    resolveSamples.push(r.seconds);
    sources.add(r.value.source);
  }
  phases.push({
    name: 'hermetic build, warm (node image resolve, cached)',
    samples: resolveSamples,
    unit: 's',
    note: `source: ${[...sources].join(', ')}`,
  });

  // 3. Cluster up and down, N times; the last cluster stays for the suites.
  const kind = await kindBinary(logger);
  if (await clusterExists(kind, profile.clusterName)) {
    logger.info(`cluster ${profile.clusterName} exists from an earlier bench: deleting it, so that up is measured from nothing`);
    await clusterDown(profile.clusterName, logger);
  }
  cleanups.push(async () => {
    if (await clusterExists(kind, profile.clusterName)) await clusterDown(profile.clusterName, logger);
  });
  const up: number[] = [];
  const down: number[] = [];
  let cluster: Cluster | undefined;
  for (let i = 0; i < o.repeat; i++) {
    const r = await timed(logger, `cluster up ${profile.clusterName} (${i + 1}/${o.repeat})`, () =>
      clusterUp({ profile, logger, allowPull: false }),
    );
    up.push(r.seconds);
    cluster = r.value;
    if (i < o.repeat - 1)
      down.push(
        (await timed(logger, `cluster down ${profile.clusterName} (${i + 1}/${o.repeat})`, () => clusterDown(profile.clusterName, logger)))
          .seconds,
      );
  }
  if (!cluster) throw new Error('no cluster came up');
  const network = cluster.network;
  phases.push({
    stated: stated.get('cluster up'),
    name: `cluster up (${profile.cluster.nodes.length} nodes, node image present)`,
    samples: up,
    unit: 's',
    target: TARGETS.clusterUp,
  });
  const kubeconfig = join(work, 'kubeconfig');
  writeFileSync(kubeconfig, cluster.kubeconfig, { mode: 0o600 });

  // 4. Registries: start (with TLS and auth, on the kind network, as scenarios get them), stop.
  const runId = `bench${Date.now().toString(36).slice(-4)}`;
  cleanups.push(async () => removeContainersSync(`${LABEL_RUN}=${runId}`));
  const ca = await createCA(`pullcheck bench ${runId}`);
  cleanups.push(async () => rmSync(ca.dir, { recursive: true, force: true }));
  const starts: number[] = [];
  const stops: number[] = [];
  const pushes: number[] = [];
  for (let i = 0; i < o.repeat; i++) {
    const r = await timed(logger, `registry start (${i + 1}/${o.repeat})`, () =>
      new LocalRegistry({ name: `bench${i}`, auth: 'htpasswd', ca, network, runId }, logger).start(),
    );
    starts.push(r.seconds);
    const registry: StartedRegistry = r.value;
    try {
      // 5. A test image (the echo program and a build-id layer) into a fresh repository: every blob is uploaded.
      for (let j = 0; j < o.repeat; j++) {
        const { image } = await echoImage({ os: 'linux', architecture: 'amd64' }, logger);
        pushes.push(
          (
            await timed(logger, `image push (${i * o.repeat + j + 1}/${o.repeat * o.repeat})`, () =>
              registry.client.pushImage(`bench/echo-${i}-${j}`, 'v1', image),
            )
          ).seconds,
        );
      }
    } finally {
      stops.push((await timed(logger, `registry stop (${i + 1}/${o.repeat})`, () => registry.stop())).seconds);
    }
  }
  phases.push({ name: 'registry start (TLS + htpasswd)', samples: starts, unit: 's' });
  phases.push({ name: 'registry stop', samples: stops, unit: 's' });
  phases.push({ name: 'image push (echo, fresh repository)', samples: pushes, unit: 's' });

  // 6. Each suite alone against the bench cluster, then all of them in one run.
  const kube = kubeFromString(cluster.kubeconfig);
  const perSuite: SuiteFigures[] = [];
  for (const suite of o.wholeOnly ? [] : suites) {
    const reportDir = join(work, 'reports', suite);
    const wall = await timed(logger, `suite ${suite}`, () =>
      cli.run(['run', '--kubeconfig', kubeconfig, '--suite', suite, '--keep', '--report-dir', reportDir]),
    );
    const f = figures(suite, wall.value, readResults(reportDir));
    const verdicts = await collectVerdictDelays(kube);
    perSuite.push({ ...f, verdicts });
    logger.info(
      `suite ${suite}: ${countsText(f)}; run ${round(f.wallSeconds)} s, jest ${round(f.jestSeconds ?? 0)} s, scenarios ${round(f.scenarioSeconds)} s${verdicts.length ? `; ${verdicts.length} negative verdict(s) ${verdicts.map((v) => `${round(v.seconds)} s`).join(', ')}` : ''}`,
    );
    phases.push({
      name: `suite ${suite}: pullcheck run --kubeconfig`,
      samples: [f.wallSeconds],
      unit: 's',
      note: `${countsText(f)}; jest ${round(f.jestSeconds ?? 0)} s`,
    });
    phases.push({
      name: `suite ${suite}: its scenarios (sum)`,
      samples: [f.scenarioSeconds],
      unit: 's',
      note: `${f.counts.scenarios} scenarios`,
    });
  }
  const verdicts = perSuite.flatMap((s) => s.verdicts);
  phases.push({
    name: 'negative scenario: pod scheduled → failure event',
    samples: verdicts.map((v) => v.seconds),
    unit: 's',
    target: TARGETS.verdict,
    note: verdicts.length
      ? `${verdicts.length} pods; event times have 1 s resolution; worst ${[...verdicts].sort((a, b) => b.seconds - a.seconds)[0]?.pod ?? ''}`
      : 'no negative scenario in the selection',
  });

  const wholeSamples: number[] = [];
  const wholeNotes: string[] = [];
  const emptied: number[] = [];
  for (let i = 0; i < o.repeat; i++) {
    const wholeDir = join(work, 'reports', `whole-${i}`);
    const whole = await timed(logger, `whole run, existing cluster (${suites.length} suites) (${i + 1}/${o.repeat})`, () =>
      // As users run it: without --keep, whose kept namespaces (pods still backing off) loaded the next run.
      cli.run(['run', '--kubeconfig', kubeconfig, '--suite', suites.join(','), '--report-dir', wholeDir]),
    );
    const f = figures('whole', whole.value, readResults(wholeDir));
    wholeSamples.push(whole.value.seconds);
    wholeNotes.push(`${countsText(f)}, scenarios ${round(f.scenarioSeconds)} s`);
    emptied.push(await settled(kube, logger, `namespaces of whole run ${i + 1} gone`));
  }
  phases.push({
    name: `whole run, existing cluster (${suites.length} suites)`,
    samples: wholeSamples,
    unit: 's',
    ...(everySuite ? { target: TARGETS.wholeExisting, stated: stated.get('whole run, existing cluster') } : {}),
    note: `${distinct(wholeNotes)}${everySuite ? '' : '; target is for all suites'}`,
  });
  phases.push({
    name: 'after a whole run on an existing cluster: its namespaces gone',
    samples: emptied,
    unit: 's',
    note: 'the run deletes them at its end and does not wait; the next sample starts after',
  });
  phases.push(
    await certifyPhase(o, cli, logger, work, stated.get('certify'), cleanups, () =>
      settled(kube, logger, 'namespaces of the certify gone'),
    ),
  );
  const sum = perSuite.reduce((s, f) => s + f.wallSeconds, 0);
  const wholeMedian = median(wholeSamples);
  if (sum > 0 && wholeMedian !== undefined)
    phases.push({
      name: 'whole run / sum of per-suite runs',
      samples: [wholeMedian / sum],
      unit: 'x',
      note: `${round(wholeMedian)} s / ${round(sum)} s (each per-suite run pays CLI, jest and registry start-up)`,
    });

  // 7. The last cluster down (the suites' cluster), then the whole run that brings its own cluster.
  down.push(
    (await timed(logger, `cluster down ${profile.clusterName} (${o.repeat}/${o.repeat})`, () => clusterDown(profile.clusterName, logger)))
      .seconds,
  );
  phases.push({ name: 'cluster down', samples: down, unit: 's' });
  if (o.full) {
    const fullSamples: number[] = [];
    const fullNotes: string[] = [];
    for (let i = 0; i < o.repeat; i++) {
      const fullDir = join(work, 'reports', `full-${i}`);
      const full = await timed(logger, `whole run with cluster up and down (${i + 1}/${o.repeat})`, () =>
        cli.run(['run', '--profile', o.profile, '--name', o.name, '--suite', suites.join(','), '--report-dir', fullDir]),
      );
      fullSamples.push(full.value.seconds);
      fullNotes.push(countsText(figures('full', full.value, readResults(fullDir))));
    }
    phases.push({
      name: `whole run, own cluster up + down (${suites.length} suites)`,
      samples: fullSamples,
      unit: 's',
      ...(everySuite ? { target: TARGETS.wholeWithCluster, stated: stated.get('whole run, own cluster up + down') } : {}),
      note: `${distinct(fullNotes)}${everySuite ? '' : '; target is for all suites'}`,
    });
  } else {
    phases.push({
      name: 'whole run, own cluster up + down',
      samples: [],
      unit: 's',
      target: TARGETS.wholeWithCluster,
      note: 'run with --full',
    });
  }
  return phases;
}

async function main(): Promise<number> {
  const o = benchOptions(process.argv.slice(2));
  if (!o) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const startedAt = new Date();
  const logger = new Logger(defaultLogFile(cacheDir(), 'bench'));
  const cli = new Cli(logger);
  const cleanups: (() => Promise<void>)[] = [];
  const cleanUp = async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch((e: unknown) => logger.warn(`cleanup: ${String(e)}`));
  };
  const onSignal = (signal: NodeJS.Signals) => {
    logger.warn(`${signal}: stopping the bench; removing what it created`);
    const exit = () => process.exit(signal === 'SIGINT' ? 130 : 143);
    cli.stop().then(cleanUp).then(exit, exit);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let phases: PhaseResult[];
  try {
    phases = await bench(o, logger, cli, cleanups);
  } finally {
    await logger.phase('clean up', cleanUp);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  const summaries = phases.map(summarize);
  const table = formatTable(summaries);
  process.stdout.write(`\n${table}\n\n`);
  mkdirSync(BENCH_DIR, { recursive: true });
  const file = join(BENCH_DIR, `${stamp(startedAt)}.json`);
  writeFileSync(
    file,
    `${JSON.stringify(
      {
        schema: 'pullcheck.io/bench/v1',
        startedAt: startedAt.toISOString(),
        finishedAt: new Date().toISOString(),
        machine: { cpus: cpus().length, loadAverage: loadavg().map((l) => round(l, 2)) },
        options: o,
        phases: summaries,
      },
      null,
      2,
    )}\n`,
  );
  copyFileSync(file, join(BENCH_DIR, 'latest.json'));
  logger.info(`bench report ${resolve(file)} (and latest.json beside it); log ${logger.logFile}`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    const usage =
      error instanceof UsageError ||
      error instanceof ProfileError ||
      error instanceof EnvironmentError ||
      (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'));
    process.stderr.write(
      `bench: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}${usage ? ' (npm run bench -- --help)' : ''}\n`,
    );
    process.exit(usage ? 2 : 1);
  },
);
