import { generateKeyPairSync, verify, X509Certificate } from 'node:crypto';
import { request } from 'node:https';
import { join } from 'node:path';
import YAML from 'yaml';
import { Logger } from '../helpers/infra/log.ts';
import { clearSecrets, redact } from '../helpers/infra/redact.ts';
import { registryConfig, TOKEN_PUBLIC_PREFIXES } from '../helpers/registry/registry.ts';
import { type CertificateAuthority, issueServerCertificate } from '../helpers/registry/tls.ts';
import {
  grantedAccess,
  ipv4Gateway,
  parseBasic,
  parseScope,
  requestedScopes,
  signJwt,
  startTokenAuth,
  type TokenAuth,
  TokenServer,
  type TokenUser,
} from '../helpers/registry/tokenserver.ts';
import { tempDirs, unitCAs } from './tempdirs.ts';

const newCA = unitCAs();

const policy = { publicPrefixes: TOKEN_PUBLIC_PREFIXES };
const admin: TokenUser = { username: 'admin', password: 'admin-pw-123', grants: [{ repository: '*', actions: ['*'] }] };
const tenantA: TokenUser = { username: 'tenant-a', password: 'tenant-a-pw', grants: [{ repository: 'team-a/', actions: ['pull'] }] };

describe('token server: scopes and grants', () => {
  it('parses repository scopes, names with slashes, and several scopes in one POST value', () => {
    expect(parseScope('repository:team-a/app:pull,push')).toEqual({ type: 'repository', name: 'team-a/app', actions: ['pull', 'push'] });
    expect(parseScope('repository(plugin):x/y:pull')).toEqual({ type: 'repository', name: 'x/y', actions: ['pull'] });
    expect(parseScope('registry:catalog:*')).toEqual({ type: 'registry', name: 'catalog', actions: ['*'] });
    expect(parseScope('repository:nothing')).toBeUndefined();
    expect(parseScope('garbage')).toBeUndefined();
    expect(requestedScopes(['repository:a:pull repository:b:pull,push', 'bad'])).toEqual([
      { type: 'repository', name: 'a', actions: ['pull'] },
      { type: 'repository', name: 'b', actions: ['pull', 'push'] },
    ]);
  });

  it('grants an authenticated user what its grants allow, and nothing for another repository', () => {
    const asked = requestedScopes(['repository:team-a/app:pull,push', 'repository:team-b/app:pull']);
    expect(grantedAccess(asked, tenantA, policy)).toEqual([
      { type: 'repository', name: 'team-a/app', actions: ['pull'] },
      { type: 'repository', name: 'team-b/app', actions: [] },
    ]);
    expect(grantedAccess(asked, admin, policy)).toEqual([
      { type: 'repository', name: 'team-a/app', actions: ['pull', 'push'] },
      { type: 'repository', name: 'team-b/app', actions: ['pull'] },
    ]);
    // An exact grant is not a prefix: team-a/app does not cover team-a/app2.
    const exact: TokenUser = { ...tenantA, grants: [{ repository: 'team-a/app', actions: ['pull'] }] };
    expect(grantedAccess(requestedScopes(['repository:team-a/app2:pull']), exact, policy)[0]?.actions).toEqual([]);
  });

  it('gives anonymous requests pull under the public prefix only, never push', () => {
    const asked = requestedScopes(['repository:public/app:pull,push', 'repository:private/app:pull', 'repository:publicity:pull']);
    expect(grantedAccess(asked, undefined, policy).map((a) => a.actions)).toEqual([['pull'], [], []]);
  });

  it('reads Basic credentials, passwords with colons included', () => {
    const header = `Basic ${Buffer.from('alice:pa:ss').toString('base64')}`;
    expect(parseBasic(header)).toEqual({ username: 'alice', password: 'pa:ss' });
    expect(parseBasic('Bearer abc')).toBeUndefined();
    expect(parseBasic(undefined)).toBeUndefined();
  });

  it('picks the IPv4 gateway of a dual-stack docker network', () => {
    const json = '[{"Subnet":"fc00:8072:17f1:e719::/64"},{"Subnet":"172.18.0.0/16","Gateway":"172.18.0.1"}]';
    expect(ipv4Gateway(json)).toBe('172.18.0.1');
    expect(ipv4Gateway('[{"Subnet":"fc00::/64","Gateway":"fc00::1"}]')).toBeUndefined();
    expect(ipv4Gateway('null')).toBeUndefined();
  });

  it('signs RS256 with an RSA key, verifiable with its public key', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwt = signJwt({ sub: 'x' }, privateKey, []);
    const [h, p, sig] = jwt.split('.') as [string, string, string];
    expect(JSON.parse(Buffer.from(h, 'base64url').toString())).toMatchObject({ alg: 'RS256', typ: 'JWT' });
    expect(verify('sha256', Buffer.from(`${h}.${p}`), publicKey, Buffer.from(sig, 'base64url'))).toBe(true);
  });

  it('writes the registry config distribution reads for token auth', () => {
    const config = YAML.parse(
      registryConfig('token', true, { realm: 'https://172.18.0.1:4443/token', service: 'svc', issuer: 'iss' }),
    ) as Record<string, Record<string, unknown>>;
    expect(config['auth']).toEqual({
      token: { realm: 'https://172.18.0.1:4443/token', service: 'svc', issuer: 'iss', rootcertbundle: '/auth/token-root.crt' },
    });
    expect(() => registryConfig('token')).toThrow(/realm/);
  });
});

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

