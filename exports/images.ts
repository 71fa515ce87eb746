// `pullcheck/images`: the test images pullcheck builds (an echo program per platform) and the OCI
// pieces they are made of, for a vendor's own scenarios.
export * from '../helpers/images/oci.ts';
export { echoImage, echoIndex, INDEX_PLATFORMS, newBuildId, type TestImage, type TestIndex } from '../helpers/images/testimages.ts';
