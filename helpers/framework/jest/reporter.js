// From a checkout: jest loads reporters outside its transform; this imports the TypeScript reporter
// under the tsx that the npm scripts and `pullcheck run` start jest with (the package uses the
// compiled one). Jest constructs the class only once this module has settled.
const { default: PullcheckReporter } = await import('../../report/jest-reporter.ts');

export default PullcheckReporter;
