// A client for the OCI distribution API, enough to push and read what pullcheck builds: blobs
// (monolithic or resumable chunked uploads, cross-repository mounts), manifests, tags, deletes;
// Basic and Bearer auth (tokens anonymous or with credentials, cached per scope); redirects to
// object storage; upload Locations on other hosts; a per-run CA.
// Retries only what is transient (5xx, connection resets), never a 4xx verdict.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { rootCertificates } from 'node:tls';
import pRetry from 'p-retry';
import { type Blob, type Image, type Layer, sha256 } from '../images/oci.ts';
import { registerCredentials, registerSecret } from '../infra/redact.ts';
import type { HttpTranscript } from './transcript.ts';

export interface RegistryClientOptions {
  /** host[:port] as it appears in image references. */
  host: string;
  ca?: string;
  username?: string;
  password?: string;
  /** Plain HTTP, only where a scenario asks for it. */
  insecure?: boolean;
  /** Upload blobs larger than this in PATCH chunks (default 4 MiB). */
  chunkSize?: number;
  /** Told of every answer (each redirect hop and token request too): what a scenario records of the exchange. */
  onAnswer?: (answer: { method: string; url: URL; status: number }) => void;
  /** Told of every manifest PUT the registry accepted (a vendor registry's push journal: helpers/registry/cleanup.ts). */
  onPushed?: (p: { repository: string; reference: string; digest: string }) => void;
  /** Records every HTTP exchange (a vendor registry's: the evidence of a scenario that failed there). */
  transcript?: HttpTranscript;
  /** How many 429 answers to one request are waited out before the 429 is the answer (default RATE_LIMIT_RETRIES). */
  rateLimitRetries?: number;
  /**
   * Pull-only (`--registry-preseeded`): the reason this client must not write. Every request but
   * GET and HEAD is refused (ReadOnlyRegistryError) before it leaves this process.
   */
  readOnly?: string;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export class RegistryError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RegistryError';
  }
}

/**
 * The registry kept answering 429 after its Retry-After was waited out: it limits this client's rate.
 * A scenario that meets it says so (`rate-limited`, helpers/framework/ratelimited.ts), never that
 * the capability it was proving failed.
 */
export class RateLimitedError extends RegistryError {
  override name = 'RateLimitedError';
  /** The registry's own words: its error code and Retry-After (`429 TOOMANYREQUESTS, Retry-After 60`). */
  readonly detail: string;

  constructor(
    readonly registry: string,
    method: string,
    path: string,
    res: HttpResponse,
    waits: number,
  ) {
    const code = /"code"\s*:\s*"([A-Z_]+)"/.exec(res.body.toString('utf8'))?.[1];
    const retryAfter = res.headers['retry-after'];
    const detail = `429${code ? ` ${code}` : ''}${retryAfter ? `, Retry-After ${String(retryAfter)}` : ''}`;
    const pathOnly = path.startsWith('http') ? new URL(path).pathname : path.split('?')[0];
    super(
      `${registry} rate-limited pullcheck: ${method} ${pathOnly} answered ${detail} after ${waits} wait(s) as its Retry-After said`,
      429,
    );
    this.detail = detail;
  }
}

/** The registry answered 404: what "gone" means for a tag or manifest (a 401, a 5xx or no answer says nothing of it). */
export function isNotFound(e: unknown): boolean {
  return e instanceof RegistryError && e.status === 404;
}

/** One challenge of a WWW-Authenticate header: its scheme (lower case) and parameters. */
export interface AuthChallenge {
  scheme: string;
  params: Record<string, string>;
}

interface RequestInit {
  headers?: Record<string, string>;
  body?: Buffer;
  /** 'manual': a redirect is the answer (GET and HEAD follow by default). */
  redirect?: 'follow' | 'manual';
}

const TRANSIENT_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN']);
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;
/** Consecutive failed PATCHes of one upload before giving up (each followed by a status query). */
const MAX_RESUMES = 4;
/** 429 answers to one request waited out (helpers/registry/client.ts fetch). */
export const RATE_LIMIT_RETRIES = 3;
/** The longest wait a Retry-After gets; without one (or an unreadable one), DEFAULT_RETRY_AFTER_MS. */
export const MAX_RETRY_AFTER_MS = 60_000;
export const DEFAULT_RETRY_AFTER_MS = 1_000;

