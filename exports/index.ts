// `import … from 'pullcheck'`: a run from code, as `pullcheck run` does it (options → plan → run).
export { loadCatalog, SUITES_DIR, type CatalogEntry } from '../helpers/run/catalog.ts';
export { planRun, type Plan } from '../helpers/run/plan.ts';
export { resolveRunOptions, UsageError, type RunFlags, type RunOptions } from '../helpers/run/options.ts';
export { runPullcheck, type RunOutcome } from '../helpers/run/run.ts';
export { Logger } from '../helpers/infra/log.ts';
export type { RunResults } from '../helpers/report/schema.ts';
