// The pod network, without a CNI daemon: kind's kindnetd image cannot be built offline (its module
// is not on the Go module proxy), so pullcheck does what kindnetd would do on a static set of nodes,
// once, after the nodes join: a ptp + host-local CNI config with each node's podCIDR, a route on
// every node to every other node's podCIDR, and masquerading for traffic that leaves the pod network.
import type { V1Node } from '@kubernetes/client-node';
import type { Logger } from '../infra/log.ts';
import type { NodeAccess } from '../node/access.ts';
import { type Kube, waitFor } from './kube.ts';

export const CNI_CONFIG_PATH = '/etc/cni/net.d/10-pullcheck.conflist';

export interface PodNetworkNode {
  name: string;
  internalIP: string;
  podCIDR: string;
}

export function cniConfig(podCIDR: string): string {
  return `${JSON.stringify(
    {
      cniVersion: '0.3.1',
      name: 'pullcheck',
      plugins: [
        {
          type: 'ptp',
          ipMasq: false,
          mtu: 1500,
          ipam: { type: 'host-local', dataDir: '/run/cni-ipam-state', routes: [{ dst: '0.0.0.0/0' }], ranges: [[{ subnet: podCIDR }]] },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    },
    null,
    2,
  )}\n`;
}

/** The shell a node runs: its routes to the others and the masquerade rule, idempotent. */
export function nodeNetworkScript(self: PodNetworkNode, all: readonly PodNetworkNode[], clusterPodSubnet: string): string {
  const lines = ['set -eu'];
  for (const other of all) {
    if (other.name !== self.name) lines.push(`ip route replace ${other.podCIDR} via ${other.internalIP}`);
  }
  const rule = `-s ${clusterPodSubnet} ! -d ${clusterPodSubnet} -m comment --comment pullcheck-pod-egress -j MASQUERADE`;
  lines.push(`iptables -t nat -C POSTROUTING ${rule} 2>/dev/null || iptables -t nat -A POSTROUTING ${rule}`);
  return `${lines.join('\n')}\n`;
}

function describeNode(n: V1Node): string {
  const ready = n.status?.conditions?.find((c) => c.type === 'Ready');
  return `${n.metadata?.name}: podCIDR=${n.spec?.podCIDR ?? '(none)'} Ready=${ready?.status ?? '?'} ${ready?.reason ?? ''} ${ready?.message ?? ''}`.trim();
}

export async function setUpPodNetwork(
  kube: Kube,
  nodes: NodeAccess,
  expectedNodes: number,
  clusterPodSubnet: string,
  logger: Logger,
): Promise<PodNetworkNode[]> {
  const network = await waitFor({
    kube,
    what: `${expectedNodes} nodes with a podCIDR`,
    path: '/api/v1/nodes',
    timeoutMs: 120_000,
    list: async () => {
      const l = await kube.core.listNode();
      return { items: l.items, resourceVersion: l.metadata?.resourceVersion ?? '' };
    },
    until: (all: V1Node[]) => {
      const withCidr = all.flatMap((n) => {
        const ip = n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
        return n.metadata?.name && n.spec?.podCIDR && ip ? [{ name: n.metadata.name, internalIP: ip, podCIDR: n.spec.podCIDR }] : [];
      });
      return withCidr.length >= expectedNodes ? withCidr : undefined;
    },
    describe: describeNode,
  });
  for (const node of network) {
    await nodes.writeFile(node.name, CNI_CONFIG_PATH, cniConfig(node.podCIDR));
    await nodes.exec(node.name, ['sh', '-c', nodeNetworkScript(node, network, clusterPodSubnet)]);
    logger.detail(`${node.name}: pod network ${node.podCIDR} via ${node.internalIP}`);
  }
  return network;
}

export async function waitForNodesReady(kube: Kube, expectedNodes: number, timeoutMs: number): Promise<void> {
  await waitFor({
    kube,
    what: `${expectedNodes} nodes Ready`,
    path: '/api/v1/nodes',
    timeoutMs,
    list: async () => {
      const l = await kube.core.listNode();
      return { items: l.items, resourceVersion: l.metadata?.resourceVersion ?? '' };
    },
    until: (all: V1Node[]) => {
      const ready = all.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
      return ready.length >= expectedNodes ? true : undefined;
    },
    describe: describeNode,
  });
}
