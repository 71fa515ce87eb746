// What a CRI-O kind node is configured with (issue 29, item 1): pure renderings, read by the image
// build (crio.ts) and by the kind config (helpers/cluster/kindconfig.ts). Unit-tested in test/crio.test.ts.
import { createHash } from 'node:crypto';
import type { KubernetesVersion } from '../../infra/versions.ts';

export const CRIO_MODULE = 'github.com/cri-o/cri-o';
/** The Go module proxy serves this exact version (later ones are refused here). */
export const CRIO_VERSION = 'v1.34.0';
export const CRIO_SOCKET = 'unix:///var/run/crio/crio.sock';
/**
 * CRI-O's Makefile picks its tags by probing the host; these are what it picks on a host without
 * gpgme and btrfs headers: OpenPGP in Go, no btrfs driver, no ostree; seccomp through libseccomp (cgo).
 */
export const CRIO_BUILD_TAGS = [
  'containers_image_openpgp',
  'containers_image_ostree_stub',
  'exclude_graphdriver_btrfs',
  'seccomp',
] as const;
/** Debian packages added to the node (conmon is CRI-O's container monitor; skopeo preloads images). */
export const CRIO_DEBIAN_PACKAGES = ['conmon', 'crun', 'skopeo'] as const;
/** runc as pullcheck builds it, behind the oom_score_adj clamp. */
export const RUNC_WRAPPER_PATH = '/usr/local/bin/runc-oom-clamp';

/** Bump when the way the CRI-O image is made changes, so that cached images are rebuilt. */
const CRIO_REVISION = '1';

export function crioNodeImageTag(v: KubernetesVersion): string {
  return `pullcheck/node-crio:${v.raw}`;
}

/** CRI-O's drop-in configuration (TOML), read after its built-in defaults. */
export function crioConfig(o: { pauseImage: string; runcPath?: string }): string {
  return `# pullcheck: CRI-O on a kind node (helpers/build/nodeimage/crio.ts)
[crio]
storage_driver = "vfs"

[crio.runtime]
cgroup_manager = "systemd"
conmon_cgroup = "pod"
default_runtime = "runc"

[crio.runtime.runtimes.runc]
runtime_path = "${RUNC_WRAPPER_PATH}"
runtime_type = "oci"
runtime_root = "/run/runc"

[crio.runtime.runtimes.crun]
runtime_path = "/usr/bin/crun"
runtime_type = "oci"
runtime_root = "/run/crun"

[crio.image]
pause_image = "${o.pauseImage}"

[crio.network]
network_dir = "/etc/cni/net.d/"
plugin_dirs = ["/opt/cni/bin/"]
`;
}

/** containers/storage's own config, which skopeo reads when preloading: the same store as CRI-O's. */
export const STORAGE_CONF = `[storage]
driver = "vfs"
runroot = "/run/containers/storage"
graphroot = "/var/lib/containers/storage"
`;

/**
 * The wrapper CRI-O runs as runc: for `create` and `run`, it raises the bundle's
 * process.oomScoreAdj to this process's own value, which is what an unprivileged process may set
 * (kubelet asks -997 for static pods; without CAP_SYS_RESOURCE runc's write of it fails every pod).
 */
export const RUNC_WRAPPER = `#!/bin/sh
# pullcheck: runc with oom_score_adj clamped to what this node may set (no CAP_SYS_RESOURCE).
bundle=""
cmd=""
prev=""
for a in "$@"; do
  case "$prev" in --bundle|-b) bundle="$a" ;; esac
  case "$a" in
    --bundle=*) bundle="\${a#--bundle=}" ;;
    create|run) [ -z "$cmd" ] && cmd="$a" ;;
  esac
  prev="$a"
done
if [ -n "$cmd" ]; then
  [ -n "$bundle" ] || bundle="$PWD"
  min=$(cat /proc/self/oom_score_adj)
  if [ -f "$bundle/config.json" ]; then
    jq --argjson min "$min" 'if (.process.oomScoreAdj // null) != null and .process.oomScoreAdj < $min then .process.oomScoreAdj = $min else . end' \\
      "$bundle/config.json" > "$bundle/config.json.pullcheck" && mv "$bundle/config.json.pullcheck" "$bundle/config.json"
  fi
fi
exec /usr/local/sbin/runc "$@"
`;

