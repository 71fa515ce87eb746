// Disposable registries (CNCF distribution, built here from its Go module), started with
// testcontainers on the kind network: TLS with the run's CA, htpasswd auth or anonymous. Image
// references name a registry by its alias on that network (what nodes pull from); the host pushes
// and reads through the published 127.0.0.1 port. Both are in the certificate.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GenericContainer, type StartedTestContainer, Wait } from 'testcontainers';
import { buildRegistry } from '../build/components.ts';
import { tarOf } from '../images/oci.ts';
import { docker, imageLabel, LABEL_MANAGED, LABEL_RUN } from '../infra/docker.ts';
import type { Logger } from '../infra/log.ts';
import { registerCredentials } from '../infra/redact.ts';
import { LABEL_OWNER_PID } from '../infra/sweep.ts';
import { DISTRIBUTION_VERSION } from '../infra/versions.ts';
import { type AccessEntry, parseAccessLog } from './accesslog.ts';
import { RegistryClient } from './client.ts';
import { htpasswdLine } from './htpasswd.ts';
import type { PreseededEntry } from './preseeded.ts';
import type { RegistryCredential } from './secrets.ts';
import { type CertificateAuthority, issueServerCertificate } from './tls.ts';
import { networkGateway, startTokenAuth, type TokenAuth, type TokenServer } from './tokenserver.ts';

// Ryuk (testcontainers' reaper) is an image from Docker Hub, which cannot be pulled here; pullcheck
// labels what it starts and removes it itself (see helpers/infra/sweep.ts).
process.env['TESTCONTAINERS_RYUK_DISABLED'] ??= 'true';

export const REGISTRY_IMAGE = `pullcheck/registry:${DISTRIBUTION_VERSION}`;
const LABEL_IMAGE_INPUTS = 'pullcheck.io/image-inputs';
const PORT = 5000;

/** Builds the registry binary and imports it into docker as a one-file image (no base image). */
export async function ensureRegistryImage(logger: Logger): Promise<string> {
  if ((await imageLabel(REGISTRY_IMAGE, LABEL_IMAGE_INPUTS)) === DISTRIBUTION_VERSION) return REGISTRY_IMAGE;
  const bin = await buildRegistry(logger);
  const rootfs = await tarOf([
    { path: '/registry', content: readFileSync(join(bin, 'registry')), mode: 0o755 },
    { path: '/var/lib/registry/.keep', content: '' },
    { path: '/tmp/.keep', content: '' },
  ]);
  await docker(
    [
      'import',
      '--change',
      'ENTRYPOINT ["/registry", "serve", "/etc/distribution/config.yml"]',
      '--change',
      `EXPOSE ${PORT}`,
      '--change',
      `LABEL ${LABEL_IMAGE_INPUTS}=${DISTRIBUTION_VERSION}`,
      '-',
      REGISTRY_IMAGE,
    ],
    { logger, input: rootfs },
  );
  return REGISTRY_IMAGE;
}

export interface RegistrySpec {
  /** A short name for logs and the container name: "public", "tenant-a". */
  name: string;
  /** 'token': Docker token auth, tokens from a token server in this process (helpers/registry/tokenserver.ts). */
  auth: 'htpasswd' | 'none' | 'token';
  /** HTTPS with the run's CA (default); plain HTTP only where a scenario asks for it. */
  tls?: boolean;
  ca: CertificateAuthority;
  network: string;
  runId: string;
  /** A docker volume for /var/lib/registry instead of the container's own layer (shared with a blob host). */
  storageVolume?: string;
  /** YAML appended to the generated config (e.g. a storage middleware: helpers/registry/kinds.ts). */
  extraConfig?: string;
  /**
   * A fixed IPv4 address on `network` (a network with a subnet pullcheck chose): image references
   * and the certificate name it, so that the host and the nodes reach the registry by one name
   * (helpers/registry/standalone.ts). Default: the alias, which only containers on `network` resolve.
   */
  ip?: string;
  /**
   * `storage.delete.enabled` (default true). False stands a registry as most deployments leave
   * distribution: DELETE answered `405 UNSUPPORTED`, which the spec allows (docs/capabilities.md).
   */
  deletion?: boolean;
  /** More files copied into the container (a pull-through cache's upstream CA: helpers/registry/pullthrough.ts). */
  extraFiles?: readonly { content: string; target: string }[];
  /** The registry process's environment (SSL_CERT_FILE: the roots it verifies an upstream with). */
  env?: Readonly<Record<string, string>>;
  /** htpasswd: the user name (default `user-<name>`); two registries may then know one user with different passwords. */
  username?: string;
}

