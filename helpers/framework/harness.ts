// What a suite file uses: one environment per file (cluster, run CA, registries), and `scenario`,
// which gives each test its namespace, unique tags, deferred cleanups (run in reverse, always) and
// evidence collectors (run when the body throws, appended to the failure). Suites import from here.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import type { CoreV1Event, V1Pod } from '@kubernetes/client-node';
import { cacheDir } from '../infra/cache.ts';
import { connectOrUp, type Cluster } from '../cluster/cluster.ts';
import { profileFromEnv } from '../cluster/profile.ts';
import type { Image } from '../images/oci.ts';
import type { TestIndex } from '../images/testimages.ts';
import type { AccessEntry } from '../registry/accesslog.ts';
import { LABEL_RUN } from '../infra/docker.ts';
import { expectPullFailure, expectRan, type RanExpectation } from './expectations.ts';
import { defaultLogFile, Logger } from '../infra/log.ts';
import { createPod, describeEvents, describePod, podEvents, podLog, waitForEvent, waitForVerdict, type PodSpecInput, type PodVerdict } from './pods.ts';
import { redact } from '../infra/redact.ts';
import { removeContainersSync } from '../infra/sweep.ts';
import { publishLocalRegistryHosting, trustRegistryOnNodes, untrustRegistryOnNodes } from '../registry/nodetrust.ts';
import { LocalRegistry, type TestRegistry } from '../registry/registry.ts';
import { VendorRegistry } from '../registry/vendor.ts';
import { connectExisting, nodeFacts, PendingNodeAccess } from '../cluster/existing.ts';
import { ownerLabels, sweepClusterLeftovers } from '../cluster/leftovers.ts';
import { installNodeAgent } from '../node/agent.ts';
import { lockFreeNode, lockNode } from '../node/lock.ts';
import { targetDir } from '../report/records.ts';
import { createCA, type CertificateAuthority } from '../registry/tls.ts';
import { waitForServiceAccount } from '../cluster/kube.ts';
import { isSelected, ScenarioSkipped, selectionFromEnv, writeEvidence, writeScenarioRecord } from '../report/records.ts';

export interface RegistryRequest {
  name: string;
  auth: 'htpasswd' | 'none';
  /** Default true; false only for a scenario about plain-HTTP registries. */
  tls?: boolean;
}

export type PinnedPods = 'explicit' | 'first-worker' | 'last-worker';

export interface RunEnv {
  runId: string;
  /**
   * The suite runs beside other node-changing suites (`locksNodes`): each of its pods goes to a
   * node the scenario locks first — the one it names, else the scenario's `homeNode()` (the
   * suite's home worker when nobody holds it; 'explicit': it must name one).
   */
  pinnedPods: PinnedPods | undefined;
  logger: Logger;
  cluster: Cluster;
  ca: CertificateAuthority;
  registries: Map<string, TestRegistry>;
  registry(name: string): TestRegistry;
  dispose(): Promise<void>;
}

/** The run's cluster: one the user named (PULLCHECK_KUBECONFIG), else the profile's kind cluster. */
async function connectCluster(logger: Logger): Promise<Cluster> {
  const kubeconfig = process.env['PULLCHECK_KUBECONFIG'];
  if (kubeconfig) {
    const context = process.env['PULLCHECK_CONTEXT'];
    return connectExisting({ kubeconfig, ...(context ? { context } : {}), logger });
  }
  return connectOrUp({ profile: profileFromEnv(), logger });
}

/** What the report says of the target: written once per target by the first suite that starts. */
async function writeEnvironment(cluster: Cluster): Promise<void> {
  const dir = targetDir();
  if (!dir || existsSync(join(dir, 'environment.json'))) return;
  const nodes = nodeFacts((await cluster.kube.core.listNode()).items);
  const vendor = process.env['PULLCHECK_REGISTRY'];
  const existing = Boolean(process.env['PULLCHECK_KUBECONFIG']);
  const environment = {
    kubernetesVersion: nodes[0]?.kubeletVersion ?? '?',
    nodes,
    cluster: existing ? { mode: 'existing', name: cluster.name, context: cluster.context } : { mode: 'kind', name: cluster.name, profile: process.env['PULLCHECK_PROFILE'] ?? 'default', context: cluster.context },
    registry: vendor ? { mode: 'vendor', url: vendor } : { mode: 'local' },
  };
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'environment.json'), `${JSON.stringify(environment, null, 2)}\n`);
}

