// The README's "Writing a suite" examples work as written: they typecheck against `pullcheck/harness`
// and `pullcheck list --suites-dir` shows their scenarios beside the built-in ones (the package test
// runs them on a cluster from the installed tarball).
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { readmeVendorSuites } from './readme-suite.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

describe('the README example suite', () => {
  const work = join(ROOT, `.pullcheck-readme-${process.pid}`);
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('are files of at most 25 lines that typecheck and that list shows from --suites-dir', async () => {
    const suites = readmeVendorSuites();
    const dir = suites[0]?.dir ?? '';
    mkdirSync(join(work, dir), { recursive: true });
    for (const { file, source } of suites) {
      expect([file, source.trimEnd().split('\n').length <= 25]).toEqual([file, true]);
      writeFileSync(join(work, dir, file), source);
    }
    writeFileSync(
      join(work, 'tsconfig.json'),
      JSON.stringify({ extends: '../tsconfig.json', include: suites.map((s) => `${dir}/${s.file}`) }),
    );
    const tsc = await execa(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(work, 'tsconfig.json')], {
      cwd: ROOT,
      reject: false,
    });
    expect(tsc.stdout + tsc.stderr).toBe('');
    const list = await execa(process.execPath, [join(ROOT, 'bin/pullcheck.js'), 'list', '--suites-dir', join(work, dir), '-o', 'json'], {
      cwd: work,
      reject: false,
    });
    expect(list.stderr).toBe('');
    const { scenarios } = JSON.parse(list.stdout) as { scenarios: { id: string; nodes: string; capabilities: string[] }[] };
    expect(scenarios.filter((e) => e.id.startsWith('my-')).map((e) => [e.id, e.nodes, e.capabilities])).toEqual([
      ['my-nodes/node-config-json', 'locked', []],
      ['my-registry/public-image-runs', 'shared', ['tls']],
      ['my-registry/private-needs-credentials', 'shared', []],
    ]);
    expect(scenarios.some((e) => e.id.startsWith('smoke/'))).toBe(true);
  }, 120_000);
});
