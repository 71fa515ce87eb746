// The registry client against in-process fake registries (node:http, node:https): each speaks one
// path of the distribution protocol, records what it was sent, and the test judges the exchange.
import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { answerWord } from '../helpers/framework/observe.ts';
import { sha256 } from '../helpers/images/oci.ts';
import {
  DEFAULT_RETRY_AFTER_MS,
  isNotFound,
  MAX_RETRY_AFTER_MS,
  parseChallenges,
  RATE_LIMIT_RETRIES,
  RateLimitedError,
  RegistryClient,
  RegistryError,
  retryAfterMs,
} from '../helpers/registry/client.ts';
import { issueServerCertificate } from '../helpers/registry/tls.ts';
import { unitCAs } from './tempdirs.ts';

const newCA = unitCAs();

interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
  body: Buffer;
}

interface Fake {
  host: string;
  url: string;
  seen: Seen[];
}

type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;

const servers: Server[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** A server on a free port that reads each body, records the request and hands it to `handle`. */
async function serve(handle: Handler, tls?: { key: string; cert: string }): Promise<Fake> {
  const seen: Seen[] = [];
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization, body });
      handle(req, res, body);
    });
  };
  const server = tls ? createHttpsServer(tls, listener) : createHttpServer(listener);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { host, url: `${tls ? 'https' : 'http'}://${host}`, seen };
}

function reply(res: ServerResponse, status: number, headers: Record<string, string> = {}, body: Buffer | string = ''): void {
  res.writeHead(status, headers);
  res.end(body);
}

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const MANIFEST = Buffer.from('{"schemaVersion":2}');

/** A token server: grants `token` to requests whose Authorization is `expect` (undefined: anonymous). */
function tokenServer(expect: string | undefined, answer: Record<string, unknown>, tls?: { key: string; cert: string }) {
  return serve((req, res) => {
    if (req.headers.authorization !== expect) return reply(res, 401, {}, '{"errors":[{"code":"UNAUTHORIZED"}]}');
    reply(res, 200, { 'content-type': 'application/json' }, JSON.stringify(answer));
  }, tls);
}

/** A registry serving MANIFEST at /v2/<repo>/manifests/*, to the Bearer `token` only. */
function bearerRegistry(realm: string, token: string, tls?: { key: string; cert: string }) {
  return serve((req, res) => {
    const repo = /^\/v2\/(.+)\/manifests\//.exec(req.url ?? '')?.[1] ?? '';
    if (req.headers.authorization !== `Bearer ${token}`)
      return reply(res, 401, {
        'www-authenticate': `Bearer realm="${realm}",service="fake registry",scope="repository:${repo}:pull",error="invalid_token"`,
      });
    reply(res, 200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }, MANIFEST);
  }, tls);
}

describe('WWW-Authenticate', () => {
  it('parses several challenges, quoted commas and escapes', () => {
    expect(
      parseChallenges(
        'Bearer realm="https://auth.example/token",service="reg.example",scope="repository:a/b:pull,push repository:c:pull", Basic realm="say \\"hi\\""',
      ),
    ).toEqual([
      {
        scheme: 'bearer',
        params: { realm: 'https://auth.example/token', service: 'reg.example', scope: 'repository:a/b:pull,push repository:c:pull' },
      },
      { scheme: 'basic', params: { realm: 'say "hi"' } },
    ]);
    expect(parseChallenges('basic realm=pullcheck')).toEqual([{ scheme: 'basic', params: { realm: 'pullcheck' } }]);
  });
});

