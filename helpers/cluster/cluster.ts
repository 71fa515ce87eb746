// A kind cluster as pullcheck uses it. `clusterUp` is a list of named, logged steps (kind's create
// flow); on failure the half-made cluster is deleted after its logs are exported.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { buildKind } from '../build/components.ts';
import { resolveNodeImageFor } from '../build/nodeimage/byruntime.ts';
import type { NodeImage } from '../build/nodeimage/index.ts';
import { cachePath } from '../infra/cache.ts';
import { docker } from '../infra/docker.ts';
import { run } from '../infra/exec.ts';
import type { Logger } from '../infra/log.ts';
import { checkBuildTools, checkDocker } from '../infra/preflight.ts';
import { sweepOrphans } from '../infra/sweep.ts';
import { KIND_VERSION } from '../infra/versions.ts';
import { KindNodeAccess, type NodeAccess } from '../node/access.ts';
import { admittedPolicy, changeApiServer, withAdmissionPlugin } from './apiserver.ts';
import { markCreated, markCreating, removeHalfMade } from './creating.ts';
import { kindConfigYaml, renderKindConfig } from './kindconfig.ts';
import { type Kube, kubeFromString, waitFor } from './kube.ts';
import { setUpPodNetwork, waitForNodesReady } from './podnetwork.ts';
import type { Profile } from './profile.ts';
import { readClusterShape } from './shape.ts';
import { thawNodeContainers } from './thaw.ts';

/** kind puts its nodes on this docker network instead of "kind", so that `down` can remove it. */
export const KIND_NETWORK = 'pullcheck';
const KIND_ENV = { KIND_EXPERIMENTAL_DOCKER_NETWORK: KIND_NETWORK };
export const DEFAULT_POD_SUBNET = '10.244.0.0/16';

export interface Cluster {
  name: string;
  context: string;
  kubeconfig: string;
  kube: Kube;
  nodes: NodeAccess;
  nodeNames: string[];
  network: string;
}

export interface ClusterUpOptions {
  profile: Profile;
  logger: Logger;
  allowPull?: boolean;
}

/** kind on PATH when it is the pinned version, else the one built into the cache. */
export async function kindBinary(logger: Logger): Promise<string> {
  const onPath = await run(['kind', 'version'], { allowFailure: true }).catch(() => undefined);
  if (onPath?.exitCode === 0 && onPath.stdout.startsWith(`kind ${KIND_VERSION} `)) return 'kind';
  return join(await buildKind(logger), 'kind');
}

export async function clusterExists(kind: string, name: string): Promise<boolean> {
  const { stdout } = await run([kind, 'get', 'clusters'], { env: KIND_ENV });
  return stdout
    .split('\n')
    .map((l) => l.trim())
    .includes(name);
}

/** The node containers of kind cluster `name`, sorted. */
export async function kindNodeNames(kind: string, name: string): Promise<string[]> {
  const { stdout } = await run([kind, 'get', 'nodes', '--name', name], { env: KIND_ENV });
  return stdout
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .sort();
}

/** Connects to a kind cluster `pullcheck run` has just brought up and checked: no preflight, no waits. */
export async function connectKind(profile: Profile, logger: Logger): Promise<Cluster> {
  return connect(await kindBinary(logger), profile.clusterName, profile, logger, true);
}