/**
 * The registry a suite asked for. With a vendor registry (PULLCHECK_REGISTRY), the suite's first
 * registry of the vendor's kind (authenticated when credentials were given, else anonymous) is the
 * vendor's; the others (second tenants, plain HTTP) stay pullcheck's own, which needs a kind cluster.
 */
function vendorFor(req: RegistryRequest, taken: boolean): VendorRegistry | undefined {
  const url = process.env['PULLCHECK_REGISTRY'];
  const host = process.env['PULLCHECK_REGISTRY_HOST'];
  if (!url || !host || taken || req.tls === false) return undefined;
  const username = process.env['PULLCHECK_REGISTRY_USERNAME'];
  if ((req.auth === 'htpasswd') !== Boolean(username)) return undefined;
  const password = process.env['PULLCHECK_REGISTRY_PASSWORD'];
  const caFile = process.env['PULLCHECK_REGISTRY_CA'];
  return new VendorRegistry({ url, host, ...(username ? { username } : {}), ...(password ? { password } : {}), ...(caFile ? { caPem: readFileSync(caFile, 'utf8') } : {}) }, req.name);
}

/** A suite's environment: the run's cluster (jest's global setup brought it up), the run CA, registries. */
export async function startEnv(o: { suite: string; registries: RegistryRequest[]; pinnedPods?: PinnedPods }): Promise<RunEnv> {
  const runId = randomBytes(3).toString('hex');
  const logger = new Logger(defaultLogFile(cacheDir(), `suite-${o.suite}`));
  const cluster = await connectCluster(logger);
  // Without node access yet (the node agent comes with the registries), static pods stay for a
  // suite that has it.
  await sweepClusterLeftovers({ kube: cluster.kube, ...(cluster.nodes instanceof PendingNodeAccess ? {} : { nodes: cluster.nodes }), logger });
  await writeEnvironment(cluster);
  const ca = await createCA(`pullcheck ${runId}`);
  const registries = new Map<string, TestRegistry>();
  // Ctrl-C or SIGTERM while a suite runs: remove this run's registries before the process goes
  // (synchronously: nothing async runs after a signal handler calls exit). The cluster is the
  // global teardown's, and sweepOrphans catches what a SIGKILL leaves.
  const onSignal = (signal: NodeJS.Signals) => {
    removeContainersSync(`${LABEL_RUN}=${runId}`);
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const disposables: (() => Promise<void>)[] = [];
  const dispose = async () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    // Nodes forget the registries first (through the node agent, where there is one), then the
    // agent goes, then the registries it was pulled from.
    for (const r of registries.values()) {
      if (r.local || r.caPem) await untrustRegistryOnNodes(cluster.nodes, cluster.nodeNames, r.host).catch((e: unknown) => logger.warn(`untrusting ${r.host} on the nodes: ${String(e)}`));
    }
    for (const d of disposables.reverse()) await d().catch((e: unknown) => logger.warn(`cleanup: ${String(e)}`));
    for (const r of registries.values()) await r.stop().catch((e: unknown) => logger.warn(`stopping registry ${r.spec.name}: ${String(e)}`));
    rmSync(ca.dir, { recursive: true, force: true });
  };
  try {
    let vendorTaken = false;
    for (const req of o.registries) {
      const vendor = vendorFor(req, vendorTaken);
      if (vendor) {
        vendorTaken = true;
        logger.info(`registry ${req.name}: the vendor registry ${vendor.host}`);
        registries.set(req.name, vendor);
        if (vendor.caPem) await trustRegistryOnNodes(cluster.nodes, cluster.nodeNames, vendor.host, vendor.caPem);
        continue;
      }
      if (!cluster.network) throw new Error(`registry ${req.name}: pullcheck's own registries need a kind cluster on a docker network; this cluster is not one (pass --registry for a registry its nodes can reach)`);
      const started = await logger.phase(`start registry ${req.name} (${req.auth === 'none' ? 'anonymous' : 'htpasswd'}, ${req.tls === false ? 'plain HTTP' : 'TLS'})`, () =>
        new LocalRegistry({ ...req, ca, network: cluster.network, runId }, logger).start());
      registries.set(req.name, started);
      await trustRegistryOnNodes(cluster.nodes, cluster.nodeNames, started.host, started.caPem);
    }
    const first = [...registries.values()].find((r) => r.local);
    if (first) await publishLocalRegistryHosting(cluster.kube, first.host);
    // Node-level steps on a cluster whose nodes are not kind containers (or with
    // PULLCHECK_NODE_ACCESS=agent, to exercise the agent on kind) go through the node agent, pulled
    // from the suite's first registry the nodes already trust.
    if (cluster.nodes instanceof PendingNodeAccess || process.env['PULLCHECK_NODE_ACCESS'] === 'agent') {
      const source = [...registries.values()].find((r) => !r.local) ?? [...registries.values()].find((r) => r.local && r.caPem);
      if (source) {
        const agent = await logger.phase('install the node agent DaemonSet', () => installNodeAgent({ kube: cluster.kube, registry: source, runId: `${runId}-${o.suite}`.slice(0, 40), logger }));
        disposables.push(() => agent.dispose());
        cluster.nodes = agent;
      }
    }
  } catch (error) {
    await dispose();
    throw error;
  }
  return {
    runId, logger, cluster, ca, registries, dispose, pinnedPods: o.pinnedPods,
    registry: (name) => {
      const r = registries.get(name);
      if (!r) throw new Error(`no registry "${name}" in this suite (have: ${[...registries.keys()].join(', ')})`);
      return r;
    },
  };
}

