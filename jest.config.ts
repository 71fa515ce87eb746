/** @jest-config-loader esbuild-register */
// Two projects: `unit` (pure logic, seconds, no Docker) and `e2e` (real kind clusters, a real
// registry, real images). The e2e run's report (results.json, junit.xml, index.html) goes to reports/<run>/.
import type { Config } from 'jest';

const common = {
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, isolatedModules: true, tsconfig: { allowImportingTsExtensions: true, noEmit: false, module: 'ESNext', moduleResolution: 'Bundler', target: 'ES2022' } }] },
  testEnvironment: 'node',
} satisfies Config;

// PULLCHECK_PROJECTS=unit|e2e picks one project (npm run test:unit / test:e2e). jest's own
// --selectProjects would swallow the test paths that follow it.
const only = process.env['PULLCHECK_PROJECTS'];

const config: Config = {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/**/*.test.ts'], testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/cli/'] },
    // The command line as users run it: bad input (no cluster), and whole runs it starts itself.
    { ...common, displayName: 'cli', testMatch: ['<rootDir>/test/cli/**/*.test.ts'] },
    // Scenarios wait on real pods; their own deadlines fail first with what they saw.
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/suites/**/*.test.ts'],
      globalSetup: '<rootDir>/helpers/framework/jest/global-setup.js',
      globalTeardown: '<rootDir>/helpers/framework/jest/global-teardown.js',
      slowTestThreshold: 60,
    },
  ].filter((p) => !only || only.split(',').includes(p.displayName)),
  testTimeout: 900_000,
  // Suites that change nodes (credentials, kubelet restarts, pre-loaded images) must not overlap
  // with other suites on the same cluster; one worker runs the files one after another.
  maxWorkers: 1,
  reporters: ['default', '<rootDir>/helpers/framework/jest/reporter.js'],
};

export default config;
