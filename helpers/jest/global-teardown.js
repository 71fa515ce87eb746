// Jest loads global teardown outside its ESM transform; tsx loads the TypeScript it calls.
import { register } from 'tsx/esm/api';

register();

export default async function globalTeardown() {
  const { tearDownCluster } = await import('./cluster-teardown.ts');
  await tearDownCluster();
}
