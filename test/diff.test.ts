import { compareHalves, compareMatrix, compareRuns, describeComparison, hasChanges } from '../helpers/report/diff.ts';
import { renderHtml } from '../helpers/report/html.ts';
import { RESULTS_SCHEMA, type RunResults, type ScenarioRecord, type TargetResult } from '../helpers/report/schema.ts';

function rec(
  id: string,
  status: ScenarioRecord['status'],
  observations?: ScenarioRecord['observations'],
  extra: Partial<ScenarioRecord> = {},
): ScenarioRecord {
  return {
    id,
    suite: id.split('/')[0] ?? id,
    title: id,
    status,
    durationMs: 1,
    rules: [],
    evidence: [],
    ...(observations ? { observations } : {}),
    ...extra,
  };
}

function target(name: string, scenarios: ScenarioRecord[]): TargetResult {
  return {
    name,
    kubernetesVersion: name,
    nodes: [],
    cluster: { mode: 'kind', name: 'pc' },
    registry: { mode: 'local' },
    startedAt: '',
    finishedAt: '',
    scenarios,
  };
}

function run(runId: string, ...targets: TargetResult[]): RunResults {
  return {
    schema: RESULTS_SCHEMA,
    runId,
    tool: { name: 'pullcheck', version: '0' },
    startedAt: '',
    finishedAt: '',
    selection: { suites: [] },
    targets,
  };
}

const before = run(
  'a',
  target('v1.36.3', [
    rec('pull-policy/ifnotpresent-keeps-cached', 'passed', [
      { pod: 'pod-1', observed: ['admitted:IfNotPresent', 'pulled', 'ran', 'digest:pushed'] },
      { pod: 'pod-2', observed: ['admitted:IfNotPresent', 'cached', 'ran', 'digest:pushed'] },
    ]),
    rec('pull-policy/never-absent-fails', 'passed', [{ pod: 'pod-1', observed: ['admitted:Never', 'never-pull'] }]),
    rec('smoke/old', 'passed', []),
  ]),
);

describe('compareRuns', () => {
  it('a run against itself: no change, with the count compared', () => {
    const c = compareRuns(before, before);
    expect(hasChanges(c)).toBe(false);
    // smoke/old ran and recorded nothing: named, though it is no change.
    expect(describeComparison(c)).toEqual([
      'no change (3 scenarios compared)',
      '1 scenarios recorded no observation, only their verdicts compare: smoke/old',
    ]);
  });

  it('names each changed scenario with both observations, verdict changes and scenarios only on one side', () => {
    const after = run(
      'b',
      target('v1.37.2', [
        rec('pull-policy/ifnotpresent-keeps-cached', 'passed', [
          { pod: 'pod-1', observed: ['admitted:Always', 'pulled', 'ran', 'digest:pushed'] },
          { pod: 'pod-2', observed: ['admitted:Always', 'pulled', 'ran', 'digest:pushed'] },
        ]),
        rec('pull-policy/never-absent-fails', 'not-applicable', []),
        rec('smoke/new', 'passed', []),
      ]),
    );
    const c = compareRuns(before, after);
    expect(hasChanges(c)).toBe(true);
    // One target each: compared whatever their names (before/after an upgrade).
    expect(describeComparison(c)).toEqual([
      'pull-policy/ifnotpresent-keeps-cached: pod-1 admitted:IfNotPresent → admitted:Always; pod-2 admitted:IfNotPresent cached → admitted:Always pulled',
      'pull-policy/never-absent-fails: verdict passed → not applicable; pod-1 admitted:Never never-pull → (no such pod)',
      'smoke/new: only in B (passed)',
      'smoke/old: only in A (passed)',
      '4 of 4 scenarios changed',
    ]);
  });

  it('records from before observations compare verdicts only', () => {
    const old = run('o', target('v1', [rec('smoke/x', 'passed')]));
    const now = run('n', target('v1', [rec('smoke/x', 'passed', [{ pod: 'pod-1', observed: ['ran'] }])]));
    expect(describeComparison(compareRuns(old, now))).toEqual(['no change (1 scenarios compared)']);
  });

  it('pairs several targets by name, then by position, and names a target left over', () => {
    const a = run('a', target('v1', [rec('s/x', 'passed', [])]), target('v2', [rec('s/x', 'passed', [])]), target('v3', []));
    const b = run('b', target('v2', [rec('s/x', 'failed', [])]), target('v1', [rec('s/x', 'passed', [])]));
    const c = compareRuns(a, b);
    expect(c.unmatchedTargets).toEqual(['target v3 only in A']);
    expect(c.changes).toEqual([{ target: 'v2', id: 's/x', parts: ['verdict passed → failed'] }]);
  });
});

describe('compareMatrix', () => {
  it('compares each version with the one before it', () => {
    const r = run(
      'm',
      target('v1.36.3', [rec('s/x', 'passed', [{ pod: 'pod-1', observed: ['admitted:IfNotPresent', 'cached', 'ran'] }])]),
      target('v1.37.2', [rec('s/x', 'passed', [{ pod: 'pod-1', observed: ['admitted:IfNotPresent', 'pulled', 'ran'] }])]),
    );
    expect(describeComparison(compareMatrix(r))).toEqual(['s/x: pod-1 cached → pulled', '1 of 1 scenarios changed']);
  });
});

