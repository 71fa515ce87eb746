// Under GitHub Actions a run writes its step summary and the action's outputs, from the one verdict
// model: the counts the exit code rests on, each failure with its first line, the certificate's verdict.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { runResults } from '../helpers/report/assemble.ts';
import { actionOutputs, publishToGitHub, stepSummary } from '../helpers/report/github.ts';
import type { ScenarioRecord, ScenarioStatus, TargetResult } from '../helpers/report/schema.ts';
import { runFails, tally } from '../helpers/report/verdict.ts';
import { certify } from '../helpers/run/certification.ts';

const HOST = 'vendor.example:5000';

function rec(id: string, status: ScenarioStatus, reason?: string): ScenarioRecord {
  return {
    id,
    suite: id.split('/')[0] ?? id,
    title: id,
    status,
    durationMs: 1000,
    rules: [],
    evidence: [],
    registries: [HOST],
    capabilities: ['tls'],
    ...(reason ? { reason } : {}),
  };
}

function target(scenarios: ScenarioRecord[]): TargetResult {
  return {
    name: 'v1.37.2',
    kubernetesVersion: 'v1.37.2',
    nodes: [],
    cluster: { mode: 'kind', name: 'pc' },
    registry: { mode: 'vendor', url: `https://${HOST}`, credentials: true },
    startedAt: '2026-01-01T00:00:00Z',
    finishedAt: '2026-01-01T00:01:00Z',
    scenarios,
    findings: [
      {
        source: 'probe',
        cause: 'cannot-pull',
        nodes: ['n1'],
        registry: HOST,
        line: 'node n1 cannot pull | from the registry',
        fails: true,
      },
    ],
  };
}

const targets = [
  target([
    rec('smoke/pulls', 'passed'),
    rec('smoke/digest', 'passed'),
    rec('pull-policy/never', 'failed', '\nexpected ErrImageNeverPull, saw Running\n  at line 2'),
    rec('auth/secret', 'blocked', 'blocked by cannot-pull'),
    rec('auth/other', 'not-applicable', 'no second worker'),
  ]),
];
const results = runResults({
  runId: 'run-1',
  startedAt: 'a',
  finishedAt: 'b',
  selection: { suites: [] },
  targets,
  certification: certify(targets),
});

describe('GitHub Actions step summary and outputs', () => {
  it('the outputs count what the exit code counts', () => {
    const t = tally(results);
    expect(runFails(t)).toBe(true);
    expect(actionOutputs({ results, runDir: '/r/run-1', certifying: true })).toEqual({
      passed: '2',
      failed: '3',
      certified: 'false',
      'report-dir': '/r/run-1',
    });
    // A selection does not certify: certified stays empty.
    expect(actionOutputs({ results, runDir: '/r/run-1', certifying: false }).certified).toBe('');
  });

  it('the summary names each failure with its first line, the findings, and the certificate', () => {
    const md = stepSummary({ results, runDir: '/r/run-1', certifying: true });
    expect(md).toContain('### pullcheck run-1: ❌ failed');
    expect(md).toContain('2 passed, 1 failed, 1 blocked, 1 not applicable; 1 finding before the suites fails the run');
    expect(md).toContain('| v1.37.2 | `pull-policy/never` | failed | expected ErrImageNeverPull, saw Running |');
    expect(md).toContain('| v1.37.2 | `auth/secret` | blocked | blocked by cannot-pull |');
    expect(md).toContain('| | finding `cannot-pull` | fails the run | node n1 cannot pull \\| from the registry |');
    expect(md).not.toContain('auth/other');
    expect(md).toMatch(/\*\*Certification:\*\* not certified/);
    expect(md).toContain('`/r/run-1/index.html`');
  });

  it('writes only under GitHub Actions', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pullcheck-gh-'));
    try {
      const env = { GITHUB_STEP_SUMMARY: join(dir, 'summary.md'), GITHUB_OUTPUT: join(dir, 'output') };
      writeFileSync(env.GITHUB_OUTPUT, 'exit-code=1\n');
      publishToGitHub({ results, runDir: '/r/run-1', certifying: false }, env);
      expect(readFileSync(env.GITHUB_OUTPUT, 'utf8')).toBe('exit-code=1\n');
      publishToGitHub({ results, runDir: '/r/run-1', certifying: false }, { ...env, GITHUB_ACTIONS: 'true' });
      expect(readFileSync(env.GITHUB_OUTPUT, 'utf8')).toBe('exit-code=1\npassed=2\nfailed=3\ncertified=\nreport-dir=/r/run-1\n');
      expect(readFileSync(env.GITHUB_STEP_SUMMARY, 'utf8')).toContain('(a selection: the exit code does not rest on it)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
