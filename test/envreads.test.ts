// The environment read in helpers/ and suites/: every `process.env` there (comments aside), per
// file, is the list docs/design.md gives under "The run context" (one bullet per read), at most 8.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const LIMIT = 8;

function reads(): string[] {
  return ['helpers', 'suites']
    .flatMap((dir) =>
      readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
        .filter((f) => /\.(ts|js)$/.test(f))
        .map((f) => join(dir, f)),
    )
    .flatMap((file) =>
      readFileSync(join(ROOT, file), 'utf8')
        .split('\n')
        .filter((line) => !/^\s*(\/\/|\*|\/\*)/.test(line))
        .flatMap((line) => [...line.matchAll(/process\.env\b/g)].map(() => file)),
    )
    .sort();
}

function documented(): string[] {
  const design = readFileSync(join(ROOT, 'docs/design.md'), 'utf8');
  const start = design.indexOf('The environment read in helpers/ and suites/');
  expect(start).toBeGreaterThan(-1);
  const list = design.slice(start).split('\n\n').slice(1, 2).join('');
  return [...list.matchAll(/^- `([^`]+)`/gm)].map((m) => m[1] ?? '').sort();
}

describe('environment reads', () => {
  it(`helpers/ and suites/ read the environment at most ${LIMIT} times`, () => {
    expect(reads().length).toBeLessThanOrEqual(LIMIT);
  });

  it("each read is in docs/design.md's list, and each listed read is in the code", () => {
    expect(reads()).toEqual(documented());
  });
});
