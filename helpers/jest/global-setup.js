// Jest loads global setup outside its ESM transform; tsx loads the TypeScript it calls.
import { register } from 'tsx/esm/api';

register();

export default async function globalSetup() {
  const { setUpCluster } = await import('./cluster-setup.ts');
  await setUpCluster();
}
