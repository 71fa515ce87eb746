// Process groups as `pullcheck run` uses them for jest (helpers/infra/processgroup.ts): a signal
// forwarded to the whole group and waited for, escalated to SIGKILL; a zombie counted as gone (the
// sweep's owner check too); jest ending its group once the run that started it is gone. Real
// processes, real signals; /proc written by hand only where jest itself would have to be faked.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { groupRunning, parseStat, runAboveJest, stopGroup, zombie } from '../helpers/infra/processgroup.ts';
import { alive } from '../helpers/infra/sweep.ts';

const ROOT = new URL('..', import.meta.url).pathname;

/** A shell script as the leader of a new process group; resolves with its first line of output and its pid. */
function group(script: string): Promise<{ pid: number; line: string }> {
  const child = spawn('sh', ['-c', script], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
  child.unref();
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0 && child.pid) resolve({ pid: child.pid, line: out.slice(0, nl) });
    });
    child.on('error', reject);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!what()) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

describe('process groups', () => {
  const started: number[] = [];
  afterAll(() => {
    for (const pid of started) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // gone, as it should be
      }
    }
  });

  it('parses /proc/<pid>/stat whatever the command name holds', () => {
    expect(parseStat('4242 (node (jest) x) S 17 4200 4200 0 -1 4194560')).toEqual({ state: 'S', ppid: 17, pgrp: 4200 });
    expect(parseStat('garbage')).toBeUndefined();
  });

  it('forwards a signal to every process of the group and waits until none runs', async () => {
    const g = await group('sleep 60 & sleep 60 & echo ready; wait');
    started.push(g.pid);
    expect(groupRunning(g.pid)).toBe(true);
    expect(await stopGroup(g.pid, 'SIGTERM', 10_000)).toBe('ended');
    expect(groupRunning(g.pid)).toBe(false);
  });

  it('sends SIGKILL to a group that ignores the signal, once the grace is over', async () => {
    const g = await group("trap '' TERM; sleep 60 & echo ready; wait");
    started.push(g.pid);
    expect(await stopGroup(g.pid, 'SIGTERM', 300)).toBe('killed');
    expect(groupRunning(g.pid)).toBe(false);
  });

  it('counts a zombie as gone: its containers and journal entries are swept at once', async () => {
    // `sleep 0.1` outlives nothing: its parent execs `sleep 30`, which never reaps it.
    const g = await group('sleep 0.1 & echo $!; exec sleep 30');
    started.push(g.pid);
    const child = Number(g.line);
    expect(await until(() => zombie(child), 5_000)).toBe(true);
    expect(alive(child)).toBe(false);
    expect(alive(g.pid)).toBe(true);
    expect(groupRunning(g.pid)).toBe(true);
  });

  it('jest ends its own group once the run that started it is gone', async () => {
    // The "run" starts a group leader that watches for it (as jest does), with a child in its group, and exits.
    const leader = [
      "import { spawn } from 'node:child_process';",
      `const { endGroupWhenOrphaned } = await import(${JSON.stringify(join(ROOT, 'helpers/infra/processgroup.ts'))});`,
      'endGroupWhenOrphaned(100);',
      "spawn('sleep', ['60'], { stdio: 'ignore' });",
      'console.log(process.pid);',
      'setInterval(() => undefined, 1000);',
    ].join('\n');
    const run = [
      "import { spawn } from 'node:child_process';",
      `const c = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', ${JSON.stringify(leader)}], { detached: true, stdio: ['ignore', 'pipe', 'inherit'] });`,
      "c.stdout.once('data', (d) => { process.stdout.write(d); setTimeout(() => process.exit(0), 300); });",
    ].join('\n');
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', run], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const pid = await new Promise<number>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
    started.push(pid);
    expect(groupRunning(pid)).toBe(true);
    expect(await until(() => !groupRunning(pid), 10_000)).toBe(true);
  }, 30_000);

  describe('the run above jest, for the kill tests', () => {
    let proc: string;
    beforeEach(() => {
      proc = mkdtempSync(join(tmpdir(), 'pullcheck-proc-'));
    });
    afterEach(() => rmSync(proc, { recursive: true, force: true }));

    function fakeProcess(pid: string, stat: string, cmdline = 'node\0x\0'): void {
      mkdirSync(join(proc, pid), { recursive: true });
      writeFileSync(join(proc, pid, 'stat'), stat);
      writeFileSync(join(proc, pid, 'cmdline'), cmdline);
    }

    it('is the parent of the jest that leads this process group', () => {
      fakeProcess('self', '301 (node) S 300 300 300');
      fakeProcess('300', '300 (node) S 200 300 300', 'node\0/x/node_modules/jest/bin/jest.js\0--config\0');
      expect(runAboveJest(proc)).toBe(200);
    });

    it('is nobody when the group is not led by jest (the run itself reached the point)', () => {
      fakeProcess('self', '200 (node) S 100 200 200');
      fakeProcess('200', '200 (node) S 100 200 200', 'node\0bin/pullcheck.js\0run\0');
      expect(runAboveJest(proc)).toBeUndefined();
    });

    it('counts only running members of a group, not zombies', () => {
      fakeProcess('500', '500 (node) Z 1 500 500');
      fakeProcess('501', '501 (sleep) Z 1 500 500');
      expect(groupRunning(500, proc)).toBe(false);
      fakeProcess('502', '502 (sleep) S 1 500 500');
      expect(groupRunning(500, proc)).toBe(true);
    });
  });
});
