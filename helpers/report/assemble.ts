// From what a run leaves behind to the report tree, and from the tree to files. Two witnesses are
// merged per target: jest knows every test's fate (including those the harness never reached: a
// failed beforeAll, a jest timeout), the harness's records know what jest cannot (a scenario that
// skipped itself passes in jest's eyes; the rules applied; the evidence collected).
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { isRecord } from '../infra/guards.ts';
import { PACKAGE_ROOT } from '../infra/paths.ts';
import { redact } from '../infra/redact.ts';
import { sharedCauses } from './causes.ts';
import { certificationVerdict, renderCertificationHtml, renderHtml } from './html.ts';
import { renderJUnit } from './junit.ts';
import {
  type CertificationItem,
  RESULTS_SCHEMA,
  RESULTS_SCHEMA_V1,
  type RunResults,
  SCENARIO_STATUSES,
  type ScenarioRecord,
  type ScenarioStatus,
  type TargetResult,
} from './schema.ts';

/** The part of jest's per-test result the report reads; jest's AssertionResult has this shape. */
export interface JestTestCase {
  title: string;
  /** passed, failed, skipped, pending, todo, disabled, focused. */
  status: string;
  duration?: number | null;
  failureMessages: string[];
}

/** The part of jest's per-file TestResult the report reads. */
export interface JestTestFile {
  testFilePath: string;
  testResults: JestTestCase[];
  /** The file could not run at all (an import failed, the worker died). */
  testExecError?: { message: string; stack?: string | null | undefined };
}

/** The part of jest's AggregatedResult the report reads. */
export interface JestRun {
  startTime: number;
  testResults: JestTestFile[];
  runExecError?: { message: string };
}

/** What the harness writes to `<targetDir>/environment.json` once the cluster is up. */
export interface TargetEnvironment {
  kubernetesVersion: string;
  nodes: TargetResult['nodes'];
  cluster: TargetResult['cluster'];
  registry: TargetResult['registry'];
}

export interface TargetInput {
  /** Directory name of the target inside the run directory. */
  name: string;
  /** Where the harness wrote `scenarios/*.json` and evidence. */
  targetDir: string;
  environment: TargetEnvironment;
  finishedAt?: Date;
  /** Which jest test files hold scenarios (the unit project's do not); default: files under a `suites/` directory. */
  isScenarioFile?: (testFilePath: string) => boolean;
}

const REASON_LINES = 12;

function oneLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';
}

/** `<id>: <title>`, as `scenario()` names its test; a test named otherwise is its own ID. */
export function splitTestTitle(title: string): { id: string; title: string } {
  const at = title.indexOf(': ');
  return at < 0 ? { id: title, title } : { id: title.slice(0, at), title: title.slice(at + 2) };
}

/**
 * The first lines of jest's failure messages: the error, not the stack. expect's messages carry
 * terminal colours, and unlike the records they have not been through redact().
 */
export function reasonFromJest(messages: readonly string[]): string {
  const lines = messages.flatMap((m) => m.replace(/\u001b\[[0-9;]*m/g, '').split('\n')).filter((l) => !/^\s+at /.test(l));
  while (lines.length && lines.at(-1)?.trim() === '') lines.pop();
  return redact(lines.slice(0, REASON_LINES).join('\n').trim()) || '(jest reported a failure without a message)';
}

function isScenarioRecord(v: unknown): v is ScenarioRecord {
  return (
    isRecord(v) &&
    typeof v['id'] === 'string' &&
    typeof v['suite'] === 'string' &&
    typeof v['title'] === 'string' &&
    typeof v['status'] === 'string' &&
    (SCENARIO_STATUSES as readonly string[]).includes(v['status']) &&
    typeof v['durationMs'] === 'number' &&
    Array.isArray(v['rules']) &&
    Array.isArray(v['evidence'])
  );
}

/**
 * The records the harness wrote. A file that does not parse (a worker killed mid-write) is left out:
 * jest's own result for that test still gives its verdict.
 */
export function readScenarioRecords(targetDir: string): Map<string, ScenarioRecord> {
  const dir = join(targetDir, 'scenarios');
  const records = new Map<string, ScenarioRecord>();
  if (!existsSync(dir)) return records;
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    try {
      const parsed: unknown = JSON.parse(readFileSync(join(dir, file), 'utf8'));
      if (isScenarioRecord(parsed)) records.set(parsed.id, parsed);
    } catch {
      // See above: jest's result stands in for it.
    }
  }
  return records;
}

/**
 * `<targetDir>/environment.json` over the defaults, field by field: the report matters more than
 * the environment's details, so a missing or malformed file never costs the report.
 */
