// The kind config pullcheck hands to `kind create cluster`: the profile's, plus what every pullcheck
// cluster needs. Pure: same profile and host, same config.
import YAML from 'yaml';
import { crioKubeadmPatches } from '../build/nodeimage/crioconfig.ts';
import type { KindClusterConfig, Profile } from './profile.ts';

export interface HostFacts {
  /** 1 or 2, as `docker info` reports the daemon's cgroup version. */
  cgroupVersion: 1 | 2;
  /** Whether the host's capability bounding set has CAP_SYS_RESOURCE (privileged nodes get no more). */
  capSysResource: boolean;
}

/** containerd reads a hosts.toml per registry host from here; pullcheck writes them when a registry starts. */
export const CERTS_D = '/etc/containerd/certs.d';

export const CONTAINERD_REGISTRY_PATCH = `[plugins."io.containerd.grpc.v1.cri".registry]
  config_path = "${CERTS_D}"
`;

/**
 * Kubelet 1.35+ refuses to start on cgroup v1 unless told otherwise (KEP-5573). The host here has
 * cgroup v1 and cannot change, so the kubelet is told, and docs/design.md says so.
 */
export const KUBELET_CGROUP_V1_PATCH = `kind: KubeletConfiguration
apiVersion: kubelet.config.k8s.io/v1beta1
failCgroupV1: false
`;

/**
 * Without CAP_SYS_RESOURCE no process on a node may lower an oom_score_adj, and runc fails every
 * pod sandbox ("failed to update /proc/self/oom_score_adj: Permission denied"). containerd's
 * rootless setting clamps the values instead.
 */
export const CONTAINERD_RESTRICT_OOM_PATCH = `[plugins."io.containerd.grpc.v1.cri"]
  restrict_oom_score_adj = true
`;

export function renderKindConfig(profile: Profile, host: HostFacts): KindClusterConfig {
  const c = profile.cluster;
  // A CRI-O node (posture runtime: cri-o) has no containerd to patch: kubeadm and kubelet get CRI-O's socket instead.
  const crio = profile.posture.runtime === 'cri-o';
  return {
    ...c,
    name: profile.clusterName,
    networking: {
      ...(c.networking ?? {}),
      // pullcheck wires the pod network itself (helpers/cluster/podnetwork.ts): kindnetd's image cannot be built offline.
      disableDefaultCNI: true,
    },
    containerdConfigPatches: crio
      ? [...(c.containerdConfigPatches ?? [])]
      : [...(c.containerdConfigPatches ?? []), CONTAINERD_REGISTRY_PATCH, ...(host.capSysResource ? [] : [CONTAINERD_RESTRICT_OOM_PATCH])],
    kubeadmConfigPatches: [
      ...(c.kubeadmConfigPatches ?? []),
      ...(host.cgroupVersion === 1 ? [KUBELET_CGROUP_V1_PATCH] : []),
      ...(crio ? crioKubeadmPatches() : []),
    ],
  };
}

export function kindConfigYaml(config: KindClusterConfig): string {
  return YAML.stringify(config);
}
