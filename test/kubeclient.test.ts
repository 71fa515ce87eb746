import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { kubeFromString } from '../helpers/cluster/kube.ts';
import { createCA, issueServerCertificate } from '../helpers/registry/tls.ts';

// An API server stand-in on loopback that counts full TLS handshakes: the clients pullcheck makes
// must resume the session of their last connection, not start over for every request as
// client-node's own agents do.
describe('API clients', () => {
  let server: Server;
  let handshakes = 0;
  let resumed = 0;
  let kubeconfig = '';

  beforeAll(async () => {
    const ca = await createCA('unit CA');
    const cert = await issueServerCertificate(ca, ['127.0.0.1']);
    server = createServer({ cert: cert.certPem, key: cert.keyPem }, (_req, res) => {
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

  it('resume one TLS session for request after request: one full handshake', async () => {
    const kube = kubeFromString(kubeconfig);
    handshakes = 0;
    resumed = 0;
    for (let i = 0; i < 5; i++) expect((await kube.core.listNamespace()).items).toEqual([]);
    expect({ handshakes, resumed }).toEqual({ handshakes: 1, resumed: 4 });
  });
});
