// A tool self-test: a deferred cleanup that fails (a node file it cannot restore) fails a scenario
// whose body passed, with "cleanup: …", and quarantines the node it concerned (helpers/node/quarantine.ts):
// the node leaves every pick, a scenario that needs it could not run, and lifting the run's quarantines
// names it and leaves the node as found. And a suite's end takes from the nodes what they pulled
// from its own registries. The scenarios under test run inside this one, with a run ID
// of their own, and their records are removed once read, so that this self-test stays green.
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { QUARANTINE_TAINT, readClusterShape } from '../../helpers/cluster/shape.ts';
import type { ScenarioDeclaration } from '../../helpers/framework/declaration.ts';
import { startEnv } from '../../helpers/framework/env.ts';
import { defineSuite, type RunEnv, type ScenarioContext } from '../../helpers/framework/harness.ts';
import { runScenario } from '../../helpers/framework/scenario.ts';
import { echoImage } from '../../helpers/images/testimages.ts';
import { nodeHasImage } from '../../helpers/node/preload.ts';
import { liftQuarantines } from '../../helpers/node/quarantine.ts';
import { readScenarioRecords } from '../../helpers/report/assemble.ts';
import { scenarioFileName } from '../../helpers/report/records.ts';

export const suite = defineSuite({ name: 'cleanup', registries: [], selftest: true });

function claim(ok: boolean, message: string): void {
  if (!ok) throw new Error(message);
}

/** A scenario run inside `s`, under another run ID; its record is read, then removed. */
async function inner(
  s: ScenarioContext,
  env: RunEnv,
  name: string,
  needs: ScenarioDeclaration['needs'],
  body: (inner: ScenarioContext) => Promise<void>,
): Promise<{ error: string | undefined; reason: string | undefined }> {
  const id = `${s.id}-${name}`;
  const decl: ScenarioDeclaration = { id, suite: 'cleanup', group: 'cleanup', title: name, capabilities: [], needs, selftest: true };
  const error = await runScenario(env, decl, body).then(
    () => undefined,
    (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0],
  );
  const dir = env.context.targetDir;
  const reason = dir ? readScenarioRecords(dir).get(id)?.reason : undefined;
  if (dir) {
    rmSync(join(dir, 'scenarios', `${scenarioFileName(id)}.json`), { force: true });
    rmSync(join(dir, 'evidence', scenarioFileName(id)), { recursive: true, force: true });
  }
  return { error, reason };
}

suite.scenario(
  'failing-restore-fails-and-quarantines',
  "a scenario whose body passed and whose node restore throws fails with 'cleanup: …'; its node is tainted and left out of later picks; the run's lift names it and removes the taint",
  { needs: ['worker'] },
  async (s) => {
    const { kube } = s.env.cluster;
    const runId = `selftest-${randomBytes(3).toString('hex')}`;
    const env: RunEnv = { ...s.env, context: { ...s.env.context, runId } };
    const node = s.worker(0);
    // Whatever fails below, the node does not stay quarantined.
    s.defer(() => liftQuarantines({ kube, runId, logger: { warn: () => undefined } }));

    const failing = await inner(s, env, 'restore', [], async (i) => {
      i.defer(
        () => {
          throw new Error('restoring /etc/pullcheck-selftest: deliberately failing restore');
        },
        { node },
      );
    });
    const expected = `cleanup: [${node}] restoring /etc/pullcheck-selftest: deliberately failing restore (${node} quarantined for the rest of the run)`;
    claim(
      failing.error === expected,
      `the scenario should fail with "${expected}", but ${failing.error ? `failed with "${failing.error}"` : 'passed'}`,
    );
    if (s.env.context.targetDir)
      claim(
        failing.reason?.startsWith('cleanup: ') === true,
        `its record should give "cleanup: …" as the reason, but gives ${JSON.stringify(failing.reason)}`,
      );

    const shape = await readClusterShape(kube);
    const taint = (await kube.core.readNode({ name: node })).spec?.taints?.find((t) => t.key === QUARANTINE_TAINT);
    claim(
      taint?.value === runId && taint.effect === 'NoSchedule',
      `${node} should carry ${QUARANTINE_TAINT}=${runId}:NoSchedule, but has ${JSON.stringify(taint)}`,
    );
    claim(
      shape.quarantined.includes(node) && !shape.workers.includes(node),
      `${node} should be quarantined and out of the workers, but the shape is ${JSON.stringify({ workers: shape.workers, quarantined: shape.quarantined })}`,
    );

    // A later scenario needing the quarantined worker (on clusters of up to two) could not run, naming the quarantine.
    if (shape.workers.length < 2) {
      let ran = false;
      const needing = await inner(s, env, 'needs-it', [shape.workers.length === 1 ? 'two-workers' : 'worker'], async () => {
        ran = true;
      });
      claim(!ran, 'a scenario needing the quarantined worker should not run its body, but did');
      if (s.env.context.targetDir)
        claim(
          needing.reason?.includes(`${node} is quarantined`) === true,
          `its record should name ${node} as quarantined, but gives ${JSON.stringify(needing.reason)}`,
        );
    }

    const warned: string[] = [];
    const lifted = await liftQuarantines({ kube, runId, logger: { warn: (m) => warned.push(m) } });
    claim(
      lifted.length === 1 && lifted[0]?.node === node && lifted[0].why.startsWith(`${s.id}-restore: `),
      `the lift should name ${node} and the scenario, but gives ${JSON.stringify(lifted)}`,
    );
    claim(
      warned.length === 1 && warned[0]?.includes(node) === true,
      `the lift should say so in one line, but said ${JSON.stringify(warned)}`,
    );
    const after = await kube.core.readNode({ name: node });
    claim(
      !(after.spec?.taints ?? []).some((t) => t.key === QUARANTINE_TAINT) &&
        after.metadata?.annotations?.['pullcheck.io/quarantine-reason'] === undefined,
      `${node} should be as found after the lift, but has taints ${JSON.stringify(after.spec?.taints)}`,
    );
  },
);

suite.scenario(
  'suite-end-removes-its-images',
  "when a suite ends, the images its nodes pulled from the suite's own registries are gone from those nodes",
  { needs: ['worker', 'kind'] },
  async (s) => {
    const node = s.worker(0);
    const inner = await startEnv({ suite: 'cleanup-images', registries: [{ name: 'public', auth: 'none' }] });
    let disposed = false;
    s.defer(async () => {
      if (!disposed) await inner.dispose();
    });
    const registry = inner.registry('public');
    const { image } = await echoImage({ os: 'linux', architecture: 'amd64' }, s.env.logger);
    const repository = `pullcheck/cleanup-images-${inner.runId}`;
    await registry.client.pushImage(repository, 'v1', image);
    const ref = registry.ref(repository, 'v1');
    const verdict = await s.runPod({ image: ref, nodeName: node });
    claim(
      verdict.kind === 'completed' && verdict.exitCode === 0,
      `test setup: the pod on ${node} should run ${ref}, but ${verdict.kind === 'completed' ? `exited ${verdict.exitCode}` : `failed its pull (${verdict.reason})`}`,
    );
    claim(
      await nodeHasImage(s.env.cluster.nodes, node, ref),
      `test setup: ${node} should hold ${ref} after its pod ran it, but crictl inspecti finds none`,
    );
    disposed = true;
    await inner.dispose();
    claim(
      !(await nodeHasImage(s.env.cluster.nodes, node, ref)),
      `the suite's end should remove ${ref} (pulled from its own registry ${registry.host}) from ${node}, but crictl inspecti still finds it`,
    );
  },
);
