import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { secondApiServerManifest, withAdmissionPlugin } from '../helpers/cluster/apiserver.ts';
import {
  CONTAINERD_REGISTRY_PATCH,
  CONTAINERD_RESTRICT_OOM_PATCH,
  KUBELET_CGROUP_V1_PATCH,
  kindConfigYaml,
  renderKindConfig,
} from '../helpers/cluster/kindconfig.ts';
import { cniConfig, nodeNetworkScript } from '../helpers/cluster/podnetwork.ts';
import { loadProfile, ProfileError, validateProfile } from '../helpers/cluster/profile.ts';
import { scenarioNamespace } from '../helpers/framework/scenario.ts';
import { hasCapSysResource } from '../helpers/infra/preflight.ts';
import { tempDirs } from './tempdirs.ts';

const kindCluster = { kind: 'Cluster', apiVersion: 'kind.x-k8s.io/v1alpha4', nodes: [{ role: 'control-plane' }, { role: 'worker' }] };

describe('cluster profiles', () => {
  const tmp = tempDirs('pullcheck-profile-');
  it('the default profile is 1 control plane + 2 workers named pullcheck', () => {
    const p = loadProfile('default');
    expect(p.clusterName).toBe('pullcheck');
    expect(p.cluster.nodes.map((n) => n.role)).toEqual(['control-plane', 'worker', 'worker']);
    expect(p.kubernetesVersion.raw).toMatch(/^v1\.\d+\.\d+$/);
  });

  it('an unknown profile names the ones that exist', () => {
    expect(() => loadProfile('nope')).toThrow(/unknown cluster profile "nope": choose one of .*default/);
  });

  it('malformed YAML is one clear error', () => {
    const dir = tmp();
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'name: [unclosed\n');
    expect(() => loadProfile(file)).toThrow(ProfileError);
    expect(() => loadProfile(file)).toThrow(/is not valid YAML/);
  });

  it.each([
    [{ kubernetesVersion: 'v1.37.2' }, /"cluster" must be a kind Cluster config/],
    [{ kubernetesVersion: '1.37', cluster: kindCluster }, /kubernetesVersion: not a Kubernetes release version/],
    [{ kubernetesVersion: 'v1.37.2', cluster: { ...kindCluster, nodes: [{ role: 'worker' }] } }, /needs a control-plane node/],
    [{ kubernetesVersion: 'v1.37.2', cluster: { ...kindCluster, nodes: [{ role: 'master' }] } }, /role must be control-plane or worker/],
    [
      { kubernetesVersion: 'v1.37.2', cluster: { ...kindCluster, nodes: [{ role: 'control-plane', image: 'x' }] } },
      /pullcheck chooses the node image/,
    ],
    [{ kubernetesVersion: 'v1.37.2', cluster: kindCluster, extra: 1 }, /unknown field "extra"/],
    [{ kubernetesVersion: 'v1.37.2', clusterName: 'Bad_Name', cluster: kindCluster }, /clusterName "Bad_Name"/],
  ])('rejects %j', (raw, message) => {
    expect(() => validateProfile(raw, 'x.yaml')).toThrow(message);
  });
});

describe('kind config', () => {
  const profile = validateProfile(
    { name: 't', kubernetesVersion: 'v1.37.2', cluster: { ...kindCluster, containerdConfigPatches: ['# mine'] } },
    't.yaml',
  );

  it('keeps the profile and adds certs.d, the cluster name and pullcheck networking', () => {
    const c = renderKindConfig(profile, { cgroupVersion: 2, capSysResource: true });
    expect(c.name).toBe('pullcheck-t');
    expect(c.networking).toMatchObject({ disableDefaultCNI: true });
    expect(c.containerdConfigPatches).toEqual(['# mine', CONTAINERD_REGISTRY_PATCH]);
    expect(c.kubeadmConfigPatches).toEqual([]);
  });

  it('tells the kubelet to run on cgroup v1 only on cgroup v1 hosts', () => {
    expect(renderKindConfig(profile, { cgroupVersion: 1, capSysResource: true }).kubeadmConfigPatches).toEqual([KUBELET_CGROUP_V1_PATCH]);
    expect(YAML.parse(KUBELET_CGROUP_V1_PATCH)).toEqual({
      kind: 'KubeletConfiguration',
      apiVersion: 'kubelet.config.k8s.io/v1beta1',
      failCgroupV1: false,
    });
  });

  it('clamps oom_score_adj in containerd where the host lacks CAP_SYS_RESOURCE', () => {
    expect(renderKindConfig(profile, { cgroupVersion: 1, capSysResource: false }).containerdConfigPatches).toEqual([
      '# mine',
      CONTAINERD_REGISTRY_PATCH,
      CONTAINERD_RESTRICT_OOM_PATCH,
    ]);
  });

  it('reads CAP_SYS_RESOURCE from the bounding set', () => {
    expect(hasCapSysResource('CapBnd:\t000001fffeffffff\n')).toBe(false);
    expect(hasCapSysResource('CapBnd:\t000001ffffffffff\n')).toBe(true);
  });

  it('renders YAML kind can read back', () => {
    const text = kindConfigYaml(renderKindConfig(profile, { cgroupVersion: 1, capSysResource: true }));
    expect(YAML.parse(text)).toMatchObject({ kind: 'Cluster', apiVersion: 'kind.x-k8s.io/v1alpha4', name: 'pullcheck-t' });
  });
});

