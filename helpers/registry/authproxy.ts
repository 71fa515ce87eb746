// A broken registry for the mutation kit (scripts/mutants.ts), never for a suite: a reverse proxy in
// front of an htpasswd registry that asks for credentials on GET /v2/ only and adds the registry's
// own to every other request, so that a private repository's manifests and blobs are served to
// anyone while a ping with no credentials is still refused (the loophole of a /v2/-only auth check).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, request, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { rmSync } from 'node:fs';
import { onInterrupt } from '../infra/lifecycle.ts';
import type { Logger } from '../infra/log.ts';
import { createCA, issueServerCertificate } from './tls.ts';

export interface AuthOnPingProxy {
  /** https://host:port: what `--registry` takes. */
  url: string;
  host: string;
  /** The CA of the proxy's own certificate (`--registry-ca`). */
  caFile: string;
  stop(): Promise<void>;
}

/** The `/v2/` ping: the one route the proxy guards. */
export function isPing(path: string): boolean {
  return path === '/v2/' || path === '/v2';
}

/**
 * Starts the proxy on `listenHost` (an address nodes and the host both reach: a docker network's
 * gateway), forwarding to `upstream` (host:port over TLS with `caPem`, Basic credentials).
 */
export async function startAuthOnPingProxy(o: {
  upstream: { host: string; caPem: string; username: string; password: string };
  listenHost: string;
  logger: Logger;
}): Promise<AuthOnPingProxy> {
  const ca = await createCA('pullcheck auth-on-ping proxy');
  const cert = await issueServerCertificate(ca, [o.listenHost]);
  const [upstreamHost, upstreamPort] = o.upstream.host.split(':');
  const basic = `Basic ${Buffer.from(`${o.upstream.username}:${o.upstream.password}`).toString('base64')}`;
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const path = req.url ?? '/';
    // The client's Host header goes on, so that the registry's upload Locations name the proxy.
    const headers = { ...req.headers };
    if (!isPing(path)) headers.authorization = basic;
    else if (!req.headers.authorization) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="pullcheck"', 'content-type': 'application/json' });
      res.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
      return;
    }
    const upstream = request(
      { host: upstreamHost, port: Number(upstreamPort ?? 443), method: req.method, path, headers, ca: o.upstream.caPem },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', (e) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`auth-on-ping proxy: ${e.message}`);
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
  const forget = onInterrupt('the auth-on-ping proxy', stop);
  o.logger.info(`auth-on-ping proxy at https://${host} in front of ${o.upstream.host}: GET /v2/ wants credentials, nothing else does`);
  return { url: `https://${host}`, host, caFile: ca.certFile, stop };
}
