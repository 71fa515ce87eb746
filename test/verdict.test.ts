// One verdict, everywhere: every output a user's tool reads is rendered from one fixture holding each
// status and each kind of finding, and each must count the same failures the exit code rests on.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { certificationDocument, migrateV1, readResults, runResults, writeReport } from '../helpers/report/assemble.ts';
import { compareRuns, hasChanges } from '../helpers/report/diff.ts';
import { actionOutputs, stepSummary } from '../helpers/report/github.ts';
import { renderHtml } from '../helpers/report/html.ts';
import { renderJUnit } from '../helpers/report/junit.ts';
import { mergeResults } from '../helpers/report/merge.ts';
import type { Finding, RunResults, ScenarioRecord, ScenarioStatus, TargetResult } from '../helpers/report/schema.ts';
import { nothingTested, runFails, summaryLine, tally } from '../helpers/report/verdict.ts';
import { certificationGaps, certify } from '../helpers/run/certification.ts';
import { matrixLines } from '../helpers/run/matrix.ts';

const HOST = 'vendor.example:5000';

const serves: Finding = {
  source: 'probe',
  cause: 'serves-anyone',
  nodes: [],
  registry: HOST,
  capability: 'auth-enforced',
  line: `the registry ${HOST} serves its private images to anyone: every node pulled one with no pull Secret`,
  fails: true,
};
const weaker: Finding = {
  source: 'declaration',
  cause: 'weaker-than-upstream:kubelet',
  nodes: [],
  line: 'declared weaker than upstream: imagePullCredentialsVerificationPolicy=NeverVerify',
  fails: false,
};

function rec(id: string, status: ScenarioStatus, o: Partial<ScenarioRecord> = {}): ScenarioRecord {
  return {
    id,
    suite: id.split('/')[0] ?? id,
    title: id,
    status,
    durationMs: 1000,
    rules: [],
    evidence: [],
    registries: [HOST],
    capabilities: ['tls', 'auth-enforced'],
    ...(status === 'passed' ? {} : { reason: `${status}: why` }),
    ...o,
  };
}

function target(
  scenarios: ScenarioRecord[],
  findings: Finding[],
  runtime?: { name: string; runtime: 'containerd' | 'cri-o' },
): TargetResult {
  return {
    name: runtime?.name ?? 'v1.37.2',
    kubernetesVersion: 'v1.37.2',
    nodes: [],
    cluster: { mode: 'existing', name: 'c' },
    ...(runtime ? { runtime: runtime.runtime } : {}),
    registry: { mode: 'vendor', url: `https://${HOST}`, credentials: true },
    startedAt: '2026-12-04T00:00:00.000Z',
    finishedAt: '2026-12-04T00:10:00.000Z',
    scenarios,
    findings,
  };
}

/** A runtime matrix (`--profile default,cri-o`): one scenario passes on containerd and is blocked on CRI-O. */
function fixture(): RunResults {
  const containerd = target(
    [
      rec('smoke/passes', 'passed'),
      rec('smoke/fails', 'failed'),
      rec('registry/could-not-run', 'could-not-run'),
      rec('pull-policy/not-applicable', 'not-applicable'),
    ],
    [weaker],
    { name: 'default', runtime: 'containerd' },
  );
  const crio = target([rec('smoke/passes', 'blocked', { blockedBy: serves })], [serves], { name: 'cri-o', runtime: 'cri-o' });
  return runResults({
    runId: '20261204-000000-abcd',
    startedAt: containerd.startedAt,
    finishedAt: containerd.finishedAt,
    selection: { suites: [] },
    targets: [containerd, crio],
    certification: certify([containerd, crio]),
  });
}

