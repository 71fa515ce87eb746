import { createServer, get, type RequestOptions, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { kubeFromString } from '../helpers/cluster/kube.ts';
import { issueServerCertificate } from '../helpers/registry/tls.ts';
import { unitCAs } from './tempdirs.ts';

const newCA = unitCAs();

// An API server stand-in on loopback that counts connections and full TLS handshakes: the clients
// pullcheck makes keep one connection alive, not a new one for every request as client-node's own
// agents do; watches and logs (node-fetch 2, no keep-alive) resume the last TLS session.
describe('API clients', () => {
  let server: Server;
  let handshakes = 0;
  let resumed = 0;
  let requests = 0;
  // The server closes the connection as the request numbered this arrives on it, unanswered.
  let dropRequest = 0;
  let kubeconfig = '';

  beforeAll(async () => {
    const ca = await newCA('unit CA');
    const cert = await issueServerCertificate(ca, ['127.0.0.1']);
    server = createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
      requests += 1;
      if (requests === dropRequest) {
        req.socket.destroy();
        return;
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ kind: 'NamespaceList', apiVersion: 'v1', metadata: {}, items: [] }));
    });
    server.on('secureConnection', (socket) => {
      if (socket.isSessionReused()) resumed += 1;
      else handshakes += 1;
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const { port } = server.address() as AddressInfo;
    const caData = Buffer.from(ca.certPem).toString('base64');
    kubeconfig = JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster: { server: `https://127.0.0.1:${port}`, 'certificate-authority-data': caData } }],
      users: [{ name: 'u', user: { token: 'unit-token' } }],
      contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'ctx',
    });
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((done) => server.close(done));
  });

  beforeEach(() => {
    handshakes = 0;
    resumed = 0;
    requests = 0;
    dropRequest = 0;
  });

  it('keep one connection alive for request after request: one handshake', async () => {
    const kube = kubeFromString(kubeconfig);
    for (let i = 0; i < 5; i++) expect((await kube.core.listNamespace()).items).toEqual([]);
    expect({ handshakes, resumed, requests }).toEqual({ handshakes: 1, resumed: 0, requests: 5 });
  });

  it('send a request once more on a new connection when the server closed the kept-alive one as it went out', async () => {
    const kube = kubeFromString(kubeconfig);
    expect((await kube.core.listNamespace()).items).toEqual([]);
    dropRequest = 2;
    const created = await kube.core.createNamespace({ body: { metadata: { name: 'again' } } });
    expect(created.kind).toBe('NamespaceList');
    expect({ handshakes: handshakes + resumed, requests }).toEqual({ handshakes: 2, requests: 3 });
  });

  it('fail a request the server closed on a new connection: only a kept-alive socket is retried', async () => {
    const kube = kubeFromString(kubeconfig);
    dropRequest = 1;
    await expect(kube.core.listNamespace()).rejects.toThrow(/socket hang up|ECONNRESET/);
    expect(requests).toBe(1);
  });

  it('resume one TLS session for the connections of watches and logs (node-fetch 2: no keep-alive)', async () => {
    const kube = kubeFromString(kubeconfig);
    const server = kube.config.getCurrentCluster()?.server ?? '';
    for (let i = 0; i < 3; i++) {
      const opts: RequestOptions = {};
      await kube.config.applyToHTTPSOptions(opts);
      await new Promise<void>((done, fail) =>
        get(`${server}/api/v1/namespaces`, opts, (res) => res.resume().on('end', done)).on('error', fail),
      );
    }
    expect({ handshakes, resumed, requests }).toEqual({ handshakes: 1, resumed: 2, requests: 3 });
  });
});
