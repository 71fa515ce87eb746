// The seam between the npm package and the runner image: `npm pack` of this repository, and that
// tarball installed with its production dependencies into a directory that becomes /opt/pullcheck.
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
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
 * What a package without compiled JavaScript (bin running TypeScript through tsx) still starts from
 * its devDependencies when it runs suites; a compiled package lists what it runs as dependencies.
 */
const SOURCE_PACKAGE_RUNTIME = ['jest', 'ts-jest', 'esbuild-register', 'typescript'];

/**
 * The tarball → `dest` (which becomes /opt/pullcheck): unpacked, then its production dependencies
 * installed beside it from the npm cache where it has them, the repository's lockfile pinning them
 * (npm install, not ci: a source package's manifest is edited first).
 */
export async function installTool(tarball: string, dest: string, lockfile: string | undefined, logger: Logger): Promise<void> {
  mkdirSync(dest, { recursive: true });
  await run(['tar', '-xzf', tarball, '-C', dest, '--strip-components=1'], { logger });
  const manifest = join(dest, 'package.json');
  const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as {
    dependencies?: Record<string, string>;
    devDependencies?: Record<string, string>;
  };
  if (!existsSync(join(dest, 'dist'))) {
    for (const name of SOURCE_PACKAGE_RUNTIME) {
      const version = pkg.devDependencies?.[name];
      if (version === undefined) continue;
      pkg.dependencies = { ...pkg.dependencies, [name]: version };
      delete pkg.devDependencies?.[name];
    }
    writeFileSync(manifest, `${JSON.stringify(pkg, null, 2)}\n`);
  }
  if (lockfile) copyFileSync(lockfile, join(dest, 'package-lock.json'));
  await run(['npm', 'install', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts'], { cwd: dest, logger });
}
