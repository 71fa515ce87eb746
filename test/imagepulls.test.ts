import {
  describeImagePulls,
  describeIntervals,
  imagePullMismatch,
  imagePullSettingsError,
  imagePullSettingsFromConfigz,
  maxOverlap,
  type PullInterval,
  parallelPullsPatch,
  pullConcurrencyLimit,
  pullIntervals,
  resolveImagePulls,
} from '../helpers/kubelet/imagepulls.ts';
import { type AccessEntry, parseAccessLog } from '../helpers/registry/accesslog.ts';

const iv = (image: string, start: number, end: number): PullInterval => ({ image, start, end });

describe('maxOverlap', () => {
  it('is 0 without pulls and 1 for one', () => {
    expect(maxOverlap([])).toEqual({ max: 0, images: [] });
    expect(maxOverlap([iv('a', 0, 10)])).toEqual({ max: 1, images: ['a'], at: 0 });
  });

  it('is 1 for pulls one after another, also when one ends as the next starts', () => {
    expect(maxOverlap([iv('a', 0, 2500), iv('b', 2500, 5000), iv('c', 5100, 7600)]).max).toBe(1);
    // In any order.
    expect(maxOverlap([iv('c', 5100, 7600), iv('a', 0, 2500), iv('b', 2500, 5000)]).max).toBe(1);
  });

  it('counts the most running at one moment, and names them', () => {
    // Limit 2: c starts once a is done.
    expect(maxOverlap([iv('a', 0, 2600), iv('b', 100, 2700), iv('c', 2650, 5200)])).toEqual({ max: 2, images: ['a', 'b'], at: 100 });
    // No limit: all three at once.
    expect(maxOverlap([iv('a', 0, 2600), iv('b', 100, 2700), iv('c', 200, 2800)])).toEqual({
      max: 3,
      images: ['a', 'b', 'c'],
      at: 200,
    });
  });

  it('does not count pulls that each overlap a third but not each other', () => {
    expect(maxOverlap([iv('long', 0, 10_000), iv('x', 1000, 2000), iv('y', 3000, 4000)]).max).toBe(2);
  });
});

describe('pullIntervals', () => {
  const line = (uri: string, start: string, end: string, status = 200) =>
    JSON.stringify({
      time: end,
      'http.request.start': start,
      msg: 'response completed',
      'http.request.method': 'GET',
      'http.request.uri': uri,
      'http.request.remoteaddr': '172.18.0.3:40000',
      'http.response.status': status,
    });
  const log = [
    'blob host listening on :8443, serving /var/lib/registry, answering GETs after 2.5s',
    line('/a-config', '2026-12-05T01:00:00.000Z', '2026-12-05T01:00:02.500Z'),
    line('/a-layer', '2026-12-05T01:00:00.010Z', '2026-12-05T01:00:02.520Z'),
    line('/b-config', '2026-12-05T01:00:02.600Z', '2026-12-05T01:00:05.100Z'),
    line('/b-layer', '2026-12-05T01:00:05.110Z', '2026-12-05T01:00:07.650Z'),
    line('/old', '2026-12-05T00:59:00.000Z', '2026-12-05T00:59:02.500Z'),
    line('/c-layer', '2026-12-05T01:00:00.000Z', '2026-12-05T01:00:00.001Z', 404),
  ].join('\n');
  const entries = parseAccessLog(log);

  it('reads each request start the blob host logs beside its end', () => {
    expect(entries[0]?.start?.toISOString()).toBe('2026-12-05T01:00:00.000Z');
    expect(entries[0]?.time.toISOString()).toBe('2026-12-05T01:00:02.500Z');
  });

  it("spans each image's own blobs from the first request to the last answer", () => {
    const { intervals, missing } = pullIntervals(
      entries,
      [
        { image: 'a', paths: ['/a-config', '/a-layer'] },
        { image: 'b', paths: ['/b-config', '/b-layer'] },
      ],
      new Date('2026-12-05T00:59:59Z'),
    );
    expect(missing).toEqual([]);
    expect(intervals).toEqual([
      iv('a', Date.parse('2026-12-05T01:00:00.000Z'), Date.parse('2026-12-05T01:00:02.520Z')),
      iv('b', Date.parse('2026-12-05T01:00:02.600Z'), Date.parse('2026-12-05T01:00:07.650Z')),
    ]);
    expect(maxOverlap(intervals).max).toBe(1);
    expect(describeIntervals(intervals)).toBe('a 0.0–2.5s, b 2.6–7.7s');
  });

  it('names an image none of whose blobs was served since `since` (refused, or before)', () => {
    const { missing } = pullIntervals(
      entries,
      [
        { image: 'old', paths: ['/old'] },
        { image: 'c', paths: ['/c-layer'] },
      ],
      new Date('2026-12-05T00:59:59Z'),
    );
    expect(missing).toEqual(['old', 'c']);
  });

  it("names an image whose requests carry no start (a registry's own log)", () => {
    const noStart: AccessEntry[] = [{ time: new Date(), method: 'GET', uri: '/x', status: 200, remoteAddr: '' }];
    expect(pullIntervals(noStart, [{ image: 'x', paths: ['/x'] }], new Date(0)).missing).toEqual(['x']);
  });
});

