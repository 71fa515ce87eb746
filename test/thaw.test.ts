import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { containerCgroupDirs, thawUnder } from '../helpers/cluster/thaw.ts';
import { tempDirs } from './tempdirs.ts';

describe('thawing a node container a frozen cgroup keeps alive', () => {
  const tmp = tempDirs('pullcheck-thaw-');
  it('thaws every frozen cgroup under it (v1 freezer.state, v2 cgroup.freeze) and leaves the others', () => {
    const root = tmp();
    const node = join(root, 'freezer', 'docker', 'abc');
    const frozen = join(node, 'kubelet.slice', 'pod.slice', 'cri-containerd-1.scope');
    const thawedAlready = join(node, 'kubelet.slice', 'pod.slice', 'cri-containerd-2.scope');
    mkdirSync(frozen, { recursive: true });
    mkdirSync(thawedAlready, { recursive: true });
    writeFileSync(join(node, 'freezer.state'), 'THAWED\n');
    writeFileSync(join(frozen, 'freezer.state'), 'FROZEN\n');
    writeFileSync(join(thawedAlready, 'freezer.state'), 'THAWED\n');
    const v2 = join(root, 'system.slice', 'docker-abc.scope', 'kubelet.slice', 'x.scope');
    mkdirSync(v2, { recursive: true });
    writeFileSync(join(v2, 'cgroup.freeze'), '1\n');

    expect(containerCgroupDirs('abc', root)).toEqual([node, join(root, 'system.slice', 'docker-abc.scope')]);
    expect(containerCgroupDirs('other', root)).toEqual([]);
    expect(thawUnder(node)).toEqual([frozen]);
    expect(readFileSync(join(frozen, 'freezer.state'), 'utf8')).toBe('THAWED');
    expect(thawUnder(join(root, 'system.slice', 'docker-abc.scope'))).toEqual([v2]);
    expect(readFileSync(join(v2, 'cgroup.freeze'), 'utf8')).toBe('0');
    expect(thawUnder(node)).toEqual([]);
  });
});
