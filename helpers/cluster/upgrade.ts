// An in-place upgrade of a kind cluster, the way kubeadm's users do it (kubeadm's "Upgrading kubeadm
// clusters"): the control plane first (new kubeadm, `kubeadm upgrade plan`/`apply`, then its new
// kubelet), then each worker one at a time (drain, `kubeadm upgrade node`, new kubelet, Ready,
// uncordon). Binaries and component images come from the same cached hermetic build as the target
// version's node image and are imported into each node's containerd: nothing is pulled.

import { type V1Node, VersionApi } from '@kubernetes/client-node';
import { IMPORT_COMPONENT_IMAGES } from '../build/nodeimage/componentimages.ts';
import { upgradeComponents } from '../build/nodeimage/index.ts';
import type { Logger } from '../infra/log.ts';
import type { KubernetesVersion } from '../infra/versions.ts';
import type { Cluster } from './cluster.ts';
import { waitFor } from './kube.ts';

/** Where the new binaries wait on each node until their step installs them. */
const STAGE_DIR = '/kind/upgrade';
const CONTROL_PLANE_LABEL = 'node-role.kubernetes.io/control-plane';
/** kind runs kubeadm with every preflight check ignored (swap, cgroup v1, kernel config of a container). */
const IGNORE_PREFLIGHT = '--ignore-preflight-errors=all';
const ADMIN_KUBECONFIG = '/etc/kubernetes/admin.conf';

/**
 * Why kubeadm would refuse `from` → `to`, as the fix to make; undefined when it is a supported
 * upgrade (the same minor's newer patch, or the next minor: kubeadm skips no minor version).
 */
export function upgradePathError(from: KubernetesVersion, to: KubernetesVersion): string | undefined {
  const order = (v: KubernetesVersion) => [v.major, v.minor, v.patch];
  const cmp =
    order(to)
      .map((x, i) => x - (order(from)[i] ?? 0))
      .find((d) => d !== 0) ?? 0;
  if (cmp === 0) return `--from and --to are both ${from.raw}: an upgrade needs a newer --to`;
  if (cmp < 0) return `--to ${to.raw} is older than --from ${from.raw}: kubeadm upgrades only forwards (downgrades are not supported)`;
  if (to.major !== from.major || to.minor > from.minor + 1)
    return `${from.raw} → ${to.raw} skips a minor version, which kubeadm refuses: upgrade one minor at a time (e.g. --to v${from.major}.${from.minor + 1}.x)`;
  return undefined;
}

/** One named step of the upgrade and how long it took: the report's and the README's figures. */
export interface UpgradeStep {
  name: string;
  node?: string;
  seconds: number;
}

export interface UpgradeOptions {
  cluster: Cluster;
  to: KubernetesVersion;
  logger: Logger;
  /** Per wait for a node or the control plane (default 5 minutes). */
  timeoutMs?: number;
}

export interface UpgradeResult {
  steps: UpgradeStep[];
  controlPlane: string;
  workers: string[];
}

/** Control-plane and worker node names, by the role label kubeadm puts on control planes. */
async function nodeRoles(cluster: Cluster): Promise<{ controlPlanes: string[]; workers: string[] }> {
  const nodes = (await cluster.kube.core.listNode()).items;
  const names = (f: (n: V1Node) => boolean) =>
    nodes
      .filter(f)
      .map((n) => n.metadata?.name ?? '')
      .sort();
  const isControlPlane = (n: V1Node) => CONTROL_PLANE_LABEL in (n.metadata?.labels ?? {});
  return { controlPlanes: names(isControlPlane), workers: names((n) => !isControlPlane(n)) };
}