export function readEnvironment(targetDir: string, defaults: TargetEnvironment): TargetEnvironment {
  const file = join(targetDir, 'environment.json');
  if (!existsSync(file)) return defaults;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return defaults;
  }
  if (!isRecord(raw)) return defaults;
  const nodes = Array.isArray(raw['nodes'])
    ? raw['nodes'].filter(
        (n): n is TargetEnvironment['nodes'][number] =>
          isRecord(n) &&
          typeof n['name'] === 'string' &&
          typeof n['kubeletVersion'] === 'string' &&
          typeof n['containerRuntime'] === 'string',
      )
    : defaults.nodes;
  const cluster = raw['cluster'];
  const registry = raw['registry'];
  return {
    kubernetesVersion: typeof raw['kubernetesVersion'] === 'string' ? raw['kubernetesVersion'] : defaults.kubernetesVersion,
    nodes,
    cluster:
      isRecord(cluster) && (cluster['mode'] === 'kind' || cluster['mode'] === 'existing') && typeof cluster['name'] === 'string'
        ? (cluster as TargetEnvironment['cluster'])
        : defaults.cluster,
    registry:
      isRecord(registry) && (registry['mode'] === 'local' || registry['mode'] === 'vendor')
        ? (registry as TargetEnvironment['registry'])
        : defaults.registry,
  };
}

const SCENARIO_FILE = /[/\\]suites[/\\]/;

function merge(test: JestTestCase, record: ScenarioRecord | undefined): ScenarioRecord | undefined {
  const { id, title } = splitTestTitle(test.title);
  const jestFailed = test.status === 'failed';
  if (!record) {
    if (jestFailed) {
      return {
        id,
        suite: id.split('/')[0] ?? id,
        title,
        status: 'failed',
        durationMs: test.duration ?? 0,
        reason: reasonFromJest(test.failureMessages),
        rules: [],
        evidence: [],
      };
    }
    // Not run: left out by --focus/--skip (it.skip), or todo. Such scenarios are not part of the report.
    if (test.status !== 'passed') return undefined;
    return { id, suite: id.split('/')[0] ?? id, title, status: 'passed', durationMs: test.duration ?? 0, rules: [], evidence: [] };
  }
  // Blocked, could not run, not applicable: the harness's verdict (jest saw a pass or a failure).
  if (record.status !== 'passed' && record.status !== 'failed') return record;
  // The record can say passed while jest says failed: jest's timeout fires while the body still
  // runs, and the body may finish and write its record afterwards. A timeout is never success.
  if (jestFailed && record.status !== 'failed') {
    return { ...record, status: 'failed', reason: reasonFromJest(test.failureMessages) };
  }
  return record;
}

export function targetFromJest(jest: JestRun, o: TargetInput): TargetResult {
  const isScenarioFile = o.isScenarioFile ?? ((p: string) => SCENARIO_FILE.test(p));
  const records = readScenarioRecords(o.targetDir);
  const scenarios = new Map<string, ScenarioRecord>();
  const errors: string[] = [];
  if (jest.runExecError) errors.push(`jest: ${oneLine(jest.runExecError.message)}`);
  for (const file of jest.testResults.filter((f) => isScenarioFile(f.testFilePath))) {
    // Only the file is known to have failed, not which scenarios it held: none are invented.
    if (file.testExecError) errors.push(`${basename(file.testFilePath)} could not run: ${redact(oneLine(file.testExecError.message))}`);
    for (const test of file.testResults) {
      const merged = merge(test, records.get(splitTestTitle(test.title).id));
      if (merged) scenarios.set(merged.id, merged);
    }
  }
  // A record jest has no test for comes from a file whose worker died after that scenario ended:
  // its verdict is real.
  for (const [id, record] of records) if (!scenarios.has(id)) scenarios.set(id, record);
  return {
    name: o.name,
    ...o.environment,
    startedAt: new Date(jest.startTime).toISOString(),
    finishedAt: (o.finishedAt ?? new Date()).toISOString(),
    scenarios: [...scenarios.values()].sort((a, b) => a.id.localeCompare(b.id)),
    ...(errors.length ? { error: errors.join('\n') } : {}),
  };
}

/** True when jest ran at least one scenario file (a unit-only run leaves no report). */
export function ranScenarios(jest: JestRun, isScenarioFile: (p: string) => boolean = (p) => SCENARIO_FILE.test(p)): boolean {
  return jest.testResults.some((f) => isScenarioFile(f.testFilePath));
}

export function toolVersion(): string {
  try {
    const pkg: unknown = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8'));
    return isRecord(pkg) && typeof pkg['version'] === 'string' ? pkg['version'] : 'unknown';
  } catch {
    return 'unknown';
  }
}

export function runResults(o: {
  runId: string;
  startedAt: string;
  finishedAt: string;
  selection: RunResults['selection'];
  targets: TargetResult[];
  certification?: CertificationItem[];
}): RunResults {
  const causes = sharedCauses(o.targets);
  return {
    schema: RESULTS_SCHEMA,
    runId: o.runId,
    tool: { name: 'pullcheck', version: toolVersion() },
    startedAt: o.startedAt,
    finishedAt: o.finishedAt,
    selection: o.selection,
    targets: o.targets,
    ...(o.certification ? { certification: o.certification } : {}),
    ...(causes.length ? { causes } : {}),
  };
}

