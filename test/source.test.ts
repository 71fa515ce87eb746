// Conventions of the source itself, checked by reading it: the managed label written once.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SOURCE_ROOTS = ['helpers', 'cli', 'suites', 'scripts', 'exports'];

function sourceFiles(): string[] {
  return SOURCE_ROOTS.flatMap((dir) =>
    readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
      .filter((f) => /\.(ts|js)$/.test(f))
      .map((f) => join(dir, f)),
  );
}

describe('the source', () => {
  it("writes the 'pullcheck.io/managed' label only in its constant (LABEL_MANAGED, managedLabels)", () => {
    const found = sourceFiles().flatMap((file) =>
      readFileSync(join(ROOT, file), 'utf8')
        .split('\n')
        .flatMap((line, i) => (/['"`]pullcheck\.io\/managed/.test(line) ? [`${file}:${i + 1}: ${line.trim()}`] : [])),
    );
    expect(found.filter((f) => !f.startsWith('helpers/infra/docker.ts:') || !f.includes('export const LABEL_MANAGED ='))).toEqual([]);
    expect(found).toHaveLength(1);
  });
});
