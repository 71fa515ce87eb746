// `pullcheck upgrade` without a cluster: which upgrades kubeadm takes (one minor at a time, forwards
// only), --from/--to as options, and that upgrade/* runs only in the upgrade's halves.
import { upgradePathError } from '../helpers/cluster/upgrade.ts';
import { parseKubernetesVersion } from '../helpers/infra/versions.ts';
import type { CatalogEntry } from '../helpers/run/catalog.ts';
import { resolveRunOptions, UsageError } from '../helpers/run/options.ts';
import { planRun } from '../helpers/run/plan.ts';

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
    [{ from: 'v1.36.3', to: 'v1.37.2', k8s: 'v1.37.2' }, /drop --kubeconfig and --k8s/],
  ])('refuses %j', (flags, message) => {
    expect(() => resolveRunOptions(flags, {})).toThrow(UsageError);
    expect(() => resolveRunOptions(flags, {})).toThrow(message);
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
