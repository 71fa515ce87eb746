// A tool self-test: the node lock (helpers/node/lock.ts) that every node change holds, checked
// against the cluster's API server with a node name no suite uses, so that it never waits for (or
// holds up) a real suite: a second holder waits for the first and gets the lock once it is
// released; a lock whose holder stopped renewing it (a SIGKILLed run) is taken over; nothing stays.
// And the sweep (helpers/cluster/leftovers.ts) that removes what killed runs left in a cluster.
import { randomBytes } from 'node:crypto';
import { CoordinationV1Api, V1MicroTime } from '@kubernetes/client-node';
import { execa } from 'execa';
import { hostLabel, LABEL_OWNER_HOST, sweepClusterLeftovers } from '../../helpers/cluster/leftovers.ts';
import { defineSuite, type ScenarioContext } from '../../helpers/framework/harness.ts';
import { LABEL_OWNER_PID } from '../../helpers/infra/sweep.ts';
import { LOCK_NAMESPACE, lockFreeNode, lockName, lockNode, lockWantedBy } from '../../helpers/node/lock.ts';

export const suite = defineSuite({ name: 'node-lock', registries: [], selftest: true });

function testNode(): string {
  return `pullcheck-lock-test-${randomBytes(3).toString('hex')}`;
}

async function lockExists(node: string): Promise<boolean> {
  const coordination = suite.env().cluster.kube.config.makeApiClient(CoordinationV1Api);
  const l = await coordination.listNamespacedLease({ namespace: LOCK_NAMESPACE, fieldSelector: `metadata.name=${lockName(node)}` });
  return l.items.length > 0;
}

/** The lock a killed run leaves on `node`: last renewed ten minutes ago. Removed with the scenario. */
async function staleLock(s: ScenarioContext, node: string): Promise<CoordinationV1Api> {
  const coordination = s.env.cluster.kube.config.makeApiClient(CoordinationV1Api);
  const long = new V1MicroTime(Date.now() - 10 * 60_000);
  await coordination.createNamespacedLease({
    namespace: LOCK_NAMESPACE,
    body: {
      metadata: { name: lockName(node), labels: { 'pullcheck.io/managed': 'true' } },
      spec: { holderIdentity: 'a killed run', leaseDurationSeconds: 60, acquireTime: long, renewTime: long },
    },
  });
  s.defer(() => coordination.deleteNamespacedLease({ name: lockName(node), namespace: LOCK_NAMESPACE }).catch(() => undefined));
  return coordination;
}

/** An onWait for a lock call, and the holder it was first told of. */
function waitSeen(): { onWait: (holder: string) => void; holder: Promise<string> } {
  let seen: (holder: string) => void = () => undefined;
  const holder = new Promise<string>((r) => {
    seen = r;
  });
  return { onWait: (h) => seen(h), holder };
}

/** A test node whose lock `holder` takes now (released with the scenario, if not before). */
async function heldNode(s: ScenarioContext, holder: string): Promise<{ node: string; release: () => Promise<void> }> {
  const node = testNode();
  const release = await lockNode({ kube: s.env.cluster.kube, node, holder: `${s.id} ${holder}`, logger: s.env.logger });
  s.defer(release);
  return { node, release };
}

suite.scenario(
  'second-holder-waits',
  "a second holder of a node's lock waits until the first releases it, then holds it; released, nothing stays",
  async (s) => {
    const { node, release: releaseFirst } = await heldNode(s, 'first');
    const { kube } = s.env.cluster;
    const order: string[] = [];
    const seen = waitSeen();
    const second = lockNode({ kube, node, holder: `${s.id} second`, logger: s.env.logger, onWait: seen.onWait }).then((release) => {
      order.push('second acquired');
      return release;
    });
    // The second found the lock held (by the first) and is waiting on its watch.
    expect(await seen.holder).toContain(`${s.id} first`);
    order.push('first releasing');
    await releaseFirst();
    const releaseSecond = await second;
    expect(order).toEqual(['first releasing', 'second acquired']);
    expect(await lockExists(node)).toBe(true);
    await releaseSecond();
    expect(await lockExists(node)).toBe(false);
  },
);

suite.scenario('stale-lock-taken-over', 'a lock its holder stopped renewing (a killed run) is taken over, not waited for', async (s) => {
  const node = testNode();
  const { kube } = s.env.cluster;
  const coordination = await staleLock(s, node);
  let waited = false;
  const release = await lockNode({
    kube,
    node,
    holder: s.id,
    logger: s.env.logger,
    onWait: () => {
      waited = true;
    },
  });
  const held = await coordination.readNamespacedLease({ name: lockName(node), namespace: LOCK_NAMESPACE });
  expect(held.spec?.holderIdentity).toContain(s.id);
  // Taken over at once: it never waited on the dead holder.
  expect(waited).toBe(false);
  await release();
  expect(await lockExists(node)).toBe(false);
});

