// `pullcheck/registry`: the registries scenarios push to and pull from — pullcheck's own (started in
// containers), a vendor's, and the standalone one `pullcheck registry serve` starts.
export { imageRef, type RegistrySpec, StartedRegistry, type TestRegistry } from '../helpers/registry/registry.ts';
export { STANDALONE_KINDS, type StandaloneKind, type StandaloneRegistry, startStandalone } from '../helpers/registry/standalone.ts';
export { checkVendorRegistry, VendorRegistry, type VendorRegistrySpec } from '../helpers/registry/vendor.ts';
