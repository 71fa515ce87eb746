// pullcheck's command line. Exit codes: 0 done, 1 a run or scenario failed, 2 bad usage or environment.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { cacheDir } from '../helpers/infra/cache.ts';
import { clusterDown, clusterStatus, clusterUp } from '../helpers/cluster/cluster.ts';
import { profileForRun, ProfileError } from '../helpers/cluster/profile.ts';
import { defaultLogFile, Logger } from '../helpers/infra/log.ts';
import { resolveNodeImage } from '../helpers/build/nodeimage/index.ts';
import { CommandError } from '../helpers/infra/exec.ts';
import { checkBuildTools, checkDocker, EnvironmentError, noSpaceError } from '../helpers/infra/preflight.ts';
import { rerenderReport } from '../helpers/report/assemble.ts';
import { compareRuns, describeComparison, hasChanges } from '../helpers/report/diff.ts';
import { loadCatalog, SELFTEST_DIR, SUITES_DIR } from '../helpers/run/catalog.ts';
import { planRun } from '../helpers/run/plan.ts';
import { readResultsArgument, resolveRunOptions, UsageError } from '../helpers/run/options.ts';
import { runPullcheck } from '../helpers/run/run.ts';
import { runUpgrade } from '../helpers/run/upgrade.ts';
import { serveRegistry, standaloneKindArg } from '../helpers/run/serve.ts';

const USAGE = `usage: pullcheck <command> [options]

commands:
  run             create the profile's kind cluster(s) and registries, run the suites, write the
                  report, tear down (the default command)
  certify         run the scenarios that prove registry capabilities against --registry; exit 0
                  only when every required capability passed (reports/<run>/certification.html)
  upgrade         --from vX --to vY: a kind cluster at vX, the before half of upgrade/*, an in-place
                  kubeadm upgrade to vY (control plane, then each worker), the after half, then the
                  suites on the upgraded cluster (--suite narrows them; --suite upgrade: none); one report
  list            every suite and scenario ID with its one-line description
  report FILE     render junit.xml and index.html again from a results.json
  diff A B        what behaves differently from run A in run B (two results.json): verdicts and
                  each pod's observations per scenario; exit 1 on a change unless --accept-changes
  cluster up      create the profile's kind cluster (builds kind and the node image when needed)
  cluster down    delete it, with every container and network it made
  cluster status  say whether it runs
  images build    build (or pull) the node image alone, e.g. to warm a CI cache
  registry serve --kind KIND  start one registry of a kind pullcheck runs, beside the kind cluster
                  (--name/--profile), print the certify command for it, serve until Ctrl-C;
                  KIND: distribution-htpasswd, distribution-anonymous, distribution-token, ggcr, redirect

selection (run, list):
  --suite NAME[,NAME]     only these suites (repeatable)
  --focus REGEX           only scenario IDs matching REGEX
  --skip REGEX            leave out scenario IDs matching REGEX

cluster:
  --profile NAME|FILE     cluster profile from clusters/ (default: default)
  --name NAME             the kind cluster's name instead of the profile's (a second cluster of the same shape)
  --k8s V[,V...]          Kubernetes version(s); several run as a matrix, compared in the report
  --posture FILE          what the cluster is meant to be (AlwaysPullImages, KEP-2535 policy per node,
                          credential providers); expectations follow it (default: the profile's, or
                          upstream's defaults for an existing cluster's version); see docs/posture.md
  --kubeconfig PATH       run against an existing cluster instead of creating one
  --context NAME          the kubeconfig context to use (default: its current context)
  --no-pull               do not try docker pull before building the node image
  --force                 images build: rebuild even when cached

registry (certify a vendor's registry; also PULLCHECK_REGISTRY, _USERNAME, _PASSWORD, _CA):
  --registry URL          https://host[:port] to push test images to and pull them from
  --registry-username U   its user
  --registry-password-stdin  read its password from standard input
  --registry-ca FILE      PEM of the CA that signed its certificate (given to nodes too)
  --registry-repository-prefix P  push every repository under P/ (a project or namespace of yours)
  --registry-public-prefix Q      a namespace anonymous clients may read: with a username, the
                          registry also stands in for the suites' anonymous registries

run:
  --config FILE           YAML with any of the settings above (flags win over it)
  --keep                  leave the cluster and the scenario namespaces for debugging
  --parallel N            suites that do not change nodes run N at a time (default 1)
  --timeout DURATION      per scenario, e.g. 90s or 5m (default: each scenario's own)
  --report-dir DIR        where reports/<run-id>/ goes (default: reports)
  --selftest              also run pullcheck's own self-test suites (test/selftest; npm test does)
  --baseline FILE         after the run, compare it with that results.json as diff does (exit 1 on a change)
  --accept-changes        diff, --baseline: report a change without failing
  -h, --help              this text

exit codes: 0 all passed, 1 a scenario failed, 2 bad usage or environment`;

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

