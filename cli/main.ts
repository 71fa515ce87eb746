// pullcheck's command line. Exit codes: 0 done, 1 a run or scenario failed, 2 bad usage or environment.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import YAML from 'yaml';
import { resolveNodeImageFor } from '../helpers/build/nodeimage/byruntime.ts';
import { RUNNER_LATEST, resolveRunnerImage } from '../helpers/build/runnerimage/index.ts';
import { pluginDefinition } from '../helpers/build/runnerimage/plugin.ts';
import { cleanCluster, describeCleaned } from '../helpers/cluster/clean.ts';
import { ProfileError, profileFor } from '../helpers/cluster/profile.ts';
import { KindCluster, providerFor } from '../helpers/cluster/provider.ts';
import { NEEDS } from '../helpers/framework/declaration.ts';
import { cacheDir } from '../helpers/infra/cache.ts';
import { docker } from '../helpers/infra/docker.ts';
import { CommandError } from '../helpers/infra/exec.ts';
import { defaultLogFile, Logger } from '../helpers/infra/log.ts';
import { checkBuildTools, checkDocker, EnvironmentError, noSpaceError } from '../helpers/infra/preflight.ts';
import { DEFAULT_KUBERNETES_VERSION, KIND_VERSION } from '../helpers/infra/versions.ts';
import { archiveRun } from '../helpers/report/archive.ts';
import { rerenderReport, toolVersion } from '../helpers/report/assemble.ts';
import { compareRuns, describeComparison, hasChanges } from '../helpers/report/diff.ts';
import { underGitHubActions } from '../helpers/report/github.ts';
import { mergeReports } from '../helpers/report/merge.ts';
import { RESULTS_SCHEMA } from '../helpers/report/schema.ts';
import { loadCatalog, SELFTEST_DIR, SUITES_DIR, vendorSuitesDirs } from '../helpers/run/catalog.ts';
import { certify } from '../helpers/run/certification.ts';
import { cleanRegistryRun, runIdArg } from '../helpers/run/clean.ts';
import { type RunFlags, type RunOptions, readResultsArgument, resolveRunOptions, UsageError } from '../helpers/run/options.ts';
import { planRun } from '../helpers/run/plan.ts';
import { runPullcheck } from '../helpers/run/run.ts';
import { serveRegistry, standaloneKindArg } from '../helpers/run/serve.ts';
import { runUpgrade, upgradeKindCluster } from '../helpers/run/upgrade.ts';
import { upstreamFlags } from '../helpers/run/upstream.ts';
import { commandHelp, commandOf, commandSpec, type FlagName, flagsOf, globalHelp, maxOperands, parseArgsOptions } from './commands.ts';

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY)
    throw new UsageError(
      '--registry-password-stdin: pipe the password in, e.g. printf %s "$PASS" | pullcheck run --registry-password-stdin …',
    );
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

type Output = 'json' | 'yaml';

function outputFormat(text: string | undefined): Output | undefined {
  if (text === undefined || text === 'json' || text === 'yaml') return text;
  throw new UsageError(`-o "${text}" is not an output format: write -o json or -o yaml`);
}

function formatted(data: unknown, output: Output): string {
  return output === 'json' ? `${JSON.stringify(data, null, 2)}\n` : YAML.stringify(data);
}

/** `pullcheck --version` (one line) and `pullcheck version [-o json|yaml]`. */
function printVersion(output: Output | undefined): number {
  const v = {
    pullcheck: toolVersion(),
    kind: KIND_VERSION,
    kubernetes: DEFAULT_KUBERNETES_VERSION,
    resultsSchema: RESULTS_SCHEMA,
    node: process.version,
  };
  process.stdout.write(
    output
      ? formatted(v, output)
      : `pullcheck ${v.pullcheck} (kind ${v.kind}, Kubernetes ${v.kubernetes} by default, ${v.resultsSchema}, Node.js ${v.node})\n`,
  );
  return 0;
}

/** The command and its logger, once known: the error handler names the phase that failed. */
let current: { command: string; logger: Logger } | undefined;

