// A node's lock: what changes a node (credential files, kubelet configuration or flags, and the
// kubelet restarts they take) holds it from before the first change until the node is restored.
// It is a coordination.k8s.io Lease in the cluster, not a file on this host, so that two jest
// workers, two pullcheck runs, or two CI jobs on one existing cluster wait for each other. The
// holder renews it; a holder killed with SIGKILL cannot release it, so a lease not renewed within
// its duration is taken over (and logged).
import { hostname } from 'node:os';
import { CoordinationV1Api, PatchStrategy, setHeaderOptions, type V1Lease, V1MicroTime } from '@kubernetes/client-node';
import { apiStatus, type Kube, waitFor } from '../cluster/kube.ts';
import { LABEL_MANAGED } from '../infra/docker.ts';
import type { Logger } from '../infra/log.ts';
import { alive } from '../infra/sweep.ts';

export const LOCK_NAMESPACE = 'default';
const DURATION_S = 60;
const RENEW_MS = 15_000;
/** Set on a held lease by one who waits for it, so that a holder keeping it between scenarios (an owed kubelet restart) lets go. */
export const ANNOTATION_WANTED_BY = 'pullcheck.io/wanted-by';
const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export function lockName(node: string): string {
  return `pullcheck-node-lock-${node}`.slice(0, 253);
}

/** Whether a lease's holder has stopped renewing it (its duration passed since the last renewal). */
export function leaseExpired(lease: V1Lease, now: Date): boolean {
  const renewed = lease.spec?.renewTime ?? lease.spec?.acquireTime;
  const duration = lease.spec?.leaseDurationSeconds ?? DURATION_S;
  if (!renewed) return true;
  return new Date(renewed).getTime() + duration * 1000 < now.getTime();
}

/**
 * Whether the lease's holder (its identity ends "(<host> pid <pid>)") is a process of this host
 * that is gone: a run killed here; its lease is released at once rather than waited out.
 */
export function heldByDeadProcess(lease: V1Lease, host = hostname(), isAlive = alive): boolean {
  const m = /\((\S+) pid (\d+)\)$/.exec(lease.spec?.holderIdentity ?? '');
  if (!m || m[1] !== host) return false;
  const pid = Number(m[2]);
  return pid !== process.pid && !isAlive(pid);
}

function describeLease(l: V1Lease): string {
  const s = l.spec;
  return `held by ${s?.holderIdentity ?? '(no one)'} since ${s?.acquireTime ? new Date(s.acquireTime).toISOString() : '?'}, renewed ${s?.renewTime ? new Date(s.renewTime).toISOString() : 'never'}`;
}

/**
 * Deletes a lease its holder stopped renewing, only if nobody changed it since it was read (409:
 * someone did, 404: someone else already removed it; both leave it to them).
 */
export async function removeAbandonedLock(coordination: CoordinationV1Api, lease: V1Lease): Promise<void> {
  await coordination
    .deleteNamespacedLease({
      name: lease.metadata?.name ?? '',
      namespace: LOCK_NAMESPACE,
      body: { preconditions: { resourceVersion: lease.metadata?.resourceVersion ?? '' } },
    })
    .catch((e: unknown) => (apiStatus(e) === 404 || apiStatus(e) === 409 ? undefined : Promise.reject(e)));
}

export interface NodeLockOptions {
  kube: Kube;
  node: string;
  /** Who holds it, for whoever waits: the scenario or group. */
  holder: string;
  logger: Logger;
  timeoutMs?: number;
  /** Called once it has found the lock held by another and starts waiting (tests use it). */
  onWait?: (holder: string) => void;
  /**
   * Share a lock this process already holds on the node (a group's, for a scenario of the group)
   * instead of waiting for it; the lock goes when its last holder releases it.
   */
  reentrant?: boolean;
  /** Return undefined at once, instead of waiting, when another holder has the lock. */
  noWait?: boolean;
}

