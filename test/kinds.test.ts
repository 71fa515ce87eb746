// Registry kinds (helpers/registry/kinds.ts): the config distribution reads for blob redirects, the
// Location its redirect middleware builds, and the ggcr program's arguments.
import YAML from 'yaml';
import {
  blobDataPath,
  blobHostAlias,
  blobHostArgs,
  ggcrArgs,
  kindName,
  redirectLocation,
  redirectMiddlewareConfig,
} from '../helpers/registry/kinds.ts';
import { registryAlias, registryConfig } from '../helpers/registry/registry.ts';

const DIGEST = `sha256:${'ab'.repeat(32)}`;

describe('blob redirects', () => {
  it('appends a redirect storage middleware to distribution config, as its configuration reference spells it', () => {
    const config = YAML.parse(registryConfig('htpasswd') + redirectMiddlewareConfig('https://pullcheck-blob-x-r:8443/')) as Record<
      string,
      unknown
    >;
    expect(config['middleware']).toEqual({ storage: [{ name: 'redirect', options: { baseurl: 'https://pullcheck-blob-x-r:8443/' } }] });
    // The rest of the config is what every registry has: storage on disk, TLS, htpasswd.
    expect(config['storage']).toMatchObject({ filesystem: { rootdirectory: '/var/lib/registry' } });
    expect(config['auth']).toMatchObject({ htpasswd: { path: '/auth/htpasswd' } });
  });

  it("names a blob by distribution's filesystem layout: algorithm, first two hex digits, hex, data", () => {
    expect(blobDataPath(DIGEST)).toBe(`/docker/registry/v2/blobs/sha256/ab/${'ab'.repeat(32)}/data`);
    expect(() => blobDataPath('nodigest')).toThrow(/not a digest/);
  });

  it("builds the Location as v3.1.2's RedirectURL does: baseurl scheme and host, its path joined with the storage path", () => {
    const path = blobDataPath(DIGEST);
    expect(redirectLocation('https://blob:8443/', DIGEST)).toBe(`https://blob:8443${path}`);
    expect(redirectLocation('https://blob:8443', DIGEST)).toBe(`https://blob:8443${path}`);
    expect(redirectLocation('https://blob:8443/bucket/', DIGEST)).toBe(`https://blob:8443/bucket${path}`);
  });

  it('gives the blob host its own name on the kind network, beside the registry', () => {
    const spec = { runId: 'abc123', name: 'redirect' };
    expect(blobHostAlias(spec)).toBe('pullcheck-blob-abc123-redirect');
    expect(blobHostAlias(spec)).not.toBe(registryAlias(spec));
  });
});

describe('ggcr registry', () => {
  it('serves TLS with the files registry.ts copies, or plain HTTP with no certificate', () => {
    expect(ggcrArgs(true)).toEqual(['-addr', ':5000', '-cert', '/certs/tls.crt', '-key', '/certs/tls.key']);
    expect(ggcrArgs(false)).toEqual(['-addr', ':5000', '-cert', '']);
  });

  it('names the kind in logs', () => {
    expect(kindName({})).toBe('distribution');
    expect(kindName({ implementation: 'ggcr' })).toBe('ggcr');
    expect(kindName({ redirectBlobs: true })).toBe('distribution redirecting blobs (blob host CA: suite)');
    expect(kindName({ redirectBlobs: true, blobDelayMs: 2500 })).toBe(
      'distribution redirecting blobs (blob host CA: suite, answering after 2500 ms)',
    );
  });
});

describe('a slowed blob host', () => {
  it('is given its delay as a Go duration, and none unless asked', () => {
    expect(blobHostArgs()).toEqual(['-addr', ':8443', '-root', '/var/lib/registry']);
    expect(blobHostArgs(2500)).toEqual(['-addr', ':8443', '-root', '/var/lib/registry', '-delay', '2500ms']);
  });
});
