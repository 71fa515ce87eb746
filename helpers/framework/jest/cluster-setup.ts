// Before any e2e suite: bring the profile's cluster up once (building what it needs), and remember
// whether this run made it, so that teardown removes only what the run created.
import { execFileSync } from 'node:child_process';
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { cacheDir } from '../../infra/cache.ts';
import { clusterExists, clusterUp, kindBinary, KIND_NETWORK } from '../../cluster/cluster.ts';
import { profileFromEnv } from '../../cluster/profile.ts';
import { defaultLogFile, Logger } from '../../infra/log.ts';
import { LABEL_OWNER_PID, removeContainersSync, sweepOrphans } from '../../infra/sweep.ts';
import { e2eStateFile } from './state.ts';

/**
 * Jest runs no global teardown after Ctrl-C; a cluster this run created is deleted here instead
 * (synchronously: nothing async runs after a signal handler calls exit). Suites that run in this
 * same process (jest in band) never get to their own handler, so their registries go here too.
 */
function deleteClusterOnSignal(kind: string, clusterName: string): void {
  const handler = (signal: NodeJS.Signals) => {
    removeContainersSync(`${LABEL_OWNER_PID}=${process.pid}`);
    if (process.env['PULLCHECK_KEEP'] !== '1') {
      try {
        execFileSync(kind, ['delete', 'cluster', '--name', clusterName], { stdio: 'ignore' });
        execFileSync('docker', ['network', 'rm', KIND_NETWORK], { stdio: 'ignore' });
      } catch {
        // The next `pullcheck cluster down` removes it.
      }
    }
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
}

export async function setUpCluster(): Promise<void> {
  const logger = new Logger(defaultLogFile(cacheDir(), 'e2e-setup'));
  // A cluster the user named (pullcheck run --kubeconfig) is theirs: connect to it in each suite, never create or delete it.
  if (process.env['PULLCHECK_KUBECONFIG']) return;
  const profile = profileFromEnv();
  await sweepOrphans(logger);
  const kind = await kindBinary(logger);
  const existed = await clusterExists(kind, profile.clusterName);
  await clusterUp({ profile, logger });
  if (!existed) deleteClusterOnSignal(kind, profile.clusterName);
  const file = e2eStateFile();
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify({ clusterName: profile.clusterName, created: !existed }));
}
