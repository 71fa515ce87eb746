// A Docker token-auth server (the flow Harbor, Quay, GHCR and GitLab use), in the suite's process:
// the registry answers 401 with a Bearer challenge naming this realm, clients fetch a JWT here
// (Basic credentials or the OAuth2 password grant; anonymously for public repositories), and
// distribution's `auth: token` verifies it: signature by the x5c leaf, which must chain to its
// rootcertbundle; `iss` = issuer; `aud` = service; exp/nbf within 60s; `access` covers the request.
// JWTs are signed with node:crypto alone (ES256 from openssl's P-256 keys, RS256 for RSA keys): a
// JWS is two base64url JSON parts and one signature, not worth a dependency.
import { createPrivateKey, type KeyObject, randomBytes, sign, timingSafeEqual, X509Certificate } from 'node:crypto';
import { rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { docker } from '../infra/docker.ts';
import { onInterrupt } from '../infra/lifecycle.ts';
import type { Logger } from '../infra/log.ts';
import { registerCredentials, registerSecret } from '../infra/redact.ts';
import { type CertificateAuthority, createCA, issueServerCertificate } from './tls.ts';

/** One entry of a token's `access` claim, as distribution's ClaimSet reads it. */
export interface ResourceActions {
  type: string;
  name: string;
  actions: string[];
}

/**
 * What a user may get tokens for: `repository` is a name, or a prefix ending in `/`, or `*` for
 * all; `actions` the actions granted there (`*`: all of them, as distribution's actionSet reads it).
 */
export interface Grant {
  repository: string;
  actions: readonly string[];
}

export interface TokenUser {
  username: string;
  password: string;
  grants: readonly Grant[];
}

export interface TokenPolicy {
  /** Repositories under these prefixes (e.g. `public/`) get anonymous pull tokens. */
  publicPrefixes: readonly string[];
}

/** `repository:name:pull,push` (scope grammar of the distribution token spec); undefined if malformed. */
export function parseScope(scope: string): ResourceActions | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first <= 0 || last <= first + 1) return undefined;
  const actions = scope
    .slice(last + 1)
    .split(',')
    .filter(Boolean);
  // `repository(plugin)` is a type with a class; the class is not part of what is granted.
  return { type: scope.slice(0, first).replace(/\(.*\)$/, ''), name: scope.slice(first + 1, last), actions };
}

/** Scopes from GET (one `scope` parameter each, as containerd sends) or POST (space-separated, OAuth2). */
export function requestedScopes(values: readonly string[]): ResourceActions[] {
  return values
    .flatMap((v) => v.split(' '))
    .filter(Boolean)
    .map(parseScope)
    .filter((s): s is ResourceActions => s !== undefined);
}

function matches(grant: Grant, repository: string): boolean {
  if (grant.repository === '*') return true;
  return grant.repository.endsWith('/') ? repository.startsWith(grant.repository) : repository === grant.repository;
}

/**
 * What a token carries for each requested scope: the requested actions the user's grants allow
 * (anonymous: pull under a public prefix). A scope nothing allows stays in with no actions, as the
 * spec's token servers answer: the token is issued, and the registry refuses it (insufficient_scope).
 */
export function grantedAccess(requested: readonly ResourceActions[], user: TokenUser | undefined, policy: TokenPolicy): ResourceActions[] {
  return requested.map((r) => {
    const allowed = new Set<string>();
    if (r.type === 'repository') {
      const grants: Grant[] = user ? [...user.grants] : policy.publicPrefixes.map((prefix) => ({ repository: prefix, actions: ['pull'] }));
      for (const g of grants.filter((g) => matches(g, r.name)))
        for (const a of r.actions) if (g.actions.includes('*') || g.actions.includes(a)) allowed.add(a);
    }
    return { type: r.type, name: r.name, actions: r.actions.filter((a) => allowed.has(a)) };
  });
}

