// A suite's environment: the run's cluster (from the run context's provider), the suite's CA and
// registries (pullcheck's own, or the vendor's in their place), the node agent where nodes are not
// kind containers. Started once per suite file, disposed after its last scenario.

import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Cluster } from '../cluster/cluster.ts';
import { nodeFacts } from '../cluster/existing.ts';
import { providerFor } from '../cluster/provider.ts';
import { cacheDir } from '../infra/cache.ts';
import { defaultLogFile, Logger } from '../infra/log.ts';
import { payAllOwedRestarts } from '../kubelet/owedrestart.ts';
import type { Posture } from '../model/posture.ts';
import { targetRegistry } from '../model/results.ts';
import { installNodeAgent } from '../node/agent.ts';
import { liftQuarantines } from '../node/quarantine.ts';
import { removeRegistryImages } from '../node/registryimages.ts';
import { holdJournalLease, replayJournals } from '../node/replay.ts';
import { targetPosture } from '../posture/target.ts';
import { PUSH_JOURNAL } from '../registry/cleanup.ts';
import { extraNodeTrust, kindName, type RegistryKind, startRegistry } from '../registry/kinds.ts';
import { type NodeTrust, publishLocalRegistryHosting, trustRegistriesOnNodes, untrustRegistriesOnNodes } from '../registry/nodetrust.ts';
import type { PreseededEntry } from '../registry/preseeded.ts';
import type { TestRegistry } from '../registry/registry.ts';
import { type CertificateAuthority, createCA } from '../registry/tls.ts';
import { VendorRegistry } from '../registry/vendor.ts';
import { loadRunContext, type RunContext, registryPassword } from '../run/context.ts';
import { upstreamSpec } from '../run/upstream.ts';
import { nodeRuntime } from '../runtime/runtime.ts';

export interface RegistryRequest extends RegistryKind {
  name: string;
  /** 'token': Docker token auth with pullcheck's own token server (always pullcheck's registry, never the vendor's). */
  auth: 'htpasswd' | 'none' | 'token';
  /** Default true; false only for a scenario about plain-HTTP registries. */
  tls?: boolean;
  /** Default true; false: no certs.d entry on the nodes, for a scenario that a node refuses a CA it does not trust. */
  trustedByNodes?: boolean;
}

/**
 * Where a scenario's pods that name no node go, in a suite that changes nodes under locks: the
 * suite's home worker when nobody holds it, else another free node ('explicit': each pod names one).
 */
export type HomeNode = 'first-worker' | 'last-worker' | 'explicit';

export interface RunEnv {
  runId: string;
  /** Set for suites that change nodes under locks: each pod goes to a node the scenario holds. */
  home: HomeNode | undefined;
  context: RunContext;
  /** What the cluster is declared to be: where expectations come from. */
  posture: Posture;
  logger: Logger;
  cluster: Cluster;
  ca: CertificateAuthority;
  registries: Map<string, TestRegistry>;
  registry(name: string): TestRegistry;
  dispose(): Promise<void>;
}

/** What the report says of the target: written once per target by the first suite that starts. */
function writeEnvironment(ctx: RunContext, cluster: Cluster, nodes: ReturnType<typeof nodeFacts>, posture: Posture): void {
  const dir = ctx.targetDir;
  if (!dir || existsSync(join(dir, 'environment.json'))) return;
  const environment = {
    kubernetesVersion: nodes[0]?.kubeletVersion ?? '?',
    nodes,
    cluster: { ...providerFor(ctx.cluster).describe(), name: cluster.name, context: cluster.context },
    registry: targetRegistry(ctx.registry),
    posture,
  };
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'environment.json'), `${JSON.stringify(environment, null, 2)}\n`);
}

/**
 * The registry a suite asked for. With a vendor registry, the suite's first registry of the
 * vendor's kind (authenticated when credentials were given, else anonymous) is the vendor's; with
 * credentials and --registry-public-prefix, its first anonymous registry is the vendor's too, under
 * that namespace. The others (second tenants, plain HTTP, named kinds) stay pullcheck's own, which
 * needs a kind cluster.
 */
