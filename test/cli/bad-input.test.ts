// Bad input, as users meet it: the real CLI (`node bin/pullcheck.js …`) with a wrong flag, profile,
// version, host, registry or kubeconfig. Each must end with exit 2 and ONE line on stderr,
// `pullcheck: <what is wrong>: <the fix>`, before anything is created: no kind cluster, no container.
//
// The CLI takes seconds to start (tsx), so the cases run a few at a time, started once the fixtures
// (a registry with TLS and auth, a tiny tmpfs) are up; each test awaits and judges its own case.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { cacheDir } from '../../helpers/infra/cache.ts';
import { docker, LABEL_MANAGED } from '../../helpers/infra/docker.ts';
import { defaultLogFile, Logger } from '../../helpers/infra/log.ts';
import { LABEL_OWNER_PID, ownedLabelArgs } from '../../helpers/infra/sweep.ts';
import { LocalRegistry, type StartedRegistry } from '../../helpers/registry/registry.ts';
import type { CertificateAuthority } from '../../helpers/registry/tls.ts';
import { RESULTS_SCHEMA } from '../../helpers/report/schema.ts';
import { unitCAs } from '../tempdirs.ts';

const newCA = unitCAs();

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'bin/pullcheck.js');
const KIND_CLUSTER_LABEL = 'io.x-k8s.kind.cluster';
/** Every case that could reach cluster creation uses this profile: what it would create is recognisable. */
const CLUSTER_NAME = 'pullcheck-bad-input';
/** Cases started at once: each CLI is a node process that compiles the CLI with tsx. */
const CONCURRENCY = 3;
const WRONG_PASSWORD = `wrong-${randomBytes(9).toString('hex')}`;

const work = mkdtempSync(join(tmpdir(), 'pullcheck-bad-input-'));
const tmpfsDir = join(work, 'full-disk');

/** Whether this host lets us mount a tmpfs (root, and not forbidden by the container we run in). */
function tmpfsProbe(): string | undefined {
  const probe = join(work, 'mount-probe');
  mkdirSync(probe);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'pipe' });
    execFileSync('umount', [probe], { stdio: 'pipe' });
    return undefined;
  } catch (error) {
    return (
      String((error as { stderr?: Buffer }).stderr ?? error)
        .trim()
        .split('\n')[0] || 'mount failed'
    );
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
}
const noTmpfs = tmpfsProbe();

/** The parent pid of `pid`, from /proc; undefined once it is gone. */
function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

function ancestors(pid: number): number[] {
  const out: number[] = [];
  for (let p: number | undefined = pid; p !== undefined && p > 1 && out.length < 64; p = parentOf(p)) out.push(p);
  return out;
}

interface Created {
  name: string;
  cluster?: string;
  /** The owner process and its ancestors, read when the event arrived (the owner is alive then). */
  owners: number[];
}

/**
 * `docker events` for every container created while the tests run, each with the process tree of
 * its owner (pullcheck labels what it starts with its pid) or its kind cluster, so that a case
 * sees what it created even while other pullcheck runs on this machine create their own.
 */
class CreatedContainers {
  readonly seen: Created[] = [];
  private child: ChildProcess | undefined;

  async start(): Promise<void> {
    const child = spawn('docker', ['events', '--filter', 'type=container', '--filter', 'event=create', '--format', '{{json .}}'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    this.child = child;
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const e = JSON.parse(line) as { Actor?: { Attributes?: Record<string, string> } };
      const a = e.Actor?.Attributes ?? {};
      if (!(LABEL_MANAGED in a) && !(KIND_CLUSTER_LABEL in a)) return;
      const owner = Number(a[LABEL_OWNER_PID] ?? 0);
      this.seen.push({
        name: a['name'] ?? '?',
        ...(a[KIND_CLUSTER_LABEL] ? { cluster: a[KIND_CLUSTER_LABEL] } : {}),
        owners: owner > 0 ? ancestors(owner) : [],
      });
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
  }

  /** What the process `pid` (or anything it started) created, and any container of the test cluster. */
  by(pid: number): string[] {
    return this.seen.filter((c) => c.owners.includes(pid) || c.cluster?.startsWith(CLUSTER_NAME)).map((c) => c.name);
  }

  stop(): void {
    this.child?.kill();
  }
}

interface Case {
  name: string;
  args: string[];
  env?: Record<string, string>;
  input?: string;
  /** The one line must match this: it says what is wrong and names the fix. */
  fix: RegExp;
  /** A build was under way: its progress lines come first; the error is still one line, the last. */
  progressBefore?: boolean;
}

interface Outcome {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  created: string[];
}

/** The environment without the PULLCHECK_* settings of whoever runs the tests. */
function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('PULLCHECK_')) env[k] = v;
  return { ...env, ...extra };
}