/** Locks this process holds (or is taking) that `reentrant` callers share: cluster server + node. */
interface ProcessHold {
  count: number;
  /** Taken (not still waiting, not refused to a caller that would not wait). */
  held: boolean;
  taken: Promise<(() => Promise<void>) | undefined>;
}
const processHolds = new Map<string, ProcessHold>();

export async function lockNode(o: NodeLockOptions & { noWait?: false }): Promise<() => Promise<void>>;
export async function lockNode(o: NodeLockOptions): Promise<(() => Promise<void>) | undefined>;
export async function lockNode(o: NodeLockOptions): Promise<(() => Promise<void>) | undefined> {
  if (!o.reentrant) return acquire(o);
  const key = `${o.kube.config.getCurrentCluster()?.server ?? ''}|${o.node}`;
  let hold = processHolds.get(key);
  // Another caller here is still waiting for it: one that would not wait does not wait with it.
  if (hold && !hold.held && o.noWait) return undefined;
  if (hold) hold.count += 1;
  else {
    const h: ProcessHold = { count: 1, held: false, taken: acquire(o) };
    h.taken.then(
      (release) => {
        h.held = release !== undefined;
      },
      () => undefined,
    );
    hold = h;
    processHolds.set(key, hold);
  }
  const h = hold;
  const gone = () => {
    h.count -= 1;
    if (h.count === 0 && processHolds.get(key) === h) processHolds.delete(key);
  };
  let taken: (() => Promise<void>) | undefined;
  try {
    taken = await h.taken;
  } catch (error) {
    gone();
    throw error;
  }
  if (!taken) {
    // Someone else holds it and the first caller here would not wait: nothing to share. A caller
    // that waits asks again (on its own).
    gone();
    if (processHolds.get(key) === h) processHolds.delete(key);
    return o.noWait ? undefined : lockNode(o);
  }
  const release = taken;
  let done = false;
  return async () => {
    if (done) return;
    done = true;
    h.count -= 1;
    if (h.count === 0) {
      processHolds.delete(key);
      await release();
    }
  };
}

/** A lease's holder identity: who, and which process of which host (heldByDeadProcess reads it back). */
function identityOf(holder: string): string {
  return `${holder} (${hostname()} pid ${process.pid})`;
}

/** Marks a held lease as waited for (a lease already gone needs no mark: the waiter tries again). */
async function markWanted(kube: Kube, leaseName: string, identity: string): Promise<void> {
  await kube.config
    .makeApiClient(CoordinationV1Api)
    .patchNamespacedLease(
      { name: leaseName, namespace: LOCK_NAMESPACE, body: { metadata: { annotations: { [ANNOTATION_WANTED_BY]: identity } } } },
      MERGE_PATCH,
    )
    .catch(() => undefined);
}

/** Who waits for the lock on `node` (its lease's annotation), if anyone. */
export async function lockWantedBy(kube: Kube, node: string): Promise<string | undefined> {
  const lease = await kube.config
    .makeApiClient(CoordinationV1Api)
    .readNamespacedLease({ name: lockName(node), namespace: LOCK_NAMESPACE })
    .catch((e: unknown) => (apiStatus(e) === 404 ? undefined : Promise.reject(e)));
  return lease?.metadata?.annotations?.[ANNOTATION_WANTED_BY];
}

/**
 * Locks the first of `nodes` that nobody holds now, or, when all are held, whichever is let go
 * first. For a scenario that needs *a* node, not a particular one. Returns the node and the release.
 */
