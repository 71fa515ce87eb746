import { join } from 'node:path';
import { cacheDir } from '../../infra/cache.ts';

/**
 * Where global setup tells global teardown (both in jest's main process) what it created: one file
 * per process, so that a run started inside the tests (`pullcheck run` from the cli project, whose
 * jest finds the cluster already there) cannot overwrite or remove this run's record.
 */
export function e2eStateFile(): string {
  return join(cacheDir(), 'state', `e2e-${process.pid}.json`);
}