/** `Authorization: Basic …` as username and password; undefined when there is none or it is not Basic. */
export function parseBasic(header: string | undefined): { username: string; password: string } | undefined {
  const m = /^Basic\s+(\S+)$/i.exec(header ?? '');
  if (!m?.[1]) return undefined;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export interface ClaimSet {
  iss: string;
  sub: string;
  aud: string;
  exp: number;
  nbf: number;
  iat: number;
  jti: string;
  access: ResourceActions[];
}

export function claimSet(o: {
  issuer: string;
  service: string;
  subject: string;
  access: ResourceActions[];
  nowSeconds: number;
  ttlSeconds: number;
}): ClaimSet {
  return {
    iss: o.issuer,
    sub: o.subject,
    aud: o.service,
    exp: o.nowSeconds + o.ttlSeconds,
    nbf: o.nowSeconds,
    iat: o.nowSeconds,
    jti: randomBytes(12).toString('base64url'),
    access: o.access,
  };
}

const b64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * A compact JWS: header {alg, typ, x5c} (x5c: standard base64 DER, leaf first), the claims, and the
 * signature. ES256 wants the raw r||s form (ieee-p1363), not DER.
 */
export function signJwt(claims: object, key: KeyObject, x5c: readonly string[]): string {
  const ec = key.asymmetricKeyType === 'ec';
  if (!ec && key.asymmetricKeyType !== 'rsa') throw new Error(`token signing key of type ${key.asymmetricKeyType}: only EC P-256 and RSA`);
  const input = `${b64url({ alg: ec ? 'ES256' : 'RS256', typ: 'JWT', x5c })}.${b64url(claims)}`;
  const signature = sign('sha256', Buffer.from(input), ec ? { key, dsaEncoding: 'ieee-p1363' } : key);
  return `${input}.${signature.toString('base64url')}`;
}

/** A certificate's DER as x5c carries it. */
export function x5cOf(certPem: string): string {
  return new X509Certificate(certPem).raw.toString('base64');
}

/** The first IPv4 gateway of `docker network inspect --format '{{json .IPAM.Config}}'` (kind's network is dual-stack). */
export function ipv4Gateway(ipamConfigJson: string): string | undefined {
  const configs = JSON.parse(ipamConfigJson) as { Gateway?: string }[] | null;
  return (configs ?? []).map((c) => c.Gateway ?? '').find((g) => /^\d+\.\d+\.\d+\.\d+$/.test(g));
}

export async function networkGateway(network: string): Promise<string> {
  const { stdout } = await docker(['network', 'inspect', network, '--format', '{{json .IPAM.Config}}']);
  const gateway = ipv4Gateway(stdout.trim());
  if (!gateway)
    throw new Error(
      `docker network ${network} has no IPv4 gateway (IPAM config: ${stdout.trim()}): nodes could not reach a token server on the host`,
    );
  return gateway;
}

/** One token request as the server answered it (never the password or the token). */
export interface TokenRequestRecord {
  time: Date;
  method: string;
  /** Who asked: a node's address on the kind network; the host's is whichever source address its kernel picked. */
  remoteAddress: string;
  /** The authenticated username; undefined for an anonymous request. */
  account: string | undefined;
  requested: ResourceActions[];
  granted: ResourceActions[];
  status: number;
}

export interface TokenServerOptions {
  issuer: string;
  service: string;
  /** The token-signing key and its certificate (x5c leaf), which chains to the registry's rootcertbundle. */
  signing: { keyPem: string; certPem: string; chainPems?: readonly string[] };
  /** The HTTPS certificate, naming `host`. */
  tls: { keyPem: string; certPem: string };
  /** The one address it listens on: loopback or the kind network's gateway, nothing wider. */
  host: string;
  policy: TokenPolicy;
  ttlSeconds?: number;
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export class TokenServer {
  readonly requests: TokenRequestRecord[] = [];
  private readonly users = new Map<string, TokenUser>();
  private readonly key: KeyObject;
  private readonly x5c: string[];
  private server: Server | undefined;
  private port = 0;

  constructor(readonly options: TokenServerOptions) {
    this.key = createPrivateKey(options.signing.keyPem);
    this.x5c = [options.signing.certPem, ...(options.signing.chainPems ?? [])].map(x5cOf);
  }

  /** The realm URL the registry's challenges name. */
  get realm(): string {
    if (!this.server) throw new Error('the token server is not listening');
    return `https://${this.options.host}:${this.port}/token`;
  }

  addUser(user: TokenUser): void {
    registerCredentials(user.username, user.password);
    this.users.set(user.username, user);
  }

  async listen(): Promise<void> {
    const server = createServer({ key: this.options.tls.keyPem, cert: this.options.tls.certPem }, (req, res) => {
      this.handle(req, res).catch((e: unknown) => this.reply(res, 500, { details: String(e) }));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) =>
        reject(
          new Error(
            `the token server cannot listen on ${this.options.host}: ${e.code ?? e.message}; the host must own the kind network's gateway address (as with docker on Linux, not a docker VM or rootless docker)`,
            { cause: e },
          ),
        ),
      );
      server.listen(0, this.options.host, () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Answers one token request: 200 with a token, 401 for wrong credentials, 400 for another service. */
  issue(o: {
    method: string;
    remoteAddress?: string;
    service: string | undefined;
    scopes: readonly string[];
    credentials: { username: string; password: string } | undefined;
  }): { status: number; body: Record<string, unknown> } {
    const requested = requestedScopes(o.scopes);
    const record = (status: number, account: string | undefined, granted: ResourceActions[] = []) =>
      this.requests.push({
        time: new Date(),
        method: o.method,
        remoteAddress: (o.remoteAddress ?? '').replace(/^::ffff:/, ''),
        account,
        requested,
        granted,
        status,
      });
    if (o.service !== undefined && o.service !== this.options.service) {
      record(400, o.credentials?.username);
      return {
        status: 400,
        body: { details: `this token server issues tokens for service "${this.options.service}", not "${o.service}"` },
      };
    }
    let user: TokenUser | undefined;
    if (o.credentials) {
      user = this.users.get(o.credentials.username);
      if (!user || !sameSecret(user.password, o.credentials.password)) {
        record(401, o.credentials.username);
        return { status: 401, body: { details: 'incorrect username or password' } };
      }
    }
    const granted = grantedAccess(requested, user, this.options.policy);
    const ttlSeconds = this.options.ttlSeconds ?? 300;
    const now = new Date();
    const claims = claimSet({
      issuer: this.options.issuer,
      service: this.options.service,
      subject: user?.username ?? '',
      access: granted,
      nowSeconds: Math.floor(now.getTime() / 1000),
      ttlSeconds,
    });
    const token = signJwt(claims, this.key, this.x5c);
    registerSecret(token);
    record(200, user?.username, granted);
    return { status: 200, body: { token, access_token: token, expires_in: ttlSeconds, issued_at: now.toISOString() } };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://token.invalid');
    if (url.pathname !== '/token') return this.reply(res, 404, { details: `no ${url.pathname} here: tokens are at /token` });
    if (req.method === 'GET') {
      const { status, body } = this.issue({
        method: 'GET',
        remoteAddress: req.socket.remoteAddress ?? '',
        service: url.searchParams.get('service') ?? undefined,
        scopes: url.searchParams.getAll('scope'),
        credentials: parseBasic(req.headers.authorization),
      });
      return this.reply(res, status, body);
    }
    if (req.method === 'POST') {
      // The OAuth2 password grant containerd tries first when it has credentials (docs: spec/auth/oauth).
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      if (form.get('grant_type') !== 'password')
        return this.reply(res, 400, { error: 'unsupported_grant_type', details: 'only grant_type=password' });
      const { status, body } = this.issue({
        method: 'POST',
        remoteAddress: req.socket.remoteAddress ?? '',
        service: form.get('service') ?? undefined,
        scopes: form.getAll('scope'),
        credentials: { username: form.get('username') ?? '', password: form.get('password') ?? '' },
      });
      return this.reply(res, status, body);
    }
    this.reply(res, 405, { details: `${req.method} is not a token request` });
  }

  private reply(res: ServerResponse, status: number, body: Record<string, unknown>): void {
    if (res.headersSent) return;
    res.writeHead(status, {
      'content-type': 'application/json',
      ...(status === 401 ? { 'www-authenticate': 'Basic realm="pullcheck token server"' } : {}),
    });
    res.end(JSON.stringify(body));
  }
}

/** What a registry needs to trust the token server: its config keys and the rootcertbundle file's content. */
export interface TokenAuth {
  server: TokenServer;
  realm: string;
  service: string;
  issuer: string;
  /** PEM of the token-signing CA: the registry's rootcertbundle. */
  rootCertBundle: string;
  close(): Promise<void>;
}

/**
 * Starts a token server for one registry: a signing CA of its own (so that no TLS certificate of
 * the suite's CA can sign tokens) and a leaf it signs with, HTTPS from the suite's CA (which the
 * nodes trust through the registry's hosts.toml: containerd fetches tokens with the registry host's
 * TLS settings), on `host`. Closed by `close()`, or on Ctrl-C.
 */
export async function startTokenAuth(o: {
  ca: CertificateAuthority;
  host: string;
  name: string;
  runId: string;
  policy: TokenPolicy;
  logger: Logger;
}): Promise<TokenAuth> {
  const signer = await createCA(`pullcheck token signer ${o.runId} ${o.name}`);
  try {
    const leaf = await issueServerCertificate(signer, [`pullcheck-token-signer-${o.name}`]);
    const tls = await issueServerCertificate(o.ca, [o.host]);
    const service = `pullcheck-registry-${o.runId}-${o.name}`;
    const issuer = `pullcheck-token-issuer-${o.runId}`;
    const server = new TokenServer({ issuer, service, signing: leaf, tls, host: o.host, policy: o.policy });
    await server.listen();
    const forget = onInterrupt(`token server of ${o.name}`, () => server.close());
    o.logger.detail(`token server for ${o.name} at ${server.realm}`);
    return {
      server,
      realm: server.realm,
      service,
      issuer,
      rootCertBundle: signer.certPem,
      close: async () => {
        forget();
        await server.close();
        rmSync(signer.dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(signer.dir, { recursive: true, force: true });
    throw error;
  }
}