/**
 * Registers the suite's beforeAll/afterAll and returns what scenarios call to reach the environment.
 * A suite file declares it once: `const getEnv = useEnv({ suite, registries })`.
 */
export function useEnv(o: { suite: string; registries: RegistryRequest[]; pinnedPods?: PinnedPods }): () => RunEnv {
  let env: RunEnv | undefined;
  beforeAll(async () => {
    env = await startEnv(o);
  }, 3_600_000);
  afterAll(async () => {
    await env?.dispose();
  });
  return () => {
    if (!env) throw new Error(`the ${o.suite} suite environment did not start (see its beforeAll error)`);
    return env;
  };
}

export interface PushedImage {
  ref: string;
  repository: string;
  tag: string;
  digest: string;
}

export interface ScenarioContext {
  id: string;
  env: RunEnv;
  namespace: string;
  /** A tag no other test uses. */
  uniqueTag(): string;
  /** A repository name no other test uses. */
  uniqueRepository(base?: string): string;
  defer(fn: () => Promise<unknown> | unknown): void;
  collect(name: string, fn: () => Promise<string>): void;
  push(registry: TestRegistry, image: Image, o?: { repository?: string; tag?: string }): Promise<PushedImage>;
  /** Pushes an index (or manifest list): its children by digest, the index under the tag. */
  pushIndex(registry: TestRegistry, idx: TestIndex, o?: { repository?: string; tag?: string }): Promise<PushedImage>;
  runPod(input: Omit<PodSpecInput, 'name'> & { name?: string }, timeoutMs?: number): Promise<PodVerdict>;
  /** Creates a pod and returns it as the API server stored it (defaulted, admitted), without waiting. */
  createPod(input: Omit<PodSpecInput, 'name'> & { name?: string }): Promise<V1Pod>;
  /** Creates another namespace (a second tenant), labelled for the run and deleted with the scenario. */
  extraNamespace(suffix: string): Promise<string>;
  /** Worker node names (pods pinned with nodeName). */
  workers(): string[];
  /**
   * Takes `node`'s lock (helpers/nodelock.ts) for the rest of the scenario; call it before the
   * first change to the node, so that its release comes after the change's cleanup. Once per node.
   */
  lockNode(node: string): Promise<void>;
  /**
   * Locks, for the rest of the scenario, the first of `candidates` nobody holds now (else waits for
   * the first) and returns it: for a scenario that needs *another* node, not a particular one.
   */
  lockFreeNode(candidates: readonly string[]): Promise<string>;
  /** Control-plane node names (kind's `-control-plane` naming, like `workers()`). */
  controlPlanes(): string[];
  /**
   * Where this scenario's pods that name no node go (suites with `pinnedPods` first-/last-worker),
   * locked: the suite's home worker when nobody holds it, else another free worker, else a control
   * plane, else (all held) the home worker once free. The same node for the whole scenario, so
   * that a second pod finds what the first left on the node.
   */
  homeNode(): Promise<string>;
  /** Events of a pod in this namespace. */
  events(podName: string): Promise<CoreV1Event[]>;
  /** Waits for an event on a pod of this namespace; fails with the events it saw. */
  waitForEvent(podName: string, reason: string, message?: RegExp): Promise<CoreV1Event>;
  log(pod: V1Pod, container?: string): Promise<string>;
  /** The pod ran this image: exit 0, SUCCESS and the build's marker in its log, `imageID` with the digest. */
  expectRan(verdict: PodVerdict, e: RanExpectation): Promise<V1Pod>;
  /** The pull failed: a pull waiting reason and a `Failed to pull image` event matching `cause`. */
  expectPullFailure(verdict: PodVerdict, cause: RegExp): Promise<CoreV1Event>;
  /** Records (and logs) the rule an expectation was derived from, e.g. a version-dependent one. */
  rule(text: string): void;
  /** The registry's access log; skips the scenario where it cannot be read (a vendor's registry). */
  accessLog(registry: TestRegistry): Promise<AccessEntry[]>;
  /** Ends the scenario as skipped, with the reason (what this cluster or version cannot give). */
  skip(reason: string): never;
}

