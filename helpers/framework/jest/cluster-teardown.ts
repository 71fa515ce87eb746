// After the e2e suites of a jest run started by hand: delete the cluster if global setup created it.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { cacheDir } from '../../infra/cache.ts';
import { defaultLogFile, Logger } from '../../infra/log.ts';
import { loadRunContext } from '../../run/context.ts';
import { e2eStateFile } from './state.ts';

export async function tearDownCluster(): Promise<void> {
  const file = e2eStateFile();
  if (!existsSync(file)) return;
  const state = JSON.parse(readFileSync(file, 'utf8')) as { created: boolean; keep: boolean };
  rmSync(file, { force: true });
  if (!state.created) return;
  const logger = new Logger(defaultLogFile(cacheDir(), 'e2e-teardown'));
  // The cluster code loads only for a cluster this jest run made, which `pullcheck run` never does.
  const { providerFor } = await import('../../cluster/provider.ts');
  const provider = providerFor(loadRunContext().cluster);
  if (state.keep) {
    logger.info(`--keep: leaving cluster ${provider.name} (pullcheck cluster down removes it)`);
    return;
  }
  await provider.down(logger);
}

/** jest's global hook in the package (compiled): the default export. */
export default tearDownCluster;
