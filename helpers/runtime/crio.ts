// CRI-O behind the runtime seam (runtime.ts). CRI-O pulls with containers/image: a registry's CA is
// `/etc/containers/certs.d/HOST:PORT/ca.crt` (read each time a client is made: no reload), while
// plain HTTP and mirrors are entries of containers-registries.conf(5), here one drop-in file in
// `/etc/containers/registries.conf.d/` each, which CRI-O re-reads on SIGHUP ("applied new registry
// configuration" in its journal). Images are placed without kubelet with `skopeo copy` into
// `containers-storage:`, the store CRI-O serves (/etc/containers/storage.conf, the same vfs store).
import type { NodeAccess } from '../node/access.ts';
import type { MirrorSpec, NodeFile, NodeRuntime } from './types.ts';

export const CONTAINERS_CERTS_D = '/etc/containers/certs.d';
export const REGISTRIES_CONF_D = '/etc/containers/registries.conf.d';
/** What CRI-O logs once it has re-read registries.conf(.d) after a SIGHUP, and when that failed. */
export const RELOAD_DONE = 'Applied new registry configuration';
export const RELOAD_FAILED = 'system registries reload failed';

/** A host:port as one file name element. */
function fileName(host: string): string {
  return host.replace(/[^A-Za-z0-9._-]/g, '_');
}

/** The registries.conf.d drop-in pullcheck writes for `host` (plain HTTP). */
export function insecureConfPath(host: string): string {
  return `${REGISTRIES_CONF_D}/pullcheck-${fileName(host)}.conf`;
}

/** The drop-in that puts mirrors in front of `upstream`. */
export function mirrorConfPath(upstream: string): string {
  return `${REGISTRIES_CONF_D}/pullcheck-mirror-${fileName(upstream)}.conf`;
}

/** containers-registries.conf(5): `host` reached over plain HTTP (`insecure`: HTTP, or HTTPS unverified). */
export function insecureRegistryConf(host: string): string {
  return ['[[registry]]', `prefix = "${host}"`, `location = "${host}"`, 'insecure = true', ''].join('\n');
}

/**
 * containers-registries.conf(5): images named `upstream/…` are pulled from each mirror in order,
 * then from `upstream` itself. A mirror is used for pulls by tag and by digest alike
 * (`pull-from-mirror` defaults to "all"); containers/image has no mirror that may not resolve.
 */
export function mirrorRegistryConf(o: Pick<MirrorSpec, 'upstream' | 'mirrors'>): string {
  return [
    '[[registry]]',
    `prefix = "${o.upstream}"`,
    `location = "${o.upstream}"`,
    ...o.mirrors.flatMap((m) => ['', '[[registry.mirror]]', `location = "${m}"`]),
    '',
  ].join('\n');
}

/** Streams an OCI archive to a temporary file on the node and copies its one image into containers-storage under $1. */
export const SKOPEO_IMPORT_SHELL = `set -e
f=$(mktemp /var/tmp/pullcheck-import.XXXXXX)
trap 'rm -f "$f"' EXIT
cat > "$f"
skopeo copy --quiet "oci-archive:$f" "containers-storage:$1"`;

/** Sends CRI-O a SIGHUP and waits (deadline 20s) for its journal to say the registries were re-read. */
export const RELOAD_SHELL = `set -e
cursor=$(journalctl -u crio -n 0 --show-cursor --no-pager 2>/dev/null | sed -n 's/^-- cursor: //p')
systemctl kill --kill-whom=main --signal=HUP crio
i=0
while [ $i -lt 40 ]; do
  out=$(journalctl -u crio \${cursor:+--after-cursor="$cursor"} --no-pager -o cat 2>/dev/null | grep -iF -e '${RELOAD_DONE}' -e '${RELOAD_FAILED}' || true)
  case "$out" in *'${RELOAD_FAILED}'*) echo "$out" >&2; exit 1;; esac
  case "$out" in *'${RELOAD_DONE}'*) exit 0;; esac
  sleep 0.5; i=$((i+1))
done
echo "crio did not log '${RELOAD_DONE}' within 20s of SIGHUP" >&2
exit 1`;

export const crioRuntime: NodeRuntime = {
  name: 'cri-o',
  unit: 'crio',
  // CRI-O sets containers/image's DockerRegistryUserAgent to its own: "cri-o/1.34.0 go/… os/linux arch/…".
  userAgent: /cri-o/i,
  trustFiles(host, caPem) {
    if (caPem) return [{ path: `${CONTAINERS_CERTS_D}/${host}/ca.crt`, content: caPem }];
    return [{ path: insecureConfPath(host), content: insecureRegistryConf(host) }];
  },
  trustPaths: (host) => [`${CONTAINERS_CERTS_D}/${host}`, insecureConfPath(host)],
  trustNeedsReload: (caPem) => caPem === undefined,
  mirrorFiles(o: MirrorSpec): NodeFile[] {
    return [
      // One CA for the upstream and each mirror, in each one's own certs.d directory.
      ...[o.upstream, ...o.mirrors].map((h) => ({ path: `${CONTAINERS_CERTS_D}/${h}/ca.crt`, content: o.caPem })),
      { path: mirrorConfPath(o.upstream), content: mirrorRegistryConf(o) },
    ];
  },
  mirrorsNeedReload: true,
  async reload(nodes: NodeAccess, node: string) {
    await nodes.exec(node, ['sh', '-c', RELOAD_SHELL]);
  },
  async importImage(nodes, node, ref, archive) {
    await nodes.exec(node, ['sh', '-c', SKOPEO_IMPORT_SHELL, 'sh', ref], { inputFile: archive });
  },
  // "image used by …: image is in use by a container" (CRI-O's RemoveImage) while a pod's container exists.
  removalWaitsForContainers: true,
  async releaseImage(nodes, node, ref) {
    // Only exited containers: a running one belongs to a pod not yet gone, which kubelet would restart.
    const listed = await nodes.exec(node, ['crictl', 'ps', '-a', '--state', 'exited', '--image', ref, '-q'], { allowFailure: true });
    const ids = listed.stdout
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    if (ids.length) await nodes.exec(node, ['crictl', 'rm', ...ids], { allowFailure: true });
  },
  async removeImage(nodes, node, ref) {
    // crictl rmi (the caller's) untags it in CRI-O's store; a name only skopeo gave goes here.
    await nodes.exec(node, ['skopeo', 'delete', `containers-storage:${ref}`], { allowFailure: true });
  },
};
