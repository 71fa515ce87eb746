import { join } from 'node:path';
import { cacheDir } from '../cache.ts';

/** Where global setup tells global teardown what it created, one file per profile. */
export function e2eStateFile(): string {
  return join(cacheDir(), 'state', `e2e-${process.env['PULLCHECK_PROFILE'] ?? 'default'}.json`);
}
