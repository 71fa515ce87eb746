// A cluster pullcheck did not create (`pullcheck run --kubeconfig PATH [--context NAME]`). Kind
// clusters are recognised by their nodes' provider IDs and keep `docker exec` node access and their
// docker network (so the run's local registries stay reachable); any other cluster gets the node
// agent DaemonSet for node-level steps, installed once a registry can serve its image.
import { existsSync, readFileSync } from 'node:fs';
import { KubeConfig, type V1Node } from '@kubernetes/client-node';
import { docker } from '../infra/docker.ts';
import type { Logger } from '../infra/log.ts';
import { EnvironmentError } from '../infra/preflight.ts';
import { KindNodeAccess, type NodeAccess } from '../node/access.ts';
import type { Cluster } from './cluster.ts';
import { kubeFromString } from './kube.ts';

export interface ExistingClusterOptions {
  kubeconfig: string;
  context?: string;
  /** From a pod: no Docker to tell kind nodes by or to exec into them with. */
  inCluster?: boolean;
  logger: Logger;
}

/** Node access that fails with the reason until the run installs the node agent (needs a registry). */
export class PendingNodeAccess implements NodeAccess {
  readonly how = 'none';
  constructor(private readonly why: string) {}

  exec(): never {
    throw new EnvironmentError(this.why);
  }

  writeFile(): never {
    throw new EnvironmentError(this.why);
  }
}

export function isKindNode(n: V1Node): boolean {
  return (n.spec?.providerID ?? '').startsWith('kind://');
}

export async function connectExisting(o: ExistingClusterOptions): Promise<Cluster> {
  if (!existsSync(o.kubeconfig))
    throw new EnvironmentError(`kubeconfig ${o.kubeconfig} does not exist: pass --kubeconfig with the path of the cluster's kubeconfig`);
  const text = readFileSync(o.kubeconfig, 'utf8');
  const config = new KubeConfig();
  try {
    config.loadFromString(text);
  } catch (error) {
    throw new EnvironmentError(
      `kubeconfig ${o.kubeconfig} cannot be read (${(error as Error).message.split('\n')[0]}): pass a valid kubeconfig`,
    );
  }
  const contexts = config.getContexts().map((c) => c.name);
  const context = o.context ?? config.getCurrentContext();
  if (!context || !contexts.includes(context)) {
    throw new EnvironmentError(
      `context "${context}" is not in ${o.kubeconfig} (it has: ${contexts.join(', ') || 'none'}): pass --context with one of them`,
    );
  }
  const kube = kubeFromString(text, context);
  const server = config.getCluster(config.getContextObject(context)?.cluster ?? '')?.server ?? '?';
  let nodes: V1Node[];
  try {
    nodes = (await kube.core.listNode()).items;
  } catch (error) {
    const why = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new EnvironmentError(
      `cannot list the nodes of ${server} (context ${context}): ${why}; check that the cluster runs and that --kubeconfig/--context point at it`,
    );
  }
  const nodeNames = nodes
    .map((n) => n.metadata?.name ?? '')
    .filter(Boolean)
    .sort();
  const kind =
    !o.inCluster &&
    nodes.length > 0 &&
    nodes.every(isKindNode) &&
    (await docker(['inspect', '--type', 'container', nodeNames[0] ?? ''], { allowFailure: true })).exitCode === 0;
  let network = '';
  let access: NodeAccess;
  if (kind) {
    const { stdout } = await docker([
      'inspect',
      '--format',
      '{{range $k, $v := .NetworkSettings.Networks}}{{$k}}\n{{end}}',
      nodeNames[0] ?? '',
    ]);
    network =
      stdout
        .split('\n')
        .map((l) => l.trim())
        .find(Boolean) ?? '';
    access = new KindNodeAccess(o.logger);
  } else {
    access = new PendingNodeAccess(
      `the nodes of ${server} are not kind containers: node-level steps need the node agent, which needs a registry the nodes can pull from (pass --registry)`,
    );
  }
  o.logger.info(
    `existing cluster ${context} (${server}): ${nodeNames.length} nodes, ${kind ? `kind on docker network ${network}` : 'not kind'}`,
  );
  return { name: context, context, kubeconfig: text, kube, nodes: access, nodeNames, network };
}

/** What the report says about the nodes: kubelet version and runtime as each node reports them. */
export function nodeFacts(nodes: readonly V1Node[]): { name: string; kubeletVersion: string; containerRuntime: string }[] {
  return nodes.map((n) => ({
    name: n.metadata?.name ?? '?',
    kubeletVersion: n.status?.nodeInfo?.kubeletVersion ?? '?',
    containerRuntime: n.status?.nodeInfo?.containerRuntimeVersion ?? '?',
  }));
}
