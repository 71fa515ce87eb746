// Serial and parallel image pulls (kubernetes.io/docs/concepts/containers/images, "Serial and parallel
// image pulls"; KubeletConfiguration kubelet.config.k8s.io/v1beta1):
// - serializeImagePulls (default true): kubelet sends one image pull request at a time to the
//   runtime; the others wait until it is done (pkg/kubelet/images/puller.go, serialImagePuller).
// - serializeImagePulls false: kubelet pulls images for different pods at the same time, at most
//   maxParallelImagePulls at once; unset, without a limit (parallelImagePuller: a semaphore of that
//   size, none when nil).
// - kubelet refuses maxParallelImagePulls < 1, and > 1 with serializeImagePulls true; left unset,
//   serializeImagePulls defaults to false when maxParallelImagePulls is 2 or more (v1beta1 defaults).
//
// The overlap of pulls is read from pullcheck's slowed blob host (programs/blobhost -delay), which
// logs each request's start and end: a pull lasts from its first blob request to its last answer.
import type { AccessEntry } from '../registry/accesslog.ts';
import type { KubeletConfigPatch } from './config.ts';

/** How a kubelet sends image pulls to its runtime. */
export interface ImagePullSettings {
  serializeImagePulls: boolean;
  /** Unset: no limit (with serializeImagePulls false), or moot (with it true). */
  maxParallelImagePulls?: number;
}

/** Upstream's defaults, the same in every version that has the fields (maxParallelImagePulls from v1.27). */
export const IMAGE_PULL_DEFAULTS: Readonly<ImagePullSettings> = { serializeImagePulls: true };

/**
 * What kubelet's configuration validation refuses (pkg/kubelet/apis/config/validation), in one line,
 * or undefined.
 */
export function imagePullSettingsError(s: Partial<ImagePullSettings>): string | undefined {
  const max = s.maxParallelImagePulls;
  if (max !== undefined && (!Number.isInteger(max) || max < 1)) return `maxParallelImagePulls must be a positive integer (got ${max})`;
  if (s.serializeImagePulls === true && max !== undefined && max > 1)
    return `maxParallelImagePulls ${max} goes only with serializeImagePulls: false (kubelet refuses a limit above 1 for serial pulls)`;
  return undefined;
}

/**
 * The settings a declaration means over `base` (what it inherits): kubelet's defaulting, where a
 * limit of 2 or more with serializeImagePulls unset means parallel pulls, and serial pulls drop an
 * inherited limit (moot for them).
 */
export function resolveImagePulls(base: ImagePullSettings, declared: Partial<ImagePullSettings> | undefined): ImagePullSettings {
  const d = declared ?? {};
  const serializeImagePulls =
    d.serializeImagePulls ?? (d.maxParallelImagePulls !== undefined ? d.maxParallelImagePulls < 2 : base.serializeImagePulls);
  const max = d.maxParallelImagePulls ?? (d.serializeImagePulls === true ? undefined : base.maxParallelImagePulls);
  return max === undefined || (serializeImagePulls && max === 1)
    ? { serializeImagePulls }
    : { serializeImagePulls, maxParallelImagePulls: max };
}

/** How many pulls may run at once on a node with these settings: 1 when serial, the limit, or undefined (no limit). */
export function pullConcurrencyLimit(s: ImagePullSettings): number | undefined {
  return s.serializeImagePulls ? 1 : s.maxParallelImagePulls;
}

/** `serializeImagePulls=true`, `serializeImagePulls=false maxParallelImagePulls=2`, `… maxParallelImagePulls unset (no limit)`. */
export function describeImagePulls(s: ImagePullSettings): string {
  if (s.serializeImagePulls) return 'serializeImagePulls=true';
  return `serializeImagePulls=false maxParallelImagePulls=${s.maxParallelImagePulls ?? 'unset (no limit)'}`;
}

/** The documentation's rule for these settings, as a scenario states it. */
export function imagePullRule(s: ImagePullSettings): string {
  if (s.serializeImagePulls)
    return 'serializeImagePulls true: kubelet sends one image pull request at a time, the others wait (no two pulls overlap on the node)';
  return s.maxParallelImagePulls === undefined
    ? 'serializeImagePulls false, maxParallelImagePulls unset: kubelet pulls images for different pods at once, without a limit'
    : `serializeImagePulls false, maxParallelImagePulls ${s.maxParallelImagePulls}: kubelet pulls images for different pods at once, at most ${s.maxParallelImagePulls} at a time`;
}

