import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type JestRun,
  type JestTestCase,
  newRunId,
  readEnvironment,
  readResults,
  rerenderReport,
  runResults,
  type TargetEnvironment,
  targetFromJest,
  writeReport,
} from '../helpers/report/assemble.ts';
import { renderHtml } from '../helpers/report/html.ts';
import PullcheckReporter from '../helpers/report/jest-reporter.ts';
import { renderJUnit } from '../helpers/report/junit.ts';
import { scenarioFileName } from '../helpers/report/records.ts';
import { RESULTS_SCHEMA, type RunResults, type ScenarioRecord, type TargetResult } from '../helpers/report/schema.ts';
import {
  defaultRunContext,
  loadRunContext,
  RUN_CONTEXT_ENV,
  registryPassword,
  writeRunContext,
  writeSecretFile,
} from '../helpers/run/context.ts';

function rec(id: string, status: ScenarioRecord['status'], extra: Partial<ScenarioRecord> = {}): ScenarioRecord {
  return { id, suite: id.split('/')[0] ?? id, title: `${id} behaves`, status, durationMs: 1500, rules: [], evidence: [], ...extra };
}

function target(name: string, scenarios: ScenarioRecord[], extra: Partial<TargetResult> = {}): TargetResult {
  return {
    name,
    kubernetesVersion: name,
    nodes: [{ name: 'pullcheck-worker', kubeletVersion: name, containerRuntime: 'containerd://2.3.4' }],
    cluster: { mode: 'kind', name: 'pullcheck-default', profile: 'default' },
    registry: { mode: 'local' },
    startedAt: '2026-11-27T03:00:00.000Z',
    finishedAt: '2026-11-27T03:20:00.000Z',
    scenarios,
    ...extra,
  };
}

function results(targets: TargetResult[], extra: Partial<RunResults> = {}): RunResults {
  return {
    schema: RESULTS_SCHEMA,
    runId: '20261127-030000-ab12',
    tool: { name: 'pullcheck', version: '0.1.0' },
    startedAt: '2026-11-27T03:00:00.000Z',
    finishedAt: '2026-11-27T03:40:00.000Z',
    selection: { suites: ['pull-policy'] },
    targets,
    ...extra,
  };
}

