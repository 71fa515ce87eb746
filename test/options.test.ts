// `pullcheck run`'s options without running anything: where each setting comes from (flags, then
// PULLCHECK_* variables, then --config), every mistake a UsageError naming the fix, and what a
// selection plans.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inClusterProblem } from '../helpers/cluster/incluster.ts';
import { noSpaceError } from '../helpers/infra/preflight.ts';
import type { CatalogEntry } from '../helpers/run/catalog.ts';
import {
  parseDuration,
  parseRegistryUrl,
  parseVersions,
  type RunFlags,
  readConfigFile,
  resolveRunOptions,
  UsageError,
} from '../helpers/run/options.ts';
import { phaseLanes, planRun } from '../helpers/run/plan.ts';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

describe('resolveRunOptions', () => {
  let dir: string;
  const file = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const resolve = (flags: RunFlags, env: NodeJS.ProcessEnv = {}) => resolveRunOptions(flags, env);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pullcheck-options-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('has one set of defaults', () => {
    expect(resolve({})).toEqual({
      profile: 'default',
      versions: [],
      suites: [],
      suitesDirs: [],
      keep: false,
      parallel: 4,
      reportDir: 'reports',
      allowPull: true,
      inCluster: false,
      selftest: false,
      certify: false,
      acceptChanges: false,
      archive: false,
    });
  });

  it('--in-cluster: inside a pod, with --registry, and without the flags that choose another cluster (exit 2)', () => {
    const pod = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };
    expect(() => resolve({ inCluster: true }, pod)).toThrow(
      new UsageError(
        "--in-cluster needs --registry URL: a pod has no Docker to start pullcheck's own registries (pass a registry the nodes can pull from)",
      ),
    );
    for (const flags of [{ kubeconfig: file('kc', 'x') }, { k8s: 'v1.37.2' }, { name: 'x' }, { from: 'v1.36.3', to: 'v1.37.2' }])
      expect(() => resolve({ inCluster: true, registry: 'https://r.example', ...flags }, pod)).toThrow(
        /^--in-cluster tests the cluster the pod runs in: drop --kubeconfig/,
      );
    expect(() => resolve({ inCluster: true, registry: 'https://r.example' }, {})).toThrow(
      /^--in-cluster runs inside a pod: KUBERNETES_SERVICE_HOST\/PORT are not set here/,
    );
    expect(inClusterProblem(pod, dir)).toBe(
      `--in-cluster needs the pod's ServiceAccount token: ${join(dir, 'token')} is missing (set automountServiceAccountToken: true)`,
    );
    file('token', 't');
    file('ca.crt', PEM);
    expect(inClusterProblem(pod, dir)).toBeUndefined();
  });

  it('takes a vendor repository namespace and a public one, checked like repository paths', () => {
    const r = resolve({
      registry: 'https://r.example',
      registryUsername: 'u',
      registryPassword: 'p',
      registryRepositoryPrefix: 'team/pullcheck',
      registryPublicPrefix: 'library',
    });
    expect(r.registry).toMatchObject({ repositoryPrefix: 'team/pullcheck', publicPrefix: 'library' });
    expect(() => resolve({ registry: 'https://r.example', registryRepositoryPrefix: 'Team/' })).toThrow(/is not a repository namespace/);
    expect(() => resolve({ registry: 'https://r.example', registryPublicPrefix: 'library' })).toThrow(/needs --registry-username/);
    expect(() => resolve({ registryRepositoryPrefix: 'x' })).toThrow(/need --registry URL/);
  });

  it('pullcheck certify needs a registry to certify', () => {
    expect(() => resolve({ certify: true })).toThrow(/certify needs the registry to certify: --registry/);
    expect(resolve({ certify: true, registry: 'https://r.example' }).certify).toBe(true);
  });

  it('takes --suites-dir over suitesDirs in the config, whose directories are relative to the file', () => {
    expect(resolve({ config: file('v.yaml', 'suitesDirs: [vendor, /abs/suites]\n') }).suitesDirs).toEqual([
      join(dir, 'vendor'),
      '/abs/suites',
    ]);
    expect(resolve({ config: file('w.yaml', 'suitesDirs: [vendor]\n'), suitesDir: ['mine'] }).suitesDirs).toEqual(['mine']);
    expect(() => resolve({ config: file('x.yaml', 'suitesDirs: vendor\n') })).toThrow(/suitesDirs must be a list of directories/);
  });

  it('names the kind cluster with --name (or name: in the config), never with a kubeconfig', () => {
    expect(resolve({ name: 'pullcheck-2' }).name).toBe('pullcheck-2');
    expect(resolve({ config: file('n.yaml', 'name: from-file\n') }).name).toBe('from-file');
    expect(() => resolve({ name: 'x', kubeconfig: file('k', 'apiVersion: v1\n') })).toThrow(
      '--name names the kind cluster pullcheck creates; with --kubeconfig the cluster is yours: drop one of them',
    );
  });

  it('takes flags over PULLCHECK_* variables over the config file', () => {
    const config = file(
      'c.yaml',
      'profile: from-file\nregistry: { url: https://file.example.com }\nparallel: 3\nkeep: true\nreportDir: file-reports\ntimeout: 2m\nsuites: [smoke]\n',
    );
    const env = { PULLCHECK_PROFILE: 'from-env', PULLCHECK_REGISTRY: 'https://env.example.com' };
    expect(resolve({ config }, {})).toMatchObject({
      profile: 'from-file',
      registry: { url: 'https://file.example.com' },
      parallel: 3,
      keep: true,
      reportDir: 'file-reports',
      timeoutMs: 120_000,
      suites: ['smoke'],
    });
    expect(resolve({ config }, env)).toMatchObject({ profile: 'from-env', registry: { url: 'https://env.example.com' } });
    expect(
      resolve(
        {
          config,
          profile: 'from-flag',
          registry: 'flag.example.com:5000',
          parallel: '2',
          keep: false,
          reportDir: 'out',
          timeout: '30s',
          suite: ['registry'],
        },
        env,
      ),
    ).toMatchObject({
      profile: 'from-flag',
      registry: { url: 'https://flag.example.com:5000', host: 'flag.example.com:5000' },
      parallel: 2,
      keep: false,
      reportDir: 'out',
      timeoutMs: 30_000,
      suites: ['registry'],
    });
  });

  it('splits --suite values at commas and drops blanks', () => {
    expect(resolve({ suite: ['smoke, registry', 'pull-policy,'] }).suites).toEqual(['smoke', 'registry', 'pull-policy']);
  });

  it('reads the registry password from the flag, PULLCHECK_REGISTRY_PASSWORD or the variable the file names', () => {
    const config = file('c.yaml', 'registry: { url: https://r.example.com, username: u, passwordEnv: VENDOR_PASS }\n');
    expect(resolve({ config }, { VENDOR_PASS: 'p1' }).registry).toEqual({
      url: 'https://r.example.com',
      host: 'r.example.com',
      username: 'u',
      password: 'p1',
    });
    expect(resolve({ config }, { VENDOR_PASS: 'p1', PULLCHECK_REGISTRY_PASSWORD: 'p2' }).registry?.password).toBe('p2');
    expect(resolve({ config, registryPassword: 'p3' }, { PULLCHECK_REGISTRY_PASSWORD: 'p2' }).registry?.password).toBe('p3');
  });

  it('reads the registry CA file', () => {
    const ca = file('ca.pem', PEM);
    expect(resolve({ registry: 'r.example.com', registryCa: ca }).registry).toMatchObject({ caPem: PEM, caFile: ca });
  });

  it.each<[string, (f: (name: string, text: string) => string) => RunFlags, RegExp]>([
    [
      'a username without a password',
      () => ({ registry: 'r.example.com', registryUsername: 'u' }),
      /username without a password: pipe it to --registry-password-stdin/,
    ],
    ['credentials without a registry', () => ({ registryUsername: 'u' }), /need --registry URL/],
    [
      'a CA file that does not exist',
      () => ({ registry: 'r.example.com', registryCa: '/nonexistent/ca.pem' }),
      /--registry-ca \/nonexistent\/ca\.pem does not exist: pass the PEM file/,
    ],
    [
      'a CA file without a certificate',
      (f) => ({ registry: 'r.example.com', registryCa: f('ca.pem', 'not a pem') }),
      /holds no PEM certificate/,
    ],
    [
      'a kubeconfig that does not exist',
      () => ({ kubeconfig: '/nonexistent/kubeconfig' }),
      /--kubeconfig \/nonexistent\/kubeconfig does not exist/,
    ],
    ['--context without --kubeconfig', () => ({ context: 'x' }), /--context needs --kubeconfig/],
    [
      '--k8s with --kubeconfig',
      (f) => ({ kubeconfig: f('kc', 'apiVersion: v1\n'), k8s: 'v1.37.2' }),
      /with --kubeconfig the cluster has its own: drop one of them/,
    ],
    ['--parallel 0', () => ({ parallel: '0' }), /--parallel "0" must be a whole number from 1 to 8/],
    ['--parallel 9', () => ({ parallel: '9' }), /from 1 to 8/],
    ['--parallel 1.5', () => ({ parallel: '1.5' }), /whole number/],
    ['an invalid --focus', () => ({ focus: '(' }), /--focus "\(" is not a regular expression/],
    ['an invalid --skip', () => ({ skip: '[' }), /--skip "\[" is not a regular expression/],
    ['a malformed --timeout', () => ({ timeout: 'soon' }), /--timeout "soon" is not a duration/],
    ['a malformed --k8s', () => ({ k8s: 'latest' }), /--k8s: not a Kubernetes release version: "latest"/],
  ])('refuses %s', (_, flags, message) => {
    expect(() => resolve(flags(file))).toThrow(UsageError);
    expect(() => resolve(flags(file))).toThrow(message);
  });
});

