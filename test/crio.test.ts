import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import {
  CAPABILITY_NAMES,
  CRIO_BUILD_TAGS,
  CRIO_SOCKET,
  crioConfig,
  crioInputsKey,
  crioKubeadmPatches,
  crioNodeFiles,
  RUNC_WRAPPER,
  RUNC_WRAPPER_PATH,
} from '../helpers/build/nodeimage/crioconfig.ts';
import { CONTAINERD_REGISTRY_PATCH, KUBELET_CGROUP_V1_PATCH, renderKindConfig } from '../helpers/cluster/kindconfig.ts';
import { loadProfile } from '../helpers/cluster/profile.ts';
import { tempDirs } from './tempdirs.ts';

describe('CRI-O profile and kind config', () => {
  const profile = loadProfile('cri-o');

  it('the cri-o profile declares runtime cri-o on the default shape', () => {
    expect(profile.posture.runtime).toBe('cri-o');
    expect(profile.cluster.nodes.map((n) => n.role)).toEqual(['control-plane', 'worker', 'worker']);
  });

  it('gives kubeadm (init and join) and kubelet the CRI-O socket, and containerd no patches', () => {
    const c = renderKindConfig(profile, { cgroupVersion: 1, capSysResource: false });
    expect(c.containerdConfigPatches).toEqual([]);
    expect(c.kubeadmConfigPatches).toEqual([KUBELET_CGROUP_V1_PATCH, ...crioKubeadmPatches()]);
    const docs = crioKubeadmPatches().map((p) => YAML.parse(p) as Record<string, unknown>);
    expect(docs).toEqual([
      { kind: 'InitConfiguration', nodeRegistration: { criSocket: CRIO_SOCKET } },
      { kind: 'JoinConfiguration', nodeRegistration: { criSocket: CRIO_SOCKET } },
      { kind: 'KubeletConfiguration', containerRuntimeEndpoint: CRIO_SOCKET },
    ]);
  });

  it('a containerd profile keeps its containerd patches and no CRI-O socket', () => {
    const c = renderKindConfig(loadProfile('default'), { cgroupVersion: 2, capSysResource: true });
    expect(c.containerdConfigPatches).toEqual([CONTAINERD_REGISTRY_PATCH]);
    expect(JSON.stringify(c.kubeadmConfigPatches)).not.toContain('crio');
  });
});

describe('CRI-O node configuration', () => {
  it('names the pause image, systemd cgroups and the runc wrapper', () => {
    const toml = crioConfig({ pauseImage: 'registry.k8s.io/pause:3.10' });
    expect(toml).toContain('pause_image = "registry.k8s.io/pause:3.10"');
    expect(toml).toContain('cgroup_manager = "systemd"');
    expect(toml).toContain(`runtime_path = "${RUNC_WRAPPER_PATH}"`);
    expect(toml).toMatch(/default_runtime = "runc"/);
    expect(toml).not.toContain('${');
  });

  it('builds without gpgme and btrfs headers', () => {
    expect(CRIO_BUILD_TAGS).toEqual(expect.arrayContaining(['containers_image_openpgp', 'exclude_graphdriver_btrfs']));
  });

  it('points crictl and the kubelet runtime cgroup at CRI-O, and installs the wrapper executable', () => {
    const files = crioNodeFiles('registry.k8s.io/pause:3.10');
    expect(files['etc/crictl.yaml']?.[0]).toBe(`runtime-endpoint: ${CRIO_SOCKET}\n`);
    expect(files['etc/default/kubelet']?.[0]).toContain('/system.slice/crio.service');
    expect(files[RUNC_WRAPPER_PATH.slice(1)]?.[1]).toBe(0o755);
  });

  it('the image key changes with its inputs', () => {
    expect(crioInputsKey('a', 'p:1')).not.toBe(crioInputsKey('b', 'p:1'));
    expect(crioInputsKey('a', 'p:1')).not.toBe(crioInputsKey('a', 'p:2'));
    expect(crioInputsKey('a', 'p:1')).toMatch(/^[0-9a-f]{16}$/);
  });

  it('lists the capabilities in bit order', () => {
    expect(CAPABILITY_NAMES[0]).toBe('CAP_CHOWN');
    expect(CAPABILITY_NAMES[24]).toBe('CAP_SYS_RESOURCE');
    expect(CAPABILITY_NAMES[40]).toBe('CAP_CHECKPOINT_RESTORE');
  });
});

// The wrapper is bash + jq, as on the node; scripts/host-up installs jq on the host too.

describe('the runc wrapper (run with bash and jq)', () => {
  const own = (field: string) => {
    const line = readFileSync('/proc/self/status', 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`${field}:`));
    return line?.split(/\s+/)[1] ?? '';
  };
  const bounding = BigInt(`0x${own('CapBnd')}`);
  const allowed = CAPABILITY_NAMES.filter((_, i) => ((bounding >> BigInt(i)) & 1n) === 1n);
  const ownOom = Number(readFileSync('/proc/self/oom_score_adj', 'utf8').trim());
  const tmp = tempDirs('pc-crio-');

  function runWrapper(args: (bundle: string) => string[], process: Record<string, unknown>) {
    const dir = tmp();
    const script = join(dir, 'runc');
    writeFileSync(script, RUNC_WRAPPER);
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ociVersion: '1.2.0', process }));
    const r = spawnSync('bash', [script, ...args(dir)], {
      env: { ...globalThis.process.env, PULLCHECK_RUNC: '/bin/echo' },
      encoding: 'utf8',
    });
    return { r, config: JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { process: Record<string, unknown> } };
  }

  it('on create: raises oomScoreAdj to its own and cuts capabilities to the bounding set, then runs runc with the same arguments', () => {
    const every = [...CAPABILITY_NAMES];
    const { r, config } = runWrapper((b) => ['--root', '/run/runc', 'create', '--bundle', b, 'id1'], {
      oomScoreAdj: -997,
      capabilities: { bounding: every, effective: every, permitted: every },
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^--root \/run\/runc create --bundle \S+ id1\n$/);
    expect(config.process['oomScoreAdj']).toBe(Math.max(-997, ownOom));
    expect(config.process['capabilities']).toEqual({ bounding: allowed, effective: allowed, permitted: allowed });
  });

  it('keeps a higher oomScoreAdj and leaves other commands alone', () => {
    const high = runWrapper((b) => ['create', `--bundle=${b}`, 'id2'], { oomScoreAdj: 1000 });
    expect(high.config.process['oomScoreAdj']).toBe(1000);
    const state = runWrapper((b) => ['state', b], { oomScoreAdj: -997 });
    expect(state.r.status).toBe(0);
    expect(state.config.process['oomScoreAdj']).toBe(-997);
  });
});