/**
 * `pc-<run>-<id, cut>-<hash of id>`: unique per run and scenario even where the id is cut, with
 * room for an 8-character suffix (extraNamespace) under the 63-character limit.
 */
export function scenarioNamespace(runId: string, id: string): string {
  const hash = createHash('sha256').update(id).digest('hex').slice(0, 4);
  return `pc-${runId}-${slug(id).slice(0, 40).replace(/-+$/, '')}-${hash}`;
}

function slug(id: string): string {
  return id.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '');
}

/**
 * What a failed scenario leaves for whoever reads the report: the pods as YAML, the kubelet and
 * containerd journal of the nodes its pods ran on for the scenario's window, `crictl images` there,
 * and the registries' access-log lines for its repositories.
 */
function collectEvidence(env: RunEnv, namespace: string, since: Date, registries: ReadonlyMap<string, TestRegistry>, repositories: ReadonlySet<string>, add: (name: string, fn: () => Promise<string>) => void): void {
  const { kube, nodes } = env.cluster;
  const podNodes = async () => [...new Set((await kube.core.listNamespacedPod({ namespace })).items.map((p) => p.spec?.nodeName).filter((n): n is string => Boolean(n)))];
  add('pod-yaml', async () => YAML.stringify((await kube.core.listNamespacedPod({ namespace })).items.map((p) => ({ metadata: { name: p.metadata?.name, namespace: p.metadata?.namespace }, spec: p.spec, status: p.status }))));
  add('node-journal', async () => {
    const out: string[] = [];
    for (const node of await podNodes()) {
      const r = await nodes.exec(node, ['journalctl', '-u', 'kubelet', '-u', 'containerd', '--since', `@${Math.floor(since.getTime() / 1000) - 5}`, '--no-pager', '-o', 'short-iso', '-n', '400'], { allowFailure: true });
      out.push(`=== ${node}: journalctl -u kubelet -u containerd (last 400 lines since the scenario started)\n${r.stdout}${r.stderr}`);
    }
    return out.join('\n') || '(no pod was scheduled)';
  });
  add('crictl-images', async () => {
    const out: string[] = [];
    for (const node of await podNodes()) {
      const r = await nodes.exec(node, ['crictl', 'images', '--digests'], { allowFailure: true });
      out.push(`=== ${node}: crictl images --digests\n${r.stdout}${r.stderr}`);
    }
    return out.join('\n') || '(no pod was scheduled)';
  });
  add('registry-access-log', async () => {
    const out: string[] = [];
    for (const [host, registry] of registries) {
      const entries = await registry.accessLog();
      if (!entries) {
        out.push(`=== ${host}: not pullcheck's registry, its access log cannot be read`);
        continue;
      }
      const mine = entries.filter((e) => [...repositories].some((r) => e.uri.startsWith(`/v2/${r}/`)));
      out.push(`=== ${host}: ${mine.length} requests for ${[...repositories].join(', ')}`, ...mine.map((e) => `${e.time.toISOString()} ${e.remoteAddr} ${e.method} ${e.uri} ${e.status}`));
    }
    return out.join('\n') || '(the scenario pushed nothing)';
  });
}

/** PULLCHECK_SCENARIO_TIMEOUT_MS (`pullcheck run --timeout`) replaces every scenario's own. */
function scenarioTimeout(own: number): number {
  const v = Number(process.env['PULLCHECK_SCENARIO_TIMEOUT_MS']);
  return Number.isFinite(v) && v > 0 ? v : own;
}