describe('readConfigFile', () => {
  let dir: string;
  const config = (text: string): string => {
    const path = join(dir, 'pullcheck.yaml');
    writeFileSync(path, text);
    return path;
  };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pullcheck-config-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads an empty file as no settings', () => {
    expect(readConfigFile(config(''))).toEqual({});
  });

  it.each([
    ['a missing file', null, /does not exist: pass the path of a pullcheck YAML config/],
    ['broken YAML', 'suites: [smoke\n', /is not valid YAML/],
    ['a list instead of a mapping', '- smoke\n', /must be a YAML mapping \(keys: profile, k8s, suites/],
    ['an unknown key', 'suite: smoke\n', /unknown key "suite" \(allowed: profile, k8s, suites/],
    [
      'a password in the file',
      'registry: { url: https://r, password: hunter2 }\n',
      /do not put the registry password in a file; name an environment variable with registry\.passwordEnv/,
    ],
    [
      'an unknown registry key',
      'registry: { url: https://r, user: u }\n',
      /unknown key "registry\.user" \(allowed: url, username, passwordEnv, ca, repositoryPrefix, publicPrefix, repositoryLayout, preseeded\)/,
    ],
    ['registry as a string', 'registry: https://r\n', /registry must be a mapping/],
    ['suites as a string', 'suites: smoke\n', /suites must be a list of suite names/],
  ])('refuses %s', (_, text, message) => {
    const path = text === null ? join(dir, 'missing.yaml') : config(text);
    expect(() => readConfigFile(path)).toThrow(UsageError);
    expect(() => readConfigFile(path)).toThrow(message);
  });
});

