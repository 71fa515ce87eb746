// Where scenarios run, one provider per kind of cluster (kind's pkg/cluster providers): a kind
// cluster pullcheck makes from a profile (KindCluster), a cluster the user names with a kubeconfig
// (ExistingCluster), or the cluster of the pod pullcheck runs in (InClusterCluster). Each says what it
// can do in `info()` (kind's Provider.Info()): Docker, node access and how, registries beside it, the
// host's sweep, where node roles come from. Nothing outside this file asks which kind of cluster it
// is: it asks `info()`, or the connected cluster's node access (`cluster.nodes.how`).

import { checkKubernetesVersion } from '../build/nodeimage/index.ts';
import type { Logger } from '../infra/log.ts';
import { checkBuildTools, checkDocker } from '../infra/preflight.ts';
import type { ClusterTarget } from '../model/context.ts';
import type { TargetResult } from '../report/schema.ts';
import {
  type Cluster,
  type ClusterStatus,
  clusterDown,
  clusterExists,
  clusterStatus,
  clusterUp,
  connectKind,
  kindBinary,
} from './cluster.ts';
import { removeHalfMade } from './creating.ts';
import { describeTarget } from './describe.ts';
import { connectExisting } from './existing.ts';
import { type Profile, profileFor } from './profile.ts';

/** What a kind of cluster can do, asked instead of its kind (kind's `Provider.Info()`). */
export interface ProviderInfo {
  /** For logs and the report's `mode` only: nothing branches on it. */
  readonly kind: 'kind' | 'existing' | 'in-cluster';
  /** pullcheck makes this cluster from a profile (and so may delete it). */
  readonly makesClusters: boolean;
  /** This process has the host's Docker: pullcheck's own registries, the node image, `docker exec`. */
  readonly docker: boolean;
  /**
   * How pullcheck runs commands on the nodes: `docker exec` into kind's node containers; that when
   * the nodes turn out to be kind containers, else the node agent DaemonSet; or the node agent.
   */
  readonly nodeAccess: 'docker-exec' | 'docker-exec-or-agent' | 'agent';
  /** Whether the nodes can pull from registries pullcheck starts on the host (on the cluster's docker network). */
  readonly hostsRegistries: 'always' | 'if-kind-nodes' | 'never';
  /** What killed runs left on this host (containers, networks, temporary files) may be swept. */
  readonly sweepableHost: boolean;
  /** Where node roles come from: the `node-role.kubernetes.io/*` labels (cluster/shape.ts), never names. */
  readonly roles: 'node-role-labels';
}

export interface ClusterProvider {
  /** The cluster's name in logs. */
  readonly name: string;
  /** What it can do. */
  info(): ProviderInfo;
  /** The profile it is made from, when pullcheck makes it: its declared posture and version. */
  readonly profile?: Profile;
  /** What the report says of the cluster before it is reached. */
  describe(): TargetResult['cluster'];
  /** The Kubernetes version asked for, where pullcheck chooses it. */
  kubernetesVersion(): string | undefined;
  /** Whether the cluster is there already (a cluster pullcheck did not make always is). */
  exists(logger: Logger): Promise<boolean>;
  /** Checks, before anything is created, what bringing the cluster up needs; one line on failure. */
  preflight(logger: Logger): Promise<void>;
  /** Makes the cluster ready (kind: builds and creates what is missing); `created`: this call made it. */
  up(o: { logger: Logger; allowPull?: boolean }): Promise<{ cluster: Cluster; created: boolean }>;
  /** Connects to the cluster; `ready`: the run has just brought it up and checked it. */
  connect(o: { logger: Logger; ready: boolean; allowPull?: boolean }): Promise<Cluster>;
  /** Whether it runs, and its nodes. */
  status(logger: Logger): Promise<ClusterStatus>;
  /** Removes the cluster (only a cluster pullcheck makes). */
  down(logger: Logger): Promise<void>;
}

export class KindCluster implements ClusterProvider {
  readonly profile: Profile;

  constructor(private readonly target: Extract<ClusterTarget, { provider: 'kind' }>) {
    this.profile = profileFor(target);
  }

  get name(): string {
    return this.profile.clusterName;
  }

