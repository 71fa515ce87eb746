// Whether repeated runs agree: each scenario's verdict in every run, and those that changed.
import type { RunResults, ScenarioStatus } from '../report/schema.ts';
import { summaryLine, type Tally, tally } from '../report/verdict.ts';

export type Verdict = ScenarioStatus | 'absent';

export interface RunSummary {
  runId: string;
  seconds: number;
  /** The run's tally, as its own summary line counts it. */
  tally: Tally;
  /** A target that did not run completely (the run's own error line). */
  errors: string[];
}

export interface Comparison {
  runs: RunSummary[];
  /** Scenario (`target: id` when there are several targets) → verdict per run, in run order. */
  verdicts: Record<string, Verdict[]>;
  /** Scenarios whose verdict was not the same in every run. */
  unstable: string[];
  /** Scenarios that failed in every run. */
  alwaysFailed: string[];
}

function keyed(r: RunResults): Map<string, Verdict> {
  const several = r.targets.length > 1;
  const m = new Map<string, Verdict>();
  for (const t of r.targets) for (const s of t.scenarios) m.set(several ? `${t.name}: ${s.id}` : s.id, s.status);
  return m;
}

export function summarizeRun(r: RunResults): RunSummary {
  return {
    runId: r.runId,
    seconds: Math.round((new Date(r.finishedAt).getTime() - new Date(r.startedAt).getTime()) / 1000),
    tally: tally(r),
    errors: r.targets.flatMap((t) => (t.error ? [`${t.name}: ${t.error.split('\n')[0] ?? ''}`] : [])),
  };
}

export function compareRuns(results: readonly RunResults[]): Comparison {
  const maps = results.map(keyed);
  const ids = [...new Set(maps.flatMap((m) => [...m.keys()]))].sort();
  const verdicts: Record<string, Verdict[]> = {};
  for (const id of ids) verdicts[id] = maps.map((m) => m.get(id) ?? 'absent');
  const unstable = ids.filter((id) => new Set(verdicts[id]).size > 1);
  const alwaysFailed = ids.filter((id) => verdicts[id]?.every((v) => v === 'failed'));
  return { runs: results.map(summarizeRun), verdicts, unstable, alwaysFailed };
}

/** Stable means: the same verdict for every scenario in every run, no failure, no broken target. */
export function isStable(c: Comparison): boolean {
  return c.unstable.length === 0 && c.alwaysFailed.length === 0 && c.runs.every((r) => r.errors.length === 0);
}

export function describeComparison(c: Comparison): string[] {
  const lines = c.runs.map(
    (r, i) => `run ${i + 1} ${r.runId}: ${summaryLine(r.tally)} in ${r.seconds}s${r.errors.length ? `; ${r.errors.join('; ')}` : ''}`,
  );
  const n = Object.keys(c.verdicts).length;
  if (c.unstable.length === 0) lines.push(`${n} scenario(s): the same verdict in all ${c.runs.length} runs`);
  else
    lines.push(
      `${c.unstable.length} of ${n} scenario(s) changed verdict between runs:`,
      ...c.unstable.map((id) => `  ${id}: ${(c.verdicts[id] ?? []).join(' → ')}`),
    );
  if (c.alwaysFailed.length) lines.push(`failed in every run: ${c.alwaysFailed.join(', ')}`);
  return lines;
}
