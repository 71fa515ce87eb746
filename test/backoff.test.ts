import { backOffDelay, backOffProblems } from '../helpers/kubelet/backoff.ts';
import { type AccessEntry, pullAttempts } from '../helpers/registry/accesslog.ts';

const T0 = Date.parse('2026-12-04T22:00:00Z');
const at = (s: number) => new Date(T0 + s * 1000);
const manifest = (s: number, status: number, method = 'HEAD'): AccessEntry => ({
  time: at(s),
  method,
  uri: '/v2/pullcheck/x-1/manifests/t-1',
  status,
  remoteAddr: '172.18.0.3:4000',
});

describe('pull attempts in the access log', () => {
  it('groups manifest requests close together, keeps only the repository and the window', () => {
    const entries = [
      manifest(-5, 404),
      manifest(0, 404),
      manifest(0.2, 404, 'GET'),
      { ...manifest(1, 200), uri: '/v2/pullcheck/other/manifests/t-1' },
      manifest(11, 404),
      manifest(32, 200),
      { ...manifest(32.1, 200, 'GET'), uri: `/v2/pullcheck/x-1/blobs/sha256:${'1'.repeat(64)}` },
    ];
    expect(pullAttempts(entries, 'pullcheck/x-1', at(-1))).toEqual([
      { at: at(0), statuses: [404, 404] },
      { at: at(11), statuses: [404] },
      { at: at(32), statuses: [200] },
    ]);
  });
});

describe("kubelet's image back-off", () => {
  it('doubles from 10 s up to five minutes', () => {
    expect([0, 1, 2, 3, 4, 5, 6].map(backOffDelay)).toEqual([10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000]);
  });

  it('retries at the doubled waits (a sync later) are as documented; sooner or much later are named', () => {
    const attempt = (s: number) => ({ at: at(s), statuses: [404] });
    expect(backOffProblems([attempt(0), attempt(12), attempt(35)])).toEqual([]);
    expect(backOffProblems([attempt(0), attempt(10), attempt(20)])).toEqual([
      'retry 2 came 10.0 s after attempt 2, sooner than the back-off of 20 s',
    ]);
    expect(backOffProblems([attempt(0), attempt(2)])).toEqual(['retry 1 came 2.0 s after attempt 1, sooner than the back-off of 10 s']);
    expect(backOffProblems([attempt(0), attempt(60)])).toEqual([
      "retry 1 came 60.0 s after attempt 1, over 40 s (a back-off of 10 s and kubelet's syncs)",
    ]);
  });
});
