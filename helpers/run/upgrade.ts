// `pullcheck upgrade --from vX --to vY`: a kind cluster at vX, the `before` half of upgrade/*, the
// in-place upgrade (helpers/cluster/upgrade.ts), the `after` half, then the default selection on
// the upgraded cluster; one report whose targets `before` and `after` hold the same scenario IDs,
// so that comparing the halves is one diff of two targets. The registry the halves push to and pull
// from is started once for the whole command (same host and port before and after), and stands in
// as a vendor registry for the upgrade suite only.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { VersionApi } from '@kubernetes/client-node';
import YAML from 'yaml';
import { checkKubernetesVersion } from '../build/nodeimage/index.ts';
import type { Cluster } from '../cluster/cluster.ts';
import { clusterExists, connectKind, kindBinary } from '../cluster/cluster.ts';
import { loadProfile, type Profile } from '../cluster/profile.ts';
import { KindCluster } from '../cluster/provider.ts';
import { type UpgradeStep, upgradeCluster, upgradePathError } from '../cluster/upgrade.ts';
import { onInterrupt } from '../infra/lifecycle.ts';
import type { Logger } from '../infra/log.ts';
import { checkBuildTools, checkDocker } from '../infra/preflight.ts';
import { registerCredentials } from '../infra/redact.ts';
import { type KubernetesVersion, parseKubernetesVersion } from '../infra/versions.ts';
import { type StandaloneRegistry, startStandalone } from '../registry/standalone.ts';
import { newRunId } from '../report/assemble.ts';
import { loadCatalog, SUITES_DIR, vendorSuitesDirs } from './catalog.ts';
import { type ClusterTarget, writeSecretFile } from './context.ts';
import { type RunOptions, UsageError } from './options.ts';
import { planRun } from './plan.ts';
import { type RunOutcome, runPullcheck, type TargetSpec } from './run.ts';
import { runUpgradeHalf } from './upgradehalf.ts';

/** The suite whose scenarios run in halves around the upgrade. */
export const UPGRADE_SUITE = 'upgrade';

/** Checks, before anything is created, that kubeadm would take this upgrade and both versions can be built. */
export async function upgradePreflight(from: KubernetesVersion, to: KubernetesVersion, logger: Logger): Promise<void> {
  const why = upgradePathError(from, to);
  if (why) throw new UsageError(why);
  await checkDocker();
  await checkBuildTools();
  await checkKubernetesVersion(from, logger);
  await checkKubernetesVersion(to, logger);
}

/**
 * A profile file for one version of the cluster: the chosen profile with its cluster name kept (a
 * version other than the profile's own would rename it) and the version set, so that the targets
 * before and after the upgrade name the same kind cluster and each has its version's posture.
 */
function versionProfile(o: RunOptions, v: KubernetesVersion, dir: string): string {
  const base = loadProfile(o.profile);
  const raw = YAML.parse(readFileSync(base.file, 'utf8')) as Record<string, unknown>;
  const file = join(dir, `profile-${v.raw}.yaml`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, YAML.stringify({ ...raw, clusterName: o.name ?? base.clusterName, kubernetesVersion: v.raw }));
  return file;
}

/**
 * The in-place upgrade stages the new component images with containerd's `ctr`: CRI-O nodes are
 * refused before anything is made (one line, exit 2) rather than half upgraded.
 */
function refuseCrioUpgrade(profile: Profile): void {
  if ((profile.posture.runtime ?? 'containerd') !== 'containerd')
    throw new UsageError(
      `profile ${profile.name} declares runtime ${profile.posture.runtime}: the in-place upgrade imports the new component images into containerd only; run the versions side by side instead (pullcheck run --profile ${profile.name} --k8s vX,vY)`,
    );
}

