// Every pinned version in one place. A change here changes the cache keys, and so rebuilds exactly
// what depends on it.
export const KIND_VERSION = 'v0.33.0';
/** Kubernetes built by default: the line kind v0.33.0 ships, and one that still runs on cgroup v1 when failCgroupV1 is false. */
export const DEFAULT_KUBERNETES_VERSION = 'v1.37.2';
/** containerd as kind v0.33.0 pins it in its base image. */
export const CONTAINERD_VERSION = 'v2.3.4';
/** runc as kind v0.33.0 pins it; Debian trixie's 1.1.15 cannot start pod sandboxes inside a kind node here. */
export const RUNC_VERSION = 'v1.4.3';
/** kind pins crictl v1.36.0, which the Go module proxy does not serve; v1.37.0 is the nearest served. */
export const CRICTL_VERSION = 'v1.37.0';
/** The registry container: CNCF distribution, built from its Go module. */
export const DISTRIBUTION_VERSION = 'v3.1.2';
/** Debian suite of the node's root filesystem, as kind v0.33.0's base image. */
export const NODE_DEBIAN_SUITE = 'trixie';
/**
 * Debian packages of the node: kind's base list, less nfs-common and open-iscsi (no storage
 * scenarios here), plus the CNI plugins, which Debian ships in a version kind's configuration
 * works with, so they need no build.
 */
export const NODE_PACKAGES = [
  'systemd',
  'dbus',
  'conntrack',
  'iptables',
  'nftables',
  'iproute2',
  'ethtool',
  'util-linux',
  'mount',
  'kmod',
  'libseccomp2',
  'pigz',
  'fuse-overlayfs',
  'e2fsprogs',
  'bash',
  'ca-certificates',
  'curl',
  'jq',
  'procps',
  'containernetworking-plugins',
] as const;
export const DEBIAN_MIRROR = process.env['PULLCHECK_DEBIAN_MIRROR'] ?? 'http://deb.debian.org/debian';

export const MIN_DOCKER_MAJOR = 26;

export interface KubernetesVersion {
  raw: string;
  major: number;
  minor: number;
  patch: number;
}

export function parseKubernetesVersion(raw: string): KubernetesVersion {
  const m = /^v?(\d+)\.(\d+)\.(\d+)$/.exec(raw.trim());
  if (!m) throw new Error(`not a Kubernetes release version: "${raw}" (expected vMAJOR.MINOR.PATCH, e.g. ${DEFAULT_KUBERNETES_VERSION})`);
  return { raw: `v${m[1]}.${m[2]}.${m[3]}`, major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
}