describe('kubelet image pull settings', () => {
  it('limit pulls to 1 when serial, to maxParallelImagePulls when parallel, else not at all', () => {
    expect(pullConcurrencyLimit({ serializeImagePulls: true })).toBe(1);
    expect(pullConcurrencyLimit({ serializeImagePulls: true, maxParallelImagePulls: 1 })).toBe(1);
    expect(pullConcurrencyLimit({ serializeImagePulls: false, maxParallelImagePulls: 2 })).toBe(2);
    expect(pullConcurrencyLimit({ serializeImagePulls: false })).toBeUndefined();
  });

  it("are refused where kubelet's validation refuses them", () => {
    expect(imagePullSettingsError({ maxParallelImagePulls: 0 })).toMatch(/positive integer/);
    expect(imagePullSettingsError({ serializeImagePulls: true, maxParallelImagePulls: 3 })).toMatch(/only with serializeImagePulls: false/);
    expect(imagePullSettingsError({ serializeImagePulls: true, maxParallelImagePulls: 1 })).toBeUndefined();
    expect(imagePullSettingsError({ maxParallelImagePulls: 3 })).toBeUndefined();
  });

  it('resolve as kubelet defaults them: a limit of 2 or more alone means parallel; serial drops an inherited limit', () => {
    const serial = { serializeImagePulls: true };
    expect(resolveImagePulls(serial, undefined)).toEqual(serial);
    expect(resolveImagePulls(serial, { maxParallelImagePulls: 4 })).toEqual({ serializeImagePulls: false, maxParallelImagePulls: 4 });
    expect(resolveImagePulls(serial, { maxParallelImagePulls: 1 })).toEqual(serial);
    expect(resolveImagePulls(serial, { serializeImagePulls: false })).toEqual({ serializeImagePulls: false });
    const parallel = { serializeImagePulls: false, maxParallelImagePulls: 3 };
    expect(resolveImagePulls(parallel, {})).toEqual(parallel);
    expect(resolveImagePulls(parallel, { serializeImagePulls: true })).toEqual(serial);
  });

  it('are read from configz, which leaves out an unset limit', () => {
    expect(imagePullSettingsFromConfigz({ serializeImagePulls: true })).toEqual({ serializeImagePulls: true });
    expect(imagePullSettingsFromConfigz({ serializeImagePulls: false, maxParallelImagePulls: 2 })).toEqual({
      serializeImagePulls: false,
      maxParallelImagePulls: 2,
    });
  });

  it('differ from the declared ones by what kubelet does, in one line', () => {
    expect(imagePullMismatch({ serializeImagePulls: true, maxParallelImagePulls: 1 }, { serializeImagePulls: true })).toBeUndefined();
    expect(imagePullMismatch({ serializeImagePulls: false }, { serializeImagePulls: true })).toBe(
      'serializeImagePulls=false maxParallelImagePulls=unset (no limit), declared serializeImagePulls=true',
    );
    expect(
      imagePullMismatch({ serializeImagePulls: false, maxParallelImagePulls: 5 }, { serializeImagePulls: false, maxParallelImagePulls: 2 }),
    ).toBe('serializeImagePulls=false maxParallelImagePulls=5, declared serializeImagePulls=false maxParallelImagePulls=2');
    expect(describeImagePulls({ serializeImagePulls: true })).toBe('serializeImagePulls=true');
  });

  it('are changed to parallel pulls by one kubelet configuration patch', () => {
    expect(parallelPullsPatch(2)).toEqual({ fields: { serializeImagePulls: false, maxParallelImagePulls: 2 } });
  });
});