describe('the matrix report', () => {
  it('names every observation that differs between versions, or none with the count compared', () => {
    const differs = renderHtml(
      run(
        'm',
        target('v1.36.3', [rec('s/x', 'passed', [{ pod: 'pod-1', observed: ['admitted:IfNotPresent', 'cached', 'ran'] }])]),
        target('v1.37.2', [rec('s/x', 'passed', [{ pod: 'pod-1', observed: ['admitted:IfNotPresent', 'pulled', 'ran'] }])]),
      ),
    );
    const section = differs.slice(differs.indexOf('id="changed"'), differs.indexOf('id="matrix"'));
    expect(section).toContain('Changed between versions: 1');
    expect(section).toContain('No scenario changed its verdict');
    expect(section).toContain('<td><code>s/x</code></td><td>v1.36.3 → v1.37.2</td><td><code>pod-1 cached → pulled</code></td>');
    const same = renderHtml(run('m', target('v1', [rec('s/x', 'passed', [])]), target('v2', [rec('s/x', 'passed', [])])));
    expect(same).toContain('Observations: none differ (1 scenarios compared).');
  });
});

describe('compareHalves (pullcheck upgrade)', () => {
  const before = target('before', [
    rec('upgrade/pre-pulled', 'passed', [
      { pod: 'never', observed: ['admitted:Never', 'cached', 'ran', 'digest:pushed'] },
      { pod: 'pre-pull', observed: ['admitted:Always', 'pulled', 'ran', 'digest:pushed'] },
    ]),
    rec('upgrade/secret', 'passed', [{ pod: 'with-secret', observed: ['admitted:IfNotPresent', 'pulled', 'ran', 'digest:pushed'] }]),
  ]);

  it('compares the pods both halves ran under one name and every verdict, and counts the rest', () => {
    const after = target('after', [
      rec('upgrade/pre-pulled', 'passed', [{ pod: 'never', observed: ['admitted:Never', 'never-pull'] }]),
      rec('upgrade/secret', 'failed', [{ pod: 'without-secret', observed: ['admitted:IfNotPresent', 'cached', 'ran', 'digest:pushed'] }]),
    ]);
    const c = compareHalves(before, after);
    expect(c.compared).toBe(2);
    expect(c.halfOnly).toBe(3);
    expect(describeComparison(c)).toEqual([
      'upgrade/pre-pulled: never cached ran digest:pushed → never-pull',
      'upgrade/secret: verdict passed → failed',
      '2 of 2 scenarios changed',
    ]);
  });

  it('reads "no change" when the shared pods behave alike', () => {
    const after = target('after', [
      rec('upgrade/pre-pulled', 'passed', [{ pod: 'never', observed: ['admitted:Never', 'cached', 'ran', 'digest:pushed'] }]),
      rec('upgrade/secret', 'passed', [{ pod: 'without-secret', observed: ['admitted:IfNotPresent', 'cached', 'ran', 'digest:pushed'] }]),
    ]);
    expect(describeComparison(compareHalves(before, after))).toEqual(['no change (2 scenarios compared)']);
    expect(renderHtml({ ...run('r', before, after), halves: { ...compareHalves(before, after) } })).toContain(
      'upgrade/* before → after the upgrade',
    );
  });
});

describe('observations that are sequences, and scenarios without one', () => {
  it('a registry answered in another order (same words) is a change', () => {
    const a = rec('registry/private-requires-auth', 'passed', [
      { pod: 'anonymous', observed: ['GET manifest 401', 'GET token 200', 'GET manifest 401'] },
    ]);
    const b = rec('registry/private-requires-auth', 'passed', [{ pod: 'anonymous', observed: ['GET manifest 401', 'GET token 200'] }]);
    const c = rec('registry/private-requires-auth', 'passed', [{ pod: 'anonymous', observed: ['GET token 200', 'GET manifest 401'] }]);
    expect(compareRuns(run('a', target('v', [a])), run('b', target('v', [b]))).changes[0]?.parts).toEqual([
      'anonymous GET manifest 401 GET token 200 GET manifest 401 → GET manifest 401 GET token 200',
    ]);
    expect(compareRuns(run('b', target('v', [b])), run('c', target('v', [c]))).changes[0]?.parts).toEqual([
      'anonymous GET manifest 401 GET token 200 → GET token 200 GET manifest 401',
    ]);
    expect(hasChanges(compareRuns(run('a', target('v', [a])), run('a', target('v', [a]))))).toBe(false);
  });

  it('names the scenarios that ran and recorded nothing, which compare by verdict alone; skips and self-tests are not named', () => {
    const seen = rec('smoke/x', 'passed', [{ pod: 'pod-1', observed: ['ran'] }]);
    const blind = rec('registry/y', 'passed', []);
    const skipped = rec('posture/z', 'not-applicable', []);
    const self = rec('node-lock/w', 'passed', [], { selftest: true });
    const c = compareRuns(run('a', target('v', [seen, blind, skipped, self])), run('b', target('v', [seen, blind, skipped, self])));
    expect(c.unobserved).toEqual(['registry/y']);
    expect(hasChanges(c)).toBe(false);
    expect(describeComparison(c)).toEqual([
      'no change (4 scenarios compared)',
      '1 scenarios recorded no observation, only their verdicts compare: registry/y',
    ]);
  });
});
