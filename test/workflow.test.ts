// The GitHub workflows run only on GitHub, nightly: a mistake in one (a bad expression, an unknown
// input, a misspelt key) would show up a night later. actionlint finds those here, in seconds.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { buildActionlint, compositeActionProblems } from '../helpers/build/actionlint.ts';
import { cacheDir } from '../helpers/infra/cache.ts';
import { run } from '../helpers/infra/exec.ts';
import { defaultLogFile, Logger } from '../helpers/infra/log.ts';

interface ActionYaml {
  inputs: Record<string, { default?: string }>;
  outputs: Record<string, { value: string }>;
  runs: { steps: { id?: string; uses?: string; if?: string; run?: string; with?: Record<string, string> }[] };
}

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
      'command: certify',
      'args: |',
      '  --timeout',
      '  5m',
    ]);
    expect(await lintWithAction(binary, action, workflow)).toEqual({ exitCode: 0, output: '' });
    expect(await compositeActionProblems(action)).toEqual([]);
  });

  it("the action's inputs and outputs are the ones its users read, and the cache is split and keyed by pullcheck's own files", () => {
    const parsed = YAML.parse(readFileSync(ACTION, 'utf8')) as ActionYaml;
    expect(Object.keys(parsed.inputs)).toEqual(expect.arrayContaining(['command', 'args', 'k8s', 'suites', 'kubeconfig', 'registry']));
    expect(parsed.inputs['command']?.default).toBe('run');
    expect(Object.keys(parsed.outputs).sort()).toEqual(['certified', 'exit-code', 'failed', 'passed', 'report-dir']);
    const steps = parsed.runs.steps;
    const uses = steps.map((s) => s.uses ?? '');
    // Restore and save split: the save runs whatever the verdict, so a failed nightly keeps what it built.
    expect(uses).not.toContain('actions/cache@v4');
    const restore = steps.find((s) => s.uses?.startsWith('actions/cache/restore@'));
    const save = steps.find((s) => s.uses?.startsWith('actions/cache/save@'));
    expect(save?.if).toMatch(/^always\(\)/);
    expect(uses.indexOf(save?.uses ?? '')).toBeGreaterThan(steps.findIndex((s) => s.id === 'run'));
    // The key comes from a step (hashFiles sees only the workspace), the same for restore and save.
    expect(restore?.with?.['key']).toBe('${{ steps.cache-key.outputs.key }}');
    expect(save?.with?.['key']).toBe(restore?.with?.['key']);
    expect(JSON.stringify(steps)).not.toMatch(/hashFiles/);
    const keyStep = steps.find((s) => s.id === 'cache-key');
    expect(keyStep?.run).toMatch(/package-lock\.json/);
    expect(keyStep?.run).toMatch(/helpers\/infra\/versions\.ts/);
    // Only what is slow to build: never the Go build cache.
    const paths = String(save?.with?.['path']).trim().split('\n');
    expect(paths).toEqual(String(restore?.with?.['path']).trim().split('\n'));
    expect(paths.some((p) => /go-build|\.cache\/pullcheck$/.test(p.trim()))).toBe(false);
    expect(paths).toEqual(expect.arrayContaining(['~/.cache/pullcheck/bin', '~/.cache/pullcheck-docker-images']));
  });

  it('the run step passes args one per line as written, the command, and the exit code as an output', async () => {
    const parsed = YAML.parse(readFileSync(ACTION, 'utf8')) as ActionYaml;
    const step = parsed.runs.steps.find((s) => s.id === 'run');
    const dir = mkdtempSync(join(tmpdir(), 'pullcheck-action-run-'));
    try {
      // pullcheck stands in as a script that records its arguments and exits 3.
      mkdirSync(join(dir, 'bin'));
      writeFileSync(
        join(dir, 'bin', 'pullcheck.js'),
        "require('node:fs').writeFileSync(process.env.ARGV_FILE, JSON.stringify(process.argv.slice(2))); process.exit(3);\n",
      );
      writeFileSync(join(dir, 'package.json'), '{"type":"commonjs"}');
      const output = join(dir, 'output');
      writeFileSync(output, '');
      const env = {
        PATH: process.env['PATH'] ?? '',
        GITHUB_ACTION_PATH: dir,
        GITHUB_OUTPUT: output,
        RUNNER_TEMP: dir,
        ARGV_FILE: join(dir, 'argv.json'),
        PULLCHECK_COMMAND: 'certify',
        PULLCHECK_REGISTRY_URL: 'https://registry.example.com',
        PULLCHECK_ARGS: '--focus\npull-policy/.* "never" it\'s\n\n--timeout\r\n5m',
      };
      const r = await run(['bash', '-e', '-c', step?.run ?? ''], { env, allowFailure: true });
      expect(r.exitCode).toBe(3);
      expect(JSON.parse(readFileSync(join(dir, 'argv.json'), 'utf8'))).toEqual([
        'certify',
        '--report-dir',
        join(dir, 'pullcheck-reports'),
        '--registry',
        'https://registry.example.com',
        '--focus',
        'pull-policy/.* "never" it\'s',
        '--timeout',
        '5m',
      ]);
      expect(readFileSync(output, 'utf8')).toContain('exit-code=3\n');
      const wrong = await run(['bash', '-e', '-c', step?.run ?? ''], { env: { ...env, PULLCHECK_COMMAND: 'ran' }, allowFailure: true });
      expect(wrong.exitCode).toBe(2);
      expect(wrong.stdout).toMatch(/command must be run or certify, not "ran"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
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
