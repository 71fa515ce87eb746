import { createHash } from 'node:crypto';
import {
  CredentialVerificationPolicy,
  gateDefault,
  gateExists,
  imageName,
  type KubeletPullSettings,
  kubeletCredentialHash,
  kubeletPulledImageExpectation,
  onAllowlist,
  type PodSecret,
  type PresentImageFacts,
  type PullHistory,
  policyKebab,
  policyPlan,
  pulledRecordPath,
  pullHistoryFromRecord,
  pullSettingsFromConfigz,
  verificationExpectation,
} from '../helpers/kubelet/kep2535.ts';

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
    [
      {
        imagePullCredentialsVerificationPolicy: 'NeverVerifyAllowlistedImages',
        preloadedImagesVerificationAllowlist: ['reg.example:5000/team/*'],
      },
      'v1.37.2',
      false,
      /is on the allowlist/,
    ],
    [
      { imagePullCredentialsVerificationPolicy: 'NeverVerifyAllowlistedImages', preloadedImagesVerificationAllowlist: ['other/*'] },
      'v1.37.2',
      true,
      /is not on the allowlist/,
    ],
  ] as const)('%j on %s: needs credentials %s', (c, version, needs, rule) => {
    const e = kubeletPulledImageExpectation(settings(c, version), REF);
    expect(e.needsCredentials).toBe(needs);
    expect(e.rule).toMatch(rule);
    expect(e.rule).toContain(version);
  });
});

describe('where the gate and the policy exist', () => {
  it('from v1.33 (alpha) on', () => {
    expect(['v1.31.9', 'v1.32.4'].map(gateExists)).toEqual([false, false]);
    expect(['v1.33.0', 'v1.34.2', 'v1.37.2', '2.0.0'].map(gateExists)).toEqual([true, true, true, true]);
  });

  it('policy names as scenario ids spell them', () => {
    expect(Object.values(CredentialVerificationPolicy).map(policyKebab)).toEqual([
      'never-verify',
      'never-verify-preloaded-images',
      'never-verify-allowlisted-images',
      'always-verify',
    ]);
  });
});

describe('planning the kubelet configuration for a policy', () => {
  it('skips a kubelet without the gate, naming the version', () => {
    const plan = policyPlan(settings({}, 'v1.32.4'), { policy: 'AlwaysVerify' });
    expect(plan).toEqual({ skip: expect.stringMatching(/kubelet v1\.32\.4 has no KubeletEnsureSecretPulledImages gate/), declared: true });
  });

  it('turns the alpha gate on in the file where it is off by default (1.33, 1.34)', () => {
    const plan = policyPlan(settings({}, 'v1.34.1'), { policy: 'AlwaysVerify' });
    if ('skip' in plan) throw new Error(plan.skip);
    expect(plan.patch).toEqual({
      fields: { imagePullCredentialsVerificationPolicy: 'AlwaysVerify', preloadedImagesVerificationAllowlist: null },
      featureGates: { KubeletEnsureSecretPulledImages: true },
    });
    expect(plan.note).toMatch(/turning KubeletEnsureSecretPulledImages on in the file \(off: default for v1\.34\.1\)/);
  });

  it('leaves the gate alone where it is on (beta default from 1.35), and sets the allowlist only for its policy', () => {
    const allowlisted = policyPlan(settings({}), { policy: 'NeverVerifyAllowlistedImages', allowlist: ['reg.example:5000/team/*'] });
    if ('skip' in allowlisted) throw new Error(allowlisted.skip);
    expect(allowlisted.patch).toEqual({
      fields: {
        imagePullCredentialsVerificationPolicy: 'NeverVerifyAllowlistedImages',
        preloadedImagesVerificationAllowlist: ['reg.example:5000/team/*'],
      },
    });
    const never = policyPlan(
      settings({ imagePullCredentialsVerificationPolicy: 'NeverVerifyAllowlistedImages', preloadedImagesVerificationAllowlist: ['x/*'] }),
      { policy: 'NeverVerify' },
    );
    if ('skip' in never) throw new Error(never.skip);
    expect(never.patch.fields?.['preloadedImagesVerificationAllowlist']).toBeNull();
    expect(() => policyPlan(settings({}), { policy: 'AlwaysVerify', allowlist: ['x/*'] })).toThrow(
      /only accepted with NeverVerifyAllowlistedImages/,
    );
  });

  it('turns the gate on where the file turned it off, but skips where the command line did', () => {
    const off = policyPlan(settings({ featureGates: { KubeletEnsureSecretPulledImages: false } }), { policy: 'NeverVerify' });
    expect('skip' in off ? undefined : off.patch.featureGates).toEqual({ KubeletEnsureSecretPulledImages: true });
    expect(policyPlan(settings({}), { policy: 'NeverVerify' }, { KubeletEnsureSecretPulledImages: false })).toEqual({
      skip: expect.stringMatching(/command line/),
    });
    const onByFlag = policyPlan(settings({}, 'v1.33.0'), { policy: 'NeverVerify' }, { KubeletEnsureSecretPulledImages: true });
    expect('skip' in onByFlag ? 'skip' : onByFlag.patch.featureGates).toBeUndefined();
  });
});

