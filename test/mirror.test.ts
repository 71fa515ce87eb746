import {
  describeRequests,
  loggedRequests,
  mirrorHostsToml,
  namespaceDir,
  nsOf,
  repositoryRequests,
  servedPullGaps,
} from '../helpers/registry/mirror.ts';

// Lines as distribution v3.1.2 (JSON formatter) writes them for containerd 2.3's pull through a
// mirror, trimmed of unrelated fields.
const UA = 'containerd/2.3.4+unknown';
const NS = 'ns=up%3A5000';
const line = (o: Record<string, unknown>) => JSON.stringify({ 'http.request.useragent': UA, ...o });
const LOG = [
  line({
    'http.request.method': 'PUT',
    'http.request.uri': '/v2/r/manifests/t',
    'http.request.useragent': 'pullcheck',
    'http.response.status': 201,
    msg: 'response completed',
    time: '2026-12-05T00:49:19Z',
  }),
  line({
    'http.request.method': 'HEAD',
    'http.request.uri': `/v2/r/manifests/t?${NS}`,
    msg: 'error authorizing context: basic authentication challenge for realm "pullcheck": authentication failure',
    time: '2026-12-05T00:49:20.1Z',
  }),
  line({
    'http.request.method': 'HEAD',
    'http.request.uri': `/v2/r/manifests/t?${NS}`,
    'http.response.status': 200,
    msg: 'response completed',
    time: '2026-12-05T00:49:20.2Z',
  }),
  line({
    'http.request.method': 'GET',
    'http.request.uri': `/v2/r/blobs/sha256:a?${NS}`,
    'http.response.status': 200,
    msg: 'response completed',
    time: '2026-12-05T00:49:20.3Z',
  }),
  line({
    'http.request.method': 'GET',
    'http.request.uri': `/v2/r/blobs/sha256:b?${NS}`,
    'http.response.status': 200,
    msg: 'response completed',
    time: '2026-12-05T00:49:20.4Z',
  }),
  line({
    'http.request.uri': '/v2/other/manifests/t',
    'http.request.method': 'GET',
    msg: 'response completed',
    'http.response.status': 200,
    time: '2026-12-05T00:49:20.5Z',
  }),
  '172.18.0.12 - - [05/Dec/2026:00:49:20 +0000] "GET /v2/r/blobs/sha256:b HTTP/1.1" 200 3 "" "containerd"',
].join('\n');

describe('registry mirrors', () => {
  it("writes the upstream's hosts.toml: the mirror as a host tried first, the upstream as the server, the CA for both", () => {
    expect(mirrorHostsToml({ upstream: 'up:5000', mirrors: ['m:5000'], caPath: '/etc/containerd/certs.d/up:5000/mirror-ca.crt' })).toBe(
      [
        'server = "https://up:5000"',
        'ca = "/etc/containerd/certs.d/up:5000/mirror-ca.crt"',
        '',
        '[host."https://m:5000"]',
        '  capabilities = ["pull", "resolve"]',
        '  ca = "/etc/containerd/certs.d/up:5000/mirror-ca.crt"',
        '',
      ].join('\n'),
    );
    expect(mirrorHostsToml({ upstream: 'up:5000', mirrors: ['a:1', 'b:2'], caPath: '/ca', capabilities: ['pull'] })).toContain(
      '[host."https://a:1"]\n  capabilities = ["pull"]\n  ca = "/ca"\n\n[host."https://b:2"]',
    );
    expect(namespaceDir('up:5000')).toBe('/etc/containerd/certs.d/up:5000');
  });

  it("reads answered and refused requests, the node runtime's only, in time order", () => {
    const all = loggedRequests(LOG);
    expect(all.map((e) => `${e.method} ${e.status}`)).toEqual(['PUT 201', 'HEAD 401', 'HEAD 200', 'GET 200', 'GET 200', 'GET 200']);
    const node = repositoryRequests(all, 'r', new Date(0));
    expect(node.map((e) => `${e.method} ${e.status}`)).toEqual(['HEAD 401', 'HEAD 200', 'GET 200', 'GET 200']);
    expect(repositoryRequests(all, 'r', new Date('2026-12-05T00:49:20.25Z'))).toHaveLength(2);
  });

  it('decodes the ns parameter containerd adds for a host other than the namespace', () => {
    expect(nsOf(`/v2/r/manifests/t?${NS}`)).toBe('up:5000');
    expect(nsOf('/v2/r/manifests/t')).toBeUndefined();
    expect(nsOf('/v2/r/manifests/t?x=1')).toBeUndefined();
  });

  it('describes requests in roles, repeats collapsed, and says what a served pull lacks', () => {
    const node = repositoryRequests(loggedRequests(LOG), 'r', new Date(0));
    expect(describeRequests(node, { 'up:5000': 'upstream' })).toEqual([
      'HEAD manifest 401 ns=upstream',
      'HEAD manifest 200 ns=upstream',
      'GET blob 200 ns=upstream ×2',
    ]);
    expect(describeRequests([], {})).toEqual(['no request']);
    expect(servedPullGaps(node, 'r', ['sha256:a', 'sha256:b'])).toBeUndefined();
    expect(servedPullGaps(node, 'r', ['sha256:c'])).toBe('no GET of blob sha256:c answered 200');
    expect(servedPullGaps(node.slice(0, 1), 'r', [])).toBe('no manifest answered 200');
  });
});