describe('parseDuration', () => {
  it.each([
    ['90', 90_000],
    ['90s', 90_000],
    ['5m', 300_000],
    ['1.5m', 90_000],
    ['250ms', 250],
    [' 2s ', 2000],
    ['1m30s', 90_000],
    ['1h', 3_600_000],
    ['1h2m3s', 3_723_000],
    ['2m500ms', 120_500],
  ])('%s is %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['abc', '5d', '-1s', '', '1 m', '1m30', 's'])('refuses "%s"', (text) => {
    expect(() => parseDuration(text)).toThrow(/is not a duration: write e\.g\. 90s, 5m or 1m30s/);
  });

  it('refuses zero', () => {
    expect(() => parseDuration('0s')).toThrow(/more than zero/);
  });
});

describe('parseVersions', () => {
  it('normalises, keeps the order and drops repeats', () => {
    expect(parseVersions('1.36.3, v1.37.2,v1.36.3').map((v) => v.raw)).toEqual(['v1.36.3', 'v1.37.2']);
    expect(parseVersions('v1.37.2')[0]).toEqual({ raw: 'v1.37.2', major: 1, minor: 37, patch: 2 });
  });

  it.each([
    ['1.2', /--k8s: not a Kubernetes release version: "1\.2"/],
    ['v1.37', /not a Kubernetes release version/],
    ['v1.37.0-rc.1', /not a Kubernetes release version/],
    [',', /needs at least one version/],
  ])('refuses "%s"', (text, message) => {
    expect(() => parseVersions(text)).toThrow(UsageError);
    expect(() => parseVersions(text)).toThrow(message);
  });
});

