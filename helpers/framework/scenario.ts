// A scenario's context: its namespace, unique tags and repositories, deferred cleanups (run in
// reverse, always), node locks, fixtures (images, pull Secrets, pods) and the evidence collectors
// that run when its body throws. `runScenario` runs one body and writes its record; the context is
// assembled from the fixture modules by concern under fixtures/ (images, pods, nodes, registries,
// evidence, outcome), each given the scenario's shared state (fixtures/state.ts).
import { createHash } from 'node:crypto';
import { waitForServiceAccount } from '../cluster/kube.ts';
import { createManagedNamespace, endNamespace, endsWithRunLabel } from '../cluster/namespaces.ts';
import { clusterShape } from '../cluster/shape.ts';
import { redact } from '../infra/redact.ts';
import type { PosturePart } from '../posture/check.ts';
import { ScenarioSkipped } from '../report/records.ts';
import { cleanupFailureMessage, runCleanups } from './cleanup.ts';
import type { ScenarioContext } from './context.ts';
import type { ScenarioDeclaration } from './declaration.ts';
import type { RunEnv } from './env.ts';
import { addCollectors, evidenceFixtures, record } from './fixtures/evidence.ts';
import { imageFixtures } from './fixtures/images.ts';
import { nodeFixtures, unmetNeed } from './fixtures/nodes.ts';
import { outcomeFixtures, recordFailure, recordSkipped, trackPostureReads } from './fixtures/outcome.ts';
import { podFixtures } from './fixtures/pods.ts';
import { registryFixtures } from './fixtures/registries.ts';
import { type ScenarioState, scenarioState, slug } from './fixtures/state.ts';
import { pullOnlySkip } from './pullonly.ts';

export type { PushedImage, PushedTestImage, ScenarioContext } from './context.ts';

/**
 * `pc-<run>-<id, cut>-<hash of id>`: unique per run and scenario even where the id is cut, with
 * room for an 8-character suffix (extraNamespace) under the 63-character limit.
 */
export function scenarioNamespace(runId: string, id: string): string {
  const hash = createHash('sha256').update(id).digest('hex').slice(0, 4);
  return `pc-${runId}-${slug(id).slice(0, 40).replace(/-+$/, '')}-${hash}`;
}

/** The scenario's context, each concern's part from its fixture module; each calls the others through `s`. */
function scenarioContext(st: ScenarioState): ScenarioContext {
  const s = {} as ScenarioContext;
  return Object.assign(s, {
    id: st.id,
    env: st.env,
    namespace: st.namespace,
    defer: (fn, o) => st.defers.push({ fn, ...(o?.node ? { node: o.node } : {}) }),
    ...imageFixtures(st, s),
    ...podFixtures(st, s),
    ...nodeFixtures(st, s),
    ...registryFixtures(st, s),
    ...evidenceFixtures(st, s),
    ...outcomeFixtures(st, s),
  } satisfies ScenarioContext);
}

/** Creates the scenario's namespace (deleted with it unless --keep) and registers its collectors. */
async function prepare(st: ScenarioState): Promise<void> {
  const { env, kube, namespace } = st;
  await createManagedNamespace(kube, {
    name: namespace,
    runId: env.runId,
    labels: { 'pullcheck.io/scenario': slug(st.id).slice(0, 63), ...endsWithRunLabel(env.context) },
    ready: false,
  });
  // --keep keeps the namespace for debugging; every other cleanup (node files, kubelet
  // restarts, pre-loaded images) runs regardless, so that later scenarios find the nodes as they were.
  st.defers.push({ fn: () => (env.context.keep ? undefined : endNamespace(kube, namespace, env.context.namespacesEndWithRun)) });
  await waitForServiceAccount(kube, namespace, 'default');
  addCollectors(st, new Date());
}

/** Runs one scenario body in its own namespace and writes its record; rethrows its failure with the evidence. */
export async function runScenario(suiteEnv: RunEnv, decl: ScenarioDeclaration, body: (s: ScenarioContext) => Promise<void>): Promise<void> {
  const { id } = decl;
  // The parts of the posture this scenario's expectations read: a failure is explained by a
  // mismatch the run found in one of them.
  const postureRead = new Set<PosturePart>();
  const env: RunEnv = { ...suiteEnv, posture: trackPostureReads(suiteEnv.posture, postureRead) };
  const st = scenarioState(env, decl, scenarioNamespace(env.runId, id), postureRead);
  const { kube } = st;
  const cleanup = () => runCleanups(st.defers, { id, kube, runId: env.context.runId || env.runId, logger: env.logger });
  const s = scenarioContext(st);
  await prepare(st);
  env.logger.info(`[${id}] START`);
  try {
    st.shape = clusterShape((await kube.core.listNode()).items);
    const unmet = unmetNeed(decl.needs, env, st.shape);
    if (unmet) throw unmet;
    await body(s);
    const failed = await cleanup();
    if (failed.length) throw new Error(cleanupFailureMessage(failed));
    env.logger.info(`[${id}] PASS (${((Date.now() - st.started) / 1000).toFixed(1)}s)`);
    await record(st, 'passed');
  } catch (thrown) {
    // A write a pull-only registry's client refused: the scenario pushes, not applicable there.
    const error = pullOnlySkip(thrown);
    if (error instanceof ScenarioSkipped) return await recordSkipped(st, error);
    const evidence = await recordFailure(st, error, cleanup);
    if (!evidence) return;
    if (error instanceof Error) error.message = redact(`${error.message}\n\nevidence:\n${evidence.join('\n')}`);
    throw error;
  } finally {
    await cleanup();
  }
}