/** Repositories under these prefixes are public on a token-auth registry: anonymous pull tokens. */
export const TOKEN_PUBLIC_PREFIXES = ['public/'] as const;

/** Where a token-auth registry's config points: the realm, and the claims its tokens must carry. */
export interface TokenAuthConfig {
  realm: string;
  service: string;
  issuer: string;
}

export function registryConfig(auth: RegistrySpec['auth'], tls = true, token?: TokenAuthConfig, o: { deletion?: boolean } = {}): string {
  if (auth === 'token' && !token) throw new Error('a token-auth registry needs its realm, service and issuer');
  return [
    'version: 0.1',
    'log:',
    '  level: info',
    '  formatter: json',
    '  accesslog:',
    '    disabled: false',
    'storage:',
    '  filesystem:',
    '    rootdirectory: /var/lib/registry',
    '  delete:',
    `    enabled: ${o.deletion ?? true}`,
    'http:',
    `  addr: :${PORT}`,
    ...(tls ? ['  tls:', '    certificate: /certs/tls.crt', '    key: /certs/tls.key'] : []),
    ...(auth === 'htpasswd' ? ['auth:', '  htpasswd:', '    realm: pullcheck', '    path: /auth/htpasswd'] : []),
    ...(auth === 'token' && token
      ? [
          'auth:',
          '  token:',
          `    realm: ${token.realm}`,
          `    service: ${token.service}`,
          `    issuer: ${token.issuer}`,
          '    rootcertbundle: /auth/token-root.crt',
        ]
      : []),
    '',
  ].join('\n');
}

/** A GenericContainer whose create request also carries a network endpoint with a fixed address. */
class FixedAddressContainer extends GenericContainer {
  constructor(image: string, network: string, ip: string, aliases: string[]) {
    super(image);
    // No withNetworkAliases: testcontainers would then create on the default bridge and connect
    // afterwards, without the address. The endpoint config carries the aliases instead.
    this.withNetworkMode(network);
    this.createOpts.NetworkingConfig = { EndpointsConfig: { [network]: { IPAMConfig: { IPv4Address: ip }, Aliases: aliases } } };
  }
}

/** A container of `image` on `network` under `alias`, at `ip` there when one is given. */
export function containerOn(image: string, network: string, alias: string, ip?: string): GenericContainer {
  return ip
    ? new FixedAddressContainer(image, network, ip, [alias])
    : new GenericContainer(image).withNetworkMode(network).withNetworkAliases(alias);
}

/** What a registry's certificate names: its alias, the host's loopback, and its fixed address if any. */
export function certificateHosts(alias: string, ip?: string): string[] {
  return [alias, 'localhost', '127.0.0.1', ...(ip ? [ip] : [])];
}

