// actionlint checks the GitHub workflows in unit tests. Like the node's binaries it comes from its Go
// module, built once into pullcheck's cache: no prebuilt download, and CI's cache restore skips it.
import { join } from 'node:path';
import { cachedDir, cachePath } from '../infra/cache.ts';
import type { Logger } from '../infra/log.ts';
import { goInstall } from './go.ts';

/** Pinned here rather than in versions.ts: it builds nothing that runs on a node. */
export const ACTIONLINT_VERSION = 'v1.7.12';

/** Returns the path of the actionlint binary, building it on first use. */
export async function buildActionlint(logger: Logger): Promise<string> {
  const { dir, hit } = await cachedDir(cachePath('bin', `actionlint-${ACTIONLINT_VERSION}`), (out) =>
    logger.phase(`build actionlint ${ACTIONLINT_VERSION}`, () =>
      goInstall(`github.com/rhysd/actionlint/cmd/actionlint@${ACTIONLINT_VERSION}`, out, logger),
    ),
  );
  if (hit) logger.detail(`cached actionlint ${ACTIONLINT_VERSION}: ${dir}`);
  return join(dir, 'actionlint');
}
