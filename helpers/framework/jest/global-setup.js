// From a checkout: jest require()s global setup outside its transform; this imports the TypeScript
// under the tsx that the npm scripts and `pullcheck run` start jest with. The package uses the compiled module.
export default async function globalSetup() {
  const { setUpCluster } = await import('./cluster-setup.ts');
  await setUpCluster();
}
