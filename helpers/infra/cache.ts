// Everything pullcheck builds lives outside the repo, keyed by the versions it was built from, so a
// second run (or a CI cache restore) skips the work. A build writes into a temporary sibling and is
// renamed into place only when complete: a killed build never leaves a half artifact behind.
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export function cacheDir(): string {
  const { PULLCHECK_CACHE_DIR: explicit, XDG_CACHE_HOME: xdgHome } = process.env;
  if (explicit) return explicit;
  return join(xdgHome || join(homedir(), '.cache'), 'pullcheck');
}

export function cachePath(...parts: string[]): string {
  return join(cacheDir(), ...parts);
}

/** Builds under way in this process, by directory: a second caller waits for the first. */
const building = new Map<string, Promise<{ dir: string; hit: boolean }>>();

/**
 * Returns `dir` after making sure it holds a finished build. `build` receives a scratch directory
 * that becomes `dir` once it resolves. Callers of one process share one build; another process
 * that finished the same build first keeps its own (same inputs, same result).
 */
export function cachedDir(dir: string, build: (scratch: string) => Promise<void>): Promise<{ dir: string; hit: boolean }> {
  if (existsSync(join(dir, '.complete'))) return Promise.resolve({ dir, hit: true });
  let pending = building.get(dir);
  if (!pending) {
    pending = buildInto(dir, build).finally(() => building.delete(dir));
    building.set(dir, pending);
  }
  return pending;
}

async function buildInto(dir: string, build: (scratch: string) => Promise<void>): Promise<{ dir: string; hit: boolean }> {
  const scratch = `${dir}.partial-${process.pid}`;
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch, { recursive: true });
  try {
    await build(scratch);
    writeFileSync(join(scratch, '.complete'), new Date().toISOString());
    if (existsSync(join(dir, '.complete'))) {
      rmSync(scratch, { recursive: true, force: true });
      return { dir, hit: false };
    }
    rmSync(dir, { recursive: true, force: true });
    renameSync(scratch, dir);
    return { dir, hit: false };
  } catch (error) {
    rmSync(scratch, { recursive: true, force: true });
    throw error;
  }
}
