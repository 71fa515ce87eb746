// Jest loads global setup outside its ESM transform; tsx loads the TypeScript it calls.
export default async function globalSetup() {
  // `pullcheck run` brought the cluster up and checked it (see CLUSTER_READY_ENV in
  // helpers/cluster/cluster.ts), and deletes it itself: nothing to load or do here, not even tsx.
  if (process.env['PULLCHECK_CLUSTER_READY']) return;
  const { register } = await import('tsx/esm/api');
  register();
  const { setUpCluster } = await import('./cluster-setup.ts');
  await setUpCluster();
}