describe('parseRegistryUrl', () => {
  it.each([
    ['registry.example.com', { url: 'https://registry.example.com', host: 'registry.example.com' }],
    ['https://registry.example.com:5000', { url: 'https://registry.example.com:5000', host: 'registry.example.com:5000' }],
    ['https://127.0.0.1:5000/', { url: 'https://127.0.0.1:5000', host: '127.0.0.1:5000' }],
  ])('%s', (text, parsed) => {
    expect(parseRegistryUrl(text)).toEqual(parsed);
  });

  it.each([
    ['http://registry.example.com', /vendor registries are tested over HTTPS; write https:\/\//],
    ['https://registry.example.com/v2/team', /give the registry's root, without a path/],
    ['https://[nope', /is not a URL: write https:\/\/registry\.example\.com\[:port\]/],
  ])('refuses %s', (text, message) => {
    expect(() => parseRegistryUrl(text)).toThrow(UsageError);
    expect(() => parseRegistryUrl(text)).toThrow(message);
  });
});

describe('planRun', () => {
  const entry = (suite: string, name: string, group = suite): CatalogEntry => ({
    suite,
    group,
    id: `${group}/${name}`,
    title: `${name} works`,
    file: `/suites/${suite}.test.ts`,
    nodes: suite === 'node-credentials' || suite === 'use-cases' ? 'locked' : 'shared',
    selftest: suite === 'node-lock',
    capabilities: [],
    needs: [],
  });
  const catalog = [
    entry('smoke', 'public-image-runs'),
    entry('smoke', 'private-image-without-credentials-fails'),
    entry('pull-policy', 'never-uses-local'),
    entry('pull-policy', 'never-missing-fails'),
    entry('node-credentials', 'root-dir-config-json'),
    entry('node-credentials', 'cwd-config-json'),
    entry('use-cases', 'private-registry-node-config'),
    entry('always-pull-images', 'proprietary-always-pull-with-secrets', 'use-cases'),
  ];
  const plan = (o: { suites?: string[]; focus?: string; skip?: string }) =>
    planRun(catalog, { suites: o.suites ?? [], ...(o.focus ? { focus: o.focus } : {}), ...(o.skip ? { skip: o.skip } : {}) });

  it('runs everything by default, suites that change nodes apart', () => {
    const p = plan({});
    expect(p.scenarios).toHaveLength(8);
    expect(p.shared).toEqual(['/suites/smoke.test.ts', '/suites/pull-policy.test.ts', '/suites/always-pull-images.test.ts']);
    expect(p.locked).toEqual(['/suites/node-credentials.test.ts', '/suites/use-cases.test.ts']);
  });

  it('selects by suite, then --focus and --skip on scenario IDs', () => {
    expect(plan({ suites: ['pull-policy'] }).scenarios.map((e) => e.id)).toEqual([
      'pull-policy/never-uses-local',
      'pull-policy/never-missing-fails',
    ]);
    expect(plan({ focus: 'never' }).scenarios.map((e) => e.id)).toEqual([
      'pull-policy/never-uses-local',
      'pull-policy/never-missing-fails',
    ]);
    expect(plan({ focus: 'never', skip: 'missing' }).scenarios.map((e) => e.id)).toEqual(['pull-policy/never-uses-local']);
    expect(plan({ skip: '^(smoke|pull-policy|use-cases)/' })).toMatchObject({ shared: [], locked: ['/suites/node-credentials.test.ts'] });
    expect(plan({ suites: ['smoke', 'node-credentials'], focus: 'public|root' })).toMatchObject({
      shared: ['/suites/smoke.test.ts'],
      locked: ['/suites/node-credentials.test.ts'],
    });
  });

  it('selects a group by its ID prefix, wherever its scenarios are declared', () => {
    const p = plan({ suites: ['use-cases'] });
    expect(p.scenarios.map((e) => e.id)).toEqual([
      'use-cases/private-registry-node-config',
      'use-cases/proprietary-always-pull-with-secrets',
    ]);
    expect(p).toMatchObject({ shared: ['/suites/always-pull-images.test.ts'], locked: ['/suites/use-cases.test.ts'] });
  });

  it('refuses an unknown suite, naming the known ones (not the self-tests)', () => {
    expect(() => plan({ suites: ['smoke', 'nope'] })).toThrow(UsageError);
    expect(() => plan({ suites: ['nope'] })).toThrow(
      'unknown suite "nope": choose from always-pull-images, node-credentials, pull-policy, smoke, use-cases (pullcheck list shows every scenario)',
    );
  });

  it('refuses a selection that matches nothing (a typo must not pass as an empty green run)', () => {
    expect(() => plan({ focus: 'smoke/no-such-scenario' })).toThrow(
      'the selection (--focus smoke/no-such-scenario) matches no scenario: see pullcheck list',
    );
    expect(() => plan({ suites: ['smoke'], skip: 'smoke' })).toThrow(
      'the selection (--suite smoke --skip smoke) matches no scenario: see pullcheck list',
    );
  });
});

describe('noSpaceError', () => {
  const cache = '/var/cache/pullcheck';
  const plenty: string[] = [];

  it('names the phase and the cache directory for an ENOSPC in the cache', () => {
    const error = Object.assign(new Error('ENOSPC: no space left on device, open'), {
      code: 'ENOSPC',
      path: `${cache}/bin/kind.partial/kind`,
    });
    expect(noSpaceError(error, 'build kind v0.33.0', cache, plenty)?.message).toBe(
      `no space left on device while build kind v0.33.0 (in ${cache}): free some space or point PULLCHECK_CACHE_DIR at a bigger disk`,
    );
  });

  it('reads the directory from a command that said so, and follows causes', () => {
    const command = Object.assign(new Error('command failed (exit 1): docker import'), {
      stderr: 'write /var/lib/docker/tmp/x: no space left on device',
    });
    expect(noSpaceError(new Error('import failed', { cause: command }), 'docker import', cache, plenty)?.message).toMatch(
      /while docker import \(in \/var\/lib\/docker\/tmp\):/,
    );
  });

  it('blames a nearly full directory when the failure itself does not say', () => {
    expect(noSpaceError(new Error('package crypto/sha3 is not in std'), 'go build', cache, [tmpdir(), '/proc'])?.message).toMatch(
      /^no space left on device while go build \(in \/proc\)/,
    );
  });

  it('leaves other errors alone', () => {
    expect(noSpaceError(new Error('connection refused'), 'x', cache, plenty)).toBeUndefined();
  });
});

describe('lanes a phase runs', () => {
  it('takes --parallel for the suites that leave nodes alone', () => {
    expect(phaseLanes('shared', 4, 3)).toBe(4);
    expect(phaseLanes('shared', 2, 1)).toBe(2);
  });

  it('runs no more locked suites at once than the cluster has nodes, and at least one', () => {
    expect(phaseLanes('locked', 4, 3)).toBe(3);
    expect(phaseLanes('locked', 2, 3)).toBe(2);
    expect(phaseLanes('locked', 4, 1)).toBe(1);
    expect(phaseLanes('locked', 4, 0)).toBe(1);
  });
});
