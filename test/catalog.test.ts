// The catalog reads what suites declare, importing them as `pullcheck list` does: outside jest, in a
// process of its own (here jest's globals would make the declarations register tests).

import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { CAPABILITIES } from '../helpers/framework/declaration.ts';
import { ENGLISH_PAGE_SECTIONS, PAGE_SECTIONS, sectionsOf } from '../helpers/report/page.ts';
import type { CatalogEntry } from '../helpers/run/catalog.ts';
import { planRun } from '../helpers/run/plan.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

async function catalog(): Promise<CatalogEntry[]> {
  const script =
    "const { loadCatalog, SUITES_DIR, SELFTEST_DIR } = await import('./helpers/run/catalog.ts'); process.stdout.write(JSON.stringify(await loadCatalog([SUITES_DIR, SELFTEST_DIR])));";
  const { stdout } = await execa(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT });
  return JSON.parse(stdout) as CatalogEntry[];
}

describe('catalog', () => {
  let all: CatalogEntry[];
  beforeAll(async () => {
    all = await catalog();
  }, 120_000);

  it('lists every conformance scenario once, and the self-tests apart', () => {
    const conformance = all.filter((e) => !e.selftest);
    expect(new Set(all.map((e) => e.id)).size).toBe(all.length);
    expect(conformance.length).toBeGreaterThanOrEqual(94);
    expect([...new Set(all.filter((e) => e.selftest).map((e) => e.suite))].sort()).toEqual(['cleanup', 'node-agent', 'node-lock']);
    for (const e of all) expect(e.id.startsWith(`${e.group}/`)).toBe(true);
  });

  it('has, for every certification capability, a scenario that proves it (none can never run)', () => {
    const conformance = all.filter((e) => !e.selftest);
    for (const capability of Object.keys(CAPABILITIES)) {
      const proving = conformance.filter((e) => (e.capabilities as string[]).includes(capability)).map((e) => e.id);
      expect({ capability, proving: proving.length > 0 }).toEqual({ capability, proving: true });
    }
  });

  it('--in-cluster leaves out the registry variants (their registry kinds are containers) and nothing else', () => {
    const smoke = planRun(all, { suites: ['smoke'] }).scenarios;
    const inCluster = planRun(all, { suites: ['smoke'], inCluster: true }).scenarios.map((e) => e.id);
    expect(smoke.some((e) => e.variant)).toBe(true);
    expect(inCluster).toEqual(smoke.filter((e) => !e.variant).map((e) => e.id));
    expect(inCluster.length).toBeGreaterThan(0);
  });

  it('splits a selection into shards that are disjoint, cover it, and do not move when the count stays', () => {
    const whole = planRun(all, { suites: [] }).scenarios.map((e) => e.id);
    const parts = [1, 2, 3].map((index) => planRun(all, { suites: [], shard: { index, count: 3 } }).scenarios.map((e) => e.id));
    expect(parts.flat().sort()).toEqual([...whole].sort());
    expect(new Set(parts.flat()).size).toBe(whole.length);
    for (const p of parts) expect(p.length).toBeGreaterThan(whole.length / 6);
    // by ID alone: a narrower selection keeps each scenario in its shard
    const smoke = planRun(all, { suites: ['registry'], shard: { index: 2, count: 3 } }).scenarios.map((e) => e.id);
    for (const id of smoke) expect(parts[1]).toContain(id);
  });

  it('takes into --suite use-cases the use case declared in always-pull-images', () => {
    const ids = planRun(all, { suites: ['use-cases'] }).scenarios.map((e) => e.id);
    expect(ids).toContain('use-cases/proprietary-always-pull-with-secrets');
    expect(ids.every((id) => id.startsWith('use-cases/'))).toBe(true);
  });

  it('names the registry kind in the IDs of variant scenarios, keeps the originals, and leaves them out of certify', () => {
    const ids = all.map((e) => e.id);
    for (const [variant, suites] of [
      ['token-auth', ['smoke', 'registry', 'image-pull-secrets']],
      ['ggcr', ['smoke', 'registry']],
    ] as const)
      for (const suite of suites) {
        const mine = all.filter((e) => e.suite === suite && e.variant === variant);
        expect({ suite, variant, count: mine.length > 0 }).toEqual({ suite, variant, count: true });
        for (const e of mine) {
          expect(e.id.startsWith(`${suite}/${variant}/`)).toBe(true);
          expect(ids).toContain(e.id.replace(`/${variant}/`, '/'));
        }
      }
    expect(planRun(all, { suites: ['smoke'] }).scenarios.map((e) => e.id)).toContain(
      'smoke/token-auth/private-image-without-credentials-fails',
    );
    expect(planRun(all, { suites: [], certify: true }).scenarios.filter((e) => e.variant)).toEqual([]);
  });

  it('runs the suites that change nodes under locks', () => {
    const locked = [...new Set(all.filter((e) => e.nodes === 'locked').map((e) => e.suite))].sort();
    expect(locked).toEqual([
      'config-json',
      'credential-provider',
      'ensure-secret-pulled',
      'image-pull-secrets',
      'node-credentials',
      'pull-concurrency',
      'registry-mirrors',
      'upgrade',
      'use-cases',
    ]);
  });

  it('keeps upgrade/* for pullcheck upgrade: in no default selection', () => {
    expect(all.filter((e) => e.upgrade).map((e) => e.suite)).toEqual(all.filter((e) => e.suite === 'upgrade').map(() => 'upgrade'));
    expect(planRun(all, { suites: [] }).scenarios.some((e) => e.upgrade)).toBe(false);
  });

  // The report's page view: a stale ID in the map would leave a section claiming nothing; a new suite
  // must be placed under a section, or among what the page takes for granted, on purpose.
  it('maps every ID the documentation page view names to a scenario, and every scenario to a section or to what the page takes for granted', () => {
    const ids = all.filter((e) => !e.selftest).map((e) => e.id);
    for (const section of PAGE_SECTIONS)
      for (const p of section.scenarios)
        expect([p, ids.some((id) => (p.endsWith('/') || p.endsWith('-') ? id.startsWith(p) : id === p))]).toEqual([p, true]);
    const beyond = new Set(ids.filter((id) => sectionsOf(id).length === 0).map((id) => id.split('/')[0]));
    expect([...beyond].sort()).toEqual([
      'posture',
      'pull-concurrency',
      'registry',
      'registry-independent',
      'registry-mirrors',
      'registry-proxy',
      'registry-rate-limit',
      'registry-redirect',
      'upgrade',
    ]);
  });

  it("maps the English edition's sections the same way: each ID names a scenario; what it documents beyond the seed is placed", () => {
    const ids = all.filter((e) => !e.selftest).map((e) => e.id);
    const named = (p: string) => ids.some((id) => (p.endsWith('/') || p.endsWith('-') ? id.startsWith(p) : id === p));
    for (const section of ENGLISH_PAGE_SECTIONS) {
      for (const p of section.scenarios) expect([p, named(p)]).toEqual([p, true]);
      // A section no scenario tests says why.
      if (section.scenarios.length === 0) expect([section.heading, Boolean(section.notCovered)]).toEqual([section.heading, true]);
    }
    const beyondSeed = ids.filter(
      (id) => sectionsOf(id).length === 0 && !id.startsWith('registry') && !id.startsWith('posture/') && !id.startsWith('upgrade/'),
    );
    expect(beyondSeed.filter((id) => sectionsOf(id, ENGLISH_PAGE_SECTIONS).length === 0)).toEqual([]);
  });
});
