// posture/runtime: the container runtime each node reports (`status.nodeInfo.containerRuntimeVersion`,
// `containerd://2.1.4`, `cri-o://1.34.0`) against the declared `posture.runtime`. A runtime is not a
// security setting, so unlike the other checks the fix may be the declaration: declaring the runtime
// the cluster runs cannot turn a leak into a pass. The run names a mismatch once before the suites
// (part runtime), and the scenarios whose expectations read the runtime are blocked by it.
import type { Kube } from '../cluster/kube.ts';
import type { Posture, PostureMismatch } from '../model/posture.ts';

/** What a node reports, as the check reads it. */
export interface NodeRuntime {
  name: string;
  /** `status.nodeInfo.containerRuntimeVersion`, e.g. `cri-o://1.34.0`; empty when the node reports none. */
  containerRuntimeVersion: string;
}

/** The runtime's name in a reported version: the part before `://` (`cri-o` of `cri-o://1.34.0`), or `(none reported)`. */
export function runtimeOf(containerRuntimeVersion: string): string {
  const at = containerRuntimeVersion.indexOf('://');
  return at > 0 ? containerRuntimeVersion.slice(0, at) : '(none reported)';
}

/**
 * One line when a node runs another runtime than the declared one, else undefined: "the cluster runs
 * cri-o (cri-o://1.34.0 on n1, n2), the posture declares containerd (…): declare runtime: cri-o …".
 * Nodes are grouped by what they run; a cluster whose nodes differ names each group.
 */
export function runtimeMismatch(p: Pick<Posture, 'runtime' | 'sources'>, nodes: readonly NodeRuntime[]): string | undefined {
  const other = nodes.filter((n) => runtimeOf(n.containerRuntimeVersion) !== p.runtime);
  if (other.length === 0) return undefined;
  const groups = new Map<string, NodeRuntime[]>();
  for (const n of other) {
    const runtime = runtimeOf(n.containerRuntimeVersion);
    groups.set(runtime, [...(groups.get(runtime) ?? []), n]);
  }
  const versions = (ns: readonly NodeRuntime[]) =>
    [...new Set(ns.map((n) => n.containerRuntimeVersion || '(none reported)'))]
      .map(
        (v) =>
          `${v} on ${ns
            .filter((n) => (n.containerRuntimeVersion || '(none reported)') === v)
            .map((n) => n.name)
            .join(', ')}`,
      )
      .join('; ');
  const every = other.length === nodes.length && groups.size === 1;
  const runs = [...groups]
    .map(
      ([runtime, ns]) =>
        `${every ? 'the cluster runs' : `${ns.map((n) => n.name).join(', ')} run${ns.length === 1 ? 's' : ''}`} ${runtime} (${versions(ns)})`,
    )
    .join(' and ');
  const [only] = groups.keys();
  const declare =
    every && (only === 'containerd' || only === 'cri-o') ? `declare runtime: ${only} (--posture FILE, or the profile's posture:), or ` : '';
  return `${runs}, the posture declares ${p.runtime} (${p.sources.runtime}): ${declare}run ${p.runtime} on ${every ? 'the nodes' : 'those nodes'}`;
}

/** Each node's reported runtime against the declared one (part runtime); `seen` gets every node's. */
export async function checkRuntime(
  kube: Kube,
  p: Pick<Posture, 'runtime' | 'sources'>,
  seen?: (node: NodeRuntime) => void,
): Promise<PostureMismatch[]> {
  const nodes = (await kube.core.listNode()).items.map((n) => ({
    name: n.metadata?.name ?? '',
    containerRuntimeVersion: n.status?.nodeInfo?.containerRuntimeVersion ?? '',
  }));
  for (const n of nodes) seen?.(n);
  const line = runtimeMismatch(p, nodes);
  if (!line) return [];
  return [
    {
      part: 'runtime',
      source: 'posture',
      cause: 'posture:runtime',
      nodes: nodes.filter((n) => runtimeOf(n.containerRuntimeVersion) !== p.runtime).map((n) => n.name),
      line,
      fails: true,
    },
  ];
}