describe("kubelet's credential hash and pull records", () => {
  it('hashes as kubelet does (vectors from Go encoding/json + sha256)', () => {
    expect(kubeletCredentialHash({ username: 'alice', password: 's3cret-pw' })).toBe(
      'b670b3c7243b76a7a2328fa56ca8633c46200a79febe076ed2c23f9f36d95843',
    );
    expect(kubeletCredentialHash({ username: 'alice', password: 'a<b>&c', email: 'a@b.c' })).toBe(
      'ace08f16d05c6c1d6b893ad808c84e17d0fdf1fddc955dd9c5c69a51fa16481d',
    );
    expect(kubeletCredentialHash({ username: 'alice', password: 'other' })).not.toBe(
      kubeletCredentialHash({ username: 'alice', password: 's3cret-pw' }),
    );
  });

  it('keeps the record of an image id in a file named after its sha256', () => {
    const id = 'sha256:0123';
    expect(pulledRecordPath('/var/lib/kubelet/', id)).toBe(
      `/var/lib/kubelet/image_manager/pulled/sha256-${createHash('sha256').update(id).digest('hex')}`,
    );
  });

  const record = (mapping: unknown) =>
    JSON.stringify({
      kind: 'ImagePulledRecord',
      apiVersion: 'kubelet.config.k8s.io/v1beta1',
      lastUpdatedTime: '2025-01-01T00:00:00Z',
      imageRef: 'sha256:abc',
      credentialMapping: mapping,
    });

  it('reads the credentials recorded for the image name (tag cut)', () => {
    const h = pullHistoryFromRecord(
      record({
        'reg.example:5000/team/app': { kubernetesSecrets: [{ uid: 'u1', namespace: 'ns', name: 'regcred', credentialHash: 'h1' }] },
      }),
      'sha256:abc',
      REF,
    );
    expect(h).toEqual({
      kind: 'record',
      credentials: {
        nodePodsAccessible: false,
        secrets: [{ uid: 'u1', namespace: 'ns', name: 'regcred', credentialHash: 'h1' }],
        serviceAccounts: 0,
      },
    });
    expect(pullHistoryFromRecord(record({ other: { nodePodsAccessible: true } }), 'sha256:abc', REF)).toEqual({
      kind: 'record',
      credentials: undefined,
    });
    expect(pullHistoryFromRecord(record({ 'reg.example:5000/team/app': { nodePodsAccessible: true } }), 'sha256:abc', REF)).toMatchObject({
      credentials: { nodePodsAccessible: true, secrets: [] },
    });
  });

  it('refuses another kind or another image id', () => {
    expect(() => pullHistoryFromRecord(JSON.stringify({ kind: 'ImagePullIntent' }), 'sha256:abc', REF)).toThrow(/not an ImagePulledRecord/);
    expect(() => pullHistoryFromRecord(record({}), 'sha256:def', REF)).toThrow(/sha256:abc, not sha256:def/);
  });
});

