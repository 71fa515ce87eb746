import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../helpers/infra/exec.ts';
import { clearSecrets, redact } from '../helpers/infra/redact.ts';
import {
  credentialSearchPaths,
  credsStoreOnlyConfigJson,
  fileKubeletReads,
  kubeletHomeDropIn,
  nodeConfigJson,
  nodeDockercfg,
  pageVerificationPod,
  sameFileAs,
  writeNewNodeFile,
} from '../helpers/kubelet/nodecreds.ts';
import { rootDirOf } from '../helpers/kubelet/process.ts';
import type { NodeAccess } from '../helpers/node/access.ts';
import { tempDirs } from './tempdirs.ts';

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

describe('which file kubelet reads when several exist', () => {
  const paths = credentialSearchPaths({ rootDir: '/var/lib/kubelet', cwd: '/', home: '/home/k' });
  const at = (file: string) => {
    const p = paths.find((x) => x.path === file);
    if (!p) throw new Error(file);
    return p;
  };

  it('the first config.json in search order, whatever the order they are given in', () => {
    expect(fileKubeletReads(paths, [at('/home/k/.docker/config.json'), at('/var/lib/kubelet/config.json')])?.path).toBe(
      '/var/lib/kubelet/config.json',
    );
    expect(fileKubeletReads(paths, [at('/.docker/config.json'), at('/home/k/.docker/config.json')])?.path).toBe(
      '/home/k/.docker/config.json',
    );
  });

  it('any config.json before every .dockercfg; .dockercfg in its own order; none when nothing exists', () => {
    expect(fileKubeletReads(paths, [at('/var/lib/kubelet/.dockercfg'), at('/.docker/config.json')])?.path).toBe('/.docker/config.json');
    expect(fileKubeletReads(paths, [at('/home/k/.dockercfg'), at('/var/lib/kubelet/.dockercfg')])?.path).toBe(
      '/var/lib/kubelet/.dockercfg',
    );
    // With cwd /, /.dockercfg is also {cwd}/.dockercfg, which kubelet searches before ${HOME}.
    expect(fileKubeletReads(paths, [at('/home/k/.dockercfg'), at('/.dockercfg')])?.path).toBe('/.dockercfg');
    expect(fileKubeletReads(paths, [])).toBeUndefined();
  });
});

describe("kubelet's HOME drop-in", () => {
  it('sets HOME in [Service] and refuses what systemd would need quoted', () => {
    expect(kubeletHomeDropIn('/var/lib/h')).toMatch(/^\[Service\]\nEnvironment=HOME=\/var\/lib\/h\n$/m);
    expect(() => kubeletHomeDropIn('relative')).toThrow();
    expect(() => kubeletHomeDropIn('/a b')).toThrow();
  });
});

describe("the page's verification pod", () => {
  it("is the page's manifest with only the image filled in", () => {
    expect(pageVerificationPod('reg:5000/r/x:t')).toEqual({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'private-image-test-1' },
      spec: {
        containers: [{ name: 'uses-private-image', image: 'reg:5000/r/x:t', imagePullPolicy: 'Always', command: ['echo', 'SUCCESS'] }],
      },
    });
    expect(() => pageVerificationPod('x; rm -rf /')).toThrow();
  });
});

// The node commands run here, in a temporary directory: the same shell a node runs them with.
describe('a new node file', () => {
  const here: NodeAccess = {
    how: 'docker-exec',
    exec: (_node, argv, o = {}) =>
      run(argv, { ...(o.input !== undefined ? { input: o.input } : {}), ...(o.allowFailure ? { allowFailure: true } : {}) }),
    writeFile: () => Promise.reject(new Error('not used')),
  };
  const tmp = tempDirs('pullcheck-nodefile-');

  it('is written 0600 into a directory it makes, and its removal takes that directory too', async () => {
    const root = tmp();
    const path = join(root, 'made', 'config.json');
    const remove = await writeNewNodeFile({ nodes: here, node: 'n', path, content: '{"auths":{}}\n' });
    expect(readFileSync(path, 'utf8')).toBe('{"auths":{}}\n');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    await remove();
    expect(existsSync(join(root, 'made'))).toBe(false);
    expect(existsSync(root)).toBe(true);
  });

  it('leaves a directory that was there, and refuses to replace a file that was there', async () => {
    const root = tmp();
    const path = join(root, 'config.json');
    const remove = await writeNewNodeFile({ nodes: here, node: 'n', path, content: 'x' });
    await expect(writeNewNodeFile({ nodes: here, node: 'n', path, content: 'y' })).rejects.toThrow(
      /already exists; refusing to replace it/,
    );
    expect(readFileSync(path, 'utf8')).toBe('x');
    await remove();
    expect(existsSync(path)).toBe(false);
    expect(existsSync(root)).toBe(true);
  });
});
