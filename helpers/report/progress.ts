// Progress during the suites, for a person and for Sonobuoy: `[37/144] suite/name passed — about
// 4 min left` as each scenario's record lands in the target directory, and the same count posted to
// the Sonobuoy worker's progress endpoint (the plugin container's SONOBUOY_PROGRESS_PORT, set by
// Sonobuoy; `sonobuoy status` shows it). The count is read from the records the harness wrote, so
// the two jest phases of a target (and a reporter built per phase) count on from each other.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ScenarioRecord } from './schema.ts';
import { FAILING, STATUS_WORDS } from './verdict.ts';

/** `45s`, `4 min`, `1 h 05 min`: rounded as a person reads an estimate. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const min = Math.round(s / 60);
  if (min < 60) return `${min} min`;
  return `${Math.floor(min / 60)} h ${String(min % 60).padStart(2, '0')} min`;
}

/** Scenarios of a phase that must have finished before its pace is trusted (three intervals). */
export const FINISHED_FOR_PACE = 4;

/**
 * What is left, from the pace of this phase since its first scenario finished: the phase's start
 * (jest, the suites' registries) is not a scenario's pace. Undefined until FINISHED_FOR_PACE have
 * finished and once none is left.
 */
export function estimateLeftMs(finishedThisPhase: number, sinceFirstFinishedMs: number, remaining: number): number | undefined {
  if (finishedThisPhase < FINISHED_FOR_PACE || remaining <= 0) return undefined;
  return (sinceFirstFinishedMs / (finishedThisPhase - 1)) * remaining;
}

/** `[37/144] pull-policy/never-absent-fails passed (12s) — about 4 min left` */
export function progressLine(o: {
  done: number;
  total: number;
  record: Pick<ScenarioRecord, 'id' | 'status' | 'durationMs'>;
  leftMs?: number;
}): string {
  const width = String(o.total).length;
  const count = `[${String(o.done).padStart(width)}/${o.total}]`;
  const left = o.leftMs === undefined ? '' : ` — about ${formatDuration(o.leftMs)} left`;
  return `${count} ${o.record.id} ${STATUS_WORDS[o.record.status]} (${formatDuration(o.record.durationMs)})${left}`;
}

/** Sonobuoy's plugin progress update (its `plugin.ProgressUpdate`: msg, total, completed, failures). */
export interface SonobuoyProgressUpdate {
  msg: string;
  total: number;
  completed: number;
  failures?: string[];
}

/** Posts one update to the worker beside the plugin; never fails the run (the worker may be gone). */
export async function postSonobuoyProgress(port: string, update: SonobuoyProgressUpdate): Promise<string | undefined> {
  try {
    const r = await fetch(`http://localhost:${port}/progress`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(update),
      signal: AbortSignal.timeout(5_000),
    });
    return r.ok ? undefined : `the Sonobuoy worker answered ${r.status} to a progress update`;
  } catch (error) {
    return `the Sonobuoy worker took no progress update: ${(error as Error).message}`;
  }
}

/** Reads the records a target's scenarios wrote (`scenarios/*.json`), keyed by file name. */
function readRecords(targetDir: string): Map<string, ScenarioRecord> {
  const dir = join(targetDir, 'scenarios');
  const records = new Map<string, ScenarioRecord>();
  if (!existsSync(dir)) return records;
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
    try {
      records.set(file, JSON.parse(readFileSync(join(dir, file), 'utf8')) as ScenarioRecord);
    } catch {
      // Being written right now: counted on the next look.
    }
  }
  return records;
}

/** The progress of one target's scenarios, updated whenever jest says a test case finished. */
export class ScenarioProgress {
  private readonly seen = new Set<string>();
  private readonly failures: string[] = [];
  private readonly atStart: number;
  /** When the first scenario of this phase finished: the pace is measured from there. */
  private firstFinished: number | undefined;
  private posting: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly o: {
      targetDir: string;
      total: number;
      write: (line: string) => void;
      /** SONOBUOY_PROGRESS_PORT: set by Sonobuoy in the plugin's container. */
      sonobuoyPort?: string | undefined;
      now?: () => number;
    },
  ) {
    for (const [file, record] of readRecords(o.targetDir)) this.count(file, record);
    this.atStart = this.seen.size;
  }

  private count(file: string, record: ScenarioRecord): void {
    this.seen.add(file);
    if (FAILING.includes(record.status)) this.failures.push(record.id);
  }

  /** Prints (and posts) a line for each record that landed since the last look. */
  update(): void {
    const now = (this.o.now ?? Date.now)();
    for (const [file, record] of readRecords(this.o.targetDir)) {
      if (this.seen.has(file)) continue;
      this.count(file, record);
      const done = this.seen.size;
      const total = Math.max(this.o.total, done);
      this.firstFinished ??= now;
      const leftMs = estimateLeftMs(done - this.atStart, now - this.firstFinished, total - done);
      const line = progressLine({ done, total, record, ...(leftMs === undefined ? {} : { leftMs }) });
      this.o.write(line);
      const port = this.o.sonobuoyPort;
      if (port) {
        const update: SonobuoyProgressUpdate = {
          msg: line,
          total,
          completed: done,
          ...(this.failures.length ? { failures: [...this.failures] } : {}),
        };
        // In order, one at a time: the worker keeps the last.
        this.posting = this.posting.then(() => postSonobuoyProgress(port, update));
      }
    }
  }

  /** Waits for the updates still being posted (the reporter's end). */
  async settled(): Promise<void> {
    await this.posting;
  }
}
