// Before any e2e suite: bring the profile's cluster up once (building what it needs), and remember
// whether this run made it, so that teardown removes only what the run created.
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { cacheDir } from '../cache.ts';
import { clusterExists, clusterUp, kindBinary } from '../cluster/cluster.ts';
import { loadProfile } from '../cluster/profile.ts';
import { defaultLogFile, Logger } from '../log.ts';
import { e2eStateFile } from './state.ts';

export async function setUpCluster(): Promise<void> {
  const logger = new Logger(defaultLogFile(cacheDir(), 'e2e-setup'));
  const profile = loadProfile(process.env['PULLCHECK_PROFILE'] ?? 'default');
  const existed = await clusterExists(await kindBinary(logger), profile.clusterName);
  await clusterUp({ profile, logger });
  const file = e2eStateFile();
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify({ clusterName: profile.clusterName, created: !existed }));
}