/**
 * How long to wait before asking again, from a 429's Retry-After (RFC 9110 10.2.3: delay-seconds or an
 * HTTP-date), at most MAX_RETRY_AFTER_MS; DEFAULT_RETRY_AFTER_MS when it has none or none readable.
 */
export function retryAfterMs(header: string | string[] | undefined, now = Date.now()): number {
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  if (!value) return DEFAULT_RETRY_AFTER_MS;
  const ms = /^\d+$/.test(value) ? Number(value) * 1000 : Date.parse(value) - now;
  if (Number.isNaN(ms)) return DEFAULT_RETRY_AFTER_MS;
  return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
}

/** A write a pull-only client refused to send: the registry never saw it. */
export class ReadOnlyRegistryError extends RegistryError {
  override name = 'ReadOnlyRegistryError';
  constructor(
    readonly registry: string,
    readonly method: string,
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${method} ${path} not sent to ${registry}: ${reason}`);
  }
}

/** The distribution spec's default lifetime of a token that names none. */
const DEFAULT_TOKEN_SECONDS = 60;

export class RegistryClient {
  private readonly chunkSize: number;
  /** Set once the registry challenged with Basic: the credentials then go with every request to it. */
  private basic = false;
  /** Bearer tokens by the scopes they were asked for (sorted, space separated). */
  private readonly tokens = new Map<string, { authorization: string; expiresAt: number }>();
  /** A repository on this registry each blob was pushed to (or found in), the source of a mount. */
  private readonly blobHomes = new Map<string, string>();

  constructor(readonly options: RegistryClientOptions) {
    this.chunkSize = options.chunkSize ?? 4 * 1024 * 1024;
    if (options.username && options.password) registerCredentials(options.username, options.password);
  }

  get baseUrl(): string {
    return `${this.options.insecure ? 'http' : 'https'}://${this.options.host}`;
  }

  /**
   * One HTTP exchange, authenticated, retried on transient failures. `path` is relative to the
   * registry or an absolute URL (an upload Location); GET and HEAD follow redirects.
   */
  async fetch(method: string, path: string, init: RequestInit = {}): Promise<HttpResponse> {
    // A 429 is waited out as its Retry-After says (RATE_LIMIT_RETRIES times, each wait capped):
    // what the registry asks of a client, and not a verdict on what was asked.
    for (let waited = 0; ; waited++) {
      const res = await pRetry(() => this.once(method, path, init), {
        retries: 4,
        minTimeout: 200,
        shouldRetry: (error) => isTransient(error),
      });
      if (res.status !== 429) return res;
      if (waited >= (this.options.rateLimitRetries ?? RATE_LIMIT_RETRIES))
        throw new RateLimitedError(this.options.host, method, path, res, waited);
      await sleep(retryAfterMs(res.headers['retry-after']));
    }
  }

  async ping(): Promise<HttpResponse> {
    return this.fetch('GET', '/v2/');
  }

  async blobExists(repo: string, digest: string): Promise<boolean> {
    // A registry that redirects blob downloads answers HEAD with the redirect too: the blob is there,
    // and the storage host it names may be one only the nodes can reach.
    const { status } = await this.fetch('HEAD', `/v2/${repo}/blobs/${digest}`, { redirect: 'manual' });
    const exists = status === 200 || REDIRECTS.has(status);
    if (exists && !this.blobHomes.has(digest)) this.blobHomes.set(digest, repo);
    return exists;
  }

  /** A blob's bytes, wherever the registry redirects for them, checked against the digest. */
  async getBlob(repo: string, digest: string): Promise<Buffer> {
    const res = this.expect(await this.fetch('GET', `/v2/${repo}/blobs/${digest}`), 200, `get blob ${repo}@${digest}`);
    verifyDigest(res.body, digest, `blob ${repo}@${digest}`);
    return res.body;
  }

