// `pullcheck diff` and `run --baseline` as users run them: the real CLI on results.json files written
// here. A change exits 1 (0 with --accept-changes); bad input is one line and exit 2, before a run
// would start anything.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { RESULTS_SCHEMA, type RunResults, type ScenarioRecord } from '../../helpers/report/schema.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'bin/pullcheck.js');
const work = mkdtempSync(join(tmpdir(), 'pullcheck-diff-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function results(runId: string, targetName: string, observed: string[]): string {
  const scenario: ScenarioRecord = {
    id: 'pull-policy/ifnotpresent-keeps-cached',
    suite: 'pull-policy',
    title: 't',
    status: 'passed',
    durationMs: 1,
    rules: [],
    evidence: [],
    observations: [{ pod: 'pod-2', observed }],
  };
  const r: RunResults = {
    schema: RESULTS_SCHEMA,
    runId,
    tool: { name: 'pullcheck', version: '0' },
    startedAt: '',
    finishedAt: '',
    selection: { suites: [] },
    targets: [
      {
        name: targetName,
        kubernetesVersion: targetName,
        nodes: [],
        cluster: { mode: 'kind', name: 'pc' },
        registry: { mode: 'local' },
        startedAt: '',
        finishedAt: '',
        scenarios: [scenario],
      },
    ],
  };
  const file = join(work, `${runId}.json`);
  writeFileSync(file, JSON.stringify(r));
  return file;
}

const a = results('a', 'v1.36.3', ['admitted:IfNotPresent', 'cached', 'ran', 'digest:pushed']);
const b = results('b', 'v1.37.2', ['admitted:IfNotPresent', 'pulled', 'ran', 'digest:pushed']);
const notResults = join(work, 'package.json');
writeFileSync(notResults, '{"name":"x"}');

const cli = (...args: string[]) => execa(process.execPath, [CLI, ...args], { cwd: ROOT, reject: false });

describe('pullcheck diff', () => {
  it('a run against itself: "no change", exit 0', async () => {
    const r = await cli('diff', a, a);
    expect([r.exitCode, r.stdout]).toEqual([0, 'no change (1 scenarios compared)']);
  });

  it('a changed observation: the scenario and both observations, exit 1; 0 with --accept-changes', async () => {
    const r = await cli('diff', a, b);
    expect(r.exitCode).toBe(1);
    expect(r.stdout.split('\n')[0]).toBe('pull-policy/ifnotpresent-keeps-cached: pod-2 cached → pulled');
    expect((await cli('diff', a, b, '--accept-changes')).exitCode).toBe(0);
  });

  it.each([
    [
      'a missing file',
      ['diff', a, join(work, 'nope.json')],
      /^pullcheck: diff: .*nope\.json does not exist: pass the results\.json a pullcheck run wrote/,
    ],
    [
      'not a results.json',
      ['diff', notResults, a],
      /^pullcheck: diff: .*package\.json: schema is null, this pullcheck reads pullcheck\.io\/results\/v2 and pullcheck\.io\/results\/v1: pass the results\.json/,
    ],
    [
      'one file only',
      ['diff', a],
      /^pullcheck: diff compares two runs: pullcheck diff reports\/<run-a>\/results\.json reports\/<run-b>\/results\.json$/,
    ],
    [
      'run --baseline missing',
      ['run', '--suite', 'smoke', '--baseline', join(work, 'nope.json')],
      /^pullcheck: --baseline .*nope\.json does not exist: pass the results\.json/,
    ],
  ])('%s: one line naming the fix, exit 2', async (_name, args, fix) => {
    const r = await cli(...args);
    expect(r.exitCode).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr.trim()).toMatch(fix);
  });
});
