import { layoutIndex, refTag } from '../helpers/images/archive.ts';
import { assembleImage, layerFromFiles, MediaType } from '../helpers/images/oci.ts';
import { clearSecrets, redact } from '../helpers/infra/redact.ts';
import { manifestRequests, parseAccessLog } from '../helpers/registry/accesslog.ts';
import { dockerCfgSecret, dockerConfigJson, dockerConfigJsonSecret, secretFromConfigFile } from '../helpers/registry/secrets.ts';

describe('registry access log', () => {
  const line = (method: string, uri: string, time: string) =>
    JSON.stringify({
      'http.request.method': method,
      'http.request.uri': uri,
      'http.response.status': 200,
      'http.request.remoteaddr': '172.20.0.3:1234',
      msg: 'response completed',
      time,
    });
  const log = [
    'not json',
    line('GET', '/v2/', '2026-11-27T04:00:00Z'),
    line('HEAD', '/v2/a/b/manifests/t1', '2026-11-27T04:00:01Z'),
    line('GET', '/v2/a/b/blobs/sha256:1', '2026-11-27T04:00:02Z'),
    line('GET', '/v2/a/b/manifests/sha256:2', '2026-11-27T04:00:03Z'),
    JSON.stringify({ msg: 'something else' }),
  ].join('\n');

  it('keeps completed requests only', () => {
    expect(parseAccessLog(log).map((e) => `${e.method} ${e.uri}`)).toEqual([
      'GET /v2/',
      'HEAD /v2/a/b/manifests/t1',
      'GET /v2/a/b/blobs/sha256:1',
      'GET /v2/a/b/manifests/sha256:2',
    ]);
  });

  it('keeps an error the registry answered (a 404), which distribution logs as "response completed with error"', () => {
    const error = JSON.stringify({
      'http.request.method': 'HEAD',
      'http.request.uri': '/v2/a/b/manifests/missing',
      'http.response.status': 404,
      'err.code': 'manifest unknown',
      msg: 'response completed with error',
      time: '2026-11-27T04:00:04Z',
    });
    expect(
      parseAccessLog(`${log}\n${error}`)
        .map((e) => `${e.method} ${e.uri} ${e.status}`)
        .at(-1),
    ).toBe('HEAD /v2/a/b/manifests/missing 404');
  });

  it('finds manifest requests of one repository since a moment', () => {
    const entries = parseAccessLog(log);
    expect(manifestRequests(entries, 'a/b').length).toBe(2);
    expect(manifestRequests(entries, 'a/b', new Date('2026-11-27T04:00:02Z')).map((e) => e.uri)).toEqual(['/v2/a/b/manifests/sha256:2']);
    expect(manifestRequests(entries, 'a')).toEqual([]);
  });
});

describe('docker config and Secrets', () => {
  afterEach(() => clearSecrets());

  it('is shaped like kubectl create secret docker-registry', () => {
    const json = JSON.parse(dockerConfigJson([{ server: 'reg:5000', username: 'u', password: 'pw-123456', email: 'e@x' }])) as unknown;
    expect(json).toEqual({
      auths: { 'reg:5000': { username: 'u', password: 'pw-123456', email: 'e@x', auth: Buffer.from('u:pw-123456').toString('base64') } },
    });
    const secret = dockerConfigJsonSecret('regcred', 'ns', [{ server: 'reg:5000', username: 'u', password: 'pw-123456' }]);
    expect(secret.type).toBe('kubernetes.io/dockerconfigjson');
    expect(Object.keys(secret.data ?? {})).toEqual(['.dockerconfigjson']);
  });

  it('a legacy dockercfg Secret holds servers at the top level under .dockercfg', () => {
    const secret = dockerCfgSecret('legacy', 'ns', [{ server: 'reg:5000', username: 'u', password: 'pw-123456' }]);
    expect(secret.type).toBe('kubernetes.io/dockercfg');
    const content = JSON.parse(Buffer.from(secret.data?.['.dockercfg'] ?? '', 'base64').toString()) as Record<string, { auth: string }>;
    expect(content['reg:5000']?.auth).toBe(Buffer.from('u:pw-123456').toString('base64'));
    const fromFile = secretFromConfigFile('f', 'ns', '{"auths":{}}');
    expect(fromFile.type).toBe('kubernetes.io/dockerconfigjson');
    expect(Buffer.from(fromFile.data?.['.dockerconfigjson'] ?? '', 'base64').toString()).toBe('{"auths":{}}');
  });

  it('registers the password for redaction', () => {
    dockerConfigJson([{ server: 'reg', username: 'u', password: 'pw-canary-42' }]);
    expect(redact('x pw-canary-42 y')).toBe('x *** y');
  });
});

describe('OCI layout for ctr import', () => {
  it('names each image by its full reference', async () => {
    const image = assembleImage([await layerFromFiles([{ path: 'a', content: 'b' }])], {
      platform: { os: 'linux', architecture: 'amd64' },
    });
    const index = JSON.parse(layoutIndex([{ ref: 'registry.k8s.io/pause:3.10', image }]).bytes.toString()) as {
      manifests: { mediaType: string; annotations: Record<string, string> }[];
    };
    expect(index.manifests[0]).toMatchObject({
      mediaType: MediaType.ociManifest,
      annotations: { 'io.containerd.image.name': 'registry.k8s.io/pause:3.10', 'org.opencontainers.image.ref.name': '3.10' },
    });
  });

  it('reads the tag of a reference, with a registry port or none', () => {
    expect(refTag('reg:5000/a/b:v1')).toBe('v1');
    expect(refTag('reg:5000/a/b')).toBe('latest');
    expect(refTag('reg:5000/a/b@sha256:00')).toBe('latest');
  });
});
