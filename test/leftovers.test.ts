import { hostLabel, LABEL_OWNER_HOST, orphaned } from '../helpers/cluster/leftovers.ts';
import { LABEL_OWNER_PID } from '../helpers/infra/sweep.ts';

describe('cluster leftovers of killed runs', () => {
  const labels = (host: string, pid: string) => ({ 'pullcheck.io/managed': 'true', [LABEL_OWNER_HOST]: host, [LABEL_OWNER_PID]: pid });
  const deadPids = new Set([4242]);
  const isAlive = (pid: number) => !deadPids.has(pid);

  it('are objects of this host whose process is gone', () => {
    expect(orphaned(labels('ci-1', '4242'), 'ci-1', isAlive)).toBe(true);
    expect(orphaned(labels('ci-1', '4343'), 'ci-1', isAlive)).toBe(false);
  });

  it('never include objects of another host, or without owner labels', () => {
    expect(orphaned(labels('ci-2', '4242'), 'ci-1', isAlive)).toBe(false);
    expect(orphaned({ 'pullcheck.io/managed': 'true' }, 'ci-1', isAlive)).toBe(false);
    expect(orphaned(undefined, 'ci-1', isAlive)).toBe(false);
    expect(orphaned(labels('ci-1', 'x'), 'ci-1', isAlive)).toBe(false);
  });

  it('name the host with a valid label value', () => {
    expect(hostLabel('runner_7.example.com')).toBe('runner_7.example.com');
    expect(hostLabel('-weird host!-')).toBe('weird-host');
    expect(hostLabel('a'.repeat(80))).toHaveLength(63);
    expect(hostLabel('***')).toBe('unknown');
  });
});
