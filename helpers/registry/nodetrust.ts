// Makes every node of a cluster pull from a registry over TLS, as kind's local-registry guide does:
// the CA where the declared runtime reads it (helpers/runtime/: containerd's certs.d hosts.toml,
// CRI-O's containers certs.d), and the KEP-1755 ConfigMap that tells tools where the local registry is.
import { apiStatus, type Kube } from '../cluster/kube.ts';
import { LABEL_MANAGED } from '../infra/docker.ts';
import type { NodeAccess } from '../node/access.ts';
import { journaledWrites, undoUnderAndRemove } from '../node/journal.ts';
import { containerdRuntime } from '../runtime/containerd.ts';
import type { NodeRuntime } from '../runtime/runtime.ts';

export { hostsToml } from '../runtime/containerd.ts';

/** A registry the nodes are to pull from: its host, and its CA (undefined: plain HTTP). */
export interface NodeTrust {
  host: string;
  caPem: string | undefined;
}

/** Writes what makes every node pull from `host` (the CA, for TLS) where `runtime` reads it. `caPem` undefined: plain HTTP. */
export async function trustRegistryOnNodes(
  nodes: NodeAccess,
  nodeNames: readonly string[],
  host: string,
  caPem: string | undefined,
  runtime: NodeRuntime = containerdRuntime,
): Promise<void> {
  await trustRegistriesOnNodes(nodes, nodeNames, [{ host, caPem }], runtime);
}

/** The same for several registries at once: one journaled write (and at most one runtime reload) per node. */
export async function trustRegistriesOnNodes(
  nodes: NodeAccess,
  nodeNames: readonly string[],
  registries: readonly NodeTrust[],
  runtime: NodeRuntime = containerdRuntime,
): Promise<void> {
  if (registries.length === 0) return;
  const reload = registries.some((r) => runtime.trustNeedsReload(r.caPem));
  const files = registries.flatMap((r) => runtime.trustFiles(r.host, r.caPem));
  await Promise.all(
    nodeNames.map(async (node) => {
      // Journaled (a killed run's entries are undone by the next); `fresh`: pullcheck's own content,
      // so its undo removes the file even when another suite of the run wrote it first.
      await journaledWrites(nodes, node, files, { restart: reload ? ['crio'] : [] });
      if (reload) await runtime.reload(nodes, node);
    }),
  );
}

export async function untrustRegistryOnNodes(
  nodes: NodeAccess,
  nodeNames: readonly string[],
  host: string,
  runtime: NodeRuntime = containerdRuntime,
): Promise<void> {
  await untrustRegistriesOnNodes(nodes, nodeNames, [host], runtime);
}

/** Undoes the trust of several registries: one undo per node for all their paths. */
export async function untrustRegistriesOnNodes(
  nodes: NodeAccess,
  nodeNames: readonly string[],
  hosts: readonly string[],
  runtime: NodeRuntime = containerdRuntime,
): Promise<void> {
  if (hosts.length === 0) return;
  const paths = hosts.flatMap((host) => runtime.trustPaths(host));
  await Promise.all(
    nodeNames.map(async (node) => {
      // What this process wrote goes through its journal entries; anything else there the old way.
      const removed = await undoUnderAndRemove(nodes, node, paths);
      // A runtime that re-reads its registry configuration only when told (CRI-O) is told once the files are gone.
      if (removed > 0 && runtime.trustNeedsReload(undefined)) await runtime.reload(nodes, node);
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