async function main(argv: string[]): Promise<number> {
  const { values, positionals, tokens } = parseFlags(argv);
  if (values.version && positionals.length === 0) return printVersion(outputFormat(values.output));
  if (values.help && positionals.length === 0) {
    process.stdout.write(`${globalHelp()}\n`);
    return 0;
  }
  const { name: command, operands } = commandOf(positionals);
  if (command === 'help') {
    const about = operands.length ? commandOf(operands).name : undefined;
    const spec = about ? commandSpec(about) : undefined;
    if (about && !spec) throw new UsageError(`unknown command "${about}": see pullcheck --help`);
    process.stdout.write(`${spec ? commandHelp(spec) : globalHelp()}\n`);
    return 0;
  }
  const spec = commandSpec(command);
  if (!spec) {
    if (values.help) {
      process.stdout.write(`${globalHelp()}\n`);
      return 0;
    }
    throw new UsageError(`unknown command "${command}": see pullcheck --help`);
  }
  if (values.help) {
    process.stdout.write(`${commandHelp(spec)}\n`);
    return 0;
  }
  const takes = flagsOf(spec);
  for (const t of tokens ?? []) {
    if (t.kind !== 'option' || takes.has(t.name as FlagName)) continue;
    throw new UsageError(`${t.rawName} does not apply to \`pullcheck ${command}\`: see pullcheck help ${command}`);
  }
  if (operands.length > maxOperands(spec))
    throw new UsageError(
      `\`pullcheck ${command}\` takes ${spec.operands ? spec.operands : 'no operands'}, not "${operands.join(' ')}": see pullcheck help ${command}`,
    );
  const output = outputFormat(values.output);
  const logger = new Logger(defaultLogFile(cacheDir(), command.replace(/\s+/g, '-')), process.stderr, {
    githubGroups: underGitHubActions(process.env),
  });
  current = { command, logger };
  const profileName = values.profile ?? process.env['PULLCHECK_PROFILE'] ?? 'default';
  const handler = HANDLERS[command];
  if (!handler) throw new UsageError(`unknown command "${command}": see pullcheck --help`);
  return handler({ command, values, operands, output, logger, profileName });
}

/** What a command's handler is given: the flags as parsed, the operands, `-o`, its logger. */
interface Call {
  command: string;
  values: Values;
  operands: string[];
  output: Output | undefined;
  logger: Logger;
  /** --profile, else PULLCHECK_PROFILE, else `default`. */
  profileName: string;
}

function parseFlags(argv: string[]) {
  return parseArgs({ args: argv, allowPositionals: true, options: parseArgsOptions(), strict: true, tokens: true });
}

type Values = ReturnType<typeof parseFlags>['values'];

/** The profile a cluster or images command names (--profile, --k8s, --name). */
function commandProfile(c: Call) {
  return profileFor({ profile: c.profileName, k8s: c.values.k8s, name: c.values.name });
}

/** The kind cluster `cluster up|down|status|clean` act on, through its provider. */
function kindCluster(c: Call): KindCluster {
  return new KindCluster({
    provider: 'kind',
    profile: c.profileName,
    ...(c.values.k8s ? { k8s: c.values.k8s } : {}),
    ...(c.values.name ? { name: c.values.name } : {}),
  });
}

/** The run options from `flags` and the user's environment (read here, once, for helpers/). */
const runOptions = (flags: RunFlags): RunOptions => resolveRunOptions(flags, process.env);

