// What the report says of a target's cluster before (or without) reaching it: from the run context
// alone, without loading the cluster code (jest's reporter uses it).

import type { ClusterTarget } from '../model/context.ts';
import type { TargetResult } from '../report/schema.ts';
import { profileFor } from './profile.ts';

/** The Kubernetes version the target asks for (`--k8s`), where pullcheck chooses it. */
export function requestedVersion(target: ClusterTarget): string | undefined {
  return target.provider === 'kind' ? target.k8s : undefined;
}

export function describeTarget(target: ClusterTarget): TargetResult['cluster'] {
  if (target.provider === 'existing')
    return { mode: 'existing', name: target.context ?? 'current-context', ...(target.context ? { context: target.context } : {}) };
  try {
    const profile = profileFor(target);
    return { mode: 'kind', name: profile.clusterName, profile: profile.name, context: `kind-${profile.clusterName}` };
  } catch {
    // An unknown profile failed the run long before this; the report still gets written.
    return { mode: 'kind', name: target.name ?? `pullcheck-${target.profile}`, profile: target.profile };
  }
}
