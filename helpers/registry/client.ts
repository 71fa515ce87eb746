// A client for the OCI distribution API, enough to push and read what pullcheck builds: blobs
// (monolithic or chunked uploads), manifests, tags, deletes; Basic and Bearer auth; a per-run CA.
// Retries only what is transient (5xx, connection resets), never a 4xx verdict.
import { request as httpsRequest } from 'node:https';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import pRetry from 'p-retry';
import { registerCredentials } from '../infra/redact.ts';
import { sha256, type Blob, type Image, type Layer } from '../images/oci.ts';
import { readFileSync } from 'node:fs';

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

const TRANSIENT_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN']);

export class RegistryClient {
  private authorization: string | undefined;
  private readonly chunkSize: number;

  constructor(readonly options: RegistryClientOptions) {
    this.chunkSize = options.chunkSize ?? 4 * 1024 * 1024;
    if (options.username && options.password) registerCredentials(options.username, options.password);
  }

  get baseUrl(): string {
    return `${this.options.insecure ? 'http' : 'https'}://${this.options.host}`;
  }

  /** One HTTP exchange, authenticated, retried on transient failures. */
  async fetch(method: string, path: string, init: { headers?: Record<string, string>; body?: Buffer } = {}): Promise<HttpResponse> {
    return pRetry(
      async () => {
        let res = await this.raw(method, path, init);
        if (res.status === 401) {
          await this.authenticate(String(res.headers['www-authenticate'] ?? ''));
          res = await this.raw(method, path, init);
        }
        if (res.status >= 500) throw new RegistryError(`${method} ${path}: HTTP ${res.status}`, res.status);
        return res;
      },
      {
        retries: 4,
        minTimeout: 200,
        shouldRetry: (error) => isTransient(error),
      },
    );
  }

  async ping(): Promise<HttpResponse> {
    return this.fetch('GET', '/v2/');
  }

  async blobExists(repo: string, digest: string): Promise<boolean> {
    return (await this.fetch('HEAD', `/v2/${repo}/blobs/${digest}`)).status === 200;
  }

  async pushBlob(repo: string, digest: string, bytes: Buffer): Promise<void> {
    if (await this.blobExists(repo, digest)) return;
    const start = this.expect(await this.fetch('POST', `/v2/${repo}/blobs/uploads/`), 202, `start upload to ${repo}`);
    let location = this.location(start);
    if (bytes.length <= this.chunkSize) {
      this.expect(
        await this.fetch('PUT', withQuery(location, `digest=${encodeURIComponent(digest)}`), {
          headers: { 'content-type': 'application/octet-stream' },
          body: bytes,
        }),
        201,
        `upload ${digest}`,
      );
      return;
    }
    for (let offset = 0; offset < bytes.length; offset += this.chunkSize) {
      const chunk = bytes.subarray(offset, offset + this.chunkSize);
      const res = this.expect(
        await this.fetch('PATCH', location, {
          headers: { 'content-type': 'application/octet-stream', 'content-range': `${offset}-${offset + chunk.length - 1}` },
          body: chunk,
        }),
        202,
        `upload chunk of ${digest}`,
      );
      location = this.location(res);
    }
    this.expect(await this.fetch('PUT', withQuery(location, `digest=${encodeURIComponent(digest)}`)), 201, `finish upload ${digest}`);
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
    return { digest: sha256(res.body), mediaType: String(res.headers['content-type'] ?? ''), bytes: res.body };
  }

  /** Deletes a manifest by digest, or (distribution v3) a tag alone. */
  async deleteManifest(repo: string, reference: string): Promise<void> {
    this.expect(await this.fetch('DELETE', `/v2/${repo}/manifests/${reference}`), 202, `delete ${repo}:${reference}`);
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

  private location(res: HttpResponse): string {
    const loc = res.headers.location;
    if (!loc) throw new RegistryError('upload response without Location header');
    return loc.startsWith('http') ? new URL(loc).pathname + new URL(loc).search : loc;
  }

  private async authenticate(challenge: string): Promise<void> {
    const { username, password } = this.options;
    if (!username || !password) throw new RegistryError(`${this.options.host} requires authentication and no credentials were given`, 401);
    const basic = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
    if (/^basic/i.test(challenge)) {
      this.authorization = basic;
      return;
    }
    const params = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (!/^bearer/i.test(challenge) || !params['realm'])
      throw new RegistryError(`unsupported auth challenge from ${this.options.host}: ${challenge}`, 401);
    const url = new URL(params['realm']);
    if (params['service']) url.searchParams.set('service', params['service']);
    if (params['scope']) url.searchParams.set('scope', params['scope']);
    const res = await this.send('GET', url, { authorization: basic });
    if (res.status !== 200) throw new RegistryError(`token request to ${url.host} failed: HTTP ${res.status}`, res.status);
    const token = JSON.parse(res.body.toString('utf8')) as { token?: string; access_token?: string };
    this.authorization = `Bearer ${token.token ?? token.access_token ?? ''}`;
  }

  private raw(method: string, path: string, init: { headers?: Record<string, string>; body?: Buffer }): Promise<HttpResponse> {
    const headers = { ...(init.headers ?? {}), ...(this.authorization ? { authorization: this.authorization } : {}) };
    return this.send(method, new URL(path, this.baseUrl), headers, init.body);
  }

  private send(method: string, url: URL, headers: Record<string, string>, body?: Buffer): Promise<HttpResponse> {
    return new Promise((resolve, reject) => {
      const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = request(
        url,
        {
          method,
          headers: { ...headers, 'content-length': String(body?.length ?? 0) },
          ...(this.options.ca ? { ca: this.options.ca } : {}),
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

function isTransient(error: unknown): boolean {
  if (error instanceof RegistryError) return (error.status ?? 0) >= 500;
  return TRANSIENT_CODES.has(String((error as NodeJS.ErrnoException).code));
}

function withQuery(location: string, query: string): string {
  return `${location}${location.includes('?') ? '&' : '?'}${query}`;
}
