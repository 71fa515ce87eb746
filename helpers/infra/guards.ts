// Narrowing of parsed YAML and JSON, shared by every reader of profiles, kubelet configs and reports.

/** A plain mapping (not null, not an array). */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
