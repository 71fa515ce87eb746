// Before a cold build, one line saying what will be built and about how long it takes on this
// machine, so that nobody mistakes twelve quiet minutes for a hang. The figures are the ones
// measured on the project's 2-core machine (docs/measurements.md, issue 27), scaled by the cores
// this machine has: the Go builds use every core, up to what the build's own parallelism allows.
import { availableParallelism } from 'node:os';

/** Seconds measured on an idle 2-core machine with an empty cache. */
export const MEASURED = {
  cores: 2,
  /** The whole node image, Kubernetes from source included. */
  nodeImage: 676,
  /** Kubernetes' binaries alone (kubeadm, kubelet, kubectl, the control plane's), the bulk of it. */
  kubernetes: 476,
  /** CRI-O's crio and pinns, its Go modules not yet downloaded (the CRI-O image is ~20 s more). */
  crio: 137,
} as const;

/** Seconds on a machine with `cores` cores, from `seconds` measured on MEASURED.cores (no better than 3× faster). */
export function scaledSeconds(seconds: number, cores: number): number {
  return seconds * Math.max(1 / 3, MEASURED.cores / Math.max(1, cores));
}

/** `~11 min`, `~40s`. */
export function roughly(seconds: number): string {
  return seconds < 90 ? `~${Math.round(seconds / 10) * 10 || 10}s` : `~${Math.round(seconds / 60)} min`;
}

/** The node image's build: all of it, or without Kubernetes when its binaries are cached already. */
export function nodeImageSeconds(o: { cores: number; kubernetesCached: boolean }): number {
  return scaledSeconds(MEASURED.nodeImage - (o.kubernetesCached ? MEASURED.kubernetes : 0), o.cores);
}

/** `node image v1.37.2: ~11 min on 2 cores; \`pullcheck images build\` warms a CI cache` */
export function coldBuildLine(o: { what: string; seconds: number; cores: number; detail?: string; hint?: string }): string {
  const detail = o.detail ? ` (${o.detail})` : '';
  const hint = o.hint ? `; ${o.hint}` : '';
  return `${o.what}: ${roughly(o.seconds)} on ${o.cores} core${o.cores === 1 ? '' : 's'}${detail}${hint}`;
}

export function machineCores(): number {
  return availableParallelism();
}