  async pushBlob(repo: string, digest: string, bytes: Buffer): Promise<void> {
    if (await this.blobExists(repo, digest)) return;
    const start = await this.startUpload(repo, digest);
    if (start.status === 201) {
      this.blobHomes.set(digest, repo);
      return;
    }
    let location = this.location(start);
    if (bytes.length > this.chunkSize) location = await this.uploadChunks(location, digest, bytes);
    const finish = await this.fetch(
      'PUT',
      withQuery(location, `digest=${encodeURIComponent(digest)}`),
      bytes.length > this.chunkSize ? {} : { headers: { 'content-type': 'application/octet-stream' }, body: bytes },
    );
    // A PUT whose 201 was lost to a reset is retried against a finished upload: the blob is there.
    if (finish.status !== 201 && !(await this.blobExists(repo, digest))) this.expect(finish, 201, `upload ${digest}`);
    this.blobHomes.set(digest, repo);
  }

  async pushLayer(repo: string, layer: Layer): Promise<void> {
    const bytes = 'bytes' in layer.source ? layer.source.bytes : readFileSync(layer.source.gzipFile);
    await this.pushBlob(repo, layer.digest, bytes);
  }

  /** PUT a manifest (or index) under a tag or digest; returns the digest the registry computed. */
  async putManifest(repo: string, reference: string, manifest: Blob, mediaType: string): Promise<string> {
    const res = this.expect(
      await this.fetch('PUT', `/v2/${repo}/manifests/${reference}`, { headers: { 'content-type': mediaType }, body: manifest.bytes }),
      201,
      `put manifest ${repo}:${reference}`,
    );
    const digest = String(res.headers['docker-content-digest'] ?? manifest.digest);
    this.options.onPushed?.({ repository: repo, reference, digest });
    if (digest !== manifest.digest)
      throw new RegistryError(`registry stored ${repo}:${reference} as ${digest}, expected ${manifest.digest}`);
    return digest;
  }

  async pushImage(repo: string, reference: string, image: Image): Promise<string> {
    for (const layer of image.layers) await this.pushLayer(repo, layer);
    await this.pushBlob(repo, image.config.digest, image.config.bytes);
    return this.putManifest(repo, reference, image.manifest, image.manifestMediaType);
  }

  /** Pushes every child image by digest, then the index (or manifest list) under `reference`. */
  async pushIndex(repo: string, reference: string, children: readonly Image[], index: Blob, mediaType: string): Promise<string> {
    for (const child of children) await this.pushImage(repo, child.manifest.digest, child);
    return this.putManifest(repo, reference, index, mediaType);
  }

  async getManifest(
    repo: string,
    reference: string,
    accept: readonly string[],
  ): Promise<{ digest: string; mediaType: string; bytes: Buffer }> {
    const res = this.expect(
      await this.fetch('GET', `/v2/${repo}/manifests/${reference}`, { headers: { accept: accept.join(', ') } }),
      200,
      `get manifest ${repo}:${reference}`,
    );
    if (reference.includes(':')) verifyDigest(res.body, reference, `manifest ${repo}@${reference}`);
    return { digest: sha256(res.body), mediaType: String(res.headers['content-type'] ?? ''), bytes: res.body };
  }

  /**
   * DELETE a manifest by digest, or a tag alone, whatever the answer: its status and the first error
   * code of its body (`UNSUPPORTED`), for callers that accept a registry refusing deletion (400/405).
   */
  async tryDelete(repo: string, reference: string): Promise<{ status: number; code?: string }> {
    const res = await this.fetch('DELETE', `/v2/${repo}/manifests/${reference}`);
    const code = errorCode(res.body);
    return { status: res.status, ...(code ? { code } : {}) };
  }

  /** Deletes a manifest by digest, or (distribution v3) a tag alone. */
  async deleteManifest(repo: string, reference: string): Promise<void> {
    this.expect(await this.fetch('DELETE', `/v2/${repo}/manifests/${reference}`), 202, `delete ${repo}:${reference}`);
  }

  /** POST an upload, as a mount from another repository of this registry when one holds the blob. */
  private async startUpload(repo: string, digest: string): Promise<HttpResponse> {
    const from = this.blobHomes.get(digest);
    if (from === undefined || from === repo)
      return this.expect(await this.fetch('POST', `/v2/${repo}/blobs/uploads/`), 202, `start upload to ${repo}`);
    const mount = `/v2/${repo}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`;
    const res = await this.fetch('POST', mount);
    // 201: mounted; 202: the registry would not mount (or cannot see `from`) and opened a normal upload.
    if (res.status === 201) return res;
    return this.expect(res, 202, `mount ${digest} from ${from} into ${repo}`);
  }