/** `pullcheck run | upgrade | certify`. */
async function runCommand(c: Call): Promise<number> {
  const { values, logger, command } = c;
  const options = runOptions({
    certify: command === 'certify',
    ...(values.config ? { config: values.config } : {}),
    ...(values.profile ? { profile: values.profile } : {}),
    ...(values.k8s ? { k8s: values.k8s } : {}),
    ...(values.suite ? { suite: values.suite } : {}),
    ...(values['suites-dir'] ? { suitesDir: values['suites-dir'] } : {}),
    ...(values.focus ? { focus: values.focus } : {}),
    ...(values.skip ? { skip: values.skip } : {}),
    ...(values.kubeconfig ? { kubeconfig: values.kubeconfig } : {}),
    ...(values.context ? { context: values.context } : {}),
    ...(values['in-cluster'] ? { inCluster: true } : {}),
    ...(values.registry ? { registry: values.registry } : {}),
    ...(values['registry-username'] ? { registryUsername: values['registry-username'] } : {}),
    ...(values['registry-password-stdin'] ? { registryPassword: await readStdin() } : {}),
    ...(values['registry-ca'] ? { registryCa: values['registry-ca'] } : {}),
    ...(values['registry-repository-prefix'] ? { registryRepositoryPrefix: values['registry-repository-prefix'] } : {}),
    ...(values['registry-public-prefix'] ? { registryPublicPrefix: values['registry-public-prefix'] } : {}),
    ...(values['registry-repository-layout'] ? { registryRepositoryLayout: values['registry-repository-layout'] } : {}),
    ...(values['registry-preseeded'] ? { registryPreseeded: values['registry-preseeded'] } : {}),
    ...upstreamFlags(values),
    ...(values.keep !== undefined ? { keep: values.keep } : {}),
    ...(values.parallel ? { parallel: values.parallel } : {}),
    ...(values.timeout ? { timeout: values.timeout } : {}),
    ...(values.shard ? { shard: values.shard } : {}),
    ...(values.archive ? { archive: true } : {}),
    ...(values['report-dir'] ? { reportDir: values['report-dir'] } : {}),
    noPull: values['no-pull'],
    ...(values.name ? { name: values.name } : {}),
    ...(values.posture ? { posture: values.posture } : {}),
    selftest: values.selftest,
    ...(values.from ? { from: values.from } : {}),
    ...(values.to ? { to: values.to } : {}),
    ...(values.before ? { before: true } : {}),
    ...(values.after ? { after: true } : {}),
    ...(values.baseline ? { baseline: values.baseline } : {}),
    ...(values['accept-changes'] ? { acceptChanges: true } : {}),
  });
  if (command === 'upgrade') return (await runUpgrade(options, logger)).exitCode;
  if (options.upgrade) throw new UsageError(`--from/--to (or upgrade: in --config) belong to pullcheck upgrade, not ${command}`);
  // Checks the profile (and --k8s) before anything starts.
  if (!options.kubeconfig && !options.inCluster)
    for (const v of options.versions.length ? options.versions : [undefined])
      profileFor({ profile: options.profile, k8s: v?.raw, name: options.name });
  return (await runPullcheck(options, logger)).exitCode;
}

/** `pullcheck list`. */
async function listCommand(c: Call): Promise<number> {
  const { values, output } = c;
  const options = runOptions({
    ...(values.config ? { config: values.config } : {}),
    ...(values.suite ? { suite: values.suite } : {}),
    ...(values['suites-dir'] ? { suitesDir: values['suites-dir'] } : {}),
    ...(values.focus ? { focus: values.focus } : {}),
    ...(values.skip ? { skip: values.skip } : {}),
  });
  const catalog = await loadCatalog(values.selftest ? [SUITES_DIR, SELFTEST_DIR] : [SUITES_DIR], vendorSuitesDirs(options.suitesDirs));
  // upgrade/* runs only under `pullcheck upgrade`, and is listed all the same.
  const upgradeIds = new Set(catalog.filter((e) => e.upgrade).map((e) => e.id));
  const listed = (halves: boolean) => {
    try {
      return planRun(catalog, { ...options, upgradeHalves: halves }).scenarios;
    } catch (error) {
      if (error instanceof UsageError) return [];
      throw error;
    }
  };
  const scenarios = [...listed(false), ...listed(true).filter((e) => upgradeIds.has(e.id))];
  if (scenarios.length === 0) planRun(catalog, options);
  const plan = { scenarios };
  if (output) {
    const scenarios = plan.scenarios.map((e) => ({
      id: e.id,
      suite: e.suite,
      title: e.title,
      nodes: e.nodes,
      capabilities: [...e.capabilities],
      needs: [...e.needs],
      ...(e.selftest ? { selftest: true } : {}),
    }));
    process.stdout.write(formatted({ scenarios }, output));
    return 0;
  }
  let suite = '';
  for (const e of plan.scenarios) {
    if (e.suite !== suite) {
      suite = e.suite;
      process.stdout.write(
        `${suite}${e.nodes === 'locked' ? ' (changes nodes under per-node locks)' : ''}${e.selftest ? ' (framework self-test)' : ''}\n`,
      );
    }
    const tags = [...e.capabilities.map((c) => `proves:${c}`), ...e.needs.map((n) => `needs:${n}`)];
    process.stdout.write(`  ${e.id}  ${e.title}${tags.length ? `  [${tags.join(' ')}]` : ''}\n`);
  }
  process.stdout.write(`${plan.scenarios.length} scenarios\n`);
  // What each need listed asks of the target: one lacking it makes the scenario not applicable.
  const needs = [...new Set(plan.scenarios.flatMap((e) => e.needs))].sort();
  if (needs.length) process.stdout.write(`needs: ${needs.map((n) => `${n} = ${NEEDS[n]}`).join('; ')}\n`);
  return 0;
}

