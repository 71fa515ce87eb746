import { clearSecrets, redact } from '../helpers/infra/redact.ts';
import {
  credentialSearchPaths,
  credsStoreOnlyConfigJson,
  nodeConfigJson,
  nodeDockercfg,
  rootDirOf,
  sameFileAs,
} from '../helpers/kubelet/nodecreds.ts';

const CRED = { server: 'reg.example:5000', username: 'alice', password: 's3cret-pw' };
const AUTH = Buffer.from('alice:s3cret-pw').toString('base64');

afterEach(() => clearSecrets());

describe('node credential files', () => {
  it('config.json has only auths → auth, and registers the secret for redaction', () => {
    const text = nodeConfigJson([CRED]);
    expect(JSON.parse(text)).toEqual({ auths: { 'reg.example:5000': { auth: AUTH } } });
    expect(redact(text)).not.toContain(AUTH.replace(/=+$/, ''));
  });

  it('.dockercfg maps server → {auth, email} without the auths wrapper', () => {
    expect(JSON.parse(nodeDockercfg([CRED]))).toEqual({ 'reg.example:5000': { auth: AUTH, email: 'pullcheck@example.invalid' } });
    const withEmail = JSON.parse(nodeDockercfg([{ ...CRED, email: 'a@b.c' }])) as Record<string, { email: string }>;
    expect(withEmail['reg.example:5000']?.email).toBe('a@b.c');
  });

  it('a creds-store config names helpers and carries no auths', () => {
    const parsed = JSON.parse(credsStoreOnlyConfigJson(['reg.example:5000'])) as Record<string, unknown>;
    expect(parsed).toEqual({ credsStore: 'pullcheck-none', credHelpers: { 'reg.example:5000': 'pullcheck-none' } });
  });
});

describe("kubelet's search paths", () => {
  it('in order: config.json in root-dir, cwd, $HOME/.docker, /.docker; then .dockercfg in root-dir, cwd, $HOME, /', () => {
    const paths = credentialSearchPaths({ rootDir: '/var/lib/kubelet', cwd: '/srv/kubelet', home: '/root' });
    expect(paths.map((p) => `${p.format} ${p.place} ${p.path}`)).toEqual([
      'config.json root-dir /var/lib/kubelet/config.json',
      'config.json cwd /srv/kubelet/config.json',
      'config.json home /root/.docker/config.json',
      'config.json root /.docker/config.json',
      '.dockercfg root-dir /var/lib/kubelet/.dockercfg',
      '.dockercfg cwd /srv/kubelet/.dockercfg',
      '.dockercfg home /root/.dockercfg',
      '.dockercfg root /.dockercfg',
    ]);
    expect(paths.every((p) => sameFileAs(p, paths).length === 0)).toBe(true);
  });

  it('kind: cwd / and no HOME make the home paths relative to cwd, so several are one file', () => {
    const paths = credentialSearchPaths({ rootDir: '/var/lib/kubelet', cwd: '/', home: undefined });
    expect(paths.map((p) => p.path)).toEqual([
      '/var/lib/kubelet/config.json',
      '/config.json',
      '/.docker/config.json',
      '/.docker/config.json',
      '/var/lib/kubelet/.dockercfg',
      '/.dockercfg',
      '/.dockercfg',
      '/.dockercfg',
    ]);
    const cwdCfg = paths.find((p) => p.format === '.dockercfg' && p.place === 'cwd');
    expect(cwdCfg && sameFileAs(cwdCfg, paths).map((p) => p.template)).toEqual(['${HOME}/.dockercfg', '/.dockercfg']);
  });

  it('--root-dir in both flag forms, default otherwise', () => {
    expect(rootDirOf(['/usr/bin/kubelet', '--root-dir=/data/kubelet'])).toBe('/data/kubelet');
    expect(rootDirOf(['/usr/bin/kubelet', '--root-dir', '/data/k'])).toBe('/data/k');
    expect(rootDirOf(['/usr/bin/kubelet', '--config=/var/lib/kubelet/config.yaml'])).toBe('/var/lib/kubelet');
  });
});
