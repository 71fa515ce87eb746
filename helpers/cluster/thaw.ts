// A kind node container docker cannot kill: a container inside it was being started when the node
// was stopped, and runc (systemd cgroup driver, cgroup v1) had frozen its cgroup for a moment and
// died before thawing it. Its processes wait in the freezer, so the node's init never exits and
// `docker rm -f` fails ("did not receive an exit event"). Thawing the frozen cgroups under the
// node's own container cgroup lets the kill finish; nothing outside pullcheck's node containers is touched.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../infra/log.ts';

/** Where a docker container's cgroup may be: cgroupfs or systemd driver, cgroup v1 (freezer) or v2. */
export function containerCgroupDirs(id: string, root = '/sys/fs/cgroup'): string[] {
  return [
    join(root, 'freezer', 'docker', id),
    join(root, 'freezer', 'system.slice', `docker-${id}.scope`),
    join(root, 'docker', id),
    join(root, 'system.slice', `docker-${id}.scope`),
  ].filter((d) => existsSync(d));
}

/** Thaws every frozen cgroup at or under `dir`; returns the ones it thawed. */
export function thawUnder(dir: string): string[] {
  const thawed: string[] = [];
  const walk = (d: string) => {
    const v1 = join(d, 'freezer.state');
    const v2 = join(d, 'cgroup.freeze');
    if (existsSync(v1) && readFileSync(v1, 'utf8').trim() !== 'THAWED') {
      writeFileSync(v1, 'THAWED');
      thawed.push(d);
    } else if (existsSync(v2) && readFileSync(v2, 'utf8').trim() === '1') {
      writeFileSync(v2, '0');
      thawed.push(d);
    }
    for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(join(d, e.name));
  };
  walk(dir);
  return thawed;
}

/** Thaws what is frozen inside the given node containers (full IDs); logs each; errors become a warning. */
export function thawNodeContainers(ids: readonly string[], logger: Logger): number {
  let n = 0;
  for (const id of ids)
    for (const dir of containerCgroupDirs(id)) {
      try {
        const thawed = thawUnder(dir);
        for (const t of thawed) logger.warn(`thawed a frozen cgroup in node container ${id.slice(0, 12)}: ${t}`);
        n += thawed.length;
      } catch (error) {
        logger.warn(`could not thaw the cgroups of node container ${id.slice(0, 12)} (${dir}): ${String(error).split('\n')[0]}`);
      }
    }
  return n;
}
