// A rate-limiting front, as registries that limit pulls answer (Docker Hub's pull limit, a vendor's
// per-client quota): an HTTPS reverse proxy in this process, on the kind network's gateway (where the
// nodes and the host both reach it), in front of a registry pullcheck started. A scenario limits a
// repository: every request under it is answered 429 TOOMANYREQUESTS with Retry-After until the
// scenario lifts the limit (or for the next N requests); everything else is passed on.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, request, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { onInterrupt } from '../infra/lifecycle.ts';
import type { Logger } from '../infra/log.ts';
import type { AccessEntry } from './accesslog.ts';
import { RegistryClient } from './client.ts';
import { LocalRegistry, type RegistrySpec, type StartedRegistry, type TestRegistry } from './registry.ts';
import { issueServerCertificate } from './tls.ts';
import { networkGateway } from './tokenserver.ts';

export interface RateLimit {
  /** The Retry-After the front answers with, in seconds (default 10). */
  retryAfterSeconds?: number;
}

/** The body of the front's 429, in the distribution spec's error shape (Docker Hub's code). */
export const TOO_MANY_REQUESTS_MESSAGE = 'pullcheck rate limit: too many requests for this repository';
export function tooManyRequestsBody(): string {
  return JSON.stringify({ errors: [{ code: 'TOOMANYREQUESTS', message: TOO_MANY_REQUESTS_MESSAGE }] });
}

/** The repository a distribution API path names (`/v2/<name>/manifests|blobs|tags/…`), undefined for /v2/ and others. */
export function repositoryOfPath(path: string): string | undefined {
  const m = /^\/v2\/(.+?)\/(manifests|blobs|tags)\//.exec(path.split('?')[0] ?? '');
  return m?.[1];
}

/** Which repositories are limited, and how: until lifted (Infinity) or for the next `n` requests. */
export class Limits {
  private readonly remaining = new Map<string, { n: number; retryAfterSeconds: number | undefined }>();
  /** Limits `repository`: its next `n` requests (default: until lift) are answered 429 (with this Retry-After, else the front's). */
  limit(repository: string, n = Number.POSITIVE_INFINITY, retryAfterSeconds?: number): void {
    this.remaining.set(repository, { n, retryAfterSeconds });
  }
  lift(repository: string): void {
    this.remaining.delete(repository);
  }
  /** Whether this request is refused (and counts it): the Retry-After it gets (undefined: the front's), or false. */
  take(path: string): { retryAfterSeconds: number | undefined } | false {
    const repository = repositoryOfPath(path);
    if (repository === undefined) return false;
    const l = this.remaining.get(repository);
    if (l === undefined) return false;
    if (l.n <= 1) this.remaining.delete(repository);
    else this.remaining.set(repository, { ...l, n: l.n - 1 });
    return { retryAfterSeconds: l.retryAfterSeconds };
  }
}

/** A registry behind the front: references, trust and the client name the front; pushes may go to `backend` directly. */
export class RateLimitedRegistry implements TestRegistry, AsyncDisposable {
  readonly local = true;
  readonly client: RegistryClient;
  private stopped = false;

  constructor(
    readonly backend: StartedRegistry,
    readonly host: string,
    private readonly limits: Limits,
    private readonly front: { log: AccessEntry[]; close(): Promise<void> },
  ) {
    this.client = new RegistryClient({
      host,
      ca: backend.spec.ca.certPem,
      ...(backend.username && backend.password ? { username: backend.username, password: backend.password } : {}),
    });
  }

  get spec(): RegistrySpec {
    return this.backend.spec;
  }
  get username(): string | undefined {
    return this.backend.username;
  }
  get password(): string | undefined {
    return this.backend.password;
  }
  get caPem(): string | undefined {
    return this.backend.spec.ca.certPem;
  }
  ref(repository: string, tagOrDigest: string): string {
    return `${this.host}/${repository}${tagOrDigest.startsWith('sha256:') ? '@' : ':'}${tagOrDigest}`;
  }
  credential(password = this.password): ReturnType<TestRegistry['credential']> {
    return { ...this.backend.credential(password), server: this.host };
  }
  /** What the front answered (429s included): the backend's log has only what was passed on. */
  async accessLog(): Promise<AccessEntry[]> {
    return [...this.front.log];
  }
  /** The next `n` requests under `repository` (default: all until lift) are answered 429, with `retryAfterSeconds` or the front's. */
  limit(repository: string, n?: number, retryAfterSeconds?: number): void {
    this.limits.limit(repository, n, retryAfterSeconds);
  }
  lift(repository: string): void {
    this.limits.lift(repository);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    try {
      await this.front.close();
    } finally {
      await this.backend.stop();
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** Starts the backend registry (`spec`), then the front on the network's gateway with a certificate from the suite CA. */
export async function startRateLimited(spec: RegistrySpec & { rateLimit: RateLimit }, logger: Logger): Promise<RateLimitedRegistry> {
  if (spec.tls === false) throw new Error(`registry ${spec.name}: the rate-limiting front is HTTPS only`);
  const backend = await new LocalRegistry(spec, logger).start();
  try {
    const gateway = await networkGateway(spec.network);
    const cert = await issueServerCertificate(spec.ca, [gateway]);
    const backendHost = backend.client.options.host;
    const [bHost, bPort] = backendHost.split(':');
    const limits = new Limits();
    const retryAfter = String(spec.rateLimit.retryAfterSeconds ?? 10);
    const log: AccessEntry[] = [];
    const handle = (req: IncomingMessage, res: ServerResponse) => {
      const path = req.url ?? '/';
      const method = req.method ?? 'GET';
      const record = (status: number) =>
        log.push({ time: new Date(), method, uri: path, status, remoteAddr: req.socket.remoteAddress ?? '' });
      const limited = limits.take(path);
      if (limited) {
        record(429);
        const body = tooManyRequestsBody();
        res.writeHead(429, {
          'retry-after': limited.retryAfterSeconds === undefined ? retryAfter : String(limited.retryAfterSeconds),
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'docker-distribution-api-version': 'registry/2.0',
        });
        res.end(method === 'HEAD' ? undefined : body);
        return;
      }
      // Host names the backend, so that its certificate is verified and its upload Locations reach it.
      const upstream = request(
        { host: bHost, port: Number(bPort), method, path, headers: { ...req.headers, host: backendHost }, ca: spec.ca.certPem },
        (answer) => {
          record(answer.statusCode ?? 502);
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', (e) => {
        record(502);
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`rate-limiting front: ${e.message}`);
      });
      req.pipe(upstream);
    };
    const server: Server = createServer({ key: cert.keyPem, cert: cert.certPem }, handle);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, gateway, () => resolve());
    });
    const host = `${gateway}:${(server.address() as AddressInfo).port}`;
    let closed = false;
    const close = async () => {
      if (closed) return;
      closed = true;
      forget();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    };
    const forget = onInterrupt(`the rate-limiting front of ${spec.name}`, close);
    logger.detail(`registry ${spec.name}: rate-limiting front at https://${host} in front of ${backend.host} (Retry-After ${retryAfter}s)`);
    return new RateLimitedRegistry(backend, host, limits, { log, close });
  } catch (error) {
    await backend.stop().catch(() => undefined);
    throw error;
  }
}
