// Broken registries for the mutation kit (scripts/mutants.ts), never for a suite: a reverse proxy in
// front of an htpasswd registry, with one fault each.
// - `auth-on-ping-only`: asks for credentials on GET /v2/ only and adds the registry's own to every
//   other request, so a private repository's manifests and blobs are served to anyone while a ping
//   with no credentials is still refused (the loophole of a /v2/-only auth check).
// - `refuses-the-nodes`: an address allowlist that admits the host pullcheck pushes from and no
//   node (403 DENIED), as a registry whose firewall forgot the cluster's egress: every node fails
//   against it while pulling from pullcheck's own registries, so the fault is the registry's.

import { rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, request, type Server } from 'node:https';
import { type AddressInfo, connect, createServer as createTcpServer } from 'node:net';
import { onInterrupt } from '../infra/lifecycle.ts';
import type { Logger } from '../infra/log.ts';
import { createCA, issueServerCertificate } from './tls.ts';

export type ProxyFault = 'auth-on-ping-only' | 'refuses-the-nodes';

export interface FaultyProxy {
  /** https://host:port: what `--registry` takes. */
  url: string;
  host: string;
  /** The CA of the proxy's own certificate (`--registry-ca`). */
  caFile: string;
  stop(): Promise<void>;
}

/** The `/v2/` ping: the one route the auth-on-ping proxy guards. */
export function isPing(path: string): boolean {
  return path === '/v2/' || path === '/v2';
}

/** What the proxy does with one request before forwarding it (or instead). */
export type Decision =
  | { forward: true; addCredentials: boolean }
  | { forward: false; status: number; headers: Record<string, string>; body: string };

const UNAUTHORIZED: Decision = {
  forward: false,
  status: 401,
  headers: { 'www-authenticate': 'Basic realm="pullcheck"', 'content-type': 'application/json' },
  body: '{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
};

const DENIED: Decision = {
  forward: false,
  status: 403,
  headers: { 'content-type': 'application/json' },
  body: '{"errors":[{"code":"DENIED","message":"requested access to the resource is denied: this address is not allowed"}]}',
};

/** The fault's rule for one request; `host` is the address this host's own connections come from. */
export function decide(
  fault: ProxyFault,
  r: { path: string; authorization: string | undefined; remoteAddress: string; host: string },
): Decision {
  if (fault === 'auth-on-ping-only') {
    if (!isPing(r.path)) return { forward: true, addCredentials: true };
    return r.authorization ? { forward: true, addCredentials: false } : UNAUTHORIZED;
  }
  return r.remoteAddress.replace(/^::ffff:/, '') === r.host ? { forward: true, addCredentials: false } : DENIED;
}

const DESCRIPTION: Record<ProxyFault, string> = {
  'auth-on-ping-only': 'GET /v2/ wants credentials, nothing else does',
  'refuses-the-nodes': 'this host is allowed, every other address is denied (403)',
};

/**
 * The address this host's connections to `listenHost` come from: not the bridge's own address but
 * the one the kernel picks as source (on this machine its primary address), learned by connecting.
 */
export async function hostSourceAddress(listenHost: string): Promise<string> {
  const server = createTcpServer();
  const seen = new Promise<string>((resolve) =>
    server.once('connection', (socket) => {
      resolve(socket.remoteAddress ?? '');
      socket.destroy();
    }),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, listenHost, () => resolve());
  });
  const client = connect((server.address() as AddressInfo).port, listenHost);
  client.on('error', () => undefined);
  try {
    return (await seen).replace(/^::ffff:/, '');
  } finally {
    client.destroy();
    server.close();
  }
}

/**
 * Starts the proxy on `listenHost` (an address nodes and the host both reach: a docker network's
 * gateway), forwarding to `upstream` (host:port over TLS with `caPem`, Basic credentials).
 */
export async function startFaultyProxy(o: {
  fault: ProxyFault;
  upstream: { host: string; caPem: string; username: string; password: string };
  listenHost: string;
  logger: Logger;
}): Promise<FaultyProxy> {
  const ca = await createCA(`pullcheck ${o.fault} proxy`);
  const cert = await issueServerCertificate(ca, [o.listenHost]);
  const [upstreamHost, upstreamPort] = o.upstream.host.split(':');
  const hostAddress = await hostSourceAddress(o.listenHost);
  const basic = `Basic ${Buffer.from(`${o.upstream.username}:${o.upstream.password}`).toString('base64')}`;
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const path = req.url ?? '/';
    const d = decide(o.fault, {
      path,
      authorization: req.headers.authorization,
      remoteAddress: req.socket.remoteAddress ?? '',
      host: hostAddress,
    });
    if (!d.forward) {
      res.writeHead(d.status, d.headers);
      res.end(d.body);
      return;
    }
    // The client's Host header goes on, so that the registry's upload Locations name the proxy.
    const headers = { ...req.headers };
    if (d.addCredentials) headers.authorization = basic;
    const upstream = request(
      { host: upstreamHost, port: Number(upstreamPort ?? 443), method: req.method, path, headers, ca: o.upstream.caPem },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', (e) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`${o.fault} proxy: ${e.message}`);
    });
    req.pipe(upstream);
  };
  const server: Server = createServer({ key: cert.keyPem, cert: cert.certPem }, handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, o.listenHost, () => resolve());
  });
  const host = `${o.listenHost}:${(server.address() as AddressInfo).port}`;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    forget();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(ca.dir, { recursive: true, force: true });
  };
  const forget = onInterrupt(`the ${o.fault} proxy`, stop);
  o.logger.info(`${o.fault} proxy at https://${host} in front of ${o.upstream.host}: ${DESCRIPTION[o.fault]}`);
  return { url: `https://${host}`, host, caFile: ca.certFile, stop };
}
