import { UNAUTHORIZED, UNTRUSTED_CERTIFICATE } from '../helpers/framework/pods.ts';
import { containerdRuntime } from '../helpers/runtime/containerd.ts';
import { crioRuntime, insecureConfPath, mirrorConfPath, mirrorRegistryConf, RELOAD_SHELL } from '../helpers/runtime/crio.ts';
import { nodeRuntime } from '../helpers/runtime/runtime.ts';
import { ANY_NODE_RUNTIME_AGENT } from '../helpers/runtime/useragent.ts';

const CA = '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n';

describe('nodeRuntime: the declared posture picks the implementation', () => {
  it('containerd by default and when declared, CRI-O when declared', () => {
    expect(nodeRuntime(undefined).name).toBe('containerd');
    expect(nodeRuntime({ runtime: 'containerd' }).name).toBe('containerd');
    expect(nodeRuntime({ runtime: 'cri-o' }).name).toBe('cri-o');
    expect(nodeRuntime('cri-o').unit).toBe('crio');
  });
});

describe('containerd behind the seam', () => {
  it('writes the CA and a hosts.toml under certs.d, with no reload', () => {
    expect(containerdRuntime.trustFiles('reg:5000', CA).map((f) => f.path)).toEqual([
      '/etc/containerd/certs.d/reg:5000/ca.crt',
      '/etc/containerd/certs.d/reg:5000/hosts.toml',
    ]);
    expect(containerdRuntime.trustFiles('reg:5000', undefined)[0]?.content).toContain('server = "http://reg:5000"');
    expect(containerdRuntime.trustNeedsReload(undefined)).toBe(false);
    expect(containerdRuntime.mirrorFiles({ upstream: 'up:5000', mirrors: ['m:5000'], caPem: CA }).map((f) => f.path)).toEqual([
      '/etc/containerd/certs.d/up:5000/mirror-ca.crt',
      '/etc/containerd/certs.d/up:5000/hosts.toml',
    ]);
  });
});

describe('CRI-O behind the seam', () => {
  it('trusts a TLS registry through /etc/containers/certs.d/HOST:PORT/ca.crt, no reload', () => {
    expect(crioRuntime.trustFiles('reg:5000', CA)).toEqual([{ path: '/etc/containers/certs.d/reg:5000/ca.crt', content: CA }]);
    expect(crioRuntime.trustNeedsReload(CA)).toBe(false);
  });

  it('reaches a plain-HTTP registry through a registries.conf.d drop-in marked insecure, then a reload', () => {
    const [f] = crioRuntime.trustFiles('reg:5000', undefined);
    expect(f?.path).toBe(insecureConfPath('reg:5000'));
    expect(f?.path).toBe('/etc/containers/registries.conf.d/pullcheck-reg_5000.conf');
    expect(f?.content).toContain('location = "reg:5000"\ninsecure = true');
    expect(crioRuntime.trustNeedsReload(undefined)).toBe(true);
    expect(crioRuntime.trustPaths('reg:5000')).toEqual(['/etc/containers/certs.d/reg:5000', insecureConfPath('reg:5000')]);
  });

  it('puts mirrors first in a [[registry]] with [[registry.mirror]] entries, each host given the CA', () => {
    expect(mirrorRegistryConf({ upstream: 'up:5000', mirrors: ['m1:5000', 'm2:5000'] })).toBe(
      '[[registry]]\nprefix = "up:5000"\nlocation = "up:5000"\n\n[[registry.mirror]]\nlocation = "m1:5000"\n\n[[registry.mirror]]\nlocation = "m2:5000"\n',
    );
    const files = crioRuntime.mirrorFiles({ upstream: 'up:5000', mirrors: ['m1:5000'], caPem: CA });
    expect(files.map((f) => f.path)).toEqual([
      '/etc/containers/certs.d/up:5000/ca.crt',
      '/etc/containers/certs.d/m1:5000/ca.crt',
      mirrorConfPath('up:5000'),
    ]);
    expect(crioRuntime.mirrorsNeedReload).toBe(true);
  });

  it("waits for CRI-O's own line after the SIGHUP, from a journal cursor taken before it", () => {
    expect(RELOAD_SHELL).toContain('Applied new registry configuration');
    expect(RELOAD_SHELL).toContain('--after-cursor');
  });
});

describe("the runtimes' wordings", () => {
  it("reads a registry's 401 as CRI-O words it as unauthorized, and a 404 as not", () => {
    const crio401 =
      'Failed to pull image "r:5000/p/a:t": unable to try pulling possible OCI artifact: build image source: reading manifest t in r:5000/p/a: authentication required';
    expect(UNAUTHORIZED.test(crio401)).toBe(true);
    expect(
      UNAUTHORIZED.test(
        'Failed to pull image "r:5000/p/a:t": initializing source docker://r:5000/p/a:t: unable to retrieve auth token: invalid username/password: unauthorized: x',
      ),
    ).toBe(true);
    expect(UNAUTHORIZED.test('Failed to pull image "r:5000/p/a:t": reading manifest t in r:5000/p/a: manifest unknown')).toBe(false);
    expect(
      UNTRUSTED_CERTIFICATE.test(
        'pinging container registry r:5000: Get "https://r:5000/v2/": tls: failed to verify certificate: x509: certificate signed by unknown authority',
      ),
    ).toBe(true);
  });

  it("tells either runtime's requests from pullcheck's own tools", () => {
    expect(ANY_NODE_RUNTIME_AGENT.test('containerd/2.3.4+unknown')).toBe(true);
    expect(ANY_NODE_RUNTIME_AGENT.test('cri-o/1.34.0 go/go1.25.4 os/linux arch/amd64')).toBe(true);
    expect(ANY_NODE_RUNTIME_AGENT.test('skopeo/1.18.0')).toBe(false);
  });
});