// The ensure-secret-pulled matrix: pod A pulled the image with Secret `regcred` (or an admin
// preloaded it); pod B asks for it with IfNotPresent on the same node.
const GOOD = kubeletCredentialHash({ username: 'user-private', password: 'right' });
const WRONG = kubeletCredentialHash({ username: 'user-private', password: 'wrong' });
const REGCRED = { namespace: 'ns', name: 'regcred', uid: 'uid-1', credentialHash: GOOD };
const PULLED: PullHistory = { kind: 'record', credentials: { nodePodsAccessible: false, secrets: [REGCRED], serviceAccounts: 0 } };
const PRELOADED: PullHistory = { kind: 'no-record' };
const CASES: Record<string, { history: PullHistory; podSecrets: PodSecret[] }> = {
  'no-secret': { history: PULLED, podSecrets: [] },
  'invalid-secret': {
    history: PULLED,
    podSecrets: [{ namespace: 'ns', name: 'wrong', uid: 'uid-2', credentialHash: WRONG, acceptedByRegistry: false }],
  },
  'same-secret': { history: PULLED, podSecrets: [{ ...REGCRED, acceptedByRegistry: true }] },
  'same-credentials-other-secret': {
    history: PULLED,
    podSecrets: [{ namespace: 'ns', name: 'copy', uid: 'uid-3', credentialHash: GOOD, acceptedByRegistry: true }],
  },
  preloaded: { history: PRELOADED, podSecrets: [] },
};
const ALLOWLIST = ['reg.example:5000/team/*'];
const NOT_ALLOWLISTED = 'reg.example:5000/other/app:v1';

function policySettings(policy: string, version = 'v1.37.2'): KubeletPullSettings {
  return settings(
    {
      imagePullCredentialsVerificationPolicy: policy,
      ...(policy === 'NeverVerifyAllowlistedImages' ? { preloadedImagesVerificationAllowlist: ALLOWLIST } : {}),
    },
    version,
  );
}

function facts(c: keyof typeof CASES, ref = NOT_ALLOWLISTED): PresentImageFacts {
  const x = CASES[c];
  if (!x) throw new Error(c);
  return { ref, ...x };
}

