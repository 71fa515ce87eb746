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
/** runc as pullcheck builds it, behind the oom_score_adj and capabilities clamp. */
export const RUNC_WRAPPER_PATH = '/usr/local/bin/runc-pullcheck';

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

/** Linux capabilities by bit number, as /proc/self/status's CapBnd counts them. */
export const CAPABILITY_NAMES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
] as const;

/**
 * The jq program the runc wrapper applies to a bundle's config.json: process.oomScoreAdj raised to
 * `$min` (what this node's processes may set) and each capability set cut to `$allowed` (the
 * node's bounding set). Exported for the unit test, which runs it with jq.
 */
export const CLAMP_JQ =
  'if .process then .process |= ((if (.oomScoreAdj // null) != null and .oomScoreAdj < $min then .oomScoreAdj = $min else . end) | (if .capabilities then .capabilities |= with_entries(.value |= map(select(. as $c | $allowed | index($c)))) else . end)) else . end';

/**
 * The wrapper CRI-O runs as runc. The host here has no CAP_SYS_RESOURCE in its bounding set, so a
 * node may neither lower oom_score_adj (kubelet asks -997 for static pods) nor grant that
 * capability (CRI-O gives a privileged container, such as kube-proxy, every capability it knows):
 * runc fails both. containerd copes by itself (restrict_oom_score_adj, and privileged means the
 * capabilities it has); CRI-O has no such settings, so for `create` and `run` the wrapper edits the
 * bundle's config.json the same way, then runs pullcheck's runc.
 */
export const RUNC_WRAPPER = `#!/bin/bash
# pullcheck: runc with oom_score_adj and capabilities clamped to what this node has (helpers/build/nodeimage/crioconfig.ts).
set -e
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
  if [ -f "$bundle/config.json" ]; then
    names=(${CAPABILITY_NAMES.join(' ')})
    bnd=$((16#$(awk '/^CapBnd/ {print $2}' /proc/self/status)))
    allowed=()
    for i in "\${!names[@]}"; do
      if (( (bnd >> i) & 1 )); then allowed+=("\${names[$i]}"); fi
    done
    jq --argjson min "$(cat /proc/self/oom_score_adj)" --argjson allowed "$(printf '%s\\n' "\${allowed[@]}" | jq -R . | jq -s .)" \\
      '${CLAMP_JQ}' "$bundle/config.json" > "$bundle/config.json.pullcheck"
    mv "$bundle/config.json.pullcheck" "$bundle/config.json"
  fi
fi
exec "\${PULLCHECK_RUNC:-/usr/local/sbin/runc}" "$@"
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
