// Progress a person can follow: the `[37/144]` line, the estimate of what is left, and the same
// count posted to a Sonobuoy worker's progress endpoint (a listener here stands in for the worker).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { pluginDefinition } from '../helpers/build/runnerimage/plugin.ts';
import { estimateLeftMs, formatDuration, progressLine, ScenarioProgress } from '../helpers/report/progress.ts';
import type { ScenarioRecord, ScenarioStatus } from '../helpers/report/schema.ts';

function record(dir: string, id: string, status: ScenarioStatus, durationMs = 12_000): void {
  const r: ScenarioRecord = { id, suite: id.split('/')[0] ?? id, title: id, status, durationMs, rules: [], evidence: [] };
  mkdirSync(join(dir, 'scenarios'), { recursive: true });
  writeFileSync(join(dir, 'scenarios', `${id.replace(/\//g, '__')}.json`), JSON.stringify(r));
}

describe('progress during the suites', () => {
  it('formats durations and estimates what is left from the pace of the phase', () => {
    expect(formatDuration(4_400)).toBe('4s');
    expect(formatDuration(150_000)).toBe('3 min');
    expect(formatDuration(3_900_000)).toBe('1 h 05 min');
    expect(estimateLeftMs(0, 0, 5)).toBeUndefined();
    expect(estimateLeftMs(3, 20_000, 5)).toBeUndefined();
    expect(estimateLeftMs(4, 60_000, 0)).toBeUndefined();
    // Three intervals of 20 s since the first finished: 20 s a scenario.
    expect(estimateLeftMs(4, 60_000, 10)).toBe(200_000);
    expect(
      progressLine({ done: 7, total: 144, record: { id: 'smoke/a', status: 'could-not-run', durationMs: 2_000 }, leftMs: 150_000 }),
    ).toBe('[  7/144] smoke/a could not run (2s) — about 3 min left');
  });

  it('counts on from the records an earlier phase left, and posts each step to the Sonobuoy worker', async () => {
    const bodies: { url: string; method: string; body: Record<string, unknown> }[] = [];
    const worker = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        bodies.push({ url: req.url ?? '', method: req.method ?? '', body: JSON.parse(body) as Record<string, unknown> });
        res.end();
      });
    });
    await new Promise<void>((resolve) => worker.listen(0, resolve));
    const port = String((worker.address() as AddressInfo).port);
    const dir = mkdtempSync(join(tmpdir(), 'pullcheck-progress-'));
    try {
      record(dir, 'smoke/a', 'passed');
      const lines: string[] = [];
      let now = 1_000_000;
      const progress = new ScenarioProgress({ targetDir: dir, total: 7, write: (l) => lines.push(l), sonobuoyPort: port, now: () => now });
      progress.update();
      expect(lines).toEqual([]);
      // The phase's start (jest, registries) takes a minute; then one scenario every 30 s.
      now += 60_000;
      record(dir, 'auth/b', 'failed', 30_000);
      progress.update();
      progress.update();
      for (const id of ['auth/c', 'auth/d', 'auth/e']) {
        now += 30_000;
        record(dir, id, 'passed', 1_000);
        progress.update();
      }
      await progress.settled();
      expect(lines).toEqual([
        '[2/7] auth/b failed (30s)',
        '[3/7] auth/c passed (1s)',
        '[4/7] auth/d passed (1s)',
        '[5/7] auth/e passed (1s) — about 1 min left',
      ]);
      expect(bodies).toEqual([
        { url: '/progress', method: 'POST', body: { msg: lines[0], total: 7, completed: 2, failures: ['auth/b'] } },
        { url: '/progress', method: 'POST', body: { msg: lines[1], total: 7, completed: 3, failures: ['auth/b'] } },
        { url: '/progress', method: 'POST', body: { msg: lines[2], total: 7, completed: 4, failures: ['auth/b'] } },
        { url: '/progress', method: 'POST', body: { msg: lines[3], total: 7, completed: 5, failures: ['auth/b'] } },
      ]);
    } finally {
      worker.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a worker that is gone does not fail the run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pullcheck-progress-'));
    try {
      const lines: string[] = [];
      const progress = new ScenarioProgress({ targetDir: dir, total: 1, write: (l) => lines.push(l), sonobuoyPort: '1' });
      record(dir, 'smoke/a', 'passed');
      progress.update();
      await progress.settled();
      expect(lines).toHaveLength(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the Sonobuoy plugin definition', () => {
  it('names the runner image by its content tag and keeps the rest as written', () => {
    const filled = pluginDefinition('pullcheck/runner:0123456789abcdef');
    expect(filled).toMatch(/^ {2}image: pullcheck\/runner:0123456789abcdef$/m);
    expect(filled).not.toMatch(/CONTENT-TAG/);
    expect(filled).toMatch(/^# pullcheck as a Sonobuoy plugin/);
    expect(() => pluginDefinition('x', 'spec:\n  name: plugin\n')).toThrow(/no spec.image/);
  });
});
