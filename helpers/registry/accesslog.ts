// The registry's record of what it was asked: distribution logs one JSON line per completed
// request. Scenarios use it to prove that a node did, or did not, contact the registry.

export interface AccessEntry {
  time: Date;
  method: string;
  uri: string;
  status: number;
  remoteAddr: string;
  /** When the request came in, where the server logs it (pullcheck's blob host; `time` is when it was answered). */
  start?: Date;
}

/** distribution's JSON log lines as records, in log order; other lines (a panic, plain text) left out. */
export function jsonLogRecords(log: string): Record<string, unknown>[] {
  const records: Record<string, unknown>[] = [];
  for (const line of log.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      records.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // a line cut short as the log was read
    }
  }
  return records;
}

export function parseAccessLog(log: string): AccessEntry[] {
  const entries: AccessEntry[] = [];
  for (const record of jsonLogRecords(log)) {
    const method = record['http.request.method'];
    const uri = record['http.request.uri'];
    const status = record['http.response.status'];
    // distribution logs a 2xx/3xx as "response completed" and an error it answered (a 404, a 400) as
    // "response completed with error", each with the status.
    const msg = record['msg'];
    if ((msg !== 'response completed' && msg !== 'response completed with error') || typeof method !== 'string' || typeof uri !== 'string')
      continue;
    const start = record['http.request.start'];
    entries.push({
      time: new Date(String(record['time'])),
      method,
      uri,
      status: Number(status),
      remoteAddr: String(record['http.request.remoteaddr'] ?? ''),
      ...(typeof start === 'string' ? { start: new Date(start) } : {}),
    });
  }
  return entries;
}

/** Manifest requests (GET or HEAD) for a repository, optionally only those after `since`. */
export function manifestRequests(entries: readonly AccessEntry[], repository: string, since?: Date): AccessEntry[] {
  const prefix = `/v2/${repository}/manifests/`;
  return entries.filter((e) => e.uri.startsWith(prefix) && (e.method === 'GET' || e.method === 'HEAD') && (!since || e.time >= since));
}

/** One pull attempt as the registry saw it: manifest requests close together (one resolve), when the first came and what each was answered. */
export interface PullAttempt {
  at: Date;
  statuses: number[];
}

/**
 * The manifest requests for `repository` since `since`, grouped into attempts: a request more than
 * `quietMs` after the one before starts a new attempt (a pull resolves its reference in well under a
 * second; kubelet's retries are seconds apart).
 */
export function pullAttempts(entries: readonly AccessEntry[], repository: string, since: Date, quietMs = 3_000): PullAttempt[] {
  const attempts: PullAttempt[] = [];
  let last: number | undefined;
  for (const e of [...manifestRequests(entries, repository, since)].sort((a, b) => a.time.getTime() - b.time.getTime())) {
    const current = attempts.at(-1);
    if (current && last !== undefined && e.time.getTime() - last <= quietMs) current.statuses.push(e.status);
    else attempts.push({ at: e.time, statuses: [e.status] });
    last = e.time.getTime();
  }
  return attempts;
}
