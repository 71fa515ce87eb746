// What `npm run bench` reports: per phase, the samples it took, their median, min and max, and the
// target the issue sets for it. Pure data and formatting; scripts/bench.ts does the measuring.

import { ratioText } from './readme.ts';

export interface Target {
  /** At most this many seconds (or, for a ratio, this value). */
  max: number;
  /** Where the target comes from, e.g. "warm 3-node cluster up ≤ 60 s". */
  text: string;
  /** Which figure must be within: every sample (the default), or their median where the target says so. */
  of?: 'every' | 'median';
}

export interface PhaseResult {
  name: string;
  /** Seconds (or a plain number for a ratio). */
  samples: number[];
  unit: 's' | 'x';
  target?: Target;
  /** Anything the numbers alone do not say: failures, what was not measured, approximations. */
  note?: string;
  /** For a phase not measured this time: the last measured figure and when. */
  previous?: { median: number; measuredAt: string };
  /** The figure the README states for this phase (seconds): the table prints the ratio to it. */
  stated?: number;
}

export interface PhaseSummary extends PhaseResult {
  median?: number;
  min?: number;
  max?: number;
  n: number;
  /** undefined when there is no target or no sample. */
  withinTarget?: boolean;
}

export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

export function summarize(p: PhaseResult): PhaseSummary {
  const m = median(p.samples);
  const out: PhaseSummary = { ...p, n: p.samples.length };
  if (m === undefined) return out;
  const digits = p.unit === 'x' ? 2 : 1;
  out.median = round(m, digits);
  out.min = round(Math.min(...p.samples), digits);
  out.max = round(Math.max(...p.samples), digits);
  // Every sample, not just the median, must be within, unless the target is stated as a median.
  if (p.target) out.withinTarget = (p.target.of === 'median' ? m : Math.max(...p.samples)) <= p.target.max;
  return out;
}

export function round(n: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

function cell(n: number | undefined, unit: PhaseResult['unit']): string {
  if (n === undefined) return '—';
  if (unit === 'x') return n.toFixed(2);
  return n >= 120 ? `${n.toFixed(1)} s (${(n / 60).toFixed(1)} min)` : `${n.toFixed(1)} s`;
}

/** A Markdown table: phase, median, min, max, n, target, within target?, ratio to the README's figure, note. */
export function formatTable(phases: readonly PhaseSummary[]): string {
  const rows = phases.map((p) => {
    const measured = p.n > 0;
    const median = measured
      ? cell(p.median, p.unit)
      : p.previous
        ? `${cell(p.previous.median, p.unit)} (last, ${p.previous.measuredAt.slice(0, 10)})`
        : '—';
    const verdict = p.withinTarget === undefined ? (p.target ? 'n/a' : '') : p.withinTarget ? 'yes' : 'NO';
    const note = [measured ? '' : 'not measured this time', p.note ?? ''].filter(Boolean).join('; ');
    return [
      p.name,
      median,
      measured ? cell(p.min, p.unit) : '—',
      measured ? cell(p.max, p.unit) : '—',
      String(p.n),
      p.target?.text ?? '',
      verdict,
      measured && p.stated && p.median !== undefined ? ratioText(p.median, p.stated) : '',
      note,
    ];
  });
  const header = ['phase', 'median', 'min', 'max', 'n', 'target', 'within target?', 'vs README', 'note'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]) => `| ${r.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}
