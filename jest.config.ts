/** @jest-config-loader esbuild-register */
// Three projects: `unit` (pure logic, seconds, no Docker), `cli` (the command line as users run it)
// and `e2e` (real kind clusters, real registries, real images). The e2e run's report (results.json, junit.xml, index.html) goes to reports/<run>/.
import type { Config } from 'jest';

const common = {
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': [
      'ts-jest',
      {
        useESM: true,
        // Transpile only (the typecheck is `tsc`'s job); set in the tsconfig, ts-jest's own option is deprecated.
        tsconfig: {
          allowImportingTsExtensions: true,
          noEmit: false,
          module: 'ESNext',
          moduleResolution: 'Bundler',
          target: 'ES2022',
          isolatedModules: true,
        },
      },
    ],
  },
  testEnvironment: 'node',
} satisfies Config;

// PULLCHECK_PROJECTS=unit|e2e picks one project (npm run test:unit / test:e2e). jest's own
// --selectProjects would swallow the test paths that follow it.
const only = process.env['PULLCHECK_PROJECTS'];

const config: Config = {
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/cli/', '<rootDir>/test/selftest/'],
    },
    // The command line as users run it: bad input (no cluster), and whole runs it starts itself.
    { ...common, displayName: 'cli', testMatch: ['<rootDir>/test/cli/**/*.test.ts'] },
    // Scenarios wait on real pods; their own deadlines fail first with what they saw.
    {
      ...common,
      displayName: 'e2e',
      // Conformance suites, and the framework's self-tests (pullcheck run --selftest), on a real cluster.
      testMatch: ['<rootDir>/suites/**/*.test.ts', '<rootDir>/test/selftest/**/*.test.ts'],
      globalSetup: '<rootDir>/helpers/framework/jest/global-setup.js',
      globalTeardown: '<rootDir>/helpers/framework/jest/global-teardown.js',
      slowTestThreshold: 60,
    },
  ].filter((p) => !only || only.split(',').includes(p.displayName)),
  testTimeout: 900_000,
  // By hand, one suite file at a time; `pullcheck run` passes --maxWorkers for its phases.
  maxWorkers: 1,
  reporters: ['default', '<rootDir>/helpers/framework/jest/reporter.js'],
};

export default config;
