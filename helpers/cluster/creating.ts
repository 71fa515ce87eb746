// A kind cluster being created carries a marker in the cache (the creating process's host and pid)
// until pullcheck has finished it (pod network, admission). A `cluster up` or `run` stopped by
// Ctrl-C or SIGKILL in between leaves the marker of a dead process: the next `cluster up` or `run`
// that meets it deletes the half-made cluster (once the detached `kind create` has finished) instead
// of taking it for a working one.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { cachePath } from '../infra/cache.ts';
import type { Logger } from '../infra/log.ts';
import { alive } from '../infra/sweep.ts';

interface Marker {
  host: string;
  pid: number;
  started: string;
}

function markerFile(name: string): string {
  return cachePath('creating', `${name}.json`);
}

export function markCreating(name: string): void {
  const file = markerFile(name);
  mkdirSync(dirname(file), { recursive: true });
  const m: Marker = { host: hostname(), pid: process.pid, started: new Date().toISOString() };
  writeFileSync(file, `${JSON.stringify(m)}\n`);
}

export function markCreated(name: string): void {
  rmSync(markerFile(name), { force: true });
}

/** The creating process's marker when that process is gone from this host: the cluster is half-made. */
export function halfMade(name: string, isAlive = alive): Marker | undefined {
  const file = markerFile(name);
  if (!existsSync(file)) return undefined;
  let m: Marker;
  try {
    m = JSON.parse(readFileSync(file, 'utf8')) as Marker;
  } catch {
    return { host: hostname(), pid: 0, started: '?' };
  }
  return m.host === hostname() && !isAlive(m.pid) ? m : undefined;
}

/** Pids of `kind create cluster` processes for cluster `name` (a detached one outlives its pullcheck). */
export function kindCreating(name: string): number[] {
  const pids: number[] = [];
  for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    const i = argv.indexOf('create');
    if (i > 0 && argv[i + 1] === 'cluster' && argv.includes('--name') && argv[argv.indexOf('--name') + 1] === name) pids.push(Number(p));
  }
  return pids;
}

/**
 * Deletes cluster `name` when a killed `cluster up`/`run` left it half-made, after waiting (at most
 * `timeoutMs`) for the `kind create` it started to finish; returns whether it did.
 */
export async function removeHalfMade(
  name: string,
  down: (name: string, logger: Logger) => Promise<void>,
  logger: Logger,
  timeoutMs = 300_000,
): Promise<boolean> {
  const m = halfMade(name);
  if (!m) return false;
  const deadline = Date.now() + timeoutMs;
  while (kindCreating(name).length > 0 && Date.now() < deadline) {
    logger.info(`waiting for the kind create of ${name} a killed run started to finish, to delete the half-made cluster`);
    await new Promise((r) => setTimeout(r, 3000));
  }
  logger.warn(`cluster ${name} was left half-made by a run killed during its creation (pid ${m.pid}, ${m.started}): deleting it`);
  await down(name, logger);
  markCreated(name);
  return true;
}
