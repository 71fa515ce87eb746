// The certification summary of a vendor-registry run: each registry capability and the scenarios
// whose verdict proves it. Only scenarios that pushed to the vendor's registry count (a suite's
// second registry is pullcheck's own), so a capability no scenario exercised there is "skipped",
// never "passed".
import type { CertificationItem, ScenarioRecord, ScenarioStatus, TargetResult } from '../report/schema.ts';

export const CAPABILITIES: readonly { capability: string; scenarios: RegExp }[] = [
  { capability: 'TLS: nodes pull over HTTPS', scenarios: /^(registry\/node-pulls-|smoke\/(public-image-runs|private-image-without-credentials-fails)$)/ },
  { capability: 'auth enforced: no or wrong credentials are refused', scenarios: /^(registry\/private-requires-auth|image-pull-secrets\/(no-secret-fails|wrong-password-fails)|smoke\/private-image-without-credentials-fails)$/ },
  { capability: 'credentials from Secrets, ServiceAccounts and nodes accepted', scenarios: /^(image-pull-secrets\/(dockerconfigjson-secret-pulls|from-existing-config-file|legacy-dockercfg-secret)|service-account\/|node-credentials\/root-dir-config-json$)/ },
  { capability: 'OCI image index', scenarios: /^(registry\/node-pulls-oci-index-|multi-arch\/oci-index-)/ },
  { capability: 'Docker manifest list', scenarios: /^(registry\/node-pulls-docker-manifest-list-|multi-arch\/docker-manifest-list-)/ },
  { capability: 'platform selection', scenarios: /^multi-arch\// },
  { capability: 'tag moves and deletes', scenarios: /^(registry\/tag-moves-and-deletes|pull-policy\/(always-repulls-moved-tag|ifnotpresent-keeps-cached))$/ },
  { capability: 'chunked blob uploads', scenarios: /^registry\/chunked-upload$/ },
  { capability: 'token (Bearer) auth', scenarios: /^registry\/token-auth/ },
];

function vendorScenarios(target: TargetResult): ScenarioRecord[] {
  const url = target.registry.url;
  if (target.registry.mode !== 'vendor' || !url) return [];
  const host = new URL(url).host;
  return target.scenarios.filter((s) => (s.registries ?? []).includes(host));
}

export function certify(targets: readonly TargetResult[]): CertificationItem[] {
  const ran = targets.flatMap(vendorScenarios);
  return CAPABILITIES.map(({ capability, scenarios }) => {
    const matching = ran.filter((s) => scenarios.test(s.id));
    let status: ScenarioStatus = 'skipped';
    if (matching.some((s) => s.status === 'failed')) status = 'failed';
    else if (matching.some((s) => s.status === 'passed')) status = 'passed';
    return { capability, status, scenarios: [...new Set(matching.map((s) => s.id))].sort() };
  });
}