export async function clusterUp(o: ClusterUpOptions): Promise<Cluster> {
  const { profile, logger } = o;
  const name = profile.clusterName;
  const host = await logger.phase('preflight', async () => {
    const d = await checkDocker();
    await checkBuildTools();
    logger.info(
      `Docker ${d.serverVersion}, cgroup v${d.cgroupVersion}${d.cgroupVersion === 1 ? ' (kubelet gets failCgroupV1: false)' : ''}${d.capSysResource ? '' : ', no CAP_SYS_RESOURCE (containerd gets restrict_oom_score_adj)'}`,
    );
    return d;
  });
  const kind = await logger.phase(`kind ${KIND_VERSION}`, () => kindBinary(logger));
  await removeHalfMade(name, clusterDown, logger);
  if (await clusterExists(kind, name)) {
    logger.info(`cluster ${name} exists: reusing it (pullcheck cluster down --profile ${profile.name} removes it)`);
    return await logger.phase('check existing cluster', () => connect(kind, name, profile, logger, true));
  }
  const image: NodeImage = await logger.phase(`node image for Kubernetes ${profile.kubernetesVersion.raw}`, () =>
    resolveNodeImageFor(
      profile.posture.runtime,
      profile.kubernetesVersion,
      logger,
      o.allowPull === undefined ? {} : { allowPull: o.allowPull },
    ),
  );
  logger.info(`node image ${image.ref} (${image.source})`);

  const dir = mkdtempSync(join(tmpdir(), 'pullcheck-kind-'));
  const configFile = join(dir, 'kind.yaml');
  writeFileSync(configFile, kindConfigYaml(renderKindConfig(profile, host)));
  // Until the cluster is finished: a kill from here on leaves a half-made cluster the next up or run deletes.
  markCreating(name);
  try {
    // Detached: killed by a Ctrl-C, kind would leave the node containers whose `docker run` it had
    // already issued, created after any deletion could look for them. It finishes instead, and
    // `pullcheck run` deletes the whole cluster once it has.
    await logger.phase(`kind create cluster ${name} (${profile.cluster.nodes.length} nodes)`, () =>
      run([kind, 'create', 'cluster', '--name', name, '--image', image.ref, '--config', configFile, '--retain', '--wait', '0s'], {
        logger,
        env: KIND_ENV,
        detached: true,
      }),
    );
    const cluster = await logger.phase('pod network, nodes Ready, CoreDNS Ready', () => connect(kind, name, profile, logger, false));
    await configureAdmission(cluster, profile, logger);
    markCreated(name);
    return cluster;
  } catch (error) {
    const logs = cachePath('logs', `kind-${name}-${Date.now()}`);
    await run([kind, 'export', 'logs', logs, '--name', name], { logger, allowFailure: true, env: KIND_ENV }).catch(() => undefined);
    logger.warn(`cluster ${name} failed to come up; node logs exported to ${logs}; deleting it`);
    await clusterDown(name, logger).catch(() => undefined);
    throw error;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The admission plugins the profile's posture declares, turned on once the cluster runs: CoreDNS and
 * kube-proxy are up by then, whose images AlwaysPullImages from the start would have sent to
 * registry.k8s.io to pull again (unreachable on a hermetic machine).
 */
async function configureAdmission(cluster: Cluster, profile: Profile, logger: Logger): Promise<void> {
  if (!profile.posture.admission?.alwaysPullImages) return;
  const controlPlane = (await readClusterShape(cluster.kube)).controlPlanes[0];
  if (!controlPlane) throw new Error(`cluster ${cluster.name} has no control-plane node to turn AlwaysPullImages on`);
  await changeApiServer({
    nodes: cluster.nodes,
    controlPlane,
    logger,
    what: 'AlwaysPullImages on, as the posture declares',
    edit: (y) => withAdmissionPlugin(y, 'AlwaysPullImages', true),
    applied: async () => (await admittedPolicy(cluster.kube)) === 'Always',
  });
}

async function connect(kind: string, name: string, profile: Profile, logger: Logger, existing: boolean): Promise<Cluster> {
  const { stdout: kubeconfig } = await run([kind, 'get', 'kubeconfig', '--name', name], { env: KIND_ENV });
  const kube = kubeFromString(kubeconfig);
  const nodeNames = await kindNodeNames(kind, name);
  const nodes = new KindNodeAccess(logger);
  const podSubnet = String(profile.cluster.networking?.['podSubnet'] ?? DEFAULT_POD_SUBNET);
  if (!existing) await setUpPodNetwork(kube, nodes, nodeNames.length, podSubnet, logger);
  await waitForNodesReady(kube, nodeNames.length, 180_000);
  await waitForCoreDNS(kube, 180_000);
  return { name, context: `kind-${name}`, kubeconfig, kube, nodes, nodeNames, network: KIND_NETWORK };
}

async function waitForCoreDNS(kube: Kube, timeoutMs: number): Promise<void> {
  await waitFor({
    kube,
    what: 'CoreDNS pods Ready',
    path: '/api/v1/namespaces/kube-system/pods',
    labelSelector: 'k8s-app=kube-dns',
    timeoutMs,
    list: async () => {
      const l = await kube.core.listNamespacedPod({ namespace: 'kube-system', labelSelector: 'k8s-app=kube-dns' });
      return { items: l.items, resourceVersion: l.metadata?.resourceVersion ?? '' };
    },
    until: (pods: V1Pod[]) =>
      pods.length > 0 && pods.every((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) ? true : undefined,
    describe: (p) =>
      `${p.metadata?.name} on ${p.spec?.nodeName ?? '?'}: ${p.status?.phase} ${(p.status?.containerStatuses ?? []).map((c) => JSON.stringify(c.state)).join(' ')}`,
  });
}

export async function clusterDown(name: string, logger: Logger): Promise<void> {
  const kind = await kindBinary(logger);
  if (await clusterExists(kind, name)) {
    const remove = () =>
      logger.phase(`kind delete cluster ${name}`, () => run([kind, 'delete', 'cluster', '--name', name], { logger, env: KIND_ENV }));
    await remove().catch(async (error: unknown) => {
      // A node docker could not kill because a container in it stayed frozen: thaw, then once more.
      if (thawNodeContainers(await nodeContainerIds(name, logger), logger) === 0) throw error;
      await remove();
    });
  } else {
    logger.info(`no cluster named ${name}`);
  }
  // A `kind create` stopped by Ctrl-C leaves the node containers whose `docker run` was already on
  // its way: they appear after kind is gone, and kind no longer lists the cluster. Found by label.
  const stray = (await docker(['ps', '-aq', '--filter', `label=io.x-k8s.kind.cluster=${name}`], { logger })).stdout
    .split('\n')
    .filter(Boolean);
  if (stray.length > 0) {
    logger.info(`removing ${stray.length} node container(s) of ${name} that kind did not list`);
    await docker(['rm', '-f', '-v', ...stray], { logger });
  }
  await sweepOrphans(logger);
  await removeNetworkIfUnused(logger);
  markCreated(name);
}

/** The full IDs of the cluster's node containers, found by kind's label. */
async function nodeContainerIds(name: string, logger: Logger): Promise<string[]> {
  const r = await docker(['ps', '-aq', '--no-trunc', '--filter', `label=io.x-k8s.kind.cluster=${name}`], { logger });
  return r.stdout.split('\n').filter(Boolean);
}

/** The network is shared by every pullcheck cluster: it goes when the last container on it does. */
async function removeNetworkIfUnused(logger: Logger): Promise<void> {
  const r = await docker(['network', 'inspect', KIND_NETWORK, '--format', '{{len .Containers}}'], { logger, allowFailure: true });
  if (r.exitCode === 0 && r.stdout.trim() === '0') await docker(['network', 'rm', KIND_NETWORK], { logger });
}

export interface ClusterStatus {
  name: string;
  running: boolean;
  nodes: string[];
}

export async function clusterStatus(name: string, logger: Logger): Promise<ClusterStatus> {
  const kind = await kindBinary(logger);
  if (!(await clusterExists(kind, name))) return { name, running: false, nodes: [] };
  const { stdout } = await run([kind, 'get', 'nodes', '--name', name], { env: KIND_ENV });
  return { name, running: true, nodes: stdout.split('\n').filter(Boolean) };
}
