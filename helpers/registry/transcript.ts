// The HTTP exchanges pullcheck's registry client made with a vendor's registry, for the evidence of
// a scenario that failed there (as the OCI conformance report shows them): method, URL, status and
// the headers that say what was asked and answered. Credentials never: an Authorization header
// shows its scheme alone, and the evidence is redacted again when written.

/** Request and response headers worth showing; the others (dates, lengths, server) say nothing. */
const REQUEST_HEADERS = ['accept', 'content-type', 'content-range', 'authorization'];
const RESPONSE_HEADERS = [
  'content-type',
  'docker-content-digest',
  'location',
  'range',
  'www-authenticate',
  'retry-after',
  'oci-subject',
  'docker-upload-uuid',
];
/** Exchanges kept per registry client (a suite's scenarios share one: each shows its own window). */
const KEPT = 2000;

export interface Exchange {
  at: number;
  method: string;
  url: string;
  status?: number;
  error?: string;
  request: Record<string, string>;
  response: Record<string, string>;
  /** The first bytes of an error answer's body (distribution's `{"errors":[…]}`). */
  body?: string;
}

function pick(headers: Record<string, unknown>, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = headers[name];
    if (value === undefined) continue;
    const text = Array.isArray(value) ? value.join(', ') : String(value);
    // The scheme says how the client authenticated; the credential or token itself never goes in.
    out[name] = name === 'authorization' ? `${text.split(' ')[0] ?? ''} <redacted>` : text;
  }
  return out;
}

/** A URL without what a query might carry that is not the registry's (a signed storage URL's signature). */
function shown(url: URL): string {
  const u = new URL(url.toString());
  for (const key of [...u.searchParams.keys()]) if (/signature|token|credential|sig$|key/i.test(key)) u.searchParams.set(key, '<redacted>');
  u.username = '';
  u.password = '';
  return u.toString();
}

export class HttpTranscript {
  private readonly exchanges: Exchange[] = [];

  record(o: {
    method: string;
    url: URL;
    requestHeaders: Record<string, unknown>;
    status?: number;
    responseHeaders?: Record<string, unknown>;
    body?: Buffer;
    error?: unknown;
  }): void {
    this.exchanges.push({
      at: Date.now(),
      method: o.method,
      url: shown(o.url),
      ...(o.status !== undefined ? { status: o.status } : {}),
      ...(o.error !== undefined ? { error: o.error instanceof Error ? o.error.message : String(o.error) } : {}),
      request: pick(o.requestHeaders, REQUEST_HEADERS),
      response: pick(o.responseHeaders ?? {}, RESPONSE_HEADERS),
      ...(o.status !== undefined && o.status >= 400 && o.body?.length ? { body: o.body.toString('utf8').slice(0, 300) } : {}),
    });
    if (this.exchanges.length > KEPT) this.exchanges.splice(0, this.exchanges.length - KEPT);
  }

  /** The exchanges from `since` on, one block each. */
  since(since: number): Exchange[] {
    return this.exchanges.filter((e) => e.at >= since);
  }
}

/** A transcript as the evidence file shows it: `> GET url`, the request headers, `< 200`, the response's. */
export function formatTranscript(exchanges: readonly Exchange[]): string {
  return exchanges
    .map((e) =>
      [
        `${new Date(e.at).toISOString()} > ${e.method} ${e.url}`,
        ...Object.entries(e.request).map(([k, v]) => `  > ${k}: ${v}`),
        e.status !== undefined ? `  < ${e.status}` : `  < (no answer: ${e.error ?? '?'})`,
        ...Object.entries(e.response).map(([k, v]) => `  < ${k}: ${v}`),
        ...(e.body ? [`  < ${e.body.replace(/\s+/g, ' ')}`] : []),
      ].join('\n'),
    )
    .join('\n');
}
