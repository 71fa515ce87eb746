// `pullcheck upgrade` without a cluster: which upgrades kubeadm takes (one minor at a time, forwards
// only), --from/--to as options, and that upgrade/* runs only in the upgrade's halves.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { upgradePathError } from '../helpers/cluster/upgrade.ts';
import { parseKubernetesVersion } from '../helpers/infra/versions.ts';
import { RESULTS_SCHEMA, type UpgradeBaseline } from '../helpers/report/schema.ts';
import type { CatalogEntry } from '../helpers/run/catalog.ts';
import { type RunFlags, resolveRunOptions, UsageError } from '../helpers/run/options.ts';
import { planRun } from '../helpers/run/plan.ts';
import { afterHalfError } from '../helpers/run/upgradehalf.ts';

const v = parseKubernetesVersion;

describe('upgradePathError', () => {
  it.each([
    ['v1.36.3', 'v1.37.2'],
    ['v1.37.0', 'v1.37.2'],
  ])('takes %s → %s', (from, to) => {
    expect(upgradePathError(v(from), v(to))).toBeUndefined();
  });

  it.each([
    ['v1.35.4', 'v1.37.2', /skips a minor version, which kubeadm refuses: upgrade one minor at a time \(e\.g\. --to v1\.36\.x\)/],
    ['v1.37.2', 'v1.36.3', /--to v1\.36\.3 is older than --from v1\.37\.2: kubeadm upgrades only forwards/],
    ['v1.37.2', 'v1.37.1', /older than --from/],
    ['v1.37.2', 'v1.37.2', /--from and --to are both v1\.37\.2/],
    ['v1.37.2', 'v2.0.0', /skips a minor version/],
  ])('refuses %s → %s', (from, to, message) => {
    expect(upgradePathError(v(from), v(to))).toMatch(message);
  });
});

describe('--from/--to', () => {
  it('reads both', () => {
    const o = resolveRunOptions({ from: 'v1.36.3', to: '1.37.2' }, {});
    expect(o.upgrade?.from.raw).toBe('v1.36.3');
    expect(o.upgrade?.to.raw).toBe('v1.37.2');
  });

  it.each([
    [{ from: 'v1.36.3' }, /needs both --from and --to/],
    [{ from: 'v1.36', to: 'v1.37.2' }, /--from: not a Kubernetes release version/],
    [{ from: 'v1.36.3', to: 'v1.37.2', k8s: 'v1.37.2' }, /--from\/--to name both versions of the upgrade: drop --k8s/],
  ])('refuses %j', (flags, message) => {
    expect(() => resolveRunOptions(flags, {})).toThrow(UsageError);
    expect(() => resolveRunOptions(flags, {})).toThrow(message);
  });
});

describe('the --kubeconfig form: --before, then --after --baseline', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pullcheck-upgrade-half-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, 'apiVersion: v1\nkind: Config\n');
  const upgrade: UpgradeBaseline = {
    half: 'before',
    from: 'v1.36.3',
    clusterUid: 'uid-a',
    server: 'https://127.0.0.1:6443',
    registry: 'https://reg:5000',
    state: { 'upgrade/x': { node: 'n' } },
  };
  const results = (u?: UpgradeBaseline) => {
    const file = join(dir, `results-${u ? 'before' : 'plain'}.json`);
    writeFileSync(file, JSON.stringify({ schema: RESULTS_SCHEMA, runId: 'r1', targets: [], ...(u ? { upgrade: u } : {}) }));
    return file;
  };

  it('reads --before, and --after with the before run as its baseline (not a run to compare with)', () => {
    expect(resolveRunOptions({ kubeconfig, before: true }, {}).upgradeHalf).toEqual({ half: 'before' });
    const o = resolveRunOptions({ kubeconfig, after: true, baseline: results(upgrade) }, {});
    expect(o.upgradeHalf?.half === 'after' && o.upgradeHalf.baseline.results.upgrade).toEqual(upgrade);
    expect(o.baseline).toBeUndefined();
  });

  it.each([
    [{ before: true, after: true }, /--before and --after are two commands/],
    [{ after: true }, /--after needs --baseline reports\/<run>\/results\.json/],
    [{ from: 'v1.36.3', to: 'v1.37.2' }, /drop --from\/--to and run --before/],
    [{ after: true, baseline: 'a run that was not --before' }, /is not the report of a pullcheck upgrade --before run/],
  ])('refuses %j', (flags: RunFlags, message) => {
    const f = { kubeconfig, ...flags, ...(flags.baseline ? { baseline: results() } : {}) };
    expect(() => resolveRunOptions(f, {})).toThrow(UsageError);
    expect(() => resolveRunOptions(f, {})).toThrow(message);
  });

  it('refuses --before without --kubeconfig', () => {
    expect(() => resolveRunOptions({ before: true }, {})).toThrow(/add --kubeconfig PATH/);
  });

  const now = { uid: 'uid-a', server: 'https://127.0.0.1:6443', version: 'v1.37.2' };
  const check = (n: Partial<typeof now>, registry = upgrade.registry) =>
    afterHalfError({ file: 'b.json', upgrade }, { ...now, ...n }, registry);
  it('takes the same cluster, upgraded, with the same registry', () => {
    expect(check({})).toBeUndefined();
    expect(check({ version: 'v1.36.4' })).toBeUndefined();
  });
  it.each([
    [
      { uid: 'uid-b' },
      undefined,
      /b\.json was written on another cluster .*kube-system UID uid-a; this one: .*uid-b\): pass the --kubeconfig/,
    ],
    [
      {},
      'https://other:5000',
      /--registry https:\/\/other:5000 is not the registry the --before run pushed to: pass --registry https:\/\/reg:5000/,
    ],
    [{ version: 'v1.36.3' }, undefined, /the cluster still runs v1\.36\.3, as in the --before run: upgrade it/],
    [{ version: 'v1.35.9' }, undefined, /older than the v1\.36\.3 of the --before run/],
  ])('refuses %j with registry %s', (n, registry, message) => {
    expect(check(n, registry)).toMatch(message);
  });
});

describe('upgrade/* in a plan', () => {
  const entry = (suite: string, name: string, upgrade = false): CatalogEntry => ({
    suite,
    group: suite,
    id: `${suite}/${name}`,
    title: name,
    file: `/suites/${suite}.test.ts`,
    nodes: 'shared',
    selftest: false,
    upgrade,
    capabilities: [],
    needs: [],
  });
  const catalog = [entry('smoke', 'public-image-runs'), entry('upgrade', 'pre-pulled-image-kept', true)];

  it('is left out of the default selection and makes the halves alone', () => {
    expect(planRun(catalog, { suites: [] }).scenarios.map((e) => e.id)).toEqual(['smoke/public-image-runs']);
    expect(planRun(catalog, { suites: [], upgradeHalves: true }).scenarios.map((e) => e.id)).toEqual(['upgrade/pre-pulled-image-kept']);
  });

  it('is refused by name outside pullcheck upgrade', () => {
    expect(() => planRun(catalog, { suites: ['upgrade'] })).toThrow(
      /runs around an in-place upgrade: use pullcheck upgrade --from vX --to vY/,
    );
  });
});
