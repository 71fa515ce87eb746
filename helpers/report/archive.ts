// `--archive`: the run directory as one file to hand on (a CI artifact, a ticket attachment).
import { basename, dirname, join } from 'node:path';
import { run } from '../infra/exec.ts';

/** Writes `pullcheck-<run>.tar.gz` beside the run directory (the run's own directory inside); returns its path. */
export async function archiveRun(runDir: string): Promise<string> {
  const file = join(dirname(runDir), `pullcheck-${basename(runDir)}.tar.gz`);
  await run(['tar', '-czf', file, '-C', dirname(runDir), basename(runDir)]);
  return file;
}
