// cachedDir (helpers/infra/cache.ts): one build per directory, however many callers ask at once.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cachedDir } from '../helpers/infra/cache.ts';

describe('cachedDir', () => {
  const root = mkdtempSync(join(tmpdir(), 'pullcheck-cachedir-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('builds once for callers that ask side by side (the pull probe starts its registries together), and each gets the finished directory', async () => {
    const dir = join(root, 'tool-v1');
    let builds = 0;
    const build = async (scratch: string) => {
      builds += 1;
      await new Promise((r) => setTimeout(r, 50));
      writeFileSync(join(scratch, 'tool'), 'built');
    };
    const results = await Promise.all([cachedDir(dir, build), cachedDir(dir, build), cachedDir(dir, build)]);
    expect(builds).toBe(1);
    for (const r of results) expect(readFileSync(join(r.dir, 'tool'), 'utf8')).toBe('built');
    expect(await cachedDir(dir, build)).toEqual({ dir, hit: true });
    expect(builds).toBe(1);
  });

  it('leaves no scratch directory behind a failed build, and tries again on the next call', async () => {
    const dir = join(root, 'tool-v2');
    await expect(cachedDir(dir, async () => Promise.reject(new Error('no compiler')))).rejects.toThrow('no compiler');
    expect(existsSync(`${dir}.partial-${process.pid}`)).toBe(false);
    const r = await cachedDir(dir, async (s) => writeFileSync(join(s, 'tool'), 'second'));
    expect(readFileSync(join(r.dir, 'tool'), 'utf8')).toBe('second');
  });
});