/** A directory of symlinks to just these tools, for a PATH that lacks the others. */
function pathWith(name: string, tools: readonly string[]): string {
  const dir = join(work, name);
  mkdirSync(dir);
  for (const tool of tools) {
    const found = execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim();
    symlinkSync(found, join(dir, tool));
  }
  return dir;
}

async function runCase(c: Case, watch: CreatedContainers): Promise<Outcome> {
  const child = execa(process.execPath, [CLI, ...c.args], {
    cwd: ROOT,
    env: cleanEnv(c.env),
    extendEnv: false,
    reject: false,
    // Something that got past preflight would start a whole run: stop it (it then removes what it made).
    timeout: 600_000,
    ...(c.input === undefined ? { stdin: 'ignore' as const } : { input: c.input }),
  });
  const pid = child.pid ?? -1;
  const r = await child;
  return { exitCode: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr), created: watch.by(pid) };
}

/** Runs `fn` over the items at most `limit` at a time; the promises settle as each finishes. */
function pool<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R>[] {
  let running = 0;
  const queue: (() => void)[] = [];
  return items.map((item) =>
    new Promise<void>((resolve) => {
      if (running < limit) {
        running++;
        resolve();
      } else {
        queue.push(resolve);
      }
    })
      .then(() => fn(item))
      .finally(() => {
        const next = queue.shift();
        if (next) next();
        else running--;
      }),
  );
}

