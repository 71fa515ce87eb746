// A tool self-test: the node lock (helpers/nodelock.ts) that every node change holds, checked
// against the cluster's API server with a node name no suite uses, so that it never waits for (or
// holds up) a real suite: a second holder waits for the first and gets the lock once it is
// released; a lock whose holder stopped renewing it (a SIGKILLed run) is taken over; nothing stays.
import { randomBytes } from 'node:crypto';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { scenario, useEnv } from '../helpers/harness.ts';
import { LOCK_NAMESPACE, lockName, lockNode } from '../helpers/nodelock.ts';

const getEnv = useEnv({ suite: 'node-lock', registries: [] });

function testNode(): string {
  return `pullcheck-lock-test-${randomBytes(3).toString('hex')}`;
}

async function lockExists(node: string): Promise<boolean> {
  const coordination = getEnv().cluster.kube.config.makeApiClient(CoordinationV1Api);
  const l = await coordination.listNamespacedLease({ namespace: LOCK_NAMESPACE, fieldSelector: `metadata.name=${lockName(node)}` });
  return l.items.length > 0;
}

scenario(getEnv, 'node-lock/second-holder-waits', 'a second holder of a node\'s lock waits until the first releases it, then holds it; released, nothing stays', async (s) => {
  const node = testNode();
  const { kube } = s.env.cluster;
  const releaseFirst = await lockNode({ kube, node, holder: `${s.id} first`, logger: s.env.logger });
  s.defer(releaseFirst);
  const order: string[] = [];
  let waiting: (holder: string) => void = () => undefined;
  const sawHolder = new Promise<string>((r) => { waiting = r; });
  const second = lockNode({ kube, node, holder: `${s.id} second`, logger: s.env.logger, onWait: (h) => waiting(h) }).then((release) => {
    order.push('second acquired');
    return release;
  });
  // The second found the lock held (by the first) and is waiting on its watch.
  expect(await sawHolder).toContain(`${s.id} first`);
  order.push('first releasing');
  await releaseFirst();
  const releaseSecond = await second;
  expect(order).toEqual(['first releasing', 'second acquired']);
  expect(await lockExists(node)).toBe(true);
  await releaseSecond();
  expect(await lockExists(node)).toBe(false);
});

scenario(getEnv, 'node-lock/stale-lock-taken-over', 'a lock its holder stopped renewing (a killed run) is taken over, not waited for', async (s) => {
  const node = testNode();
  const { kube } = s.env.cluster;
  const coordination = kube.config.makeApiClient(CoordinationV1Api);
  const long = new Date(Date.now() - 10 * 60_000);
  await coordination.createNamespacedLease({
    namespace: LOCK_NAMESPACE,
    body: { metadata: { name: lockName(node), labels: { 'pullcheck.io/managed': 'true' } }, spec: { holderIdentity: 'a killed run', leaseDurationSeconds: 60, acquireTime: long, renewTime: long } },
  });
  s.defer(() => coordination.deleteNamespacedLease({ name: lockName(node), namespace: LOCK_NAMESPACE }).catch(() => undefined));
  let waited = false;
  const release = await lockNode({ kube, node, holder: s.id, logger: s.env.logger, onWait: () => { waited = true; } });
  const held = await coordination.readNamespacedLease({ name: lockName(node), namespace: LOCK_NAMESPACE });
  expect(held.spec?.holderIdentity).toContain(s.id);
  // Taken over at once: it never waited on the dead holder.
  expect(waited).toBe(false);
  await release();
  expect(await lockExists(node)).toBe(false);
});
