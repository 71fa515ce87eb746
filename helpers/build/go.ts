// The Go toolchain as pullcheck uses it: modules from the Go module proxy, a build cache inside
// pullcheck's cache, static binaries. Wrapper modules are generated into the cache, never the repo.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cachePath } from '../infra/cache.ts';
import { run } from '../infra/exec.ts';
import type { Logger } from '../infra/log.ts';

export interface GoModule {
  path: string;
  version: string;
  /** Extracted source in the module cache (read-only). */
  dir: string;
  /** The module's go.mod as the proxy served it. */
  goMod: string;
}

/** Go's settings for pullcheck's builds, on top of this process's environment (run() extends it). */
export function goEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    GOCACHE: cachePath('go-build'),
    GOFLAGS: '-mod=mod',
    CGO_ENABLED: '0',
    ...extra,
  };
}

export async function goModDownload(path: string, version: string, logger: Logger): Promise<GoModule> {
  const { stdout } = await run(['go', 'mod', 'download', '-json', `${path}@${version}`], { env: goEnv(), logger });
  const info = JSON.parse(stdout) as { Dir?: string; GoMod?: string; Error?: string };
  if (info.Error || !info.Dir || !info.GoMod) {
    throw new Error(`the Go module proxy did not serve ${path}@${version}: ${info.Error ?? 'no source'} (check GOPROXY and the version)`);
  }
  return { path, version, dir: info.Dir, goMod: info.GoMod };
}

/** `go install pkg@version` into `binDir`; works for modules without replace directives. */
export async function goInstall(
  pkgAtVersion: string,
  binDir: string,
  logger: Logger,
  opts: { tags?: string[]; ldflags?: string; cgo?: boolean } = {},
): Promise<void> {
  mkdirSync(binDir, { recursive: true });
  const args = ['go', 'install', '-trimpath'];
  if (opts.tags?.length) args.push('-tags', opts.tags.join(' '));
  args.push('-ldflags', opts.ldflags ?? '-s -w');
  args.push(pkgAtVersion);
  await run(args, { env: goEnv({ GOBIN: binDir, ...(opts.cgo ? { CGO_ENABLED: '1' } : {}) }), logger });
}

export interface WrapperModule {
  /** Directory name under the cache's go-wrappers folder. */
  name: string;
  goMod: string;
  files: Record<string, string>;
}

/** Writes a generated module (go.mod + sources) into the cache and runs `go mod tidy` in it. */
export async function prepareWrapper(wrapper: WrapperModule, logger: Logger): Promise<string> {
  const dir = cachePath('go-wrappers', wrapper.name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'go.mod'), wrapper.goMod);
  for (const [name, text] of Object.entries(wrapper.files)) writeFileSync(join(dir, name), text);
  await run(['go', 'mod', 'tidy'], { cwd: dir, env: goEnv(), logger });
  return dir;
}

/** `go build` of several packages of a module directory into `outDir` (one binary each). */
export async function goBuild(
  moduleDir: string,
  packages: string[],
  outDir: string,
  logger: Logger,
  opts: { ldflags?: string; tags?: string[]; cgo?: boolean } = {},
): Promise<void> {
  mkdirSync(outDir, { recursive: true });
  const args = ['go', 'build', '-trimpath', '-ldflags', opts.ldflags ?? '-s -w', '-o', `${outDir}/`];
  if (opts.tags?.length) args.push('-tags', opts.tags.join(' '));
  await run([...args, ...packages], { cwd: moduleDir, env: goEnv(opts.cgo ? { CGO_ENABLED: '1' } : {}), logger });
}
