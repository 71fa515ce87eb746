// Jest loads global teardown outside its ESM transform; tsx loads the TypeScript it calls.
import { register } from 'tsx/esm/api';

register();

export default async function globalTeardown() {
  // The run's own cluster: global setup recorded nothing, `pullcheck run` deletes it.
  if (process.env['PULLCHECK_CLUSTER_READY']) return;
  const { tearDownCluster } = await import('./cluster-teardown.ts');
  await tearDownCluster();
}
