// One cause, one line: failures that share a cause are named once, with how many scenarios it
// explains, at the top of the console summary and of the report. Built from structured fields only:
// a blocked scenario's finding, and for plain failures the failed pulls their own pods observed on
// one node (an x509 error on one worker). Nobody parses a message back.
import type { ScenarioRecord, TargetResult } from './schema.ts';

export interface SharedCause {
  /** The nodes it was seen on, comma-separated, or "" for the cluster's or a registry's own cause. */
  node: string;
  /** The finding's line, or the failed pull's observation (`pull-failed:tls`). */
  cause: string;
  scenarios: string[];
  suites: string[];
  /** Whether the cause was named before the suites (a finding), or only seen in their failures. */
  named?: boolean;
}

function add(groups: Map<string, SharedCause>, key: string, init: () => SharedCause, s: ScenarioRecord): void {
  const g = groups.get(key) ?? init();
  if (!g.scenarios.includes(s.id)) g.scenarios.push(s.id);
  if (!g.suites.includes(s.suite)) g.suites.push(s.suite);
  groups.set(key, g);
}

/**
 * Each finding with the scenarios it blocks (a failing finding even with none), then failed pulls
 * shared by at least `min` failed scenarios on one node; most scenarios first.
 */
export function sharedCauses(targets: readonly TargetResult[], min = 3): SharedCause[] {
  const named = new Map<string, SharedCause>();
  for (const t of targets)
    for (const f of t.findings ?? [])
      if (f.fails && !named.has(f.line))
        named.set(f.line, { node: f.nodes.join(', '), cause: f.line, scenarios: [], suites: [], named: true });
  const seen = new Map<string, SharedCause>();
  for (const t of targets) {
    for (const s of t.scenarios) {
      if (s.status === 'blocked' && s.blockedBy) {
        const f = s.blockedBy;
        add(named, f.line, () => ({ node: f.nodes.join(', '), cause: f.line, scenarios: [], suites: [], named: true }), s);
      } else if (s.status === 'failed') {
        for (const p of s.observations ?? []) {
          const failedPull = p.observed.find((o) => o.startsWith('pull-failed:'));
          if (!failedPull || !p.node) continue;
          const node = p.node;
          add(seen, `${node}\u0000${failedPull}`, () => ({ node, cause: failedPull, scenarios: [], suites: [] }), s);
        }
      }
    }
  }
  const byCount = (a: SharedCause, b: SharedCause) => b.scenarios.length - a.scenarios.length;
  return [...[...named.values()].sort(byCount), ...[...seen.values()].filter((g) => g.scenarios.length >= min).sort(byCount)];
}

export function describeCause(c: SharedCause): string {
  if (c.named)
    return `${c.scenarios.length} scenario(s) in ${c.suites.length} suite(s) blocked by one cause named before the suites: ${c.cause}`;
  return `${c.scenarios.length} failures in ${c.suites.length} suite(s) share one cause on ${c.node}: ${c.cause}`;
}
