// The cluster's shape as scenarios see it: which nodes are control planes and which are workers (from
// the `node-role.kubernetes.io/*` labels kubeadm and managed offerings set, never from a node's
// name), which nodes a run has quarantined, and what a scenario's declared needs ask of it.
import type { V1Node, V1Taint } from '@kubernetes/client-node';
import type { Kube } from './kube.ts';

/** The labels that make a node a control plane (`master`: clusters set up before kubeadm renamed it). */
export const CONTROL_PLANE_LABELS = ['node-role.kubernetes.io/control-plane', 'node-role.kubernetes.io/master'] as const;

/** The taint a run puts on a node whose cleanup failed (value: the run's ID): see helpers/node/quarantine.ts. */
export const QUARANTINE_TAINT = 'pullcheck.io/quarantined';

/** What a scenario can ask of the cluster's shape (the other needs are in helpers/framework/declaration.ts). */
export type ShapeNeed = 'worker' | 'two-workers' | 'schedulable-control-plane';

export interface ShapeNode {
  name: string;
  controlPlane: boolean;
  /** A pod pinned to it (nodeName) runs there: no NoExecute taint evicts it and the node is not cordoned. */
  pinnable: boolean;
  /** The run that quarantined it (its cleanup failed), if one did. */
  quarantinedBy?: string;
}

export interface ClusterShape {
  nodes: readonly ShapeNode[];
  /** Nodes without a control-plane role, not quarantined, sorted by name. */
  workers: string[];
  /** Nodes with a control-plane role, not quarantined, sorted by name. */
  controlPlanes: string[];
  /** Control planes a pinned pod runs on. */
  schedulableControlPlanes: string[];
  /** Nodes a run quarantined: no scenario picks them. */
  quarantined: string[];
}

/** A node that is not cordoned and carries no NoExecute taint but kubelet's own transient ones. */
function pinnable(n: V1Node): boolean {
  const evicting = (t: V1Taint) => t.effect === 'NoExecute' && !t.key.startsWith('node.kubernetes.io/');
  return !n.spec?.unschedulable && !(n.spec?.taints ?? []).some(evicting);
}

export function shapeNode(n: V1Node): ShapeNode {
  const labels = n.metadata?.labels ?? {};
  const quarantine = (n.spec?.taints ?? []).find((t) => t.key === QUARANTINE_TAINT);
  return {
    name: n.metadata?.name ?? '',
    controlPlane: CONTROL_PLANE_LABELS.some((l) => l in labels),
    pinnable: pinnable(n),
    ...(quarantine ? { quarantinedBy: quarantine.value ?? '' } : {}),
  };
}

export function clusterShape(list: readonly V1Node[]): ClusterShape {
  const nodes = list
    .map(shapeNode)
    .filter((n) => n.name)
    .sort((a, b) => a.name.localeCompare(b.name));
  const usable = nodes.filter((n) => n.quarantinedBy === undefined);
  const controlPlanes = usable.filter((n) => n.controlPlane);
  return {
    nodes,
    workers: usable.filter((n) => !n.controlPlane).map((n) => n.name),
    controlPlanes: controlPlanes.map((n) => n.name),
    schedulableControlPlanes: controlPlanes.filter((n) => n.pinnable).map((n) => n.name),
    quarantined: nodes.filter((n) => n.quarantinedBy !== undefined).map((n) => n.name),
  };
}

/** How many workers a scenario's needs ask for. */
export function workersNeeded(needs: readonly string[]): number {
  return needs.includes('two-workers') ? 2 : needs.includes('worker') ? 1 : 0;
}

export interface UnmetShape {
  reason: string;
  /** The cluster has it, but the run quarantined part of it: the scenario could not run, which is a failure. */
  quarantine: boolean;
}

function plural(n: number, one: string): string {
  return `${n} ${one}${n === 1 ? '' : 's'}`;
}

/** Why the cluster's shape cannot give what `needs` ask for, if it cannot; undefined when it can. */
export function unmetShape(needs: readonly string[], shape: ClusterShape, cluster: string): UnmetShape | undefined {
  const quarantined = shape.quarantined.length
    ? `, and ${shape.quarantined.join(', ')} ${shape.quarantined.length === 1 ? 'is' : 'are'} quarantined by a cleanup that failed earlier`
    : '';
  const wanted = workersNeeded(needs);
  if (shape.workers.length < wanted) {
    const all = shape.nodes.filter((n) => !n.controlPlane).length;
    return {
      reason: `the scenario needs ${plural(wanted, 'worker')} (needs: ${wanted === 2 ? 'two-workers' : 'worker'}), and ${cluster} has ${all} (${
        shape.nodes
          .filter((n) => !n.controlPlane)
          .map((n) => n.name)
          .join(', ') || 'none'
      }: nodes without a node-role.kubernetes.io/control-plane label)${quarantined}`,
      quarantine: all >= wanted,
    };
  }
  if (needs.includes('schedulable-control-plane') && shape.schedulableControlPlanes.length === 0) {
    const all = shape.nodes.filter((n) => n.controlPlane);
    return {
      reason: `the scenario needs a control-plane node a pinned pod runs on (needs: schedulable-control-plane), and ${cluster} ${
        all.length === 0
          ? 'shows none (no node with a node-role.kubernetes.io/control-plane label: a managed control plane)'
          : `has ${all.map((n) => n.name).join(', ')}, ${all.some((n) => n.pinnable) ? 'quarantined' : 'cordoned or tainted NoExecute'}`
      }${quarantined}`,
      quarantine: all.some((n) => n.pinnable),
    };
  }
  return undefined;
}

/** The cluster's shape now (one node list). */
export async function readClusterShape(kube: Pick<Kube, 'core'>): Promise<ClusterShape> {
  return clusterShape((await kube.core.listNode()).items);
}
