import { gateDefault, imageName, kubeletPulledImageExpectation, onAllowlist, pullSettingsFromConfigz, type KubeletPullSettings } from '../helpers/kep2535.ts';

const REF = 'reg.example:5000/team/app:v1';

function configz(kubeletconfig: Record<string, unknown>): unknown {
  return { kubeletconfig: { kind: 'KubeletConfiguration', ...kubeletconfig } };
}

function settings(c: Record<string, unknown>, version = 'v1.37.2'): KubeletPullSettings {
  return pullSettingsFromConfigz(configz(c), version);
}

describe('KEP-2535 gate default', () => {
  it('is off before 1.35 (absent before 1.33, alpha in 1.33 and 1.34) and on from 1.35', () => {
    expect(['v1.32.0', 'v1.33.4', 'v1.34.1'].map(gateDefault)).toEqual([false, false, false]);
    expect(['v1.35.0', 'v1.37.2', '1.40.0'].map(gateDefault)).toEqual([true, true, true]);
  });

  it('refuses a version it cannot read', () => {
    expect(() => gateDefault('latest')).toThrow(/version/);
  });
});

describe('reading configz', () => {
  it('what a v1.37 kind node reports: no featureGates, the default policy spelled out', () => {
    const s = settings({ imagePullCredentialsVerificationPolicy: 'NeverVerifyPreloadedImages' });
    expect(s.gate).toEqual({ enabled: true, source: 'default for v1.37.2' });
    expect(s.policy).toEqual({ value: 'NeverVerifyPreloadedImages', source: 'configz' });
  });

  it('an absent policy is NeverVerifyPreloadedImages; an explicit gate wins over the default', () => {
    const s = settings({ featureGates: { KubeletEnsureSecretPulledImages: false } });
    expect(s.policy).toEqual({ value: 'NeverVerifyPreloadedImages', source: 'default' });
    expect(s.gate).toEqual({ enabled: false, source: 'configz' });
  });

  it('rejects an unknown policy and an answer without kubeletconfig', () => {
    expect(() => settings({ imagePullCredentialsVerificationPolicy: 'Sometimes' })).toThrow(/unknown/);
    expect(() => pullSettingsFromConfigz({ other: {} }, 'v1.37.2')).toThrow(/kubeletconfig/);
  });
});

describe('allowlist matching', () => {
  it('drops tag and digest, matches exact names and prefix/* patterns', () => {
    expect(imageName('reg.example:5000/team/app:v1')).toBe('reg.example:5000/team/app');
    expect(imageName('reg.example:5000/team/app@sha256:abc')).toBe('reg.example:5000/team/app');
    expect(imageName('reg.example:5000/team/app')).toBe('reg.example:5000/team/app');
    expect(onAllowlist(REF, ['reg.example:5000/team/app'])).toBe(true);
    expect(onAllowlist(REF, ['reg.example:5000/team/*'])).toBe(true);
    expect(onAllowlist(REF, ['reg.example:5000/other/*', 'reg.example:5000/team/ap'])).toBe(false);
  });
});

describe('a pod without credentials and an image kubelet pulled with a Secret', () => {
  it.each([
    [{ featureGates: { KubeletEnsureSecretPulledImages: false } }, 'v1.37.2', false, /gate off/],
    [{}, 'v1.34.0', false, /gate off/],
    [{}, 'v1.37.2', true, /NeverVerifyPreloadedImages/],
    [{ imagePullCredentialsVerificationPolicy: 'NeverVerify' }, 'v1.37.2', false, /NeverVerify:/],
    [{ imagePullCredentialsVerificationPolicy: 'AlwaysVerify' }, 'v1.37.2', true, /AlwaysVerify/],
    [{ imagePullCredentialsVerificationPolicy: 'NeverVerifyAllowlistedImages', preloadedImagesVerificationAllowlist: ['reg.example:5000/team/*'] }, 'v1.37.2', false, /is on the allowlist/],
    [{ imagePullCredentialsVerificationPolicy: 'NeverVerifyAllowlistedImages', preloadedImagesVerificationAllowlist: ['other/*'] }, 'v1.37.2', true, /is not on the allowlist/],
  ] as const)('%j on %s: needs credentials %s', (c, version, needs, rule) => {
    const e = kubeletPulledImageExpectation(settings(c, version), REF);
    expect(e.needsCredentials).toBe(needs);
    expect(e.rule).toMatch(rule);
    expect(e.rule).toContain(version);
  });
});
