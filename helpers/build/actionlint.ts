// actionlint checks the GitHub workflows in unit tests. Like the node's binaries it comes from its Go
// module, built once into pullcheck's cache: no prebuilt download, and CI's cache restore skips it.
import { join } from 'node:path';
import YAML from 'yaml';
import { cachedDir, cachePath } from '../infra/cache.ts';
import { run } from '../infra/exec.ts';
import type { Logger } from '../infra/log.ts';
import { goInstall } from './go.ts';

/** Pinned here rather than in versions.ts: it builds nothing that runs on a node. */
export const ACTIONLINT_VERSION = 'v1.7.12';

/** Returns the path of the actionlint binary, building it on first use. */
export async function buildActionlint(logger: Logger): Promise<string> {
  const { dir, hit } = await cachedDir(cachePath('bin', `actionlint-${ACTIONLINT_VERSION}`), (out) =>
    logger.phase(`build actionlint ${ACTIONLINT_VERSION}`, () =>
      goInstall(`github.com/rhysd/actionlint/cmd/actionlint@${ACTIONLINT_VERSION}`, out, logger),
    ),
  );
  if (hit) logger.detail(`cached actionlint ${ACTIONLINT_VERSION}: ${dir}`);
  return join(dir, 'actionlint');
}

/**
 * What actionlint leaves unchecked in a composite action's own steps (it checks the metadata and
 * the inputs a workflow passes): a run step without `shell`, an input or step id the expressions
 * name but nobody declares, and a script bash cannot parse. One line per problem.
 */
export async function compositeActionProblems(actionYaml: string): Promise<string[]> {
  const action = YAML.parse(actionYaml) as {
    inputs?: Record<string, unknown>;
    runs?: { using?: string; steps?: { id?: string; name?: string; uses?: string; run?: string; shell?: string }[] };
  };
  if (action.runs?.using !== 'composite') return [`runs.using is "${action.runs?.using}", not composite`];
  const steps = action.runs.steps ?? [];
  const problems: string[] = [];
  const inputs = new Set(Object.keys(action.inputs ?? {}));
  for (const [, name] of actionYaml.matchAll(/\binputs\.([A-Za-z0-9_-]+)/g))
    if (!inputs.has(name ?? '')) problems.push(`inputs.${name} is used but not declared under inputs`);
  const ids = new Set(steps.map((s) => s.id).filter(Boolean));
  for (const [, id] of actionYaml.matchAll(/\bsteps\.([A-Za-z0-9_-]+)\./g))
    if (!ids.has(id ?? '')) problems.push(`steps.${id} is used but no step has that id`);
  for (const [i, step] of steps.entries()) {
    const label = step.name ?? step.uses ?? `step ${i + 1}`;
    if (step.run === undefined) continue;
    if (step.shell !== 'bash') {
      problems.push(`${label}: a composite action's run step needs shell: bash`);
      continue;
    }
    // Expressions are substituted before bash sees the script: stand in a word for each.
    const script = step.run.replace(/\$\{\{[^}]*\}\}/g, 'EXPR');
    const r = await run(['bash', '-n'], { input: script, allowFailure: true });
    if (r.exitCode !== 0) problems.push(`${label}: bash cannot parse the script: ${r.stderr.trim().split('\n')[0]}`);
  }
  return [...new Set(problems)];
}
