// The images a suite's own registries left on a node: the node's shell run against a stand-in crictl
// (its `images` table, and the IDs `rmi` was given), so that only those hosts' images go.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { parseRemoved, REMOVE_REGISTRY_IMAGES_SHELL } from '../helpers/node/registryimages.ts';

const TABLE = `IMAGE                                                   TAG        IMAGE ID        SIZE
pullcheck-reg-ab12cd-private:5000/pullcheck/a-1         ab12cd-1   1111111111111   768kB
pullcheck-reg-ab12cd-private:5000/pullcheck/a-1         <none>     2222222222222   768kB
pullcheck-reg-ab12cd-private:5000/pullcheck/a-2         ab12cd-2   1111111111111   768kB
pullcheck-reg-ab12cd-private2:5000/pullcheck/b          ab12cd-3   3333333333333   768kB
pullcheck-reg-ff00ff-private:5000/pullcheck/other-run   x          4444444444444   768kB
172.18.0.1:45517/pullcheck/limited                      y          5555555555555   768kB
172.18.0.1:455170/pullcheck/not-that-port               y          6666666666666   768kB
registry.k8s.io/pause                                   3.10       7777777777777   734kB
`;

/**
 * `refuse`: an image ID `rmi` refuses while a container names it; `containers`: that image's
 * containers by state, as `crictl ps -a -q --state S --image ID` lists them (CRI-O refuses an image
 * an exited container names).
 */
async function run(
  hosts: string[],
  refuse = '',
  containers: { exited?: string; running?: string } = {},
): Promise<{ stdout: string; removed: string[]; containersRemoved: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'pullcheck-crictl-'));
  try {
    writeFileSync(join(dir, 'table'), TABLE);
    const crictl = join(dir, 'crictl');
    writeFileSync(
      crictl,
      `#!/bin/sh
case "$1" in
  images) cat "${dir}/table" ;;
  ps) [ "$3 $4 $5 $6" = "-q --state exited --image" ] || exit 1
      [ "$7" != "${refuse}" ] || [ -z "${containers.exited ?? ''}" ] || [ -e "${dir}/rm" ] || echo "${containers.exited ?? ''}" ;;
  rm) echo "$2" >> "${dir}/rm" ;;
  rmi) echo "$2" >> "${dir}/removed"
       [ "$2" != "${refuse}" ] && exit 0
       # Refused while any container names it: a running one always, an exited one until removed.
       [ -z "${containers.running ?? ''}" ] && [ -n "${containers.exited ?? ''}" ] && [ -e "${dir}/rm" ] ;;
esac
`,
    );
    chmodSync(crictl, 0o755);
    const { stdout } = await execa('sh', ['-c', REMOVE_REGISTRY_IMAGES_SHELL, 'sh', ...hosts], {
      env: { PATH: `${dir}:${process.env['PATH'] ?? ''}` },
    });
    const lines = (file: string): string[] => {
      try {
        return readFileSync(join(dir, file), 'utf8').trim().split('\n');
      } catch {
        return []; // nothing was removed
      }
    };
    return { stdout, removed: lines('removed'), containersRemoved: lines('rm') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("removing what a suite's registries left on a node", () => {
  it('removes each image of the given hosts once, by ID, and nothing of another host, run or port', async () => {
    const r = await run(['pullcheck-reg-ab12cd-private:5000', '172.18.0.1:45517']);
    expect(r.removed.sort()).toEqual(['1111111111111', '2222222222222', '5555555555555']);
    expect(parseRemoved(r.stdout)).toEqual({ found: 3, left: 0 });
  });

  it('counts what crictl refused to remove', async () => {
    const r = await run(['pullcheck-reg-ab12cd-private2:5000'], '3333333333333');
    expect(parseRemoved(r.stdout)).toEqual({ found: 1, left: 1 });
  });

  it('removes an exited container that still names a refused image (CRI-O), then the image', async () => {
    const r = await run(['pullcheck-reg-ab12cd-private2:5000'], '3333333333333', { exited: 'c0ffee' });
    expect(r.containersRemoved).toEqual(['c0ffee']);
    expect(r.removed).toEqual(['3333333333333', '3333333333333']);
    expect(parseRemoved(r.stdout)).toEqual({ found: 1, left: 0 });
  });

  it('leaves an image a running container uses, and that container', async () => {
    const r = await run(['pullcheck-reg-ab12cd-private2:5000'], '3333333333333', { running: 'beef' });
    expect(r.containersRemoved).toEqual([]);
    expect(parseRemoved(r.stdout)).toEqual({ found: 1, left: 1 });
  });

  it('finds nothing for a host no image names', async () => {
    const r = await run(['pullcheck-reg-000000-private:5000']);
    expect(r.removed).toEqual([]);
    expect(parseRemoved(r.stdout)).toEqual({ found: 0, left: 0 });
    expect(parseRemoved('crictl: not found')).toBeUndefined();
  });
});
