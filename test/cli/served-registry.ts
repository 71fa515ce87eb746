// What the `registry serve` CLI tests share: the kind cluster they use (made if missing, deleted
// again only then), a work directory, and one `pullcheck registry serve --kind KIND` kept running
// until the tests end, whose printed certify line they read.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { execa } from 'execa';

export const ROOT = new URL('../..', import.meta.url).pathname;
/** The kind cluster the test uses (default pullcheck, the e2e project's); a developer sharing a host names their own. */
export const CLUSTER = process.env['PULLCHECK_VENDOR_TEST_CLUSTER'] ?? 'pullcheck';
export const NAME_ARGS = CLUSTER === 'pullcheck' ? [] : ['--name', CLUSTER];

/** The words of a plain printed certify line and the password file it reads from (`… < FILE`). */
export function parseCertifyLine(line: string): { args: string[]; passwordFile: string } {
  const [command, input] = line.split(' < ');
  const words = (command ?? '').split(' ');
  if (words.slice(0, 3).join(' ') !== 'npx pullcheck certify') throw new Error(`not a certify line: ${line}`);
  return { args: words.slice(3), passwordFile: (input ?? '').trim() };
}

export interface ServedRegistry {
  /** The test's own directory, removed when the tests end. */
  work(): string;
  /** The `registry serve` process's pid: the owner label of the containers it started. */
  pid(): number | undefined;
  /** Starts `registry serve --kind KIND` and returns the first line `isCertifyLine` accepts. */
  serve(kind: string, isCertifyLine: (line: string) => boolean): Promise<string>;
}

/** Registers, in the enclosing describe, the cluster and the served registry's setup and teardown. */
export function servedRegistry(prefix: string): ServedRegistry {
  let work = '';
  let serve: ChildProcess | undefined;
  let createdCluster = false;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), `pullcheck-${prefix}-`));
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

  return {
    work: () => work,
    pid: () => serve?.pid,
    serve: (kind, isCertifyLine) => {
      const child = spawn('node', ['bin/pullcheck.js', 'registry', 'serve', '--kind', kind, ...NAME_ARGS], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      serve = child;
      const stdout = child.stdout;
      if (!stdout) throw new Error('registry serve has no standard output');
      return new Promise<string>((resolve, reject) => {
        createInterface({ input: stdout }).on('line', (l) => {
          if (isCertifyLine(l)) resolve(l);
        });
        child.once('exit', (code) => reject(new Error(`registry serve exited ${code} before printing the certify line`)));
      });
    },
  };
}