  info(): ProviderInfo {
    return {
      kind: 'kind',
      makesClusters: true,
      docker: true,
      nodeAccess: 'docker-exec',
      hostsRegistries: 'always',
      sweepableHost: true,
      roles: 'node-role-labels',
    };
  }

  describe(): TargetResult['cluster'] {
    return describeTarget(this.target);
  }

  kubernetesVersion(): string {
    return this.profile.kubernetesVersion.raw;
  }

  async exists(logger: Logger): Promise<boolean> {
    // A cluster a killed run left half-made is no cluster: it goes, and this run makes (and removes) its own.
    await removeHalfMade(this.name, clusterDown, logger);
    return clusterExists(await kindBinary(logger), this.name);
  }

  async preflight(logger: Logger): Promise<void> {
    await checkDocker();
    await checkBuildTools();
    await checkKubernetesVersion(this.profile.kubernetesVersion, logger);
  }

  async up(o: { logger: Logger; allowPull?: boolean }): Promise<{ cluster: Cluster; created: boolean }> {
    const existed = await clusterExists(await kindBinary(o.logger), this.name);
    const cluster = await clusterUp({
      profile: this.profile,
      logger: o.logger,
      ...(o.allowPull === undefined ? {} : { allowPull: o.allowPull }),
    });
    return { cluster, created: !existed };
  }

  async connect(o: { logger: Logger; ready: boolean; allowPull?: boolean }): Promise<Cluster> {
    if (o.ready) return connectKind(this.profile, o.logger);
    return (await this.up(o)).cluster;
  }

  status(logger: Logger): Promise<ClusterStatus> {
    return clusterStatus(this.name, logger);
  }

  down(logger: Logger): Promise<void> {
    return clusterDown(this.name, logger);
  }
}

export class ExistingCluster implements ClusterProvider {
  constructor(protected readonly target: Extract<ClusterTarget, { provider: 'existing' }>) {}

  get name(): string {
    return this.target.context ?? 'current-context';
  }

  info(): ProviderInfo {
    return {
      kind: 'existing',
      makesClusters: false,
      docker: true,
      nodeAccess: 'docker-exec-or-agent',
      hostsRegistries: 'if-kind-nodes',
      sweepableHost: true,
      roles: 'node-role-labels',
    };
  }

  describe(): TargetResult['cluster'] {
    return describeTarget(this.target);
  }

  kubernetesVersion(): undefined {
    return undefined;
  }

  exists(): Promise<boolean> {
    return Promise.resolve(true);
  }

  /** A kubeconfig, context or API server that is wrong fails here in one line, not in every suite. */
  async preflight(logger: Logger): Promise<void> {
    await this.connect({ logger, ready: false });
  }

  async up(o: { logger: Logger }): Promise<{ cluster: Cluster; created: boolean }> {
    return { cluster: await this.connect({ ...o, ready: false }), created: false };
  }

  connect(o: { logger: Logger; ready?: boolean }): Promise<Cluster> {
    return connectExisting({
      kubeconfig: this.target.kubeconfig,
      ...(this.target.context ? { context: this.target.context } : {}),
      ...(this.info().docker ? {} : { inCluster: true }),
      logger: o.logger,
    });
  }

  async status(logger: Logger): Promise<ClusterStatus> {
    const cluster = await this.connect({ logger });
    return { name: this.name, running: true, nodes: cluster.nodeNames };
  }

  down(logger: Logger): Promise<void> {
    logger.info(`cluster ${this.name} is not pullcheck's: it stays`);
    return Promise.resolve();
  }
}

/** The cluster of the pod pullcheck runs in (`--in-cluster`): its ServiceAccount, no Docker, the node agent. */
export class InClusterCluster extends ExistingCluster {
  override info(): ProviderInfo {
    return {
      kind: 'in-cluster',
      makesClusters: false,
      docker: false,
      nodeAccess: 'agent',
      hostsRegistries: 'never',
      sweepableHost: false,
      roles: 'node-role-labels',
    };
  }
}

export function providerFor(target: ClusterTarget): ClusterProvider {
  if (target.provider === 'kind') return new KindCluster(target);
  return target.inCluster ? new InClusterCluster(target) : new ExistingCluster(target);
}