describe('Bearer tokens', () => {
  it('a client without credentials gets an anonymous token for a public repository', async () => {
    const auth = await tokenServer(undefined, { token: 'anon-token' });
    const registry = await bearerRegistry(`${auth.url}/token`, 'anon-token');
    const client = new RegistryClient({ host: registry.host, insecure: true });
    expect((await client.getManifest('library/pub', 'v1', ['*/*'])).bytes).toEqual(MANIFEST);
    expect(auth.seen).toHaveLength(1);
    const asked = new URL(auth.seen[0]?.url ?? '', auth.url);
    expect(asked.searchParams.get('service')).toBe('fake registry');
    expect(asked.searchParams.getAll('scope')).toEqual(['repository:library/pub:pull']);
    expect(auth.seen[0]?.authorization).toBeUndefined();
  });

  it('with credentials, the token comes from the realm with Basic (access_token accepted)', async () => {
    const auth = await tokenServer(basic('alice', 'pw-alice'), { access_token: 'alice-token', expires_in: 300 });
    const registry = await bearerRegistry(`${auth.url}/token`, 'alice-token');
    const client = new RegistryClient({ host: registry.host, insecure: true, username: 'alice', password: 'pw-alice' });
    expect((await client.getManifest('team/app', 'v1', ['*/*'])).bytes).toEqual(MANIFEST);
    expect(auth.seen.map((s) => s.authorization)).toEqual([basic('alice', 'pw-alice')]);
    // The registry saw the token, never the password.
    expect(registry.seen.map((s) => s.authorization)).toEqual([undefined, 'Bearer alice-token']);
  });

  it('a wrong password refused at the token endpoint is a RegistryError 401 naming the realm host', async () => {
    const auth = await tokenServer(basic('alice', 'right-pw'), { token: 'never' });
    const registry = await bearerRegistry(`${auth.url}/token`, 'never');
    const client = new RegistryClient({ host: registry.host, insecure: true, username: 'alice', password: 'wrong-pw-123' });
    const error = await client.ping().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryError);
    expect(error).toMatchObject({ status: 401 });
    const message = (error as Error).message;
    expect(message).toContain(auth.host);
    expect(message).toContain('401');
    expect(message).not.toContain('\n');
    expect(message).not.toContain('wrong-pw-123');
    expect(message).not.toContain(Buffer.from('alice:wrong-pw-123').toString('base64'));
  });

  it('a token is reused for its scope until expires_in runs out', async () => {
    const auth = await tokenServer(undefined, { token: 'short-lived', expires_in: 1 });
    const registry = await bearerRegistry(`${auth.url}/token`, 'short-lived');
    const client = new RegistryClient({ host: registry.host, insecure: true });
    await client.getManifest('pub', 'v1', ['*/*']);
    await client.getManifest('pub', 'v2', ['*/*']);
    // One challenge, one token; the second request carried the cached token at once.
    expect(auth.seen).toHaveLength(1);
    expect(registry.seen.map((s) => s.authorization)).toEqual([undefined, 'Bearer short-lived', 'Bearer short-lived']);
    // Another repository is another scope.
    await client.getManifest('other', 'v1', ['*/*']);
    expect(auth.seen).toHaveLength(2);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await client.getManifest('pub', 'v3', ['*/*']);
    expect(auth.seen).toHaveLength(3);
  });

  it('a Basic challenge without credentials is a RegistryError 401', async () => {
    const registry = await serve((_req, res) => reply(res, 401, { 'www-authenticate': 'Basic realm="pullcheck"' }));
    await expect(new RegistryClient({ host: registry.host, insecure: true }).ping()).rejects.toMatchObject({ status: 401 });
  });

  it('over TLS, the realm on another host verifies with the run CA', async () => {
    const ca = await newCA('registry client unit CA');
    const cert = await issueServerCertificate(ca, ['127.0.0.1']);
    const tls = { key: cert.keyPem, cert: cert.certPem };
    const auth = await tokenServer(undefined, { token: 'tls-token' }, tls);
    const registry = await bearerRegistry(`${auth.url}/token`, 'tls-token', tls);
    const client = new RegistryClient({ host: registry.host, ca: ca.certPem });
    expect((await client.getManifest('pub', 'v1', ['*/*'])).bytes).toEqual(MANIFEST);
    expect(auth.seen).toHaveLength(1);
  });
});

