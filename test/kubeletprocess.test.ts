import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { mainProcessShell } from '../helpers/kubelet/process.ts';

// The shell runs here against real processes shaped like kubelet with a forked child: a program
// whose child has the same name. A copy of `sleep` under a unique name keeps other processes out.
describe("finding a program's main process", () => {
  const name = `pcfake${randomBytes(3).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'pullcheck-proc-'));
  const program = join(dir, name);
  let parent: ResultPromise | undefined;

  beforeAll(() => copyFileSync('/bin/sleep', program));
  afterAll(async () => {
    // The child outlives its parent; both go.
    await execa('pkill', ['-KILL', '-x', name], { reject: false });
    await parent;
    rmSync(dir, { recursive: true, force: true });
  });

  const comm = (pid: number): string => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    } catch {
      return '';
    }
  };
  const findMain = () => execa('sh', ['-c', `${mainProcessShell(name)}\necho "$pid"`], { reject: false });

  it('fails with a message when the program is not running', async () => {
    const r = await findMain();
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`no ${name} process`);
  });

  it('picks the parent, not its same-named child', async () => {
    // sh starts the child, then becomes the parent program itself.
    parent = execa('sh', ['-c', `"$1" 60 & exec "$1" 61`, 'sh', program], { reject: false, stdio: 'ignore' });
    const pid = parent.pid ?? 0;
    const started = Date.now();
    let pids: string[] = [];
    while (Date.now() - started < 10_000) {
      pids = (await execa('pidof', [name], { reject: false })).stdout.split(/\s+/).filter(Boolean);
      if (comm(pid) === name && pids.length === 2) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(pids).toHaveLength(2);
    const r = await findMain();
    expect(r.exitCode).toBe(0);
    expect(r.stdout.trim()).toBe(String(pid));
  });

  it('refuses a name that is not a plain program name', () => {
    expect(() => mainProcessShell('kubelet; rm -rf /')).toThrow('not a program name');
  });
});
