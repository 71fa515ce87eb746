import type { V1Node, V1Taint } from '@kubernetes/client-node';
import { clusterShape, QUARANTINE_TAINT, unmetShape, workersNeeded } from '../helpers/cluster/shape.ts';

const CP = 'node-role.kubernetes.io/control-plane';

function node(name: string, o: { labels?: Record<string, string>; taints?: V1Taint[]; unschedulable?: boolean } = {}): V1Node {
  return {
    metadata: { name, labels: o.labels ?? {} },
    spec: { ...(o.taints ? { taints: o.taints } : {}), ...(o.unschedulable ? { unschedulable: true } : {}) },
  };
}

describe('the cluster shape', () => {
  it('takes roles from the node-role labels, never from the names', () => {
    const shape = clusterShape([
      node('zeta', { labels: { [CP]: '' }, taints: [{ key: CP, effect: 'NoSchedule' }] }),
      // Named like kind's control plane, labelled as nothing: a worker.
      node('x-control-plane'),
      node('old-master', { labels: { 'node-role.kubernetes.io/master': '' } }),
      node('alpha', { labels: { 'node-role.kubernetes.io/worker': '' } }),
    ]);
    expect(shape.workers).toEqual(['alpha', 'x-control-plane']);
    expect(shape.controlPlanes).toEqual(['old-master', 'zeta']);
    // NoSchedule does not stop a pod that names its node; NoExecute and a cordon do.
    expect(shape.schedulableControlPlanes).toEqual(['old-master', 'zeta']);
    expect(
      clusterShape([
        node('a', { labels: { [CP]: '' }, taints: [{ key: 'dedicated', effect: 'NoExecute' }] }),
        node('b', { labels: { [CP]: '' }, unschedulable: true }),
        node('c', { labels: { [CP]: '' }, taints: [{ key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' }] }),
      ]).schedulableControlPlanes,
    ).toEqual(['c']);
  });

  it('leaves quarantined nodes out of every pick and names them', () => {
    const shape = clusterShape([
      node('cp', { labels: { [CP]: '' } }),
      node('w1', { taints: [{ key: QUARANTINE_TAINT, value: 'run-1', effect: 'NoSchedule' }] }),
      node('w2'),
    ]);
    expect(shape.workers).toEqual(['w2']);
    expect(shape.quarantined).toEqual(['w1']);
    expect(shape.nodes.find((n) => n.name === 'w1')?.quarantinedBy).toBe('run-1');
  });

  it('says what a cluster lacks: not applicable for its shape, could not run for a quarantine', () => {
    expect(workersNeeded(['node-access'])).toBe(0);
    expect(workersNeeded(['worker'])).toBe(1);
    expect(workersNeeded(['worker', 'two-workers'])).toBe(2);
    const oneWorker = clusterShape([node('kind-control-plane', { labels: { [CP]: '' } }), node('kind-worker')]);
    expect(unmetShape(['node-access', 'worker'], oneWorker, 'kind-kind')).toBeUndefined();
    expect(unmetShape(['two-workers'], oneWorker, 'kind-kind')).toEqual({
      reason:
        'the scenario needs 2 workers (needs: two-workers), and kind-kind has 1 (kind-worker: nodes without a node-role.kubernetes.io/control-plane label)',
      quarantine: false,
    });
    const quarantined = clusterShape([
      node('cp', { labels: { [CP]: '' } }),
      node('w1', { taints: [{ key: QUARANTINE_TAINT, value: 'r', effect: 'NoSchedule' }] }),
      node('w2'),
    ]);
    expect(unmetShape(['two-workers'], quarantined, 'c')).toEqual({
      reason:
        'the scenario needs 2 workers (needs: two-workers), and c has 2 (w1, w2: nodes without a node-role.kubernetes.io/control-plane label), and w1 is quarantined by a cleanup that failed earlier',
      quarantine: true,
    });
    const managed = clusterShape([node('n1'), node('n2')]);
    expect(unmetShape(['schedulable-control-plane'], managed, 'gke')?.reason).toBe(
      'the scenario needs a control-plane node a pinned pod runs on (needs: schedulable-control-plane), and gke shows none (no node with a node-role.kubernetes.io/control-plane label: a managed control plane)',
    );
    expect(unmetShape(['schedulable-control-plane'], oneWorker, 'kind-kind')).toBeUndefined();
  });
});
