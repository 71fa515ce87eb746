// A pull-through cache through the CLI as a vendor would meet it: `registry serve --kind
// distribution-proxy` (distribution's proxy mode with credentials of its own, in front of an htpasswd
// upstream whose credentials it holds) prints a certify line with --registry-upstream; its options
// run (as `run`, narrowed to the pull-through scenarios and one node pull of the registry suite:
// `certify` judges a selection by the whole certification, which the full line proves by hand,
// docs/measurements.md): images are pushed to the upstream, pods pull them through the cache,
// certification.json has pull-through passed and required, and the cleanup deleted on the upstream.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { execa } from 'execa';
import type { RunResults } from '../../helpers/report/schema.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
/** The kind cluster the test uses (default pullcheck, the e2e project's); a developer sharing a host names their own. */
const CLUSTER = process.env['PULLCHECK_VENDOR_TEST_CLUSTER'] ?? 'pullcheck';
const NAME_ARGS = CLUSTER === 'pullcheck' ? [] : ['--name', CLUSTER];

/** The printed line: `VAR="$(cat UPSTREAM_FILE)" npx pullcheck certify ARGS < FILE`. */
function parseCertifyLine(line: string): { args: string[]; passwordFile: string; upstreamEnv: string; upstreamFile: string } {
  const m = /^(\w+)="\$\(cat (\S+)\)" (.*) < (\S+)$/.exec(line);
  if (!m) throw new Error(`not the certify line of a cache: ${line}`);
  const [, upstreamEnv = '', upstreamFile = '', command = '', passwordFile = ''] = m;
  const words = command.split(' ');
  expect(words.slice(0, 3)).toEqual(['npx', 'pullcheck', 'certify']);
  return { args: words.slice(3), passwordFile, upstreamEnv, upstreamFile };
}

describe('registry serve --kind distribution-proxy, then its certify line', () => {
  let work: string;
  let serve: ChildProcess | undefined;
  let createdCluster = false;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'pullcheck-proxy-'));
    const status = await execa('node', ['bin/pullcheck.js', 'cluster', 'status', ...NAME_ARGS], { cwd: ROOT, reject: false });
    createdCluster = !/: running/.test(status.stdout);
    await execa('node', ['bin/pullcheck.js', 'cluster', 'up', ...NAME_ARGS], { cwd: ROOT });
  }, 1_800_000);

  afterAll(async () => {
    if (serve?.exitCode === null) {
      const exited = new Promise((r) => serve?.once('exit', r));
      serve.kill('SIGINT');
      await exited;
    }
    if (work) rmSync(work, { recursive: true, force: true });
    if (createdCluster) await execa('node', ['bin/pullcheck.js', 'cluster', 'down', ...NAME_ARGS], { cwd: ROOT, reject: false });
  }, 300_000);

  it('pushes to the upstream, pulls through the cache, certifies pull-through and cleans the upstream', async () => {
    serve = spawn('node', ['bin/pullcheck.js', 'registry', 'serve', '--kind', 'distribution-proxy', ...NAME_ARGS], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const stdout = serve.stdout;
    if (!stdout) throw new Error('registry serve has no standard output');
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: stdout }).on('line', (l) => {
        if (l.includes('npx pullcheck certify')) resolve(l);
      });
      serve?.once('exit', (code) => reject(new Error(`registry serve exited ${code} before printing the certify line`)));
    });
    const { args, passwordFile, upstreamEnv, upstreamFile } = parseCertifyLine(line);
    expect(args).toEqual(expect.arrayContaining(['--registry-upstream', '--upstream-username', '--upstream-password-env', upstreamEnv]));
    const password = readFileSync(passwordFile, 'utf8');
    const upstreamPassword = readFileSync(upstreamFile, 'utf8');
    const reportDir = join(work, 'reports');
    const r = await execa(
      'node',
      [
        'bin/pullcheck.js',
        'run',
        ...args,
        '--suite',
        'registry-proxy,registry',
        '--focus',
        '^registry-proxy/pull-through-private-|^registry/node-pulls-oci-manifest-from-private$',
        '--report-dir',
        reportDir,
      ],
      {
        cwd: ROOT,
        input: password,
        reject: false,
        all: true,
        env: { ...process.env, CI: 'true', [upstreamEnv]: upstreamPassword },
      },
    );
    const console = r.all ?? '';
    expect({ exitCode: r.exitCode, tail: console.split('\n').slice(-15).join('\n') }).toEqual({
      exitCode: 0,
      tail: expect.stringContaining('0 failed') as unknown,
    });
    const results = JSON.parse(readFileSync(join(reportDir, 'latest', 'results.json'), 'utf8')) as RunResults;
    const target = results.targets[0];
    const upstreamUrl = args[args.indexOf('--registry-upstream') + 1];
    expect(target?.registry).toMatchObject({ mode: 'vendor', upstream: upstreamUrl });
    const statuses = Object.fromEntries((target?.scenarios ?? []).map((s) => [s.id, s.status]));
    expect(statuses).toEqual({
      'registry-proxy/pull-through-private-upstream': 'passed',
      'registry-proxy/pull-through-private-tag-moved-upstream': 'passed',
      'registry/node-pulls-oci-manifest-from-private': 'passed',
    });
    // The pods named the cache, never the upstream.
    const cacheHost = new URL(target?.registry.url ?? 'https://?').host;
    for (const s of target?.scenarios ?? []) expect(s.registries).toContain(cacheHost);

    const certification = JSON.parse(readFileSync(join(reportDir, 'latest', 'certification.json'), 'utf8')) as {
      capabilities: { key?: string; status: string; required?: boolean }[];
      registryCleanup?: RunResults['registryCleanup'];
    };
    expect(certification.capabilities.find((c) => c.key === 'pull-through')).toMatchObject({ status: 'passed', required: true });
    // What the run pushed went to the upstream, and was deleted there.
    expect(certification.registryCleanup?.left ?? []).toEqual([]);
    expect(certification.registryCleanup?.deleted ?? 0).toBeGreaterThan(0);
    expect(console).not.toContain(password);
    expect(console).not.toContain(upstreamPassword);
  }, 1_800_000);
});
