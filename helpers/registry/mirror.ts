// Registry mirrors on a node, as containerd's docs/hosts.md describes them: a hosts.toml in the
// upstream's certs.d directory whose `[host."https://MIRROR"]` entries are "tried first in the order
// listed", with `server` (the upstream) "used as a fallback" once all of them were tried; a request
// sent to a host other than the namespace carries it as the query parameter `ns`. A mirror with
// capability `resolve` turns tags into digests ("Private Mirror: pull yes, resolve yes"). containerd
// reads hosts.toml at each pull (config_path): no restart. What the registries' own logs say
// containerd did is what the scenarios record (suites/registry-mirrors.test.ts).
import { CERTS_D } from '../cluster/kindconfig.ts';
import { ANY_NODE_RUNTIME_AGENT } from '../runtime/useragent.ts';
import { jsonLogRecords } from './accesslog.ts';

export type MirrorCapability = 'pull' | 'resolve' | 'push';

/** The hosts.toml of `upstream`'s namespace: each mirror tried first, the upstream the server; one CA file for all. */
export function mirrorHostsToml(o: {
  upstream: string;
  mirrors: readonly string[];
  caPath: string;
  capabilities?: readonly MirrorCapability[];
}): string {
  const caps = (o.capabilities ?? ['pull', 'resolve']).map((c) => `"${c}"`).join(', ');
  return [
    `server = "https://${o.upstream}"`,
    `ca = "${o.caPath}"`,
    ...o.mirrors.flatMap((m) => ['', `[host."https://${m}"]`, `  capabilities = [${caps}]`, `  ca = "${o.caPath}"`]),
    '',
  ].join('\n');
}

/** The directory containerd reads for images named `host/…` (with config_path = /etc/containerd/certs.d). */
export function namespaceDir(host: string): string {
  return `${CERTS_D}/${host}`;
}

/** One request a registry logged: answered (access log) or refused before any handler ran (401). */
export interface LoggedRequest {
  time: Date;
  method: string;
  uri: string;
  status: number;
  userAgent: string;
}

/**
 * Every request distribution logged, answered or not: its access log ("response completed …", with
 * the status) and the requests its auth refused ("error authorizing context", 401, which has no
 * access-log line), in time order.
 */
export function loggedRequests(log: string): LoggedRequest[] {
  const out: LoggedRequest[] = [];
  for (const r of jsonLogRecords(log)) {
    const msg = String(r['msg'] ?? '');
    const method = r['http.request.method'];
    const uri = r['http.request.uri'];
    if (typeof method !== 'string' || typeof uri !== 'string') continue;
    const answered = msg === 'response completed' || msg === 'response completed with error';
    if (!answered && !msg.startsWith('error authorizing context')) continue;
    out.push({
      time: new Date(String(r['time'])),
      method,
      uri,
      status: answered ? Number(r['http.response.status']) : 401,
      userAgent: String(r['http.request.useragent'] ?? ''),
    });
  }
  return out.sort((a, b) => a.time.getTime() - b.time.getTime());
}

/** The node runtime's requests (containerd's or CRI-O's user agent) for `repository`, manifests and blobs, at or after `since`. */
export function repositoryRequests(entries: readonly LoggedRequest[], repository: string, since: Date): LoggedRequest[] {
  return entries.filter((e) => e.uri.startsWith(`/v2/${repository}/`) && e.time >= since && ANY_NODE_RUNTIME_AGENT.test(e.userAgent));
}

/** The `ns` query parameter of a request URI (what containerd adds for a host other than the namespace). */
export function nsOf(uri: string): string | undefined {
  const q = uri.indexOf('?');
  return q < 0 ? undefined : (new URLSearchParams(uri.slice(q + 1)).get('ns') ?? undefined);
}

/**
 * One request as an observation: `HEAD manifest 200 ns=upstream`, with roles, never hosts, digests
 * or tags (`names` maps a host to its role).
 */
export function describeRequest(e: LoggedRequest, names: Readonly<Record<string, string>>): string {
  const path = e.uri.split('?')[0] ?? '';
  const what = /\/manifests\//.test(path) ? 'manifest' : /\/blobs\//.test(path) ? 'blob' : path;
  const ns = nsOf(e.uri);
  return `${e.method} ${what} ${e.status}${ns === undefined ? '' : ` ns=${names[ns] ?? 'other'}`}`;
}

/** The requests as observations, repeats next to each other collapsed (`GET blob 200 ×3`). */
export function describeRequests(entries: readonly LoggedRequest[], names: Readonly<Record<string, string>>): string[] {
  const out: { line: string; n: number }[] = [];
  for (const e of entries) {
    const line = describeRequest(e, names);
    const last = out.at(-1);
    if (last && last.line === line) last.n += 1;
    else out.push({ line, n: 1 });
  }
  return out.length ? out.map((o) => (o.n > 1 ? `${o.line} ×${o.n}` : o.line)) : ['no request'];
}

/**
 * What is missing for `entries` to show a served pull of the image: a manifest answered 200 and
 * each of `blobs` downloaded (GET 200). Undefined when nothing is missing.
 */
export function servedPullGaps(entries: readonly LoggedRequest[], repository: string, blobs: readonly string[]): string | undefined {
  const path = (e: LoggedRequest) => e.uri.split('?')[0] ?? '';
  const gaps: string[] = [];
  if (!entries.some((e) => path(e).startsWith(`/v2/${repository}/manifests/`) && e.status === 200)) gaps.push('no manifest answered 200');
  for (const b of blobs)
    if (!entries.some((e) => e.method === 'GET' && path(e) === `/v2/${repository}/blobs/${b}` && e.status === 200))
      gaps.push(`no GET of blob ${b} answered 200`);
  return gaps.length ? gaps.join(', ') : undefined;
}
