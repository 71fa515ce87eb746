// The harness side of the report: while scenarios run, each writes its record (and, on failure, its
// evidence files) into the run context's target directory. The reporter merges them with jest's own
// view when the run ends.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { redact } from '../infra/redact.ts';
import { loadRunContext } from '../run/context.ts';
import type { ScenarioRecord } from './schema.ts';

/** A file-system-safe name for a scenario ID (`suite/name` → `suite__name`). */
export function scenarioFileName(id: string): string {
  return id.replace(/\//g, '__').replace(/[^A-Za-z0-9._-]+/g, '-');
}

export function targetDir(): string | undefined {
  return loadRunContext().targetDir || undefined;
}

export function writeScenarioRecord(record: ScenarioRecord, dir = targetDir()): void {
  if (!dir) return;
  mkdirSync(join(dir, 'scenarios'), { recursive: true });
  const safe: ScenarioRecord = {
    ...record,
    title: redact(record.title),
    rules: record.rules.map(redact),
    ...(record.reason === undefined ? {} : { reason: redact(record.reason) }),
  };
  writeFileSync(join(dir, 'scenarios', `${scenarioFileName(record.id)}.json`), `${JSON.stringify(safe, null, 2)}\n`);
}

/** Writes one piece of evidence (redacted) and returns its path relative to the target directory. */
export function writeEvidence(id: string, name: string, text: string, dir = targetDir()): string | undefined {
  if (!dir) return undefined;
  const rel = join('evidence', scenarioFileName(id), `${name.replace(/[^A-Za-z0-9._-]+/g, '-')}.txt`);
  mkdirSync(join(dir, 'evidence', scenarioFileName(id)), { recursive: true });
  writeFileSync(join(dir, rel), redact(text));
  return rel;
}

/** How a scenario ends without a verdict of its own: it could not run here (a failure), or does not apply. */
export type NoVerdict = 'could-not-run' | 'not-applicable';

/**
 * Thrown by `s.skip(reason)` (it should run here and cannot: the run fails) and by
 * `s.skipDeclared(reason)` (the declared posture or the cluster's shape says it does not apply).
 * `rests`: the parts of the posture the reason rests on (a mismatch there makes it blocked instead).
 */
export class ScenarioSkipped extends Error {
  override name = 'ScenarioSkipped';

  constructor(
    message: string,
    readonly kind: NoVerdict = 'could-not-run',
    readonly rests: readonly string[] = [],
    /** An optional capability the registry does not support (a declared skip): the certification reads it so. */
    readonly notSupported?: { capability: string; detail: string },
  ) {
    super(message);
  }
}
