// A registry that rate-limits pullcheck (429 after its Retry-After was waited out: the client's
// RateLimitedError) stops a scenario before it proves anything: the scenario could not run, with the
// registry's words as its cause, and the capability it was proving is neither failed nor passed.
import { RateLimitedError } from '../registry/client.ts';

/** The rate limit in `error` or its causes, as the scenario record carries it; undefined if none. */
export function rateLimitedIn(error: unknown): { registry: string; detail: string; message: string } | undefined {
  let e: unknown = error;
  for (let depth = 0; e instanceof Error && depth < 8; depth++) {
    if (e instanceof RateLimitedError) return { registry: e.registry, detail: e.detail, message: e.message };
    e = e.cause;
  }
  return undefined;
}

/** The record's reason: one line from the structured fields. */
export function rateLimitedReason(r: { registry: string; detail: string; message: string }): string {
  return `rate-limited: the registry ${r.registry} limited pullcheck's requests (${r.detail}), so the scenario could not run; it says nothing of the capability it proves (${r.message})`;
}