/** The settings in a configz answer's `kubeletconfig` (configz leaves maxParallelImagePulls out when unset). */
export function imagePullSettingsFromConfigz(kubeletconfig: Record<string, unknown>): ImagePullSettings {
  const serialize = kubeletconfig['serializeImagePulls'];
  const max = kubeletconfig['maxParallelImagePulls'];
  return {
    // Defaulted, so always there; read as kubelet defaults it should it be missing.
    serializeImagePulls: typeof serialize === 'boolean' ? serialize : !(typeof max === 'number' && max >= 2),
    ...(typeof max === 'number' ? { maxParallelImagePulls: max } : {}),
  };
}

/**
 * What in `have` (a node's configz) differs from `want` (declared), by what kubelet does: the
 * serialization, and the limit when pulls are parallel (a limit of 1 with serial pulls is the same
 * as none). Undefined when they agree.
 */
export function imagePullMismatch(have: ImagePullSettings, want: ImagePullSettings): string | undefined {
  if (have.serializeImagePulls === want.serializeImagePulls && pullConcurrencyLimit(have) === pullConcurrencyLimit(want)) return undefined;
  return `${describeImagePulls(have)}, declared ${describeImagePulls(want)}`;
}

/** The kubelet configuration change that makes a node pull in parallel, at most `max` at once. */
export function parallelPullsPatch(max: number): KubeletConfigPatch {
  return { fields: { serializeImagePulls: false, maxParallelImagePulls: max } };
}

/** One image's pull as the blob host saw it: from its first request to its last answer (ms since the epoch). */
export interface PullInterval {
  image: string;
  start: number;
  end: number;
}

/**
 * Each image's pull interval from the blob host's log: its own blobs' GETs (`paths`, storage paths)
 * answered since `since`. An image with no such request, or a request without its start, is named
 * in `missing` instead.
 */
export function pullIntervals(
  entries: readonly AccessEntry[],
  images: readonly { image: string; paths: readonly string[] }[],
  since: Date,
): { intervals: PullInterval[]; missing: string[] } {
  const intervals: PullInterval[] = [];
  const missing: string[] = [];
  for (const { image, paths } of images) {
    const mine = entries.filter(
      (e) => e.method === 'GET' && paths.includes(e.uri) && e.time >= since && (e.status === 200 || e.status === 206),
    );
    const starts = mine.map((e) => e.start?.getTime());
    if (mine.length === 0 || starts.some((t) => t === undefined)) {
      missing.push(image);
      continue;
    }
    intervals.push({
      image,
      start: Math.min(...(starts as number[])),
      end: Math.max(...mine.map((e) => e.time.getTime())),
    });
  }
  return { intervals, missing };
}

/** The most intervals running at one moment, and which ones (the first such moment). */
export interface Overlap {
  max: number;
  images: string[];
  /** When that many were running (ms since the epoch), or undefined with no interval. */
  at?: number;
}

/**
 * The most pull intervals that overlap at one moment. An interval ending when another starts does
 * not overlap it (a serial puller's next pull begins only once the previous one returned).
 */
export function maxOverlap(intervals: readonly PullInterval[]): Overlap {
  // Ends before starts at the same instant.
  const events = intervals
    .flatMap((iv) => [
      { t: iv.start, d: 1, image: iv.image },
      { t: iv.end, d: -1, image: iv.image },
    ])
    .sort((a, b) => a.t - b.t || a.d - b.d);
  const running = new Set<string>();
  let best: Overlap = { max: 0, images: [] };
  for (const e of events) {
    if (e.d > 0) running.add(e.image);
    else running.delete(e.image);
    if (running.size > best.max) best = { max: running.size, images: [...running], at: e.t };
  }
  return best;
}

/** The intervals as a line for a failure or the log: `a 0.0–2.5s, b 2.6–5.1s` (seconds from the first start). */
export function describeIntervals(intervals: readonly PullInterval[]): string {
  const t0 = Math.min(...intervals.map((i) => i.start));
  const s = (t: number) => ((t - t0) / 1000).toFixed(1);
  return [...intervals]
    .sort((a, b) => a.start - b.start)
    .map((i) => `${i.image} ${s(i.start)}–${s(i.end)}s`)
    .join(', ');
}