describe('credential verification of a present image (the ensure-secret-pulled matrix)', () => {
  const run = 'runs-without-pull';
  const fail = 'pull-fails';
  it.each([
    ['NeverVerify', { 'no-secret': run, 'invalid-secret': run, 'same-secret': run, 'same-credentials-other-secret': run, preloaded: run }],
    [
      'NeverVerifyPreloadedImages',
      { 'no-secret': fail, 'invalid-secret': fail, 'same-secret': run, 'same-credentials-other-secret': run, preloaded: run },
    ],
    [
      'NeverVerifyAllowlistedImages',
      { 'no-secret': fail, 'invalid-secret': fail, 'same-secret': run, 'same-credentials-other-secret': run, preloaded: fail },
    ],
    [
      'AlwaysVerify',
      { 'no-secret': fail, 'invalid-secret': fail, 'same-secret': run, 'same-credentials-other-secret': run, preloaded: fail },
    ],
  ] as const)('%s', (policy, want) => {
    const got = Object.fromEntries(Object.keys(CASES).map((c) => [c, verificationExpectation(policySettings(policy), facts(c)).outcome]));
    expect(got).toEqual(want);
  });

  it('names the rule and the facts it was applied to', () => {
    const e = verificationExpectation(policySettings('AlwaysVerify'), facts('same-credentials-other-secret'));
    expect(e.rule).toMatch(/^AlwaysVerify: every present image is checked \(kubelet pulled the image/);
    expect(e.rule).toMatch(/ns\/copy holds the same credentials \(credential hash\) as ns\/regcred/);
    expect(e.rule).toContain('kubelet v1.37.2');
    expect(e.presentMessage?.test('Container image "x" already present on machine and can be accessed by the pod')).toBe(true);
    expect(verificationExpectation(policySettings('AlwaysVerify'), facts('invalid-secret')).rule).toMatch(
      /pulls the image with ns\/wrong, which the registry refuses: the pull fails unauthorized/,
    );
    expect(verificationExpectation(policySettings('AlwaysVerify'), facts('no-secret')).rule).toMatch(
      /the pod names no Secret, so kubelet pulls the image without credentials/,
    );
    expect(verificationExpectation(policySettings('AlwaysVerify'), facts('preloaded')).rule).toMatch(
      /no pull record to match credentials with/,
    );
  });

  it('NeverVerifyAllowlistedImages: an allowlisted image is not checked, preloaded or pulled with a Secret', () => {
    const s = policySettings('NeverVerifyAllowlistedImages');
    for (const c of ['no-secret', 'invalid-secret', 'preloaded'] as const) {
      const e = verificationExpectation(s, facts(c, REF));
      expect(e.outcome).toBe('runs-without-pull');
      expect(e.rule).toMatch(/reg\.example:5000\/team\/app is on the allowlist/);
    }
    expect(verificationExpectation(s, facts('no-secret')).rule).toMatch(/reg\.example:5000\/other\/app is not on the allowlist/);
  });

  it('with the gate off every case runs, with the plain "already present" message', () => {
    for (const c of Object.keys(CASES)) {
      const e = verificationExpectation(settings({ featureGates: { KubeletEnsureSecretPulledImages: false } }), facts(c));
      expect(e.outcome).toBe('runs-without-pull');
      expect(e.rule).toMatch(/^gate off/);
      expect(e.presentMessage?.test('Container image "x" already present on machine')).toBe(true);
    }
  });

  it('the same Secret (namespace, name, UID) is accepted even when its credentials changed since the pull', () => {
    const e = verificationExpectation(policySettings('AlwaysVerify'), {
      ref: NOT_ALLOWLISTED,
      history: PULLED,
      podSecrets: [{ ...REGCRED, credentialHash: WRONG, acceptedByRegistry: false }],
    });
    expect(e.outcome).toBe('runs-without-pull');
    expect(e.rule).toMatch(/same namespace, name and UID/);
    // A Secret of the same name in another namespace (another UID) is not the same Secret.
    const other = verificationExpectation(policySettings('AlwaysVerify'), {
      ref: NOT_ALLOWLISTED,
      history: PULLED,
      podSecrets: [{ ...REGCRED, namespace: 'tenant-b', uid: 'uid-9', credentialHash: WRONG, acceptedByRegistry: false }],
    });
    expect(other.outcome).toBe('pull-fails');
  });

  it('other records: pulled without pod credentials is for everyone; no entry for the name or no credentials means a pull', () => {
    const s = policySettings('AlwaysVerify');
    expect(
      verificationExpectation(s, {
        ref: NOT_ALLOWLISTED,
        history: { kind: 'record', credentials: { nodePodsAccessible: true, secrets: [], serviceAccounts: 0 } },
        podSecrets: [],
      }).outcome,
    ).toBe('runs-without-pull');
    expect(
      verificationExpectation(s, { ref: NOT_ALLOWLISTED, history: { kind: 'record', credentials: undefined }, podSecrets: [] }).rule,
    ).toMatch(/no credentials for reg\.example:5000\/other\/app/);
    const valid = { namespace: 'ns', name: 'another-user', uid: 'uid-4', credentialHash: 'other', acceptedByRegistry: true };
    expect(verificationExpectation(s, { ref: NOT_ALLOWLISTED, history: PULLED, podSecrets: [valid] }).outcome).toBe('pulls-and-runs');
  });

  it('agrees with kubeletPulledImageExpectation (pod B without credentials) for every policy and gate', () => {
    const all = [
      settings({ featureGates: { KubeletEnsureSecretPulledImages: false } }),
      settings({}, 'v1.34.0'),
      ...Object.values(CredentialVerificationPolicy).map((p) => policySettings(p)),
      settings({ imagePullCredentialsVerificationPolicy: 'NeverVerifyAllowlistedImages', preloadedImagesVerificationAllowlist: ALLOWLIST }),
    ];
    for (const s of all) {
      for (const ref of [REF, NOT_ALLOWLISTED]) {
        expect(verificationExpectation(s, facts('no-secret', ref)).outcome !== 'runs-without-pull').toBe(
          kubeletPulledImageExpectation(s, ref).needsCredentials,
        );
      }
    }
  });
});
