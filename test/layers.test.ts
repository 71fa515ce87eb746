// The house's walls, read from the source: a suite's only door into pullcheck is the harness (the
// built-in suites are written as a vendor's), and no lower layer imports the harness back.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function tsFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(dir, f));
}

/** The relative module specifiers a file imports or re-exports. */
function relativeImports(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  return [...text.matchAll(/\bfrom '(\.[^']+)'/g)].map((m) => m[1] ?? '');
}

describe('layers', () => {
  it('the built-in suites import pullcheck only through the harness', () => {
    const strays = tsFiles('suites').flatMap((f) =>
      relativeImports(f)
        .filter((spec) => spec !== '../helpers/framework/harness.ts')
        .map((spec) => `${f}: ${spec}`),
    );
    expect(strays).toEqual([]);
  });

  it('no module under helpers/ outside the framework imports the harness, a suite or a scenario fixture', () => {
    const harnessSide = /(^|\/)framework\/(harness|suite|scenario)\.ts$|(^|\/)framework\/fixtures\//;
    const strays = tsFiles('helpers')
      .filter((f) => !f.startsWith(join('helpers', 'framework')))
      .flatMap((f) =>
        relativeImports(f)
          .map((spec) => relative(ROOT, join(ROOT, f, '..', spec)))
          .filter((target) => harnessSide.test(target))
          .map((target) => `${f} imports ${target}`),
      );
    expect(strays).toEqual([]);
  });
});
