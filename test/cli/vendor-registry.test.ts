// `pullcheck run --registry …` end to end, as a registry vendor would run it, with a canary
// password: a registry pullcheck did not start (a plain container on the kind network, at a fixed
// address its certificate names, like a vendor's registry with its own CA) certifies through the
// CLI, and the password appears nowhere — not on the console, not in any file of the report, not
// in the run's logs — in clear or in the base64 forms it travels in. Its CA is in no system store:
// the registry suite (skopeo included) runs green with --registry-ca alone; and the run leaves the
// registry as it found it (no tag of the run left, read through the catalog and tags list APIs).

import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { cacheDir } from '../../helpers/infra/cache.ts';
import { docker } from '../../helpers/infra/docker.ts';
import { defaultLogFile, Logger } from '../../helpers/infra/log.ts';
import { ownedLabelArgs } from '../../helpers/infra/sweep.ts';
import { parseAccessLog } from '../../helpers/registry/accesslog.ts';
import { RegistryClient } from '../../helpers/registry/client.ts';
import { htpasswdLine } from '../../helpers/registry/htpasswd.ts';
import { ensureRegistryImage, registryConfig } from '../../helpers/registry/registry.ts';
import { addressIn, createOwnNetwork } from '../../helpers/registry/standalone.ts';
import { type CertificateAuthority, issueServerCertificate } from '../../helpers/registry/tls.ts';
import type { RunResults } from '../../helpers/report/schema.ts';
import { unitCAs } from '../tempdirs.ts';

const newCA = unitCAs();

const ROOT = new URL('../..', import.meta.url).pathname;
/** The kind cluster the test uses (default pullcheck, the e2e project's); a developer sharing a host names their own. */
const CLUSTER = process.env['PULLCHECK_VENDOR_TEST_CLUSTER'] ?? 'pullcheck';
const NAME_ARGS = CLUSTER === 'pullcheck' ? [] : ['--name', CLUSTER];
const CANARY = `canary-${randomBytes(12).toString('hex')}`;
const USER = 'vendor-user';

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = join(dir, d.name);
    if (d.isSymbolicLink()) return [];
    return d.isDirectory() ? filesUnder(p) : [p];
  });
}

/** Every form the canary travels in: clear, base64 alone, base64 of user:password (Basic, docker config "auth"). */
function canaryForms(): string[] {
  return [
    CANARY,
    Buffer.from(CANARY).toString('base64').replace(/=+$/, ''),
    Buffer.from(`${USER}:${CANARY}`).toString('base64').replace(/=+$/, ''),
  ];
}

/**
 * The vendor's network: its own docker network with a subnet chosen here (so that the registry's
 * address is known before its certificate is made), the kind nodes attached to it as to a
 * company network. The host reaches it through the bridge.
 */
async function vendorNetwork(name: string): Promise<{ ip: string; nodes: string[] }> {
  const network = await createOwnNetwork(name, ownedLabelArgs());
  const { stdout } = await docker(['ps', '--filter', `label=io.x-k8s.kind.cluster=${CLUSTER}`, '--format', '{{.Names}}']);
  const nodes = stdout
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  for (const n of nodes) await docker(['network', 'connect', name, n]);
  return { ip: addressIn(network.subnet, 10), nodes };
}