export async function runUpgrade(o: RunOptions, logger: Logger): Promise<RunOutcome> {
  if (o.upgradeHalf) return runUpgradeHalf(o, logger);
  refuseCrioUpgrade(loadProfile(o.profile));
  const u = o.upgrade;
  if (o.kubeconfig)
    throw new UsageError(
      'pullcheck upgrade --kubeconfig runs one half around your own upgrade: --before first, then --after --baseline reports/<run>/results.json',
    );
  if (!u) throw new UsageError('pullcheck upgrade needs --from vX --to vY (or upgrade: {from, to} in --config)');
  await upgradePreflight(u.from, u.to, logger);
  const catalog = await loadCatalog([SUITES_DIR], vendorSuitesDirs(o.suitesDirs));
  // --suite upgrade: the halves alone; other names narrow the default selection after them.
  const others = o.suites.filter((s) => s !== UPGRADE_SUITE);
  const halves = planRun(catalog, { suites: [], upgradeHalves: true });
  const rest = o.suites.length > 0 && others.length === 0 ? undefined : planRun(catalog, { ...o, suites: others });
  const runId = newRunId(new Date());
  const runDir = resolve(o.reportDir, runId);
  const before: ClusterTarget = { provider: 'kind', profile: versionProfile(o, u.from, runDir) };
  const after: ClusterTarget = { provider: 'kind', profile: versionProfile(o, u.to, runDir) };
  const provider = new KindCluster(before);
  if (await provider.exists(logger))
    throw new UsageError(
      `kind cluster ${provider.name} exists already: an upgrade starts from a new cluster at ${u.from.raw}; remove it (pullcheck cluster down --name ${provider.name}) or choose another --name`,
    );

  const timings: { phase: string; seconds: number }[] = [];
  const timed = async <T>(phase: string, fn: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    try {
      return await fn();
    } finally {
      timings.push({ phase, seconds: Math.round((Date.now() - started) / 100) / 10 });
    }
  };
  let registry: StandaloneRegistry | undefined;
  let secret: { file: string; remove(): void } | undefined;
  const cleanup = async () => {
    await registry?.stop();
    secret?.remove();
    if (!o.keep) await provider.down(logger);
  };
  const forget = onInterrupt('pullcheck upgrade', cleanup);
  let steps: UpgradeStep[] = [];
  let upgraded = false;
  try {
    const { cluster } = await timed(`cluster up at ${u.from.raw}`, () =>
      logger.phase(`cluster ${provider.name} (Kubernetes ${u.from.raw})`, () => provider.up({ logger, allowPull: o.allowPull })),
    );
    registry = await logger.phase('registry for upgrade/* (kept across the upgrade)', () =>
      startStandalone({ kind: 'distribution-htpasswd', nodes: cluster.nodeNames, logger }),
    );
    if (registry.username && registry.password) registerCredentials(registry.username, registry.password);
    secret = registry.password ? writeSecretFile(registry.password) : undefined;
    const standIn = {
      options: {
        url: registry.url,
        host: registry.host,
        ...(registry.username ? { username: registry.username } : {}),
        ...(registry.password ? { password: registry.password } : {}),
        caPem: registry.caPem,
        caFile: registry.caFile,
      },
      ...(secret ? { passwordFile: secret.file } : {}),
    };
    const half = (h: 'before' | 'after', to: KubernetesVersion) => ({
      half: h,
      from: u.from.raw,
      to: to.raw,
      stateFile: join(runDir, 'upgrade-state.json'),
      ownerPid: process.pid,
    });
    const targets: TargetSpec[] = [
      { name: 'before', cluster: before, plan: halves, registry: standIn, upgrade: half('before', u.to) },
      {
        name: 'after',
        cluster: after,
        plan: halves,
        registry: standIn,
        upgrade: half('after', u.to),
        prepare: async (c: Cluster) => {
          const result = await timed(`upgrade ${u.from.raw} → ${u.to.raw}`, () =>
            logger.phase(`in-place upgrade ${u.from.raw} → ${u.to.raw}`, () => upgradeCluster({ cluster: c, to: u.to, logger })),
          );
          steps = result.steps;
          upgraded = true;
        },
      },
      ...(rest
        ? [
            {
              name: u.to.raw,
              cluster: after,
              plan: rest,
              prepare: async () => {
                if (!upgraded)
                  throw new Error(
                    `the upgrade to ${u.to.raw} did not complete: the default selection does not run on a half-upgraded cluster`,
                  );
              },
            },
          ]
        : []),
    ];
    const outcome = await runPullcheck({ ...o, suites: others }, logger, { targets, runId, plan: rest ?? halves, halves: true });
    writeFileSync(
      join(runDir, 'upgrade.json'),
      `${JSON.stringify({ from: u.from.raw, to: u.to.raw, cluster: provider.name, upgraded, timings, steps }, null, 2)}\n`,
    );
    for (const s of steps) logger.info(`upgrade step ${s.node ? `[${s.node}] ` : ''}${s.name}: ${s.seconds}s`);
    for (const t of timings) logger.info(`upgrade phase ${t.phase}: ${t.seconds}s`);
    return upgraded ? outcome : { ...outcome, exitCode: 1 };
  } finally {
    forget();
    await cleanup();
  }
}

/**
 * `pullcheck cluster upgrade --to vY`: the same in-place upgrade of an existing kind cluster, alone
 * (the step a user's own tooling takes between `upgrade --kubeconfig --before` and `--after`).
 */
export async function upgradeKindCluster(o: { profile: Profile; to: string; logger: Logger }): Promise<UpgradeStep[]> {
  const { profile, logger } = o;
  refuseCrioUpgrade(profile);
  let to: KubernetesVersion;
  try {
    to = parseKubernetesVersion(o.to);
  } catch (error) {
    throw new UsageError(`--to: ${(error as Error).message}`);
  }
  await checkDocker();
  if (!(await clusterExists(await kindBinary(logger), profile.clusterName)))
    throw new UsageError(
      `no kind cluster ${profile.clusterName} to upgrade: start it with \`npx pullcheck cluster up --name ${profile.clusterName} --k8s vX\``,
    );
  const cluster = await connectKind(profile, logger);
  const from = parseKubernetesVersion((await cluster.kube.config.makeApiClient(VersionApi).getCode()).gitVersion);
  const why = upgradePathError(from, to);
  if (why) throw new UsageError(`cluster ${profile.clusterName} runs ${from.raw}: ${why}`);
  await checkBuildTools();
  await checkKubernetesVersion(to, logger);
  const { steps } = await logger.phase(`in-place upgrade of ${profile.clusterName} ${from.raw} → ${to.raw}`, () =>
    upgradeCluster({ cluster, to, logger }),
  );
  for (const s of steps) logger.info(`upgrade step ${s.node ? `[${s.node}] ` : ''}${s.name}: ${s.seconds}s`);
  return steps;
}
