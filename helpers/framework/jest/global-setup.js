// Jest loads global setup outside its ESM transform; tsx loads the TypeScript it calls.
export default async function globalSetup() {
  const { register } = await import('tsx/esm/api');
  register();
  const { setUpCluster } = await import('./cluster-setup.ts');
  await setUpCluster();
}
