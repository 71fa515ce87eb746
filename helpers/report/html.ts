// The human report: one page that opens from a downloaded CI artifact with no network and no script.
// It leads with what changed between versions, because that is the question an upgrade validation
// asks; then each failure with what was collected, linked by paths relative to the run directory.
import { describeCause } from './causes.ts';
import { compareMatrix } from './diff.ts';
import { matrixKind, targetLabel } from './matrix.ts';
import { ENGLISH_PAGE_SECTIONS, ENGLISH_PAGE_URL, PAGE_URL, pageView, suiteSummary } from './page.ts';
import {
  type CertificationItem,
  type RunResults,
  SCENARIO_STATUSES,
  type ScenarioChange,
  type ScenarioRecord,
  type ScenarioStatus,
  summarize,
  type TargetResult,
} from './schema.ts';
import { FAILING, nothingTested, nothingTestedLine, runFails, STATUS_WORDS, tally } from './verdict.ts';

/** Control characters (terminal colours in a command's stderr) become visible `\uXXXX` text. */
function esc(s: string): string {
  return s
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Evidence lives in `<target>/<path>` below the run directory, where index.html is. */
function evidenceHref(target: TargetResult, path: string): string {
  return [target.name, ...path.split('/')].map(encodeURIComponent).join('/');
}

function seconds(ms: number): string {
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`;
}

function duration(fromIso: string, toIso: string): string {
  const ms = Date.parse(toIso) - Date.parse(fromIso);
  return Number.isFinite(ms) && ms >= 0 ? seconds(ms) : '';
}

/** The CSS class of a verdict: every failing verdict reads as a failure. */
function cls(status: ScenarioStatus): string {
  if (status === 'passed') return 'passed';
  return status === 'not-applicable' ? 'skipped' : 'failed';
}

function countsLine(c: Record<ScenarioStatus, number>): string {
  return SCENARIO_STATUSES.filter((s) => s === 'passed' || s === 'failed' || c[s] > 0)
    .map((s) => `<span class="${cls(s)}">${c[s]} ${STATUS_WORDS[s]}</span>`)
    .join(', ');
}

/** One row of the matrix: a scenario ID and its verdict on each target (undefined: not run there). */
interface MatrixRow {
  id: string;
  title: string;
  cells: (ScenarioRecord | undefined)[];
  changed: boolean;
}

export function matrixRows(results: RunResults): MatrixRow[] {
  const ids = new Map<string, string>();
  for (const t of results.targets) for (const s of t.scenarios) if (!ids.has(s.id)) ids.set(s.id, s.title);
  const rows = [...ids]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([id, title]) => {
      const cells = results.targets.map((t) => t.scenarios.find((s) => s.id === id));
      // A scenario absent from one target was left out there (selection, or the target did not run);
      // that is not a change of verdict, so only the targets that have it are compared.
      const verdicts = new Set(cells.flatMap((c) => (c ? [c.status] : [])));
      return { id, title, cells, changed: verdicts.size > 1 };
    });
  return [...rows.filter((r) => r.changed), ...rows.filter((r) => !r.changed)];
}

const CSS = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 1.5em auto; max-width: 75em; padding: 0 1em; color: #1b1f24; }
h1 { font-size: 1.5em; margin-bottom: .2em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #d0d7de; }
h3 { font-size: 1em; margin: 1.5em 0 .3em; }
table { border-collapse: collapse; margin: .5em 0; } th, td { border: 1px solid #d0d7de; padding: .25em .6em; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
code, pre { font: 12.5px/1.4 ui-monospace, monospace; } pre { background: #f6f8fa; padding: .6em; overflow-x: auto; white-space: pre-wrap; }
.passed { color: #1a7f37; } .failed { color: #cf222e; font-weight: 600; } .skipped { color: #7d4e00; } .none { color: #8c959f; }
td.passed { background: #dafbe1; } td.failed { background: #ffebe9; } td.skipped { background: #fff8c5; }
tr.changed th, tr.changed td:first-child { border-left: 4px solid #bf3989; }
.flag { color: #bf3989; font-weight: 600; } .muted { color: #57606a; } .error { background: #ffebe9; padding: .6em; }
`;

function header(results: RunResults): string {
  const t = tally(results);
  const sel = results.selection;
  const selection = [
    sel.suites.length ? `suites ${sel.suites.join(', ')}` : 'all suites',
    ...(sel.focus ? [`focus /${sel.focus}/`] : []),
    ...(sel.skip ? [`skip /${sel.skip}/`] : []),
    ...(sel.shard ? [`shard ${sel.shard}`] : []),
    ...(sel.shards ? [`shards ${sel.shards.join(', ')} merged`] : []),
  ].join('; ');
  const targets = results.targets
    .map((t) => {
      const nodes = t.nodes.map((n) => esc(`${n.name}: kubelet ${n.kubeletVersion}, ${n.containerRuntime}`)).join('<br>');
      const cluster = `${t.cluster.mode} ${t.cluster.name}${t.cluster.profile || t.runtime ? ` (${[t.cluster.profile ? `profile ${t.cluster.profile}` : '', t.runtime ? `runtime ${t.runtime} declared` : ''].filter(Boolean).join(', ')})` : ''}${t.cluster.context ? ` (context ${t.cluster.context})` : ''}`;
      const registry = `${t.registry.mode}${t.registry.url ? ` ${t.registry.url}` : ''}`;
      return `<tr><td>${esc(t.name)}</td><td>${esc(t.kubernetesVersion)}</td><td>${esc(cluster)}</td><td>${esc(registry)}</td><td>${nodes || '<span class="none">not reported</span>'}</td><td>${countsLine(summarize(t.scenarios))}</td></tr>`;
    })
    .join('\n');
  const errors = results.targets
    .filter((t) => t.error !== undefined)
    .map((t) => `<div class="error"><strong>${esc(t.name)} could not run completely:</strong><pre>${esc(t.error ?? '')}</pre></div>`)
    .join('\n');
  return `<h1>pullcheck run ${esc(results.runId)}</h1>
<p class="muted">${esc(results.tool.name)} ${esc(results.tool.version)} · started ${esc(results.startedAt)} · finished ${esc(results.finishedAt)}${duration(results.startedAt, results.finishedAt) ? ` · ${esc(duration(results.startedAt, results.finishedAt))}` : ''} · ${esc(selection)}</p>
<p><strong>${countsLine(t)}</strong> across ${results.targets.length} target${results.targets.length === 1 ? '' : 's'}${t.failingFindings ? `; <span class="failed">${t.failingFindings} finding${t.failingFindings === 1 ? '' : 's'} before the suites</span>` : ''}. <strong class="${runFails(t) ? 'failed' : 'passed'}">${runFails(t) ? (nothingTested(t) ? esc(nothingTestedLine(t)) : 'The run fails.') : 'The run passes.'}</strong></p>
${errors}
<table><tr><th>target</th><th>Kubernetes</th><th>cluster</th><th>registry</th><th>nodes</th><th>scenarios</th></tr>
${targets}
</table>`;
}

function certificationTable(items: readonly CertificationItem[]): string {
  const rows = items
    .map((c) => {
      const cls = c.status === 'not tested' || c.status === 'out of scope' || c.status === 'not supported' ? 'skipped' : c.status;
      const verdicts = (c.verdicts ?? c.scenarios.map((id) => ({ id, verdict: c.status, reason: undefined })))
        .map(
          (v) =>
            `<code>${esc(v.id)}</code> <span class="${v.verdict === 'not tested' ? 'skipped' : v.verdict}">${esc(v.verdict)}</span>${v.reason && v.verdict === 'failed' ? `<br><small>${esc(v.reason)}</small>` : ''}`,
        )
        .join('<br>');
      const shown =
        c.status === 'not supported'
          ? `<small>${esc(unsupportedCapabilities([c]).join(''))}</small><br>${verdicts}`
          : c.note && !verdicts
            ? `<small>${esc(c.note)}</small>`
            : verdicts;
      return `<tr><td>${esc(c.capability)}${c.required === false ? ' <small class="muted">(optional)</small>' : ''}</td><td class="${cls}">${esc(c.status)}</td><td>${shown}</td></tr>`;
    })
    .join('\n');
  return `<table><tr><th>capability</th><th>verdict</th><th>scenarios</th></tr>
${rows}
</table>`;
}

/** Optional capabilities the registry does not support, one phrase each: `deletion: not supported (405 UNSUPPORTED)`. */
export function unsupportedCapabilities(items: readonly CertificationItem[]): string[] {
  return items
    .filter((c) => c.status === 'not supported')
    .map((c) => `${c.key ?? c.capability}: not supported${c.note ? ` (${c.note})` : ''}`);
}

/** "certified", or the count of required capabilities that failed or were not tested. */
export function certificationVerdict(items: readonly CertificationItem[]): string {
  const gaps = items.filter((c) => c.required !== false && c.status !== 'passed' && c.status !== 'out of scope');
  const notes = [...new Set(items.flatMap((c) => (c.status === 'out of scope' && c.note ? [c.note] : [])))];
  const unsupported = unsupportedCapabilities(items);
  const optional = unsupported.length ? `; optional ${unsupported.join('; ')}` : '';
  return gaps.length === 0
    ? `certified: every required capability passed${notes.length ? ` (${notes.join('; ')})` : ''}${optional}`
    : `not certified: ${gaps.length} required capabilit${gaps.length === 1 ? 'y' : 'ies'} failed or not tested${optional}`;
}

function certification(items: CertificationItem[]): string {
  return `<h2 id="certification">Certification</h2>
<p><strong>${esc(certificationVerdict(items))}</strong> (<a href="certification.html">one-page summary</a>)</p>
${certificationTable(items)}`;
}

/** What the run left on the vendor's registry: nothing, or each repository with the registry's answer and how to retry. */
function registryCleanupHtml(results: RunResults): string {
  const c = results.registryCleanup;
  if (!c) return '';
  if (!c.left.length)
    return `<p>Registry left as found: pullcheck deleted the ${c.deleted} manifest${c.deleted === 1 ? '' : 's'} it pushed to ${esc(c.registry)}.</p>`;
  const url = results.targets.find((t) => t.registry.mode === 'vendor')?.registry.url ?? `https://${c.registry}`;
  const rows = c.left.map((l) => `<li><code>${esc(l.repository)}</code> <small>${esc(l.answer)}</small></li>`).join('\n');
  return `<p><strong>Left on ${esc(c.registry)}: ${c.left.length} repositor${c.left.length === 1 ? 'y' : 'ies'} of this run</strong> (${c.deleted} manifests deleted); <code>pullcheck registry clean --registry ${esc(url)} --run ${esc(results.runId)}</code> retries.</p>
<ul>
${rows}
</ul>`;
}

/** The page a vendor hands on: registry, Kubernetes version, date, verdict, capabilities and their scenarios. */
export function renderCertificationHtml(results: RunResults): string {
  const items = results.certification ?? [];
  const vendor = results.targets.find((t) => t.registry.mode === 'vendor');
  const facts = [
    ['registry', vendor?.registry.url ?? '?'],
    ['Kubernetes', results.targets.map((t) => t.kubernetesVersion).join(', ')],
    ['date', results.finishedAt],
    ['run', results.runId],
    ['tool', `${results.tool.name} ${results.tool.version}`],
  ]
    .map(([k, v]) => `<tr><th>${esc(k ?? '')}</th><td>${esc(v ?? '')}</td></tr>`)
    .join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>pullcheck certification ${esc(vendor?.registry.url ?? '')}</title>
<style>${CSS}</style>
</head>
<body>
<h1>Registry certification</h1>
<table>${facts}</table>
<p><strong>${esc(certificationVerdict(items))}</strong></p>
${certificationTable(items)}
${registryCleanupHtml(results)}
<p class="muted">Each verdict rests on the scenarios listed, run against this registry; their evidence is in the run's <a href="index.html">full report</a>.</p>
</body>
</html>
`;
}

function cell(r: ScenarioRecord | undefined, anchor: string | undefined): string {
  if (!r) return '<td class="none" title="not run on this target">—</td>';
  const words = `${STATUS_WORDS[r.status]}${r.proven ? ` (${r.proven})` : ''}`;
  const text = anchor ? `<a href="#${anchor}">${words}</a>` : words;
  return `<td class="${cls(r.status)}"${r.reason ? ` title="${esc(r.reason.split('\n')[0] ?? '')}"` : ''}>${text}</td>`;
}

function changedSection(results: RunResults, rows: MatrixRow[], anchors: Map<ScenarioRecord, string>): string {
  if (results.targets.length < 2) return '';
  const changed = rows.filter((r) => r.changed);
  const names = results.targets.map((t) => esc(targetLabel(t, results.targets))).join(', ');
  // Observations too: with version-aware expectations every verdict may read "passed".
  const comparison = compareMatrix(results);
  const ids = new Set([...changed.map((r) => r.id), ...comparison.changes.map((c) => c.id)]);
  if (!ids.size)
    return `<h2 id="changed">Changed between ${matrixKind(results)}</h2>\n<p>No scenario changed its verdict between ${names}.</p>\n${observationChanges(comparison.changes, comparison.compared)}`;
  const head = results.targets.map((t) => `<th>${esc(targetLabel(t, results.targets))}</th>`).join('');
  const body = changed
    .map(
      (r) =>
        `<tr class="changed"><td><code>${esc(r.id)}</code></td>${r.cells.map((c) => cell(c, c ? anchors.get(c) : undefined)).join('')}</tr>`,
    )
    .join('\n');
  const verdicts = changed.length
    ? `<table><tr><th>scenario</th>${head}</tr>\n${body}\n</table>`
    : `<p>No scenario changed its verdict between ${names}.</p>`;
  return `<h2 id="changed" class="flag">Changed between ${matrixKind(results)}: ${ids.size}</h2>
${verdicts}
${observationChanges(comparison.changes, comparison.compared)}`;
}

/** Every observation (and verdict) that differs between consecutive targets, or "none" with the count compared. */
function observationChanges(changes: readonly ScenarioChange[], compared: number): string {
  if (!changes.length) return `<p>Observations: none differ (${compared} scenarios compared).</p>`;
  const body = changes
    .map(
      (c) =>
        `<tr><td><code>${esc(c.id)}</code></td><td>${esc(c.target)}</td><td>${c.parts.map((p) => `<code>${esc(p)}</code>`).join('<br>')}</td></tr>`,
    )
    .join('\n');
  return `<p>Observations that differ (${changes.length} of ${compared} scenarios compared):</p>
<table><tr><th>scenario</th><th>between</th><th>what differs</th></tr>
${body}
</table>`;
}

/** `run --baseline FILE`: what behaves differently from that run. */
function baselineSection(b: NonNullable<RunResults['baseline']>): string {
  const head = `<h2 id="baseline"${b.changes.length || b.unmatchedTargets.length ? ' class="flag"' : ''}>Compared with run ${esc(b.runId)}</h2>
<p class="muted">${esc(b.file)}</p>`;
  const unmatched = b.unmatchedTargets.map((t) => `<p class="failed">${esc(t)}</p>`).join('\n');
  return `${head}\n${unmatched}\n${observationChanges(b.changes, b.compared).replace('Observations: none differ', 'No change')}`;
}

/** `pullcheck upgrade`: the upgrade/* halves, before against after (pods both halves ran under one name). */
function halvesSection(h: NonNullable<RunResults['halves']>): string {
  return `<h2 id="changed"${h.changes.length ? ' class="flag"' : ''}>upgrade/* before → after the upgrade</h2>
<p class="muted">Each half runs its own step, so verdicts compare for every scenario and observations only for pods both halves ran under one name; ${h.halfOnly} pods one half ran alone are in the matrix below.</p>
${observationChanges(h.changes, h.compared)}`;
}

function matrix(results: RunResults, rows: MatrixRow[], anchors: Map<ScenarioRecord, string>): string {
  const head = results.targets.map((t) => `<th>${esc(targetLabel(t, results.targets))}</th>`).join('');
  const body = rows
    .map((r) => {
      const flag = r.changed ? ' <span class="flag" title="the verdict differs between targets">changed</span>' : '';
      return `<tr${r.changed ? ' class="changed"' : ''}><td><code>${esc(r.id)}</code>${flag}<br><span class="muted">${esc(r.title)}</span></td>${r.cells.map((c) => cell(c, c ? anchors.get(c) : undefined)).join('')}</tr>`;
    })
    .join('\n');
  return `<h2 id="matrix">Scenarios</h2>
${rows.length ? `<table><tr><th>scenario</th>${head}</tr>\n${body}\n</table>` : '<p>No scenario ran.</p>'}`;
}

function failures(results: RunResults, anchors: Map<ScenarioRecord, string>): string {
  const items = results.targets.flatMap((t) =>
    t.scenarios
      .filter((s) => FAILING.includes(s.status))
      .map((s) => {
        const rules = s.rules.length ? `<p>Rules applied:</p><ul>${s.rules.map((r) => `<li>${esc(r)}</li>`).join('')}</ul>` : '';
        const evidence = s.evidence.length
          ? `<p>Evidence:</p><ul>${s.evidence.map((e) => `<li><a href="${esc(evidenceHref(t, e))}">${esc(`${t.name}/${e}`)}</a></li>`).join('')}</ul>`
          : '';
        return `<h3 id="${anchors.get(s) ?? ''}"><code>${esc(s.id)}</code> on ${esc(targetLabel(t, results.targets))} <span class="failed">${esc(STATUS_WORDS[s.status])}</span></h3>
<p>${esc(s.title)} <span class="muted">(${(s.durationMs / 1000).toFixed(1)} s${s.namespace ? `, namespace ${esc(s.namespace)}` : ''})</span></p>
<pre>${esc(s.reason ?? '(no reason recorded)')}</pre>
${rules}${evidence}`;
      }),
  );
  return items.length ? `<h2 id="failures">Failures</h2>\n${items.join('\n')}` : '';
}

function notApplicable(results: RunResults): string {
  const rows = results.targets.flatMap((t) =>
    t.scenarios
      .filter((s) => s.status === 'not-applicable')
      .map(
        (s) => `<tr><td><code>${esc(s.id)}</code></td><td>${esc(targetLabel(t, results.targets))}</td><td>${esc(s.reason ?? '')}</td></tr>`,
      ),
  );
  return rows.length
    ? `<h2 id="not-applicable">Not applicable</h2>\n<p>The declared posture or the cluster's shape rules these out: a reason, neither a pass nor a failure. (A scenario ruled out by a declared part the cluster does not match is blocked, under Failures.)</p>\n<table><tr><th>scenario</th><th>target</th><th>reason</th></tr>\n${rows.join('\n')}\n</table>`
    : '';
}

/** Every finding named before the suites (or after them: a quarantined node), each target's. */
function findings(results: RunResults): string {
  const rows = results.targets.flatMap((t) =>
    (t.findings ?? []).map(
      (f) =>
        `<tr><td>${esc(targetLabel(t, results.targets))}</td><td class="${f.fails ? 'failed' : 'skipped'}">${f.fails ? 'fails the run' : 'note'}</td><td>${esc(f.source)}: ${esc(f.cause)}</td><td>${esc(f.nodes.join(', ') || '—')}</td><td>${esc(f.registry ?? '—')}</td><td>${esc(f.line)}</td></tr>`,
    ),
  );
  return rows.length
    ? `<h2 id="findings">Findings</h2>\n<table><tr><th>target</th><th>verdict</th><th>cause</th><th>nodes</th><th>registry</th><th>what</th></tr>\n${rows.join('\n')}\n</table>`
    : '';
}

/** Per suite and target: counts and the time its scenarios took (their sum; phases run suites side by side). */
function suites(results: RunResults): string {
  const rows = suiteSummary(results.targets);
  if (!rows.length) return '';
  const multi = results.targets.length > 1;
  const body = rows
    .map(
      (r) =>
        `<tr><td>${esc(r.suite)}</td>${multi ? `<td>${esc(r.target)}</td>` : ''}<td>${countsLine(r.counts)}</td><td>${esc(seconds(r.durationMs))}</td></tr>`,
    )
    .join('\n');
  return `<h2 id="suites">Suites</h2>
<table><tr><th>suite</th>${multi ? '<th>target</th>' : ''}<th>scenarios</th><th>time (sum of its scenarios)</th></tr>
${body}
</table>`;
}

function verdictList(verdicts: readonly { target: string; status: ScenarioStatus }[], multi: boolean): string {
  return verdicts
    .map((v) => `<span class="${cls(v.status)}">${esc(multi ? `${STATUS_WORDS[v.status]} on ${v.target}` : STATUS_WORDS[v.status])}</span>`)
    .join(', ');
}

/** The documentation page, section by section: what this run proved of each, and what nothing tests. */
function page(results: RunResults): string {
  const view = pageView(results.targets);
  const multi = results.targets.length > 1;
  const sections = view.sections
    .map(({ section, rows }) => {
      const counts = summarize(rows.flatMap((r) => r.verdicts));
      const link = `<a href="${esc(PAGE_URL)}${section.anchor ? `#${esc(section.anchor)}` : ''}">${esc(section.heading)}</a>`;
      const list = rows.length
        ? `<ul>${rows.map((r) => `<li><code>${esc(r.id)}</code> ${verdictList(r.verdicts, multi)}</li>`).join('')}</ul>`
        : '<p class="skipped">No scenario of this run tests it (not selected).</p>';
      const gap = section.notCovered ? `<p class="muted">Not covered: ${esc(section.notCovered)}.</p>` : '';
      return `<h3>${link}</h3>
<p>${esc(section.gloss)}${rows.length ? ` — ${countsLine(counts)}` : ''}</p>
${list}${gap}`;
    })
    .join('\n');
  const beyond = view.beyond.length
    ? `<h3>Beyond the page</h3>\n<p class="muted">What the page takes for granted (registries serving what nodes pull, TLS, redirects, the declared posture, upgrades).</p>\n<ul>${view.beyond.map((r) => `<li><code>${esc(r.id)}</code> ${verdictList(r.verdicts, multi)}</li>`).join('')}</ul>`
    : '';
  return `<h2 id="page">By the documentation page</h2>
<p class="muted">Sections of <a href="${esc(PAGE_URL)}">the Kubernetes page on images</a> (kubernetes.io, Indonesian edition) and the scenarios that test what each says.</p>
${sections}
${beyond}`;
}

/** Today's English edition of the page, section by section, as `page` renders the seed's. */
function englishPage(results: RunResults): string {
  const view = pageView(results.targets, ENGLISH_PAGE_SECTIONS);
  const multi = results.targets.length > 1;
  const sections = view.sections
    .map(({ section, rows }) => {
      const link = `<a href="${esc(ENGLISH_PAGE_URL)}#${esc(section.anchor)}">${esc(section.heading)}</a>`;
      const list = rows.length
        ? `<ul>${rows.map((r) => `<li><code>${esc(r.id)}</code> ${verdictList(r.verdicts, multi)}</li>`).join('')}</ul>`
        : `<p class="skipped">${section.scenarios.length ? 'No scenario of this run tests it (not selected).' : 'No scenario tests it.'}</p>`;
      const gap = section.notCovered ? `<p class="muted">Not covered: ${esc(section.notCovered)}.</p>` : '';
      return `<h3>${link}</h3>
<p>${esc(section.gloss)}${rows.length ? ` — ${countsLine(summarize(rows.flatMap((r) => r.verdicts)))}` : ''}</p>
${list}${gap}`;
    })
    .join('\n');
  return `<h2 id="page-en">By the English edition of the page</h2>
<p class="muted">Sections of <a href="${esc(ENGLISH_PAGE_URL)}">today's English page on images</a>, which documents more than the edition above, and the scenarios that test what each says.</p>
${sections}`;
}

export function renderHtml(results: RunResults): string {
  const rows = matrixRows(results);
  const anchors = new Map<ScenarioRecord, string>();
  for (const [ti, t] of results.targets.entries()) {
    for (const [si, s] of t.scenarios.entries()) if (FAILING.includes(s.status)) anchors.set(s, `failure-${ti}-${si}`);
  }
  const sections = [
    header(results),
    findings(results),
    results.causes?.length
      ? `<h2 id="causes">Shared causes</h2>\n<ul>${results.causes.map((c) => `<li class="failed">${esc(describeCause(c))}<br><small>${c.scenarios.map(esc).join(', ')}</small></li>`).join('\n')}</ul>`
      : '',
    results.certification ? certification(results.certification) : '',
    registryCleanupHtml(results),
    results.baseline ? baselineSection(results.baseline) : '',
    results.halves ? halvesSection(results.halves) : changedSection(results, rows, anchors),
    suites(results),
    page(results),
    englishPage(results),
    matrix(results, rows, anchors),
    failures(results, anchors),
    notApplicable(results),
  ].filter((s) => s !== '');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>pullcheck ${esc(results.runId)}</title>
<style>${CSS}</style>
</head>
<body>
${sections.join('\n')}
</body>
</html>
`;
}
