// The run times the README states, which `npm run bench` compares its own figures with: a table
// after the marker line, one row per phase, `| phase | seconds | measured on |`.
export const FIGURES_MARKER = '<!-- bench figures -->';

/** Phase name → seconds, from the README's marked table; empty when it has none. */
export function readmeFigures(readme: string): Map<string, number> {
  const out = new Map<string, number>();
  const at = readme.indexOf(FIGURES_MARKER);
  if (at < 0) return out;
  const lines = readme.slice(at + FIGURES_MARKER.length).split('\n');
  let inTable = false;
  for (const line of lines) {
    if (!line.trim().startsWith('|')) {
      if (inTable) break;
      continue;
    }
    inTable = true;
    const [name, seconds] = line
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim());
    const n = Number(seconds);
    if (name && seconds && Number.isFinite(n) && n > 0) out.set(name, n);
  }
  return out;
}

/** "0.62× the README's 363 s": below 1 is faster than the README says. */
export function ratioText(measured: number, stated: number): string {
  return `${(measured / stated).toFixed(2)}× the README's ${Math.round(stated)} s`;
}
