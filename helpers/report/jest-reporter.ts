// The report when jest is run directly (npm test, CI): jest's view and the harness's records become
// one target, and, unless `pullcheck run` assembles several targets itself, one run report.
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { loadProfile } from '../cluster/profile.ts';
import { ranScenarios, readEnvironment, runCounts, runResults, targetFromJest, writeReport, newRunId, type JestRun, type TargetEnvironment } from './assemble.ts';
import { TARGET_DIR_ENV } from './records.ts';

export const REPORT_MANAGED_ENV = 'PULLCHECK_REPORT_MANAGED';

/** What the reporter reads of jest's GlobalConfig. */
export interface ReporterGlobalConfig {
  rootDir: string;
}

/** What is known of the target before the harness writes environment.json (or if it never does). */
function environmentDefaults(env: NodeJS.ProcessEnv): TargetEnvironment {
  const vendor = env['PULLCHECK_REGISTRY'];
  const registry: TargetEnvironment['registry'] = vendor ? { mode: 'vendor', url: vendor } : { mode: 'local' };
  if (env['PULLCHECK_KUBECONFIG']) {
    const context = env['PULLCHECK_CONTEXT'];
    return { kubernetesVersion: 'unknown', nodes: [], cluster: { mode: 'existing', name: context ?? 'existing', ...(context ? { context } : {}) }, registry };
  }
  const profileName = env['PULLCHECK_PROFILE'] ?? 'default';
  let clusterName = `pullcheck-${profileName}`;
  let version = env['PULLCHECK_K8S'];
  try {
    const profile = loadProfile(profileName);
    clusterName = profile.clusterName;
    version ??= profile.kubernetesVersion.raw;
  } catch {
    // An unknown profile failed the run long before this; the report still gets written.
  }
  return { kubernetesVersion: version ?? 'unknown', nodes: [], cluster: { mode: 'kind', name: clusterName, profile: profileName }, registry };
}

export default class PullcheckReporter {
  private readonly targetDir: string;
  private readonly scenarioRoot: string;
  private lastError: Error | undefined;

  constructor(globalConfig: ReporterGlobalConfig) {
    // Jest builds reporters before it starts the test workers, which inherit this environment:
    // that is how the harness learns where to write its records.
    const chosen = process.env[TARGET_DIR_ENV];
    if (chosen) {
      this.targetDir = resolve(chosen);
    } else {
      const name = (process.env['PULLCHECK_K8S'] || 'default').replace(/[^A-Za-z0-9._-]+/g, '-');
      this.targetDir = join(globalConfig.rootDir, 'reports', newRunId(new Date()), name);
      process.env[TARGET_DIR_ENV] = this.targetDir;
    }
    this.scenarioRoot = join(globalConfig.rootDir, 'suites') + sep;
  }

  async onRunComplete(_contexts: unknown, jest: JestRun): Promise<void> {
    const isScenarioFile = (p: string) => p.startsWith(this.scenarioRoot);
    if (!ranScenarios(jest, isScenarioFile)) return;
    try {
      const target = targetFromJest(jest, {
        name: basename(this.targetDir),
        targetDir: this.targetDir,
        environment: readEnvironment(this.targetDir, environmentDefaults(process.env)),
        isScenarioFile,
      });
      mkdirSync(this.targetDir, { recursive: true });
      writeFileSync(join(this.targetDir, 'target.json'), `${JSON.stringify(target, null, 2)}\n`);
      if (process.env[REPORT_MANAGED_ENV] === '1') return;
      const runDir = dirname(this.targetDir);
      const suites = [...new Set(jest.testResults.filter((f) => isScenarioFile(f.testFilePath)).map((f) => basename(f.testFilePath).replace(/\.test\.[cm]?[jt]s$/, '')))].sort();
      const focus = process.env['PULLCHECK_FOCUS'];
      const skip = process.env['PULLCHECK_SKIP'];
      const results = runResults({
        runId: basename(runDir),
        startedAt: target.startedAt,
        finishedAt: target.finishedAt,
        selection: { suites, ...(focus ? { focus } : {}), ...(skip ? { skip } : {}) },
        targets: [target],
      });
      writeReport(runDir, results);
      const c = runCounts(results);
      process.stderr.write(`pullcheck report: ${relative(process.cwd(), join(runDir, 'index.html'))} (${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped)\n`);
    } catch (error) {
      // Jest fails the run when a reporter reports an error; a run without its report is not a pass.
      this.lastError = new Error(`pullcheck report: could not write the report for ${this.targetDir}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      process.stderr.write(`${this.lastError.message}\n`);
    }
  }

  getLastError(): Error | undefined {
    return this.lastError;
  }
}