/** `YYYYMMDD-HHMMSS-<4 hex>` in UTC: sorts by time on any machine, unique when two runs start in the same second. */
export function newRunId(now: Date): string {
  const stamp = now
    .toISOString()
    .replace(/\.\d+Z$/, '')
    .replace(/[-:]/g, '')
    .replace('T', '-');
  return `${stamp}-${randomBytes(2).toString('hex')}`;
}

function writeRendered(dir: string, results: RunResults): void {
  writeFileSync(join(dir, 'junit.xml'), renderJUnit(results));
  writeFileSync(join(dir, 'index.html'), renderHtml(results));
  if (results.certification) {
    writeFileSync(join(dir, 'certification.json'), `${JSON.stringify(certificationDocument(results), null, 2)}\n`);
    writeFileSync(join(dir, 'certification.html'), renderCertificationHtml(results));
  }
}

/** What a vendor hands on: the registry, the versions, the date and each capability's verdict and scenarios. */
export function certificationDocument(results: RunResults) {
  const items = results.certification ?? [];
  const vendor = results.targets.find((t) => t.registry.mode === 'vendor');
  return {
    schema: 'pullcheck.io/certification/v1',
    registry: vendor?.registry.url ?? '',
    kubernetesVersions: results.targets.map((t) => t.kubernetesVersion),
    date: results.finishedAt,
    runId: results.runId,
    tool: results.tool,
    verdict: certificationVerdict(items),
    certified: items.every((c) => c.required === false || c.status === 'passed' || c.status === 'out of scope'),
    // Certified with --registry-preseeded: every capability that passed was proven on the vendor's references.
    ...(vendor?.registry.pullOnly ? { pullOnly: true } : {}),
    capabilities: items,
    // What the run left on the registry (repositories it could not delete), when it pushed there.
    ...(results.registryCleanup ? { registryCleanup: results.registryCleanup } : {}),
  };
}

/**
 * Writes results.json, junit.xml and index.html into `runDir`, then points `latest` beside it at
 * the run. The link is made under a temporary name and renamed over the old one, so a reader never
 * finds `latest` missing.
 */
export function writeReport(runDir: string, results: RunResults): void {
  mkdirSync(runDir, { recursive: true });
  writeFileSync(join(runDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  writeRendered(runDir, results);
  const latest = join(dirname(runDir), 'latest');
  if (existsSync(latest) && !lstatSync(latest).isSymbolicLink()) {
    throw new Error(`cannot point ${latest} at the new report: it exists and is not a symbolic link`);
  }
  const temp = `${latest}.tmp-${process.pid}`;
  rmSync(temp, { force: true });
  symlinkSync(basename(runDir), temp);
  renameSync(temp, latest);
}

export function readResults(file: string): RunResults {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`${file}: cannot read results: ${oneLine(error)}`, { cause: error });
  }
  if (!isRecord(raw)) throw new Error(`${file}: not a pullcheck results file (expected a JSON object)`);
  if (raw['schema'] !== RESULTS_SCHEMA && raw['schema'] !== RESULTS_SCHEMA_V1) {
    throw new Error(
      `${file}: schema is ${JSON.stringify(raw['schema'] ?? null)}, this pullcheck reads ${RESULTS_SCHEMA} and ${RESULTS_SCHEMA_V1}`,
    );
  }
  if (typeof raw['runId'] !== 'string' || !Array.isArray(raw['targets'])) {
    throw new Error(`${file}: not a pullcheck results file (runId or targets missing)`);
  }
  return raw['schema'] === RESULTS_SCHEMA_V1 ? migrateV1(raw) : (raw as unknown as RunResults);
}

/** v1's `skipped` with a `skip` kind, as v2's verdicts: a baseline from an older run still compares. */
const V1_SKIPS: Record<string, ScenarioStatus> = { declared: 'not-applicable', unavailable: 'could-not-run', blocked: 'blocked' };

export function migrateV1(raw: Record<string, unknown>): RunResults {
  const targets = (raw['targets'] as Record<string, unknown>[]).map((t) => ({
    ...t,
    scenarios: ((t['scenarios'] ?? []) as Record<string, unknown>[]).map((s) => {
      const { skip, explainedBy, ...rest } = s;
      if (rest['status'] !== 'skipped') return rest;
      const status = V1_SKIPS[String(skip)] ?? 'could-not-run';
      const blockedBy =
        status === 'blocked' && typeof explainedBy === 'string'
          ? { source: 'posture', cause: 'v1', nodes: [], line: explainedBy, fails: true }
          : undefined;
      return { ...rest, status, ...(blockedBy ? { blockedBy } : {}) };
    }),
  }));
  return { ...raw, schema: RESULTS_SCHEMA, targets } as unknown as RunResults;
}

/** Renders junit.xml and index.html again from a results.json, next to it (the `report` command). */
export function rerenderReport(resultsJsonPath: string): { dir: string } {
  const results = readResults(resultsJsonPath);
  const dir = dirname(resultsJsonPath);
  writeRendered(dir, results);
  return { dir };
}
