// Turning an API server admission plugin on for a while, on a running cluster: kubeadm's static pod
// manifest is edited on the control plane, kubelet restarts the API server, and the change is
// undone afterwards. Faster than a cluster of its own, and the only way here: a cluster created with
// AlwaysPullImages on would re-pull CoreDNS and kube-proxy from registry.k8s.io, which this machine
// cannot reach.
import type { V1Pod } from '@kubernetes/client-node';
import pRetry, { AbortError } from 'p-retry';
import YAML from 'yaml';
import type { Kube } from '../kube.ts';
import type { Logger } from '../log.ts';
import type { NodeAccess } from '../nodes.ts';

const MANIFEST = '/etc/kubernetes/manifests/kube-apiserver.yaml';
const FLAG = '--enable-admission-plugins=';

/** The manifest with `plugin` added to (or removed from) --enable-admission-plugins. */
export function withAdmissionPlugin(manifestYaml: string, plugin: string, enabled: boolean): string {
  const doc = YAML.parseDocument(manifestYaml);
  const pod = doc.toJS() as V1Pod;
  const container = pod.spec?.containers.find((c) => c.name === 'kube-apiserver');
  if (!container?.command) throw new Error(`${MANIFEST} has no kube-apiserver container command`);
  const i = container.command.findIndex((a) => a.startsWith(FLAG));
  const current = i >= 0 ? (container.command[i] ?? '').slice(FLAG.length).split(',').filter(Boolean) : [];
  const next = enabled ? [...new Set([...current, plugin])] : current.filter((p) => p !== plugin);
  const arg = `${FLAG}${next.join(',')}`;
  if (i >= 0) container.command[i] = arg;
  else container.command.push(arg);
  return YAML.stringify(pod);
}

export interface AdmissionToggle {
  kube: Kube;
  nodes: NodeAccess;
  controlPlane: string;
  logger: Logger;
  /** Resolves true once the API server behaves as wanted (e.g. a dry-run pod shows the mutation). */
  probe: () => Promise<boolean>;
  timeoutMs?: number;
}

/**
 * Writes the manifest (outside the manifests directory first: kubelet would start any file there as
 * a pod) and waits until `probe` says the new API server is serving. The API server is down in
 * between, so this retries connection errors until the deadline: a watch cannot outlive its server.
 */
async function apply(t: AdmissionToggle, manifest: string, what: string): Promise<void> {
  await t.nodes.writeFile(t.controlPlane, '/etc/kubernetes/kube-apiserver.yaml.pullcheck', manifest, '0600');
  await t.nodes.exec(t.controlPlane, ['mv', '/etc/kubernetes/kube-apiserver.yaml.pullcheck', MANIFEST]);
  const deadline = Date.now() + (t.timeoutMs ?? 180_000);
  let last = 'no answer yet';
  await pRetry(async () => {
    try {
      if (await t.probe()) return;
      last = 'the API server answers, without the change yet';
    } catch (error) {
      last = error instanceof Error ? error.message.split('\n')[0] ?? '' : String(error);
    }
    if (Date.now() > deadline) throw new AbortError(`API server on ${t.controlPlane} did not come back ${what} within ${(t.timeoutMs ?? 180_000) / 1000}s; last: ${last}`);
    throw new Error(last);
  }, { retries: 1000, minTimeout: 500, maxTimeout: 2000, factor: 1.3 });
}

/** Enables `plugin`; returns what restores the manifest as it was. */
export async function enableAdmissionPlugin(t: AdmissionToggle, plugin: string, restoredProbe: () => Promise<boolean>): Promise<() => Promise<void>> {
  const { stdout: original } = await t.nodes.exec(t.controlPlane, ['cat', MANIFEST]);
  await t.logger.phase(`enable admission plugin ${plugin} on ${t.controlPlane}`, () => apply(t, withAdmissionPlugin(original, plugin, true), `with ${plugin}`));
  return () => t.logger.phase(`restore the API server on ${t.controlPlane} (without ${plugin})`, () => apply({ ...t, probe: restoredProbe }, `${original}\n`, `without ${plugin}`));
}