function vendorFor(ctx: RunContext, req: RegistryRequest, taken: ReadonlySet<'as-given' | 'public'>): VendorRegistry | undefined {
  const v = ctx.registry;
  // A request naming a kind (ggcr, blob redirects, token auth) is about that server: the vendor's stands in for none.
  if (
    !v ||
    req.tls === false ||
    req.trustedByNodes === false ||
    req.implementation ||
    req.redirectBlobs ||
    // A pull-through cache of the suite's: the vendor's stands in only when it is one (--registry-upstream).
    (req.pullThrough && !v.upstream) ||
    req.rateLimit ||
    req.auth === 'token'
  )
    return undefined;
  // Pull-only: anonymous references in the pre-seeded file are read without the credentials.
  const anonymousReads = Boolean(v.publicPrefix) || Boolean(v.preseeded?.some((e) => !e.name.startsWith('private-')));
  const role =
    (req.auth === 'htpasswd') === Boolean(v.username) ? 'as-given' : req.auth === 'none' && anonymousReads ? 'public' : undefined;
  if (!role || taken.has(role)) return undefined;
  const password = registryPassword(ctx);
  const prefix = role === 'public' ? v.publicPrefix : v.repositoryPrefix;
  return new VendorRegistry(
    {
      url: v.url,
      host: v.host,
      ...(v.username ? { username: v.username } : {}),
      ...(password ? { password } : {}),
      ...(v.caFile ? { caPem: readFileSync(v.caFile, 'utf8') } : {}),
      ...upstreamSpec(v.upstream),
      ...(v.preseeded ? { preseeded: v.preseeded as PreseededEntry[] } : {}),
      ...(prefix ? { repositoryPrefix: prefix } : {}),
      ...(v.repositoryLayout ? { repositoryLayout: v.repositoryLayout } : {}),
      // Every manifest pushed there is journalled for the run's cleanup (helpers/registry/cleanup.ts).
      ...(ctx.targetDir ? { pushJournal: join(ctx.targetDir, PUSH_JOURNAL) } : {}),
    },
    req.name,
    role,
  );
}

/** One requested registry: the vendor's where the run was given one for this role, else pullcheck's own, starting. */
function registrySlot(o: {
  ctx: RunContext;
  req: RegistryRequest;
  vendorTaken: Set<'as-given' | 'public'>;
  cluster: Cluster;
  ca: CertificateAuthority;
  runId: string;
  logger: Logger;
}): TestRegistry | Promise<TestRegistry> {
  const { req, logger } = o;
  const vendor = vendorFor(o.ctx, req, o.vendorTaken);
  if (vendor) {
    const publicRole = vendor.spec.auth === 'none' && Boolean(o.ctx.registry?.username);
    o.vendorTaken.add(publicRole ? 'public' : 'as-given');
    logger.info(
      `registry ${req.name}: the vendor registry ${vendor.host}${vendor.repositoryPrefix ? ` under ${vendor.repositoryPrefix}/` : ''}${publicRole ? ' (read anonymously)' : ''}`,
    );
    return vendor;
  }
  const network = o.cluster.network;
  // Not thrown here: the registries already starting must land in the map, so that dispose stops them.
  if (!network)
    return Promise.reject(
      new Error(
        `registry ${req.name}: pullcheck's own registries need a kind cluster on a docker network; this cluster is not one (pass --registry for a registry its nodes can reach)`,
      ),
    );
  return logger.phase(
    `start registry ${req.name} (${kindName(req)}, ${req.auth === 'none' ? 'anonymous' : req.auth}, ${req.tls === false ? 'plain HTTP' : 'TLS'})`,
    () => startRegistry({ ...req, ca: o.ca, network, runId: o.runId }, logger),
  );
}

