// Registry kinds beyond plain distribution: go-containerregistry's registry (an independent
// implementation, programs/ggcr-registry) and distribution with its `redirect` storage middleware,
// which answers blob GETs with a 307 to a separate blob host (programs/blobhost) serving the same
// storage directory read-only from a shared docker volume.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, posix } from 'node:path';
import { type StartedTestContainer, Wait } from 'testcontainers';
import { goEnv } from '../build/go.ts';
import { tarOf } from '../images/oci.ts';
import { cachedDir, cachePath } from '../infra/cache.ts';
import { docker, imageLabel, LABEL_MANAGED, LABEL_RUN } from '../infra/docker.ts';
import { run } from '../infra/exec.ts';
import type { Logger } from '../infra/log.ts';
import { PACKAGE_ROOT } from '../infra/paths.ts';
import { LABEL_OWNER_PID, ownedLabelArgs } from '../infra/sweep.ts';
import { type AccessEntry, parseAccessLog } from './accesslog.ts';
import type { RegistryClient } from './client.ts';
import { type PullThrough, startPullThrough } from './pullthrough.ts';
import { type RateLimit, startRateLimited } from './ratelimit.ts';
import {
  certificateHosts,
  containerOn,
  ensureRegistryImage,
  LocalRegistry,
  type RegistrySpec,
  registryAlias,
  StartedRegistry,
  type TestRegistry,
} from './registry.ts';
import { type CertificateAuthority, createCA, issueServerCertificate } from './tls.ts';

const PROGRAMS_DIR = join(PACKAGE_ROOT, 'programs');
const LABEL_IMAGE_INPUTS = 'pullcheck.io/image-inputs';
const PORT = 5000;
export const BLOB_PORT = 8443;
/** Where distribution's filesystem driver keeps its files, in the registry and (read-only) the blob host. */
const STORAGE_ROOT = '/var/lib/registry';

export type RegistryImplementation = 'distribution' | 'ggcr';

export interface RegistryKind {
  /** Which server answers the distribution API (default distribution). */
  implementation?: RegistryImplementation;
  /** distribution only: blob GETs answered with a 307 to a separate blob host. */
  redirectBlobs?: boolean;
  /**
   * The blob host's certificate: from the suite CA (default), or from a CA of its own that nodes
   * are given only in the blob host's certs.d entry (to show which entry containerd uses).
   */
  blobHostCa?: 'suite' | 'separate';
  /** The blob host's fixed address on the network (with `ip`): redirects name it, so the host follows them too. */
  blobHostIp?: string;
  /** distribution in its `proxy:` mode, a pull-through cache of an upstream it starts (helpers/registry/pullthrough.ts). */
  pullThrough?: PullThrough;
  /** distribution behind a front answering 429 with Retry-After for the repositories a scenario limits (helpers/registry/ratelimit.ts). */
  rateLimit?: RateLimit;
  /**
   * The blob host answers every GET this many milliseconds late: a slow blob store, so that each
   * download lasts long enough for overlapping pulls to be read from its log (programs/blobhost -delay).
   */
  blobDelayMs?: number;
}

export type KindSpec = RegistrySpec & RegistryKind;

