import { containerdLdflags } from '../helpers/build/components.ts';
import { criBaseSpec } from '../helpers/build/nodeimage/assemble.ts';
import { moduleVersionOfTag, recipeFor, sandboxImageOf } from '../helpers/build/nodeimage/componentimages.ts';
import { renderKubernetesWrapper, stagingReplacements, versionLdflags } from '../helpers/build/nodeimage/kubernetes.ts';
import { parseKubernetesVersion } from '../helpers/infra/versions.ts';

const goMod = `module k8s.io/kubernetes

go 1.26.0

require (
	k8s.io/api v0.0.0
)

replace (
	k8s.io/api => ./staging/src/k8s.io/api
	k8s.io/client-go => ./staging/src/k8s.io/client-go
	github.com/x/y => github.com/x/y v1.0.0
)
`;

describe('Kubernetes build', () => {
  const v = parseKubernetesVersion('v1.37.2');

  it('replaces each staging module with the published v0.MINOR.PATCH', () => {
    expect(stagingReplacements(goMod, v)).toEqual(['k8s.io/api => k8s.io/api v0.37.2', 'k8s.io/client-go => k8s.io/client-go v0.37.2']);
  });

  it('the wrapper requires the exact version and keeps the go directive', () => {
    const { goMod: out, toolsGo } = renderKubernetesWrapper(goMod, v);
    expect(out).toContain('require k8s.io/kubernetes v1.37.2');
    expect(out).toContain('go 1.26.0');
    expect(toolsGo).toContain('_ "k8s.io/kubernetes/cmd/kubeadm"');
  });

  it('stamps the version kubeadm reads', () => {
    expect(versionLdflags(v)).toContain('-X k8s.io/component-base/version.gitVersion=v1.37.2');
    expect(versionLdflags(v)).toContain('-X k8s.io/client-go/pkg/version.gitMinor=37');
  });

  it('rejects versions that are not releases', () => {
    expect(() => parseKubernetesVersion('latest')).toThrow(/not a Kubernetes release version/);
  });
});

describe('node image parts', () => {
  it('maps kubeadm image tags to module versions', () => {
    expect(moduleVersionOfTag('registry.k8s.io/etcd:3.7.0-0')).toBe('v3.7.0');
    expect(moduleVersionOfTag('registry.k8s.io/coredns/coredns:v1.14.6')).toBe('v1.14.6');
  });

  it('knows which binary each kubeadm image gets, and refuses unknown ones', () => {
    const dirs = { kubernetesBin: '/k', etcdBin: '/e', corednsBin: '/c', pauseBin: '/p' };
    expect(recipeFor('registry.k8s.io/kube-proxy:v1.37.2', dirs)).toMatchObject({ binary: '/k/kube-proxy', needsIptables: true });
    expect(recipeFor('registry.k8s.io/coredns/coredns:v1.14.6', dirs)).toMatchObject({ inImage: '/coredns', entrypoint: ['/coredns'] });
    expect(() => recipeFor('registry.k8s.io/something:1', dirs)).toThrow(/does not know how to build/);
  });

  it('reads the sandbox image from containerd config', () => {
    expect(sandboxImageOf('[x]\n  sandbox_image = "registry.k8s.io/pause:3.10"\n')).toBe('registry.k8s.io/pause:3.10');
  });

  it("cri-base.json gets kind's product-uuid hook and loses rlimits", () => {
    const out = JSON.parse(criBaseSpec(JSON.stringify({ process: { rlimits: [1], args: ['sh'] }, hooks: {} }))) as {
      process: Record<string, unknown>;
      hooks: { createContainer: { path: string }[] };
    };
    expect(out.process).toEqual({ args: ['sh'] });
    expect(out.hooks.createContainer).toEqual([{ path: '/kind/bin/mount-product-files.sh' }]);
  });
});

describe("containerd's version flags", () => {
  it('set the version the node status reports (containerd://2.3.4, not 2.3.4+unknown), as its Makefile does', () => {
    const flags = containerdLdflags('v2.3.4');
    expect(flags).toContain('-X github.com/containerd/containerd/v2/version.Version=2.3.4');
    expect(flags).toMatch(/-X github\.com\/containerd\/containerd\/v2\/version\.Revision=\S+/);
    expect(flags).toContain('-X github.com/containerd/containerd/v2/version.Package=github.com/containerd/containerd/v2');
  });
});