export function scenario(getEnv: () => RunEnv, id: string, title: string, body: (s: ScenarioContext) => Promise<void>, timeoutMs = 600_000): void {
  // Scenarios left out by --focus/--skip are jest-skipped (and left out of the report), so that a
  // suite whose scenarios are all left out does not start its registries either.
  const register = isSelected(id, selectionFromEnv()) ? it : it.skip;
  register(`${id}: ${title}`, async () => {
    const env = getEnv();
    const { kube } = env.cluster;
    const namespace = scenarioNamespace(env.runId, id);
    const defers: (() => Promise<unknown> | unknown)[] = [];
    const collectors: { name: string; fn: () => Promise<string> }[] = [];
    const usedRegistries = new Map<string, TestRegistry>();
    const rules: string[] = [];
    const started = Date.now();
    let counter = 0;
    const locked = new Set<string>();
    const record = (status: 'passed' | 'failed' | 'skipped', extra: { reason?: string; evidence?: string[] } = {}) =>
      writeScenarioRecord({ id, suite: id.split('/')[0] ?? id, title, status, durationMs: Date.now() - started, rules, evidence: extra.evidence ?? [], namespace, registries: [...usedRegistries.keys()], ...(extra.reason ? { reason: extra.reason } : {}) });
    await kube.core.createNamespace({ body: { metadata: { name: namespace, labels: { 'pullcheck.io/managed': 'true', 'pullcheck.io/run': env.runId, 'pullcheck.io/scenario': slug(id).slice(0, 63), ...ownerLabels() } } } });
    // PULLCHECK_KEEP keeps the namespace for debugging; every other cleanup (node files, kubelet
    // restarts, pre-loaded images) runs regardless, so that later scenarios find the nodes as they were.
    defers.push(() => (process.env['PULLCHECK_KEEP'] === '1' ? undefined : kube.core.deleteNamespace({ name: namespace })));
    await waitForServiceAccount(kube, namespace, 'default');
    collectors.push({ name: 'pods', fn: async () => (await kube.core.listNamespacedPod({ namespace })).items.map(describePod).join('\n') });
    collectors.push({ name: 'events', fn: async () => describeEvents((await kube.core.listNamespacedEvent({ namespace })).items) });
    const usedRepositories = new Set<string>();
    const scenarioStart = new Date();
    collectEvidence(env, namespace, scenarioStart, usedRegistries, usedRepositories, (name, fn) => collectors.push({ name, fn }));
    // Beside other node-changing suites, a pod may only go to a node this scenario holds: another
    // suite's kubelet restart or policy change there would change its verdict.
    const pinned = async (pod: string, named: string | undefined): Promise<string | undefined> => {
      if (!env.pinnedPods) return named;
      if (named) {
        await s.lockNode(named);
        return named;
      }
      if (env.pinnedPods === 'explicit') throw new Error(`pod ${pod}: this suite runs beside other node-changing suites (locksNodes), so each pod must name its node (nodeName) and the scenario locks it`);
      return s.homeNode();
    };
    let home: Promise<string> | undefined;
    const s: ScenarioContext = {
      id, env, namespace,
      uniqueTag: () => `${env.runId}-${slug(id).slice(-40)}-${++counter}`.slice(0, 128),
      uniqueRepository: (base = 'pullcheck') => `${base}/${slug(id)}-${env.runId}-${++counter}`,
      defer: (fn) => defers.push(fn),
      collect: (name, fn) => collectors.push({ name, fn }),
      push: async (registry, image, o = {}) => {
        const repository = o.repository ?? s.uniqueRepository();
        const tag = o.tag ?? s.uniqueTag();
        usedRegistries.set(registry.host, registry);
        usedRepositories.add(repository);
        const digest = await registry.client.pushImage(repository, tag, image);
        return { ref: registry.ref(repository, tag), repository, tag, digest };
      },
      pushIndex: async (registry, idx, o = {}) => {
        const repository = o.repository ?? s.uniqueRepository();
        const tag = o.tag ?? s.uniqueTag();
        usedRegistries.set(registry.host, registry);
        usedRepositories.add(repository);
        const digest = await registry.client.pushIndex(repository, tag, idx.children.map((c) => c.image), idx.index, idx.mediaType);
        return { ref: registry.ref(repository, tag), repository, tag, digest };
      },
      runPod: async (input, podTimeout) => {
        const name = input.name ?? `pod-${++counter}`;
        const nodeName = await pinned(name, input.nodeName);
        await createPod(kube, namespace, { ...input, name, ...(nodeName ? { nodeName } : {}) });
        return waitForVerdict(kube, namespace, name, podTimeout, async () => describeEvents(await podEvents(kube, namespace, name)));
      },
      createPod: async (input) => {
        const name = input.name ?? `pod-${++counter}`;
        const nodeName = await pinned(name, input.nodeName);
        return createPod(kube, namespace, { ...input, name, ...(nodeName ? { nodeName } : {}) });
      },
      extraNamespace: async (suffix) => {
        const name = `${namespace}-${slug(suffix).slice(0, 7)}`;
        await kube.core.createNamespace({ body: { metadata: { name, labels: { 'pullcheck.io/managed': 'true', 'pullcheck.io/run': env.runId, ...ownerLabels() } } } });
        defers.push(() => (process.env['PULLCHECK_KEEP'] === '1' ? undefined : kube.core.deleteNamespace({ name })));
        await waitForServiceAccount(kube, name, 'default');
        return name;
      },
      workers: () => env.cluster.nodeNames.filter((n) => !n.endsWith('-control-plane')),
      controlPlanes: () => env.cluster.nodeNames.filter((n) => n.endsWith('-control-plane')),
      homeNode: () => (home ??= (() => {
        const workers = s.workers();
        return s.lockFreeNode([...(env.pinnedPods === 'first-worker' ? workers : [...workers].reverse()), ...s.controlPlanes()]);
      })()),
      lockNode: async (node) => {
        if (locked.has(node)) return;
        locked.add(node);
        const release = await lockNode({ kube, node, holder: id, logger: env.logger, reentrant: true });
        defers.push(release);
      },
      lockFreeNode: async (candidates) => {
        const mine = candidates.find((n) => locked.has(n));
        if (mine) return mine;
        const { node, release } = await lockFreeNode({ kube, nodes: candidates, holder: id, logger: env.logger, reentrant: true });
        locked.add(node);
        defers.push(release);
        return node;
      },
      events: (podName) => podEvents(kube, namespace, podName),
      waitForEvent: (podName, reason, message) => waitForEvent(kube, namespace, podName, reason, message),
      log: (pod, container = 'main') => podLog(kube, namespace, pod.metadata?.name ?? '', container),
      expectRan: (verdict, e) => expectRan(kube, verdict, e),
      expectPullFailure: (verdict, cause) => expectPullFailure(kube, verdict, cause),
      rule: (text) => {
        rules.push(text);
        env.logger.info(`[${id}] RULE ${text}`);
      },
      skip: (reason) => {
        throw new ScenarioSkipped(reason);
      },
      accessLog: async (registry) => {
        const entries = await registry.accessLog();
        if (!entries) throw new ScenarioSkipped(`the registry ${registry.host} is not pullcheck's: its access log, which this scenario's claim rests on, cannot be read`);
        return entries;
      },
    };
    env.logger.info(`[${id}] START`);
    try {
      await body(s);
      env.logger.info(`[${id}] PASS (${((Date.now() - started) / 1000).toFixed(1)}s)`);
      record('passed');
    } catch (error) {
      if (error instanceof ScenarioSkipped) {
        env.logger.info(`[${id}] SKIP ${error.message}`);
        record('skipped', { reason: error.message });
        return;
      }
      const evidence: string[] = [];
      const files: string[] = [];
      for (const c of collectors) {
        const text = await c.fn().catch((e: unknown) => `(could not collect: ${String(e)})`);
        evidence.push(`--- ${c.name}\n${text}`);
        const file = writeEvidence(id, c.name, text);
        if (file) files.push(file);
      }
      env.logger.info(`[${id}] FAIL (${((Date.now() - started) / 1000).toFixed(1)}s)`);
      const message = error instanceof Error ? error.message : String(error);
      record('failed', { reason: redact(message).split('\n').slice(0, 12).join('\n'), evidence: files });
      if (error instanceof Error) error.message = redact(`${error.message}\n\nevidence:\n${evidence.join('\n')}`);
      throw error;
    } finally {
      for (const fn of defers.reverse()) await Promise.resolve(fn()).catch((e: unknown) => env.logger.warn(`[${id}] cleanup: ${String(e)}`));
    }
  }, scenarioTimeout(timeoutMs));
}