  /**
   * PATCHes `bytes` in chunks. After a reset or a 5xx, asks the upload where it stands (GET, 204
   * with Range 0-N) and goes on from N+1: the bytes it holds are not sent twice.
   */
  private async uploadChunks(location: string, digest: string, bytes: Buffer): Promise<string> {
    let offset = 0;
    let failures = 0;
    while (offset < bytes.length) {
      const chunk = bytes.subarray(offset, offset + this.chunkSize);
      let res: HttpResponse;
      try {
        res = await this.once('PATCH', location, {
          headers: { 'content-type': 'application/octet-stream', 'content-range': `${offset}-${offset + chunk.length - 1}` },
          body: chunk,
        });
      } catch (error) {
        if (!isTransient(error) || ++failures > MAX_RESUMES) throw error;
        await sleep(100 * failures);
        const status = this.expect(await this.fetch('GET', location), 204, `status of the upload of ${digest}`);
        location = status.headers.location ? this.location(status, location) : location;
        // distribution says 0-0 for an empty upload as well as for one byte: nothing, unless more was acknowledged.
        const last = rangeLast(status);
        offset = last === undefined || (last === 0 && offset === 0) ? 0 : last + 1;
        continue;
      }
      this.expect(res, 202, `upload chunk of ${digest}`);
      failures = 0;
      location = this.location(res, location);
      const last = rangeLast(res);
      offset = last !== undefined && last + 1 > offset ? last + 1 : offset + chunk.length;
    }
    return location;
  }

  private expect(res: HttpResponse, status: number, what: string): HttpResponse {
    if (res.status !== status) {
      throw new RegistryError(
        `${what}: HTTP ${res.status} from ${this.options.host}: ${res.body.toString('utf8').slice(0, 300)}`,
        res.status,
      );
    }
    return res;
  }

  /** An upload's next URL: relative to the request's, or absolute (another host and port kept). */
  private location(res: HttpResponse, base = this.baseUrl): string {
    const loc = res.headers.location;
    if (!loc) throw new RegistryError(`upload response (HTTP ${res.status}) without Location header`, res.status);
    return new URL(loc, new URL(base, this.baseUrl)).toString();
  }

  /** One exchange without retries: credentials the registry asks for, redirects on GET and HEAD. */
  private async once(method: string, path: string, init: RequestInit): Promise<HttpResponse> {
    if (this.options.readOnly !== undefined && method !== 'GET' && method !== 'HEAD')
      throw new ReadOnlyRegistryError(this.options.host, method, path, this.options.readOnly);
    const url = new URL(path, this.baseUrl);
    // Credentials and tokens go to the registry only, never to another host it sends us to.
    const own = url.origin === this.origin;
    const scopes = own ? scopesFor(method, url) : [];
    let res = await this.exchange(method, url, init, own ? this.authorization(scopes) : undefined);
    if (res.status === 401 && own && res.fromRegistry) {
      await this.authenticate(String(res.headers['www-authenticate'] ?? ''), scopes);
      res = await this.exchange(method, url, init, this.authorization(scopes));
    }
    if (res.status >= 500) throw new RegistryError(`${method} ${url.pathname}: HTTP ${res.status}`, res.status);
    return res;
  }

  private get origin(): string {
    return new URL(this.baseUrl).origin;
  }

  private authorization(scopes: readonly string[]): string | undefined {
    if (this.basic) return this.basicCredentials();
    const token = this.tokens.get(scopeKey(scopes));
    return token && token.expiresAt > Date.now() ? token.authorization : undefined;
  }

  private basicCredentials(): string | undefined {
    const { username, password } = this.options;
    return username && password ? `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` : undefined;
  }

