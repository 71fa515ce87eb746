// `npm run bench`'s arithmetic and its reading of a negative scenario's events; never a timing.
import type { CoreV1Event, V1Pod } from '@kubernetes/client-node';
import { formatTable, median, summarize } from '../helpers/bench/stats.ts';
import { verdictDelays } from '../helpers/bench/verdicts.ts';

describe('bench statistics', () => {
  it('takes the median of odd and even counts, and none of nothing', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeUndefined();
  });

  it('is within target only when every sample is', () => {
    const target = { max: 60, text: '≤ 60 s' };
    expect(summarize({ name: 'up', samples: [40, 50, 70], unit: 's', target })).toMatchObject({
      median: 50,
      min: 40,
      max: 70,
      n: 3,
      withinTarget: false,
    });
    expect(summarize({ name: 'up', samples: [40, 59.9], unit: 's', target })).toMatchObject({ median: 50, withinTarget: true });
    expect(summarize({ name: 'up', samples: [], unit: 's', target }).withinTarget).toBeUndefined();
  });

  it('judges a target stated as a median by the median, not by the slowest sample', () => {
    const target = { max: 260, text: '≤ 260 s median', of: 'median' as const };
    expect(summarize({ name: 'whole', samples: [250, 255, 300], unit: 's', target }).withinTarget).toBe(true);
    expect(summarize({ name: 'whole', samples: [250, 265, 270], unit: 's', target }).withinTarget).toBe(false);
  });

  it('prints a row per phase, saying what was not measured', () => {
    const table = formatTable([
      summarize({ name: 'cluster up', samples: [38.24, 41], unit: 's', target: { max: 60, text: '≤ 60 s' } }),
      summarize({ name: 'cold build', samples: [], unit: 's', previous: { median: 1860, measuredAt: '2026-11-20T10:00:00Z' } }),
      summarize({ name: 'ratio', samples: [0.52], unit: 'x' }),
    ]);
    const lines = table.split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[2]).toMatch(/^\| cluster up +\| 39\.6 s +\| 38\.2 s +\| 41\.0 s +\| 2 +\| ≤ 60 s +\| yes +\|/);
    expect(lines[3]).toMatch(/\| cold build +\| 1860\.0 s \(31\.0 min\) \(last, 2026-11-20\) \| — +\| — +\| 0 .*not measured this time/);
    expect(lines[4]).toMatch(/\| ratio +\| 0\.52 /);
  });
});

describe('negative scenario verdict delay', () => {
  const pod = (name: string, scheduled?: string): V1Pod => ({
    metadata: { name, namespace: 'ns' },
    status: { conditions: scheduled ? [{ type: 'PodScheduled', status: 'True', lastTransitionTime: new Date(scheduled) }] : [] },
  });
  const event = (podName: string, reason: string, type: string, at: string, micro = false): CoreV1Event => ({
    metadata: {},
    involvedObject: { kind: 'Pod', name: podName },
    reason,
    type,
    ...(micro ? { eventTime: new Date(at) } : { firstTimestamp: new Date(at) }),
  });

  it('measures from the scheduler event to the first failure event', () => {
    const delays = verdictDelays(
      [pod('bad', '2026-11-27T10:00:00Z'), pod('good', '2026-11-27T10:00:00Z')],
      [
        event('bad', 'Scheduled', 'Normal', '2026-11-27T10:00:00.250Z', true),
        event('bad', 'Pulling', 'Normal', '2026-11-27T10:00:01Z'),
        event('bad', 'Failed', 'Warning', '2026-11-27T10:00:05Z'),
        event('bad', 'Failed', 'Warning', '2026-11-27T10:00:03Z'),
        event('good', 'Pulled', 'Normal', '2026-11-27T10:00:02Z'),
      ],
    );
    expect(delays).toEqual([{ namespace: 'ns', pod: 'bad', reason: 'Failed', seconds: 2.75 }]);
  });

  it('falls back to the PodScheduled condition, and knows ErrImageNeverPull', () => {
    expect(
      verdictDelays([pod('never', '2026-11-27T10:00:00Z')], [event('never', 'ErrImageNeverPull', 'Warning', '2026-11-27T10:00:01Z')]),
    ).toEqual([{ namespace: 'ns', pod: 'never', reason: 'ErrImageNeverPull', seconds: 1 }]);
  });

  it('skips pods never scheduled or without a failure', () => {
    expect(verdictDelays([pod('pending')], [event('pending', 'Failed', 'Warning', '2026-11-27T10:00:01Z')])).toEqual([]);
    expect(verdictDelays([pod('fine', '2026-11-27T10:00:00Z')], [event('fine', 'BackOff', 'Normal', '2026-11-27T10:00:01Z')])).toEqual([]);
  });
});
