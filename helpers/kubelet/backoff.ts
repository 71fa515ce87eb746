// kubelet's back-off between pulls of an image that failed (the English "Images" page,
// "ImagePullBackOff"): it waits before the next attempt, the wait doubles, up to five minutes.
// kubelet v1.37 (kubelet.go): flowcontrol.NewBackOff(10s, 300s) keyed by pod and image; an attempt
// happens at the first pod sync after the wait, so a retry comes at least the wait after the last.
import type { PullAttempt } from '../registry/accesslog.ts';

export const IMAGE_BACK_OFF = { initialMs: 10_000, maxMs: 300_000 } as const;

/** The wait before retry `i` (from 0): 10 s, 20 s, 40 s … at most 300 s. */
export function backOffDelay(i: number): number {
  return Math.min(IMAGE_BACK_OFF.initialMs * 2 ** i, IMAGE_BACK_OFF.maxMs);
}

/**
 * What is wrong with the spacing of `attempts` for kubelet's back-off: a retry sooner than its wait
 * (less `toleranceMs`, for the clocks of node and registry), or later than the wait plus `slackMs`
 * (kubelet's pod syncs). One line per problem; none when it is as documented.
 */
export function backOffProblems(attempts: readonly PullAttempt[], o: { toleranceMs?: number; slackMs?: number } = {}): string[] {
  const tolerance = o.toleranceMs ?? 1_500;
  const slack = o.slackMs ?? 30_000;
  const problems: string[] = [];
  for (let i = 1; i < attempts.length; i++) {
    const gap = (attempts[i]?.at.getTime() ?? 0) - (attempts[i - 1]?.at.getTime() ?? 0);
    const wait = backOffDelay(i - 1);
    if (gap < wait - tolerance)
      problems.push(`retry ${i} came ${(gap / 1000).toFixed(1)} s after attempt ${i}, sooner than the back-off of ${wait / 1000} s`);
    else if (gap > wait + slack)
      problems.push(
        `retry ${i} came ${(gap / 1000).toFixed(1)} s after attempt ${i}, over ${(wait + slack) / 1000} s (a back-off of ${wait / 1000} s and kubelet's syncs)`,
      );
  }
  return problems;
}
