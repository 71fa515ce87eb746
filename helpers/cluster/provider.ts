// Where scenarios run, one provider per kind of cluster (kind's pkg/cluster providers): a kind
// cluster pullcheck makes from a profile, or a cluster the user names with a kubeconfig. Each brings
// its own node access (`docker exec` into kind's node containers; the node agent elsewhere). Nothing
// outside this file asks which kind of cluster it is.
import type { Logger } from '../infra/log.ts';
import { checkBuildTools, checkDocker } from '../infra/preflight.ts';
import type { ClusterTarget } from '../run/context.ts';
import type { TargetResult } from '../report/schema.ts';
import { checkKubernetesVersion } from '../build/nodeimage/index.ts';
import { clusterDown, clusterExists, clusterUp, connectKind, kindBinary, type Cluster } from './cluster.ts';
import { removeHalfMade } from './creating.ts';
import { describeTarget } from './describe.ts';
import { connectExisting } from './existing.ts';
import { profileFor, type Profile } from './profile.ts';

export interface ClusterProvider {
  /** The cluster's name in logs. */
  readonly name: string;
  /** Whether pullcheck makes (and so may delete) this cluster. */
  readonly makesClusters: boolean;
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
  /** Removes the cluster (only a cluster pullcheck makes). */
  down(logger: Logger): Promise<void>;
}

export class KindCluster implements ClusterProvider {
  readonly makesClusters = true;
  readonly profile: Profile;

  constructor(private readonly target: Extract<ClusterTarget, { provider: 'kind' }>) {
    this.profile = profileFor(target);
  }

  get name(): string {
    return this.profile.clusterName;
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

  down(logger: Logger): Promise<void> {
    return clusterDown(this.name, logger);
  }
}

export class ExistingCluster implements ClusterProvider {
  readonly makesClusters = false;

  constructor(private readonly target: Extract<ClusterTarget, { provider: 'existing' }>) {}

  get name(): string {
    return this.target.context ?? 'current-context';
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
      ...(this.target.inCluster ? { inCluster: true } : {}),
      logger: o.logger,
    });
  }

  down(logger: Logger): Promise<void> {
    logger.info(`cluster ${this.name} is not pullcheck's: it stays`);
    return Promise.resolve();
  }
}

export function providerFor(target: ClusterTarget): ClusterProvider {
  return target.provider === 'kind' ? new KindCluster(target) : new ExistingCluster(target);
}