export class LocalRegistry {
  constructor(
    private readonly spec: RegistrySpec,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<StartedRegistry> {
    const { spec } = this;
    const image = await ensureRegistryImage(this.logger);
    const username = spec.auth !== 'none' ? (spec.username ?? `user-${spec.name}`) : undefined;
    const password = spec.auth !== 'none' ? randomBytes(18).toString('base64url') : undefined;
    if (username && password) registerCredentials(username, password);
    const alias = registryAlias(spec);
    const tls = spec.tls ?? true;
    const cert = tls ? await issueServerCertificate(spec.ca, certificateHosts(alias, spec.ip)) : undefined;
    // The token server listens on the kind network's gateway: nodes and the host both reach it there.
    const token: TokenAuth | undefined =
      spec.auth === 'token'
        ? await startTokenAuth({
            ca: spec.ca,
            host: await networkGateway(spec.network),
            name: spec.name,
            runId: spec.runId,
            policy: { publicPrefixes: TOKEN_PUBLIC_PREFIXES },
            logger: this.logger,
          })
        : undefined;
    if (token && username && password) token.server.addUser({ username, password, grants: [{ repository: '*', actions: ['*'] }] });
    const files = [
      {
        content:
          registryConfig(spec.auth, tls, token, spec.deletion === undefined ? {} : { deletion: spec.deletion }) + (spec.extraConfig ?? ''),
        target: '/etc/distribution/config.yml',
      },
      ...(cert
        ? [
            { content: cert.certPem, target: '/certs/tls.crt' },
            { content: cert.keyPem, target: '/certs/tls.key' },
          ]
        : []),
      ...(spec.auth === 'htpasswd' && username && password
        ? [{ content: `${htpasswdLine(username, password)}\n`, target: '/auth/htpasswd' }]
        : []),
      ...(token ? [{ content: token.rootCertBundle, target: '/auth/token-root.crt' }] : []),
      ...(spec.extraFiles ?? []),
    ];
    const container = await containerOn(image, spec.network, alias, spec.ip)
      .withName(alias)
      .withExposedPorts(PORT)
      .withLabels({
        [LABEL_MANAGED]: 'true',
        [LABEL_RUN]: spec.runId,
        [LABEL_OWNER_PID]: String(process.pid),
        'pullcheck.io/registry': spec.name,
      })
      .withCopyContentToContainer(files)
      .withEnvironment({ ...spec.env })
      .withBindMounts(spec.storageVolume ? [{ source: spec.storageVolume, target: '/var/lib/registry' }] : [])
      .withWaitStrategy(Wait.forLogMessage(/listening on/))
      .start()
      .catch(async (error: unknown) => {
        await token?.close();
        throw error;
      });
    return new StartedRegistry(container, spec, alias, username, password, this.logger, token);
  }
}

/** The registry's name on the kind network, and so in image references. */
export function registryAlias(spec: Pick<RegistrySpec, 'runId' | 'name'>): string {
  return `pullcheck-reg-${spec.runId}-${spec.name}`;
}

/** The repository as pushed to `registry`: under its namespace, if it has one (and it is not there already). */
/**
 * A repository as it goes to a vendor's registry: under its prefix, and with the flat layout
 * (`--registry-repository-layout flat`, for registries that allow no deeper nesting) at depth 2,
 * `prefix/name`, the rest of its path joined with dashes. Idempotent.
 */
export function underPrefix(registry: Partial<Pick<TestRegistry, 'repositoryPrefix' | 'repositoryLayout'>>, repository: string): string {
  const p = registry.repositoryPrefix;
  if (p && repository.startsWith(`${p}/`)) return repository;
  if (registry.repositoryLayout !== 'flat') return p ? `${p}/${repository}` : repository;
  const segments = repository.split('/');
  if (p) return `${p}/${segments.join('-')}`;
  return segments.length > 2 ? `${segments[0]}/${segments.slice(1).join('-')}` : repository;
}

/** `host/repository:tag`, or `host/repository@sha256:…` for a digest. */
export function imageRef(host: string, repository: string, tagOrDigest: string): string {
  return `${host}/${repository}${tagOrDigest.startsWith('sha256:') ? '@' : ':'}${tagOrDigest}`;
}

/**
 * What scenarios use of a registry, whoever runs it: one pullcheck started (StartedRegistry) or a
 * vendor's (VendorRegistry, `pullcheck run --registry`).
 */
export interface TestRegistry {
  readonly spec: { name: string; auth: 'htpasswd' | 'none' | 'token'; tls?: boolean };
  readonly client: RegistryClient;
  readonly username: string | undefined;
  readonly password: string | undefined;
  /** host:port as image references name it. */
  readonly host: string;
  /** PEM the nodes must trust for it; undefined when they trust it already (or plain HTTP). */
  readonly caPem: string | undefined;
  /** True for a registry pullcheck started (and may tell nodes to trust, and reads the log of). */
  readonly local: boolean;
  /** A vendor's namespace every repository pushed there goes under (helpers/registry/registry.ts underPrefix). */
  readonly repositoryPrefix?: string | undefined;
  /** `flat`: repositories at depth 2 under the prefix (underPrefix). */
  readonly repositoryLayout?: 'nested' | 'flat' | undefined;
  /** Pull-only (`--registry-preseeded`): what the vendor seeded; pullcheck writes nothing there. */
  readonly preseeded?: readonly PreseededEntry[] | undefined;
  ref(repository: string, tagOrDigest: string): string;
  /** Its credentials as a pull Secret or a node's config.json holds them (`password` to use another). */
  credential(password?: string): RegistryCredential;
  /** The registry's access log; undefined where pullcheck cannot read it (a vendor's registry). */
  accessLog(): Promise<AccessEntry[] | undefined>;
  /** Its own log (distribution's auth lines), where pullcheck runs it: what callers ask instead of its class. */
  logs?(): Promise<string>;
  /** The token server of a token-auth registry pullcheck runs (users, grants, what it issued). */
  readonly tokenServer?: TokenServer | undefined;
  /** The blob host its blob GETs are redirected to, where it redirects them. */
  readonly blobHost?: BlobHostView | undefined;
  /** The blob host's CA when it is not the suite's (its own certs.d entry on the nodes). */
  readonly blobHostCaPem?: string | undefined;
  stop(): Promise<void>;
}

/** What scenarios read of a redirecting registry's blob host. */
export interface BlobHostView {
  /** host:port as the redirect names it. */
  readonly host: string;
  readonly baseUrl: string;
  logs(): Promise<string>;
  accessLog(): Promise<AccessEntry[]>;
}

export class StartedRegistry implements TestRegistry, AsyncDisposable {
  readonly local = true;
  readonly client: RegistryClient;
  private stopped = false;