suite.scenario(
  'killed-run-leftovers-swept',
  "what a killed process of this host left (a namespace, an abandoned lock) is removed by the next suite's sweep; a live process's namespace stays",
  async (s) => {
    const { kube } = s.env.cluster;
    // A pid that existed and is gone: a process that has exited.
    const child = execa('true');
    const dead = child.pid ?? 0;
    await child;
    const make = async (suffix: string, pid: number) => {
      const name = `${s.namespace}-${suffix}`;
      await kube.core.createNamespace({
        body: {
          metadata: { name, labels: { 'pullcheck.io/managed': 'true', [LABEL_OWNER_HOST]: hostLabel(), [LABEL_OWNER_PID]: String(pid) } },
        },
      });
      s.defer(() => kube.core.deleteNamespace({ name }).catch(() => undefined));
      return name;
    };
    const killed = await make('killed', dead);
    const live = await make('live', process.pid);
    const node = testNode();
    await staleLock(s, node);
    const removed = await sweepClusterLeftovers({ kube, nodes: s.env.cluster.nodes, logger: s.env.logger });
    expect(removed).toEqual(
      expect.arrayContaining([`namespace ${killed}`, expect.stringContaining(`lease ${LOCK_NAMESPACE}/${lockName(node)}`)]),
    );
    expect(removed.join('\n')).not.toContain(live);
    const phase = async (name: string) => (await kube.core.readNamespace({ name }).catch(() => undefined))?.status?.phase ?? 'gone';
    expect(['Terminating', 'gone']).toContain(await phase(killed));
    expect(await phase(live)).toBe('Active');
    expect(await lockExists(node)).toBe(false);
  },
);

suite.scenario(
  'shared-by-group-and-scenario',
  'within one process a reentrant holder (a KEP-2535 group, then its scenario) shares the lock instead of waiting for itself; it goes with the last release',
  async (s) => {
    const node = testNode();
    const { kube } = s.env.cluster;
    let waited = false;
    const onWait = () => {
      waited = true;
    };
    const group = await lockNode({ kube, node, holder: `${s.id} group`, logger: s.env.logger, reentrant: true, onWait });
    s.defer(group);
    const inner = await lockNode({ kube, node, holder: `${s.id} scenario`, logger: s.env.logger, reentrant: true, onWait });
    expect(waited).toBe(false);
    await inner();
    expect(await lockExists(node)).toBe(true);
    await group();
    expect(await lockExists(node)).toBe(false);
  },
);

suite.scenario(
  'free-node-taken-instead-of-waiting',
  'a scenario that needs another node, not a particular one, takes the first one nobody holds, without waiting; with all held it takes whichever is let go first',
  async (s) => {
    const [busy, free] = [testNode(), testNode()];
    const { kube } = s.env.cluster;
    const releaseBusy = await lockNode({ kube, node: busy, holder: `${s.id} other suite`, logger: s.env.logger });
    s.defer(releaseBusy);
    let waited = false;
    const onWait = () => {
      waited = true;
    };
    const taken = await lockFreeNode({ kube, nodes: [busy, free], holder: s.id, logger: s.env.logger, onWait });
    expect(taken.node).toBe(free);
    expect(waited).toBe(false);
    // The busy node's lock is still the other holder's.
    const coordination = kube.config.makeApiClient(CoordinationV1Api);
    expect((await coordination.readNamespacedLease({ name: lockName(busy), namespace: LOCK_NAMESPACE })).spec?.holderIdentity).toContain(
      'other suite',
    );
    // Both held now: the next one waits for any candidate, and gets the one let go first (here the second).
    const seen = waitSeen();
    const third = lockFreeNode({ kube, nodes: [busy, free], holder: `${s.id} third`, logger: s.env.logger, onWait: seen.onWait });
    expect(await seen.holder).toContain('other suite');
    await taken.release();
    const got = await third;
    expect(got.node).toBe(free);
    await got.release();
    await releaseBusy();
    expect(await lockExists(busy)).toBe(false);
    expect(await lockExists(free)).toBe(false);
  },
);

suite.scenario(
  'waiter-marks-the-lease',
  'one who waits for a held lock marks its lease (pullcheck.io/wanted-by), so that a holder keeping it between scenarios (an owed kubelet restart) lets go; the lease it then takes has no mark',
  async (s) => {
    const { node, release } = await heldNode(s, 'holder');
    const { kube } = s.env.cluster;
    expect(await lockWantedBy(kube, node)).toBeUndefined();
    const seen = waitSeen();
    const second = lockNode({ kube, node, holder: `${s.id} waiter`, logger: s.env.logger, onWait: seen.onWait });
    expect(await seen.holder).toContain(`${s.id} holder`);
    // The mark follows the first sight of the holder: a few reads at most.
    let wanted: string | undefined;
    for (let i = 0; i < 50 && !wanted; i++) {
      wanted = await lockWantedBy(kube, node);
      if (!wanted) await new Promise((r) => setTimeout(r, 100));
    }
    expect(wanted).toContain(`${s.id} waiter`);
    await release();
    const releaseSecond = await second;
    expect(await lockWantedBy(kube, node)).toBeUndefined();
    await releaseSecond();
    expect(await lockExists(node)).toBe(false);
  },
);
