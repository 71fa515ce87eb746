import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { clearSecrets, redact, registerCredentials } from '../helpers/infra/redact.ts';
import { htpasswdLine, verifyHtpasswd } from '../helpers/registry/htpasswd.ts';
import { hostsToml, localRegistryHostingData } from '../helpers/registry/nodetrust.ts';
import { registryConfig } from '../helpers/registry/registry.ts';
import { issueServerCertificate, subjectAltNames } from '../helpers/registry/tls.ts';
import { unitCAs } from './tempdirs.ts';

const newCA = unitCAs();

describe('htpasswd', () => {
  it('writes bcrypt lines that verify only the right password', () => {
    const line = htpasswdLine('alice', 's3cret-pw');
    expect(line).toMatch(/^alice:\$2[aby]\$04\$/);
    expect(verifyHtpasswd(line, 'alice', 's3cret-pw')).toBe(true);
    expect(verifyHtpasswd(line, 'alice', 'wrong')).toBe(false);
  });
});

describe('TLS material', () => {
  it('subjectAltName separates names and addresses', () => {
    expect(subjectAltNames(['reg', '127.0.0.1'])).toBe('DNS:reg,IP:127.0.0.1');
  });

  it('a server certificate verifies against the run CA and not without it', async () => {
    const ca = await newCA('unit CA');
    const cert = await issueServerCertificate(ca, ['pullcheck-reg-x', '127.0.0.1']);
    const file = join(ca.dir, 'server.crt');
    writeFileSync(file, cert.certPem);
    expect(execFileSync('openssl', ['verify', '-CAfile', ca.certFile, file]).toString()).toContain('OK');
    expect(() => execFileSync('openssl', ['verify', file], { stdio: 'pipe' })).toThrow();
    const text = execFileSync('openssl', ['x509', '-in', file, '-noout', '-ext', 'subjectAltName']).toString();
    expect(text).toContain('DNS:pullcheck-reg-x');
    expect(text).toContain('IP Address:127.0.0.1');
  });

  it('one CA issues certificates concurrently, each with a serial of its own', async () => {
    const ca = await newCA('unit CA');
    const certs = await Promise.all(Array.from({ length: 8 }, (_, i) => issueServerCertificate(ca, [`pullcheck-reg-${i}`])));
    const serials = certs.map((c, i) => {
      const file = join(ca.dir, `server-${i}.crt`);
      writeFileSync(file, c.certPem);
      return execFileSync('openssl', ['x509', '-in', file, '-noout', '-serial']).toString().trim();
    });
    expect(new Set(serials).size).toBe(certs.length);
  });
});

describe('registry and node configuration', () => {
  it('registry config enables TLS, delete, and htpasswd only when asked', () => {
    const withAuth = YAML.parse(registryConfig('htpasswd')) as Record<string, Record<string, unknown>>;
    expect(withAuth['http']?.['tls']).toEqual({ certificate: '/certs/tls.crt', key: '/certs/tls.key' });
    expect(withAuth['auth']).toEqual({ htpasswd: { realm: 'pullcheck', path: '/auth/htpasswd' } });
    expect(YAML.parse(registryConfig('none'))).not.toHaveProperty('auth');
  });

  it('registry config disables deletion only when asked (distribution then answers DELETE 405 UNSUPPORTED)', () => {
    const storage = (yaml: string) => (YAML.parse(yaml) as Record<string, Record<string, unknown>>)['storage'];
    expect(storage(registryConfig('htpasswd'))?.['delete']).toEqual({ enabled: true });
    expect(storage(registryConfig('htpasswd', true, undefined, { deletion: false }))?.['delete']).toEqual({ enabled: false });
  });

  it('hosts.toml points containerd at the registry over HTTPS with the CA', () => {
    const toml = hostsToml('reg:5000', '/etc/containerd/certs.d/reg:5000/ca.crt');
    expect(toml).toContain('server = "https://reg:5000"');
    expect(toml).toContain('[host."https://reg:5000"]');
    expect(toml).toContain('ca = "/etc/containerd/certs.d/reg:5000/ca.crt"');
  });

  it('a plain-HTTP registry gets an http hosts.toml without a CA, and no TLS in its config', () => {
    const toml = hostsToml('reg:5000', undefined);
    expect(toml).toContain('server = "http://reg:5000"');
    expect(toml).not.toContain('ca =');
    expect(YAML.parse(registryConfig('none', false))['http']).toEqual({ addr: ':5000' });
  });

  it('the KEP-1755 ConfigMap names the host for every viewpoint', () => {
    expect(YAML.parse(localRegistryHostingData('reg:5000'))).toEqual({
      host: 'reg:5000',
      hostFromContainerRuntime: 'reg:5000',
      hostFromClusterNetwork: 'reg:5000',
    });
  });
});

describe('redaction', () => {
  afterEach(() => clearSecrets());

  it('masks a registered password, its base64 user:password form and auth headers', () => {
    registerCredentials('bob', 'canary-password-123');
    const basic = Buffer.from('bob:canary-password-123').toString('base64');
    const out = redact(`pw=canary-password-123 auth="${basic}" Authorization: Bearer abc.def`);
    expect(out).not.toContain('canary-password-123');
    expect(out).not.toContain(basic);
    expect(out).not.toContain('abc.def');
  });
});
