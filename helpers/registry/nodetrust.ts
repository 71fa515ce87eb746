// Makes every node of a cluster pull from a registry over TLS, as kind's local-registry guide does:
// a hosts.toml and the CA under containerd's certs.d (read at each pull: no restart), and the
// KEP-1755 ConfigMap that tells tools where the local registry is.
import { CERTS_D } from '../cluster/kindconfig.ts';
import type { Kube } from '../kube.ts';
import type { NodeAccess } from '../nodes.ts';

export function hostsToml(host: string, caPath: string): string {
  return [
    `server = "https://${host}"`,
    '',
    `[host."https://${host}"]`,
    '  capabilities = ["pull", "resolve"]',
    `  ca = "${caPath}"`,
    '',
  ].join('\n');
}

export async function trustRegistryOnNodes(nodes: NodeAccess, nodeNames: readonly string[], host: string, caPem: string): Promise<void> {
  const dir = `${CERTS_D}/${host}`;
  await Promise.all(nodeNames.map(async (node) => {
    await nodes.writeFile(node, `${dir}/ca.crt`, caPem);
    await nodes.writeFile(node, `${dir}/hosts.toml`, hostsToml(host, `${dir}/ca.crt`));
  }));
}

export async function untrustRegistryOnNodes(nodes: NodeAccess, nodeNames: readonly string[], host: string): Promise<void> {
  await Promise.all(nodeNames.map((node) => nodes.exec(node, ['rm', '-rf', `${CERTS_D}/${host}`], { allowFailure: true })));
}

export function localRegistryHostingData(host: string): string {
  return [`host: "${host}"`, `hostFromContainerRuntime: "${host}"`, `hostFromClusterNetwork: "${host}"`, ''].join('\n');
}

export async function publishLocalRegistryHosting(kube: Kube, host: string): Promise<void> {
  const body = {
    metadata: { name: 'local-registry-hosting', namespace: 'kube-public', labels: { 'pullcheck.io/managed': 'true' } },
    data: { 'localRegistryHosting.v1': localRegistryHostingData(host) },
  };
  try {
    await kube.core.replaceNamespacedConfigMap({ name: 'local-registry-hosting', namespace: 'kube-public', body });
  } catch {
    await kube.core.createNamespacedConfigMap({ namespace: 'kube-public', body });
  }
}
