// Jest loads global teardown outside its ESM transform; tsx loads the TypeScript it calls.
export default async function globalTeardown() {
  const { register } = await import('tsx/esm/api');
  register();
  const { tearDownCluster } = await import('./cluster-teardown.ts');
  await tearDownCluster();
}
