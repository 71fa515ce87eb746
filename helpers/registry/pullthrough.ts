// A pull-through cache: CNCF distribution in its `proxy:` mode (remoteurl, username, password, ttl)
// in front of another registry pullcheck starts, its upstream. Pushes go to the upstream (the cache
// refuses them), nodes pull from the cache; each has its own access log, so a scenario can show what
// the cache fetched from the upstream and when it served from its own storage.
//
// distribution v3.1.2 (registry/proxy/), what the scenarios rest on:
// - proxytagservice.go Get: a tag is resolved at the upstream first on every request (a HEAD of the
//   manifest by tag), the answer tagged locally; the local tag is used only when the upstream cannot
//   be reached. A tag moved upstream is seen on the next pull through the cache.
// - proxymanifeststore.go Get / proxyblobstore.go ServeBlob: a manifest or blob is served from the
//   cache's storage when it has it, else fetched from the upstream, streamed to the client and
//   stored; `ttl` (default 168h, 0 never) schedules its removal (scheduler/). Not a tag's lifetime.
// - Put, Create, Mount, Delete answer ErrUnsupported (HTTP 405 UNSUPPORTED): a cache refuses pushes.
// - proxyauth.go: the upstream's credentials are used for the challenges its /v2/ answered at start
//   (Basic or a token realm): the upstream must be up before the cache starts.
import type { Logger } from '../infra/log.ts';
import type { AccessEntry } from './accesslog.ts';
import type { RegistryClient } from './client.ts';
import { LocalRegistry, type RegistrySpec, type StartedRegistry, type TestRegistry } from './registry.ts';

export interface PullThrough {
  /** How the upstream is protected: 'htpasswd' gives the cache its credentials (`proxy.username/password`). */
  upstreamAuth: 'htpasswd' | 'none';
  /** `proxy.ttl` in Go's duration syntax (default: distribution's, 168h). */
  ttl?: string;
  /** The upstream's fixed address on the network (a standalone cache: helpers/registry/standalone.ts). */
  upstreamIp?: string;
}

/** Where the cache reads the roots it verifies the upstream with (Go's crypto/x509 honours SSL_CERT_FILE). */
const UPSTREAM_CA_FILE = '/certs/upstream-ca.crt';

/** The `proxy:` section appended to the cache's config. */
export function proxyConfig(o: {
  remoteUrl: string;
  username?: string | undefined;
  password?: string | undefined;
  ttl?: string | undefined;
}): string {
  return [
    'proxy:',
    `  remoteurl: ${o.remoteUrl}`,
    ...(o.username && o.password ? [`  username: ${JSON.stringify(o.username)}`, `  password: ${JSON.stringify(o.password)}`] : []),
    ...(o.ttl ? [`  ttl: ${o.ttl}`] : []),
    '',
  ].join('\n');
}

/** A cache and its upstream: the registry under test is the cache (host, ref, client, accessLog). */
export class PullThroughRegistry implements TestRegistry, AsyncDisposable {
  readonly local = true;
  private stopped = false;

  constructor(
    /** The distribution registry in proxy mode. */
    readonly cache: StartedRegistry,
    /** Where pushes go, and what the cache fetches from. */
    readonly upstream: StartedRegistry,
    readonly pullThrough: PullThrough,
  ) {}

  get spec(): RegistrySpec {
    return this.cache.spec;
  }
  get client(): RegistryClient {
    return this.cache.client;
  }
  get username(): string | undefined {
    return this.cache.username;
  }
  get password(): string | undefined {
    return this.cache.password;
  }
  get host(): string {
    return this.cache.host;
  }
  get caPem(): string | undefined {
    return this.cache.caPem;
  }
  ref(repository: string, tagOrDigest: string): string {
    return this.cache.ref(repository, tagOrDigest);
  }
  credential(password?: string): ReturnType<TestRegistry['credential']> {
    return this.cache.credential(password);
  }
  /** The cache's access log (what the nodes asked). */
  accessLog(): Promise<AccessEntry[]> {
    return this.cache.accessLog();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    try {
      await this.cache.stop();
    } finally {
      await this.upstream.stop();
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/**
 * Starts the upstream (`<name>-upstream`, auth as `pullThrough.upstreamAuth`, TLS with the run's
 * CA), then the cache (`spec.auth`) with the upstream's URL, credentials and CA.
 */
export async function startPullThrough(spec: RegistrySpec & { pullThrough: PullThrough }, logger: Logger): Promise<PullThroughRegistry> {
  if (spec.tls === false) throw new Error(`registry ${spec.name}: a pull-through cache is HTTPS only`);
  if (spec.auth === 'token') throw new Error(`registry ${spec.name}: a pull-through cache here is anonymous or htpasswd`);
  const { pullThrough } = spec;
  const upstream = await new LocalRegistry(
    {
      name: `${spec.name}-upstream`,
      auth: pullThrough.upstreamAuth,
      ca: spec.ca,
      network: spec.network,
      runId: spec.runId,
      ...(pullThrough.upstreamIp ? { ip: pullThrough.upstreamIp } : {}),
    },
    logger,
  ).start();
  try {
    const cache = await new LocalRegistry(
      {
        ...spec,
        extraConfig: `${spec.extraConfig ?? ''}${proxyConfig({
          remoteUrl: `https://${upstream.host}`,
          username: upstream.username,
          password: upstream.password,
          ttl: pullThrough.ttl,
        })}`,
        extraFiles: [...(spec.extraFiles ?? []), { content: spec.ca.certPem, target: UPSTREAM_CA_FILE }],
        env: { ...spec.env, SSL_CERT_FILE: UPSTREAM_CA_FILE },
      },
      logger,
    ).start();
    logger.detail(
      `registry ${spec.name}: a pull-through cache of ${upstream.host} (${pullThrough.upstreamAuth === 'none' ? 'anonymous' : 'with its credentials'})`,
    );
    return new PullThroughRegistry(cache, upstream, pullThrough);
  } catch (error) {
    await upstream.stop().catch(() => undefined);
    throw error;
  }
}
