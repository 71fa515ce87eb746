// `report --merge` and `--shard`: shards of one run joined as one report; overlaps refused.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runResults, writeReport } from '../helpers/report/assemble.ts';
import { mergeReports, mergeResults } from '../helpers/report/merge.ts';
import type { RunResults, ScenarioRecord, TargetResult } from '../helpers/report/schema.ts';
import { UsageError } from '../helpers/run/options.ts';
import { parseShard, shardOf } from '../helpers/run/shard.ts';

function rec(id: string, status: ScenarioRecord['status']): ScenarioRecord {
  return { id, suite: id.split('/')[0] ?? id, title: id, status, durationMs: 1000, rules: [], evidence: [] };
}

function target(name: string, scenarios: ScenarioRecord[], startedAt: string): TargetResult {
  return {
    name,
    kubernetesVersion: name,
    nodes: [],
    cluster: { mode: 'kind', name: 'pullcheck' },
    registry: { mode: 'local' },
    startedAt,
    finishedAt: startedAt.replace('00:00', '00:30'),
    scenarios,
  };
}

function shardRun(shard: string, targets: TargetResult[], at: string): RunResults {
  return runResults({
    runId: `r-${shard}`,
    startedAt: at,
    finishedAt: at.replace('00:00', '00:40'),
    selection: { suites: ['smoke'], shard },
    targets,
  });
}

const noCertify = () => undefined;

describe('shards', () => {
  it('reads I/N and refuses anything else with the fix', () => {
    expect(parseShard('2/3')).toEqual({ index: 2, count: 3 });
    for (const bad of ['0/3', '4/3', '3', 'a/b', '1/0'])
      expect(() => parseShard(bad)).toThrow(
        new UsageError(`--shard "${bad}" is not a shard: write I/N with 1 <= I <= N, e.g. --shard 2/3`),
      );
  });

  it('puts an ID in the same shard every time', () => {
    expect(shardOf('smoke/public-image-runs', 4)).toBe(shardOf('smoke/public-image-runs', 4));
    expect(shardOf('smoke/public-image-runs', 1)).toBe(1);
  });
});

describe('report --merge', () => {
  const a = shardRun('1/2', [target('v1.37.2', [rec('smoke/a', 'passed')], '2026-11-29T01:00:00Z')], '2026-11-29T01:00:00Z');
  const b = shardRun('2/2', [target('v1.37.2', [rec('smoke/b', 'failed')], '2026-11-29T00:00:00Z')], '2026-11-29T00:00:00Z');

  it('joins the shards of one target into one, with both shards named and the earliest start', () => {
    const m = mergeResults(
      [
        { file: 'a.json', results: a },
        { file: 'b.json', results: b },
      ],
      { runId: 'merged', certify: noCertify },
    );
    expect(m.targets).toHaveLength(1);
    expect(m.targets[0]?.scenarios.map((s) => s.id)).toEqual(['smoke/a', 'smoke/b']);
    expect(m.targets[0]?.startedAt).toBe('2026-11-29T00:00:00Z');
    expect(m.selection.shards).toEqual(['1/2', '2/2']);
    expect(m.startedAt).toBe('2026-11-29T00:00:00Z');
  });

  it('refuses a scenario that two inputs both ran, naming it and both files', () => {
    expect(() =>
      mergeResults(
        [
          { file: 'a.json', results: a },
          { file: 'again.json', results: a },
        ],
        { runId: 'x', certify: noCertify },
      ),
    ).toThrow('smoke/a (v1.37.2) is in both a.json and again.json: merge the shards of one run, each once');
  });

  it('writes the merged run directory with results.json, and refuses a file that is not a results.json', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pullcheck-merge-'));
    try {
      writeReport(join(dir, 'r-a'), a);
      writeReport(join(dir, 'r-b'), b);
      const out = mergeReports([join(dir, 'r-a/results.json'), join(dir, 'r-b/results.json')], join(dir, 'merged'), noCertify);
      const merged = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as RunResults;
      expect(merged.targets[0]?.scenarios).toHaveLength(2);
      expect(readFileSync(join(out, 'junit.xml'), 'utf8')).toContain('smoke/b');
      expect(() => mergeReports([join(dir, 'r-a/results.json'), join(dir, 'nope.json')], dir, noCertify)).toThrow(UsageError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
