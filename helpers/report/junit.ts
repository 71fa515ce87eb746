// JUnit XML for CI systems that draw test tabs from it. One <testsuite> per target and suite, so that
// a scenario that fails on one Kubernetes version only is told apart by its suite name.
import { type Finding, type RunResults, type ScenarioRecord, summarize, type TargetResult } from './schema.ts';
import { STATUS_WORDS } from './verdict.ts';

/**
 * XML 1.0 cannot carry most control characters even as character references, and a reason may hold
 * them (terminal colours in a command's stderr): they become visible `\uXXXX` text instead.
 */
function xmlText(s: string): string {
  return s
    .replace(
      /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
    )
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;');
}

/** Attribute values are normalised by XML parsers: line breaks and tabs survive only as references. */
function xmlAttr(s: string): string {
  return xmlText(s).replace(/"/g, '&quot;').replace(/'/g, '&apos;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;').replace(/\t/g, '&#9;');
}

function attrs(pairs: Record<string, string | number>): string {
  return Object.entries(pairs)
    .map(([k, v]) => ` ${k}="${xmlAttr(String(v))}"`)
    .join('');
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(3);
}

function firstLine(s: string): string {
  return (
    s
      .split('\n')
      .find((l) => l.trim() !== '')
      ?.trim() ?? ''
  );
}

/** Evidence paths are relative to the target directory; junit.xml sits one level up, in the run directory. */
function evidencePaths(target: TargetResult, record: ScenarioRecord): string[] {
  return record.evidence.map((e) => `${target.name}/${e}`);
}

/**
 * Passed: a bare testcase. Failed and blocked: `<failure>` (blocked with its cause first: a failure
 * whose cause was named before is still a failure). Could not run: `<error>`. Not applicable:
 * `<skipped>` with the reason: the only verdict a CI view may show as skipped.
 */
function testcase(target: TargetResult, r: ScenarioRecord): string {
  const head = `    <testcase${attrs({ classname: r.suite, name: r.id, time: seconds(r.durationMs) })}`;
  if (r.status === 'passed') return `${head}/>`;
  if (r.status === 'not-applicable')
    return `${head}>\n      <skipped${attrs({ message: `not applicable: ${r.reason ?? ''}` })}/>\n    </testcase>`;
  const reason = r.reason ?? '(no reason recorded)';
  const evidence = evidencePaths(target, r);
  const body = evidence.length ? `${reason}\n\nevidence:\n${evidence.join('\n')}` : reason;
  // Jenkins' JUnit attachments convention: CI servers that know it link the evidence files.
  const attachments = evidence.length
    ? `\n      <system-out>${xmlText(evidence.map((e) => `[[ATTACHMENT|${e}]]`).join('\n'))}</system-out>`
    : '';
  const element = r.status === 'could-not-run' ? 'error' : 'failure';
  const message = r.status === 'blocked' && r.blockedBy ? `blocked by: ${r.blockedBy.line}` : firstLine(reason);
  return `${head}>\n      <${element}${attrs({ message, type: r.status === 'failed' ? 'failure' : STATUS_WORDS[r.status] })}>${xmlText(body)}</${element}>${attachments}\n    </testcase>`;
}

/** A finding that fails the run is a failed testcase of its own, so that a CI view counts it. */
function findingCase(f: Finding): string {
  const name = `${f.source}: ${f.cause}${f.nodes.length ? ` on ${f.nodes.join(', ')}` : ''}${f.registry ? ` (${f.registry})` : ''}`;
  return `    <testcase${attrs({ classname: 'pullcheck.findings', name, time: '0.000' })}>\n      <failure${attrs({ message: f.line, type: f.source })}>${xmlText(f.line)}</failure>\n    </testcase>`;
}

interface Suite {
  xml: string;
  tests: number;
  failures: number;
  errors: number;
  skipped: number;
  ms: number;
}

/** A testsuite of pullcheck's own (not a scenario suite), every case of it failed or in error. */
function ownSuite(
  target: TargetResult,
  props: string,
  what: string,
  cases: readonly string[],
  counts: { failures: number; errors: number },
): Suite {
  const tally = { tests: cases.length, ...counts, skipped: 0 };
  const head = attrs({ name: `${target.name} (${what})`, ...tally, time: '0.000', timestamp: target.startedAt });
  return { xml: `  <testsuite${head}>\n${props}\n${cases.join('\n')}\n  </testsuite>`, ...tally, ms: 0 };
}

function suitesOf(target: TargetResult): Suite[] {
  const bySuite = new Map<string, ScenarioRecord[]>();
  for (const r of target.scenarios) bySuite.set(r.suite, [...(bySuite.get(r.suite) ?? []), r]);
  const properties: [string, string][] = [
    ['kubernetesVersion', target.kubernetesVersion],
    ...(target.runtime ? [['runtime', target.runtime] as [string, string]] : []),
    ['cluster', `${target.cluster.mode} ${target.cluster.name}`],
    ['registry', target.registry.mode],
  ];
  // Findings that do not fail the run (a declaration weaker than upstream's) travel as properties.
  for (const f of target.findings ?? []) if (!f.fails) properties.push(['finding', f.line]);
  const props = `    <properties>\n${properties.map(([name, value]) => `      <property${attrs({ name, value })}/>`).join('\n')}\n    </properties>`;
  const suites: Suite[] = [...bySuite.keys()].sort().map((suite) => {
    const records = bySuite.get(suite) ?? [];
    const counts = summarize(records);
    const ms = records.reduce((sum, r) => sum + r.durationMs, 0);
    const tally = {
      tests: records.length,
      failures: counts.failed + counts.blocked,
      errors: counts['could-not-run'],
      skipped: counts['not-applicable'],
    };
    const head = attrs({ name: `${target.name} ${suite}`, ...tally, time: seconds(ms), timestamp: target.startedAt });
    return {
      xml: `  <testsuite${head}>\n${props}\n${records.map((r) => testcase(target, r)).join('\n')}\n  </testsuite>`,
      ...tally,
      ms,
    };
  });
  const failing = (target.findings ?? []).filter((f) => f.fails);
  if (failing.length)
    suites.unshift(
      ownSuite(target, props, 'findings before the suites', failing.map(findingCase), { failures: failing.length, errors: 0 }),
    );
  // A target that could not run has no scenarios to fail; without an entry of its own, a CI system
  // reading only this file would see green.
  if (target.error !== undefined) {
    const tc = `    <testcase${attrs({ classname: 'pullcheck', name: `${target.name}: target`, time: '0.000' })}>\n      <error${attrs({ message: firstLine(target.error), type: 'error' })}>${xmlText(target.error)}</error>\n    </testcase>`;
    suites.push(ownSuite(target, props, 'target', [tc], { failures: 0, errors: 1 }));
  }
  return suites;
}

export function renderJUnit(results: RunResults): string {
  const suites = results.targets.flatMap(suitesOf);
  const sum = (k: 'tests' | 'failures' | 'errors' | 'skipped' | 'ms') => suites.reduce((n, s) => n + s[k], 0);
  const head = attrs({
    name: `pullcheck ${results.runId}`,
    tests: sum('tests'),
    failures: sum('failures'),
    errors: sum('errors'),
    skipped: sum('skipped'),
    time: seconds(sum('ms')),
    timestamp: results.startedAt,
  });
  const body = suites.map((s) => `${s.xml}\n`).join('');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites${head}>\n${body}</testsuites>\n`;
}