describe('bad input: exit 2, one line naming the fix, nothing created', () => {
  const logger = new Logger(defaultLogFile(cacheDir(), 'test-bad-input'));
  const watch = new CreatedContainers();
  const outcomes = new Map<string, Promise<Outcome>>();
  let network: string | undefined;
  let registry: StartedRegistry | undefined;
  let ca: CertificateAuthority | undefined;
  let otherCa: CertificateAuthority | undefined;
  let mounted = false;

  const file = (name: string, text: string): string => {
    const path = join(work, name);
    writeFileSync(path, text);
    return path;
  };
  const profile = file(
    'bad-input.yaml',
    [
      'name: bad-input',
      'description: the bad-input tests; never created',
      `clusterName: ${CLUSTER_NAME}`,
      'kubernetesVersion: v1.37.2',
      'cluster:',
      '  kind: Cluster',
      '  apiVersion: kind.x-k8s.io/v1alpha4',
      '  nodes: [{ role: control-plane }]',
      '',
    ].join('\n'),
  );
  const brokenYaml = file('broken.yaml', 'name: broken\ncluster: [unclosed\n');
  // --suites-dir: a directory of no suite files, and one whose suite takes a built-in suite's name.
  const emptySuites = join(work, 'no-suites');
  mkdirSync(emptySuites);
  writeFileSync(join(emptySuites, 'README.md'), 'no suite here\n');
  const clashing = join(work, 'clashing-suites');
  mkdirSync(clashing);
  writeFileSync(join(clashing, 'package.json'), '{"type": "module"}\n');
  writeFileSync(
    join(clashing, 'smoke.test.ts'),
    "import { defineSuite } from 'pullcheck/harness';\n\nexport const suite = defineSuite({ name: 'smoke' });\n",
  );
  const wrongField = file(
    'wrong-field.yaml',
    'name: wrong-field\nkubernetesVersion: v1.37.2\nworkers: 2\ncluster:\n  kind: Cluster\n  apiVersion: kind.x-k8s.io/v1alpha4\n',
  );
  const kubeconfig = file(
    'kubeconfig.yaml',
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters: [{ name: c, cluster: { server: "https://127.0.0.1:1", insecure-skip-tls-verify: true } }]',
      'users: [{ name: u, user: { token: not-a-token } }]',
      'contexts: [{ name: x, context: { cluster: c, user: u } }]',
      'current-context: x',
      '',
    ].join('\n'),
  );
  const notBefore = file('results-not-before.json', JSON.stringify({ schema: RESULTS_SCHEMA, runId: 'r1', targets: [] }));
  const reportDir = join(work, 'reports');
  // A run's report directory with a push journal naming another registry (registry clean's cases).
  const cleanReports = join(work, 'clean-reports');
  const pushedElsewhere = '20260101-000000-else';
  mkdirSync(join(cleanReports, pushedElsewhere, 'v1.37.2'), { recursive: true });
  writeFileSync(
    join(cleanReports, pushedElsewhere, 'v1.37.2', 'registry-pushes.jsonl'),
    `${JSON.stringify({ registry: 'vendor.example:5000', repository: 'p/a', reference: 't', digest: `sha256:${'a'.repeat(64)}` })}\n`,
  );
  const run = (...args: string[]) => ['run', '--profile', profile, '--report-dir', reportDir, ...args];
  // The registry's address is known once it runs; these cases read it then.
  const registryUrl = () => `https://${registry?.client.options.host ?? '127.0.0.1:1'}`;

  const cases = (): Case[] => {
    const fakeDocker = join(work, 'old-docker');
    mkdirSync(fakeDocker);
    writeFileSync(
      join(fakeDocker, 'docker'),
      [
        '#!/bin/sh',
        '# Docker Engine 20.10 as `docker info` reports it; nothing else works.',
        'if [ "$1" = info ]; then echo \'{"ServerVersion":"20.10.24","CgroupVersion":"1"}\'; exit 0; fi',
        'echo "fake docker: $*" >&2; exit 1',
        '',
      ].join('\n'),
    );
    chmodSync(join(fakeDocker, 'docker'), 0o755);
    return [
      { name: 'unknown suite', args: run('--suite', 'nope'), fix: /unknown suite "nope": choose from .*\bsmoke\b.*pullcheck list/ },
      {
        name: 'unknown scenario ID (--focus matches none)',
        args: run('--focus', '^smoke/no-such-scenario$'),
        fix: /matches no scenario: see pullcheck list/,
      },
      { name: 'invalid --focus regex', args: run('--focus', 'smoke/('), fix: /--focus "smoke\/\(" is not a regular expression/ },
      {
        name: 'unknown profile',
        args: ['run', '--profile', 'nope'],
        fix: /unknown cluster profile "nope": choose one of .*\bdefault\b.* or pass a path/,
      },
      {
        name: 'malformed profile YAML',
        args: ['run', '--profile', brokenYaml],
        fix: /cluster profile .*broken\.yaml is not valid YAML \(.*line 3.*\): fix it there/,
      },
      {
        name: 'profile with a wrong field',
        args: ['run', '--profile', wrongField],
        fix: /cluster profile .*wrong-field\.yaml: unknown field "workers": remove it or use one of/,
      },
      {
        name: 'unknown Kubernetes version',
        args: run('--k8s', 'v1.99.0'),
        fix: /Kubernetes v1\.99\.0 is not a released version .*: use v1\.\d+\.\d+/,
      },
      {
        name: 'malformed Kubernetes version',
        args: run('--k8s', '1.2'),
        fix: /--k8s: not a Kubernetes release version: "1\.2" \(expected vMAJOR\.MINOR\.PATCH/,
      },
      {
        name: 'a profile list with a --k8s list (two matrices at once)',
        args: ['run', '--profile', `${profile},cri-o`, '--k8s', 'v1.36.3,v1.37.2', '--report-dir', reportDir],
        fix: /--profile a,b runs one cluster per profile and --k8s a,b one per version: give a list to one of them/,
      },
      {
        name: 'a profile list with --kubeconfig',
        args: ['run', '--profile', `${profile},cri-o`, '--kubeconfig', wrongField, '--report-dir', reportDir],
        fix: /--profile a,b makes a kind cluster per profile; with --kubeconfig the cluster is yours: drop one of them/,
      },
      {
        name: '--suites-dir that does not exist',
        args: run('--suites-dir', join(work, 'nowhere')),
        fix: /--suites-dir .*nowhere is not a directory: pass the directory that holds your NAME\.test\.ts suite files/,
      },
      {
        name: '--suites-dir with no suite',
        args: run('--suites-dir', emptySuites),
        fix: /--suites-dir .*no-suites holds no suite file: name each suite NAME\.test\.ts/,
      },
      {
        name: '--suites-dir suite named like a built-in one',
        args: run('--suites-dir', clashing),
        fix: /suite smoke of .*clashing-suites\/smoke\.test\.ts has the name of .*suites\/smoke\.test\.ts's: rename the suite/,
      },
      { name: 'unknown command', args: ['frobnicate'], fix: /unknown command "frobnicate": see pullcheck --help/ },
      { name: 'unknown flag', args: run('--frobnicate'), fix: /unknown option '--frobnicate': see pullcheck --help/ },
      { name: '--parallel 0', args: run('--parallel', '0'), fix: /--parallel "0" must be a whole number from 1 to 8/ },
      { name: '--timeout abc', args: run('--timeout', 'abc'), fix: /--timeout "abc" is not a duration: write e\.g\. 90s, 5m or 1m30s/ },
      {
        name: 'no Docker',
        args: run('--suite', 'smoke'),
        env: { DOCKER_HOST: 'unix:///nonexistent.sock' },
        fix: /Docker Engine is not running or its socket is not reachable .*: run `bash scripts\/host-up`/,
      },
      {
        name: 'Docker too old',
        args: run('--suite', 'smoke'),
        env: { PATH: `${fakeDocker}:${process.env['PATH'] ?? ''}` },
        fix: /Docker Engine 20\.10\.24 is too old: pullcheck needs \d+\+ .*host-up/,
      },
      {
        name: 'no Go for a hermetic build',
        args: ['images', 'build', '--profile', profile, '--k8s', 'v1.36.1', '--no-pull'],
        env: { PATH: pathWith('path-without-go', ['node', 'docker']) },
        fix: /no Go toolchain on PATH: install Go 1\.\d+\+/,
      },
      {
        name: 'no skopeo for the scenario that runs it',
        args: run('--suite', 'registry', '--focus', 'skopeo'),
        env: { PATH: pathWith('path-without-skopeo', ['node', 'docker', 'go', 'pkg-config', 'mmdebstrap', 'sh']) },
        fix: /missing on this host: skopeo \(registry\/skopeo-reads-what-pullcheck-pushed runs it: apt-get install skopeo\)$/,
      },
      {
        name: 'no Go against an existing cluster',
        args: ['run', '--kubeconfig', kubeconfig, '--suite', 'smoke', '--report-dir', reportDir],
        env: { PATH: pathWith('path-without-go-existing', ['node', 'sh']) },
        fix: /missing on this host: go \(every test image is built on this host: install Go 1\.26\+/,
      },
      ...(noTmpfs
        ? []
        : [
            {
              name: 'disk full during a build',
              // kind is the first thing `cluster up` builds into the cache (the PATH has no kind of its own).
              args: ['cluster', 'up', '--profile', profile, '--no-pull'],
              env: {
                PULLCHECK_CACHE_DIR: tmpfsDir,
                PATH: pathWith('path-without-kind', ['node', 'docker', 'go', 'pkg-config', 'mmdebstrap']),
              },
              fix: new RegExp(
                `no space left on device while build kind v[\\d.]+ \\(in ${tmpfsDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\): free some space or point PULLCHECK_CACHE_DIR at a bigger disk$`,
              ),
              progressBefore: true,
            },
          ]),
      {
        name: 'registry unreachable',
        args: run('--suite', 'smoke', '--registry', 'https://127.0.0.1:1'),
        fix: /registry https:\/\/127\.0\.0\.1:1 is unreachable \(.*ECONNREFUSED.*\): check the URL/,
      },
      {
        name: 'wrong registry credentials',
        args: run(
          '--suite',
          'smoke',
          '--registry',
          registryUrl(),
          '--registry-username',
          registry?.username ?? '?',
          '--registry-password-stdin',
          '--registry-ca',
          ca?.certFile ?? '?',
        ),
        input: WRONG_PASSWORD,
        fix: /registry https:\/\/127\.0\.0\.1:\d+ refused the credentials of user user-bad-input \(HTTP 401\): check --registry-username and the password/,
      },
      {
        name: 'registry CA that does not verify',
        args: run(
          '--suite',
          'smoke',
          '--registry',
          registryUrl(),
          '--registry-username',
          registry?.username ?? '?',
          '--registry-password-stdin',
          '--registry-ca',
          otherCa?.certFile ?? '?',
        ),
        input: registry?.password ?? '?',
        fix: /registry https:\/\/127\.0\.0\.1:\d+: its TLS certificate does not verify \(.*\): pass --registry-ca FILE with the CA that signed it/,
      },
      {
        name: 'registry that needs credentials, none given',
        args: run('--suite', 'smoke', '--registry', registryUrl(), '--registry-ca', ca?.certFile ?? '?'),
        fix: /registry https:\/\/127\.0\.0\.1:\d+ needs credentials.*: pass --registry-username and --registry-password-stdin/,
      },
      {
        name: 'kubeconfig missing',
        args: run('--suite', 'smoke', '--kubeconfig', '/nonexistent/kubeconfig'),
        fix: /--kubeconfig \/nonexistent\/kubeconfig does not exist: pass the path of a kubeconfig/,
      },
      {
        name: 'context missing',
        args: run('--suite', 'smoke', '--kubeconfig', kubeconfig, '--context', 'y'),
        fix: /context "y" is not in .*kubeconfig\.yaml \(it has: x\): pass --context with one of them/,
      },
      {
        name: 'upgrade --before with --after',
        args: ['upgrade', '--kubeconfig', kubeconfig, '--before', '--after', '--report-dir', reportDir],
        fix: /--before and --after are two commands with your own upgrade between them: give --before first/,
      },
      {
        name: 'upgrade --after without --baseline',
        args: ['upgrade', '--kubeconfig', kubeconfig, '--after', '--report-dir', reportDir],
        fix: /--after needs --baseline reports\/<run>\/results\.json, the report the --before run wrote/,
      },
      {
        name: 'upgrade --from/--to with --kubeconfig',
        args: ['upgrade', '--kubeconfig', kubeconfig, '--from', 'v1.36.3', '--to', 'v1.37.2', '--report-dir', reportDir],
        fix: /your own cluster \(--kubeconfig\) you upgrade yourself: drop --from\/--to and run --before/,
      },
      {
        name: 'upgrade --after with a baseline not from a before run',
        args: ['upgrade', '--kubeconfig', kubeconfig, '--after', '--baseline', notBefore, '--report-dir', reportDir],
        fix: /--baseline .*results-not-before\.json is not the report of a pullcheck upgrade --before run: pass the results\.json that run wrote/,
      },
      {
        name: 'upgrade --kubeconfig --before without a registry',
        args: ['upgrade', '--kubeconfig', kubeconfig, '--before', '--report-dir', reportDir],
        fix: /the --kubeconfig form needs a registry both commands reach .*: add --registry URL --registry-username U --registry-password-stdin/,
      },
      {
        name: 'upgrade of a CRI-O profile (the in-place upgrade stages images with ctr)',
        args: ['upgrade', '--profile', 'cri-o', '--from', 'v1.36.3', '--to', 'v1.37.2', '--report-dir', reportDir],
        fix: /profile cri-o declares runtime cri-o: the in-place upgrade imports the new component images into containerd only; run the versions side by side instead/,
      },
      {
        name: 'cluster upgrade of a CRI-O profile',
        args: ['cluster', 'upgrade', '--profile', 'cri-o', '--to', 'v1.37.2'],
        fix: /profile cri-o declares runtime cri-o: the in-place upgrade imports the new component images into containerd only/,
      },
      {
        name: 'cluster upgrade without --to',
        args: ['cluster', 'upgrade', '--profile', profile],
        fix: /cluster upgrade needs --to vY, the version to upgrade the cluster to/,
      },
      {
        name: 'cluster upgrade of a cluster that is not there',
        args: ['cluster', 'upgrade', '--profile', profile, '--to', 'v1.37.2'],
        fix: /no kind cluster pullcheck-bad-input to upgrade: start it with `npx pullcheck cluster up/,
        // Finding the cluster needs kind: on a new machine it is built first, and says so.
        progressBefore: true,
      },
      {
        name: '--registry-repository-layout deep',
        args: run('--suite', 'smoke', '--registry', registryUrl(), '--registry-repository-layout', 'deep'),
        fix: /--registry-repository-layout "deep": choose flat \(every repository at depth 2, prefix\/name.*\) or nested \(the default\)/,
      },
      {
        name: 'registry clean without --run',
        args: ['registry', 'clean', '--registry', registryUrl()],
        fix: /registry clean needs --run RUN: the run ID \(its directory under reports\/\) whose pushes to delete/,
      },
      {
        name: 'registry clean --run with a path',
        args: ['registry', 'clean', '--registry', registryUrl(), '--run', '../etc'],
        fix: /--run "\.\.\/etc" is not a run ID: give the name of its directory under the report directory/,
      },
      {
        name: 'registry clean of a run that is not there',
        args: ['registry', 'clean', '--registry', registryUrl(), '--run', '20260101-000000-none', '--report-dir', cleanReports],
        fix: /no run 20260101-000000-none in .*clean-reports: pass --report-dir where its report is/,
      },
      {
        name: 'registry clean without --registry',
        args: ['registry', 'clean', '--run', pushedElsewhere, '--report-dir', cleanReports],
        fix: /registry clean needs --registry URL: the registry the run pushed to/,
      },
      {
        name: 'registry clean of a run that pushed elsewhere',
        args: ['registry', 'clean', '--registry', registryUrl(), '--run', pushedElsewhere, '--report-dir', cleanReports],
        fix: /run 20260101-000000-else pushed nothing to 127\.0\.0\.1:\d+: it pushed to vendor\.example:5000/,
      },
      {
        name: 'cluster clean of a cluster that is not there',
        args: ['cluster', 'clean', '--profile', profile],
        // kind may be built into the cache first (progress lines before the error).
        progressBefore: true,
        fix: /no kind cluster pullcheck-bad-input to clean \(pullcheck cluster status --name pullcheck-bad-input\)/,
      },
      {
        name: 'cluster clean with both a kind cluster and --kubeconfig',
        args: ['cluster', 'clean', '--name', CLUSTER_NAME, '--kubeconfig', kubeconfig],
        fix: /cluster clean takes the kind cluster \(--name\/--profile\) or --kubeconfig, not both/,
      },
      {
        name: 'cluster clean --context without --kubeconfig',
        args: ['cluster', 'clean', '--context', 'x'],
        fix: /--context needs --kubeconfig: the kubeconfig it is a context of/,
      },
      {
        name: 'cluster clean with a flag it does not take',
        args: ['cluster', 'clean', '--suite', 'smoke'],
        fix: /--suite does not apply to `pullcheck cluster clean`: see pullcheck help cluster clean/,
      },
      {
        name: 'cluster clean with an unreachable API server',
        args: ['cluster', 'clean', '--kubeconfig', kubeconfig],
        fix: /cannot list the nodes of https:\/\/127\.0\.0\.1:1 \(context x\): .*ECONNREFUSED.*; check that the cluster runs/,
      },
      {
        name: 'API server unreachable',
        args: run('--suite', 'smoke', '--kubeconfig', kubeconfig),
        fix: /cannot list the nodes of https:\/\/127\.0\.0\.1:1 \(context x\): .*ECONNREFUSED.*; check that the cluster runs/,
      },
    ];
  };
  let table: Case[] = [];

  beforeAll(async () => {
    if (!noTmpfs) {
      mkdirSync(tmpfsDir);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', tmpfsDir]);
      mounted = true;
    }
    [ca, otherCa] = await Promise.all([newCA('bad-input test CA'), newCA('a CA that signed nothing')]);
    // Labelled with this process, so that a killed test run's network is swept (testcontainers'
    // Network takes no labels, and its reaper is off here).
    network = `pullcheck-bad-input-${randomBytes(3).toString('hex')}`;
    await docker(['network', 'create', ...ownedLabelArgs(), network]);
    registry = await new LocalRegistry(
      { name: 'bad-input', auth: 'htpasswd', ca, network, runId: randomBytes(3).toString('hex') },
      logger,
    ).start();
    await watch.start();
    table = cases();
    const started = pool(table, CONCURRENCY, (c) => runCase(c, watch));
    table.forEach((c, i) => {
      const p = started[i] as Promise<Outcome>;
      p.catch(() => undefined); // judged by the case's own test
      outcomes.set(c.name, p);
    });
  }, 600_000);

  afterAll(async () => {
    // Whatever a case did, it is over before the fixtures go.
    await Promise.allSettled(outcomes.values());
    watch.stop();
    await registry?.stop();
    if (network) await docker(['network', 'rm', network], { allowFailure: true });
    for (const c of [ca, otherCa]) if (c) rmSync(c.dir, { recursive: true, force: true });
    if (mounted) {
      const r = await execa('umount', [tmpfsDir], { reject: false });
      if (r.exitCode !== 0) await execa('umount', ['-l', tmpfsDir], { reject: false });
    }
    rmSync(work, { recursive: true, force: true });
    // A cluster of the test profile must never exist; remove it if a broken preflight made one.
    const { stdout } = await docker(['ps', '-aq', '--filter', `label=${KIND_CLUSTER_LABEL}=${CLUSTER_NAME}`]);
    if (stdout.trim()) await docker(['rm', '-f', '-v', ...stdout.trim().split('\n')]);
    expect(stdout.trim()).toBe('');
  }, 600_000);

  const names = [
    'unknown suite',
    'unknown scenario ID (--focus matches none)',
    'invalid --focus regex',
    'unknown profile',
    'malformed profile YAML',
    'profile with a wrong field',
    'unknown Kubernetes version',
    'malformed Kubernetes version',
    'unknown command',
    'unknown flag',
    '--parallel 0',
    '--timeout abc',
    'a profile list with a --k8s list (two matrices at once)',
    'a profile list with --kubeconfig',
    '--suites-dir that does not exist',
    '--suites-dir with no suite',
    '--suites-dir suite named like a built-in one',
    'no Docker',
    'Docker too old',
    'no Go for a hermetic build',
    'no skopeo for the scenario that runs it',
    'no Go against an existing cluster',
    'disk full during a build',
    'registry unreachable',
    'wrong registry credentials',
    'registry CA that does not verify',
    'registry that needs credentials, none given',
    'kubeconfig missing',
    'context missing',
    'API server unreachable',
    'upgrade --before with --after',
    'upgrade --after without --baseline',
    'upgrade --from/--to with --kubeconfig',
    'upgrade --after with a baseline not from a before run',
    'upgrade --kubeconfig --before without a registry',
    'upgrade of a CRI-O profile (the in-place upgrade stages images with ctr)',
    'cluster upgrade of a CRI-O profile',
    'cluster upgrade without --to',
    'cluster upgrade of a cluster that is not there',
    '--registry-repository-layout deep',
    'registry clean without --run',
    'registry clean --run with a path',
    'registry clean of a run that is not there',
    'registry clean without --registry',
    'registry clean of a run that pushed elsewhere',
    'cluster clean of a cluster that is not there',
    'cluster clean with both a kind cluster and --kubeconfig',
    'cluster clean --context without --kubeconfig',
    'cluster clean with a flag it does not take',
    'cluster clean with an unreachable API server',
  ];
  for (const name of names) {
    const skip = name === 'disk full during a build' && noTmpfs;
    (skip ? it.skip : it)(
      skip ? `${name} (skipped: cannot mount a tmpfs here: ${noTmpfs})` : name,
      async () => {
        const c = table.find((x) => x.name === name);
        const o = await outcomes.get(name);
        if (!c || !o) throw new Error(`case "${name}" was not started`);
        const lines = o.stderr.split('\n').filter((l) => l !== '');
        const errorLines = c.progressBefore ? lines.filter((l) => !/^\d\d:\d\d:\d\d /.test(l)) : lines;
        // One object, so that a failure shows everything the CLI did.
        expect({ exitCode: o.exitCode, errorLines, created: o.created }).toEqual({
          exitCode: 2,
          errorLines: [expect.stringMatching(/^pullcheck: /) as unknown],
          created: [],
        });
        expect(lines.at(-1)).toMatch(c.fix);
        if (c.progressBefore) expect(lines.slice(0, -1).every((l) => /^\d\d:\d\d:\d\d /.test(l))).toBe(true);
        expect(`${o.stdout}${o.stderr}`).not.toContain(WRONG_PASSWORD);
        if (registry?.password) expect(`${o.stdout}${o.stderr}`).not.toContain(registry.password);
      },
      900_000,
    );
  }

  it('covers every case it runs', () => {
    expect(table.map((c) => c.name).sort()).toEqual(names.filter((n) => !(n === 'disk full during a build' && noTmpfs)).sort());
    expect(existsSync(reportDir)).toBe(false);
  });
});
