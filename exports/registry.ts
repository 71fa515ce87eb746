// `pullcheck/registry`: the registries scenarios push to and pull from — pullcheck's own (started in
// containers), a vendor's, and the standalone one `pullcheck registry serve` starts.
export { imageRef, StartedRegistry, type RegistrySpec, type TestRegistry } from '../helpers/registry/registry.ts';
export { checkVendorRegistry, VendorRegistry, type VendorRegistrySpec } from '../helpers/registry/vendor.ts';
export { STANDALONE_KINDS, startStandalone, type StandaloneKind, type StandaloneRegistry } from '../helpers/registry/standalone.ts';