export async function upgradeCluster(o: UpgradeOptions): Promise<UpgradeResult> {
  const { cluster, to, logger } = o;
  const timeoutMs = o.timeoutMs ?? 300_000;
  const steps: UpgradeStep[] = [];
  const step = async <T>(name: string, node: string | undefined, fn: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    const label = `upgrade: ${name}${node ? ` on ${node}` : ''}`;
    const value = await logger.phase(label, fn);
    steps.push({ name, ...(node ? { node } : {}), seconds: Math.round((Date.now() - started) / 100) / 10 });
    return value;
  };
  const exec = (node: string, argv: readonly string[], options: { inputFile?: string } = {}) => cluster.nodes.exec(node, argv, options);
  const { controlPlanes, workers } = await nodeRoles(cluster);
  const controlPlane = controlPlanes[0];
  if (!controlPlane || controlPlanes.length > 1)
    throw new Error(`cluster ${cluster.name} has ${controlPlanes.length} control planes: the in-place upgrade handles exactly one`);
  const { kubernetesBin, componentArchive } = await step(`new binaries and component images for ${to.raw} (cached build)`, undefined, () =>
    upgradeComponents(to, logger),
  );
  const staged = `${STAGE_DIR}/${to.raw}`;
  const install = (node: string, binaries: readonly string[]) =>
    exec(node, ['sh', '-c', `for b in "$@"; do install -m 0755 "${staged}/$b" "/usr/bin/$b"; done`, 'sh', ...binaries]);
  const restartKubelet = (node: string) => exec(node, ['sh', '-c', 'systemctl daemon-reload && systemctl restart kubelet']);
  const kubectl = (args: readonly string[]) => exec(controlPlane, ['kubectl', `--kubeconfig=${ADMIN_KUBECONFIG}`, ...args]);

  // Every node gets the new images before `apply`: apply rolls kube-proxy (and CoreDNS, which
  // drains move) onto the workers at once, with images no registry here could give them.
  for (const node of [controlPlane, ...workers]) {
    await step(`stage kubeadm, kubelet, kubectl ${to.raw} and import the component images`, node, async () => {
      for (const b of ['kubeadm', 'kubelet', 'kubectl']) {
        await exec(node, ['sh', '-c', 'mkdir -p "$1" && cat > "$1/$2"', 'sh', staged, b], { inputFile: `${kubernetesBin}/${b}` });
      }
      await exec(node, [...IMPORT_COMPONENT_IMAGES], { inputFile: componentArchive });
    });
  }

  await step(`kubeadm ${to.raw}, kubeadm upgrade plan`, controlPlane, async () => {
    await install(controlPlane, ['kubeadm']);
    const { stdout } = await exec(controlPlane, ['kubeadm', 'version', '-o', 'short']);
    if (stdout.trim() !== to.raw) throw new Error(`kubeadm on ${controlPlane} reports ${stdout.trim()} after installing ${to.raw}`);
    await exec(controlPlane, ['kubeadm', 'upgrade', 'plan', to.raw, IGNORE_PREFLIGHT]);
  });
  await step(`kubeadm upgrade apply ${to.raw}`, controlPlane, () =>
    exec(controlPlane, ['kubeadm', 'upgrade', 'apply', to.raw, '--yes', IGNORE_PREFLIGHT, '--certificate-renewal=false']),
  );
  await step(`kubelet and kubectl ${to.raw}, kubelet restarted, node Ready`, controlPlane, async () => {
    await install(controlPlane, ['kubelet', 'kubectl']);
    await restartKubelet(controlPlane);
    await waitForKubelet(cluster, controlPlane, to, timeoutMs);
    // The new kubelet restarts the static pods whose spec hash it computes anew: the API server
    // goes away for a while after the node first reads Ready (the drain below then met "connection refused").
    await waitForSteadyApiServer(kubectl, controlPlane, timeoutMs);
  });

  // One worker at a time, as kubeadm's guide says: the others keep serving meanwhile.
  for (const worker of workers) {
    await step('drain (DaemonSet pods stay)', worker, () =>
      retryOnApiRestart(() =>
        kubectl([
          'drain',
          worker,
          '--ignore-daemonsets',
          '--delete-emptydir-data',
          '--force',
          `--timeout=${Math.round(timeoutMs / 1000)}s`,
        ]),
      ),
    );
    await step(`kubeadm upgrade node ${to.raw}`, worker, async () => {
      await install(worker, ['kubeadm']);
      await exec(worker, ['kubeadm', 'upgrade', 'node', IGNORE_PREFLIGHT, '--certificate-renewal=false']);
    });
    await step(`kubelet and kubectl ${to.raw}, kubelet restarted, node Ready`, worker, async () => {
      await install(worker, ['kubelet', 'kubectl']);
      await restartKubelet(worker);
      await waitForKubelet(cluster, worker, to, timeoutMs);
    });
    await step('uncordon', worker, () => retryOnApiRestart(() => kubectl(['uncordon', worker])));
  }

  await step(`verify: every kubelet and the API server report ${to.raw}`, undefined, async () => {
    const wrong = (await cluster.kube.core.listNode()).items
      .filter((n) => n.status?.nodeInfo?.kubeletVersion !== to.raw || n.spec?.unschedulable)
      .map((n) => `${n.metadata?.name}: kubelet ${n.status?.nodeInfo?.kubeletVersion}${n.spec?.unschedulable ? ', cordoned' : ''}`);
    if (wrong.length) throw new Error(`after the upgrade to ${to.raw}, ${wrong.join('; ')}`);
    const server = (await cluster.kube.config.makeApiClient(VersionApi).getCode()).gitVersion;
    if (server !== to.raw) throw new Error(`after the upgrade to ${to.raw}, the API server reports ${server}`);
    await kubectl(['-n', 'kube-system', 'rollout', 'status', 'daemonset/kube-proxy', `--timeout=${Math.round(timeoutMs / 1000)}s`]);
    await kubectl(['-n', 'kube-system', 'rollout', 'status', 'deployment/coredns', `--timeout=${Math.round(timeoutMs / 1000)}s`]);
  });
  return { steps, controlPlane, workers };
}

