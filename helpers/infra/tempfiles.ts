// Host temporary directories that hold credentials (the registry password file, a run's CA and
// server keys, the in-cluster kubeconfig): private (0700), named with the owning pid, removed on
// every exit path this process sees (normal end, an exception, Ctrl-C or SIGTERM through the
// signal handler's exit), and, after a SIGKILL, by the next run's sweep (`sweepDeadTempDirs`).
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PREFIX = 'pullcheck-private-';
const live = new Set<string>();
let hooked = false;

/** A new 0700 directory under the host's tmpdir, removed when this process exits however it exits (but SIGKILL). */
export function privateTempDir(what: string): string {
  if (!/^[a-z0-9-]+$/.test(what)) throw new Error(`not a temp dir name: ${what}`);
  const dir = mkdtempSync(join(tmpdir(), `${PREFIX}${what}-${process.pid}-`));
  chmodSync(dir, 0o700);
  live.add(dir);
  if (!hooked) {
    hooked = true;
    // 'exit' handlers run synchronously after process.exit() and after the event loop drains.
    process.on('exit', () => {
      for (const d of live) rmSync(d, { recursive: true, force: true });
    });
  }
  return dir;
}

export function removePrivateTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  live.delete(dir);
}

/** The pid a private temp dir's name carries; undefined for any other name. */
export function ownerOfTempDir(name: string): number | undefined {
  if (!name.startsWith(PREFIX)) return undefined;
  const m = /-(\d+)-[A-Za-z0-9]{6}$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** Removes the private temp dirs of processes that are gone (killed with SIGKILL); returns them. */
export function sweepDeadTempDirs(isAlive: (pid: number) => boolean, dir = tmpdir()): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    const pid = ownerOfTempDir(name);
    if (pid === undefined || isAlive(pid)) continue;
    const path = join(dir, name);
    try {
      // Only our own: another user's directory of the same name is not ours to remove.
      if (statSync(path).uid !== process.getuid?.()) continue;
    } catch {
      continue;
    }
    rmSync(path, { recursive: true, force: true });
    removed.push(path);
  }
  return removed;
}
