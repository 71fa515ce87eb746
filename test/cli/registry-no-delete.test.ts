// A registry as most deployments leave distribution — deletion disabled — through the CLI as a
// vendor would meet it: `registry serve --kind distribution-no-delete` prints a certify line, its
// options run (as `run`, narrowed to the tag-move and deletion scenarios: `certify` would judge a
// selection by the whole certification, which needs the full catalog): deletion reads "not supported
// (405 UNSUPPORTED)" in certification.json and .html, never a failure; the run lists the repositories
// it could not delete, and `registry clean --run` retries them and says the registry still refuses.
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

/** The words of the printed certify line and the password file it reads from (`… < FILE`). */
function parseCertifyLine(line: string): { args: string[]; passwordFile: string } {
  const [command, input] = line.split(' < ');
  const words = (command ?? '').split(' ');
  expect(words.slice(0, 3)).toEqual(['npx', 'pullcheck', 'certify']);
  return { args: words.slice(3), passwordFile: (input ?? '').trim() };
}

describe('registry serve --kind distribution-no-delete, then its certify line', () => {
  let work: string;
  let serve: ChildProcess | undefined;
  let createdCluster = false;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'pullcheck-no-delete-'));
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

  it('certifies deletion as not supported (405 UNSUPPORTED), lists what it left, and registry clean says the registry still refuses', async () => {
    serve = spawn('node', ['bin/pullcheck.js', 'registry', 'serve', '--kind', 'distribution-no-delete', ...NAME_ARGS], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const stdout = serve.stdout;
    if (!stdout) throw new Error('registry serve has no standard output');
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: stdout }).on('line', (l) => {
        if (l.startsWith('npx pullcheck certify')) resolve(l);
      });
      serve?.once('exit', (code) => reject(new Error(`registry serve exited ${code} before printing the certify line`)));
    });
    const { args, passwordFile } = parseCertifyLine(line);
    const password = readFileSync(passwordFile, 'utf8');
    const reportDir = join(work, 'reports');
    const r = await execa(
      'node',
      [
        'bin/pullcheck.js',
        'run',
        ...args,
        '--suite',
        'registry',
        '--focus',
        '^registry/(private-)?(tag-moves|deletion)$',
        '--report-dir',
        reportDir,
      ],
      { cwd: ROOT, input: password, reject: false, all: true, env: { ...process.env, CI: 'true' } },
    );
    const console = r.all ?? '';
    // A selection: the exit code rests on the scenarios, and a declared skip fails nothing.
    expect({ exitCode: r.exitCode, tail: console.split('\n').slice(-15).join('\n') }).toEqual({
      exitCode: 0,
      tail: expect.stringContaining('0 failed') as unknown,
    });
    const results = JSON.parse(readFileSync(join(reportDir, 'latest', 'results.json'), 'utf8')) as RunResults;
    const host = results.targets[0]?.registry.url?.replace('https://', '') ?? '?';
    const deletion = results.targets[0]?.scenarios.find((s) => s.id === 'registry/private-deletion');
    expect(deletion).toMatchObject({
      status: 'not-applicable',
      notSupported: { capability: 'deletion', detail: '405 UNSUPPORTED' },
    });
    expect(results.targets[0]?.scenarios.find((s) => s.id === 'registry/private-tag-moves')?.status).toBe('passed');

    const certification = JSON.parse(readFileSync(join(reportDir, 'latest', 'certification.json'), 'utf8')) as {
      verdict: string;
      capabilities: { key?: string; status: string; required?: boolean; note?: string }[];
      registryCleanup?: RunResults['registryCleanup'];
    };
    expect(certification.capabilities.find((c) => c.key === 'deletion')).toMatchObject({
      status: 'not supported',
      required: false,
      note: '405 UNSUPPORTED',
    });
    expect(certification.capabilities.find((c) => c.key === 'tag-moves')?.status).toBe('passed');
    expect(certification.verdict).toContain('deletion: not supported (405 UNSUPPORTED)');
    expect(readFileSync(join(reportDir, 'latest', 'certification.html'), 'utf8')).toContain('deletion: not supported (405 UNSUPPORTED)');

    // Not left as found, and said so: every repository the run pushed to, with the registry's answer.
    const left = certification.registryCleanup?.left ?? [];
    expect(left.length).toBeGreaterThan(0);
    expect([...new Set(left.map((l) => l.answer))]).toEqual(['405 UNSUPPORTED']);
    expect(console).toContain(`pullcheck registry clean --registry https://${host} --run ${results.runId}`);

    const caFile = args[args.indexOf('--registry-ca') + 1] ?? '?';
    const username = args[args.indexOf('--registry-username') + 1] ?? '?';
    const clean = await execa(
      'node',
      [
        'bin/pullcheck.js',
        'registry',
        'clean',
        '--registry',
        `https://${host}`,
        '--registry-ca',
        caFile,
        '--registry-username',
        username,
        '--registry-password-stdin',
        '--run',
        results.runId,
        '--report-dir',
        reportDir,
      ],
      { cwd: ROOT, input: password, reject: false, all: true },
    );
    expect({ exitCode: clean.exitCode, out: clean.all }).toEqual({
      exitCode: 1,
      out: expect.stringMatching(new RegExp(`${left.length} repositor(y|ies) of this run left \\(405 UNSUPPORTED\\)`)) as unknown,
    });
    expect(`${console}${clean.all ?? ''}`).not.toContain(password);
  }, 1_800_000);
});