/** `pullcheck report`. */
async function reportCommand(c: Call): Promise<number> {
  const { values, operands } = c;
  if (values.merge) {
    const dir = mergeReports(operands, values['report-dir'] ?? 'reports', certify);
    if (values.archive) process.stdout.write(`${await archiveRun(dir)}\n`);
    process.stdout.write(`${dir}/results.json, junit.xml and index.html written\n`);
    return 0;
  }
  const file = operands[0];
  if (!file) throw new UsageError('report needs the path of a results.json, e.g. pullcheck report reports/latest/results.json');
  if (operands.length > 1) throw new UsageError(`report renders one results.json; to join ${operands.length} into one, add --merge`);
  readFileSync(file);
  const { dir } = rerenderReport(file);
  if (values.archive) process.stdout.write(`${await archiveRun(dir)}\n`);
  process.stdout.write(`${dir}/junit.xml and ${dir}/index.html written\n`);
  return 0;
}

/** `pullcheck diff`. */
function diffCommand(c: Call): number {
  const { values, operands } = c;
  const [a, b, ...more] = operands;
  if (!a || !b || more.length)
    throw new UsageError('diff compares two runs: pullcheck diff reports/<run-a>/results.json reports/<run-b>/results.json');
  const comparison = compareRuns(readResultsArgument(a, 'diff:'), readResultsArgument(b, 'diff:'));
  for (const line of describeComparison(comparison)) process.stdout.write(`${line}\n`);
  return hasChanges(comparison) && !values['accept-changes'] ? 1 : 0;
}

/** `pullcheck cluster up`. */
async function clusterUpCommand(c: Call): Promise<number> {
  const { values, logger } = c;
  const { cluster } = await kindCluster(c).up({ logger, allowPull: !values['no-pull'] });
  // A cluster that existed may hold what killed runs left: undone now, as a run would (each restore is logged).
  await cleanCluster(cluster, { logger, docker: false });
  logger.info(`cluster ${cluster.name} ready: ${cluster.nodeNames.length} nodes; kubectl --context ${cluster.context} get nodes`);
  return 0;
}

/** `pullcheck cluster upgrade`. */
async function clusterUpgradeCommand(c: Call): Promise<number> {
  const { values, logger, profileName } = c;
  if (!values.to) throw new UsageError('cluster upgrade needs --to vY, the version to upgrade the cluster to');
  const profile = profileFor({ profile: profileName, name: values.name });
  await upgradeKindCluster({ profile, to: values.to, logger });
  logger.info(`cluster ${profile.clusterName} upgraded to ${values.to}; kubectl --context kind-${profile.clusterName} get nodes`);
  return 0;
}

/** `pullcheck cluster clean`. */
async function clusterCleanCommand(c: Call): Promise<number> {
  const { values, logger } = c;
  if (values.kubeconfig && (values.name || values.profile || values.k8s))
    throw new UsageError('cluster clean takes the kind cluster (--name/--profile) or --kubeconfig, not both');
  if (values.context && !values.kubeconfig) throw new UsageError('--context needs --kubeconfig: the kubeconfig it is a context of');
  const provider = values.kubeconfig
    ? providerFor({
        provider: 'existing',
        kubeconfig: resolve(values.kubeconfig),
        ...(values.context ? { context: values.context } : {}),
      })
    : kindCluster(c);
  if (provider.info().makesClusters) {
    await checkDocker();
    if (!(await provider.exists(logger)))
      throw new UsageError(`no kind cluster ${provider.name} to clean (pullcheck cluster status --name ${provider.name})`);
  }
  const cluster = await provider.connect({ logger, ready: true });
  const cleaned = await cleanCluster(cluster, { logger, docker: !values.kubeconfig || cluster.network !== '' });
  for (const line of describeCleaned(cluster.name, cleaned)) process.stdout.write(`${line}\n`);
  return 0;
}

/** `pullcheck cluster down`. */
async function clusterDownCommand(c: Call): Promise<number> {
  const { logger } = c;
  await kindCluster(c).down(logger);
  return 0;
}

/** `pullcheck cluster status`. */
async function clusterStatusCommand(c: Call): Promise<number> {
  const { output, logger } = c;
  const status = await kindCluster(c).status(logger);
  process.stdout.write(
    output
      ? formatted(status, output)
      : `${status.name}: ${status.running ? `running, nodes ${status.nodes.join(', ')}` : 'not running'}\n`,
  );
  return status.running ? 0 : 1;
}

/** `pullcheck version`. */
function versionCommand(c: Call): number {
  const { output } = c;
  return printVersion(output);
}

