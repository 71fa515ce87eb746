// `pullcheck upgrade --kubeconfig K --before` and `--after --baseline FILE`: the upgrade/* halves on
// a cluster the user upgrades with their own tooling between the two commands. The before run's
// results.json carries what the after run needs (which cluster, its version, the registry the halves
// pushed to, what each before half recorded); the after run reports the before target from it, its
// own after halves and the default selection, and compares the halves as `--from --to` does.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { VersionApi } from '@kubernetes/client-node';
import type { Cluster } from '../cluster/cluster.ts';
import { ExistingCluster } from '../cluster/provider.ts';
import type { Logger } from '../infra/log.ts';
import { parseKubernetesVersion } from '../infra/versions.ts';
import { newRunId } from '../report/assemble.ts';
import type { UpgradeBaseline } from '../report/schema.ts';
import { loadCatalog, SUITES_DIR } from './catalog.ts';
import { type ClusterTarget, readUpgradeState, type UpgradeHalf } from './context.ts';
import { type RunOptions, UsageError } from './options.ts';
import { planRun } from './plan.ts';
import { type RunOutcome, runPullcheck, type TargetSpec } from './run.ts';
import { UPGRADE_SUITE } from './upgrade.ts';

/** Which cluster a kubeconfig names, and what it runs: read before anything is created. */
export interface ClusterIdentity {
  /** kube-system's UID: survives an upgrade, differs between clusters. */
  uid: string;
  server: string;
  version: string;
}

async function identify(cluster: Cluster): Promise<ClusterIdentity> {
  const ns = await cluster.kube.core.readNamespace({ name: 'kube-system' });
  const version = (await cluster.kube.config.makeApiClient(VersionApi).getCode()).gitVersion;
  return { uid: ns.metadata?.uid ?? '', server: cluster.kube.config.getCurrentCluster()?.server ?? '?', version };
}

/** Why the after run cannot use this baseline on this cluster with this registry, as the fix; undefined when it can. */
export function afterHalfError(
  baseline: { file: string; upgrade: UpgradeBaseline },
  now: ClusterIdentity,
  registry: string,
): string | undefined {
  const b = baseline.upgrade;
  if (b.clusterUid !== now.uid)
    return `--baseline ${baseline.file} was written on another cluster (${b.server}, kube-system UID ${b.clusterUid}; this one: ${now.server}, ${now.uid}): pass the --kubeconfig/--context of the cluster the --before run tested`;
  if (b.registry !== registry)
    return `--registry ${registry} is not the registry the --before run pushed to: pass --registry ${b.registry} (the after halves pull those images again)`;
  const from = parseKubernetesVersion(b.from);
  const to = parseKubernetesVersion(now.version);
  const order = (v: typeof from) => v.major * 1e6 + v.minor * 1e3 + v.patch;
  if (order(to) === order(from))
    return `the cluster still runs ${now.version}, as in the --before run: upgrade it with your tooling, then run --after`;
  if (order(to) < order(from))
    return `the cluster runs ${now.version}, older than the ${b.from} of the --before run: an upgrade goes forwards`;
  return undefined;
}

export async function runUpgradeHalf(o: RunOptions, logger: Logger): Promise<RunOutcome> {
  const h = o.upgradeHalf;
  if (!h || !o.kubeconfig) throw new UsageError('pullcheck upgrade --kubeconfig needs --before, or --after --baseline FILE');
  if (!o.registry)
    throw new UsageError(
      'the --kubeconfig form needs a registry both commands reach (the after halves pull what the before halves pushed): add --registry URL --registry-username U --registry-password-stdin (e.g. one pullcheck registry serve started)',
    );
  const target: ClusterTarget = { provider: 'existing', kubeconfig: resolve(o.kubeconfig), ...(o.context ? { context: o.context } : {}) };
  const now = await identify(await new ExistingCluster(target).connect({ logger, ready: false }));
  if (h.half === 'after') {
    const upgrade = h.baseline.results.upgrade;
    if (!upgrade) throw new UsageError(`--baseline ${h.baseline.file} is not the report of a pullcheck upgrade --before run`);
    const why = afterHalfError({ file: h.baseline.file, upgrade }, now, o.registry.url);
    if (why) throw new UsageError(why);
  }
  const catalog = await loadCatalog([SUITES_DIR]);
  const halves = planRun(catalog, { suites: [], upgradeHalves: true });
  const others = o.suites.filter((s) => s !== UPGRADE_SUITE);
  const runId = newRunId(new Date());
  const runDir = resolve(o.reportDir, runId);
  const stateFile = join(runDir, 'upgrade-state.json');
  if (h.half === 'before') {
    const half: UpgradeHalf = { half: 'before', from: now.version, to: 'the next version', stateFile };
    // A selection, not the catalog: the halves alone certify no registry.
    return runPullcheck({ ...o, suites: [UPGRADE_SUITE] }, logger, {
      targets: [{ name: 'before', cluster: target, plan: halves, upgrade: half }],
      runId,
      plan: halves,
      upgrade: () => ({
        half: 'before',
        from: now.version,
        clusterUid: now.uid,
        server: now.server,
        registry: o.registry?.url ?? '',
        state: readUpgradeState(stateFile),
      }),
    });
  }
  const b = h.baseline.results;
  const from = b.upgrade?.from ?? '?';
  mkdirSync(runDir, { recursive: true });
  writeFileSync(stateFile, `${JSON.stringify(b.upgrade?.state ?? {}, null, 2)}\n`);
  const rest = o.suites.length > 0 && others.length === 0 ? undefined : planRun(catalog, { ...o, suites: others });
  const targets: TargetSpec[] = [
    { name: 'after', cluster: target, plan: halves, upgrade: { half: 'after', from, to: now.version, stateFile } },
    ...(rest ? [{ name: now.version, cluster: target, plan: rest }] : []),
  ];
  logger.info(`after ${from} → ${now.version}: the before half from ${h.baseline.file} (run ${b.runId})`);
  return runPullcheck({ ...o, suites: rest ? others : [UPGRADE_SUITE] }, logger, {
    targets,
    runId,
    plan: rest ?? halves,
    earlier: b.targets.filter((t) => t.name === 'before'),
    halves: true,
  });
}