export async function lockFreeNode(
  o: Omit<NodeLockOptions, 'node' | 'noWait'> & { nodes: readonly string[] },
): Promise<{ node: string; release: () => Promise<void> }> {
  const [first] = o.nodes;
  if (first === undefined) throw new Error(`${o.holder}: no node to lock`);
  const deadline = Date.now() + (o.timeoutMs ?? 900_000);
  let waitedSince: number | undefined;
  // One candidate, or the deadline near: wait on the first as lockNode does, with its takeover of abandoned leases.
  while (o.nodes.length > 1 && Date.now() < deadline - DURATION_S * 1000) {
    for (const node of o.nodes) {
      const release = await lockNode({ ...o, node, noWait: true });
      if (!release) continue;
      if (waitedSince !== undefined)
        o.logger.info(
          `[${o.holder}] [${node}] LOCK acquired after waiting ${((Date.now() - waitedSince) / 1000).toFixed(1)}s for any of ${o.nodes.join(', ')}`,
        );
      return { node, release };
    }
    const onFirst = (leases: V1Lease[]) => {
      if (waitedSince !== undefined) return;
      waitedSince = Date.now();
      const holders = leases.map((l) => l.spec?.holderIdentity ?? '(no one)').join('; ');
      o.onWait?.(holders);
      for (const l of leases) void markWanted(o.kube, l.metadata?.name ?? '', identityOf(o.holder));
      o.logger.info(`[${o.holder}] LOCK waiting for any of ${o.nodes.join(', ')}: ${leases.map(describeLease).join('; ')}`);
    };
    await anyLockLetGo(o.kube, o.nodes, onFirst);
  }
  return { node: first, release: await lockNode({ ...o, node: first }) };
}

/**
 * Until one of the nodes' leases is gone or stops being renewed, or one lease duration passes (a
 * holder renews on time: the caller tries again). Whoever asks first takes the lock; the caller tries.
 */
async function anyLockLetGo(kube: Kube, nodes: readonly string[], onList: (held: V1Lease[]) => void): Promise<void> {
  const coordination = kube.config.makeApiClient(CoordinationV1Api);
  const names = new Set(nodes.map(lockName));
  await waitFor({
    kube,
    what: `one of the locks on ${nodes.join(', ')} to be released`,
    path: `/apis/coordination.k8s.io/v1/namespaces/${LOCK_NAMESPACE}/leases`,
    timeoutMs: DURATION_S * 1000,
    list: async () => {
      const l = await coordination.listNamespacedLease({ namespace: LOCK_NAMESPACE });
      const items = l.items.filter((i) => names.has(i.metadata?.name ?? ''));
      onList(items);
      return { items, resourceVersion: l.metadata?.resourceVersion ?? '' };
    },
    until: (leases: V1Lease[]) => {
      const held = leases.filter((l) => names.has(l.metadata?.name ?? '') && !leaseExpired(l, new Date()));
      return new Set(held.map((l) => l.metadata?.name)).size < names.size ? true : undefined;
    },
    describe: describeLease,
  }).catch(() => undefined);
}

