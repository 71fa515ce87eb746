import { readFileSync } from 'node:fs';
import { FIGURES_MARKER, ratioText, readmeFigures } from '../helpers/bench/readme.ts';

describe('README figures the bench compares with', () => {
  it('reads the marked table, skipping the header and separator rows', () => {
    const text = `intro | not | a table\n${FIGURES_MARKER}\n\n| phase | seconds | measured on |\n|---|---|---|\n| whole run, own cluster up + down | 363 | 2026-11-27 |\n| cluster up | 38.5 | x |\n\n| other | 1 | |\n`;
    expect([...readmeFigures(text)]).toEqual([
      ['whole run, own cluster up + down', 363],
      ['cluster up', 38.5],
    ]);
    expect(readmeFigures('no marker | 3 |').size).toBe(0);
  });

  it('finds the phases the bench names in the real README', () => {
    const figures = readmeFigures(readFileSync(new URL('../README.md', import.meta.url), 'utf8'));
    for (const phase of ['whole run, own cluster up + down', 'whole run, existing cluster', 'cluster up'])
      expect([phase, figures.get(phase) !== undefined]).toEqual([phase, true]);
  });

  it('says the ratio the way round a reader expects', () => {
    expect(ratioText(225, 363)).toBe("0.62× the README's 363 s");
  });
});