/** crio.service, as CRI-O's contrib unit, less OOMScoreAdjust (the node may not lower it). */
export const CRIO_SERVICE = `[Unit]
Description=Container Runtime Interface for OCI (CRI-O)
Documentation=https://github.com/cri-o/cri-o
Wants=network-online.target
Before=kubelet.service
After=network-online.target local-fs.target
StartLimitIntervalSec=0

[Service]
Type=notify
ExecStartPre=-/sbin/modprobe overlay
ExecStart=/usr/local/bin/crio
Delegate=yes
KillMode=process
Restart=always
RestartSec=1
LimitNOFILE=1048576
LimitNPROC=infinity
LimitCORE=infinity
TasksMax=infinity

[Install]
WantedBy=multi-user.target
`;

/** The images in an OCI archive read from stdin, each copied into containers/storage under its full name. */
export const PRELOAD_SCRIPT = `set -eu
d=$(mktemp -d)
tar -xf - -C "$d"
n=$(jq '.manifests | length' "$d/index.json")
i=0
while [ "$i" -lt "$n" ]; do
  name=$(jq -r ".manifests[$i].annotations[\\"io.containerd.image.name\\"]" "$d/index.json")
  one="$d/one-$i"
  mkdir -p "$one"
  ln -s "$d/blobs" "$one/blobs"
  cp "$d/oci-layout" "$one/oci-layout"
  jq ".manifests = [.manifests[$i]]" "$d/index.json" > "$one/index.json"
  skopeo copy --quiet "oci:$one" "containers-storage:$name"
  i=$((i + 1))
done
rm -rf "$d"
`;

/**
 * The kind config patches a CRI-O node needs: kubeadm's CRI socket (init and join) and kubelet's
 * runtime endpoint. kind matches each patch to its kubeadm documents by kind.
 */
export function crioKubeadmPatches(): string[] {
  const nodeRegistration = (kind: string) => `kind: ${kind}\nnodeRegistration:\n  criSocket: ${CRIO_SOCKET}\n`;
  return [
    nodeRegistration('InitConfiguration'),
    nodeRegistration('JoinConfiguration'),
    `kind: KubeletConfiguration\ncontainerRuntimeEndpoint: ${CRIO_SOCKET}\n`,
  ];
}

/** The files a CRI-O node gets on top of the containerd node, path → [content, mode]. */
export function crioNodeFiles(pauseImage: string): Record<string, [string, number]> {
  return {
    'etc/crio/crio.conf.d/10-pullcheck.conf': [crioConfig({ pauseImage }), 0o644],
    'etc/containers/storage.conf': [STORAGE_CONF, 0o644],
    'etc/systemd/system/crio.service': [CRIO_SERVICE, 0o644],
    'etc/crictl.yaml': [`runtime-endpoint: ${CRIO_SOCKET}\n`, 0o644],
    'etc/default/kubelet': ['KUBELET_EXTRA_ARGS=--runtime-cgroups=/system.slice/crio.service\n', 0o644],
    [RUNC_WRAPPER_PATH.slice(1)]: [RUNC_WRAPPER, 0o755],
  };
}

export function crioInputsKey(containerdNodeKey: string, pauseImage: string): string {
  const text = [
    CRIO_REVISION,
    containerdNodeKey,
    CRIO_VERSION,
    ...CRIO_BUILD_TAGS,
    ...CRIO_DEBIAN_PACKAGES,
    PRELOAD_SCRIPT,
    ...Object.entries(crioNodeFiles(pauseImage)).map(([p, [c, m]]) => `${p} ${m} ${c}`),
  ].join('\n');
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}