/** Tags balanced, attributes quoted, no bare `<` or `&` in text: enough to catch an escaping slip. */
function expectWellFormedXml(xml: string): void {
  const body = xml.replace(/^<\?xml[^?]*\?>\n/, '');
  const stack: string[] = [];
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;
  let last = 0;
  for (let m = tag.exec(body); m; m = tag.exec(body)) {
    const text = body.slice(last, m.index);
    expect(text).not.toMatch(/<|&(?!(amp|lt|gt|quot|apos|#\d+);)/);
    last = tag.lastIndex;
    const [, close, name, , selfClose] = m;
    if (close) expect(stack.pop()).toBe(name);
    else if (!selfClose) stack.push(name ?? '');
  }
  expect(body.slice(last).trim()).toBe('');
  expect(stack).toEqual([]);
  // XML 1.0 forbids these even as references.
  expect(xml).not.toMatch(/[\u0000-\u0008\u000B\u000C\u000E-\u001F]/);
}

const twoVersions = () =>
  results([
    target('v1.36.3', [
      rec('pull-policy/always-pulls', 'passed', { rules: ['Always pulls on every start'] }),
      rec('pull-policy/never-absent-fails', 'passed'),
      rec('node-credentials/kep2535', 'not-applicable', { reason: 'KubeletEnsureSecretPulledImages is off before v1.35' }),
    ]),
    target('v1.37.2', [
      rec('pull-policy/always-pulls', 'passed'),
      rec('pull-policy/never-absent-fails', 'failed', {
        reason: 'expected ErrImageNeverPull, got <script>alert(1)</script> & "more"\nsecond line',
        rules: ['Never: the kubelet must not pull (v1.37)'],
        evidence: ['evidence/pull-policy__never-absent-fails/events.txt'],
      }),
      rec('node-credentials/kep2535', 'passed'),
    ]),
  ]);

describe('JUnit writer', () => {
  it('one testsuite per target and suite, totals on testsuites, failure and skipped elements', () => {
    const xml = renderJUnit(twoVersions());
    expectWellFormedXml(xml);
    expect(xml).toMatch(/<testsuites name="pullcheck 20261127-030000-ab12" tests="6" failures="1" errors="0" skipped="1" time="9.000"/);
    expect(xml).toContain('<testsuite name="v1.37.2 pull-policy" tests="2" failures="1" errors="0" skipped="0" time="3.000"');
    expect(xml).toContain('<testsuite name="v1.36.3 node-credentials" tests="1" failures="0" errors="0" skipped="1"');
    expect(xml).toContain('<testcase classname="pull-policy" name="pull-policy/always-pulls" time="1.500"/>');
    expect(xml).toContain('<skipped message="not applicable: KubeletEnsureSecretPulledImages is off before v1.35"/>');
    // message: the first line only; body: the whole reason and where the evidence is, from the run directory.
    expect(xml).toContain(
      '<failure message="expected ErrImageNeverPull, got &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;more&quot;" type="failure">',
    );
    expect(xml).toMatch(/second line\n\nevidence:\nv1\.37\.2\/evidence\/pull-policy__never-absent-fails\/events\.txt<\/failure>/);
    // and each evidence file as a JUnit attachment line (Jenkins' convention)
    expect(xml).toContain('<system-out>[[ATTACHMENT|v1.37.2/evidence/pull-policy__never-absent-fails/events.txt]]</system-out>');
  });

  it('escapes control characters, quotes and line breaks in attributes', () => {
    const r = results([
      target('v1.37.2', [
        rec('registry/x', 'failed', { reason: '\u001b[31mred\u001b[0m <b>\u0000\nnext' }),
        rec('registry/"q"\'s', 'not-applicable', { reason: 'a\tb\nc' }),
      ]),
    ]);
    const xml = renderJUnit(r);
    expectWellFormedXml(xml);
    expect(xml).toContain('\\u001b[31mred\\u001b[0m &lt;b&gt;\\u0000');
    expect(xml).toContain('name="registry/&quot;q&quot;&apos;s"');
    expect(xml).toContain('<skipped message="not applicable: a&#9;b&#10;c"/>');
  });

  it('a target that could not run is an error, so CI does not read it as green', () => {
    const xml = renderJUnit(results([target('v1.37.2', [], { error: 'smoke.test.ts could not run: Cannot find module x' })]));
    expectWellFormedXml(xml);
    expect(xml).toMatch(/<testsuites [^>]*tests="1" failures="0" errors="1"/);
    expect(xml).toContain('<error message="smoke.test.ts could not run: Cannot find module x" type="error">');
  });
});

describe('HTML report', () => {
  const html = renderHtml(twoVersions());

  it('is one self-contained page: no scripts, stylesheets or remote assets', () => {
    expect(html).toMatch(/^<!DOCTYPE html>/);
    expect(html).toContain('<style>');
    // Links to the documentation page it follows are the one thing pointing out: followed, never loaded.
    expect(html.replace(/<a href="https:\/\/kubernetes\.io\/(?:id\/)?docs\/concepts\/containers\/images\/[^"]*">/g, '')).not.toMatch(
      /<script|<link|src=|url\(|@import|http/i,
    );
  });

  it('follows the documentation page: each section with the scenarios that test it, what none tests, and the rest apart', () => {
    const page = html.slice(html.indexOf('id="page"'), html.indexOf('id="matrix"'));
    const section = (heading: string) => page.slice(page.indexOf(heading), page.indexOf('<h3>', page.indexOf(heading)));
    expect(section('>Memperbarui Image<')).toContain(
      '<code>pull-policy/never-absent-fails</code> <span class="passed">passed on v1.36.3</span>, <span class="failed">failed on v1.37.2</span>',
    );
    expect(section('>Memperbarui Image<')).toContain('<span class="passed">3 passed</span>, <span class="failed">1 failed</span>');
    expect(section('>Konfigurasi Node')).toContain('node-credentials/kep2535');
    expect(section('>Membuat Image Multi-arsitektur')).toContain('No scenario of this run tests it (not selected)');
    expect(section('>Menggunakan Google Container Registry')).toContain('Not covered: no cloud registry is reached');
  });

  it('sums each suite per target', () => {
    const suites = html.slice(html.indexOf('id="suites"'), html.indexOf('id="page"'));
    expect(suites).toMatch(
      /<tr><td>pull-policy<\/td><td>v1\.37\.2<\/td><td><span class="passed">1 passed<\/span>, <span class="failed">1 failed<\/span><\/td><td>3 s<\/td><\/tr>/,
    );
  });

  it('escapes what the scenarios reported', () => {
    expect(html).toContain('got &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;more&quot;');
    expect(html).not.toContain('<script>alert');
  });

  it('flags the scenario whose verdict changed between versions, at the top', () => {
    const changed = html.indexOf('Changed between versions: 2');
    expect(changed).toBeGreaterThan(0);
    expect(changed).toBeLessThan(html.indexOf('id="matrix"'));
    const section = html.slice(changed, html.indexOf('id="suites"'));
    expect(section).toContain('pull-policy/never-absent-fails');
    expect(section).toContain('node-credentials/kep2535');
    expect(section).not.toContain('pull-policy/always-pulls');
    const matrix = html.slice(html.indexOf('id="matrix"'));
    expect(matrix).toMatch(/<tr class="changed"><td><code>pull-policy\/never-absent-fails<\/code> <span class="flag"/);
    expect(matrix).toMatch(/<tr><td><code>pull-policy\/always-pulls<\/code><br>/);
  });

  it('lists each failure with its rules and relative links to its evidence, and skipped ones with their reason', () => {
    expect(html).toContain('<li>Never: the kubelet must not pull (v1.37)</li>');
    expect(html).toContain('<a href="v1.37.2/evidence/pull-policy__never-absent-fails/events.txt">');
    expect(html).toMatch(/id="not-applicable"[\s\S]*KubeletEnsureSecretPulledImages is off before v1\.35/);
  });

  it('shows the certification summary when there is one, and says when nothing changed', () => {
    const one = renderHtml(
      results([target('v1.37.2', [rec('registry/push', 'passed')]), target('v1.36.3', [rec('registry/push', 'passed')])], {
        certification: [{ capability: 'Pulls with node credentials', status: 'passed', scenarios: ['registry/push'] }],
      }),
    );
    expect(one).toContain('id="certification"');
    expect(one).toContain('Pulls with node credentials');
    expect(one).toContain('No scenario changed its verdict');
  });
});

describe('merging jest results with the scenario records', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pullcheck-report-'));
    mkdirSync(join(dir, 'scenarios'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const writeRecord = (r: ScenarioRecord) => writeFileSync(join(dir, 'scenarios', `${scenarioFileName(r.id)}.json`), JSON.stringify(r));
  const test = (title: string, status: string, failureMessages: string[] = []): JestTestCase => ({
    title,
    status,
    duration: 2000,
    failureMessages,
  });
  const env: TargetEnvironment = {
    kubernetesVersion: 'v1.37.2',
    nodes: [],
    cluster: { mode: 'kind', name: 'pullcheck-default' },
    registry: { mode: 'local' },
  };

  it('keeps records, takes skipped from them, fails what jest failed, leaves out what did not run', () => {
    writeRecord(rec('pull-policy/kep', 'not-applicable', { reason: 'gate off' }));
    writeRecord(rec('pull-policy/ok', 'passed', { rules: ['IfNotPresent keeps the cached image'] }));
    writeRecord(rec('pull-policy/late', 'passed'));
    writeRecord(rec('registry/orphan', 'failed', { reason: 'boom', evidence: ['evidence/registry__orphan/pods.txt'] }));
    const jest: JestRun = {
      startTime: Date.parse('2026-11-27T03:00:00Z'),
      testResults: [
        {
          testFilePath: '/repo/suites/pull-policy.test.ts',
          testResults: [
            test('pull-policy/kep: skips itself', 'passed'),
            test('pull-policy/ok: passes', 'passed'),
            test('pull-policy/before-all: never started', 'failed', [
              '\u001b[31mError: registry did not start\u001b[39m\n    at startEnv (helpers/harness.ts:1:1)\n    at x (y:1:1)',
            ]),
            test('pull-policy/late: timed out, then wrote its record', 'failed', ['thrown: "Exceeded timeout of 600000 ms for a test."']),
            test('pull-policy/deselected: left out by --skip', 'pending'),
            test('pull-policy/later: todo', 'todo'),
          ],
        },
        {
          testFilePath: '/repo/suites/registry.test.ts',
          testResults: [],
          testExecError: { message: 'Cannot find module ./x\nmore', stack: null },
        },
        { testFilePath: '/repo/test/report.test.ts', testResults: [test('unit test: not a scenario', 'failed', ['nope'])] },
      ],
    };
    const t = targetFromJest(jest, { name: 'v1.37.2', targetDir: dir, environment: env, finishedAt: new Date('2026-11-27T03:10:00Z') });
    expect(t.scenarios.map((s) => [s.id, s.status])).toEqual([
      ['pull-policy/before-all', 'failed'],
      ['pull-policy/kep', 'not-applicable'],
      ['pull-policy/late', 'failed'],
      ['pull-policy/ok', 'passed'],
      ['registry/orphan', 'failed'],
    ]);
    const byId = new Map(t.scenarios.map((s) => [s.id, s]));
    expect(byId.get('pull-policy/kep')?.reason).toBe('gate off');
    expect(byId.get('pull-policy/ok')?.rules).toEqual(['IfNotPresent keeps the cached image']);
    expect(byId.get('pull-policy/before-all')).toMatchObject({
      suite: 'pull-policy',
      title: 'never started',
      reason: 'Error: registry did not start',
      rules: [],
      evidence: [],
    });
    expect(byId.get('pull-policy/late')?.reason).toMatch(/Exceeded timeout/);
    expect(byId.get('registry/orphan')?.evidence).toEqual(['evidence/registry__orphan/pods.txt']);
    expect(t.error).toBe('registry.test.ts could not run: Cannot find module ./x');
    expect(t).toMatchObject({
      name: 'v1.37.2',
      kubernetesVersion: 'v1.37.2',
      startedAt: '2026-11-27T03:00:00.000Z',
      finishedAt: '2026-11-27T03:10:00.000Z',
    });
  });

  it('reads environment.json over the defaults, and keeps the defaults for what it lacks', () => {
    expect(readEnvironment(dir, env)).toEqual(env);
    writeFileSync(
      join(dir, 'environment.json'),
      JSON.stringify({
        kubernetesVersion: 'v1.36.3',
        nodes: [{ name: 'w', kubeletVersion: 'v1.36.3', containerRuntime: 'containerd://2.3.4' }],
        registry: { mode: 'bogus' },
      }),
    );
    expect(readEnvironment(dir, env)).toEqual({
      ...env,
      kubernetesVersion: 'v1.36.3',
      nodes: [{ name: 'w', kubeletVersion: 'v1.36.3', containerRuntime: 'containerd://2.3.4' }],
    });
    writeFileSync(join(dir, 'environment.json'), '{ half');
    expect(readEnvironment(dir, env)).toEqual(env);
  });
});

describe('report files', () => {
  let reports: string;
  beforeEach(() => {
    reports = mkdtempSync(join(tmpdir(), 'pullcheck-reports-'));
  });
  afterEach(() => rmSync(reports, { recursive: true, force: true }));

  it('writes results.json, junit.xml and index.html, and points latest at the newest run', () => {
    const first = join(reports, '20261127-030000-ab12');
    writeReport(first, twoVersions());
    for (const f of ['results.json', 'junit.xml', 'index.html']) expect(existsSync(join(first, f))).toBe(true);
    expect(readlinkSync(join(reports, 'latest'))).toBe('20261127-030000-ab12');
    expect(readResults(join(reports, 'latest', 'results.json'))).toEqual(twoVersions());

    const second = join(reports, '20261128-030000-cd34');
    writeReport(second, results([target('v1.37.2', [rec('smoke/x', 'passed')])], { runId: '20261128-030000-cd34' }));
    expect(readlinkSync(join(reports, 'latest'))).toBe('20261128-030000-cd34');
    expect(readResults(join(reports, 'latest', 'results.json')).runId).toBe('20261128-030000-cd34');
  });

  it('re-renders junit.xml and index.html from results.json', () => {
    const run = join(reports, 'r');
    mkdirSync(run);
    writeFileSync(join(run, 'results.json'), JSON.stringify(twoVersions()));
    expect(rerenderReport(join(run, 'results.json'))).toEqual({ dir: run });
    expect(readFileSync(join(run, 'junit.xml'), 'utf8')).toBe(renderJUnit(twoVersions()));
    expect(readFileSync(join(run, 'index.html'), 'utf8')).toBe(renderHtml(twoVersions()));
  });

  it('refuses a file of another schema, or no JSON, in one line', () => {
    const file = join(reports, 'results.json');
    writeFileSync(file, JSON.stringify({ ...twoVersions(), schema: 'pullcheck.io/results/v0' }));
    expect(() => readResults(file)).toThrow(
      /schema is "pullcheck.io\/results\/v0", this pullcheck reads pullcheck.io\/results\/v2 and pullcheck.io\/results\/v1$/,
    );
    writeFileSync(file, '<html>');
    expect(() => readResults(file)).toThrow(/cannot read results: [^\n]+$/);
  });

  it('run IDs sort by time and differ within a second', () => {
    const now = new Date('2026-11-27T03:04:05.678Z');
    expect(newRunId(now)).toMatch(/^20261127-030405-[0-9a-f]{4}$/);
    expect(new Set(Array.from({ length: 20 }, () => newRunId(now))).size).toBeGreaterThan(1);
  });

  it('runResults fills in the schema and the tool version', () => {
    const r = runResults({ runId: 'x', startedAt: 'a', finishedAt: 'b', selection: { suites: [] }, targets: [] });
    expect(r.schema).toBe(RESULTS_SCHEMA);
    expect(r.tool.version).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe('jest reporter', () => {
  let root: string;
  const saved = process.env[RUN_CONTEXT_ENV];
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'pullcheck-root-'));
    delete process.env[RUN_CONTEXT_ENV];
  });
  afterEach(() => {
    if (saved === undefined) delete process.env[RUN_CONTEXT_ENV];
    else process.env[RUN_CONTEXT_ENV] = saved;
    rmSync(root, { recursive: true, force: true });
  });

  const run = (files: JestRun['testResults']): JestRun => ({ startTime: Date.now(), testResults: files });

  it('gives a jest run started by hand its run context (reports/<run>/default), and writes nothing after a unit-only run', async () => {
    const reporter = new PullcheckReporter({ rootDir: root });
    const file = process.env[RUN_CONTEXT_ENV] ?? '';
    expect(existsSync(file)).toBe(true);
    expect(loadRunContext()).toMatchObject({
      cluster: { provider: 'kind', profile: 'default' },
      clusterReady: false,
      reportManaged: false,
    });
    expect(loadRunContext().targetDir).toMatch(new RegExp(`^${root}/reports/\\d{8}-\\d{6}-[0-9a-f]{4}/default$`));
    await reporter.onRunComplete(
      undefined,
      run([{ testFilePath: join(root, 'test', 'x.test.ts'), testResults: [{ title: 'a', status: 'passed', failureMessages: [] }] }]),
    );
    expect(existsSync(join(root, 'reports'))).toBe(false);
    expect(existsSync(file)).toBe(false);
    expect(reporter.getLastError()).toBeUndefined();
  });

  it('after an e2e run writes target.json and the run report; managed runs get target.json only', async () => {
    const reporter = new PullcheckReporter({ rootDir: root });
    const { targetDir } = loadRunContext();
    await reporter.onRunComplete(
      undefined,
      run([
        {
          testFilePath: join(root, 'suites', 'smoke.test.ts'),
          testResults: [{ title: 'smoke/x: runs', status: 'passed', failureMessages: [] }],
        },
      ]),
    );
    expect(reporter.getLastError()).toBeUndefined();
    const t = JSON.parse(readFileSync(join(targetDir, 'target.json'), 'utf8')) as TargetResult;
    expect(t.scenarios.map((s) => s.id)).toEqual(['smoke/x']);
    expect(t.cluster).toMatchObject({ mode: 'kind', name: 'pullcheck', profile: 'default' });
    expect(readResults(join(root, 'reports', 'latest', 'results.json')).targets).toHaveLength(1);

    const managedDir = join(root, 'managed', 'run1', 'v1.36.3');
    process.env[RUN_CONTEXT_ENV] = writeRunContext({
      ...defaultRunContext(managedDir),
      cluster: { provider: 'kind', profile: 'default', k8s: 'v1.36.3' },
      clusterReady: true,
      reportManaged: true,
    });
    await new PullcheckReporter({ rootDir: root }).onRunComplete(
      undefined,
      run([{ testFilePath: join(root, 'suites', 'smoke.test.ts'), testResults: [] }]),
    );
    const managed = JSON.parse(readFileSync(join(managedDir, 'target.json'), 'utf8')) as TargetResult;
    expect(managed.kubernetesVersion).toBe('v1.36.3');
    expect(existsSync(join(root, 'managed', 'run1', 'results.json'))).toBe(false);
  });

  it('never writes a credential into run.json: the password goes in a 0600 file of its own', () => {
    const secret = writeSecretFile('canary-Sw0rdfish-9d1c');
    try {
      const file = writeRunContext({
        ...defaultRunContext(join(root, 't')),
        registry: { url: 'https://r.example', host: 'r.example', username: 'u', passwordFile: secret.file },
      });
      expect(readFileSync(file, 'utf8')).not.toContain('canary-Sw0rdfish-9d1c');
      expect(statSync(secret.file).mode & 0o777).toBe(0o600);
      expect(
        registryPassword({ ...defaultRunContext(), registry: { url: 'https://r.example', host: 'r.example', passwordFile: secret.file } }),
      ).toBe('canary-Sw0rdfish-9d1c');
    } finally {
      secret.remove();
    }
    expect(existsSync(secret.file)).toBe(false);
  });
});

describe("HTML report: the English edition's sections", () => {
  it("lists each section of today's English page, with what no scenario tests and why", () => {
    const html = renderHtml(twoVersions());
    const english = html.slice(html.indexOf('<h2 id="page-en">'));
    expect(english).toContain('By the English edition of the page');
    expect(english).toContain('>Interpretation of config.json</a>');
    expect(english).toContain('>ImagePullBackOff</a>');
    expect(english).toContain('>Serial and parallel image pulls</a>');
    expect(english).toMatch(
      />Image pull per runtime class<\/a><\/h3>\n<p>[^\n]*<\/p>\n<p class="skipped">No scenario tests it\.<\/p><p class="muted">Not covered: /,
    );
    expect(english).toContain('Not covered: no cloud&#39;s plugin or registry is reached');
  });
});
