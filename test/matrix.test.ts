// The runtime matrix (`--profile default,cri-o`) without running anything: the list as options read
// it, the refusals that keep it from meeting another matrix, one cluster per profile, and how the
// report names targets that differ by runtime.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProfileError } from '../helpers/cluster/profile.ts';
import { parseKubernetesVersion } from '../helpers/infra/versions.ts';
import { matrixKind, targetLabel } from '../helpers/report/matrix.ts';
import type { TargetResult } from '../helpers/report/schema.ts';
import { declaredRuntime, matrixClusterName, parseProfiles, profileTargets } from '../helpers/run/matrix.ts';
import { type RunFlags, resolveRunOptions, UsageError } from '../helpers/run/options.ts';

describe('--profile a,b', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pullcheck-matrix-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const resolve = (flags: RunFlags) => resolveRunOptions(flags, {});

  it('reads a list in order, drops blanks and repeats, and keeps one profile a plain run', () => {
    expect(parseProfiles(' default, cri-o,,default ')).toEqual(['default', 'cri-o']);
    expect(resolve({ profile: 'default,cri-o' })).toMatchObject({ profile: 'default', profiles: ['default', 'cri-o'] });
    expect(resolve({ profile: 'cri-o' }).profiles).toBeUndefined();
    expect(resolve({ profile: 'cri-o,cri-o' })).not.toHaveProperty('profiles');
    expect(() => parseProfiles(' , ')).toThrow(UsageError);
  });

  it('is refused with a --k8s list, --kubeconfig or an upgrade, in one line (exit 2) before anything is created', () => {
    expect(() => resolve({ profile: 'default,cri-o', k8s: 'v1.36.3,v1.37.2' })).toThrow(
      '--profile a,b runs one cluster per profile and --k8s a,b one per version: give a list to one of them (a single --k8s applies to every profile)',
    );
    const kubeconfig = join(dir, 'k');
    writeFileSync(kubeconfig, 'apiVersion: v1\n');
    expect(() => resolve({ profile: 'default,cri-o', kubeconfig })).toThrow(
      '--profile a,b makes a kind cluster per profile; with --kubeconfig the cluster is yours: drop one of them',
    );
    expect(() => resolve({ profile: 'default,cri-o', from: 'v1.36.3', to: 'v1.37.2' })).toThrow('give one --profile');
    expect(resolve({ profile: 'default,cri-o', k8s: 'v1.37.2' }).versions).toHaveLength(1);
  });

  it("makes one kind target per profile, named by it, on the profile's own cluster or --name's", () => {
    expect(profileTargets({ profiles: ['default', 'cri-o'], versions: [] })).toEqual([
      { name: 'default', cluster: { provider: 'kind', profile: 'default' } },
      { name: 'cri-o', cluster: { provider: 'kind', profile: 'cri-o' } },
    ]);
    expect(profileTargets({ profiles: ['default', 'cri-o'], versions: [], name: 'pc-rt' }).map((t) => t.cluster)).toEqual([
      { provider: 'kind', profile: 'default', name: 'pc-rt' },
      { provider: 'kind', profile: 'cri-o', name: 'pc-rt-crio' },
    ]);
    expect(matrixClusterName('pullcheck-apply', 'always-pull-images', 'x')).toBe('x-apply');
    expect(matrixClusterName('mine', 'own', 'x')).toBe('x-own');
    expect(matrixClusterName('mine', 'own')).toBeUndefined();
    const v = parseKubernetesVersion('v1.36.3');
    expect(profileTargets({ profiles: ['default', 'cri-o'], versions: [v] }).map((t) => t.cluster)).toEqual([
      { provider: 'kind', profile: 'default', k8s: 'v1.36.3' },
      { provider: 'kind', profile: 'cri-o', k8s: 'v1.36.3' },
    ]);
  });

  it('refuses two profiles that would share a cluster, and a --name the suffix makes too long', () => {
    const other = join(dir, 'other.yaml');
    writeFileSync(
      other,
      'name: default\nclusterName: pullcheck\nkubernetesVersion: v1.37.2\ncluster:\n  kind: Cluster\n  apiVersion: kind.x-k8s.io/v1alpha4\n  nodes:\n    - role: control-plane\n',
    );
    expect(() => profileTargets({ profiles: ['default', other], versions: [] })).toThrow(ProfileError);
    expect(() => profileTargets({ profiles: ['default', 'cri-o'], versions: [], name: 'a'.repeat(38) })).toThrow(/at most 40/);
  });

  it('takes the declared runtime as the target posture does: --posture over the profile, containerd by default', () => {
    expect(declaredRuntime({ provider: 'kind', profile: 'cri-o' })).toBe('cri-o');
    expect(declaredRuntime({ provider: 'kind', profile: 'default' })).toBe('containerd');
    expect(declaredRuntime({ provider: 'kind', profile: 'cri-o' }, { declaration: {} })).toBe('containerd');
    expect(declaredRuntime({ provider: 'existing', kubeconfig: 'k' }, { declaration: { runtime: 'cri-o' } })).toBe('cri-o');
  });
});

describe('a matrix in the report', () => {
  const t = (name: string, kubernetesVersion: string, runtime?: 'containerd' | 'cri-o'): TargetResult => ({
    name,
    kubernetesVersion,
    nodes: [],
    cluster: { mode: 'kind', name },
    registry: { mode: 'local' },
    startedAt: '',
    finishedAt: '',
    scenarios: [],
    ...(runtime ? { runtime } : {}),
  });

  it('says what its targets differ in, and labels each by it', () => {
    const runtimes = [t('default', 'v1.37.2', 'containerd'), t('cri-o', 'v1.37.2', 'cri-o')];
    expect(matrixKind({ targets: runtimes })).toBe('runtimes');
    expect(runtimes.map((x) => targetLabel(x, runtimes))).toEqual(['default (v1.37.2, containerd)', 'cri-o (v1.37.2, cri-o)']);
    // Reports from before the runtime matrix carry no runtime: containerd, as the posture's default.
    const versions = [t('v1.36.3', 'v1.36.3'), t('v1.37.2', 'v1.37.2', 'containerd')];
    expect(matrixKind({ targets: versions })).toBe('versions');
    expect(versions.map((x) => targetLabel(x, versions))).toEqual(['v1.36.3', 'v1.37.2']);
    expect(matrixKind({ targets: [t('a', 'v1.36.3', 'containerd'), t('b', 'v1.37.2', 'cri-o')] })).toBe('targets');
  });
});
