// The node image for a declared runtime (none declared: containerd, upstream's and kind's default):
// containerd's is kind's shape (local, pulled or built), CRI-O's is made from it. One function, so
// `cluster up` and `images build` cannot pick different images.
import type { Logger } from '../../infra/log.ts';
import type { KubernetesVersion } from '../../infra/versions.ts';
import type { Posture } from '../../model/posture.ts';
import { resolveCrioNodeImage } from './crio.ts';
import { type NodeImage, type ResolveNodeImageOptions, resolveNodeImage } from './index.ts';

export function resolveNodeImageFor(
  runtime: Posture['runtime'] | undefined,
  v: KubernetesVersion,
  logger: Logger,
  options: ResolveNodeImageOptions = {},
): Promise<NodeImage> {
  if (runtime === 'cri-o')
    return resolveCrioNodeImage(v, logger, options.forceBuild === undefined ? {} : { forceBuild: options.forceBuild });
  return resolveNodeImage(v, logger, options);
}
