// `import … from 'pullcheck'`: a run from code, as `pullcheck run` does it (options → plan → run).

export { Logger } from '../helpers/infra/log.ts';
export type { RunResults } from '../helpers/report/schema.ts';
export { type CatalogEntry, loadCatalog, SUITES_DIR } from '../helpers/run/catalog.ts';
export { type RunFlags, type RunOptions, resolveRunOptions, UsageError } from '../helpers/run/options.ts';
export { type Plan, planRun } from '../helpers/run/plan.ts';
export { type RunOutcome, runPullcheck } from '../helpers/run/run.ts';
