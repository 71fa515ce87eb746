// The certification of a vendor-registry run: each registry capability, the scenarios declaring it
// whose verdicts prove it, and its verdict. Only scenarios that pushed to the vendor's registry count
// (a suite's second registry is pullcheck's own), so a capability no scenario exercised there reads
// "not tested", never "passed"; a blocked scenario (its failure explained by a cause the run found
// first) does not certify either, and fails only the capability its cause disproves.
import { CAPABILITIES, type Capability } from '../framework/declaration.ts';
import type { CertificationItem, CertificationStatus, Finding, ScenarioRecord, TargetResult } from '../report/schema.ts';

/**
 * What every registry a cluster pulls from must do. The others are what the OCI distribution spec
 * leaves optional (deletion; chunked uploads, where a client may push monolithically): reported as
 * passed, or "not supported" when the registry refuses them as the spec allows, never required
 * (docs/capabilities.md quotes the spec on each).
 */
export const REQUIRED_CAPABILITIES: readonly Capability[] = [
  'tls',
  'auth-enforced',
  'credentials-accepted',
  'oci-index',
  'docker-manifest-list',
  'platform-selection',
  'tag-moves',
];

/**
 * Certified without credentials, a registry is anonymous by declaration: whether it enforces auth
 * and takes credentials is not in question (its auth scenarios run against pullcheck's own registries).
 */
const AUTH_CAPABILITIES: readonly Capability[] = ['auth-enforced', 'credentials-accepted'];
export const ANONYMOUS_NOTE = 'anonymous registry: auth-enforced and credentials-accepted not in scope';

/**
 * Certified pull-only (`--registry-preseeded`): the vendor declares that pullcheck may not write
 * there, so what only a push can prove (a tag moved, deletion, chunked uploads) is not in question;
 * every other capability is proven on the references the vendor seeded.
 */
const PUSH_CAPABILITIES: readonly Capability[] = ['tag-moves', 'deletion', 'chunked-upload'];
export const PULL_ONLY_NOTE = 'pull-only registry (--registry-preseeded): tag-moves, deletion and chunked-upload not in scope';
export const PULL_ONLY_PROVEN = "proven in pull-only mode, on the vendor's pre-seeded references";

export function pullOnlyVendor(targets: readonly TargetResult[]): boolean {
  const vendors = targets.filter((t) => t.registry.mode === 'vendor');
  return vendors.length > 0 && vendors.every((t) => t.registry.pullOnly === true);
}

/** Certified as a pull-through cache (`--registry-upstream`): then pull-through is required. */
function pullThroughCache(targets: readonly TargetResult[]): boolean {
  const vendors = targets.filter((t) => t.registry.mode === 'vendor');
  return vendors.length > 0 && vendors.every((t) => Boolean(t.registry.upstream));
}

function anonymousVendor(targets: readonly TargetResult[]): boolean {
  const vendors = targets.filter((t) => t.registry.mode === 'vendor');
  return vendors.length > 0 && vendors.every((t) => t.registry.credentials === false);
}

function vendorScenarios(target: TargetResult): ScenarioRecord[] {
  const url = target.registry.url;
  if (target.registry.mode !== 'vendor' || !url) return [];
  const host = new URL(url).host;
  return target.scenarios.filter((s) => !s.selftest && (s.registries ?? []).includes(host));
}

/**
 * A scenario's verdict on one capability. A blocked one fails only the capability its finding
 * disproves (the registry's own cause: `capability` on the finding); for the others it proves nothing
 * either way. A verdict proven on the node side alone does not count for the registry side.
 */
function verdictOf(s: ScenarioRecord, key: Capability): CertificationStatus | undefined {
  // Only an optional capability can be "not supported"; a required one the registry refuses is not proven.
  if (s.notSupported?.capability === key) return REQUIRED_CAPABILITIES.includes(key) ? undefined : 'not supported';
  if (s.status === 'blocked') return s.blockedBy?.capability === key ? 'failed' : undefined;
  // The registry limited pullcheck's rate: the capability was not exercised, neither failed nor passed.
  if (s.rateLimited) return undefined;
  if (s.status === 'failed' || s.status === 'could-not-run') return 'failed';
  // Proven on the node side alone (the registry's log cannot be read): not the registry's half.
  if (s.status === 'passed') return s.proven === 'node side only' ? undefined : 'passed';
  return undefined;
}

