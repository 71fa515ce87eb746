// Three projects: `unit` (pure logic, seconds, no Docker), `cli` (the command line as users run it)
// and `e2e` (real kind clusters, real registries, real images). The e2e run's report (results.json, junit.xml, index.html) goes to reports/<run>/.
// Jest runs under `node --import tsx` (the npm scripts): the e2e project's modules are TypeScript.
import { e2eProject, reporters, TRANSFORM } from './helpers/run/jestconfig.ts';

const common = {
  extensionsToTreatAsEsm: ['.ts'],
  transform: TRANSFORM,
  testEnvironment: 'node',
};

// PULLCHECK_PROJECTS=unit|e2e picks one project (npm run test:unit / test:e2e). jest's own
// --selectProjects would swallow the test paths that follow it.
const only = process.env['PULLCHECK_PROJECTS'];

/** @type {import('jest').Config} */
const config = {
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/cli/', '<rootDir>/test/selftest/'],
    },
    // The command line as users run it: bad input (no cluster), and whole runs it starts itself.
    { ...common, displayName: 'cli', testMatch: ['<rootDir>/test/cli/**/*.test.ts'] },
    // Conformance suites, and the framework's self-tests (pullcheck run --selftest), on a real cluster.
    e2eProject(),
  ].filter((p) => !only || only.split(',').includes(p.displayName)),
  testTimeout: 900_000,
  // By hand, one suite file at a time; `pullcheck run` passes --maxWorkers for its phases.
  maxWorkers: 1,
  reporters: reporters(),
};

export default config;
