// A run under GitHub Actions (GITHUB_ACTIONS=true): the step summary (counts, each failure with its
// first line, the certificate's verdict) appended to $GITHUB_STEP_SUMMARY, and the step's outputs
// (passed, failed, certified, report-dir) to $GITHUB_OUTPUT, which the composite action (action.yml)
// hands on as its own. Everything is read from the one verdict model (verdict.ts), never re-counted.
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { certificationGaps } from '../run/certification.ts';
import { certificationVerdict } from './html.ts';
import type { RunResults } from './schema.ts';
import { FAILING, findingsOf, nothingTested, nothingTestedLine, runFails, STATUS_WORDS, summaryLine, tally } from './verdict.ts';

export interface GitHubRun {
  results: RunResults;
  runDir: string;
  /** Whether the run certifies its registry (the whole catalog, or `pullcheck certify`), not a selection. */
  certifying: boolean;
}

/** True when this process runs as a step of a GitHub Actions job. */
export function underGitHubActions(env: NodeJS.ProcessEnv): boolean {
  return env['GITHUB_ACTIONS'] === 'true';
}

/** `true`/`false` for a run that certifies its registry, empty otherwise. */
export function certifiedOutput(r: GitHubRun): string {
  if (!r.certifying || !r.results.certification) return '';
  return certificationGaps(r.results.certification).length === 0 ? 'true' : 'false';
}

/** The step's outputs: `passed` scenarios, `failed` (every failing verdict, as the exit code counts them), `certified`, `report-dir`. */
export function actionOutputs(r: GitHubRun): Record<string, string> {
  const t = tally(r.results);
  return {
    passed: String(t.passed),
    failed: String(FAILING.reduce((n, s) => n + t[s], 0) + t.failingFindings),
    certified: certifiedOutput(r),
    'report-dir': r.runDir,
  };
}

/** The first non-empty line of a reason, cut to one table cell. */
function firstLine(text: string | undefined): string {
  const line = (text ?? '').split('\n').find((l) => l.trim() !== '') ?? '';
  const clipped = line.length > 200 ? `${line.slice(0, 199)}…` : line;
  return clipped.replace(/\|/g, '\\|').trim();
}

/** The step summary in GitHub's Markdown. */
export function stepSummary(r: GitHubRun): string {
  const t = tally(r.results);
  const verdict = runFails(t) ? '❌ failed' : '✅ passed';
  const lines = [`### pullcheck ${r.results.runId}: ${verdict}`, '', summaryLine(t)];
  if (nothingTested(t)) lines.push('', nothingTestedLine(t));
  if (r.results.certification) {
    const gaps = r.certifying ? certificationGaps(r.results.certification) : [];
    lines.push(
      '',
      `**Certification:** ${certificationVerdict(r.results.certification)}${r.certifying ? '' : ' (a selection: the exit code does not rest on it)'}`,
      ...gaps.map((g) => `- ${firstLine(g)}`),
    );
  }
  const failing = r.results.targets.flatMap((target) =>
    target.scenarios
      .filter((s) => FAILING.includes(s.status))
      .map((s) => `| ${target.name} | \`${s.id}\` | ${STATUS_WORDS[s.status]} | ${firstLine(s.reason)} |`),
  );
  const findings = findingsOf(r.results.targets).filter((f) => f.fails);
  const broken = r.results.targets.filter((target) => target.error !== undefined);
  if (failing.length || findings.length || broken.length) {
    lines.push('', '| target | scenario | verdict | first line |', '| --- | --- | --- | --- |', ...failing);
    for (const target of broken) lines.push(`| ${target.name} | | did not run completely | ${firstLine(target.error)} |`);
    for (const f of findings) lines.push(`| | finding \`${f.cause}\` | fails the run | ${firstLine(f.line)} |`);
  }
  lines.push('', `Report: \`${join(r.runDir, 'index.html')}\``, '');
  return lines.join('\n');
}

/** `name=value` lines for $GITHUB_OUTPUT (values here are one line each). */
export function outputLines(outputs: Record<string, string>): string {
  return Object.entries(outputs)
    .map(([k, v]) => `${k}=${v.replace(/\n/g, ' ')}\n`)
    .join('');
}

/** Under GitHub Actions, writes the step summary and the step's outputs; elsewhere nothing. */
export function publishToGitHub(r: GitHubRun, env: NodeJS.ProcessEnv): void {
  if (!underGitHubActions(env)) return;
  const summary = env['GITHUB_STEP_SUMMARY'];
  if (summary) appendFileSync(summary, stepSummary(r));
  const output = env['GITHUB_OUTPUT'];
  if (output) appendFileSync(output, outputLines(actionOutputs(r)));
}
