// From a checkout: jest require()s global teardown outside its transform; this imports the TypeScript
// under the tsx that the npm scripts and `pullcheck run` start jest with. The package uses the compiled module.
export default async function globalTeardown() {
  const { tearDownCluster } = await import('./cluster-teardown.ts');
  await tearDownCluster();
}
