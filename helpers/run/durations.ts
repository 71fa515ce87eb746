// The order a phase starts its suite files in: the longest expected first, so that no lane starts
// the longest one last while the others sit idle. Jest's own order comes from its cache of each
// file's last time, which a run of a few of a file's scenarios (certify's, a --focus) leaves far too
// short; here a file weighs what its selected scenarios took in this machine's last runs.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { median } from '../bench/stats.ts';
import { cachePath } from '../infra/cache.ts';

/** Each scenario's last durations on this machine (ms), newest last. */
export interface DurationRecord {
  schema: 1;
  scenarios: Record<string, number[]>;
}

/** A scenario never timed here, when no other has been either. */
export const DEFAULT_SCENARIO_MS = 4_000;

/** Samples kept per scenario: the median of a few runs, so one slow run moves nothing. */
export const SAMPLES_KEPT = 5;

export function durationRecordFile(): string {
  return cachePath('state', 'scenario-durations.json');
}

export function emptyRecord(): DurationRecord {
  return { schema: 1, scenarios: {} };
}

/** What a scenario is expected to take: the median of its samples, else undefined. */
export function expectedMs(record: DurationRecord, id: string): number | undefined {
  return median(record.scenarios[id] ?? []);
}

/**
 * `files` longest expected first (ties keep their order): a file weighs the sum of its selected
 * scenarios' expected durations, a scenario never timed the median of those that were.
 */
export function orderByExpectedDuration(
  files: readonly string[],
  scenarios: readonly { id: string; file: string }[],
  record: DurationRecord,
): string[] {
  const known = scenarios.map((s) => expectedMs(record, s.id)).filter((ms): ms is number => ms !== undefined);
  const fallback = median(known) ?? DEFAULT_SCENARIO_MS;
  const weight = new Map<string, number>();
  for (const s of scenarios) weight.set(s.file, (weight.get(s.file) ?? 0) + (expectedMs(record, s.id) ?? fallback));
  return files
    .map((file, i) => ({ file, i, w: weight.get(file) ?? 0 }))
    .sort((a, b) => b.w - a.w || a.i - b.i)
    .map((f) => f.file);
}

/** The record with the durations of the scenarios that passed added (a failure may have waited out a deadline). */
export function withDurations(
  record: DurationRecord,
  results: readonly { id: string; status: string; durationMs: number }[],
): DurationRecord {
  const scenarios = { ...record.scenarios };
  for (const r of results) {
    if (r.status !== 'passed' || !(r.durationMs > 0)) continue;
    scenarios[r.id] = [...(scenarios[r.id] ?? []), Math.round(r.durationMs)].slice(-SAMPLES_KEPT);
  }
  return { schema: 1, scenarios };
}

function isRecord(v: unknown): v is DurationRecord {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Partial<DurationRecord>;
  return (
    r.schema === 1 &&
    typeof r.scenarios === 'object' &&
    r.scenarios !== null &&
    Object.values(r.scenarios).every((s) => Array.isArray(s) && s.every((ms) => typeof ms === 'number'))
  );
}

/** The record on this machine; an absent or unreadable one is empty (the order is then by scenario count). */
export function readDurations(file = durationRecordFile()): DurationRecord {
  if (!existsSync(file)) return emptyRecord();
  try {
    const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
    return isRecord(parsed) ? parsed : emptyRecord();
  } catch {
    return emptyRecord();
  }
}

/** Written whole and renamed into place: a run killed meanwhile, or one beside it, never leaves half a file. */
export function writeDurations(record: DurationRecord, file = durationRecordFile()): void {
  mkdirSync(dirname(file), { recursive: true });
  const scratch = `${file}.${process.pid}.tmp`;
  writeFileSync(scratch, `${JSON.stringify(record)}\n`);
  renameSync(scratch, file);
}
