// The GitHub workflows run only on GitHub, nightly: a mistake in one (a bad expression, an unknown
// input, a misspelt key) would show up a night later. actionlint finds those here, in seconds.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheDir } from '../helpers/infra/cache.ts';
import { run } from '../helpers/infra/exec.ts';
import { defaultLogFile, Logger } from '../helpers/infra/log.ts';
import { buildActionlint, compositeActionProblems } from '../helpers/build/actionlint.ts';

const WORKFLOWS = fileURLToPath(new URL('../.github/workflows', import.meta.url));
const ACTION = fileURLToPath(new URL('../action.yml', import.meta.url));

/** The README's workflow that uses the action, as a user's repository would hold it. */
function userWorkflow(withLines: string[]): string {
  return [
    'name: pullcheck',
    'on: [push]',
    'jobs:',
    '  e2e:',
    '    runs-on: ubuntu-24.04',
    '    steps:',
    '      - uses: actions/checkout@v4',
    '      - uses: ./',
    '        with:',
    ...withLines.map((l) => `          ${l}`),
    '',
  ].join('\n');
}

/** actionlint over `workflow` in a scratch repository whose root action is `actionYaml`. */
async function lintWithAction(binary: string, actionYaml: string, workflow: string) {
  const dir = mkdtempSync(join(tmpdir(), 'pullcheck-action-'));
  try {
    mkdirSync(join(dir, '.github', 'workflows'), { recursive: true });
    // actionlint finds the repository, and so `uses: ./`, by its .git directory.
    mkdirSync(join(dir, '.git'));
    writeFileSync(join(dir, 'action.yml'), actionYaml);
    const file = join(dir, '.github', 'workflows', 'use.yml');
    writeFileSync(file, workflow);
    return await actionlint(binary, [file]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

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

  it('the composite action (action.yml) passes actionlint as a workflow uses it, and its own steps are sound', async () => {
    const action = readFileSync(ACTION, 'utf8');
    const workflow = userWorkflow([
      'k8s: v1.37.2',
      'suites: smoke,pull-policy',
      'registry: https://registry.example.com',
      'registry-username: ci',
      'registry-password: ${{ secrets.REGISTRY_PASSWORD }}',
      'args: --timeout 5m',
    ]);
    expect(await lintWithAction(binary, action, workflow)).toEqual({ exitCode: 0, output: '' });
    expect(await compositeActionProblems(action)).toEqual([]);
  });

  it('a misspelt input, a broken action and a broken step are caught', async () => {
    const action = readFileSync(ACTION, 'utf8');
    const misspelt = await lintWithAction(binary, action, userWorkflow(['suits: smoke']));
    expect(misspelt.exitCode).toBe(1);
    expect(misspelt.output).toMatch(/input "suits" is not defined in action "pullcheck"/);
    const noRuns = await lintWithAction(binary, action.replace(/^runs:/m, 'rnus:'), userWorkflow(['suites: smoke']));
    expect(noRuns.output).toMatch(/"runs.using" is missing in local action/);
    const broken = action
      .replace('PULLCHECK_SUITES: ${{ inputs.suites }}', 'PULLCHECK_SUITES: ${{ inputs.suits }}')
      .replace('if [ -n "$PULLCHECK_K8S" ]; then', 'if [ -n "$PULLCHECK_K8S" ] then')
      .replace(/(\n\s+- name: Install pullcheck\n\s+)shell: bash\n\s+/, '$1');
    expect(await compositeActionProblems(broken)).toEqual([
      'inputs.suits is used but not declared under inputs',
      "Install pullcheck: a composite action's run step needs shell: bash",
      expect.stringMatching(/^Run pullcheck: bash cannot parse the script: /),
    ]);
  });
});