/** The command and its logger, once known: the error handler names the phase that failed. */
let current: { command: string; logger: Logger } | undefined;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      profile: { type: 'string' },
      name: { type: 'string' },
      posture: { type: 'string' },
      selftest: { type: 'boolean', default: false },
      k8s: { type: 'string' },
      suite: { type: 'string', multiple: true },
      focus: { type: 'string' },
      skip: { type: 'string' },
      kubeconfig: { type: 'string' },
      context: { type: 'string' },
      registry: { type: 'string' },
      'registry-username': { type: 'string' },
      'registry-password-stdin': { type: 'boolean', default: false },
      'registry-ca': { type: 'string' },
      'registry-repository-prefix': { type: 'string' },
      'registry-public-prefix': { type: 'string' },
      config: { type: 'string' },
      keep: { type: 'boolean' },
      parallel: { type: 'string' },
      timeout: { type: 'string' },
      'report-dir': { type: 'string' },
      'no-pull': { type: 'boolean', default: false },
      force: { type: 'boolean', default: false },
      kind: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      baseline: { type: 'string' },
      'accept-changes': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const command =
    positionals.length === 0 ? 'run' : positionals[0] === 'report' || positionals[0] === 'diff' ? positionals[0] : positionals.join(' ');
  const logger = new Logger(defaultLogFile(cacheDir(), command.replace(/\s+/g, '-')));
  current = { command, logger };
  const profileName = values.profile ?? process.env['PULLCHECK_PROFILE'] ?? 'default';
  switch (command) {
    case 'run':
    case 'upgrade':
    case 'certify': {
      const options = resolveRunOptions({
        certify: command === 'certify',
        ...(values.config ? { config: values.config } : {}),
        ...(values.profile ? { profile: values.profile } : {}),
        ...(values.k8s ? { k8s: values.k8s } : {}),
        ...(values.suite ? { suite: values.suite } : {}),
        ...(values.focus ? { focus: values.focus } : {}),
        ...(values.skip ? { skip: values.skip } : {}),
        ...(values.kubeconfig ? { kubeconfig: values.kubeconfig } : {}),
        ...(values.context ? { context: values.context } : {}),
        ...(values.registry ? { registry: values.registry } : {}),
        ...(values['registry-username'] ? { registryUsername: values['registry-username'] } : {}),
        ...(values['registry-password-stdin'] ? { registryPassword: await readStdin() } : {}),
        ...(values['registry-ca'] ? { registryCa: values['registry-ca'] } : {}),
        ...(values['registry-repository-prefix'] ? { registryRepositoryPrefix: values['registry-repository-prefix'] } : {}),
        ...(values['registry-public-prefix'] ? { registryPublicPrefix: values['registry-public-prefix'] } : {}),
        ...(values.keep !== undefined ? { keep: values.keep } : {}),
        ...(values.parallel ? { parallel: values.parallel } : {}),
        ...(values.timeout ? { timeout: values.timeout } : {}),
        ...(values['report-dir'] ? { reportDir: values['report-dir'] } : {}),
        noPull: values['no-pull'],
        ...(values.name ? { name: values.name } : {}),
        ...(values.posture ? { posture: values.posture } : {}),
        selftest: values.selftest,
        ...(values.from ? { from: values.from } : {}),
        ...(values.to ? { to: values.to } : {}),
        ...(values.baseline ? { baseline: values.baseline } : {}),
        acceptChanges: values['accept-changes'],
      });
      if (command === 'upgrade') return (await runUpgrade(options, logger)).exitCode;
      if (options.upgrade) throw new UsageError(`--from/--to (or upgrade: in --config) belong to pullcheck upgrade, not ${command}`);
      // Checks the profile (and --k8s) before anything starts.
      if (!options.kubeconfig)
        for (const v of options.versions.length ? options.versions : [undefined])
          profileForRun(options.profile, v?.raw, undefined, options.name);
      return (await runPullcheck(options, logger)).exitCode;
    }
    case 'list': {
      const options = resolveRunOptions({
        ...(values.suite ? { suite: values.suite } : {}),
        ...(values.focus ? { focus: values.focus } : {}),
        ...(values.skip ? { skip: values.skip } : {}),
      });
      const plan = planRun(await loadCatalog(values.selftest ? [SUITES_DIR, SELFTEST_DIR] : [SUITES_DIR]), options);
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
      return 0;
    }
    case 'report': {
      const file = positionals[1];
      if (!file) throw new UsageError('report needs the path of a results.json, e.g. pullcheck report reports/latest/results.json');
      readFileSync(file);
      const { dir } = rerenderReport(file);
      process.stdout.write(`${dir}/junit.xml and ${dir}/index.html written\n`);
      return 0;
    }
    case 'diff': {
      const [, a, b, ...more] = positionals;
      if (!a || !b || more.length)
        throw new UsageError('diff compares two runs: pullcheck diff reports/<run-a>/results.json reports/<run-b>/results.json');
      const comparison = compareRuns(readResultsArgument(a, 'diff:'), readResultsArgument(b, 'diff:'));
      for (const line of describeComparison(comparison)) process.stdout.write(`${line}\n`);
      return hasChanges(comparison) && !values['accept-changes'] ? 1 : 0;
    }
    case 'cluster up': {
      const profile = profileForRun(profileName, values.k8s, undefined, values.name);
      const cluster = await clusterUp({ profile, logger, allowPull: !values['no-pull'] });
      logger.info(`cluster ${cluster.name} ready: ${cluster.nodeNames.length} nodes; kubectl --context ${cluster.context} get nodes`);
      return 0;
    }
    case 'cluster down':
      await clusterDown(profileForRun(profileName, values.k8s, undefined, values.name).clusterName, logger);
      return 0;
    case 'cluster status':
      process.stdout.write(`${await clusterStatus(profileForRun(profileName, values.k8s, undefined, values.name).clusterName, logger)}\n`);
      return 0;
    case 'images build': {
      const profile = profileForRun(profileName, values.k8s, undefined, values.name);
      await checkDocker();
      await checkBuildTools();
      const image = await resolveNodeImage(profile.kubernetesVersion, logger, { allowPull: !values['no-pull'], forceBuild: values.force });
      logger.info(`node image ${image.ref} (${image.source})`);
      return 0;
    }
    case 'registry serve': {
      const kind = standaloneKindArg(values.kind);
      const profile = profileForRun(profileName, undefined, undefined, values.name);
      return serveRegistry({
        kind,
        cluster: profile.clusterName,
        flags: { name: values.name, ...(values.profile ? { profile: values.profile } : {}) },
        logger,
      });
    }
    default:
      throw new UsageError(`unknown command "${command}": see pullcheck --help`);
  }
}

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
