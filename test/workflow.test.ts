// The GitHub workflows run only on GitHub, nightly: a mistake in one (a bad expression, an unknown
// input, a misspelt key) would show up a night later. actionlint finds those here, in seconds.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheDir } from '../helpers/infra/cache.ts';
import { run } from '../helpers/infra/exec.ts';
import { defaultLogFile, Logger } from '../helpers/infra/log.ts';
import { buildActionlint } from '../helpers/build/actionlint.ts';

const WORKFLOWS = fileURLToPath(new URL('../.github/workflows', import.meta.url));

// Without shellcheck and pyflakes, whether they happen to be installed does not change the verdict.
async function actionlint(binary: string, files: string[]): Promise<{ exitCode: number; output: string }> {
  const r = await run([binary, '-no-color', '-shellcheck=', '-pyflakes=', ...files], { allowFailure: true });
  return { exitCode: r.exitCode, output: `${r.stdout}${r.stderr}`.trim() };
}

describe('GitHub workflows', () => {
  let binary = '';
  beforeAll(async () => {
    binary = await buildActionlint(new Logger(defaultLogFile(cacheDir(), 'actionlint')));
  }, 1_800_000);

  it('every workflow passes actionlint', async () => {
    const files = readdirSync(WORKFLOWS)
      .filter((f) => /\.ya?ml$/.test(f))
      .map((f) => join(WORKFLOWS, f));
    expect(files.length).toBeGreaterThan(0);
    expect(await actionlint(binary, files)).toEqual({ exitCode: 0, output: '' });
  });

  it('actionlint does catch a broken workflow', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pullcheck-workflow-'));
    try {
      mkdirSync(join(dir, '.github', 'workflows'), { recursive: true });
      const file = join(dir, '.github', 'workflows', 'broken.yml');
      writeFileSync(
        file,
        [
          'name: broken',
          'on:',
          '  schedule:',
          "    - cron: '0 3 * *'",
          'jobs:',
          '  e2e:',
          '    runs-on: ubuntu-24.04',
          '    strategy:',
          '      matrix:',
          '        k8s: [v1.37.2]',
          '    steps:',
          '      - uses: actions/checkout@v4',
          '      - run: echo ${{ matrix.kubernetes }}',
          '      - uses: actions/upload-artifact@v4',
          '        with:',
          '          nmae: report',
          '',
        ].join('\n'),
      );
      const { exitCode, output } = await actionlint(binary, [file]);
      expect(exitCode).toBe(1);
      expect(output).toMatch(/broken\.yml:4:\d+: invalid CRON format/);
      expect(output).toMatch(/broken\.yml:13:\d+: property "kubernetes" is not defined/);
      expect(output).toMatch(/broken\.yml:16:\d+: input "nmae" is not defined/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
