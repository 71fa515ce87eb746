import { execa } from 'execa';
import { halfMade, kindCreating, markCreated, markCreating } from '../helpers/cluster/creating.ts';
import { tempDirs } from './tempdirs.ts';

describe('a kind cluster being created', () => {
  const saved = process.env['PULLCHECK_CACHE_DIR'];
  const tmp = tempDirs('pullcheck-creating-');
  beforeAll(() => {
    process.env['PULLCHECK_CACHE_DIR'] = tmp();
  });
  afterAll(() => {
    if (saved === undefined) delete process.env['PULLCHECK_CACHE_DIR'];
    else process.env['PULLCHECK_CACHE_DIR'] = saved;
  });

  it('is half-made once the process creating it is gone, not while it lives, and not once finished', () => {
    expect(halfMade('c1')).toBeUndefined();
    markCreating('c1');
    expect(halfMade('c1')).toBeUndefined();
    expect(halfMade('c1', () => false)).toMatchObject({ pid: process.pid });
    markCreated('c1');
    expect(halfMade('c1', () => false)).toBeUndefined();
  });

  it('finds a detached `kind create cluster --name N` by its command line', async () => {
    // A stand-in process whose argv reads as kind's: sh -c with the words after it.
    const child = execa('sh', ['-c', 'sleep 30', 'create', 'cluster', '--name', 'pc-creating-test', '--image', 'x'], { reject: false });
    try {
      await new Promise((r) => setTimeout(r, 200));
      expect(kindCreating('pc-creating-test')).toContain(child.pid);
      expect(kindCreating('pc-creating-other')).toEqual([]);
    } finally {
      child.kill('SIGKILL');
      await child;
    }
  });
});
