// How a report names the targets of a matrix: by version (`--k8s a,b`), by runtime (`--profile
// default,cri-o`), or both. A target's label carries what tells it apart from the others.
import type { RunResults, TargetResult } from './schema.ts';

/** What the targets of a run differ in: `versions`, `runtimes`, or `targets` (both, or neither). */
export function matrixKind(results: Pick<RunResults, 'targets'>): 'versions' | 'runtimes' | 'targets' {
  const versions = new Set(results.targets.map((t) => t.kubernetesVersion)).size > 1;
  const runtimes = runtimesDiffer(results.targets);
  if (versions && !runtimes) return 'versions';
  if (runtimes && !versions) return 'runtimes';
  return 'targets';
}

function runtimesDiffer(targets: readonly TargetResult[]): boolean {
  return new Set(targets.map((t) => t.runtime ?? 'containerd')).size > 1;
}

/** `v1.37.2`; `default (v1.37.2)`; in a run whose targets run different runtimes, `cri-o (v1.37.2, cri-o)`. */
export function targetLabel(t: TargetResult, all: readonly TargetResult[] = [t]): string {
  const parts = [
    ...(t.name === t.kubernetesVersion ? [] : [t.kubernetesVersion]),
    ...(runtimesDiffer(all) ? [t.runtime ?? 'containerd'] : []),
  ];
  return parts.length ? `${t.name} (${parts.join(', ')})` : t.name;
}
