import { CredentialVerificationPolicy } from '../helpers/kubelet/kep2535.ts';
import {
  declaredImagePulls,
  declaredPullSettings,
  kubeletPostureOf,
  kubeletPulledImageReuse,
  kubeletVersionMismatch,
  kubeletVersionOf,
  nodeAudienceRestrictionDefault,
  nodeAudienceRestrictionMismatch,
  PostureError,
  parsePostureDeclaration,
  preloadedImageUse,
  resolvePosture,
  upstreamDefaults,
} from '../helpers/posture/posture.ts';
import { runtimeMismatch, runtimeOf } from '../helpers/posture/runtime.ts';

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

  it('serialize image pulls, without a parallel limit, in every version', () => {
    for (const v of ['v1.27.0', 'v1.37.2']) {
      expect(upstreamDefaults(v).kubelet.serializeImagePulls).toBe(true);
      expect(upstreamDefaults(v).kubelet.maxParallelImagePulls).toBeUndefined();
    }
  });
});

describe('serial and parallel image pulls declared', () => {
  it('take a limit alone as parallel pulls (as kubelet defaults it), per node over the cluster-wide one', () => {
    const p = resolvePosture(
      parsePostureDeclaration(
        { kubelet: { maxParallelImagePulls: 3 }, nodes: { serial: { serializeImagePulls: true }, two: { maxParallelImagePulls: 2 } } },
        'posture',
      ),
      'v1.37.2',
      'f.yaml',
    );
    expect(declaredImagePulls(p, 'any')).toEqual({ serializeImagePulls: false, maxParallelImagePulls: 3 });
    expect(declaredImagePulls(p, 'serial')).toEqual({ serializeImagePulls: true });
    expect(declaredImagePulls(p, 'two')).toEqual({ serializeImagePulls: false, maxParallelImagePulls: 2 });
    expect(declaredImagePulls(resolvePosture({}, 'v1.37.2', 'x'), 'any')).toEqual({ serializeImagePulls: true });
  });

  it.each([
    [{ kubelet: { serializeImagePulls: 'no' } }, 'posture.kubelet.serializeImagePulls must be true or false'],
    [{ kubelet: { maxParallelImagePulls: 0 } }, 'posture.kubelet.maxParallelImagePulls must be a whole number of 1 or more'],
    [
      { nodes: { w: { serializeImagePulls: true, maxParallelImagePulls: 4 } } },
      'posture.nodes.w: maxParallelImagePulls 4 goes only with serializeImagePulls: false',
    ],
  ])('refuse %j as kubelet would', (raw, message) => {
    expect(() => parsePostureDeclaration(raw, 'posture')).toThrow(message);
  });
});

describe("the API server's node audience restriction", () => {
  it("defaults as kubernetes' feature table says: absent before 1.32, beta off in 1.32, beta on from 1.33", () => {
    expect(nodeAudienceRestrictionDefault('v1.31.4')).toBe(false);
    expect(nodeAudienceRestrictionDefault('v1.32.9')).toBe(false);
    expect(nodeAudienceRestrictionDefault('v1.33.0')).toBe(true);
    expect(resolvePosture({}, 'v1.37.2', 'x').admission.serviceAccountNodeAudienceRestriction).toBe(true);
  });

  it('is declared, and the cluster only checked against it', () => {
    const p = resolvePosture(
      parsePostureDeclaration({ admission: { serviceAccountNodeAudienceRestriction: false } }, 'posture'),
      'v1.37.2',
      'f.yaml',
    );
    expect(p.admission).toEqual({ alwaysPullImages: false, serviceAccountNodeAudienceRestriction: false });
    expect(p.sources.nodeAudienceRestriction).toBe('declared in f.yaml');
    expect(nodeAudienceRestrictionMismatch(p, { restricted: false, source: 'default for v1.37.2' })).toBeUndefined();
    expect(nodeAudienceRestrictionMismatch(p, { restricted: true, source: 'default for v1.37.2' })).toMatch(
      /^the API server runs ServiceAccountNodeAudienceRestriction=true \(default for v1.37.2\), but the posture declares false \(declared in f.yaml\)/,
    );
  });
});

