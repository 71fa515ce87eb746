// A child started in a process group of its own (jest and its workers under `pullcheck run`): the
// run forwards Ctrl-C and SIGTERM to the whole group and waits until none of it is left, so that
// what its workers left is swept only once nothing of them can still act.
import { readdirSync, readFileSync } from 'node:fs';

/**
 * Whether any process of group `pgid` still runs. Zombies do not count: an orphaned worker is
 * reaped by whatever adopts it, and in a pod with pullcheck as PID 1 that is nobody.
 */
export function groupRunning(pgid: number, proc = '/proc'): boolean {
  let entries: string[];
  try {
    entries = readdirSync(proc);
  } catch {
    // No /proc (macOS): kill(-pgid, 0) answers for the group, zombies included.
    return signalGroup(pgid, 0);
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const stat = readStat(`${proc}/${e}/stat`);
    if (stat && stat.pgrp === pgid && stat.state !== 'Z') return true;
  }
  return false;
}

interface Stat {
  state: string;
  ppid: number;
  pgrp: number;
}

/** State, parent and process group from a /proc/<pid>/stat line (the command may hold spaces and parentheses). */
export function parseStat(line: string): Stat | undefined {
  const close = line.lastIndexOf(')');
  if (close < 0) return undefined;
  const [state, ppid, pgrp] = line.slice(close + 2).split(' ');
  const parent = Number(ppid);
  const group = Number(pgrp);
  return state && Number.isInteger(parent) && Number.isInteger(group) ? { state, ppid: parent, pgrp: group } : undefined;
}

/**
 * The process that started jest, when this one is jest or one of its workers under `pullcheck run`
 * (jest leads the group): the run itself, which the kill tests kill with it (Linux; else undefined).
 */
export function runAboveJest(proc = '/proc'): number | undefined {
  const own = readStat(`${proc}/self/stat`);
  if (!own) return undefined;
  try {
    if (!readFileSync(`${proc}/${own.pgrp}/cmdline`, 'utf8').includes('/jest/bin/jest')) return undefined;
  } catch {
    return undefined;
  }
  return readStat(`${proc}/${own.pgrp}/stat`)?.ppid;
}

/** Whether `pid` has exited and waits to be reaped (Linux; elsewhere: not known, false). */
export function zombie(pid: number, proc = '/proc'): boolean {
  return readStat(`${proc}/${pid}/stat`)?.state === 'Z';
}

function readStat(file: string): Stat | undefined {
  try {
    return parseStat(readFileSync(file, 'utf8'));
  } catch {
    return undefined; // gone meanwhile
  }
}

/** Sends `signal` to every process of group `pgid`; false when the group no longer exists. */
function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Forwards `signal` to group `pgid`, waits up to `graceMs` for it to end, then SIGKILLs what is left
 * and waits a little more. Returns how it ended.
 */
export async function stopGroup(
  pgid: number,
  signal: NodeJS.Signals,
  graceMs: number,
  running: (pgid: number) => boolean = groupRunning,
): Promise<'ended' | 'killed' | 'still running'> {
  if (!signalGroup(pgid, signal)) return 'ended';
  if (await waitGone(pgid, graceMs, running)) return 'ended';
  signalGroup(pgid, 'SIGKILL');
  return (await waitGone(pgid, 5_000, running)) ? 'killed' : 'still running';
}

async function waitGone(pgid: number, ms: number, running: (pgid: number) => boolean): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (running(pgid)) {
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}

/**
 * For the group's leader (jest under `pullcheck run`): when the process that started it is gone
 * (killed with SIGKILL, so nothing forwarded a signal), the whole group ends too, leaving the rest
 * to the next run's sweep, instead of running scenarios for nobody.
 */
export function endGroupWhenOrphaned(intervalMs = 500): void {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    if (!signalGroup(process.pid, 'SIGKILL')) process.kill(process.pid, 'SIGKILL');
  }, intervalMs);
  timer.unref();
}
