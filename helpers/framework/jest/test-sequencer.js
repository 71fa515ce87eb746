// From a checkout: jest loads its test sequencer outside its transform; this imports the TypeScript
// one under the tsx `pullcheck run` starts jest with. The package uses the compiled module.
const { default: GivenOrderSequencer } = await import('./sequencer.ts');

export default GivenOrderSequencer;
