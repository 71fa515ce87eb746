import { leaseExpired, lockName } from '../helpers/node/lock.ts';

describe('node locks', () => {
  const now = new Date('2026-11-27T10:00:00Z');
  const at = (s: number) => new Date(now.getTime() - s * 1000);

  it('count as held while renewed within their duration, and as abandoned after it', () => {
    expect(leaseExpired({ spec: { leaseDurationSeconds: 60, acquireTime: at(300), renewTime: at(59) } }, now)).toBe(false);
    expect(leaseExpired({ spec: { leaseDurationSeconds: 60, acquireTime: at(300), renewTime: at(61) } }, now)).toBe(true);
    expect(leaseExpired({ spec: { leaseDurationSeconds: 60, acquireTime: at(30) } }, now)).toBe(false);
    expect(leaseExpired({ spec: {} }, now)).toBe(true);
  });

  it('are named after the node', () => {
    expect(lockName('pullcheck-worker')).toBe('pullcheck-node-lock-pullcheck-worker');
  });
});
