// The report when jest is run directly (npm run test:e2e): jest's view and the harness's records
// become one target, and, unless `pullcheck run` assembles several targets itself, one run report.

import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, sep } from 'node:path';
import { describeTarget, requestedVersion } from '../cluster/describe.ts';
import { cacheDir } from '../infra/cache.ts';
import { targetRegistry } from '../model/results.ts';
import { defaultRunContext, hasRunContext, loadRunContext, type RunContext, useRunContext } from '../run/context.ts';
import {
  type JestRun,
  newRunId,
  ranScenarios,
  readEnvironment,
  runResults,
  type TargetEnvironment,
  targetFromJest,
  writeReport,
} from './assemble.ts';
import { ScenarioProgress } from './progress.ts';
import { summaryLine, tally } from './verdict.ts';

/** What the reporter reads of jest's GlobalConfig. */
export interface ReporterGlobalConfig {
  rootDir: string;
}

/** What is known of the target before the harness writes environment.json (or if it never does). */
function environmentDefaults(ctx: RunContext): TargetEnvironment {
  const cluster = describeTarget(ctx.cluster);
  const kubernetesVersion = requestedVersion(ctx.cluster) ?? 'unknown';
  return {
    kubernetesVersion,
    nodes: [],
    cluster,
    registry: targetRegistry(ctx.registry),
  };
}

export default class PullcheckReporter {
  private readonly ctx: RunContext;
  /** The context file this reporter wrote (a jest run started by hand), removed when the run ends. */
  private readonly ownFile: string | undefined;
  private readonly scenarioRoots: string[];
  private lastError: Error | undefined;
  /** `[37/144] …` as scenarios finish, and Sonobuoy's progress endpoint when it runs as a plugin. */
  private readonly progress: ScenarioProgress | undefined;

  /** `scenarioRoots`: the directories whose files are scenario suites (a run's config names a vendor's too). */
  constructor(globalConfig: ReporterGlobalConfig, options?: { scenarioRoots?: string[] }) {
    // Jest builds reporters before it starts the test workers, which inherit this environment: a
    // jest run started by hand gets its run context (and report directory) here.
    if (hasRunContext()) {
      this.ctx = loadRunContext();
    } else {
      this.ctx = defaultRunContext(join(globalConfig.rootDir, 'reports', newRunId(new Date()), 'default'));
      this.ownFile = join(cacheDir(), 'state', `run-context-${process.pid}.json`);
      useRunContext(this.ctx, this.ownFile);
    }
    this.scenarioRoots = (
      options?.scenarioRoots ?? [join(globalConfig.rootDir, 'suites'), join(globalConfig.rootDir, 'test', 'selftest')]
    ).map((root) => root + sep);
    const total = this.ctx.scenarioIds?.length ?? 0;
    if (total > 0)
      this.progress = new ScenarioProgress({
        targetDir: this.ctx.targetDir,
        total,
        write: (line) => process.stderr.write(`${line}\n`),
        sonobuoyPort: process.env['SONOBUOY_PROGRESS_PORT'],
      });
  }

  onTestCaseResult(): void {
    this.progress?.update();
  }

  onTestResult(): void {
    this.progress?.update();
  }

  async onRunComplete(_contexts: unknown, jest: JestRun): Promise<void> {
    this.progress?.update();
    await this.progress?.settled();
    if (this.ownFile) rmSync(this.ownFile, { force: true });
    const isScenarioFile = (p: string) => this.scenarioRoots.some((root) => p.startsWith(root));
    if (!ranScenarios(jest, isScenarioFile)) return;
    const { targetDir } = this.ctx;
    try {
      const target = targetFromJest(jest, {
        name: basename(targetDir),
        targetDir,
        environment: readEnvironment(targetDir, environmentDefaults(this.ctx)),
        isScenarioFile,
      });
      mkdirSync(targetDir, { recursive: true });
      writeFileSync(join(targetDir, 'target.json'), `${JSON.stringify(target, null, 2)}\n`);
      if (this.ctx.reportManaged) return;
      const runDir = dirname(targetDir);
      const suites = [
        ...new Set(
          jest.testResults
            .filter((f) => isScenarioFile(f.testFilePath))
            .map((f) => basename(f.testFilePath).replace(/\.test\.[cm]?[jt]s$/, '')),
        ),
      ].sort();
      const results = runResults({
        runId: basename(runDir),
        startedAt: target.startedAt,
        finishedAt: target.finishedAt,
        selection: { suites },
        targets: [target],
      });
      writeReport(runDir, results);
      process.stderr.write(`pullcheck report: ${relative(process.cwd(), join(runDir, 'index.html'))} (${summaryLine(tally(results))})\n`);
    } catch (error) {
      // Jest fails the run when a reporter reports an error; a run without its report is not a pass.
      this.lastError = new Error(
        `pullcheck report: could not write the report for ${targetDir}: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
      process.stderr.write(`${this.lastError.message}\n`);
    }
  }

  getLastError(): Error | undefined {
    return this.lastError;
  }
}
