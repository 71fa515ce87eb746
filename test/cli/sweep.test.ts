// The sweep of what killed runs left on this host (helpers/infra/sweep.ts), against the real Docker
// Engine: containers, networks and volumes labelled with an owner process that is gone are removed, those of
// a live process stay.
import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import { cacheDir } from '../../helpers/infra/cache.ts';
import { docker } from '../../helpers/infra/docker.ts';
import { defaultLogFile, Logger } from '../../helpers/infra/log.ts';
import { ownedLabelArgs, sweepOrphans } from '../../helpers/infra/sweep.ts';

const id = randomBytes(3).toString('hex');
// An image with nothing in it: `docker create` needs one, and none can be pulled here.
const EMPTY_IMAGE = `pullcheck/empty:sweep-test-${id}`;

async function exists(kind: 'container' | 'network' | 'volume', name: string): Promise<boolean> {
  return (await docker([kind, 'inspect', name], { allowFailure: true })).exitCode === 0;
}

describe("the sweep of killed runs' leftovers", () => {
  const logger = new Logger(defaultLogFile(cacheDir(), 'test-sweep'));
  const dead = `pullcheck-sweep-dead-${id}`;
  const live = `pullcheck-sweep-live-${id}`;
  let deadPid = 0;

  beforeAll(async () => {
    await execa('sh', ['-c', `tar cf - --files-from /dev/null | docker import - ${EMPTY_IMAGE}`]);
    // A pid that was this host's a moment ago and is gone now.
    const gone = execa('true');
    deadPid = gone.pid ?? 0;
    await gone;
    const deadLabels = ownedLabelArgs(deadPid);
    await docker(['network', 'create', ...deadLabels, dead]);
    await docker(['create', '--name', dead, '--network', 'none', ...deadLabels, EMPTY_IMAGE, '/nothing']);
    // A redirecting registry's storage volume (helpers/registry/kinds.ts).
    await docker(['volume', 'create', ...deadLabels, dead]);
    await docker(['volume', 'create', ...ownedLabelArgs(), live]);
    await docker(['network', 'create', ...ownedLabelArgs(), live]);
    await docker(['create', '--name', live, '--network', 'none', ...ownedLabelArgs(), EMPTY_IMAGE, '/nothing']);
  }, 60_000);

  afterAll(async () => {
    await docker(['rm', '-f', dead, live], { allowFailure: true });
    await docker(['network', 'rm', dead, live], { allowFailure: true });
    await docker(['volume', 'rm', dead, live], { allowFailure: true });
    await docker(['image', 'rm', EMPTY_IMAGE], { allowFailure: true });
  });

  it("removes containers, networks and volumes whose owner process is gone, and keeps a live one's", async () => {
    expect(deadPid).toBeGreaterThan(0);
    const removed = await sweepOrphans(logger);
    expect(removed).toEqual(expect.arrayContaining([dead]));
    expect(removed.filter((n) => n === dead)).toHaveLength(3);
    expect(await exists('container', dead)).toBe(false);
    expect(await exists('network', dead)).toBe(false);
    expect(await exists('container', live)).toBe(true);
    expect(await exists('network', live)).toBe(true);
    expect(await exists('volume', dead)).toBe(false);
    expect(await exists('volume', live)).toBe(true);
  }, 60_000);
});
