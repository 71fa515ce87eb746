import { CredentialVerificationPolicy } from '../helpers/kubelet/kep2535.ts';
import {
  declaredPullSettings,
  kubeletPostureOf,
  kubeletPulledImageReuse,
  parsePostureDeclaration,
  PostureError,
  resolvePosture,
  upstreamDefaults,
} from '../helpers/posture/posture.ts';

describe('upstream defaults', () => {
  it('turn the KEP-2535 gate on from 1.35 (beta), off before; never AlwaysPullImages; NeverVerifyPreloadedImages', () => {
    expect(upstreamDefaults('v1.34.4').kubelet.ensureSecretPulledImages).toBe(false);
    expect(upstreamDefaults('v1.35.0').kubelet.ensureSecretPulledImages).toBe(true);
    expect(upstreamDefaults('v1.37.2')).toMatchObject({
      admission: { alwaysPullImages: false },
      kubelet: { imagePullCredentialsVerificationPolicy: 'NeverVerifyPreloadedImages', preloadedImagesVerificationAllowlist: [] },
      credentialProviders: false,
    });
  });
});

describe('parsePostureDeclaration', () => {
  it('reads every field, and per-node kubelet settings over the cluster-wide ones', () => {
    const d = parsePostureDeclaration(
      {
        admission: { alwaysPullImages: true },
        kubelet: { imagePullCredentialsVerificationPolicy: 'AlwaysVerify' },
        nodes: { w2: { imagePullCredentialsVerificationPolicy: 'NeverVerify' } },
        credentialProviders: true,
        runtime: 'containerd',
      },
      'posture',
    );
    const p = resolvePosture(d, 'v1.37.2', 'profile x.yaml');
    expect(p.admission.alwaysPullImages).toBe(true);
    expect(kubeletPostureOf(p, 'w1').imagePullCredentialsVerificationPolicy).toBe('AlwaysVerify');
    expect(kubeletPostureOf(p, 'w2')).toEqual({
      ensureSecretPulledImages: true,
      imagePullCredentialsVerificationPolicy: 'NeverVerify',
      preloadedImagesVerificationAllowlist: [],
    });
    expect(p.sources.admission).toBe('declared in profile x.yaml');
    expect(p.sources.credentialProviders).toBe('declared in profile x.yaml');
  });

  it.each([
    [{ admision: {} }, 'posture: unknown field "admision" (admission, kubelet, nodes, credentialProviders, runtime)'],
    [{ admission: { alwaysPullImages: 'yes' } }, 'posture.admission takes alwaysPullImages: true|false'],
    [
      { kubelet: { imagePullCredentialsVerificationPolicy: 'Sometimes' } },
      'posture.kubelet.imagePullCredentialsVerificationPolicy must be one of NeverVerify, NeverVerifyPreloadedImages, NeverVerifyAllowlistedImages, AlwaysVerify',
    ],
    [
      { kubelet: { preloadedImagesVerificationAllowlist: ['a/*'] } },
      'posture: preloadedImagesVerificationAllowlist goes only with imagePullCredentialsVerificationPolicy: NeverVerifyAllowlistedImages (kubelet refuses it otherwise)',
    ],
    [{ runtime: 'docker' }, 'posture.runtime must be containerd or cri-o'],
  ])('refuses %j in one line', (raw, message) => {
    expect(() => parsePostureDeclaration(raw, 'posture')).toThrow(PostureError);
    expect(() => parsePostureDeclaration(raw, 'posture')).toThrow(message);
  });
});

describe('expectations from the declared posture', () => {
  const ref = 'reg:5000/pullcheck/app:1';

  it('take the node settings from the declaration, never from a node', () => {
    const p = resolvePosture({}, 'v1.37.2', 'nothing');
    expect(declaredPullSettings(p, 'any')).toEqual({
      kubeletVersion: 'v1.37.2',
      gate: { enabled: true, source: 'declared' },
      policy: { value: CredentialVerificationPolicy.NeverVerifyPreloadedImages, source: 'declared' },
      allowlist: [],
    });
  });

  it('a tenant without credentials must fail on the default posture, runs only where NeverVerify is declared, fails under AlwaysPullImages', () => {
    expect(kubeletPulledImageReuse(resolvePosture({}, 'v1.37.2', 'x'), 'w1', ref).needsCredentials).toBe(true);
    const leaky = resolvePosture({ nodes: { w1: { imagePullCredentialsVerificationPolicy: 'NeverVerify' } } }, 'v1.37.2', 'x');
    expect(kubeletPulledImageReuse(leaky, 'w1', ref)).toMatchObject({
      needsCredentials: false,
      rule: expect.stringMatching(/^NeverVerify: /),
    });
    expect(kubeletPulledImageReuse(leaky, 'w2', ref).needsCredentials).toBe(true);
    const apply = resolvePosture(
      { admission: { alwaysPullImages: true }, kubelet: { imagePullCredentialsVerificationPolicy: 'NeverVerify' } },
      'v1.37.2',
      'x',
    );
    expect(kubeletPulledImageReuse(apply, 'w1', ref)).toMatchObject({
      needsCredentials: true,
      rule: expect.stringMatching(/^AlwaysPullImages/),
    });
  });

  it('before 1.33 there is no gate, so a present image is reused whatever is declared', () => {
    expect(kubeletPulledImageReuse(resolvePosture({}, 'v1.32.9', 'x'), 'w1', ref).needsCredentials).toBe(false);
  });
});
