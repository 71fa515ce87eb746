// The seam between the npm package and the runner image: `npm pack` of this repository, and that
// tarball installed with its production dependencies into a directory that becomes /opt/pullcheck.
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../infra/exec.ts';
import type { Logger } from '../../infra/log.ts';

/** `npm pack` of `root` into `outDir`; returns the tarball's path. */
export async function packTool(root: string, outDir: string, logger: Logger): Promise<string> {
  mkdirSync(outDir, { recursive: true });
  const { stdout } = await run(['npm', 'pack', '--json', '--pack-destination', outDir], { cwd: root, logger });
  const [packed] = JSON.parse(stdout) as { filename: string }[];
  if (!packed) throw new Error(`npm pack in ${root} named no tarball`);
  return join(outDir, packed.filename);
}

/**
 * The tarball → `dest` (which becomes /opt/pullcheck): unpacked, then its production dependencies
 * installed beside it from the npm cache where it has them, the repository's lockfile pinning them.
 */
export async function installTool(tarball: string, dest: string, lockfile: string | undefined, logger: Logger): Promise<void> {
  mkdirSync(dest, { recursive: true });
  await run(['tar', '-xzf', tarball, '-C', dest, '--strip-components=1'], { logger });
  // The package runs compiled JavaScript (npm pack builds dist/): its dependencies are all it needs.
  if (!existsSync(join(dest, 'dist', 'cli', 'main.js')))
    throw new Error(`${tarball} has no dist/cli/main.js: pack it with npm pack (its prepack builds it)`);
  if (lockfile) copyFileSync(lockfile, join(dest, 'package-lock.json'));
  await run(['npm', 'install', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts'], { cwd: dest, logger });
}
