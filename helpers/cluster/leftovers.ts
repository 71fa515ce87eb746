// What a killed run (SIGKILL, a crashed worker) leaves in a cluster that outlives it (an existing
// cluster, or a kind cluster kept with --keep): scenario and node-agent namespaces, RBAC grants, a
// second API server's static pod, node locks. Each carries the host and pid of the process that made
// it; the next suite to start on the same host removes those whose process is gone. Objects made
// from another host are left alone (their owner may be alive); their node locks go once expired.
import { hostname } from 'node:os';
import { CoordinationV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { MANAGED_SELECTOR } from '../infra/docker.ts';
import type { Logger } from '../infra/log.ts';
import { alive, LABEL_OWNER_PID } from '../infra/sweep.ts';
import type { NodeAccess } from '../node/access.ts';
import { heldByDeadProcess, LOCK_NAMESPACE, leaseExpired, removeAbandonedLock } from '../node/lock.ts';
import type { Kube } from './kube.ts';

export const LABEL_OWNER_HOST = 'pullcheck.io/owner-host';
const MANAGED = MANAGED_SELECTOR;

/** A label value (63 characters of [A-Za-z0-9._-], alphanumeric at both ends) naming this host. */
export function hostLabel(name = hostname()): string {
  return (
    name
      .replace(/[^A-Za-z0-9._-]/g, '-')
      .slice(0, 63)
      .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '') || 'unknown'
  );
}

/** Labels that let the next run tell whether the process that made an object is still alive. */
export function ownerLabels(): Record<string, string> {
  return { [LABEL_OWNER_HOST]: hostLabel(), [LABEL_OWNER_PID]: String(process.pid) };
}

/** Whether an object's labels say it was made on this host by a process that no longer exists. */
export function orphaned(labels: Readonly<Record<string, string>> | undefined, host = hostLabel(), isAlive = alive): boolean {
  if (!labels || labels[LABEL_OWNER_HOST] !== host) return false;
  const pid = Number(labels[LABEL_OWNER_PID]);
  return Number.isInteger(pid) && pid > 0 && !isAlive(pid);
}

/** Removes what killed runs of this host left in the cluster; returns what it removed. */
export async function sweepClusterLeftovers(o: { kube: Kube; nodes?: NodeAccess; logger: Logger }): Promise<string[]> {
  const removed: string[] = [];
  const { core } = o.kube;
  for (const ns of (await core.listNamespace({ labelSelector: MANAGED })).items) {
    if (!orphaned(ns.metadata?.labels) || ns.status?.phase === 'Terminating') continue;
    await core.deleteNamespace({ name: ns.metadata?.name ?? '' });
    removed.push(`namespace ${ns.metadata?.name}`);
  }
  const rbac = o.kube.config.makeApiClient(RbacAuthorizationV1Api);
  for (const b of (await rbac.listClusterRoleBinding({ labelSelector: MANAGED })).items) {
    if (!orphaned(b.metadata?.labels)) continue;
    await rbac.deleteClusterRoleBinding({ name: b.metadata?.name ?? '' });
    removed.push(`clusterrolebinding ${b.metadata?.name}`);
  }
  for (const r of (await rbac.listClusterRole({ labelSelector: MANAGED })).items) {
    if (!orphaned(r.metadata?.labels)) continue;
    await rbac.deleteClusterRole({ name: r.metadata?.name ?? '' });
    removed.push(`clusterrole ${r.metadata?.name}`);
  }
  // A second API server runs from a manifest file on its node; its mirror pod carries the labels.
  for (const p of (await core.listNamespacedPod({ namespace: 'kube-system', labelSelector: MANAGED })).items) {
    const node = p.spec?.nodeName;
    const file =
      p.metadata?.annotations?.['kubernetes.io/config.source'] === 'file' ? p.metadata.labels?.['pullcheck.io/manifest'] : undefined;
    if (!o.nodes || !node || !file || !orphaned(p.metadata?.labels)) continue;
    await o.nodes.exec(node, ['rm', '-f', `/etc/kubernetes/manifests/${file}`]);
    removed.push(`static pod ${p.metadata?.name} (${node}:/etc/kubernetes/manifests/${file})`);
  }
  const coordination = o.kube.config.makeApiClient(CoordinationV1Api);
  for (const l of (await coordination.listNamespacedLease({ namespace: LOCK_NAMESPACE, labelSelector: MANAGED })).items) {
    // Expired, or held by a process of this host that is gone (released now, not waited out).
    if (!leaseExpired(l, new Date()) && !heldByDeadProcess(l)) continue;
    await removeAbandonedLock(coordination, l).catch(() => undefined);
    removed.push(`lease ${LOCK_NAMESPACE}/${l.metadata?.name} (${l.spec?.holderIdentity ?? '?'})`);
  }
  if (removed.length > 0) o.logger.warn(`removed what runs killed on this host left in the cluster: ${removed.join(', ')}`);
  return removed;
}