describe('pod network', () => {
  const nodes = [
    { name: 'a', internalIP: '172.18.0.2', podCIDR: '10.244.0.0/24' },
    { name: 'b', internalIP: '172.18.0.3', podCIDR: '10.244.1.0/24' },
  ];

  it('a node routes to every other node podCIDR, never its own', () => {
    const [first] = nodes;
    if (!first) throw new Error('no nodes');
    const script = nodeNetworkScript(first, nodes, '10.244.0.0/16');
    expect(script).toContain('ip route replace 10.244.1.0/24 via 172.18.0.3');
    expect(script).not.toContain('10.244.0.0/24 via');
    expect(script).toContain('-s 10.244.0.0/16 ! -d 10.244.0.0/16');
  });

  it('the CNI config allocates from the node podCIDR', () => {
    const conf = JSON.parse(cniConfig('10.244.1.0/24')) as { plugins: { type: string; ipam?: { ranges: { subnet: string }[][] } }[] };
    expect(conf.plugins.map((p) => p.type)).toEqual(['ptp', 'portmap']);
    expect(conf.plugins[0]?.ipam?.ranges[0]?.[0]?.subnet).toBe('10.244.1.0/24');
  });
});

describe('API server admission plugins', () => {
  const manifest = `apiVersion: v1
kind: Pod
metadata:
  name: kube-apiserver
  namespace: kube-system
spec:
  containers:
  - name: kube-apiserver
    command:
    - kube-apiserver
    - --enable-admission-plugins=NodeRestriction
    - --secure-port=6443
`;

  it('adds a plugin to --enable-admission-plugins once, and removes it again', () => {
    const on = withAdmissionPlugin(manifest, 'AlwaysPullImages', true);
    expect(on).toContain('--enable-admission-plugins=NodeRestriction,AlwaysPullImages');
    expect(withAdmissionPlugin(on, 'AlwaysPullImages', true)).toContain('--enable-admission-plugins=NodeRestriction,AlwaysPullImages\n');
    expect(withAdmissionPlugin(on, 'AlwaysPullImages', false)).toContain('--enable-admission-plugins=NodeRestriction\n');
    expect(withAdmissionPlugin(on, 'AlwaysPullImages', false)).toContain('--secure-port=6443');
  });

  it("makes a second API server of kubeadm's manifest: own name, labels and port, the plugin on, no endpoint reconciling", () => {
    const kubeadm = `apiVersion: v1
kind: Pod
metadata:
  annotations:
    kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint: 172.18.0.3:6443
  labels:
    component: kube-apiserver
    tier: control-plane
  name: kube-apiserver
  namespace: kube-system
spec:
  hostNetwork: true
  containers:
  - name: kube-apiserver
    command:
    - kube-apiserver
    - --advertise-address=172.18.0.3
    - --enable-admission-plugins=NodeRestriction
    - --secure-port=6443
    ports:
    - containerPort: 6443
      name: probe-port
    livenessProbe:
      httpGet: { host: 172.18.0.3, path: /livez, port: probe-port, scheme: HTTPS }
    readinessProbe:
      httpGet: { host: 172.18.0.3, path: /readyz, port: 6443, scheme: HTTPS }
`;
    const pod = YAML.parse(
      secondApiServerManifest(kubeadm, { name: 'pullcheck-apiserver-alwayspullimages', port: 6444, plugin: 'AlwaysPullImages' }),
    );
    expect(pod.metadata.name).toBe('pullcheck-apiserver-alwayspullimages');
    expect(pod.metadata.labels).toEqual({
      'pullcheck.io/managed': 'true',
      'pullcheck.io/manifest': 'pullcheck-apiserver-alwayspullimages.yaml',
      component: 'pullcheck-apiserver-alwayspullimages',
    });
    expect(pod.metadata.annotations).toBeUndefined();
    const c = pod.spec.containers[0];
    expect(c.command).toEqual([
      'kube-apiserver',
      '--advertise-address=172.18.0.3',
      '--enable-admission-plugins=NodeRestriction,AlwaysPullImages',
      '--secure-port=6444',
      '--endpoint-reconciler-type=none',
    ]);
    expect(c.ports).toEqual([{ containerPort: 6444, name: 'probe-port' }]);
    expect(c.livenessProbe.httpGet.port).toBe('probe-port');
    expect(c.readinessProbe.httpGet.port).toBe(6444);
  });
});

describe('scenario namespaces', () => {
  it('stay unique and leave room for a suffix when the id is long', () => {
    const a = scenarioNamespace('abc123', 'always-pull-images/tenant-cannot-reuse-cached-private-image');
    const b = scenarioNamespace('abc123', 'always-pull-images/tenant-cannot-reuse-cached-private-image-2');
    expect(a).not.toBe(b);
    expect(`${a}-1234567`.length).toBeLessThanOrEqual(63);
    expect(a).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
  });
});

describe('errorLine', () => {
  it("gives the API server's own message for a refused request, not client-node's `HTTP-Code: 403`", async () => {
    const { errorLine } = await import('../helpers/cluster/kube.ts');
    const refused = Object.assign(new Error('HTTP-Code: 403\nMessage: Unknown API Status Code!\nBody: …'), {
      code: 403,
      body: JSON.stringify({
        kind: 'Status',
        message: 'pods "probe-1" is forbidden: error looking up service account ns/default',
        code: 403,
      }),
    });
    expect(errorLine(refused)).toBe(
      'the API server answered 403: pods "probe-1" is forbidden: error looking up service account ns/default',
    );
    expect(errorLine(new Error('first\nsecond'))).toBe('first');
  });
});