/** An API server that answered "connection refused/reset" was restarting: kubectl drain and uncordon may run again. */
async function retryOnApiRestart<T>(fn: () => Promise<T>, attempts = 3): Promise<T> {
  for (let i = 1; ; i += 1) {
    try {
      return await fn();
    } catch (error) {
      if (i >= attempts || !/connection refused|connection reset|the server is currently unable/i.test(String(error))) throw error;
      await new Promise((r) => setTimeout(r, 5_000));
    }
  }
}

/** Until `/readyz` has answered ok for 20 s in a row (a restarted control plane settles), within `timeoutMs`. */
async function waitForSteadyApiServer(
  kubectl: (args: readonly string[]) => Promise<unknown>,
  controlPlane: string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let okSince: number | undefined;
  let last = '';
  while (Date.now() < deadline) {
    try {
      await kubectl(['get', '--raw=/readyz']);
      okSince ??= Date.now();
      if (Date.now() - okSince >= 20_000) return;
    } catch (error) {
      okSince = undefined;
      last = String(error).split('\n').slice(-2).join(' ');
    }
    await new Promise((r) => setTimeout(r, 2_000));
  }
  throw new Error(
    `the API server on ${controlPlane} did not stay ready for 20 s within ${Math.round(timeoutMs / 1000)} s after its kubelet was replaced: ${last}`,
  );
}

/** Until the node's kubelet reports `v` and the node is Ready (the restarted kubelet posted its status). */
async function waitForKubelet(cluster: Cluster, node: string, v: KubernetesVersion, timeoutMs: number): Promise<void> {
  await waitFor({
    kube: cluster.kube,
    what: `${node} Ready with kubelet ${v.raw}`,
    path: '/api/v1/nodes',
    fieldSelector: `metadata.name=${node}`,
    timeoutMs,
    list: async () => {
      const l = await cluster.kube.core.listNode({ fieldSelector: `metadata.name=${node}` });
      return { items: l.items, resourceVersion: l.metadata?.resourceVersion ?? '' };
    },
    until: (all: V1Node[]) =>
      all.some(
        (n) => n.status?.nodeInfo?.kubeletVersion === v.raw && n.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
      )
        ? true
        : undefined,
    describe: (n) =>
      `${n.metadata?.name}: kubelet ${n.status?.nodeInfo?.kubeletVersion}, Ready=${n.status?.conditions?.find((c) => c.type === 'Ready')?.status}`,
  });
}
