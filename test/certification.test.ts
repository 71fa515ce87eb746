import { describe, expect, it } from '@jest/globals';
import { certificationVerdict } from '../helpers/report/html.ts';
import type { ScenarioRecord, TargetResult } from '../helpers/report/schema.ts';
import type { CatalogEntry } from '../helpers/run/catalog.ts';
import { certificationGaps, certify, REQUIRED_CAPABILITIES } from '../helpers/run/certification.ts';
import { planRun } from '../helpers/run/plan.ts';

const HOST = 'r.example:5000';

function scenario(id: string, capabilities: string[], o: Partial<ScenarioRecord> = {}): ScenarioRecord {
  return {
    id,
    suite: id.split('/')[0] ?? '',
    title: id,
    status: 'passed',
    capabilities,
    rules: [],
    evidence: [],
    registries: [HOST],
    ...o,
  } as ScenarioRecord;
}

function target(scenarios: ScenarioRecord[]): TargetResult {
  return {
    name: 'v1',
    kubernetesVersion: 'v1.37.2',
    nodes: [],
    cluster: { provider: 'existing' },
    registry: { mode: 'vendor', url: `https://${HOST}` },
    startedAt: '',
    finishedAt: '',
    scenarios,
  } as unknown as TargetResult;
}

describe('certification', () => {
  it('has a pull-through line only for a cache (--registry-upstream), where it is required', () => {
    const plain = certify([target([scenario('registry-proxy/pull-through-private-upstream', ['pull-through'])])]);
    expect(plain.some((c) => c.key === 'pull-through')).toBe(false);
    const cacheTarget = (scenarios: ScenarioRecord[]) => {
      const t = target(scenarios);
      return { ...t, registry: { ...t.registry, upstream: 'https://up.example' } };
    };
    const proven = certify([cacheTarget([scenario('registry-proxy/pull-through-private-upstream', ['pull-through'])])]);
    expect(proven.find((c) => c.key === 'pull-through')).toMatchObject({ required: true, status: 'passed' });
    const untested = certify([cacheTarget([])]);
    expect(certificationGaps(untested)).toContain(
      'pull-through cache: nodes pull through it what was pushed to its upstream, a tag as the upstream moves it: not tested (no scenario declaring it ran against the registry)',
    );
  });

  it('a scenario the registry rate-limited neither fails nor passes its capability: not tested, with the reason', () => {
    const limited = scenario('registry/tag-moves', ['tag-moves'], {
      status: 'could-not-run',
      reason: "rate-limited: the registry r.example:5000 limited pullcheck's requests (429 TOOMANYREQUESTS)",
      rateLimited: { registry: HOST, detail: '429 TOOMANYREQUESTS' },
    });
    const item = certify([target([limited])]).find((c) => c.key === 'tag-moves');
    expect(item).toMatchObject({ status: 'not tested', verdicts: [{ id: 'registry/tag-moves', verdict: 'not tested' }] });
    expect(item?.verdicts?.[0]?.reason).toMatch(/^rate-limited/);
  });

  it('reads "not tested" for a capability no scenario exercised on the registry, never passed', () => {
    const items = certify([target([scenario('smoke/a', ['tls']), scenario('x/b', ['oci-index'], { registries: ['own:5000'] })])]);
    expect(items.find((c) => c.key === 'tls')?.status).toBe('passed');
    expect(items.find((c) => c.key === 'oci-index')?.status).toBe('not tested');
  });

  it('counts a scenario blocked by a registry cause as failed for the capability that cause disproves only (one cause, one capability)', () => {
    const line = 'the registry r.example:5000 serves its private images to anyone: every node pulled without the Secret';
    const items = certify([
      target([
        scenario('smoke/a', ['tls', 'auth-enforced'], {
          status: 'blocked',
          blockedBy: {
            source: 'probe',
            cause: 'serves-anyone',
            capability: 'auth-enforced',
            nodes: [],
            registry: 'r.example:5000',
            line,
            fails: true,
          },
          reason: `blocked: the pull probe found before the suites that ${line}; then: …`,
        }),
        scenario('smoke/b', ['tls']),
      ]),
    ]);
    const auth = items.find((c) => c.key === 'auth-enforced');
    expect(auth).toMatchObject({ status: 'failed', required: true, verdicts: [{ id: 'smoke/a', verdict: 'failed' }] });
    expect(items.find((c) => c.key === 'tls')?.status).toBe('passed');
    expect(certificationGaps(items)).toContainEqual(
      expect.stringMatching(/^auth enforced.*: failed in smoke\/a \(blocked: the pull probe/),
    );
  });

  it("does not blame the registry for a cause of the cluster's (node credentials): the capability is not proven, not failed", () => {
    const line =
      "pc-worker, pc-worker2 pulled a private image from r.example:5000 with no pull Secret: a credential of the node's own covers r.example";
    const items = certify([
      target([
        scenario('smoke/a', ['auth-enforced'], {
          status: 'blocked',
          blockedBy: {
            source: 'probe',
            cause: 'pulls-without-credentials',
            nodes: ['pc-worker', 'pc-worker2'],
            registry: 'r.example:5000',
            line,
            fails: true,
          },
          reason: `blocked: ${line}`,
        }),
      ]),
    ]);
    expect(items.find((c) => c.key === 'auth-enforced')?.status).toBe('not tested');
  });

  it('certifies only when every required capability passed', () => {
    const all = target(REQUIRED_CAPABILITIES.map((c) => scenario(`s/${c}`, [c])));
    expect(certificationGaps(certify([all]))).toEqual([]);
    const missing = target(REQUIRED_CAPABILITIES.filter((c) => c !== 'tag-moves').map((c) => scenario(`s/${c}`, [c])));
    expect(certificationGaps(certify([missing]))).toEqual([expect.stringMatching(/^tag moves.*: not tested/)]);
  });

  it('never requires what the OCI distribution spec leaves optional: deletion, chunked uploads', () => {
    expect(REQUIRED_CAPABILITIES).not.toContain('deletion');
    expect(REQUIRED_CAPABILITIES).not.toContain('chunked-upload');
    const items = certify([target(REQUIRED_CAPABILITIES.map((c) => scenario(`s/${c}`, [c])))]);
    expect(items.find((c) => c.key === 'deletion')).toMatchObject({ required: false, status: 'not tested' });
    expect(items.find((c) => c.key === 'chunked-upload')).toMatchObject({ required: false, status: 'not tested' });
    expect(certificationVerdict(items)).toBe('certified: every required capability passed');
  });

  it('reads an optional capability the registry refused as the spec allows as "not supported", and still certifies', () => {
    const refused = { capability: 'deletion', detail: '405 UNSUPPORTED' };
    const items = certify([
      target([
        ...REQUIRED_CAPABILITIES.map((c) => scenario(`s/${c}`, [c])),
        scenario('registry/deletion', ['deletion'], { status: 'not-applicable', notSupported: refused }),
        scenario('registry/private-deletion', ['deletion'], { status: 'not-applicable', notSupported: refused }),
      ]),
    ]);
    expect(items.find((c) => c.key === 'deletion')).toMatchObject({
      required: false,
      status: 'not supported',
      note: '405 UNSUPPORTED',
      verdicts: [
        { id: 'registry/deletion', verdict: 'not supported' },
        { id: 'registry/private-deletion', verdict: 'not supported' },
      ],
    });
    expect(certificationGaps(items)).toEqual([]);
    expect(certificationVerdict(items)).toBe(
      'certified: every required capability passed; optional deletion: not supported (405 UNSUPPORTED)',
    );
  });

  it('counts deletion passed when one scenario deleted, though another registry namespace refused it', () => {
    const items = certify([
      target([
        scenario('registry/deletion', ['deletion'], {
          status: 'not-applicable',
          notSupported: { capability: 'deletion', detail: '400 UNSUPPORTED' },
        }),
        scenario('registry/private-deletion', ['deletion']),
      ]),
    ]);
    expect(items.find((c) => c.key === 'deletion')?.status).toBe('passed');
  });

  it('does not let a required capability be "not supported": it is not proven', () => {
    const items = certify([
      target([
        scenario('s/t', ['tag-moves'], {
          status: 'not-applicable',
          notSupported: { capability: 'tag-moves', detail: '405' },
        }),
      ]),
    ]);
    expect(items.find((c) => c.key === 'tag-moves')?.status).toBe('not tested');
  });

  it('declares auth out of scope for a registry certified without credentials, and certifies it on the rest', () => {
    const rest = REQUIRED_CAPABILITIES.filter((c) => c !== 'auth-enforced' && c !== 'credentials-accepted');
    const anonymous = target(rest.map((c) => scenario(`s/${c}`, [c])));
    anonymous.registry.credentials = false;
    const items = certify([anonymous]);
    expect(items.find((c) => c.key === 'auth-enforced')).toMatchObject({
      status: 'out of scope',
      note: 'anonymous registry: auth-enforced and credentials-accepted not in scope',
    });
    expect(items.find((c) => c.key === 'credentials-accepted')?.status).toBe('out of scope');
    expect(certificationGaps(items)).toEqual([]);
    expect(certificationVerdict(items)).toBe(
      'certified: every required capability passed (anonymous registry: auth-enforced and credentials-accepted not in scope)',
    );
    // With credentials, the same run leaves auth not tested: a gap.
    anonymous.registry.credentials = true;
    expect(certificationGaps(certify([anonymous]))).toEqual([
      expect.stringMatching(/^auth enforced.*: not tested/),
      expect.stringMatching(/^credentials from Secrets.*: not tested/),
    ]);
  });

  it('pullcheck certify selects the scenarios that declare a capability', () => {
    const entry = (id: string, capabilities: string[]) =>
      ({
        id,
        suite: id.split('/')[0],
        group: id.split('/')[0],
        title: id,
        file: `${id.split('/')[0]}.ts`,
        nodes: 'shared',
        selftest: false,
        capabilities,
        needs: [],
      }) as unknown as CatalogEntry;
    const catalog = [entry('smoke/a', ['tls']), entry('posture/b', [])];
    expect(planRun(catalog, { suites: [], certify: true }).scenarios.map((e) => e.id)).toEqual(['smoke/a']);
    expect(planRun(catalog, { suites: [] }).scenarios.map((e) => e.id)).toEqual(['smoke/a', 'posture/b']);
  });
});