  /** Answers a 401's challenge: Basic with the credentials, Bearer with a token from its realm. */
  private async authenticate(header: string, scopes: readonly string[]): Promise<void> {
    const challenges = parseChallenges(header);
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    if (bearer) {
      const realm = bearer.params['realm'];
      if (!realm) throw new RegistryError(`${this.options.host} sent a Bearer challenge without a realm`, 401);
      // The registry names the scopes it wants (a mount wants two); else ask for what the request needs.
      const wanted = bearer.params['scope']?.split(' ').filter(Boolean) ?? [...scopes];
      this.tokens.set(scopeKey(scopes), await this.token(realm, bearer.params['service'], wanted));
      return;
    }
    if (challenges.some((c) => c.scheme === 'basic')) {
      if (!this.basicCredentials())
        throw new RegistryError(`${this.options.host} requires authentication and no credentials were given`, 401);
      this.basic = true;
      return;
    }
    throw new RegistryError(
      `unsupported auth challenge from ${this.options.host}: ${header ? header.split(/[\s,]/)[0] : 'no WWW-Authenticate header'}`,
      401,
    );
  }

  /** A token from the realm: with the credentials when given, anonymous otherwise. */
  private async token(realm: string, service: string | undefined, scopes: readonly string[]) {
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new RegistryError(`${this.options.host} sent a Bearer challenge whose realm is not a URL`, 401);
    }
    if (service) url.searchParams.set('service', service);
    for (const scope of scopes) url.searchParams.append('scope', scope);
    const basic = this.basicCredentials();
    const res = await this.exchange('GET', url, {}, basic);
    if (res.status === 401 || res.status === 403)
      throw new RegistryError(
        `token endpoint ${url.host} refused ${basic ? 'the credentials' : 'an anonymous token'}: HTTP ${res.status}`,
        res.status,
      );
    if (res.status !== 200) throw new RegistryError(`token endpoint ${url.host}: HTTP ${res.status}`, res.status);
    let answer: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      answer = JSON.parse(res.body.toString('utf8')) as typeof answer;
    } catch {
      throw new RegistryError(`token endpoint ${url.host} answered 200 with something other than JSON`, res.status);
    }
    const token = typeof answer.token === 'string' && answer.token ? answer.token : answer.access_token;
    if (typeof token !== 'string' || !token) throw new RegistryError(`token endpoint ${url.host} answered 200 without a token`, res.status);
    registerSecret(token);
    const seconds = typeof answer.expires_in === 'number' && answer.expires_in > 0 ? answer.expires_in : DEFAULT_TOKEN_SECONDS;
    // Renewed in the last tenth of its life, so a request in flight does not carry an expired one.
    return { authorization: `Bearer ${token}`, expiresAt: Date.now() + seconds * 900 };
  }

  /**
   * Sends one request, following redirects for GET and HEAD (object storage, CDNs) up to 5 hops.
   * `authorization` goes only to the origin it was meant for. `fromRegistry`: the answer came from it.
   */
  private async exchange(
    method: string,
    url: URL,
    init: RequestInit,
    authorization: string | undefined,
  ): Promise<HttpResponse & { fromRegistry: boolean }> {
    const authOrigin = url.origin;
    let current = url;
    for (let hop = 0; ; hop++) {
      const headers = { ...(init.headers ?? {}), ...(authorization && current.origin === authOrigin ? { authorization } : {}) };
      const res = await this.send(method, current, headers, init.body);
      this.options.onAnswer?.({ method, url: current, status: res.status });
      const location = res.headers.location;
      if ((method !== 'GET' && method !== 'HEAD') || init.redirect === 'manual' || !REDIRECTS.has(res.status) || !location)
        return { ...res, fromRegistry: current.origin === this.origin };
      if (hop === MAX_REDIRECTS) throw new RegistryError(`${method} ${url.pathname}: more than ${MAX_REDIRECTS} redirects`, res.status);
      current = new URL(location, current);
    }
  }

  private async send(method: string, url: URL, headers: Record<string, string>, body?: Buffer): Promise<HttpResponse> {
    const transcript = this.options.transcript;
    if (!transcript) return this.sendOnce(method, url, headers, body);
    try {
      const res = await this.sendOnce(method, url, headers, body);
      transcript.record({ method, url, requestHeaders: headers, status: res.status, responseHeaders: res.headers, body: res.body });
      return res;
    } catch (error) {
      transcript.record({ method, url, requestHeaders: headers, error });
      throw error;
    }
  }

  private sendOnce(method: string, url: URL, headers: Record<string, string>, body?: Buffer): Promise<HttpResponse> {
    // The run CA alone for the registry (as before); for other hosts (a token realm, object
    // storage) the public roots as well, since a CDN is not signed by the run CA.
    const ca = this.options.ca && (url.origin === this.origin ? this.options.ca : [...rootCertificates, this.options.ca]);
    return new Promise((resolve, reject) => {
      const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = request(
        url,
        {
          method,
          headers: { ...headers, 'content-length': String(body?.length ?? 0) },
          ...(ca ? { ca } : {}),
          timeout: 60_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () =>
        req.destroy(Object.assign(new Error(`${method} ${url.host}${url.pathname} timed out`), { code: 'ETIMEDOUT' })),
      );
      req.on('error', reject);
      req.end(body);
    });
  }
}

