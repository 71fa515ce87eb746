import { describeCause, sharedCauses } from '../helpers/report/causes.ts';
import { type Finding, RESULTS_SCHEMA, type RunResults, type ScenarioRecord } from '../helpers/report/schema.ts';

const x509 = (run: string, ns: string) =>
  `pod ${ns}/pod-1 on pullcheck-worker2 should have run pullcheck-reg-${run}-private:5000/pullcheck/a:${run}-x-1, but its pull failed (ErrImagePull): Failed to pull image "pullcheck-reg-${run}-private:5000/pullcheck/a": failed to resolve reference: failed to do request: Head "https://pullcheck-reg-${run}-private:5000/v2/": tls: failed to verify certificate: x509: certificate signed by unknown authority`;

function results(reasons: [suite: string, reason: string][]): RunResults {
  const scenarios: ScenarioRecord[] = reasons.map(([suite, reason], i) => ({
    id: `${suite}/s${i}`,
    suite,
    title: '',
    status: 'failed',
    durationMs: 1,
    reason,
    rules: [],
    evidence: [],
  }));
  return {
    schema: RESULTS_SCHEMA,
    runId: 'r',
    tool: { name: 'pullcheck', version: '0' },
    startedAt: '',
    finishedAt: '',
    selection: { suites: [] },
    targets: [
      {
        name: 't',
        kubernetesVersion: 'v1.37.2',
        nodes: [],
        cluster: { mode: 'kind', name: 'c' },
        registry: { mode: 'local' },
        startedAt: '',
        finishedAt: '',
        scenarios,
      },
    ],
  };
}

describe('shared causes', () => {
  it('group failures of many suites whose pods failed the same pull on one node, from their observations, and leave single failures alone', () => {
    const r = results([
      ['smoke', x509('aaaaaa', 'pc-aaaaaa-smoke-one')],
      ['registry', x509('bbbbbb', 'pc-bbbbbb-registry-two')],
      ['pull-policy', x509('cccccc', 'pc-cccccc-pull-three')],
      ['multi-arch', 'pod a/b on pullcheck-worker ran x as y, not the pushed digest sha256:0123456789abcdef'],
    ]);
    const [a, b, c, d] = r.targets[0]?.scenarios ?? [];
    for (const s of [a, b, c])
      if (s) s.observations = [{ pod: 'pod-1', observed: ['admitted:IfNotPresent', 'pull-failed:tls'], node: 'pullcheck-worker2' }];
    if (d) d.observations = [{ pod: 'pod-1', observed: ['pulled', 'ran', 'digest:other'], node: 'pullcheck-worker' }];
    const causes = sharedCauses(r.targets);
    expect(causes).toHaveLength(1);
    expect(describeCause(causes[0] as (typeof causes)[number])).toBe(
      '3 failures in 3 suite(s) share one cause on pullcheck-worker2: pull-failed:tls',
    );
  });

  it('does not read causes out of messages: failures without observations share nothing', () => {
    const r = results([
      ['smoke', x509('aaaaaa', 'pc-aaaaaa-smoke-one')],
      ['registry', x509('bbbbbb', 'pc-bbbbbb-registry-two')],
      ['pull-policy', x509('cccccc', 'pc-cccccc-pull-three')],
    ]);
    expect(sharedCauses(r.targets)).toEqual([]);
  });

  it('name a finding once, for every scenario it blocks, however few, and a failing finding even with none', () => {
    const r = results([
      ['posture', 'posture: the API server runs AlwaysPullImages'],
      ['pull-policy', 'blocked: …'],
    ]);
    const mismatch: Finding = {
      source: 'posture',
      cause: 'posture:admission',
      nodes: [],
      line: "the cluster's API server runs AlwaysPullImages, and the posture declares it off",
      fails: true,
    };
    const probe: Finding = {
      source: 'probe',
      cause: 'cannot-pull',
      nodes: ['w2'],
      registry: 'pullcheck',
      line: 'w2 cannot pull',
      fails: true,
    };
    const t = r.targets[0];
    if (!t) throw new Error('no target');
    for (const s of t.scenarios) Object.assign(s, { status: 'blocked', blockedBy: mismatch });
    t.findings = [mismatch, probe];
    expect(sharedCauses(r.targets).map(describeCause)).toEqual([
      "2 scenario(s) in 2 suite(s) blocked by one cause named before the suites: the cluster's API server runs AlwaysPullImages, and the posture declares it off",
      '0 scenario(s) in 0 suite(s) blocked by one cause named before the suites: w2 cannot pull',
    ]);
  });
});
