// What an upgrade/* scenario needs beyond a scenario context: which half it is in, a state file
// the before half writes and the after half reads (one entry per scenario ID, in the run's report
// directory), and a namespace that outlives the before half (a running pod, a Deployment).
import { writeFileSync } from 'node:fs';
import { hostLabel, LABEL_OWNER_HOST } from '../cluster/leftovers.ts';
import { createManagedNamespace } from '../cluster/namespaces.ts';
import { LABEL_OWNER_PID } from '../infra/sweep.ts';
import { readUpgradeState as readAll, type UpgradeHalf } from '../run/context.ts';
import type { ScenarioContext } from './scenario.ts';

export interface UpgradeScenario<T> extends UpgradeHalf {
  /** Before: records what the after half needs (JSON). */
  save(state: T): void;
  /** After: what the before half recorded; skips (could not run) when it recorded nothing. */
  load(): T;
  /**
   * A namespace for objects that must live across the upgrade, owned by the `pullcheck upgrade`
   * process (so no sweep takes it meanwhile) or, in the --kubeconfig form, by none; the after half
   * deletes it when it ends.
   */
  keptNamespace(): Promise<string>;
}

/** The scenario's half; skips by declaration outside `pullcheck upgrade`. */
export function upgradeScenario<T>(s: ScenarioContext): UpgradeScenario<T> {
  const u = s.env.context.upgrade;
  if (!u) s.skipDeclared('upgrade/* runs in halves around an in-place upgrade: pullcheck upgrade --from vX --to vY');
  const { kube } = s.env.cluster;
  // Each target has its own run ID, so the after half learns the kept namespace's name from the state file.
  const keptKey = `${s.id}#kept-namespace`;
  return {
    ...u,
    save(state) {
      // One jest worker runs the suite's scenarios one after the other: read, add, write.
      writeFileSync(u.stateFile, `${JSON.stringify({ ...readAll(u.stateFile), [s.id]: state }, null, 2)}\n`);
    },
    load() {
      const state = readAll(u.stateFile)[s.id];
      if (state === undefined)
        s.skip(`the before half of ${s.id} recorded nothing in ${u.stateFile} (it failed or did not run: see target before)`);
      return state as T;
    },
    async keptNamespace() {
      if (u.half === 'after') {
        const kept = readAll(u.stateFile)[keptKey];
        if (typeof kept !== 'string') s.skip(`the before half of ${s.id} made no namespace to keep (see target before)`);
        if (!s.env.context.keep) s.defer(() => kube.core.deleteNamespace({ name: kept }));
        return kept;
      }
      const kept = `${s.namespace}-kept`;
      writeFileSync(u.stateFile, `${JSON.stringify({ ...readAll(u.stateFile), [keptKey]: kept }, null, 2)}\n`);
      await createManagedNamespace(kube, {
        name: kept,
        runId: s.env.runId,
        owner: u.ownerPid === undefined ? {} : { [LABEL_OWNER_HOST]: hostLabel(), [LABEL_OWNER_PID]: String(u.ownerPid) },
      });
      return kept;
    },
  };
}
