import { causeOf, describeCause, sharedCauses } from '../helpers/report/causes.ts';
import type { RunResults, ScenarioRecord } from '../helpers/report/schema.ts';

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
    schema: 'pullcheck.io/results/v1',
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
  it("name the runtime's innermost words", () => {
    expect(causeOf(x509('1a2b3c', 'pc-1a2b3c-smoke-x'))).toBe('x509: certificate signed by unknown authority');
    expect(
      causeOf('pod a/b on w failed to pull x, but not for the expected cause (unauthorized): kubelet says: failed to resolve: not found'),
    ).toBe('failed to resolve: not found');
  });

  it('group failures of many suites on one node into one line, and leave single failures alone', () => {
    const r = results([
      ['smoke', x509('aaaaaa', 'pc-aaaaaa-smoke-one')],
      ['registry', x509('bbbbbb', 'pc-bbbbbb-registry-two')],
      ['pull-policy', x509('cccccc', 'pc-cccccc-pull-three')],
      ['multi-arch', 'pod a/b on pullcheck-worker ran x as y, not the pushed digest sha256:0123456789abcdef'],
    ]);
    const causes = sharedCauses(r.targets);
    expect(causes).toHaveLength(1);
    expect(describeCause(causes[0] as (typeof causes)[number])).toBe(
      '3 failures in 3 suite(s) share one cause on pullcheck-worker2: x509: certificate signed by unknown authority',
    );
  });

  it('name a posture mismatch once, for every failure it explains, however few', () => {
    const r = results([
      ['posture', 'posture: the API server runs AlwaysPullImages'],
      ['pull-policy', 'pull-policy/default-tag-ifnotpresent: the API server admitted x with imagePullPolicy Always, not IfNotPresent'],
    ]);
    for (const s of r.targets[0]?.scenarios ?? [])
      s.explainedBy = "the cluster's API server runs AlwaysPullImages, but the posture declares it off";
    expect(sharedCauses(r.targets).map(describeCause)).toEqual([
      "2 scenario(s) in 2 suite(s) blocked by one cause: posture: the cluster's API server runs AlwaysPullImages, but the posture declares it off",
    ]);
  });
});
