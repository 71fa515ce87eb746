import { parse } from 'yaml';
import {
  applyKubeletConfigPatch,
  commandLineFeatureGates,
  configzMismatches,
  currentValues,
  describePatch,
  flagValue,
  kubeletConfigPathOf,
} from '../helpers/kubelet/config.ts';

// The head of what kubeadm writes on a kind node (v1.37.2), with a comment an admin left.
const KIND_CONFIG = `apiVersion: kubelet.config.k8s.io/v1beta1
authentication:
  anonymous:
    enabled: false
cgroupDriver: systemd
# set by pullcheck for cgroup v1 hosts
failCgroupV1: false
kind: KubeletConfiguration
staticPodPath: /etc/kubernetes/manifests
`;

describe('kubelet argv', () => {
  const argv = [
    '/usr/bin/kubelet',
    '--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf',
    '--config=/var/lib/kubelet/config.yaml',
    '--node-ip=172.18.0.4',
  ];

  it('finds --config in both spellings, the last one winning', () => {
    expect(kubeletConfigPathOf(argv)).toBe('/var/lib/kubelet/config.yaml');
    expect(kubeletConfigPathOf(['kubelet', '--config', '/etc/kubelet.yaml'])).toBe('/etc/kubelet.yaml');
    expect(flagValue(['kubelet', '--config=/a', '--config', '/b'], '--config')).toBe('/b');
    expect(kubeletConfigPathOf(['kubelet', '--node-ip=1.2.3.4'])).toBeUndefined();
  });

  it('reads --feature-gates pairs, ignoring malformed ones', () => {
    expect(commandLineFeatureGates(argv)).toEqual({});
    expect(commandLineFeatureGates(['kubelet', '--feature-gates=A=true, B=false,C', '--feature-gates', 'D=true'])).toEqual({
      A: true,
      B: false,
      D: true,
    });
  });
});

describe('applying a patch to a KubeletConfiguration', () => {
  it('sets fields and keeps comments and the untouched fields in place', () => {
    const out = applyKubeletConfigPatch(KIND_CONFIG, { fields: { imagePullCredentialsVerificationPolicy: 'AlwaysVerify' } });
    expect(out).toContain('# set by pullcheck for cgroup v1 hosts\nfailCgroupV1: false');
    expect(out.startsWith('apiVersion: kubelet.config.k8s.io/v1beta1\nauthentication:')).toBe(true);
    const parsed = parse(out) as Record<string, unknown>;
    expect(parsed['imagePullCredentialsVerificationPolicy']).toBe('AlwaysVerify');
    expect(parsed['cgroupDriver']).toBe('systemd');
  });

  it('writes lists as lists and removes fields set to null (absent ones stay absent)', () => {
    const withList = applyKubeletConfigPatch(KIND_CONFIG, {
      fields: { preloadedImagesVerificationAllowlist: ['reg.example:5000/team/*', 'reg.example:5000/app'] },
    });
    expect((parse(withList) as Record<string, unknown>)['preloadedImagesVerificationAllowlist']).toEqual([
      'reg.example:5000/team/*',
      'reg.example:5000/app',
    ]);
    const removed = applyKubeletConfigPatch(withList, { fields: { preloadedImagesVerificationAllowlist: null, notThere: null } });
    expect(removed).not.toContain('preloadedImagesVerificationAllowlist');
    expect(removed).not.toContain('notThere');
  });

  it('merges feature gates into an existing featureGates map, leaving the other gates alone', () => {
    const first = applyKubeletConfigPatch(KIND_CONFIG, { featureGates: { KubeletEnsureSecretPulledImages: true } });
    expect((parse(first) as Record<string, unknown>)['featureGates']).toEqual({ KubeletEnsureSecretPulledImages: true });
    const withOther = `${KIND_CONFIG}featureGates:\n  SomeGate: false\n`;
    const merged = applyKubeletConfigPatch(withOther, { featureGates: { KubeletEnsureSecretPulledImages: true } });
    expect((parse(merged) as Record<string, unknown>)['featureGates']).toEqual({ SomeGate: false, KubeletEnsureSecretPulledImages: true });
  });

  it('an empty patch changes nothing', () => {
    expect(parse(applyKubeletConfigPatch(KIND_CONFIG, {}))).toEqual(parse(KIND_CONFIG));
  });

  it('refuses what is not a KubeletConfiguration, broken YAML, and featureGates as a field', () => {
    expect(() => applyKubeletConfigPatch('apiVersion: v1\nkind: ConfigMap\n', {})).toThrow(/not a KubeletConfiguration/);
    expect(() => applyKubeletConfigPatch('- a\n- b\n', {})).toThrow(/not a YAML mapping/);
    expect(() => applyKubeletConfigPatch('kind: [unclosed\n', {})).toThrow(/not valid YAML/);
    expect(() => applyKubeletConfigPatch(KIND_CONFIG, { fields: { featureGates: { A: true } } })).toThrow(/patch.featureGates/);
  });

  it('describes a patch in one line', () => {
    expect(describePatch({ fields: { a: 'X', b: null }, featureGates: { G: true } })).toBe('a="X" b=(removed) featureGates.G=true');
    expect(describePatch({})).toBe('(nothing)');
  });
});

describe('checking a patch against configz', () => {
  const configz = { imagePullCredentialsVerificationPolicy: 'NeverVerifyPreloadedImages', featureGates: { Other: true } };

  it('names each field and gate the running kubelet does not have', () => {
    expect(
      configzMismatches(configz, {
        fields: { imagePullCredentialsVerificationPolicy: 'AlwaysVerify' },
        featureGates: { KubeletEnsureSecretPulledImages: true },
      }),
    ).toEqual([
      'imagePullCredentialsVerificationPolicy: configz has "NeverVerifyPreloadedImages", wanted "AlwaysVerify"',
      'featureGates.KubeletEnsureSecretPulledImages: configz has (unset), wanted true',
    ]);
  });

  it('is empty when everything took; a removed field matches an absent or empty one', () => {
    expect(
      configzMismatches(configz, {
        fields: { imagePullCredentialsVerificationPolicy: 'NeverVerifyPreloadedImages', preloadedImagesVerificationAllowlist: null },
        featureGates: { Other: true },
      }),
    ).toEqual([]);
    expect(
      configzMismatches({ preloadedImagesVerificationAllowlist: [] }, { fields: { preloadedImagesVerificationAllowlist: null } }),
    ).toEqual([]);
    expect(
      configzMismatches({ preloadedImagesVerificationAllowlist: ['a/*'] }, { fields: { preloadedImagesVerificationAllowlist: null } }),
    ).toEqual(['preloadedImagesVerificationAllowlist: configz has ["a/*"], wanted (unset)']);
  });

  it('remembers what configz showed, so that an undo can be checked the same way', () => {
    const patch = {
      fields: { imagePullCredentialsVerificationPolicy: 'AlwaysVerify', preloadedImagesVerificationAllowlist: ['a/*'] },
      featureGates: { KubeletEnsureSecretPulledImages: true, Other: false },
    };
    const before = currentValues(configz, patch);
    expect(before).toEqual({
      fields: { imagePullCredentialsVerificationPolicy: 'NeverVerifyPreloadedImages', preloadedImagesVerificationAllowlist: null },
      featureGates: { Other: true },
    });
    expect(configzMismatches(configz, before)).toEqual([]);
  });
});
