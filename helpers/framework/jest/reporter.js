// Jest loads reporters outside its ESM transform; tsx loads the TypeScript reporter. Jest constructs
// the class only once this module has settled, so the dynamic import finishes first.
import { register } from 'tsx/esm/api';

register();

const { default: PullcheckReporter } = await import('../../report/jest-reporter.ts');

export default PullcheckReporter;