  constructor(
    private readonly container: StartedTestContainer,
    readonly spec: RegistrySpec,
    readonly alias: string,
    readonly username: string | undefined,
    readonly password: string | undefined,
    private readonly logger: Logger,
    private readonly token?: TokenAuth,
  ) {
    // The host reaches the registry through its published port; the certificate names 127.0.0.1 too.
    this.client = new RegistryClient({
      host: `127.0.0.1:${container.getMappedPort(PORT)}`,
      ...((spec.tls ?? true) ? { ca: spec.ca.certPem } : { insecure: true }),
      ...(username && password ? { username, password } : {}),
    });
  }

  /** The token server of a token-auth registry (users, grants, what it issued); undefined otherwise. */
  get tokenServer(): TokenServer | undefined {
    return this.token?.server;
  }

  get caPem(): string | undefined {
    return (this.spec.tls ?? true) ? this.spec.ca.certPem : undefined;
  }

  /** host:port in image references: the registry's name on the kind network (or its fixed address). */
  get host(): string {
    return `${this.spec.ip ?? this.alias}:${PORT}`;
  }

  ref(repository: string, tagOrDigest: string): string {
    return imageRef(this.host, repository, tagOrDigest);
  }

  credential(password = this.password): RegistryCredential {
    if (!this.username || password === undefined)
      throw new Error(`registry ${this.spec.name} (${this.host}) has no credentials: the scenario needs an authenticated registry`);
    return { server: this.host, username: this.username, password };
  }

  /** The registry's own log: one JSON line per request (the access log) among others. */
  async logs(): Promise<string> {
    const { stdout, stderr } = await docker(['logs', this.container.getId()]);
    return stdout + stderr;
  }

  async accessLog(): Promise<AccessEntry[]> {
    return parseAccessLog(await this.logs());
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    try {
      await this.container.stop({ remove: true, removeVolumes: true });
    } finally {
      await this.token?.close();
    }
    this.logger.detail(`registry ${this.spec.name} stopped`);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
