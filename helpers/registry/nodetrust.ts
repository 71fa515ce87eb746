// Makes every node of a cluster pull from a registry over TLS, as kind's local-registry guide does:
// a hosts.toml and the CA under containerd's certs.d (read at each pull: no restart), and the
// KEP-1755 ConfigMap that tells tools where the local registry is.
import { CERTS_D } from '../cluster/kindconfig.ts';
import { apiStatus, type Kube } from '../cluster/kube.ts';
import type { NodeAccess } from '../node/access.ts';
import { journaledWrite, undoUnder } from '../node/journal.ts';
import { LABEL_MANAGED } from '../infra/docker.ts';

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

/** Writes hosts.toml (and the CA, for TLS) on every node. `caPem` undefined: plain HTTP. */
export async function trustRegistryOnNodes(
  nodes: NodeAccess,
  nodeNames: readonly string[],
  host: string,
  caPem: string | undefined,
): Promise<void> {
  const dir = `${CERTS_D}/${host}`;
  await Promise.all(
    nodeNames.map(async (node) => {
      // Journaled (a killed run's entries are undone by the next); `fresh`: pullcheck's own content,
      // so its undo removes the file even when another suite of the run wrote it first.
      if (caPem) await journaledWrite(nodes, node, `${dir}/ca.crt`, caPem, { fresh: true });
      await journaledWrite(nodes, node, `${dir}/hosts.toml`, hostsToml(host, caPem ? `${dir}/ca.crt` : undefined), { fresh: true });
    }),
  );
}

export async function untrustRegistryOnNodes(nodes: NodeAccess, nodeNames: readonly string[], host: string): Promise<void> {
  const dir = `${CERTS_D}/${host}`;
  await Promise.all(
    nodeNames.map(async (node) => {
      // What this process wrote goes through its journal entries; anything else there the old way.
      await undoUnder(nodes, node, dir);
      await nodes.exec(node, ['rm', '-rf', dir], { allowFailure: true });
    }),
  );
}

export function localRegistryHostingData(host: string): string {
  return [`host: "${host}"`, `hostFromContainerRuntime: "${host}"`, `hostFromClusterNetwork: "${host}"`, ''].join('\n');
}

export async function publishLocalRegistryHosting(kube: Kube, host: string): Promise<void> {
  const body = {
    metadata: { name: 'local-registry-hosting', namespace: 'kube-public', labels: { [LABEL_MANAGED]: 'true' } },
    data: { 'localRegistryHosting.v1': localRegistryHostingData(host) },
  };
  const replace = () => kube.core.replaceNamespacedConfigMap({ name: 'local-registry-hosting', namespace: 'kube-public', body });
  try {
    await replace();
  } catch (error) {
    if (apiStatus(error) !== 404) throw error;
    // Two suites starting at once on a new cluster both find it missing: the second one replaces.
    await kube.core
      .createNamespacedConfigMap({ namespace: 'kube-public', body })
      .catch((e: unknown) => (apiStatus(e) === 409 ? replace() : Promise.reject(e)));
  }
}
