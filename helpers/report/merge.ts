// `pullcheck report --merge A B …`: the shards of one run (or runs of one selection in parts)
// joined into one report, as if one run had run them all.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from '../run/options.ts';
import { newRunId, readResults, runResults, writeReport } from './assemble.ts';
import type { RunResults, TargetResult } from './schema.ts';

type Certify = (targets: readonly TargetResult[]) => RunResults['certification'];

/**
 * Targets are joined by name (`v1.37.2`, a cluster's name): their scenarios are put together; a
 * scenario ID in two inputs of the same target is an error (the shards overlap, or one run was
 * given twice). `certify` recomputes the certification where an input had one.
 */
export function mergeResults(
  inputs: readonly { file: string; results: RunResults }[],
  o: { runId: string; certify: Certify },
): Omit<RunResults, 'schema' | 'tool' | 'causes'> {
  if (inputs.length < 2) throw new UsageError('report --merge needs two or more results.json files (the shards of a run)');
  const targets = new Map<string, TargetResult>();
  const seen = new Map<string, string>();
  for (const { file, results } of inputs) {
    for (const t of results.targets) {
      const into = targets.get(t.name);
      if (!into) targets.set(t.name, { ...t, scenarios: [...t.scenarios] });
      else {
        into.scenarios.push(...t.scenarios);
        if (t.startedAt < into.startedAt) into.startedAt = t.startedAt;
        if (t.finishedAt > into.finishedAt) into.finishedAt = t.finishedAt;
        if (t.error) into.error = into.error ? `${into.error}; ${t.error}` : t.error;
        // Each shard's run checked the same cluster: a finding both named counts once.
        const findings = [...(into.findings ?? [])];
        for (const f of t.findings ?? []) if (!findings.some((g) => g.line === f.line)) findings.push(f);
        if (findings.length) into.findings = findings;
      }
      for (const s of t.scenarios) {
        const key = `${t.name} ${s.id}`;
        const before = seen.get(key);
        if (before) throw new UsageError(`${s.id} (${t.name}) is in both ${before} and ${file}: merge the shards of one run, each once`);
        seen.set(key, file);
      }
    }
  }
  const all = inputs.map((i) => i.results);
  const shards = all.map((r) => r.selection.shard).filter((s): s is string => Boolean(s));
  const merged = [...targets.values()];
  const certification = all.some((r) => r.certification) ? o.certify(merged) : undefined;
  return {
    runId: o.runId,
    startedAt: all.map((r) => r.startedAt).sort()[0] ?? '',
    finishedAt:
      all
        .map((r) => r.finishedAt)
        .sort()
        .at(-1) ?? '',
    selection: {
      suites: [...new Set(all.flatMap((r) => r.selection.suites))],
      ...(all[0]?.selection.focus ? { focus: all[0].selection.focus } : {}),
      ...(all[0]?.selection.skip ? { skip: all[0].selection.skip } : {}),
      ...(shards.length ? { shards } : {}),
    },
    targets: merged,
    ...(certification ? { certification } : {}),
  };
}

/** Several results.json (the shards of a run) as one new run directory under `reportDir`; returns it. */
export function mergeReports(files: readonly string[], reportDir: string, certify: Certify): string {
  for (const f of files) if (!existsSync(f)) throw new UsageError(`${f} does not exist: pass the results.json of each shard`);
  const inputs = files.map((file) => {
    try {
      return { file, results: readResults(file) };
    } catch (error) {
      throw new UsageError(`${error instanceof Error ? error.message : String(error)}: pass a results.json pullcheck wrote`);
    }
  });
  const runId = newRunId(new Date());
  const dir = resolve(reportDir, runId);
  writeReport(dir, runResults(mergeResults(inputs, { runId, certify })));
  return dir;
}
