// Jest loads global teardown outside its ESM transform; tsx loads the TypeScript it calls.
export default async function globalTeardown() {
  // The run's own cluster: global setup recorded nothing, `pullcheck run` deletes it.
  if (process.env['PULLCHECK_CLUSTER_READY']) return;
  const { register } = await import('tsx/esm/api');
  register();
  const { tearDownCluster } = await import('./cluster-teardown.ts');
  await tearDownCluster();
}
