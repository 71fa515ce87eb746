// One cause, one line: failures that share a node and a runtime cause (an x509 error on one worker,
// a registry that refuses every credential) are named once, with how many scenarios they explain,
// at the top of the console summary and of the report, instead of only dozens of times below.
import type { ScenarioRecord, TargetResult } from './schema.ts';

export interface SharedCause {
  /** The node the failures happened on, or "" when their headlines name none. */
  node: string;
  /** The runtime's own words, with run-specific names (registries, namespaces, digests) generalised. */
  cause: string;
  scenarios: string[];
  suites: string[];
}

/** Scenario-specific parts of a message, so that the same cause reads the same in every scenario. */
export function generalise(text: string): string {
  return text
    .replace(/pullcheck-reg-[0-9a-f]+-([a-z0-9-]+)/g, 'pullcheck-reg-*-$1')
    .replace(/\bpc-[0-9a-f]{6}-[a-z0-9-]+/g, 'pc-*')
    .replace(/sha256:[0-9a-f]{12,64}/g, 'sha256:…')
    .replace(/"[^"]*"/g, '"…"')
    .replace(/:[0-9a-f]{6}-[a-z0-9-]+-\d+\b/g, ':TAG');
}

/** The node a failure headline names (`… on NODE should …`, `NODE: …`). */
function nodeOf(line: string): string {
  return /\bon ([a-z0-9][a-z0-9.-]*) (?:should|ran|failed)\b/.exec(line)?.[1] ?? '';
}

/** The innermost cause of a failure headline: the last two `: `-separated parts of kubelet's words. */
export function causeOf(line: string): string {
  const said = line.includes('kubelet says: ') ? line.slice(line.indexOf('kubelet says: ') + 14) : line;
  const parts = said.split(': ');
  return generalise(parts.slice(-2).join(': ').trim());
}

/** Causes shared by at least `min` failures (any number, for a posture mismatch), most first. */
export function sharedCauses(targets: readonly TargetResult[], min = 3): SharedCause[] {
  const groups = new Map<string, SharedCause>();
  for (const t of targets) {
    for (const s of t.scenarios.filter((x: ScenarioRecord) => x.status === 'failed' || x.skip === 'blocked')) {
      const line = (s.reason ?? '').split('\n')[0] ?? '';
      const node = s.explainedBy ? '' : nodeOf(line);
      const cause = s.explainedBy ? `posture: ${s.explainedBy}` : causeOf(line);
      if (!cause) continue;
      const key = `${node}\u0000${cause}`;
      const g = groups.get(key) ?? { node, cause, scenarios: [], suites: [] };
      g.scenarios.push(s.id);
      if (!g.suites.includes(s.suite)) g.suites.push(s.suite);
      groups.set(key, g);
    }
  }
  return [...groups.values()]
    .filter((g) => g.scenarios.length >= min || g.cause.startsWith('posture: '))
    .sort((a, b) => b.scenarios.length - a.scenarios.length);
}

export function describeCause(c: SharedCause): string {
  if (c.cause.startsWith('posture: '))
    return `${c.scenarios.length} scenario(s) in ${c.suites.length} suite(s) blocked by one cause: ${c.cause}`;
  return `${c.scenarios.length} failures in ${c.suites.length} suite(s) share one cause${c.node ? ` on ${c.node}` : ''}: ${c.cause}`;
}