/** Findings that blame the vendor registry itself (no node named), with the capability they disprove. */
function registryFindings(targets: readonly TargetResult[]): Finding[] {
  return targets.flatMap((t) => {
    const url = t.registry.url;
    if (t.registry.mode !== 'vendor' || !url) return [];
    const host = new URL(url).host;
    return (t.findings ?? []).filter((f) => f.fails && f.capability && f.registry === host && f.nodes.length === 0);
  });
}

export function certify(targets: readonly TargetResult[]): CertificationItem[] {
  const ran = targets.flatMap(vendorScenarios);
  const anonymous = anonymousVendor(targets);
  const cache = pullThroughCache(targets);
  const pullOnly = pullOnlyVendor(targets);
  // pull-through is a capability of a cache alone: a registry certified without --registry-upstream has no such line.
  const keys = (Object.keys(CAPABILITIES) as Capability[]).filter((key) => key !== 'pull-through' || cache);
  const outOfScope = (key: Capability, note: string) => ({
    key,
    capability: CAPABILITIES[key],
    required: REQUIRED_CAPABILITIES.includes(key),
    status: 'out of scope' as const,
    scenarios: [],
    verdicts: [],
    note,
  });
  return keys.map((key) => {
    if (anonymous && AUTH_CAPABILITIES.includes(key)) return outOfScope(key, ANONYMOUS_NOTE);
    if (pullOnly && PUSH_CAPABILITIES.includes(key)) return outOfScope(key, PULL_ONLY_NOTE);
    const matching = ran.filter((s) => (s.capabilities ?? []).includes(key));
    const verdicts = [
      ...matching.map((s) => ({
        id: s.id,
        verdict: verdictOf(s, key) ?? 'not tested',
        ...(s.reason
          ? { reason: s.reason.split('\n')[0] ?? '' }
          : s.proven
            ? { reason: `${s.proven}: the registry's side of the claim could not be read, so it does not certify` }
            : {}),
      })),
      // The registry's own cause, found before the suites, disproves its capability whether or not a
      // scenario of it was blocked.
      ...registryFindings(targets)
        .filter((f) => f.capability === key)
        .map((f) => ({ id: `${f.source}: ${f.cause}`, verdict: 'failed' as const, reason: f.line })),
    ];
    let status: CertificationStatus = 'not tested';
    if (verdicts.some((v) => v.verdict === 'failed')) status = 'failed';
    else if (verdicts.some((v) => v.verdict === 'passed')) status = 'passed';
    else if (verdicts.some((v) => v.verdict === 'not supported')) status = 'not supported';
    const refused = status === 'not supported' ? matching.find((s) => s.notSupported?.capability === key)?.notSupported : undefined;
    return {
      key,
      capability: CAPABILITIES[key],
      required: REQUIRED_CAPABILITIES.includes(key) || (key === 'pull-through' && cache),
      status,
      scenarios: [...new Set(matching.map((s) => s.id))].sort(),
      verdicts: verdicts.sort((a, b) => a.id.localeCompare(b.id)),
      ...(refused ? { note: refused.detail } : pullOnly && status === 'passed' ? { note: PULL_ONLY_PROVEN } : {}),
    };
  });
}

/** Why the registry is not certified: each required capability that failed or was not tested. */
export function certificationGaps(items: readonly CertificationItem[]): string[] {
  return items
    .filter((c) => c.required && c.status !== 'passed' && c.status !== 'out of scope')
    .map((c) => {
      if (c.status === 'not tested') return `${c.capability}: not tested (no scenario declaring it ran against the registry)`;
      const failed = (c.verdicts ?? []).filter((v) => v.verdict === 'failed');
      return `${c.capability}: failed in ${failed.map((v) => `${v.id}${v.reason ? ` (${v.reason})` : ''}`).join('; ')}`;
    });
}
