// The posture of a run's target: a kind cluster's comes from its profile (what pullcheck configures),
// an existing cluster's is upstream's default for its version; either is replaced by what --posture
// or the config file declares. The version of an existing cluster is the API server's.
import { VersionApi } from '@kubernetes/client-node';
import type { Cluster } from '../cluster/cluster.ts';
import { providerFor } from '../cluster/provider.ts';
import type { ClusterTarget } from '../model/context.ts';
import { type Posture, type PostureDeclaration, resolvePosture } from './posture.ts';

export async function targetPosture(
  target: ClusterTarget,
  cluster: Cluster,
  declared?: { declaration: PostureDeclaration; where: string },
): Promise<Posture> {
  // A cluster pullcheck makes from a profile is what the profile declares; any other, upstream's default.
  const { profile } = providerFor(target);
  if (profile) {
    return resolvePosture(
      declared?.declaration ?? profile.posture,
      profile.kubernetesVersion.raw,
      declared?.where ?? `profile ${profile.file}`,
    );
  }
  const version = (await cluster.kube.config.makeApiClient(VersionApi).getCode()).gitVersion;
  return resolvePosture(declared?.declaration ?? {}, version, declared?.where ?? 'nothing (no --posture)');
}
