import { heldByDeadProcess, leaseExpired, lockName } from '../helpers/node/lock.ts';

describe('node locks', () => {
  const now = new Date('2026-11-27T10:00:00Z');
  const at = (s: number) => new Date(now.getTime() - s * 1000);

  it('count as held while renewed within their duration, and as abandoned after it', () => {
    expect(leaseExpired({ spec: { leaseDurationSeconds: 60, acquireTime: at(300), renewTime: at(59) } }, now)).toBe(false);
    expect(leaseExpired({ spec: { leaseDurationSeconds: 60, acquireTime: at(300), renewTime: at(61) } }, now)).toBe(true);
    expect(leaseExpired({ spec: { leaseDurationSeconds: 60, acquireTime: at(30) } }, now)).toBe(false);
    expect(leaseExpired({ spec: {} }, now)).toBe(true);
  });

  it("are released at once when their holder is a process of this host that is gone, never another host's", () => {
    const held = (identity: string) => ({ spec: { holderIdentity: identity } });
    const dead = (pid: number) => pid !== 7;
    const isAlive = (pid: number) => !dead(pid);
    expect(heldByDeadProcess(held('node-credentials/x (ci-1 pid 4242)'), 'ci-1', isAlive)).toBe(true);
    expect(heldByDeadProcess(held('node-credentials/x (ci-1 pid 7)'), 'ci-1', isAlive)).toBe(false);
    expect(heldByDeadProcess(held('node-credentials/x (ci-2 pid 4242)'), 'ci-1', isAlive)).toBe(false);
    expect(heldByDeadProcess(held('someone else'), 'ci-1', isAlive)).toBe(false);
    expect(heldByDeadProcess(held(`mine (ci-1 pid ${process.pid})`), 'ci-1', () => false)).toBe(false);
  });

  it('are named after the node', () => {
    expect(lockName('pullcheck-worker')).toBe('pullcheck-node-lock-pullcheck-worker');
  });
});