describe('pullcheck run --registry (a registry pullcheck did not start)', () => {
  const logger = new Logger(defaultLogFile(cacheDir(), 'test-vendor-registry'));
  let work: string;
  let ca: CertificateAuthority;
  let container = '';
  let ip = '';
  let network = '';
  let attached: string[] = [];
  let createdCluster = false;
  const started = Date.now();

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'pullcheck-vendor-'));
    // The kind network must exist before the registry joins it: bring the default cluster up
    // (reused when the e2e project's global setup made it already).
    const status = await execa('node', ['bin/pullcheck.js', 'cluster', 'status', ...NAME_ARGS], { cwd: ROOT, reject: false });
    createdCluster = !/: running/.test(status.stdout);
    await execa('node', ['bin/pullcheck.js', 'cluster', 'up', ...NAME_ARGS], { cwd: ROOT });
    ca = await newCA('vendor test CA');
    network = `pullcheck-vendor-net-${randomBytes(3).toString('hex')}`;
    ({ ip, nodes: attached } = await vendorNetwork(network));
    const cert = await issueServerCertificate(ca, [ip]);
    const image = await ensureRegistryImage(logger);
    // The registry image is one binary and nothing else: the files go in as a tree copied onto /.
    const tree = join(work, 'tree');
    for (const [path, content] of [
      ['etc/distribution/config.yml', registryConfig('htpasswd', true)],
      ['certs/tls.crt', cert.certPem],
      ['certs/tls.key', cert.keyPem],
      ['auth/htpasswd', `${htpasswdLine(USER, CANARY)}\n`],
    ] as const) {
      mkdirSync(join(tree, dirname(path)), { recursive: true });
      writeFileSync(join(tree, path), content);
    }
    container = `pullcheck-vendor-${randomBytes(3).toString('hex')}`;
    await docker(['create', '--name', container, '--network', network, '--ip', ip, ...ownedLabelArgs(), image]);
    await docker(['cp', `${tree}/.`, `${container}:/`]);
    await docker(['start', container]);
    writeFileSync(join(work, 'ca.crt'), ca.certPem);
  }, 1_800_000);

  afterAll(async () => {
    if (container) await docker(['rm', '-f', '-v', container], { allowFailure: true });
    for (const n of attached) await docker(['network', 'disconnect', '-f', network, n], { allowFailure: true });
    if (network) await docker(['network', 'rm', network], { allowFailure: true });
    if (ca) rmSync(ca.dir, { recursive: true, force: true });
    if (work) rmSync(work, { recursive: true, force: true });
    if (createdCluster) await execa('node', ['bin/pullcheck.js', 'cluster', 'down', ...NAME_ARGS], { cwd: ROOT, reject: false });
  }, 300_000);

  it('certifies the registry through the CLI, and the canary password is in no output', async () => {
    const reportDir = join(work, 'reports');
    const r = await execa(
      'node',
      [
        'bin/pullcheck.js',
        'run',
        ...NAME_ARGS,
        '--suite',
        'smoke,image-pull-secrets,registry',
        // The registry suite without its variants (pullcheck's own kinds, not the vendor's).
        '--focus',
        '^(smoke/|registry/[^/]+$|image-pull-secrets/(dockerconfigjson-secret-pulls|wrong-password-fails|no-secret-fails)$)',
        '--registry',
        `https://${ip}:5000`,
        '--registry-username',
        USER,
        '--registry-password-stdin',
        '--registry-ca',
        join(work, 'ca.crt'),
        // A vendor's project: every repository pullcheck pushes goes under it.
        '--registry-repository-prefix',
        'certbot-project',
        // For registries that allow no deeper nesting: every repository at depth 2.
        '--registry-repository-layout',
        'flat',
        '--report-dir',
        reportDir,
      ],
      {
        cwd: ROOT,
        input: CANARY,
        reject: false,
        all: true,
        env: { ...process.env, CI: 'true' },
      },
    );
    const console = r.all ?? '';
    expect({ exitCode: r.exitCode, tail: console.split('\n').slice(-15).join('\n') }).toEqual({
      exitCode: 0,
      tail: expect.stringContaining('0 failed') as unknown,
    });

    const results = JSON.parse(readFileSync(join(reportDir, 'latest', 'results.json'), 'utf8')) as RunResults;
    const [target] = results.targets;
    expect(target?.registry).toEqual({ mode: 'vendor', url: `https://${ip}:5000`, credentials: true });
    // The password really was used: scenarios pushed to the vendor's registry and pulled with it.
    const onVendor = target?.scenarios
      .filter((s) => s.registries?.includes(`${ip}:5000`))
      .map((s) => s.id)
      .sort();
    expect(onVendor).toEqual(
      expect.arrayContaining([
        'image-pull-secrets/dockerconfigjson-secret-pulls',
        'image-pull-secrets/wrong-password-fails',
        'smoke/private-image-without-credentials-fails',
      ]),
    );
    const auth = results.certification?.find((c) => c.capability.startsWith('auth enforced'));
    expect(auth?.status).toBe('passed');
    // skopeo read the vendor's registry with its CA and credentials from files, not the system store.
    const skopeo = target?.scenarios.find((s) => s.id === 'registry/skopeo-reads-what-pullcheck-pushed');
    expect({ status: skopeo?.status, registries: skopeo?.registries }).toEqual({ status: 'passed', registries: [`${ip}:5000`] });
    expect(results.certification?.find((c) => c.key === 'deletion')?.status).toBe('passed');

    // Every manifest pushed went under the project (the registry's own access log).
    const served = (await execa('docker', ['logs', container], { all: true, reject: false })).all ?? '';
    const pushed = parseAccessLog(served)
      .filter((e) => e.method === 'PUT' && e.uri.includes('/manifests/'))
      .map((e) => e.uri.slice('/v2/'.length));
    expect(pushed.length).toBeGreaterThan(0);
    expect(pushed.filter((repo) => !repo.startsWith('certbot-project/'))).toEqual([]);
    // The flat layout: `certbot-project/<name>`, two segments before /manifests/.
    expect(pushed.map((uri) => uri.split('/manifests/')[0] ?? '').filter((repo) => repo.split('/').length !== 2)).toEqual([]);

    // Left as found: the run deleted what it pushed, and no repository of the project has a tag.
    expect(results.registryCleanup).toEqual({ registry: `${ip}:5000`, deleted: expect.any(Number) as unknown, left: [] });
    expect(results.registryCleanup?.deleted).toBeGreaterThan(5);
    const client = new RegistryClient({ host: `${ip}:5000`, ca: ca.certPem, username: USER, password: CANARY });
    // What the catalog still lists under the project (distribution drops a repository whose last
    // manifest went), and every repository the access log shows a push to.
    const catalog = JSON.parse((await client.fetch('GET', '/v2/_catalog?n=10000')).body.toString('utf8')) as { repositories?: string[] };
    const pushedTo = pushed.map((uri) => uri.split('/manifests/')[0] ?? '');
    const ours = [...new Set([...(catalog.repositories ?? []).filter((r) => r.startsWith('certbot-project/')), ...pushedTo])];
    expect(ours.length).toBeGreaterThan(5);
    const tagged: string[] = [];
    for (const repository of ours) {
      const res = await client.fetch('GET', `/v2/${repository}/tags/list`);
      const tags = res.status === 200 ? ((JSON.parse(res.body.toString('utf8')) as { tags?: string[] | null }).tags ?? []) : [];
      if (tags.length) tagged.push(`${repository}: ${tags.join(', ')}`);
    }
    expect(tagged).toEqual([]);

    const logs = join(cacheDir(), 'logs');
    const files = [...filesUnder(reportDir), ...filesUnder(logs).filter((f) => statSync(f).mtimeMs >= started)];
    expect(files.length).toBeGreaterThan(5);
    const leaks: string[] = [];
    for (const form of canaryForms()) {
      if (console.includes(form)) leaks.push(`console: ${form.slice(0, 12)}…`);
      for (const f of files) if (readFileSync(f, 'latin1').includes(form)) leaks.push(`${f}: ${form.slice(0, 12)}…`);
    }
    expect(leaks).toEqual([]);
  }, 1_800_000);
});
