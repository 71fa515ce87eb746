import { compareRuns, describeComparison, isStable } from '../helpers/bench/compare.ts';
import { RESULTS_SCHEMA, type RunResults, type ScenarioRecord } from '../helpers/report/schema.ts';

function run(
  runId: string,
  statuses: Record<string, ScenarioRecord['status']>,
  o: { error?: string; targets?: string[] } = {},
): RunResults {
  const scenarios = Object.entries(statuses).map(([id, status]) => ({
    id,
    suite: id.split('/')[0] ?? id,
    title: id,
    status,
    durationMs: 1000,
    rules: [],
    evidence: [],
  }));
  return {
    schema: RESULTS_SCHEMA,
    runId,
    tool: { name: 'pullcheck', version: '0.0.0' },
    startedAt: '2026-11-27T10:00:00.000Z',
    finishedAt: '2026-11-27T10:10:00.000Z',
    selection: { suites: [] },
    targets: (o.targets ?? ['v1.37.2']).map((name) => ({
      name,
      kubernetesVersion: name,
      nodes: [],
      cluster: { mode: 'kind' as const, name: 'pullcheck' },
      registry: { mode: 'local' as const },
      startedAt: '2026-11-27T10:00:00.000Z',
      finishedAt: '2026-11-27T10:10:00.000Z',
      scenarios,
      ...(o.error ? { error: o.error } : {}),
    })),
  };
}

describe('repeated runs', () => {
  it('are stable when every scenario has the same verdict every time and none failed', () => {
    const c = compareRuns([
      run('a', { 'smoke/x': 'passed', 'smoke/y': 'not-applicable' }),
      run('b', { 'smoke/x': 'passed', 'smoke/y': 'not-applicable' }),
    ]);
    expect(isStable(c)).toBe(true);
    expect(c.runs.map((r) => [r.runId, r.tally.passed, r.tally['not-applicable'], r.seconds])).toEqual([
      ['a', 1, 1, 600],
      ['b', 1, 1, 600],
    ]);
    expect(describeComparison(c).at(-1)).toBe('2 scenario(s): the same verdict in all 2 runs');
  });

  it('name each scenario whose verdict changed, with its verdicts in run order', () => {
    const c = compareRuns([
      run('a', { 'smoke/x': 'passed', 'pull-policy/z': 'passed' }),
      run('b', { 'smoke/x': 'failed', 'pull-policy/z': 'passed' }),
      run('c', { 'pull-policy/z': 'passed' }),
    ]);
    expect(c.unstable).toEqual(['smoke/x']);
    expect(c.verdicts['smoke/x']).toEqual(['passed', 'failed', 'absent']);
    expect(isStable(c)).toBe(false);
    expect(describeComparison(c)).toContain('  smoke/x: passed → failed → absent');
  });

  it('are not stable when a scenario fails every time, or a target broke', () => {
    expect(compareRuns([run('a', { 'smoke/x': 'failed' }), run('b', { 'smoke/x': 'failed' })]).alwaysFailed).toEqual(['smoke/x']);
    expect(isStable(compareRuns([run('a', { 'smoke/x': 'passed' }, { error: 'cluster did not come up' })]))).toBe(false);
  });

  it('tell the targets of a matrix apart', () => {
    const c = compareRuns([run('a', { 'smoke/x': 'passed' }, { targets: ['v1.36.3', 'v1.37.2'] })]);
    expect(Object.keys(c.verdicts)).toEqual(['v1.36.3: smoke/x', 'v1.37.2: smoke/x']);
  });
});