function call(realm: string, ca: string, o: { method?: string; query?: string; auth?: string; form?: string }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const url = new URL(`${realm}${o.query ?? ''}`);
    const req = request(
      url,
      {
        method: o.method ?? 'GET',
        ca,
        headers: {
          ...(o.auth ? { authorization: o.auth } : {}),
          ...(o.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString() || '{}') as Record<string, unknown> }),
        );
      },
    );
    req.on('error', reject);
    req.end(o.form);
  });
}

const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

/** Verifies a JWT the way distribution does, with node:crypto: x5c leaf chains to the root, signature by the leaf. */
function verifyLikeDistribution(token: string, rootPem: string): { header: Record<string, unknown>; claims: Record<string, unknown> } {
  const [h, p, sig] = token.split('.') as [string, string, string];
  const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as { alg: string; x5c: string[] };
  const leaf = new X509Certificate(Buffer.from(header.x5c[0] ?? '', 'base64'));
  const root = new X509Certificate(rootPem);
  if (!leaf.checkIssued(root) || !leaf.verify(root.publicKey)) throw new Error('x5c leaf does not chain to the root');
  const ok = verify('sha256', Buffer.from(`${h}.${p}`), { key: leaf.publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(sig, 'base64url'));
  if (!ok) throw new Error('signature does not verify with the x5c leaf');
  return { header, claims: JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown> };
}

describe('token server: a round trip on loopback', () => {
  let ca: CertificateAuthority;
  const tmp = tempDirs('pullcheck-unit-');
  let auth: TokenAuth;
  let server: TokenServer;
  const query = (scope: string) => `?service=${encodeURIComponent(auth.service)}&scope=${encodeURIComponent(scope)}`;

  beforeAll(async () => {
    ca = await newCA('unit token CA');
    const logger = new Logger(join(tmp(), 'token.log'));
    auth = await startTokenAuth({ ca, host: '127.0.0.1', name: 'unit', runId: 'abc123', policy, logger });
    server = auth.server;
    server.addUser(admin);
    server.addUser(tenantA);
  });

  afterAll(async () => {
    await auth.close();
    clearSecrets();
  });

  it('issues an ES256 token with x5c that verifies against the rootcertbundle, with the claims distribution checks', async () => {
    expect(auth.realm).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/token$/);
    const res = await call(auth.realm, ca.certPem, {
      query: query('repository:team-a/app:pull,push'),
      auth: basic('admin', admin.password),
    });
    expect(res.status).toBe(200);
    const token = String(res.body['token']);
    expect(res.body['access_token']).toBe(token);
    expect(res.body['expires_in']).toBe(300);
    const { header, claims } = verifyLikeDistribution(token, auth.rootCertBundle);
    expect(header['alg']).toBe('ES256');
    expect(claims).toMatchObject({
      iss: auth.issuer,
      aud: auth.service,
      sub: 'admin',
      access: [{ type: 'repository', name: 'team-a/app', actions: ['pull', 'push'] }],
    });
    const now = Date.now() / 1000;
    expect(Number(claims['exp'])).toBeGreaterThan(now);
    expect(Number(claims['nbf'])).toBeLessThanOrEqual(now);
    // The token is a secret like any password: logs never show it.
    expect(redact(`got ${token}`)).toBe('got ***');
  });

  it('does not verify against another CA (the suite TLS CA is not the rootcertbundle)', async () => {
    const res = await call(auth.realm, ca.certPem, { query: query('repository:a:pull'), auth: basic('admin', admin.password) });
    expect(() => verifyLikeDistribution(String(res.body['token']), ca.certPem)).toThrow(/chain/);
  });

  it('answers the OAuth2 password grant (containerd POSTs first)', async () => {
    const form = new URLSearchParams({
      grant_type: 'password',
      username: 'tenant-a',
      password: tenantA.password,
      service: auth.service,
      scope: 'repository:team-a/app:pull',
      client_id: 'containerd-client',
    }).toString();
    const res = await call(auth.realm, ca.certPem, { method: 'POST', form });
    expect(res.status).toBe(200);
    expect(verifyLikeDistribution(String(res.body['access_token']), auth.rootCertBundle).claims['access']).toEqual([
      { type: 'repository', name: 'team-a/app', actions: ['pull'] },
    ]);
    const wrong = await call(auth.realm, ca.certPem, { method: 'POST', form: form.replace(/password=[^&]*&/, 'password=nope&') });
    expect(wrong.status).toBe(401);
  });

  it('refuses a wrong password or an unknown user with 401, and another service with 400', async () => {
    expect((await call(auth.realm, ca.certPem, { query: query('repository:x:pull'), auth: basic('admin', 'wrong') })).status).toBe(401);
    expect((await call(auth.realm, ca.certPem, { query: query('repository:x:pull'), auth: basic('nobody', 'x') })).status).toBe(401);
    expect((await call(auth.realm, ca.certPem, { query: '?service=other&scope=repository:x:pull' })).status).toBe(400);
    const refused = server.requests.filter((r) => r.status === 401);
    expect(refused.map((r) => r.account)).toEqual(expect.arrayContaining(['admin', 'nobody']));
  });

  it('gives a user restricted to one prefix an empty access for another repository', async () => {
    const res = await call(auth.realm, ca.certPem, {
      query: query('repository:team-b/app:pull'),
      auth: basic('tenant-a', tenantA.password),
    });
    expect(res.status).toBe(200);
    expect(verifyLikeDistribution(String(res.body['token']), auth.rootCertBundle).claims['access']).toEqual([
      { type: 'repository', name: 'team-b/app', actions: [] },
    ]);
  });

  it('issues anonymous pull tokens for the public prefix and empty ones elsewhere', async () => {
    const pub = await call(auth.realm, ca.certPem, { query: query('repository:public/app:pull,push') });
    expect(verifyLikeDistribution(String(pub.body['token']), auth.rootCertBundle).claims).toMatchObject({
      sub: '',
      access: [{ type: 'repository', name: 'public/app', actions: ['pull'] }],
    });
    const priv = await call(auth.realm, ca.certPem, { query: query('repository:team-a/app:pull') });
    expect(verifyLikeDistribution(String(priv.body['token']), auth.rootCertBundle).claims['access']).toEqual([
      { type: 'repository', name: 'team-a/app', actions: [] },
    ]);
    expect(server.requests.at(-1)).toMatchObject({ account: undefined, status: 200 });
  });

  it('serves only /token, over TLS from the suite CA', async () => {
    expect((await call(auth.realm.replace('/token', '/other'), ca.certPem, {})).status).toBe(404);
    await expect(call(auth.realm, (await newCA('another CA')).certPem, {})).rejects.toThrow(/certificate|self[- ]signed|verify/i);
  });
});

describe('token server: signing material', () => {
  it('says which address it could not listen on, and why that address', async () => {
    const ca = await newCA('unit listen CA');
    const tls = await issueServerCertificate(ca, ['192.0.2.123']);
    const signing = await issueServerCertificate(ca, ['signer']);
    const server = new TokenServer({ issuer: 'i', service: 's', signing, tls, host: '192.0.2.123', policy });
    await expect(server.listen()).rejects.toThrow(
      /cannot listen on 192\.0\.2\.123: EADDRNOTAVAIL; the host must own the kind network's gateway/,
    );
  });

  it('rejects a key type distribution would not take from us', async () => {
    const ca = await newCA('unit ed CA');
    const tls = await issueServerCertificate(ca, ['127.0.0.1']);
    const { privateKey } = generateKeyPairSync('ed25519');
    const server = new TokenServer({
      issuer: 'i',
      service: 's',
      signing: { keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), certPem: tls.certPem },
      tls,
      host: '127.0.0.1',
      policy,
    });
    expect(() => server.issue({ method: 'GET', service: 's', scopes: [], credentials: undefined })).toThrow(/only EC P-256 and RSA/);
  });
});