/** Takes the node's lock, waiting (a watch, with a deadline) for another holder to let go. Returns its release. */
async function acquire(o: NodeLockOptions): Promise<(() => Promise<void>) | undefined> {
  const coordination = o.kube.config.makeApiClient(CoordinationV1Api);
  const name = lockName(o.node);
  const identity = identityOf(o.holder);
  const deadline = Date.now() + (o.timeoutMs ?? 900_000);
  const body = (): V1Lease => {
    // MicroTime fields: the API server refuses a plain Date's milliseconds-only timestamp.
    const now = new V1MicroTime();
    return {
      metadata: {
        name,
        namespace: LOCK_NAMESPACE,
        labels: { [LABEL_MANAGED]: 'true', 'pullcheck.io/node-lock': o.node.slice(0, 63) },
      },
      spec: { holderIdentity: identity, leaseDurationSeconds: DURATION_S, acquireTime: now, renewTime: now },
    };
  };
  let lease: V1Lease | undefined;
  let waitedSince: number | undefined;
  while (!lease) {
    try {
      lease = await coordination.createNamespacedLease({ namespace: LOCK_NAMESPACE, body: body() });
      break;
    } catch (error) {
      if (apiStatus(error) !== 409) throw error;
    }
    const current = await coordination
      .readNamespacedLease({ name, namespace: LOCK_NAMESPACE })
      .catch((e: unknown) => (apiStatus(e) === 404 ? undefined : Promise.reject(e)));
    if (!current) continue;
    const dead = heldByDeadProcess(current);
    if (dead || leaseExpired(current, new Date())) {
      o.logger.warn(
        `[${o.holder}] [${o.node}] LOCK taken over: ${describeLease(current)}, ${dead ? 'its process is gone from this host' : `not renewed for ${DURATION_S}s (its holder was killed?)`}`,
      );
      await removeAbandonedLock(coordination, current);
      continue;
    }
    if (o.noWait) return undefined;
    if (waitedSince === undefined) {
      o.onWait?.(current.spec?.holderIdentity ?? '');
      await markWanted(o.kube, name, identity);
    }
    waitedSince ??= Date.now();
    o.logger.info(`[${o.holder}] [${o.node}] LOCK waiting: ${describeLease(current)}`);
    // Until it is gone or stops being renewed; the loop then tries again.
    await waitFor({
      kube: o.kube,
      what: `the lock on node ${o.node} to be released`,
      path: `/apis/coordination.k8s.io/v1/namespaces/${LOCK_NAMESPACE}/leases`,
      fieldSelector: `metadata.name=${name}`,
      timeoutMs: Math.max(1000, Math.min(deadline - Date.now(), DURATION_S * 1000 + 5000)),
      list: async () => {
        const l = await coordination.listNamespacedLease({ namespace: LOCK_NAMESPACE, fieldSelector: `metadata.name=${name}` });
        return { items: l.items, resourceVersion: l.metadata?.resourceVersion ?? '' };
      },
      until: (leases: V1Lease[]) => (leases.length === 0 || leases.every((l) => leaseExpired(l, new Date())) ? true : undefined),
      describe: describeLease,
    }).catch((error: unknown) => {
      // A holder that renews on time holds it past one watch: the outer deadline decides.
      if (Date.now() > deadline)
        throw new Error(
          `node ${o.node} stayed locked for ${Math.round((Date.now() - (waitedSince ?? Date.now())) / 1000)}s: ${describeLease(current)} (Lease ${LOCK_NAMESPACE}/${name}; delete it if its holder is gone)`,
          { cause: error },
        );
    });
  }
  if (waitedSince !== undefined)
    o.logger.info(`[${o.holder}] [${o.node}] LOCK acquired after waiting ${((Date.now() - waitedSince) / 1000).toFixed(1)}s`);
  else o.logger.info(`[${o.holder}] [${o.node}] LOCK acquired`);
  const held = lease;
  // A merge patch, not a replace: a waiter's mark in between must not make the renewal conflict. Its
  // uid is the precondition: a lease taken over and made anew by another holder is never renewed here.
  const renew = setInterval(() => {
    coordination
      .patchNamespacedLease(
        { name, namespace: LOCK_NAMESPACE, body: { metadata: { uid: held.metadata?.uid }, spec: { renewTime: new V1MicroTime() } } },
        MERGE_PATCH,
      )
      .catch((e: unknown) => o.logger.warn(`[${o.holder}] [${o.node}] LOCK renewal failed: ${String(e).split('\n')[0] ?? ''}`));
  }, RENEW_MS);
  renew.unref();
  let released: Promise<void> | undefined;
  return () =>
    (released ??= (async () => {
      clearInterval(renew);
      await coordination
        .deleteNamespacedLease({ name, namespace: LOCK_NAMESPACE, body: { preconditions: { uid: held.metadata?.uid ?? '' } } })
        .catch((e: unknown) => (apiStatus(e) === 404 ? undefined : Promise.reject(e)));
      o.logger.info(`[${o.holder}] [${o.node}] LOCK released`);
    })());
}