/** A program of programs/ as a one-file image, tagged and labelled with the hash of its inputs. */
export async function ensureProgramImage(name: 'ggcr-registry' | 'blobhost', o: { logger: Logger }): Promise<string> {
  const hash = createHash('sha256');
  // go.mod and go.sum pin the modules it is built from (go-containerregistry for ggcr-registry).
  for (const file of ['go.mod', 'go.sum']) hash.update(file).update(readFileSync(join(PROGRAMS_DIR, file)));
  const dir = join(PROGRAMS_DIR, name);
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.go') && !f.endsWith('_test.go'))
    .sort())
    hash.update(file).update(readFileSync(join(dir, file)));
  const key = hash.digest('hex').slice(0, 12);
  const image = `pullcheck/${name}:${key}`;
  if ((await imageLabel(image, LABEL_IMAGE_INPUTS)) === key) return image;
  const { dir: bin } = await cachedDir(cachePath('bin', `${name}-${key}`), (out) =>
    o.logger.phase(`build ${name} ${key}`, async () => {
      await run(['go', 'build', '-trimpath', '-ldflags', '-s -w', '-o', join(out, name), `./${name}`], {
        cwd: PROGRAMS_DIR,
        env: goEnv(),
        logger: o.logger,
      });
    }),
  );
  const rootfs = await tarOf([
    { path: `/${name}`, content: readFileSync(join(bin, name)), mode: 0o755 },
    { path: '/tmp/.keep', content: '' },
  ]);
  await docker(['import', '--change', `ENTRYPOINT ["/${name}"]`, '--change', `LABEL ${LABEL_IMAGE_INPUTS}=${key}`, '-', image], {
    logger: o.logger,
    input: rootfs,
  });
  return image;
}

function labels(spec: Pick<RegistrySpec, 'runId' | 'name'>, role: string): Record<string, string> {
  return {
    [LABEL_MANAGED]: 'true',
    [LABEL_RUN]: spec.runId,
    [LABEL_OWNER_PID]: String(process.pid),
    'pullcheck.io/registry': spec.name,
    'pullcheck.io/role': role,
  };
}

/** Starts the kind of registry `spec` names: distribution as before, ggcr, or distribution redirecting blobs. */
export async function startRegistry(spec: KindSpec, logger: Logger): Promise<TestRegistry> {
  const implementation = spec.implementation ?? 'distribution';
  if (implementation === 'ggcr') {
    if (spec.redirectBlobs) throw new Error(`registry ${spec.name}: blob redirects are distribution's storage middleware, not ggcr's`);
    return startGgcr(spec, logger);
  }
  if (spec.blobDelayMs !== undefined && !spec.redirectBlobs)
    throw new Error(`registry ${spec.name}: blobDelayMs slows the blob host, which only a registry redirecting blobs has`);
  if (spec.redirectBlobs) return startRedirecting(spec, logger);
  if (spec.rateLimit) return startRateLimited({ ...spec, rateLimit: spec.rateLimit }, logger);
  if (spec.pullThrough) return startPullThrough({ ...spec, pullThrough: spec.pullThrough }, logger);
  return new LocalRegistry(spec, logger).start();
}

/** What `pullcheck` logs as the registry's kind. */
export function kindName(k: RegistryKind): string {
  return `${k.implementation ?? 'distribution'}${k.redirectBlobs ? ` redirecting blobs (blob host CA: ${k.blobHostCa ?? 'suite'}${k.blobDelayMs ? `, answering after ${k.blobDelayMs} ms` : ''})` : ''}${
    k.pullThrough ? ` pull-through cache (upstream ${k.pullThrough.upstreamAuth === 'none' ? 'anonymous' : 'with credentials'})` : ''
  }${k.rateLimit ? ' behind a rate-limiting front' : ''}`;
}

/** The ggcr program's arguments: TLS files as registry.ts copies them, or none for plain HTTP. */
export function ggcrArgs(tls: boolean): string[] {
  return ['-addr', `:${PORT}`, ...(tls ? ['-cert', '/certs/tls.crt', '-key', '/certs/tls.key'] : ['-cert', ''])];
}

async function startGgcr(spec: KindSpec, logger: Logger): Promise<StartedRegistry> {
  // ggcr's registry has no authentication; an htpasswd ggcr would be pullcheck's wrapper, not ggcr.
  if (spec.auth !== 'none') throw new Error(`registry ${spec.name}: the ggcr registry is anonymous (auth: 'none')`);
  const image = await ensureProgramImage('ggcr-registry', { logger });
  const alias = registryAlias(spec);
  const tls = spec.tls ?? true;
  const cert = tls ? await issueServerCertificate(spec.ca, certificateHosts(alias, spec.ip)) : undefined;
  const container = await containerOn(image, spec.network, alias, spec.ip)
    .withName(alias)
    .withExposedPorts(PORT)
    .withLabels(labels(spec, 'registry'))
    .withCommand(ggcrArgs(tls))
    .withCopyContentToContainer(
      cert
        ? [
            { content: cert.certPem, target: '/certs/tls.crt' },
            { content: cert.keyPem, target: '/certs/tls.key' },
          ]
        : [],
    )
    .withWaitStrategy(Wait.forLogMessage(/listening on/))
    .start();
  return new StartedRegistry(container, spec, alias, undefined, undefined, logger);
}

