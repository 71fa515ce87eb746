// The README's "Writing a suite" example works as written: it typechecks and the catalog reads its
// two scenarios from it, as `pullcheck list` would from suites/ (here from a directory of its own,
// beside suites/, so that its relative import resolves the same way).
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import type { CatalogEntry } from '../helpers/run/catalog.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function readmeExample(): { file: string; source: string } {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Writing a suite'));
  const m = /```ts\n(\/\/ suites\/([\w-]+\.test\.ts)\n[\s\S]*?)```/.exec(section);
  if (!m?.[1] || !m[2]) throw new Error('README.md: no ```ts block starting with `// suites/NAME.test.ts` under "## Writing a suite"');
  return { file: m[2], source: m[1] };
}

describe('the README example suite', () => {
  const dir = join(ROOT, `.pullcheck-readme-${process.pid}`);
  beforeAll(() => mkdirSync(dir, { recursive: true }));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is one file of at most 25 lines that typechecks and declares its scenarios', async () => {
    const { file, source } = readmeExample();
    expect(source.trimEnd().split('\n').length).toBeLessThanOrEqual(25);
    writeFileSync(join(dir, file), source);
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ extends: '../tsconfig.json', include: [file] }));
    const tsc = await execa(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json')], {
      cwd: ROOT,
      reject: false,
    });
    expect(tsc.stdout + tsc.stderr).toBe('');
    const script = `const { loadCatalog } = await import('./helpers/run/catalog.ts'); process.stdout.write(JSON.stringify(await loadCatalog([${JSON.stringify(dir)}])));`;
    const { stdout } = await execa(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT });
    const entries = JSON.parse(stdout) as CatalogEntry[];
    expect(entries.map((e) => [e.id, e.nodes, e.capabilities])).toEqual([
      ['my-registry/public-image-runs', 'shared', ['tls']],
      ['my-registry/private-needs-credentials', 'shared', []],
    ]);
  }, 120_000);
});