/** A registry taking uploads (Basic alice:pw): POST answers 202 with `location(uuid)`; blobs kept per repository. */
async function uploadRegistry(o: { location?: (uuid: string) => string; mount?: boolean } = {}) {
  const blobs = new Map<string, Buffer>(); // `${repo}@${digest}`
  const uploads = new Map<string, Buffer>();
  let next = 0;
  const registry = await serve((req, res, body) => {
    if (req.headers.authorization !== basic('alice', 'pw')) return reply(res, 401, { 'www-authenticate': 'Basic realm="fake"' });
    const url = new URL(req.url ?? '', 'http://x');
    const blob = /^\/v2\/(.+)\/blobs\/(sha256:\w+)$/.exec(url.pathname);
    if (blob && req.method === 'HEAD') return reply(res, blobs.has(`${blob[1]}@${blob[2]}`) ? 200 : 404);
    const start = /^\/v2\/(.+)\/blobs\/uploads\/$/.exec(url.pathname);
    if (start && req.method === 'POST') {
      const digest = url.searchParams.get('mount');
      const from = blobs.get(`${url.searchParams.get('from')}@${digest}`);
      if (o.mount && from) {
        blobs.set(`${start[1]}@${digest}`, from);
        return reply(res, 201, { location: `/v2/${start[1]}/blobs/${digest}` });
      }
      const uuid = `u${next++}`;
      uploads.set(uuid, Buffer.alloc(0));
      return reply(res, 202, { location: o.location?.(uuid) ?? `/v2/${start[1]}/blobs/uploads/${uuid}?_state=s-${uuid}`, range: '0-0' });
    }
    const put = /^\/v2\/(.+)\/blobs\/uploads\/(\w+)$/.exec(url.pathname);
    if (put && req.method === 'PUT') {
      const digest = url.searchParams.get('digest') ?? '';
      const bytes = Buffer.concat([uploads.get(put[2] ?? '') ?? Buffer.alloc(0), body]);
      if (sha256(bytes) !== digest) return reply(res, 400, {}, 'DIGEST_INVALID');
      blobs.set(`${put[1]}@${digest}`, bytes);
      return reply(res, 201, { location: `/v2/${put[1]}/blobs/${digest}` });
    }
    reply(res, 404);
  });
  const client = new RegistryClient({ host: registry.host, insecure: true, username: 'alice', password: 'pw' });
  return { registry, blobs, client };
}

