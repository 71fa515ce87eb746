// Leftovers of runs that were killed (Ctrl-C twice, SIGKILL, a crashed worker): every container
// pullcheck starts carries the pid of the process that owns it, and one whose owner is gone is removed.
import { execFileSync } from 'node:child_process';
import { docker, LABEL_MANAGED } from './docker.ts';
import type { Logger } from './log.ts';
import { zombie } from './processgroup.ts';
import { sweepDeadTempDirs } from './tempfiles.ts';

export const LABEL_OWNER_PID = 'pullcheck.io/owner-pid';

/**
 * Whether a process of this host exists (EPERM: it does, owned by someone else). A zombie does not:
 * a jest worker stopped with its group stays one until whatever adopted it reaps it, and what it
 * owned is to be swept at once.
 */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !zombie(pid);
}

/** `docker create`/`network create` labels of what process `pid` (this one) owns, for the sweep to find. */
export function ownedLabelArgs(pid = process.pid): string[] {
  return ['--label', `${LABEL_MANAGED}=true`, '--label', `${LABEL_OWNER_PID}=${pid}`];
}

/**
 * Removes pullcheck containers whose owning process no longer exists, then such networks that
 * nothing uses any more; returns their names.
 */
export async function sweepOrphans(logger: Logger): Promise<string[]> {
  const temp = sweepDeadTempDirs(alive);
  if (temp.length > 0) logger.info(`removed ${temp.length} private temp dir(s) a killed run left: ${temp.join(', ')}`);
  return [
    ...(await sweepOrphanContainers(logger)),
    ...(await sweepOrphanObjects('network', logger)),
    ...(await sweepOrphanObjects('volume', logger)),
    ...temp,
  ];
}

/**
 * Networks or volumes (a redirecting registry's storage, shared with its blob host) whose owner is
 * gone. One at a time: one something still uses stays (its user is swept or stopped first).
 */
async function sweepOrphanObjects(kind: 'network' | 'volume', logger: Logger): Promise<string[]> {
  const { stdout } = await docker(
    [
      kind,
      'ls',
      '--filter',
      `label=${LABEL_MANAGED}=true`,
      '--filter',
      `label=${LABEL_OWNER_PID}`,
      '--format',
      `{{.Name}} {{.Label "${LABEL_OWNER_PID}"}}`,
    ],
    { logger },
  );
  const removed: string[] = [];
  for (const name of ownedByTheDead(stdout)) {
    if ((await docker([kind, 'rm', name], { logger, allowFailure: true })).exitCode === 0) removed.push(name);
  }
  if (removed.length > 0) logger.info(`removed ${removed.length} ${kind}(s) left by a run that was killed: ${removed.join(', ')}`);
  return removed;
}

function ownedByTheDead(stdout: string): string[] {
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' '))
    .filter(([, pid]) => !alive(Number(pid)))
    .map(([name]) => name as string);
}

async function sweepOrphanContainers(logger: Logger): Promise<string[]> {
  const { stdout } = await docker(
    [
      'ps',
      '-a',
      '--filter',
      `label=${LABEL_MANAGED}=true`,
      '--filter',
      `label=${LABEL_OWNER_PID}`,
      '--format',
      `{{.Names}} {{.Label "${LABEL_OWNER_PID}"}}`,
    ],
    { logger },
  );
  const orphans = ownedByTheDead(stdout);
  if (orphans.length > 0) {
    // Another run's sweep may remove the same orphans at the same moment: what matters is that
    // they are gone, not who removed them.
    const rm = await docker(['rm', '-f', '-v', ...orphans], { logger, allowFailure: true });
    if (rm.exitCode !== 0) {
      const left = (await docker(['ps', '-a', '--format', '{{.Names}}'], { logger })).stdout.split('\n').filter((n) => orphans.includes(n));
      if (left.length > 0) throw new Error(`could not remove containers left by a killed run (${left.join(', ')}): ${rm.stderr.trim()}`);
    }
    logger.info(`removed ${orphans.length} container(s) left by a run that was killed: ${orphans.join(', ')}`);
  }
  return orphans;
}

/**
 * For signal handlers: removes, synchronously, the containers carrying `label` (nothing async runs
 * after a handler calls exit). Best effort: `sweepOrphans` removes what is left on the next run.
 */
export function removeContainersSync(label: string): void {
  try {
    const ids = execFileSync('docker', ['ps', '-aq', '--filter', `label=${label}`], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean);
    if (ids.length > 0) execFileSync('docker', ['rm', '-f', '-v', ...ids], { stdio: 'ignore' });
  } catch {
    // exiting anyway
  }
}
