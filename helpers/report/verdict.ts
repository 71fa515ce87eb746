// One verdict, everywhere: the exit code, the summary line, junit.xml, index.html and the
// certification all count a run with `tally` and judge it with `runFails`, so that no output can
// read greener than another. A blocked scenario and a scenario that could not run are failures; a
// finding that fails (a posture mismatch, a probe finding) is a failure of its own; a run in which
// nothing was tested is not a pass.
import { type Finding, type RunResults, SCENARIO_STATUSES, type ScenarioStatus, summarize, type TargetResult } from './schema.ts';

export interface Tally extends Record<ScenarioStatus, number> {
  /** Every scenario reported, whatever its verdict. */
  scenarios: number;
  /** Findings that fail the run (each one is a failed testcase in junit.xml). */
  failingFindings: number;
  /** Findings that are reported and do not fail the run (a declaration weaker than upstream's default). */
  notes: number;
  /** Targets that did not run completely (a cluster that did not come up, jest crashed). */
  brokenTargets: number;
}

/** The statuses that fail the run. */
export const FAILING: readonly ScenarioStatus[] = ['failed', 'blocked', 'could-not-run'];

/** The words each status is printed with. */
export const STATUS_WORDS: Record<ScenarioStatus, string> = {
  passed: 'passed',
  failed: 'failed',
  blocked: 'blocked',
  'could-not-run': 'could not run',
  'not-applicable': 'not applicable',
};

export function findingsOf(targets: readonly TargetResult[]): Finding[] {
  return targets.flatMap((t) => t.findings ?? []);
}

export function tally(results: Pick<RunResults, 'targets'>): Tally {
  const scenarios = results.targets.flatMap((t) => t.scenarios);
  const findings = findingsOf(results.targets);
  return {
    ...summarize(scenarios),
    scenarios: scenarios.length,
    failingFindings: findings.filter((f) => f.fails).length,
    notes: findings.filter((f) => !f.fails).length,
    brokenTargets: results.targets.filter((t) => t.error !== undefined).length,
  };
}

/** True when no scenario was tested: every one was not applicable, or none was reported at all. */
export function nothingTested(t: Tally): boolean {
  return FAILING.every((s) => t[s] === 0) && t.passed === 0;
}

export function runFails(t: Tally): boolean {
  return FAILING.some((s) => t[s] > 0) || t.failingFindings > 0 || t.brokenTargets > 0 || nothingTested(t);
}

/** `140 passed, 2 failed, 1 blocked, 1 not applicable; 1 finding fails the run`: zero counts other than passed and failed left out. */
export function summaryLine(t: Tally): string {
  const parts = SCENARIO_STATUSES.filter((s) => s === 'passed' || s === 'failed' || t[s] > 0).map((s) => `${t[s]} ${STATUS_WORDS[s]}`);
  const tail = [
    t.failingFindings
      ? `${t.failingFindings} finding${t.failingFindings === 1 ? '' : 's'} before the suites fail${t.failingFindings === 1 ? 's' : ''} the run`
      : '',
    t.notes ? `${t.notes} note${t.notes === 1 ? '' : 's'} on the declaration` : '',
    t.brokenTargets ? `${t.brokenTargets} target${t.brokenTargets === 1 ? '' : 's'} did not run completely` : '',
  ].filter(Boolean);
  return `${parts.join(', ')}${tail.length ? `; ${tail.join('; ')}` : ''}`;
}

/** The one line a run that tested nothing ends with. */
export function nothingTestedLine(t: Tally): string {
  return t.scenarios === 0
    ? 'nothing was tested: no scenario reported a verdict'
    : `nothing was tested: all ${t.scenarios} scenario(s) were not applicable to this cluster and its declared posture`;
}
