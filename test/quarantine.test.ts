import type { Kube } from '../helpers/cluster/kube.ts';
import { QUARANTINE_TAINT } from '../helpers/cluster/shape.ts';
import { type Cleanup, cleanupFailureMessage, runCleanups } from '../helpers/framework/cleanup.ts';
import { quarantineLine, withoutQuarantine, withQuarantine } from '../helpers/node/quarantine.ts';

describe('node quarantine', () => {
  const cp = { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' };

  it("adds this run's taint once, and removes only this run's", () => {
    const mine = { key: QUARANTINE_TAINT, value: 'run-1', effect: 'NoSchedule' };
    const other = { key: QUARANTINE_TAINT, value: 'run-0', effect: 'NoSchedule' };
    expect(withQuarantine(undefined, 'run-1')).toEqual([mine]);
    expect(withQuarantine([cp], 'run-1')).toEqual([cp, mine]);
    expect(withQuarantine([cp, mine], 'run-1')).toBeUndefined();
    expect(withoutQuarantine([cp, other, mine], 'run-1')).toEqual([cp, other]);
    expect(withoutQuarantine([cp, other], 'run-1')).toBeUndefined();
    expect(withoutQuarantine(undefined, 'run-1')).toBeUndefined();
  });

  it('is named by the run in one line, or not at all', () => {
    expect(quarantineLine([])).toBeUndefined();
    expect(quarantineLine([{ node: 'w1', why: 'a/b: exit 1' }])).toBe(
      'quarantined for the rest of the run after a cleanup failed, and may still be changed (check them before the next run): w1 (a/b: exit 1)',
    );
  });
});

describe('scenario cleanups', () => {
  // Cleanups naming no node never reach the cluster: no client is needed.
  const noCluster = {} as Pick<Kube, 'core'>;
  const warned: string[] = [];
  const logger = { warn: (m: string) => warned.push(m) };

  it('run last first, every one even after one throws, and report those that threw', async () => {
    const ran: string[] = [];
    const pending: Cleanup[] = [
      { fn: () => ran.push('namespace') },
      {
        fn: () => {
          ran.push('lock');
          throw new Error('lease gone\nsecond line');
        },
      },
      { fn: async () => ran.push('file') },
    ];
    const failures = await runCleanups(pending, { id: 'g/s', kube: noCluster, runId: 'r', logger });
    expect(ran).toEqual(['file', 'lock', 'namespace']);
    expect(pending).toEqual([]);
    expect(failures).toEqual([{ message: 'lease gone' }]);
    expect(warned).toEqual(['[g/s] cleanup: lease gone']);
    // A second call has nothing left to run.
    expect(await runCleanups(pending, { id: 'g/s', kube: noCluster, runId: 'r', logger })).toEqual([]);
  });

  it('fail a scenario that had passed with "cleanup: …", naming the nodes quarantined', () => {
    expect(cleanupFailureMessage([{ node: 'w2', message: 'restarting kubelet: timed out' }, { message: 'namespace: 500' }])).toBe(
      'cleanup: [w2] restarting kubelet: timed out; namespace: 500 (w2 quarantined for the rest of the run)',
    );
    expect(cleanupFailureMessage([{ message: 'x' }])).toBe('cleanup: x');
  });
});