/** The first `errors[].code` of a distribution error body, if it is one. */
export function errorCode(body: Buffer): string | undefined {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { errors?: { code?: unknown }[] };
    const code = parsed.errors?.[0]?.code;
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Parses a WWW-Authenticate header (RFC 9110 §11.6.1): one or more challenges, each a scheme and
 * comma-separated parameters whose quoted values may hold commas, spaces and escapes.
 */
export function parseChallenges(header: string): AuthChallenge[] {
  const challenges: AuthChallenge[] = [];
  const token = /[!#$%&'*+.^_`|~0-9A-Za-z-]+/y;
  let i = 0;
  const skip = (chars: RegExp) => {
    while (i < header.length && chars.test(header.charAt(i))) i++;
  };
  const readToken = (): string | undefined => {
    token.lastIndex = i;
    const m = token.exec(header);
    if (!m) return undefined;
    i += m[0].length;
    return m[0];
  };
  while (i < header.length) {
    skip(/[\s,]/);
    const name = readToken();
    if (name === undefined) {
      i++;
      continue;
    }
    skip(/\s/);
    const current = challenges.at(-1);
    if (header.charAt(i) !== '=' || !current) {
      challenges.push({ scheme: name.toLowerCase(), params: {} });
      continue;
    }
    i++;
    skip(/\s/);
    let value = '';
    if (header.charAt(i) === '"') {
      for (i++; i < header.length && header.charAt(i) !== '"'; i++) {
        if (header.charAt(i) === '\\') i++;
        value += header.charAt(i);
      }
      i++;
    } else {
      value = readToken() ?? '';
    }
    current.params[name.toLowerCase()] = value;
  }
  return challenges;
}

/** The token scopes a request needs: pull to read, pull,push to write, and pull on a mount's source. */
export function scopesFor(method: string, url: URL): string[] {
  const m = /^\/v2\/(.+?)\/(?:blobs|manifests|tags|referrers)\//.exec(url.pathname);
  if (!m?.[1]) return [];
  const actions = method === 'GET' || method === 'HEAD' ? 'pull' : method === 'DELETE' ? 'delete' : 'pull,push';
  const scopes = [`repository:${m[1]}:${actions}`];
  const from = url.searchParams.get('from');
  if (url.searchParams.has('mount') && from) scopes.push(`repository:${from}:pull`);
  return scopes;
}

function scopeKey(scopes: readonly string[]): string {
  return [...scopes].sort().join(' ');
}

/** N in an upload's `Range: 0-N`: the offset of the last byte it holds. */
function rangeLast(res: HttpResponse): number | undefined {
  const m = /^(?:bytes=)?0-(\d+)$/.exec(String(res.headers.range ?? '').trim());
  return m?.[1] ? Number(m[1]) : undefined;
}

function verifyDigest(body: Buffer, digest: string, what: string): void {
  const [algorithm, hex] = digest.split(':');
  if ((algorithm !== 'sha256' && algorithm !== 'sha512') || !hex) return;
  const got = createHash(algorithm).update(body).digest('hex');
  if (got !== hex) throw new RegistryError(`${what}: the body fetched has digest ${algorithm}:${got}`);
}

function isTransient(error: unknown): boolean {
  if (error instanceof RegistryError) return (error.status ?? 0) >= 500;
  return TRANSIENT_CODES.has(String((error as NodeJS.ErrnoException).code));
}

function withQuery(location: string, query: string): string {
  return `${location}${location.includes('?') ? '&' : '?'}${query}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
