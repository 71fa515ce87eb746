// The jest configuration of the e2e suites, made for the pullcheck that runs them: from a checkout
// (TypeScript, under tsx) or from the installed package (compiled JavaScript, under node_modules,
// which jest leaves out unless told), with a vendor's --suites-dir beside them.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
// Only paths and the entry points: jest.config.js imports this module in every jest process.
import { CODE_EXT, CODE_ROOT, codeModule, SELFTEST_DIR, SUITES_DIR } from '../infra/paths.ts';
import { ENTRY_POINTS } from './vendorimports.ts';

/** Transpiles TypeScript test files (pullcheck's in a checkout, a vendor's anywhere). */
export const TRANSFORM = { '^.+\\.ts$': codeModule('helpers/framework/jest/transform') };

/**
 * A module jest require()s outside its transform (global setup and teardown, the reporter): compiled,
 * the module itself; from a checkout, the JS file beside it that imports its TypeScript under tsx.
 */
function jestEntry(compiled: string, checkout: string): string {
  return CODE_EXT === 'js' ? codeModule(compiled) : join(CODE_ROOT, 'helpers/framework/jest', checkout);
}

/** The directories holding scenario suites: built-in, self-tests (a checkout's), a vendor's. */
export function scenarioRoots(vendorDirs: readonly string[]): string[] {
  return [SUITES_DIR, ...(existsSync(SELFTEST_DIR) ? [SELFTEST_DIR] : []), ...vendorDirs];
}

/** The `e2e` project: `npm run test:e2e` (jest.config.js) and every `pullcheck run` (runJest). */
export function e2eProject(vendorDirs: readonly string[] = []) {
  const roots = scenarioRoots(vendorDirs);
  return {
    displayName: 'e2e',
    rootDir: CODE_ROOT,
    roots,
    testMatch: ['**/*.test.ts', '**/*.test.js'],
    // The installed package's suites live under node_modules, where jest would look for none.
    testPathIgnorePatterns: [],
    haste: { retainAllFiles: true },
    transform: TRANSFORM,
    extensionsToTreatAsEsm: ['.ts'],
    // A vendor's suite reaches the pullcheck that runs it, whichever one its own node_modules hold.
    moduleNameMapper: Object.fromEntries(
      Object.entries(ENTRY_POINTS).map(([name, path]) => [`^${name.replace('/', '\\/')}$`, codeModule(path)]),
    ),
    testEnvironment: 'node',
    globalSetup: jestEntry('helpers/framework/jest/cluster-setup', 'global-setup.js'),
    globalTeardown: jestEntry('helpers/framework/jest/cluster-teardown', 'global-teardown.js'),
    // Scenarios wait on real pods; their own deadlines fail first with what they saw.
    slowTestThreshold: 60,
  };
}

/** The reporter that writes results.json, junit.xml and index.html from jest's view and the harness's records. */
export function reporters(vendorDirs: readonly string[] = []): unknown[] {
  return ['default', [jestEntry('helpers/report/jest-reporter', 'reporter.js'), { scenarioRoots: scenarioRoots(vendorDirs) }]];
}

/** What `pullcheck run` hands jest as --config: the e2e project alone, its files started in the order given. */
export function runJestConfig(vendorDirs: readonly string[], maxWorkers: number): string {
  return JSON.stringify({
    ...e2eProject(vendorDirs),
    testTimeout: 900_000,
    maxWorkers,
    reporters: reporters(vendorDirs),
    testSequencer: jestEntry('helpers/framework/jest/sequencer', 'test-sequencer.js'),
  });
}