/** The blob host's name on the kind network: where the registry's 307s point. */
export function blobHostAlias(spec: Pick<RegistrySpec, 'runId' | 'name'>): string {
  return `pullcheck-blob-${spec.runId}-${spec.name}`;
}

/** The storage middleware section appended to distribution's config: blob GETs go to `baseUrl`. */
export function redirectMiddlewareConfig(baseUrl: string): string {
  return ['middleware:', '  storage:', '    - name: redirect', '      options:', `        baseurl: ${baseUrl}`, ''].join('\n');
}

/** Where distribution's filesystem driver keeps a blob's bytes, relative to its root directory. */
export function blobDataPath(digest: string): string {
  const [algorithm, hex] = digest.split(':');
  if (!algorithm || !hex) throw new Error(`not a digest: ${digest}`);
  return `/docker/registry/v2/blobs/${algorithm}/${hex.slice(0, 2)}/${hex}/data`;
}

/**
 * The Location distribution v3.1.2's redirect middleware answers a blob GET with: the baseurl's
 * scheme and host, its path joined with the blob's storage path (middleware.go RedirectURL).
 */
export function redirectLocation(baseUrl: string, digest: string): string {
  const u = new URL(baseUrl);
  const path = u.pathname && u.pathname !== '/' ? posix.join(u.pathname, blobDataPath(digest)) : blobDataPath(digest);
  return `${u.protocol}//${u.host}${path}`;
}

/** The blob host program's arguments: its port, the storage it serves and, when slowed, its delay. */
export function blobHostArgs(delayMs?: number): string[] {
  return ['-addr', `:${BLOB_PORT}`, '-root', STORAGE_ROOT, ...(delayMs ? ['-delay', `${delayMs}ms`] : [])];
}

/** The blob host: a container serving the registry's storage volume read-only over TLS. */
export class BlobHost {
  constructor(
    private readonly container: StartedTestContainer,
    readonly alias: string,
    /** The CA its certificate is from (the suite's, or one of its own). */
    readonly ca: CertificateAuthority,
    /** Its fixed address, when it has one: what redirects name instead of the alias. */
    readonly ip?: string,
  ) {}

  get host(): string {
    return `${this.ip ?? this.alias}:${BLOB_PORT}`;
  }

  get baseUrl(): string {
    return `https://${this.host}/`;
  }

  /** Everything it logged: the access log, and Go's TLS handshake errors of clients that refused it. */
  async logs(): Promise<string> {
    const { stdout, stderr } = await docker(['logs', this.container.getId()]);
    return `${stdout}\n${stderr}`;
  }

  /** Its own request log (one JSON line per request, in distribution's access-log shape). */
  async accessLog(): Promise<AccessEntry[]> {
    return parseAccessLog(await this.logs());
  }

  async stop(): Promise<void> {
    await this.container.stop({ remove: true, removeVolumes: true });
  }
}

/** A distribution registry whose blob GETs are redirected to its blob host. */
export class RedirectingRegistry implements TestRegistry, AsyncDisposable {
  readonly local = true;
  private stopped = false;

  constructor(
    readonly registry: StartedRegistry,
    readonly blobHost: BlobHost,
    private readonly volume: string,
    private readonly separateCa: CertificateAuthority | undefined,
    private readonly logger: Logger,
  ) {}