/** The totals junit.xml's root element gives a CI system. */
function junitTotals(xml: string): Record<'tests' | 'failures' | 'errors' | 'skipped', number> {
  const root = /<testsuites [^>]*>/.exec(xml)?.[0] ?? '';
  const n = (k: string) => Number(new RegExp(` ${k}="(\\d+)"`).exec(root)?.[1]);
  return { tests: n('tests'), failures: n('failures'), errors: n('errors'), skipped: n('skipped') };
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('one verdict model', () => {
  const results = fixture();
  const t = tally(results);

  it('counts each status, failing findings apart from notes', () => {
    expect(t).toEqual({
      passed: 1,
      failed: 1,
      blocked: 1,
      'could-not-run': 1,
      'not-applicable': 1,
      scenarios: 5,
      failingFindings: 1,
      notes: 1,
      brokenTargets: 0,
    });
    expect(runFails(t)).toBe(true);
    expect(summaryLine(t)).toBe(
      '1 passed, 1 failed, 1 blocked, 1 could not run, 1 not applicable; 1 finding before the suites fails the run; 1 note on the declaration',
    );
  });

  it('junit.xml counts every failing verdict and finding as a failure or error, and only not-applicable as skipped', () => {
    const xml = renderJUnit(results);
    expect(junitTotals(xml)).toEqual({
      tests: t.scenarios + t.failingFindings,
      failures: t.failed + t.blocked + t.failingFindings,
      errors: t['could-not-run'],
      skipped: t['not-applicable'],
    });
    expect(xml).toContain(`<failure message="blocked by: ${serves.line}" type="blocked">`);
    expect(xml).toMatch(/<testcase classname="pullcheck.findings" name="probe: serves-anyone \(vendor.example:5000\)"[^>]*>\s*<failure/);
    expect(xml).toContain(`<property name="finding" value="${weaker.line}"/>`);
  });

  it('index.html shows the same counts, every finding and says the run fails', () => {
    const html = renderHtml(results);
    for (const words of ['1 passed', '1 failed', '1 blocked', '1 could not run', '1 not applicable']) expect(html).toContain(words);
    expect(html).toContain('The run fails.');
    expect(html).toContain('id="findings"');
    expect(html).toContain(serves.line);
    expect(html).toContain(weaker.line);
    // The runtimes side by side: the scenario whose verdict differs leads, each column named by its runtime.
    expect(html).toContain('Changed between runtimes: 4');
    expect(html).toContain('<th>default (v1.37.2, containerd)</th><th>cri-o (v1.37.2, cri-o)</th>');
  });

  it('the matrix lines a run ends with give each runtime its own counts, which add up to the summary line', () => {
    expect(matrixLines(results)).toEqual([
      'default (v1.37.2, containerd): 1 passed, 1 failed, 1 could not run, 1 not applicable; 1 note on the declaration',
      'cri-o (v1.37.2, cri-o): 0 passed, 0 failed, 1 blocked; 1 finding before the suites fails the run',
      'between runtimes: pull-policy/not-applicable: only in A (not applicable)',
      'between runtimes: registry/could-not-run: only in A (could not run)',
      'between runtimes: smoke/fails: only in A (failed)',
      'between runtimes: smoke/passes: verdict passed → blocked',
      'between runtimes: 4 of 4 scenarios changed',
    ]);
    const xml = renderJUnit(results);
    expect(xml).toContain('<testsuite name="default smoke"');
    expect(xml).toMatch(
      /<testsuite name="cri-o smoke"[^>]*>\s*<properties>\s*<property name="kubernetesVersion" value="v1.37.2"\/>\s*<property name="runtime" value="cri-o"\/>/,
    );
  });

  it("the GitHub step summary and the action's outputs give the same counts and say the run fails", () => {
    const run = { results, runDir: 'reports/run', certifying: false };
    expect(actionOutputs(run)).toMatchObject({
      passed: String(t.passed),
      failed: String(t.failed + t.blocked + t['could-not-run'] + t.failingFindings),
    });
    const summary = stepSummary(run);
    expect(summary).toContain(summaryLine(t));
    expect(summary).toContain('❌ failed');
    expect(summary).toContain('finding `serves-anyone`');
  });

  it('results.json, report --merge and a v1 file read back to the same tally', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pullcheck-verdict-'));
    dirs.push(dir);
    writeReport(join(dir, 'run'), results);
    const back = readResults(join(dir, 'run', 'results.json'));
    expect(tally(back)).toEqual(t);
    expect(readFileSync(join(dir, 'run', 'junit.xml'), 'utf8')).toBe(renderJUnit(results));
    // Two shards of the run, each having named the same findings.
    expect(back.targets.map((x) => x.runtime)).toEqual(['containerd', 'cri-o']);
    const shard = (part: (scenarios: ScenarioRecord[]) => ScenarioRecord[]) => ({
      ...back,
      targets: back.targets.map((x) => ({ ...x, scenarios: part(x.scenarios) })),
    });
    const merged = mergeResults(
      [
        { file: 'a', results: shard((s) => s.slice(0, 2)) },
        { file: 'b', results: shard((s) => s.slice(2)) },
      ],
      { runId: 'm', certify },
    );
    expect(tally(merged)).toEqual(t);
    expect(hasChanges(compareRuns(back, results))).toBe(false);
  });

  it('certification fails the capability the registry finding disproves, as the scenarios do', () => {
    const items = certify(results.targets);
    expect(items.find((c) => c.key === 'auth-enforced')?.status).toBe('failed');
    expect(certificationGaps(items).join('\n')).toMatch(/auth enforced.*failed in .*probe: serves-anyone/);
    expect(certificationDocument(results).certified).toBe(false);
  });

  it('a run in which nothing was tested fails, and one with only passes and notes passes', () => {
    const none = tally({ targets: [target([rec('a/x', 'not-applicable'), rec('a/y', 'not-applicable')], [])] });
    expect(nothingTested(none)).toBe(true);
    expect(runFails(none)).toBe(true);
    const green = tally({ targets: [target([rec('a/x', 'passed'), rec('a/y', 'not-applicable')], [weaker])] });
    expect(runFails(green)).toBe(false);
  });

  it("reads a v1 report's skip kinds as verdicts", () => {
    const v1 = {
      schema: 'pullcheck.io/results/v1',
      runId: 'r',
      targets: [
        {
          name: 't',
          scenarios: [
            { id: 'a/x', status: 'skipped', skip: 'declared' },
            { id: 'a/y', status: 'skipped', skip: 'unavailable' },
            { id: 'a/z', status: 'skipped', skip: 'blocked', explainedBy: 'w2 cannot pull' },
            { id: 'a/w', status: 'failed' },
          ],
        },
      ],
    };
    const r = migrateV1(v1);
    expect(r.targets[0]?.scenarios.map((s) => [s.id, s.status, s.blockedBy?.line])).toEqual([
      ['a/x', 'not-applicable', undefined],
      ['a/y', 'could-not-run', undefined],
      ['a/z', 'blocked', 'w2 cannot pull'],
      ['a/w', 'failed', undefined],
    ]);
  });
});
