// The certification summary of a vendor-registry run: each registry capability and the scenarios,
// declaring that capability, whose verdict proves it. Only scenarios that pushed to the vendor's
// registry count (a suite's second registry is pullcheck's own), so a capability no scenario
// exercised there is "skipped", never "passed".
import { CAPABILITIES, type Capability } from '../framework/declaration.ts';
import type { CertificationItem, ScenarioRecord, ScenarioStatus, TargetResult } from '../report/schema.ts';

function vendorScenarios(target: TargetResult): ScenarioRecord[] {
  const url = target.registry.url;
  if (target.registry.mode !== 'vendor' || !url) return [];
  const host = new URL(url).host;
  return target.scenarios.filter((s) => !s.selftest && (s.registries ?? []).includes(host));
}

export function certify(targets: readonly TargetResult[]): CertificationItem[] {
  const ran = targets.flatMap(vendorScenarios);
  return (Object.keys(CAPABILITIES) as Capability[]).map((key) => {
    const matching = ran.filter((s) => (s.capabilities ?? []).includes(key));
    let status: ScenarioStatus = 'skipped';
    // Blocked by a cause the run found first (a node that cannot pull from the registry) is not certified either.
    if (matching.some((s) => s.status === 'failed' || s.skip === 'blocked')) status = 'failed';
    else if (matching.some((s) => s.status === 'passed')) status = 'passed';
    return { capability: CAPABILITIES[key], status, scenarios: [...new Set(matching.map((s) => s.id))].sort() };
  });
}