  get spec(): RegistrySpec {
    return this.registry.spec;
  }
  get client(): RegistryClient {
    return this.registry.client;
  }
  get username(): string | undefined {
    return this.registry.username;
  }
  get password(): string | undefined {
    return this.registry.password;
  }
  get host(): string {
    return this.registry.host;
  }
  get caPem(): string | undefined {
    return this.registry.caPem;
  }
  ref(repository: string, tagOrDigest: string): string {
    return this.registry.ref(repository, tagOrDigest);
  }
  credential(password?: string): ReturnType<TestRegistry['credential']> {
    return this.registry.credential(password);
  }
  accessLog(): Promise<AccessEntry[]> {
    return this.registry.accessLog();
  }
  logs(): Promise<string> {
    return this.registry.logs();
  }
  get tokenServer(): StartedRegistry['tokenServer'] {
    return this.registry.tokenServer;
  }
  /** The blob host's CA when it is not the suite's: nodes are given it in the blob host's own certs.d entry. */
  get blobHostCaPem(): string | undefined {
    return this.separateCa?.certPem;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.registry.stop();
    await this.blobHost.stop();
    await docker(['volume', 'rm', '-f', this.volume], { logger: this.logger, allowFailure: true });
    if (this.separateCa) rmSync(this.separateCa.dir, { recursive: true, force: true });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

async function startRedirecting(spec: KindSpec, logger: Logger): Promise<RedirectingRegistry> {
  if (spec.tls === false) throw new Error(`registry ${spec.name}: a redirecting registry is HTTPS only`);
  const volume = `pullcheck-blobs-${spec.runId}-${spec.name}`;
  await docker(['volume', 'create', ...ownedLabelArgs(), '--label', `${LABEL_RUN}=${spec.runId}`, volume], { logger });
  const started: { stop(): Promise<void> }[] = [];
  try {
    const alias = blobHostAlias(spec);
    const separateCa = spec.blobHostCa === 'separate' ? await createCA(`pullcheck blob host ${spec.runId}`) : undefined;
    const blobCa = separateCa ?? spec.ca;
    const cert = await issueServerCertificate(blobCa, certificateHosts(alias, spec.blobHostIp));
    const image = await ensureProgramImage('blobhost', { logger });
    const container = await containerOn(image, spec.network, alias, spec.blobHostIp)
      .withName(alias)
      .withExposedPorts(BLOB_PORT)
      .withLabels(labels(spec, 'blob-host'))
      .withCommand(blobHostArgs(spec.blobDelayMs))
      .withCopyContentToContainer([
        { content: cert.certPem, target: '/certs/tls.crt' },
        { content: cert.keyPem, target: '/certs/tls.key' },
      ])
      .withBindMounts([{ source: volume, target: STORAGE_ROOT, mode: 'ro' }])
      .withWaitStrategy(Wait.forLogMessage(/listening on/))
      .start();
    const blobHost = new BlobHost(container, alias, blobCa, spec.blobHostIp);
    started.push(blobHost);
    await ensureRegistryImage(logger);
    const registry = await new LocalRegistry(
      { ...spec, storageVolume: volume, extraConfig: redirectMiddlewareConfig(blobHost.baseUrl) },
      logger,
    ).start();
    return new RedirectingRegistry(registry, blobHost, volume, separateCa, logger);
  } catch (error) {
    for (const s of started) await s.stop().catch(() => undefined);
    await docker(['volume', 'rm', '-f', volume], { logger, allowFailure: true });
    throw error;
  }
}

/**
 * Trust nodes need beyond the registry's own certs.d entry: the blob host's entry, with its own CA,
 * when it has one. containerd follows a redirect with the registry host's client (its certs.d
 * CA), so this entry is what a scenario shows is not consulted; a suite-CA blob host needs none.
 */
export function extraNodeTrust(r: TestRegistry): { host: string; caPem: string }[] {
  return r.blobHost && r.blobHostCaPem ? [{ host: r.blobHost.host, caPem: r.blobHostCaPem }] : [];
}
