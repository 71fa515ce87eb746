// After the e2e suites: delete the cluster if global setup created it (PULLCHECK_KEEP=1 keeps it).
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { cacheDir } from '../../infra/cache.ts';
import { clusterDown } from '../../cluster/cluster.ts';
import { defaultLogFile, Logger } from '../../infra/log.ts';
import { e2eStateFile } from './state.ts';

export async function tearDownCluster(): Promise<void> {
  const file = e2eStateFile();
  if (!existsSync(file)) return;
  const state = JSON.parse(readFileSync(file, 'utf8')) as { clusterName: string; created: boolean };
  rmSync(file, { force: true });
  const logger = new Logger(defaultLogFile(cacheDir(), 'e2e-teardown'));
  if (!state.created) return;
  if (process.env['PULLCHECK_KEEP'] === '1') {
    logger.info(`PULLCHECK_KEEP=1: leaving cluster ${state.clusterName} (pullcheck cluster down removes it)`);
    return;
  }
  await clusterDown(state.clusterName, logger);
}
