// What behaves differently between two runs (before and after an upgrade) or two targets of one run
// (a version matrix): per scenario ID, the verdict and each pod's observations. Version-aware
// expectations make every verdict read "passed"; observations still show what changed.
import type { PodObservation, RunResults, ScenarioChange, ScenarioRecord, TargetResult } from './schema.ts';
import { STATUS_WORDS } from './verdict.ts';

export type { ScenarioChange };

export interface Comparison {
  /** Scenarios present on both sides (per target pair). */
  compared: number;
  changes: ScenarioChange[];
  /** Targets of one side no target of the other matched. */
  unmatchedTargets: string[];
  /** Scenarios that ran on either side and recorded no observation: only their verdicts compare. */
  unobserved?: string[];
}

/**
 * The conformance scenarios of a target that ran (passed or failed) and recorded no observation: a
 * diff compares their verdicts alone. A record from before observations (no field) is not one.
 */
export function unobservedScenarios(t: TargetResult): string[] {
  return t.scenarios
    .filter(
      (s) =>
        (s.status === 'passed' || s.status === 'failed' || s.status === 'blocked') &&
        !s.selftest &&
        s.observations !== undefined &&
        !s.observations.some((o) => o.observed.length > 0),
    )
    .map((s) => s.id);
}

function podMap(observations: readonly PodObservation[]): Map<string, string[]> {
  return new Map(observations.map((o) => [o.pod, o.observed]));
}

/** `pod-2 cached → pulled`: what one side observed and the other did not, in each direction. */
function podChange(pod: string, a: readonly string[] | undefined, b: readonly string[] | undefined): string | undefined {
  if (!a || !b) return `${pod} ${a ? a.join(' ') || '(nothing)' : '(no such pod)'} → ${b ? b.join(' ') || '(nothing)' : '(no such pod)'}`;
  const gone = a.filter((o) => !b.includes(o));
  const came = b.filter((o) => !a.includes(o));
  // A sequence (a registry's answers) can change by order or repeats alone.
  if (!gone.length && !came.length) return a.join('\n') === b.join('\n') ? undefined : `${pod} ${a.join(' ')} → ${b.join(' ')}`;
  return `${pod} ${gone.join(' ') || '(nothing)'} → ${came.join(' ') || '(nothing)'}`;
}

function verdictOf(s: ScenarioRecord): string {
  return STATUS_WORDS[s.status] ?? s.status;
}

/** The differences of one scenario, or none. Records from before observations compare verdicts only. */
export function scenarioChange(a: ScenarioRecord, b: ScenarioRecord): string[] {
  const parts: string[] = [];
  if (verdictOf(a) !== verdictOf(b)) parts.push(`verdict ${verdictOf(a)} → ${verdictOf(b)}`);
  if (a.observations && b.observations) {
    const pa = podMap(a.observations);
    const pb = podMap(b.observations);
    for (const pod of [...new Set([...pa.keys(), ...pb.keys()])].sort((x, y) => x.localeCompare(y, 'en', { numeric: true }))) {
      const change = podChange(pod, pa.get(pod), pb.get(pod));
      if (change) parts.push(change);
    }
  }
  return parts;
}

/** Two targets, scenario by scenario; `label` names the pair in each change. */
export function compareTargets(a: TargetResult, b: TargetResult, label = a.name === b.name ? a.name : `${a.name} → ${b.name}`): Comparison {
  const inB = new Map(b.scenarios.map((s) => [s.id, s]));
  const inA = new Map(a.scenarios.map((s) => [s.id, s]));
  const changes: ScenarioChange[] = [];
  let compared = 0;
  for (const id of [...new Set([...inA.keys(), ...inB.keys()])].sort()) {
    const sa = inA.get(id);
    const sb = inB.get(id);
    if (sa && sb) {
      compared += 1;
      const parts = scenarioChange(sa, sb);
      if (parts.length) changes.push({ target: label, id, parts });
    } else if (sa) changes.push({ target: label, id, parts: [`only in A (${verdictOf(sa)})`] });
    else if (sb) changes.push({ target: label, id, parts: [`only in B (${verdictOf(sb)})`] });
  }
  const unobserved = [...new Set([...unobservedScenarios(a), ...unobservedScenarios(b)])].filter((id) => inA.has(id) && inB.has(id)).sort();
  return { compared, changes, unmatchedTargets: [], ...(unobserved.length ? { unobserved } : {}) };
}

