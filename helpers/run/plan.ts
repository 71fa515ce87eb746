// What a selection runs: the scenarios, and the suite files of each phase (those that leave nodes
// alone, then those that change nodes under per-node locks). Unknown names and selections that
// match nothing are usage errors: a typo must not make a green run of nothing.
import type { CatalogEntry } from './catalog.ts';
import { selectableNames } from './catalog.ts';
import { type RunOptions, UsageError } from './options.ts';
import { shardName, shardOf } from './shard.ts';

export interface Plan {
  shared: string[];
  locked: string[];
  scenarios: CatalogEntry[];
}

export interface Selection {
  focus?: RegExp;
  skip?: RegExp;
}

export function isSelected(id: string, s: Selection): boolean {
  if (s.focus && !s.focus.test(id)) return false;
  if (s.skip?.test(id)) return false;
  return true;
}

/** `--suite X` takes every scenario suite X declares and every scenario whose ID starts with `X/`. */
export function planRun(
  catalog: readonly CatalogEntry[],
  o: Pick<RunOptions, 'suites' | 'focus' | 'skip' | 'shard'> & { certify?: boolean; upgradeHalves?: boolean; inCluster?: boolean },
): Plan {
  const known = selectableNames(catalog.filter((e) => !e.selftest));
  const selftests = selectableNames(catalog.filter((e) => e.selftest));
  for (const s of o.suites) {
    if (!known.includes(s) && !selftests.includes(s))
      throw new UsageError(`unknown suite "${s}": choose from ${known.join(', ')} (pullcheck list shows every scenario)`);
  }
  // upgrade/* needs a cluster upgraded between its halves: only `pullcheck upgrade` runs it.
  const upgradeOnly = selectableNames(catalog.filter((e) => e.upgrade));
  const asked = o.suites.filter((s) => upgradeOnly.includes(s));
  if (!o.upgradeHalves && asked.length)
    throw new UsageError(`suite ${asked.join(', ')} runs around an in-place upgrade: use pullcheck upgrade --from vX --to vY`);
  const selection = { ...(o.focus ? { focus: new RegExp(o.focus) } : {}), ...(o.skip ? { skip: new RegExp(o.skip) } : {}) };
  // `pullcheck certify` without --suite: the scenarios that prove a registry capability, nothing else
  // (not a registry variant's: it runs against pullcheck's own kind, never the vendor's registry).
  const wanted = (e: CatalogEntry) =>
    Boolean(e.upgrade) !== Boolean(o.upgradeHalves)
      ? false
      : o.suites.length === 0
        ? !o.certify || (e.capabilities.length > 0 && !e.variant)
        : o.suites.includes(e.suite) || o.suites.includes(e.group);
  // In a pod there is no Docker for a variant's own registry kind: --in-cluster leaves variants out.
  const scenarios = catalog.filter((e) => wanted(e) && !(o.inCluster && e.variant) && isSelected(e.id, selection));
  if (scenarios.length === 0) {
    throw new UsageError(
      `the selection (${[o.suites.length ? `--suite ${o.suites.join(',')}` : '', o.focus ? `--focus ${o.focus}` : '', o.skip ? `--skip ${o.skip}` : ''].filter(Boolean).join(' ')}) matches no scenario: see pullcheck list`,
    );
  }
  const shard = o.shard;
  if (shard) {
    const mine = scenarios.filter((e) => shardOf(e.id, shard.count) === shard.index);
    if (mine.length === 0)
      throw new UsageError(
        `shard ${shardName(shard)} of the selection (${scenarios.length} scenarios) has no scenario: use fewer shards than that`,
      );
    scenarios.splice(0, scenarios.length, ...mine);
  }
  const filesOf = (nodes: CatalogEntry['nodes']) => [...new Set(scenarios.filter((e) => e.nodes === nodes).map((e) => e.file))];
  return { shared: filesOf('shared'), locked: filesOf('locked'), scenarios };
}

/**
 * How many suite files a phase runs at once: `--parallel`, and in the locked phase no more than the
 * cluster has nodes (each lane there mostly holds one node; a lane beyond that only waits for a lock
 * and adds load to the kubelet restarts of the others: docs/measurements.md).
 */
export function phaseLanes(phase: 'shared' | 'locked', parallel: number, nodes: number): number {
  return phase === 'locked' ? Math.max(1, Math.min(parallel, nodes)) : parallel;
}
