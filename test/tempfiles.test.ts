import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { ownerOfTempDir, privateTempDir, removePrivateTempDir, sweepDeadTempDirs } from '../helpers/infra/tempfiles.ts';
import { tempDirs } from './tempdirs.ts';

const MODULE = new URL('../helpers/infra/tempfiles.ts', import.meta.url).pathname;

describe('private temp dirs (credentials on the host)', () => {
  const tmp = tempDirs('pullcheck-sweep-test-');
  it('are 0700 and carry their owner pid', () => {
    const dir = privateTempDir('secret');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(ownerOfTempDir(dir.split('/').pop() ?? '')).toBe(process.pid);
    removePrivateTempDir(dir);
    expect(existsSync(dir)).toBe(false);
    expect(ownerOfTempDir('pullcheck-kind-abc123')).toBeUndefined();
  });

  it("are swept when their owner is gone, never a live owner's", () => {
    const root = tmp();
    const dead = join(root, 'pullcheck-private-secret-999999-AbC123');
    const live = join(root, `pullcheck-private-ca-${process.pid}-XyZ789`);
    const other = join(root, 'pullcheck-kind-Qwe456');
    for (const d of [dead, live, other]) mkdirSync(d);
    expect(sweepDeadTempDirs((pid) => pid === process.pid, root)).toEqual([dead]);
    expect([existsSync(dead), existsSync(live), existsSync(other)]).toEqual([false, true, true]);
  });

  // A process that ends by an exception, by SIGTERM through a handler's exit, or normally: gone each time.
  for (const [how, code] of [
    ['an exception', 'throw new Error("boom")'],
    [
      'process.exit from a signal handler',
      'process.on("SIGTERM", () => process.exit(143)); process.kill(process.pid, "SIGTERM"); setTimeout(() => {}, 5000)',
    ],
    ['a normal end', ''],
  ] as const) {
    it(`are removed when the process exits by ${how}`, async () => {
      const script = `const { privateTempDir } = await import(${JSON.stringify(MODULE)}); console.log(privateTempDir('secret')); ${code}`;
      const r = await execa('node', ['--import', 'tsx', '--input-type=module', '-e', script], { reject: false });
      const dir = r.stdout.trim().split('\n')[0] ?? '';
      expect(dir).toMatch(/pullcheck-private-secret-/);
      expect(existsSync(dir)).toBe(false);
    });
  }
});