export async function startEnv(o: { suite: string; registries: readonly RegistryRequest[]; home?: HomeNode }): Promise<RunEnv> {
  const ctx = loadRunContext();
  const runId = randomBytes(3).toString('hex');
  const logger = new Logger(defaultLogFile(cacheDir(), `suite-${o.suite}`));
  const cluster = await providerFor(ctx.cluster).connect({ logger, ready: ctx.clusterReady, allowPull: ctx.allowPull });
  const posture = ctx.posture ?? (await targetPosture(ctx.cluster, cluster));
  writeEnvironment(ctx, cluster, nodeFacts((await cluster.kube.core.listNode()).items), posture);
  // The declared runtime, never the one the nodes report: where node trust is written (helpers/runtime/).
  const runtime = nodeRuntime(posture);
  // This process's node changes are journaled as the run's (its own id when started by hand).
  const releaseJournal = await holdJournalLease(cluster.kube, ctx.runId || runId, logger);
  const ca = await createCA(`pullcheck ${runId}`);
  const registries = new Map<string, TestRegistry>();
  // No signal handler here: in a jest worker `process` is jest's sandbox copy, whose listeners a
  // signal never reaches. Stopped by Ctrl-C or SIGTERM, the worker just ends; `pullcheck run` sweeps
  // its registries and undoes its journaled node changes once jest's group is gone (run.ts, stopJest),
  // and a jest started by hand leaves them to the next run's sweep.
  const disposables: (() => Promise<void>)[] = [];
  const dispose = async () => {
    // Restarts owed to nodes by the suite's last scenarios (helpers/kubelet/owedrestart.ts), before the agent goes.
    await payAllOwedRestarts('the suite ends', ctx.runId || runId).catch((e: unknown) =>
      logger.warn(`kubelet restarts owed: ${String(e)}`),
    );
    const stopRegistries = () =>
      Promise.all(
        [...registries.values()].map((r) => r.stop().catch((e: unknown) => logger.warn(`stopping registry ${r.spec.name}: ${String(e)}`))),
      );
    // The nodes' own commands (images, trust) need no registry, so kind nodes' go beside the
    // registries' stop; a node agent DaemonSet was pulled from them, so it goes before they do.
    const stopped = cluster.nodes.how === 'none' ? undefined : stopRegistries();
    // What the nodes pulled from the suite's own registries goes with them; not around an upgrade,
    // whose after half runs on what the before half pulled. Beside it, the nodes forget the
    // registries (a removal needs no registry, nor its certs.d entry); then the node agent goes.
    const own = [...registries.values()].filter((r) => r.local).map((r) => r.host);
    const trusted = [...registries.values()]
      .filter((r) => r.local || (r.caPem && !ctx.registry?.trustedByRun))
      .flatMap((r) => [r.host, ...extraNodeTrust(r).map((t) => t.host)]);
    await Promise.all([
      cluster.nodes.how !== 'none' && !ctx.upgrade
        ? removeRegistryImages(cluster.nodes, cluster.nodeNames, own, logger).catch((e: unknown) =>
            logger.warn(`removing the images pulled from the suite's registries: ${String(e)}`),
          )
        : undefined,
      untrustRegistriesOnNodes(cluster.nodes, cluster.nodeNames, trusted, runtime).catch((e: unknown) =>
        logger.warn(`untrusting ${trusted.join(', ')} on the nodes: ${String(e)}`),
      ),
    ]);
    for (const d of disposables.reverse()) await d().catch((e: unknown) => logger.warn(`cleanup: ${String(e)}`));
    // Jest started by hand (no run): the suite's own quarantines, which no run lifts, end with it.
    if (!ctx.runId)
      await liftQuarantines({ kube: cluster.kube, runId, logger }).catch((e: unknown) => logger.warn(`lifting quarantines: ${String(e)}`));
    await (stopped ?? stopRegistries());
    rmSync(ca.dir, { recursive: true, force: true });
    await releaseJournal().catch(() => undefined);
    // The nodes' exec sessions end with the suite file (the jest worker goes on to the next).
    cluster.nodes.close?.();
  };
  try {
    const vendorTaken = new Set<'as-given' | 'public'>();
    // The suite's own registries start together and the nodes trust them in one write each; the
    // map keeps the order they were asked in (the first local one is the one published).
    const slots = o.registries.map((req) => registrySlot({ ctx, req, vendorTaken, cluster, ca, runId, logger }));
    const settled = await Promise.allSettled(slots);
    // Every started one is in the map before a failure is thrown, so that dispose stops it.
    for (const [i, r] of settled.entries()) if (r.status === 'fulfilled') registries.set(o.registries[i]?.name ?? '', r.value);
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    const trust = o.registries.flatMap((req): NodeTrust[] => {
      const r = registries.get(req.name);
      if (!r) return [];
      // Parallel suites share the vendor's host: one suite's end must not untrust it under another.
      if (!r.local) return r.caPem && !ctx.registry?.trustedByRun ? [{ host: r.host, caPem: r.caPem }] : [];
      if (req.trustedByNodes === false) return [];
      return [{ host: r.host, caPem: r.caPem }, ...extraNodeTrust(r)];
    });
    await trustRegistriesOnNodes(cluster.nodes, cluster.nodeNames, trust, runtime);
    const first = [...registries.values()].find((r) => r.local);
    if (first) await publishLocalRegistryHosting(cluster.kube, first.host);
    // Nodes that are not kind containers are reached through the node agent, pulled from the
    // suite's first registry the nodes already trust: the vendor's with its credentials before the
    // vendor standing in for an anonymous registry (it pushes outside the anonymous namespace).
    if (cluster.nodes.how === 'none') {
      // Not a pull-only one (--registry-preseeded): the agent's image would have to be pushed there.
      const vendors = [...registries.values()].filter((r) => !r.local && !r.preseeded);
      const source = vendors.find((r) => r.username) ?? vendors[0] ?? [...registries.values()].find((r) => r.local && r.caPem);
      if (source) {
        const agent = await logger.phase('install the node agent DaemonSet', () =>
          installNodeAgent({ kube: cluster.kube, registry: source, runId: `${runId}-${o.suite}`.slice(0, 40), logger }),
        );
        disposables.push(() => agent.dispose());
        cluster.nodes = agent;
        // The run had no node access before the suites: what killed runs left on the nodes is undone
        // here. Not in an after half: the before half (another command) hands its changes over.
        const restored =
          ctx.upgrade?.half === 'after'
            ? []
            : await replayJournals({
                kube: cluster.kube,
                nodes: agent,
                nodeNames: agent.nodeNames,
                logger,
                keepRuns: [ctx.runId || runId],
              });
        if (restored.length > 0 && ctx.targetDir) {
          mkdirSync(ctx.targetDir, { recursive: true });
          writeFileSync(join(ctx.targetDir, `restored-${o.suite}-${runId}.json`), `${JSON.stringify(restored, null, 2)}\n`);
        }
      }
    }
  } catch (error) {
    await dispose();
    throw error;
  }
  return {
    runId,
    context: ctx,
    posture,
    logger,
    cluster,
    ca,
    registries,
    dispose,
    home: o.home,
    registry: (name) => {
      const r = registries.get(name);
      if (!r) throw new Error(`no registry "${name}" in this suite (have: ${[...registries.keys()].join(', ')})`);
      return r;
    },
  };
}