/** `pullcheck images build`. */
async function imagesBuildCommand(c: Call): Promise<number> {
  const { values, logger } = c;
  const profile = commandProfile(c);
  await checkDocker();
  await checkBuildTools();
  const image = await resolveNodeImageFor(profile.posture.runtime, profile.kubernetesVersion, logger, {
    allowPull: !values['no-pull'],
    forceBuild: values.force ?? false,
  });
  logger.info(`node image ${image.ref} (${image.source})`);
  return 0;
}

/** `pullcheck images runner`. */
async function imagesRunnerCommand(c: Call): Promise<number> {
  const { logger, output } = c;
  await checkDocker();
  await checkBuildTools();
  const image = await resolveRunnerImage(logger);
  // :latest for a plain Job by hand; the plugin definition (-o yaml) names the content tag.
  await docker(['tag', image.ref, RUNNER_LATEST], { logger });
  logger.info(`runner image ${image.ref} (${image.built ? 'built' : 'local'})`);
  if (output === 'yaml') process.stdout.write(pluginDefinition(image.ref));
  else if (output === 'json') console.log(JSON.stringify({ image: image.ref, built: image.built }));
  else console.log(image.ref);
  return 0;
}

/** `pullcheck registry clean`. */
async function registryCleanCommand(c: Call): Promise<number> {
  const { values, logger } = c;
  const runId = runIdArg(values.run);
  const options = runOptions({
    ...(values.registry ? { registry: values.registry } : {}),
    ...(values['registry-username'] ? { registryUsername: values['registry-username'] } : {}),
    ...(values['registry-password-stdin'] ? { registryPassword: await readStdin() } : {}),
    ...(values['registry-ca'] ? { registryCa: values['registry-ca'] } : {}),
    ...(values['report-dir'] ? { reportDir: values['report-dir'] } : {}),
  });
  if (!options.registry) throw new UsageError('registry clean needs --registry URL: the registry the run pushed to');
  return cleanRegistryRun({ registry: options.registry, runId, reportDir: options.reportDir, logger });
}

/** `pullcheck registry serve`. */
function registryServeCommand(c: Call): Promise<number> {
  const { values, logger, profileName } = c;
  const kind = standaloneKindArg(values.kind);
  const profile = profileFor({ profile: profileName, name: values.name });
  return serveRegistry({
    kind,
    cluster: profile.clusterName,
    flags: { name: values.name, ...(values.profile ? { profile: values.profile } : {}) },
    logger,
  });
}

/** Each command's handler: `main` parses, checks the flags against the command, and dispatches here. */
const HANDLERS: Record<string, (c: Call) => number | Promise<number>> = {
  run: runCommand,
  upgrade: runCommand,
  certify: runCommand,
  list: listCommand,
  report: reportCommand,
  diff: diffCommand,
  'cluster up': clusterUpCommand,
  'cluster upgrade': clusterUpgradeCommand,
  'cluster clean': clusterCleanCommand,
  'cluster down': clusterDownCommand,
  'cluster status': clusterStatusCommand,
  version: versionCommand,
  'images build': imagesBuildCommand,
  'images runner': imagesRunnerCommand,
  'registry clean': registryCleanCommand,
  'registry serve': registryServeCommand,
};

/** What was going on when `error` happened: the innermost phase that failed, else the command. */
function doing(error: unknown): string {
  const phase = current?.logger.phases.find((p) => !p.ok)?.name;
  if (phase) return phase;
  if (error instanceof CommandError) return error.argv.slice(0, 2).join(' ');
  return `pullcheck ${current?.command ?? 'started'}`;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (thrown: unknown) => {
    // A full disk is the environment's fault, wherever it surfaced (a build's command, a cache write).
    const told = thrown instanceof UsageError || thrown instanceof ProfileError || thrown instanceof EnvironmentError;
    let error = (told ? undefined : noSpaceError(thrown, doing(thrown), cacheDir())) ?? thrown;
    if (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS')) {
      error = new UsageError(`${error.message.split('. ')[0]?.replace(/^\w/, (c) => c.toLowerCase())}: see pullcheck --help`);
    }
    const usage =
      error instanceof UsageError ||
      error instanceof ProfileError ||
      error instanceof EnvironmentError ||
      (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS')) ||
      (error instanceof Error && 'code' in error && error.code === 'ENOENT');
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    process.stderr.write(`pullcheck: ${message}\n`);
    process.exit(usage ? 2 : 1);
  },
);
