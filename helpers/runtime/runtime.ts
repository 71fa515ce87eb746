// The container runtime on the nodes behind one seam: where a node is told to trust the run's CA
// for a registry, where node-level mirrors go, how an image is placed in (and taken out of) the
// runtime's store without kubelet, which unit's journal holds its pulls and how its requests show
// in a registry's log. Which implementation a run uses comes from the declared posture
// (`posture.runtime`), never from the cluster under test: a cluster declared cri-o that runs
// containerd fails the trust it was given, and `posture/runtime` names the mismatch.
import type { Posture } from '../model/posture.ts';
import { containerdRuntime } from './containerd.ts';
import { crioRuntime } from './crio.ts';
import type { NodeRuntime, RuntimeName } from './types.ts';

export type { MirrorSpec, NodeFile, NodeRuntime, RuntimeName } from './types.ts';

/** The runtime a posture declares. */
export function nodeRuntime(runtime: RuntimeName | Pick<Posture, 'runtime'> | undefined): NodeRuntime {
  const name = typeof runtime === 'string' ? runtime : (runtime?.runtime ?? 'containerd');
  return name === 'cri-o' ? crioRuntime : containerdRuntime;
}
