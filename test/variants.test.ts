// A registry variant replaces only what it names of the suite's registries.
import { describe, expect, it } from '@jest/globals';
import { variantRegistries } from '../helpers/framework/suite.ts';

const BASE = [
  { name: 'public', auth: 'none' },
  { name: 'private', auth: 'htpasswd' },
] as const;

describe('registry variants', () => {
  it('changes the named registry and keeps the others as the suite declared them', () => {
    expect(variantRegistries('smoke', BASE, { name: 'token-auth', registries: { private: { auth: 'token' } }, scenarios: [] })).toEqual([
      { name: 'public', auth: 'none' },
      { name: 'private', auth: 'token' },
    ]);
  });

  it('refuses a change to a registry the suite does not have', () => {
    expect(() =>
      variantRegistries('smoke', BASE, { name: 'ggcr', registries: { pubic: { implementation: 'ggcr' } }, scenarios: [] }),
    ).toThrow(/variant ggcr changes registry pubic/);
  });
});