describe('kubelet versions declared per node', () => {
  const p = resolvePosture(
    parsePostureDeclaration({ nodes: { old: { kubeletVersion: 'v1.34' }, pinned: { kubeletVersion: 'v1.37.1' } } }, 'posture'),
    'v1.37.2',
    'up.yaml',
  );

  it("take that version's defaults and expectations; the others the cluster's", () => {
    expect(kubeletVersionOf(p, 'old')).toBe('v1.34');
    expect(kubeletVersionOf(p, 'new')).toBe('v1.37.2');
    expect(kubeletPostureOf(p, 'old').ensureSecretPulledImages).toBe(false);
    expect(kubeletPostureOf(p, 'new').ensureSecretPulledImages).toBe(true);
    expect(declaredPullSettings(p, 'old')).toMatchObject({ kubeletVersion: 'v1.34', gate: { enabled: false } });
  });

  it('are checked against what each node reports, by minor (and by patch where one is declared)', () => {
    expect(kubeletVersionMismatch(p, 'new', 'v1.37.0')).toBeUndefined();
    expect(kubeletVersionMismatch(p, 'old', 'v1.34.4')).toBeUndefined();
    expect(kubeletVersionMismatch(p, 'pinned', 'v1.37.1')).toBeUndefined();
    expect(kubeletVersionMismatch(p, 'pinned', 'v1.37.2')).toMatch(/reports v1.37.2, but v1.37.1 is declared for pinned/);
    // A kubelet an upgrade left behind: not the declared version, whatever the node says.
    expect(kubeletVersionMismatch(p, 'new', 'v1.32.9')).toBe(
      "kubelet on new reports v1.32.9, but v1.37.2 is the cluster's version, declared for every node (declared in up.yaml (the rest: upstream default for v1.37.2)): upgrade the node, or declare nodes.new.kubeletVersion: v1.32.9",
    );
  });

  it('refuses a version it cannot read', () => {
    expect(() => parsePostureDeclaration({ kubelet: { kubeletVersion: '1.36' } }, 'posture')).toThrow(
      'posture.kubelet.kubeletVersion must be a version such as v1.36 or v1.36.3',
    );
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
      serializeImagePulls: true,
    });
    expect(p.sources.admission).toBe('declared in profile x.yaml');
    expect(p.sources.credentialProviders).toBe('declared in profile x.yaml');
  });

  it.each([
    [{ admision: {} }, 'posture: unknown field "admision" (admission, kubelet, nodes, credentialProviders, runtime)'],
    [
      { admission: { alwaysPullImages: 'yes' } },
      'posture.admission takes alwaysPullImages: true|false, serviceAccountNodeAudienceRestriction: true|false',
    ],
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

describe('a preloaded image for a pod without credentials follows the declared policy', () => {
  const ref = 'reg:5000/pullcheck/app:1';
  const use = (decl: Parameters<typeof resolvePosture>[0], version = 'v1.37.2', node = 'w1') =>
    preloadedImageUse(resolvePosture(decl, version, 'x'), node, ref).outcome;

  it("is used as it is under upstream's default (NeverVerifyPreloadedImages) and where there is no gate", () => {
    expect(use({})).toBe('runs-without-pull');
    expect(use({ kubelet: { imagePullCredentialsVerificationPolicy: 'NeverVerify' } })).toBe('runs-without-pull');
    expect(use({}, 'v1.32.9')).toBe('runs-without-pull');
    expect(use({ kubelet: { ensureSecretPulledImages: false, imagePullCredentialsVerificationPolicy: 'AlwaysVerify' } })).toBe(
      'runs-without-pull',
    );
  });

  it('is re-verified, so refused without credentials, under AlwaysVerify or off the allowlist, node by node', () => {
    expect(use({ kubelet: { imagePullCredentialsVerificationPolicy: 'AlwaysVerify' } })).toBe('pull-fails');
    const allowlisted = {
      kubelet: {
        imagePullCredentialsVerificationPolicy: 'NeverVerifyAllowlistedImages' as const,
        preloadedImagesVerificationAllowlist: ['reg:5000/other/*'],
      },
    };
    expect(use(allowlisted)).toBe('pull-fails');
    const strict = { nodes: { w2: { imagePullCredentialsVerificationPolicy: 'AlwaysVerify' as const } } };
    expect(use(strict, 'v1.37.2', 'w2')).toBe('pull-fails');
    expect(use(strict, 'v1.37.2', 'w1')).toBe('runs-without-pull');
  });
});

describe('the declared runtime against what each node reports (posture/runtime)', () => {
  const containerd = resolvePosture(parsePostureDeclaration({}, 'posture'), 'v1.37.2', 'clusters/default.yaml');
  const crio = resolvePosture(parsePostureDeclaration({ runtime: 'cri-o' }, 'posture'), 'v1.37.2', 'clusters/cri-o.yaml');
  const nodes = (v: string, ...names: string[]) => names.map((name) => ({ name, containerRuntimeVersion: v }));

  it("reads the runtime from the version's prefix", () => {
    expect(runtimeOf('cri-o://1.34.0')).toBe('cri-o');
    expect(runtimeOf('containerd://2.1.4')).toBe('containerd');
    expect(runtimeOf('')).toBe('(none reported)');
  });

  it('agrees when every node runs the declared runtime', () => {
    expect(runtimeMismatch(containerd, nodes('containerd://2.1.4', 'cp', 'w1'))).toBeUndefined();
    expect(runtimeMismatch(crio, nodes('cri-o://1.34.0', 'cp', 'w1'))).toBeUndefined();
  });

  it('names what the cluster runs and what is declared, and lets the declaration be the fix', () => {
    expect(runtimeMismatch(containerd, nodes('cri-o://1.34.0', 'cp', 'w1'))).toBe(
      "the cluster runs cri-o (cri-o://1.34.0 on cp, w1), the posture declares containerd (default (containerd)): declare runtime: cri-o (--posture FILE, or the profile's posture:), or run containerd on the nodes",
    );
    expect(runtimeMismatch(crio, nodes('containerd://2.1.4', 'cp'))).toMatch(
      /^the cluster runs containerd \(containerd:\/\/2.1.4 on cp\), the posture declares cri-o \(declared in clusters\/cri-o.yaml\): declare runtime: containerd/,
    );
  });

  it('names only the nodes that differ in a mixed cluster, and never advises declaring a runtime it does not know', () => {
    const mixed = [...nodes('containerd://2.1.4', 'cp', 'w1'), ...nodes('cri-o://1.34.0', 'w2')];
    expect(runtimeMismatch(containerd, mixed)).toBe(
      'w2 runs cri-o (cri-o://1.34.0 on w2), the posture declares containerd (default (containerd)): run containerd on those nodes',
    );
    expect(runtimeMismatch(containerd, nodes('docker://27.0.1', 'cp'))).toBe(
      'the cluster runs docker (docker://27.0.1 on cp), the posture declares containerd (default (containerd)): run containerd on the nodes',
    );
  });
});