describe('uploads', () => {
  it('a relative Location is resolved against the registry, its query kept, credentials sent', async () => {
    const { registry, blobs, client } = await uploadRegistry();
    const bytes = Buffer.from('relative location blob');
    await client.pushBlob('r', sha256(bytes), bytes);
    expect(blobs.get(`r@${sha256(bytes)}`)).toEqual(bytes);
    const put = registry.seen.find((s) => s.method === 'PUT');
    expect(put?.url).toBe(`/v2/r/blobs/uploads/u0?_state=s-u0&digest=${encodeURIComponent(sha256(bytes))}`);
    expect(put?.authorization).toBe(basic('alice', 'pw'));
  });

  it('an absolute Location on another port is used as is, without the Authorization header', async () => {
    const received: Buffer[] = [];
    const storage = await serve((_req, res, body) => {
      received.push(body);
      reply(res, 201);
    });
    const { client } = await uploadRegistry({ location: (uuid) => `${storage.url}/upload/${uuid}?state=opaque%2Bsig` });
    const bytes = Buffer.from('absolute location blob');
    await client.pushBlob('r', sha256(bytes), bytes);
    expect(storage.seen).toHaveLength(1);
    expect(storage.seen[0]?.method).toBe('PUT');
    expect(storage.seen[0]?.url).toBe(`/upload/u0?state=opaque%2Bsig&digest=${encodeURIComponent(sha256(bytes))}`);
    expect(storage.seen[0]?.authorization).toBeUndefined();
    expect(received[0]).toEqual(bytes);
  });

  it('a blob pushed to one repository is mounted into the next (201: nothing uploaded)', async () => {
    const { registry, blobs, client } = await uploadRegistry({ mount: true });
    const bytes = Buffer.from('shared base layer');
    const digest = sha256(bytes);
    await client.pushBlob('team/a', digest, bytes);
    const before = registry.seen.length;
    await client.pushBlob('team/b', digest, bytes);
    const mine = registry.seen.slice(before).filter((s) => s.authorization);
    expect(mine.map((s) => `${s.method} ${s.url}`)).toEqual([
      `HEAD /v2/team/b/blobs/${digest}`,
      `POST /v2/team/b/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent('team/a')}`,
    ]);
    expect(blobs.get(`team/b@${digest}`)).toEqual(bytes);
  });

  it('a mount the registry declines (202) falls back to an upload at the Location it returned', async () => {
    const { registry, blobs, client } = await uploadRegistry({ mount: false });
    const bytes = Buffer.from('layer the registry will not mount');
    const digest = sha256(bytes);
    await client.pushBlob('a', digest, bytes);
    await client.pushBlob('b', digest, bytes);
    const calls = registry.seen.filter((s) => s.authorization).map((s) => `${s.method} ${s.url}`);
    expect(calls).toContain(`POST /v2/b/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=a`);
    expect(calls.at(-1)).toBe(`PUT /v2/b/blobs/uploads/u1?_state=s-u1&digest=${encodeURIComponent(digest)}`);
    expect(blobs.get(`b@${digest}`)).toEqual(bytes);
  });

  it('a PATCH cut by a reset (or a 5xx) resumes from what the upload holds, not from zero', async () => {
    const CHUNK = 64 * 1024;
    const blob = randomBytes(4 * CHUNK + 123);
    const digest = sha256(blob);
    let held = Buffer.alloc(0);
    const ranges: string[] = [];
    let patches = 0;
    const server = createHttpServer((req, res) => {
      const url = new URL(req.url ?? '', 'http://x');
      if (req.method === 'POST') return reply(res, 202, { location: '/v2/big/blobs/uploads/u?_state=0' });
      if (req.method === 'GET')
        return reply(res, 204, { range: `0-${held.length - 1}`, location: `/v2/big/blobs/uploads/u?_state=${held.length}` });
      if (req.method === 'HEAD') return reply(res, 404);
      const chunks: Buffer[] = [];
      const n = ++patches;
      let cut = false;
      if (req.method === 'PATCH') {
        const range = String(req.headers['content-range']);
        ranges.push(range);
        if (Number(range.split('-')[0]) !== held.length) return reply(res, 416);
        req.on('data', (c: Buffer) => {
          chunks.push(c);
          // The second PATCH: 10000 bytes arrive, then the connection drops.
          if (n === 2 && !cut && Buffer.concat(chunks).length >= 10_000) {
            cut = true;
            held = Buffer.concat([held, Buffer.concat(chunks).subarray(0, 10_000)]);
            req.socket.destroy();
          }
        });
        req.on('end', () => {
          const body = Buffer.concat(chunks);
          // The fourth: 5000 bytes kept, then a 502 from a proxy.
          if (n === 4) {
            held = Buffer.concat([held, body.subarray(0, 5000)]);
            return reply(res, 502);
          }
          held = Buffer.concat([held, body]);
          reply(res, 202, { range: `0-${held.length - 1}`, location: `/v2/big/blobs/uploads/u?_state=${held.length}` });
        });
        return;
      }
      req.resume();
      req.on('end', () => reply(res, sha256(held) === url.searchParams.get('digest') ? 201 : 400));
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = new RegistryClient({ host: `127.0.0.1:${(server.address() as AddressInfo).port}`, insecure: true, chunkSize: CHUNK });
    await client.pushBlob('big', digest, blob);
    expect(held.equals(blob)).toBe(true);
    const starts = ranges.map((r) => Number(r.split('-')[0]));
    expect(starts.slice(0, 3)).toEqual([0, CHUNK, CHUNK + 10_000]);
    // After the 502, again from what the upload held: never back to an earlier offset.
    expect(starts[4]).toBe((starts[3] as number) + 5000);
    expect(starts.every((s, i) => i === 0 || s > (starts[i - 1] as number))).toBe(true);
  });
});

describe('redirects', () => {
  it('a blob GET redirected to another server is followed without the Authorization, and its digest checked', async () => {
    const bytes = Buffer.from('blob served by object storage');
    const digest = sha256(bytes);
    const cdn = await serve((req, res) => {
      if (req.url?.startsWith('/hop')) return reply(res, 302, { location: `/object?sig=abc` });
      reply(res, 200, {}, req.url === '/object?sig=abc' ? bytes : 'tampered');
    });
    const registry = await serve((req, res) => {
      if (req.headers.authorization !== basic('alice', 'pw')) return reply(res, 401, { 'www-authenticate': 'Basic realm="fake"' });
      reply(res, 307, { location: req.url?.includes(digest) ? `${cdn.url}/hop` : `${cdn.url}/wrong` });
    });
    const client = new RegistryClient({ host: registry.host, insecure: true, username: 'alice', password: 'pw' });
    expect(await client.getBlob('r', digest)).toEqual(bytes);
    expect(cdn.seen.map((s) => [s.url, s.authorization])).toEqual([
      ['/hop', undefined],
      ['/object?sig=abc', undefined],
    ]);
    const other = sha256('other');
    await expect(client.getBlob('r', other)).rejects.toThrow(/has digest sha256:/);
  });

  it('a blob HEAD answered with a redirect means the blob is there: the storage host is not asked', async () => {
    const registry = await serve((_req, res) => reply(res, 307, { location: 'https://blobs.invalid/data' }));
    const client = new RegistryClient({ host: registry.host, insecure: true });
    expect(await client.blobExists('r', sha256('x'))).toBe(true);
    expect(registry.seen.map((r) => r.method)).toEqual(['HEAD']);
  });

  it('more than five redirects is an error', async () => {
    const loop = await serve((_req, res) => reply(res, 302, { location: '/again' }));
    const client = new RegistryClient({ host: loop.host, insecure: true });
    await expect(client.getBlob('r', sha256('x'))).rejects.toThrow(/more than 5 redirects/);
    expect(loop.seen).toHaveLength(6);
  });
});

describe('a deleted tag is gone', () => {
  it('only when the registry answers 404: a refusal, a server error or no answer says nothing of the tag', () => {
    expect(isNotFound(new RegistryError('get manifest x:t: HTTP 404', 404))).toBe(true);
    expect(isNotFound(new RegistryError('get manifest x:t: HTTP 401', 401))).toBe(false);
    expect(isNotFound(new RegistryError('GET /v2/x/manifests/t: HTTP 503', 503))).toBe(false);
    expect(isNotFound(new RegistryError('registry stored x:t as sha256:1, expected sha256:2'))).toBe(false);
    expect(isNotFound(new Error('ECONNRESET'))).toBe(false);
  });
});

describe('what a scenario records of the exchange', () => {
  it("every answer, the token realm's included, in order: GET manifest 401 → GET token 200 → GET manifest 200", async () => {
    const auth = await tokenServer(undefined, { token: 'anon-token' });
    const registry = await bearerRegistry(`${auth.url}/token`, 'anon-token');
    const words: string[] = [];
    const origin = `http://${registry.host}`;
    const client = new RegistryClient({
      host: registry.host,
      insecure: true,
      onAnswer: (a) => words.push(answerWord(a, origin)),
    });
    await client.getManifest('library/pub', 'v1', ['*/*']);
    await client.getManifest('library/pub', 'v2', ['*/*']);
    expect(words).toEqual(['GET manifest 401', 'GET token 200', 'GET manifest 200', 'GET manifest 200']);
  });
});

describe('rate limits (429 with Retry-After)', () => {
  it('reads Retry-After as seconds or an HTTP-date, capped, with a default when absent or unreadable', () => {
    const now = Date.parse('2026-12-05T00:00:00Z');
    expect(retryAfterMs('2', now)).toBe(2_000);
    expect(retryAfterMs(['0'], now)).toBe(0);
    expect(retryAfterMs('Sat, 05 Dec 2026 00:00:03 GMT', now)).toBe(3_000);
    expect(retryAfterMs('Fri, 04 Dec 2026 23:59:00 GMT', now)).toBe(0);
    expect(retryAfterMs('86400', now)).toBe(MAX_RETRY_AFTER_MS);
    expect(retryAfterMs(undefined, now)).toBe(DEFAULT_RETRY_AFTER_MS);
    expect(retryAfterMs('soon', now)).toBe(DEFAULT_RETRY_AFTER_MS);
  });

  it('waits out a 429 as long as its Retry-After says, then asks again and gets the answer', async () => {
    let refused = 0;
    const fake = await serve((_req, res) => {
      if (refused++ < 2)
        reply(res, 429, { 'retry-after': '1', 'content-type': 'application/json' }, '{"errors":[{"code":"TOOMANYREQUESTS"}]}');
      else reply(res, 200, { 'content-type': 'application/json' }, '{}');
    });
    const client = new RegistryClient({ host: fake.host, insecure: true });
    const started = Date.now();
    const res = await client.fetch('GET', '/v2/');
    expect(res.status).toBe(200);
    expect(fake.seen).toHaveLength(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_900);
  });

  it('a registry that keeps answering 429 is a RateLimitedError naming its code and Retry-After, after RATE_LIMIT_RETRIES waits', async () => {
    const fake = await serve((_req, res) => reply(res, 429, { 'retry-after': '0' }, '{"errors":[{"code":"TOOMANYREQUESTS"}]}'));
    const error = await new RegistryClient({ host: fake.host, insecure: true })
      .fetch('POST', '/v2/a/blobs/uploads/?x=1')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error).toMatchObject({
      status: 429,
      registry: fake.host,
      detail: '429 TOOMANYREQUESTS, Retry-After 0',
      message: `${fake.host} rate-limited pullcheck: POST /v2/a/blobs/uploads/ answered 429 TOOMANYREQUESTS, Retry-After 0 after ${RATE_LIMIT_RETRIES} wait(s) as its Retry-After said`,
    });
    expect(fake.seen).toHaveLength(RATE_LIMIT_RETRIES + 1);
  });
});
