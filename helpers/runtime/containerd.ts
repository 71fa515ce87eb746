// containerd behind the runtime seam (runtime.ts): trust and mirrors in a hosts.toml per registry
// host under certs.d (config_path, read at each pull: no restart), images imported with `ctr` into
// the `k8s.io` namespace the CRI plugin serves.
import type { NodeAccess } from '../node/access.ts';
import { mirrorHostsToml, namespaceDir } from '../registry/mirror.ts';
import type { MirrorSpec, NodeFile, NodeRuntime } from './types.ts';

export const CONTAINERD_NAMESPACE = 'k8s.io';

/** containerd's hosts.toml for one registry: HTTPS trusting `caPath`, or plain HTTP when there is none. */
export function hostsToml(host: string, caPath: string | undefined): string {
  const url = `${caPath ? 'https' : 'http'}://${host}`;
  return [
    `server = "${url}"`,
    '',
    `[host."${url}"]`,
    '  capabilities = ["pull", "resolve"]',
    ...(caPath ? [`  ca = "${caPath}"`] : []),
    '',
  ].join('\n');
}

export const containerdRuntime: NodeRuntime = {
  name: 'containerd',
  unit: 'containerd',
  userAgent: /containerd/i,
  trustFiles(host, caPem) {
    const dir = namespaceDir(host);
    const files: NodeFile[] = [];
    if (caPem) files.push({ path: `${dir}/ca.crt`, content: caPem });
    files.push({ path: `${dir}/hosts.toml`, content: hostsToml(host, caPem ? `${dir}/ca.crt` : undefined) });
    return files;
  },
  trustPaths: (host) => [namespaceDir(host)],
  trustNeedsReload: () => false,
  mirrorFiles(o: MirrorSpec) {
    const dir = namespaceDir(o.upstream);
    const caPath = `${dir}/mirror-ca.crt`;
    return [
      { path: caPath, content: o.caPem },
      { path: `${dir}/hosts.toml`, content: mirrorHostsToml({ ...o, caPath }) },
    ];
  },
  mirrorsNeedReload: false,
  reload: async () => undefined,
  async importImage(nodes: NodeAccess, node: string, _ref: string, archive: string) {
    // The archive names the image through io.containerd.image.name (helpers/images/archive.ts).
    await nodes.exec(node, ['ctr', `--namespace=${CONTAINERD_NAMESPACE}`, 'images', 'import', '--no-unpack=false', '-'], {
      inputFile: archive,
    });
  },
  removalWaitsForContainers: false,
  releaseImage: async () => undefined,
  async removeImage(nodes, node, ref) {
    await nodes.exec(node, ['ctr', `--namespace=${CONTAINERD_NAMESPACE}`, 'images', 'rm', ref], { allowFailure: true });
  },
};