/**
 * Two runs: one target each is compared whatever their names (before/after an upgrade); otherwise
 * targets pair by name, and those left over by position.
 */
export function compareRuns(a: RunResults, b: RunResults): Comparison {
  const pairs: [TargetResult, TargetResult][] = [];
  const restA = [...a.targets];
  const restB = [...b.targets];
  if (restA.length === 1 && restB.length === 1) pairs.push([restA.pop() as TargetResult, restB.pop() as TargetResult]);
  for (const t of [...restA]) {
    const match = restB.find((u) => u.name === t.name);
    if (!match) continue;
    pairs.push([t, match]);
    restA.splice(restA.indexOf(t), 1);
    restB.splice(restB.indexOf(match), 1);
  }
  while (restA.length && restB.length) pairs.push([restA.shift() as TargetResult, restB.shift() as TargetResult]);
  const all = pairs.map(([ta, tb]) => compareTargets(ta, tb));
  const unobserved = [...new Set(all.flatMap((c) => c.unobserved ?? []))].sort();
  return {
    compared: all.reduce((n, c) => n + c.compared, 0),
    changes: all.flatMap((c) => c.changes),
    unmatchedTargets: [...restA.map((t) => `target ${t.name} only in A`), ...restB.map((t) => `target ${t.name} only in B`)],
    ...(unobserved.length ? { unobserved } : {}),
  };
}

/** Consecutive targets of one run (a version matrix: each version against the one before it). */
export function compareMatrix(results: RunResults): Comparison {
  const all = results.targets.slice(1).map((t, i) => compareTargets(results.targets[i] as TargetResult, t));
  return {
    compared: all.reduce((n, c) => n + c.compared, 0),
    changes: all.flatMap((c) => c.changes),
    unmatchedTargets: [],
  };
}

export function hasChanges(c: Comparison): boolean {
  return c.changes.length > 0 || c.unmatchedTargets.length > 0;
}

/** One line per changed scenario (`[target] ` when several pairs), or `no change (N scenarios compared)`. */
export function describeComparison(c: Comparison): string[] {
  const unobserved = c.unobserved?.length
    ? [`${c.unobserved.length} scenarios recorded no observation, only their verdicts compare: ${c.unobserved.join(', ')}`]
    : [];
  if (!hasChanges(c)) return [`no change (${c.compared} scenarios compared)`, ...unobserved];
  const several = new Set(c.changes.map((x) => x.target)).size > 1;
  return [
    ...c.unmatchedTargets,
    ...c.changes.map((x) => `${several ? `[${x.target}] ` : ''}${x.id}: ${x.parts.join('; ')}`),
    `${c.changes.length} of ${c.compared + c.changes.filter((x) => x.parts[0]?.startsWith('only in ')).length} scenarios changed`,
    ...unobserved,
  ];
}

/**
 * The halves of an in-place upgrade (targets `before` and `after`, the same upgrade/* IDs). Each half
 * runs its own step (a pull with a Secret before, without one after), so pods compare only where
 * both halves ran one under the same name (the same request made on vX and again on vY); every
 * scenario's verdict compares. `halfOnly` counts the pods left out, which each record still holds.
 */
export function compareHalves(before: TargetResult, after: TargetResult): Comparison & { halfOnly: number } {
  const byId = (t: TargetResult) => new Map(t.scenarios.map((s) => [s.id, s]));
  const inBefore = byId(before);
  const inAfter = byId(after);
  let halfOnly = 0;
  const narrow = (t: TargetResult, other: Map<string, ScenarioRecord>): TargetResult => ({
    ...t,
    scenarios: t.scenarios.map((s) => {
      const theirs = new Set((other.get(s.id)?.observations ?? []).map((o) => o.pod));
      if (!s.observations) return s;
      const kept = s.observations.filter((o) => theirs.has(o.pod));
      halfOnly += s.observations.length - kept.length;
      return { ...s, observations: kept };
    }),
  });
  // A pod one half ran alone is no missing observation: whether a scenario recorded any is read before narrowing.
  const unobserved = compareTargets(before, after).unobserved;
  const { unobserved: _narrowed, ...compared } = compareTargets(narrow(before, inAfter), narrow(after, inBefore), 'before → after');
  return { ...compared, ...(unobserved ? { unobserved } : {}), halfOnly };
}
