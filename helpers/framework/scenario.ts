// A scenario's context: its namespace, unique tags and repositories, deferred cleanups (run in
// reverse, always), node locks, fixtures (images, pull Secrets, pods) and the evidence collectors
// that run when its body throws. `runScenario` runs one body and writes its record.
import { rateLimitedIn, rateLimitedReason } from './ratelimited.ts';
import { preseededFor, preseededRule, pullOnlySkip, refusePushToPullOnly, type PreseededImage } from './pullonly.ts';
import type { PreseededFormat } from '../registry/preseeded.ts';
import { createHash } from 'node:crypto';
import YAML from 'yaml';
import type { CoreV1Event, V1Pod } from '@kubernetes/client-node';
import { waitForServiceAccount } from '../cluster/kube.ts';
import { createManagedNamespace } from '../cluster/namespaces.ts';
import { platformString, echoImage } from '../images/testimages.ts';
import { hostPlatform, type ManifestFormat, type Platform } from '../images/oci.ts';
import type { TestIndex } from '../images/testimages.ts';
import type { Image } from '../images/oci.ts';
import { redact } from '../infra/redact.ts';
import { lockFreeNode, lockNode } from '../node/lock.ts';
import type { AccessEntry } from '../registry/accesslog.ts';
import { RegistryClient, type RegistryClientOptions } from '../registry/client.ts';
import { credentialAttempts, refusalUnproven } from '../registry/credentialrecord.ts';
import { formatTranscript } from '../registry/transcript.ts';
import { type TestRegistry, underPrefix } from '../registry/registry.ts';
import { dockerConfigJsonSecret, type RegistryCredential } from '../registry/secrets.ts';
import { ScenarioSkipped, writeEvidence, writeScenarioRecord } from '../report/records.ts';
import type { Capability, Need, ScenarioDeclaration } from './declaration.ts';
import { asFinding, type PosturePart } from '../posture/check.ts';
import type { Posture } from '../model/posture.ts';
import { explainingFinding, probeKey } from '../posture/probe.ts';
import type { Finding, PodObservation, ScenarioStatus } from '../report/schema.ts';
import { clusterShape, unmetShape, workersNeeded, type ClusterShape } from '../cluster/shape.ts';
import { isQuarantined } from '../node/quarantine.ts';
import { nodeRuntime } from '../runtime/runtime.ts';
import { cleanupFailureMessage, runCleanups, type Cleanup } from './cleanup.ts';
import type { RunEnv } from './env.ts';
import { expectNeverPullRefused, expectNoPull, expectPullFailure, expectRan, type RanExpectation } from './expectations.ts';
import { answerWord, nodeRole, type PodFacts, PushedDigests, pullFailureCause, scenarioObservations } from './observe.ts';
import {
  createPod,
  EventReason,
  describeEvents,
  describePod,
  podEvents,
  podLog,
  waitForEvent,
  waitForVerdict,
  type PodSpecInput,
  type PodVerdict,
} from './pods.ts';

export interface PushedImage {
  ref: string;
  repository: string;
  tag: string;
  digest: string;
  /** An index: its platform manifests' digests (a runtime may name the one it chose as the imageID). */
  platformDigests?: readonly string[];
}

/** A test image built for this scenario and pushed: what `s.expectRan` checks a pod ran. */
export interface PushedTestImage extends PushedImage {
  /** The build's unique id, which the image's marker line prints. */
  buildId: string;
  /** `os/architecture`, as the marker line prints it. */
  platform: string;
}

export interface ScenarioContext {
  id: string;
  env: RunEnv;
  namespace: string;
  /** A tag no other test uses. */
  uniqueTag(): string;
  /** A repository name no other test uses. */
  uniqueRepository(base?: string): string;
  /**
   * Runs `fn` when the scenario ends, last registered first, whatever happened. One that throws fails
   * the scenario ("cleanup: …"); with `node` (what it restores), that node is quarantined for the rest of the run.
   */
  defer(fn: () => Promise<unknown> | unknown, o?: { node?: string }): void;
  collect(name: string, fn: () => Promise<string>): void;
  /**
   * Builds the echo test image (a unique build id; the host's platform unless `platform`) and
   * pushes it to `registry` under a unique repository and tag unless given.
   */
  image(
    registry: TestRegistry,
    o?: { platform?: Platform; format?: ManifestFormat; repository?: string; tag?: string },
  ): Promise<PushedTestImage>;
  /** `chunkSize`: blobs larger than it go up in PATCH chunks of that size (a chunked upload). */
  push(registry: TestRegistry, image: Image, o?: { repository?: string; tag?: string; chunkSize?: number }): Promise<PushedImage>;
  /** Pushes an index (or manifest list): its children by digest, the index under the tag. */
  pushIndex(registry: TestRegistry, idx: TestIndex, o?: { repository?: string; tag?: string }): Promise<PushedImage>;
  /**
   * Pull-only (`--registry-preseeded`): the reference of `format` the vendor seeded on `registry`
   * (private-… when read with credentials), with the rule saying what is asserted of it;
   * undefined where pullcheck pushes; not applicable when the file names none (helpers/framework/pullonly.ts).
   */
  preseeded(registry: TestRegistry, format: PreseededFormat): PreseededImage | undefined;
  runPod(input: Omit<PodSpecInput, 'name'> & { name?: string }, timeoutMs?: number): Promise<PodVerdict>;
  /**
   * Records a pod the scenario made by other means (another namespace, another API server, a
   * controller), and its verdict once known, so that its observations are gathered like runPod's.
   */
  trackPod(created: V1Pod, verdict?: PodVerdict): void;
  /**
   * Records what the scenario saw of something that is not a pod (a registry's answers, a node's
   * setting), under `subject`, in order; words name roles, never hosts, digests or node names.
   */
  observe(subject: string, observed: readonly string[]): void;
  /**
   * A client of `registry` (or with these options) whose every answer is recorded under `subject`
   * (`GET manifest 401`, `GET token 200`, `GET manifest 200`), with no token or login of another's.
   */
  observedClient(subject: string, options: RegistryClientOptions): RegistryClient;
  /** A node's name without the cluster's (`worker2`): what an observation may name. */
  nodeRole(node: string): string;
  /** Creates a pod and returns it as the API server stored it (defaulted, admitted), without waiting. */
  createPod(input: Omit<PodSpecInput, 'name'> & { name?: string }): Promise<V1Pod>;
  /**
   * Creates a kubernetes.io/dockerconfigjson Secret (as `kubectl create secret docker-registry`
   * makes it) for `from`'s credentials in this scenario's namespace (or `namespace`); returns its name.
   */
  pullSecret(
    from: TestRegistry | RegistryCredential | readonly RegistryCredential[],
    o?: { name?: string; namespace?: string },
  ): Promise<string>;
  /** Creates another namespace (a second tenant), labelled for the run and deleted with the scenario. */
  extraNamespace(suffix: string): Promise<string>;
  /**
   * Worker node names (pods pinned with nodeName): nodes without a `node-role.kubernetes.io/control-plane`
   * label, as the scenario started, less those a failed cleanup quarantined.
   */
  workers(): string[];
  /**
   * The i-th worker (from 0). Declare `needs: ['worker']` (or `'two-workers'` for i = 1), so that a
   * cluster with fewer makes the scenario not applicable; undeclared, it fails naming how many the cluster has.
   */
  worker(i: number): string;
  /**
   * Takes `node`'s lock (helpers/node/lock.ts) for the rest of the scenario; call it before the
   * first change to the node, so that its release comes after the change's cleanup. Once per node.
   */
  lockNode(node: string): Promise<void>;
  /**
   * Locks, for the rest of the scenario, the first of `candidates` nobody holds now (else waits for
   * the first) and returns it: for a scenario that needs *another* node, not a particular one.
   */
  lockFreeNode(candidates: readonly string[]): Promise<string>;
  /**
   * Locks a worker nobody holds, trying them from the first (or from the last), else waits for the
   * first tried: for a scenario that changes a node and may use any worker, so that two suites
   * changing nodes do not queue for one worker while another is free.
   */
  freeWorker(from?: 'first' | 'last'): Promise<string>;
  /**
   * Control-plane nodes (the `node-role.kubernetes.io/control-plane` label) a pinned pod runs on (not
   * cordoned, no NoExecute taint), less quarantined ones; `needs: ['schedulable-control-plane']` asks for one.
   */
  controlPlanes(): string[];
  /**
   * Where this scenario's pods that name no node go (locked suites with home first-/last-worker),
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
  expectRan(verdict: PodVerdict, e: RanExpectation | PushedTestImage): Promise<V1Pod>;
  /** A Never pod refused for an image the node does not have: ErrImageNeverPull, and kubelet's event naming it. */
  expectNeverPullRefused(verdict: PodVerdict): Promise<CoreV1Event>;
  /** Kubelet used the image already on the node: a `Pulled` "already present" event and no `Pulling`. */
  expectNoPull(pod: string | PodVerdict): Promise<void>;
  /** The pull failed: a pull waiting reason and a `Failed to pull image` event matching `cause`. */
  expectPullFailure(verdict: PodVerdict, cause: RegExp): Promise<CoreV1Event>;
  /** Records (and logs) the rule an expectation was derived from, e.g. a version-dependent one. */
  rule(text: string): void;
  /** The registry's access log; skips the scenario where it cannot be read (a vendor's registry). */
  accessLog(registry: TestRegistry): Promise<AccessEntry[]>;
  /**
   * The registry's access log when it can be read; undefined on a registry that is not pullcheck's,
   * with a rule saying the claim rests on the node's side (events, the digest that ran) alone.
   */
  accessLogIfReadable(registry: TestRegistry): Promise<AccessEntry[] | undefined>;
  /**
   * Marks the record `proven: 'node side only'`, with a rule saying `why`: the registry's half of the
   * claim cannot be read here (a vendor's registry), so the report and certification do not count it.
   */
  provenNodeSideOnly(why: string): void;
  /**
   * The credential of `username` (the registry's own user by default) reached the registry for
   * `repository` since `since` and was refused, never accepted, as the registry records it: a pull
   * that carried no credential fails the same way on the node. Node side only on a vendor's registry.
   */
  expectCredentialRefused(registry: TestRegistry, o: { repository: string; since: Date; username?: string }): Promise<void>;
  /** Ends the scenario as skipped because it could not run here though it should: the run fails. */
  skip(reason: string): never;
  /**
   * Ends the scenario as not applicable: the declared posture or the cluster's shape says so (the
   * reason names it). `rests`: the posture parts the reason rests on; a mismatch there blocks it instead.
   */
  skipDeclared(reason: string, rests?: readonly PosturePart[]): never;
  /**
   * Ends the scenario as skipped by declaration because the registry refused an optional capability
   * the way the spec lets it (`detail`: what it answered, e.g. "405 UNSUPPORTED"); the certification
   * reads that capability as "not supported". Only for a capability the scenario declares.
   */
  notSupported(capability: Capability, detail: string, reason: string): never;
  /**
   * Skips (by declaration) a scenario about what a node does with an IfNotPresent or Never pod when
   * the cluster is declared with AlwaysPullImages, which makes every such pod Always: `what` cannot
   * be observed there. The plugin's own behaviour is proven by always-pull-images/*.
   */
  skipIfAlwaysPullImages(what: string): void;
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
  return id
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/**
 * What a failed scenario leaves for whoever reads the report: the pods as YAML, the kubelet and
 * runtime's journal of the nodes its pods ran on for the scenario's window, `crictl images` there,
 * and the registries' access-log lines for its repositories.
 */
function collectEvidence(
  env: RunEnv,
  namespace: string,
  since: Date,
  registries: ReadonlyMap<string, TestRegistry>,
  repositories: ReadonlySet<string>,
  add: (name: string, fn: () => Promise<string>) => void,
): void {
  const { kube, nodes } = env.cluster;
  const podNodes = async () => [
    ...new Set(
      (await kube.core.listNamespacedPod({ namespace })).items.map((p) => p.spec?.nodeName).filter((n): n is string => Boolean(n)),
    ),
  ];
  add('pod-yaml', async () =>
    YAML.stringify(
      (await kube.core.listNamespacedPod({ namespace })).items.map((p) => ({
        metadata: { name: p.metadata?.name, namespace: p.metadata?.namespace },
        spec: p.spec,
        status: p.status,
      })),
    ),
  );
  add('node-journal', async () => {
    const out: string[] = [];
    for (const node of await podNodes()) {
      const r = await nodes.exec(
        node,
        [
          'journalctl',
          '-u',
          'kubelet',
          '-u',
          nodeRuntime(env.posture).unit,
          '--since',
          `@${Math.floor(since.getTime() / 1000) - 5}`,
          '--no-pager',
          '-o',
          'short-iso',
          '-n',
          '400',
        ],
        { allowFailure: true },
      );
      out.push(
        `=== ${node}: journalctl -u kubelet -u ${nodeRuntime(env.posture).unit} (last 400 lines since the scenario started)\n${r.stdout}${r.stderr}`,
      );
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
      out.push(
        `=== ${host}: ${mine.length} requests for ${[...repositories].join(', ')}`,
        ...mine.map((e) => `${e.time.toISOString()} ${e.remoteAddr} ${e.method} ${e.uri} ${e.status}`),
      );
    }
    return out.join('\n') || '(the scenario pushed nothing)';
  });
  // A vendor's registry has no access log pullcheck can read: what pullcheck's client asked and was answered instead.
  add('registry-http', async () => {
    const out: string[] = [];
    for (const [host, registry] of registries) {
      const transcript = registry.client.options.transcript;
      if (!transcript || registry.local) continue;
      const exchanges = transcript.since(since.getTime());
      out.push(
        `=== ${host}: ${exchanges.length} HTTP exchanges of pullcheck's client since the scenario started (credentials redacted)`,
        formatTranscript(exchanges),
      );
    }
    return out.join('\n') || "(no vendor registry: pullcheck's own registries' access log is registry-access-log)";
  });
}

/** The posture, recording which of its parts are read (`nodes` and `kubelet` are one part). */
function trackPostureReads(p: Posture, read: Set<PosturePart>): Posture {
  const parts: Record<string, PosturePart> = {
    admission: 'admission',
    kubelet: 'kubelet',
    nodes: 'kubelet',
    credentialProviders: 'credentialProviders',
    runtime: 'runtime',
  };
  return new Proxy(p, {
    get(target, key, receiver) {
      const part = typeof key === 'string' ? parts[key] : undefined;
      if (part) read.add(part);
      return Reflect.get(target, key, receiver);
    },
  });
}

/** The pull probe's finding that explains a failure: a registry the scenario used, on a node its own pods showed the same cause on. */
function probeExplanation(env: RunEnv, used: ReadonlyMap<string, TestRegistry>, pods: readonly PodObservation[]): Finding | undefined {
  const findings = env.context.probeFindings ?? [];
  if (findings.length === 0 || used.size === 0) return undefined;
  return explainingFinding(findings, [...used.values()].map(probeKey), pods);
}

/**
 * Every failed pull kubelet reported in the namespace, as observations of the pod on its node: the
 * pods a scenario created without waiting for a verdict record no pull of their own, and a probe
 * finding must still be able to explain their failure.
 */
async function failedPullsSeen(kube: RunEnv['cluster']['kube'], namespace: string): Promise<PodObservation[]> {
  const [events, pods] = await Promise.all([kube.core.listNamespacedEvent({ namespace }), kube.core.listNamespacedPod({ namespace })]);
  const nodeOf = new Map(pods.items.map((p) => [p.metadata?.name ?? '', p.spec?.nodeName ?? '']));
  return events.items
    .filter((e) => e.reason === EventReason.Failed && e.involvedObject?.kind === 'Pod')
    .flatMap((e) => {
      const pod = e.involvedObject?.name ?? '';
      const node = nodeOf.get(pod);
      return node ? [{ pod, node, observed: [pullFailureCause(e.message ?? '')] }] : [];
    });
}

/** The posture mismatch in a part the scenario's expectations (or its reason not to apply) read. */
function mismatchExplanation(env: RunEnv, decl: ScenarioDeclaration, read: ReadonlySet<string>): Finding | undefined {
  // posture/* are the checks themselves.
  if (decl.group === 'posture') return undefined;
  const m = (env.context.postureMismatches ?? []).find((x) => read.has(x.part));
  return m && asFinding(m);
}

const STATUS_LOG: Record<ScenarioStatus, string> = {
  passed: 'PASS',
  failed: 'FAIL',
  blocked: 'BLOCKED',
  'could-not-run': 'COULD NOT RUN',
  'not-applicable': 'NOT APPLICABLE',
};

function quarantinedReason(node: string, how: string): string {
  return `node ${node} is quarantined: a cleanup on it failed earlier in this run (${how})`;
}

/**
 * Why the target cannot give what the scenario declares it needs, if it cannot: not applicable, but
 * for a node the run quarantined, which makes the scenario one that could not run.
 */
function unmetNeed(needs: readonly Need[], env: RunEnv, shape: ClusterShape): ScenarioSkipped | undefined {
  if (needs.includes('kind') && env.cluster.nodes.how !== 'docker-exec')
    return new ScenarioSkipped(
      `the scenario needs kind's node containers (needs: kind), and ${env.cluster.name} is not a kind cluster`,
      'not-applicable',
    );
  if (needs.includes('node-access') && env.cluster.nodes.how === 'none')
    return new ScenarioSkipped(
      `the scenario needs commands on nodes (needs: node-access), and no node agent runs on ${env.cluster.name}: its suite has no registry the nodes can pull the agent from`,
      'not-applicable',
    );
  const unmet = unmetShape(needs, shape, env.cluster.name);
  return unmet && new ScenarioSkipped(unmet.reason, unmet.quarantine ? 'could-not-run' : 'not-applicable');
}

/** Runs one scenario body in its own namespace and writes its record; rethrows its failure with the evidence. */
export async function runScenario(suiteEnv: RunEnv, decl: ScenarioDeclaration, body: (s: ScenarioContext) => Promise<void>): Promise<void> {
  const { id, title } = decl;
  // The parts of the posture this scenario's expectations read: a failure is explained by a
  // mismatch the run found in one of them.
  const postureRead = new Set<PosturePart>();
  const env: RunEnv = { ...suiteEnv, posture: trackPostureReads(suiteEnv.posture, postureRead) };
  const { kube } = env.cluster;
  const namespace = scenarioNamespace(env.runId, id);
  const defers: Cleanup[] = [];
  const cleanup = () => runCleanups(defers, { id, kube, runId: env.context.runId || env.runId, logger: env.logger });
  const collectors: { name: string; fn: () => Promise<string> }[] = [];
  const usedRegistries = new Map<string, TestRegistry>();
  // Registries its pods pull from, pushed to yet or not (an image pushed late): for attribution only.
  const pulledFrom = new Map<string, TestRegistry>();
  const addressed = (image: string) => {
    for (const r of env.registries.values()) if (image.startsWith(`${r.host}/`)) pulledFrom.set(r.host, r);
  };
  const rules: string[] = [];
  // Set when the claim's registry half could not be read (s.provenNodeSideOnly).
  let proven: 'node side only' | undefined;
  const started = Date.now();
  let counter = 0;
  const locked = new Set<string>();
  // What each pod was seen to do (helpers/framework/observe.ts), gathered once the scenario ends.
  const pods = new Map<string, Omit<PodFacts, 'events'> & { learned: CoreV1Event[]; namespace?: string }>();
  // What the scenario saw of things that are not pods (s.observe, s.observedClient), by subject.
  const subjects = new Map<string, string[]>();
  const pushed = new PushedDigests();
  const learn = (event: CoreV1Event) => pods.get(event.involvedObject?.name ?? '')?.learned.push(event);
  const observations = async () => {
    // One events list for the namespace, read once every verdict is known; the events the expect*
    // helpers waited for are added, in case the list lags behind them.
    const listed: CoreV1Event[] = [];
    for (const ns of new Set([...pods.values()].map((p) => p.namespace ?? namespace)))
      listed.push(
        ...(await kube.core
          .listNamespacedEvent({ namespace: ns })
          .then((l) => l.items)
          .catch(() => [])),
      );
    const facts = new Map<string, PodFacts>();
    for (const [name, p] of pods)
      facts.set(name, {
        created: p.created,
        // Nothing was pushed for its image when the pod was made (an image pushed late, while it
        // waits): what it can run is what was pushed since.
        expected: p.expected.size ? p.expected : pushed.expectedFor(p.created.spec?.containers[0]?.image ?? ''),
        ...(p.verdict ? { verdict: p.verdict } : {}),
        events: [
          ...listed.filter(
            (e) =>
              e.involvedObject?.kind === 'Pod' &&
              e.involvedObject.name === name &&
              (e.involvedObject.namespace ?? namespace) === (p.namespace ?? namespace),
          ),
          ...p.learned,
        ],
      });
    const seen = [...subjects].map(([pod, observed]) => ({ pod, observed }));
    return [...scenarioObservations(facts), ...seen];
  };
  const record = async (
    status: ScenarioStatus,
    extra: {
      reason?: string;
      evidence?: string[];
      blockedBy?: Finding;
      observed?: PodObservation[];
      notSupported?: { capability: string; detail: string };
      rateLimited?: { registry: string; detail: string };
    } = {},
  ) =>
    writeScenarioRecord({
      id,
      suite: decl.suite,
      title,
      status,
      capabilities: [...decl.capabilities],
      durationMs: Date.now() - started,
      rules,
      evidence: extra.evidence ?? [],
      namespace,
      registries: [...usedRegistries.keys()],
      ...(extra.reason ? { reason: extra.reason } : {}),
      ...(extra.blockedBy ? { blockedBy: extra.blockedBy } : {}),
      ...(extra.notSupported ? { notSupported: extra.notSupported } : {}),
      ...(extra.rateLimited ? { rateLimited: extra.rateLimited } : {}),
      ...(decl.selftest ? { selftest: true } : {}),
      ...(proven ? { proven } : {}),
      observations: extra.observed ?? (await observations()),
    });
  await createManagedNamespace(kube, {
    name: namespace,
    runId: env.runId,
    labels: { 'pullcheck.io/scenario': slug(id).slice(0, 63) },
    ready: false,
  });
  // --keep keeps the namespace for debugging; every other cleanup (node files, kubelet
  // restarts, pre-loaded images) runs regardless, so that later scenarios find the nodes as they were.
  defers.push({ fn: () => (env.context.keep ? undefined : kube.core.deleteNamespace({ name: namespace })) });
  await waitForServiceAccount(kube, namespace, 'default');
  collectors.push({ name: 'pods', fn: async () => (await kube.core.listNamespacedPod({ namespace })).items.map(describePod).join('\n') });
  collectors.push({ name: 'events', fn: async () => describeEvents((await kube.core.listNamespacedEvent({ namespace })).items) });
  const usedRepositories = new Set<string>();
  const scenarioStart = new Date();
  collectEvidence(env, namespace, scenarioStart, usedRegistries, usedRepositories, (name, fn) => collectors.push({ name, fn }));
  // Beside other node-changing suites, a pod may only go to a node this scenario holds: another
  // suite's kubelet restart or policy change there would change its verdict.
  const pinned = async (pod: string, named: string | undefined): Promise<string | undefined> => {
    if (named && shape.quarantined.includes(named)) s.skip(quarantinedReason(named, `pod ${pod} names it`));
    if (!env.home) return named;
    if (named) {
      await s.lockNode(named);
      return named;
    }
    if (env.home === 'explicit')
      throw new Error(
        `pod ${pod}: this suite changes nodes under locks (home: 'explicit'), so each pod must name its node (nodeName) and the scenario locks it`,
      );
    return s.homeNode();
  };
  let home: Promise<string> | undefined;
  // A node quarantined while this scenario waited for its lock: the scenario could not run (a failure).
  const refuseQuarantined = async (node: string) => {
    if (await isQuarantined(kube, node)) s.skip(quarantinedReason(node, 'the scenario waited for its lock meanwhile'));
  };
  // The nodes' roles and quarantines, read as the scenario starts.
  let shape: ClusterShape = clusterShape([]);
  const s: ScenarioContext = {
    id,
    env,
    namespace,
    uniqueTag: () => `${env.runId}-${slug(id).slice(-40)}-${++counter}`.slice(0, 128),
    uniqueRepository: (base = 'pullcheck') => `${base}/${slug(id)}-${env.runId}-${++counter}`,
    defer: (fn, o) => defers.push({ fn, ...(o?.node ? { node: o.node } : {}) }),
    collect: (name, fn) => collectors.push({ name, fn }),
    image: async (registry, o = {}) => {
      const platform = o.platform ?? hostPlatform();
      const test = await echoImage(platform, env.logger, o.format ? { format: o.format } : {});
      const pushed = await s.push(registry, test.image, o);
      return { ...pushed, buildId: test.buildId, platform: platformString(platform) };
    },
    push: async (registry, image, o = {}) => {
      refusePushToPullOnly(registry);
      const repository = underPrefix(registry, o.repository ?? s.uniqueRepository());
      const tag = o.tag ?? s.uniqueTag();
      usedRegistries.set(registry.host, registry);
      usedRepositories.add(repository);
      const client = o.chunkSize ? new RegistryClient({ ...registry.client.options, chunkSize: o.chunkSize }) : registry.client;
      const digest = await client.pushImage(repository, tag, image);
      pushed.add(registry.ref(repository, tag), digest);
      return { ref: registry.ref(repository, tag), repository, tag, digest };
    },
    pushIndex: async (registry, idx, o = {}) => {
      refusePushToPullOnly(registry);
      const repository = underPrefix(registry, o.repository ?? s.uniqueRepository());
      const tag = o.tag ?? s.uniqueTag();
      usedRegistries.set(registry.host, registry);
      usedRepositories.add(repository);
      const digest = await registry.client.pushIndex(
        repository,
        tag,
        idx.children.map((c) => c.image),
        idx.index,
        idx.mediaType,
      );
      pushed.add(registry.ref(repository, tag), digest);
      const platformDigests = idx.children.map((c) => c.image.manifest.digest);
      return { ref: registry.ref(repository, tag), repository, tag, digest, platformDigests };
    },
    preseeded: (registry, format) => {
      const image = preseededFor(registry, format);
      if (!image) return undefined;
      usedRegistries.set(registry.host, registry);
      usedRepositories.add(image.repository);
      pushed.add(image.ref, image.digest);
      s.rule(preseededRule(image));
      return image;
    },
    runPod: async (input, podTimeout) => {
      addressed(input.image);
      const name = input.name ?? `pod-${++counter}`;
      const nodeName = await pinned(name, input.nodeName);
      const facts = {
        created: await createPod(kube, namespace, { ...input, name, ...(nodeName ? { nodeName } : {}) }),
        expected: pushed.expectedFor(input.image),
        learned: [],
      };
      pods.set(name, facts);
      const verdict = await waitForVerdict(kube, namespace, name, podTimeout, async () =>
        describeEvents(await podEvents(kube, namespace, name)),
      );
      pods.set(name, { ...facts, verdict });
      return verdict;
    },
    trackPod: (created, verdict) => {
      const name = created.metadata?.name ?? '';
      const known = pods.get(name);
      const image = created.spec?.containers[0]?.image ?? '';
      pods.set(name, {
        created: known?.created ?? created,
        expected: known?.expected ?? pushed.expectedFor(image),
        learned: known?.learned ?? [],
        ...(created.metadata?.namespace && created.metadata.namespace !== namespace ? { namespace: created.metadata.namespace } : {}),
        ...(verdict ? { verdict } : {}),
      });
    },
    observe: (subject, observed) => {
      subjects.set(subject, [...(subjects.get(subject) ?? []), ...observed]);
    },
    observedClient: (subject, options) => {
      subjects.set(subject, subjects.get(subject) ?? []);
      const origin = new URL(`${options.insecure ? 'http' : 'https'}://${options.host}`).origin;
      return new RegistryClient({ ...options, onAnswer: (a) => s.observe(subject, [answerWord(a, origin)]) });
    },
    nodeRole: (node) => nodeRole(node, env.cluster.name),
    createPod: async (input) => {
      addressed(input.image);
      const name = input.name ?? `pod-${++counter}`;
      const nodeName = await pinned(name, input.nodeName);
      const created = await createPod(kube, namespace, { ...input, name, ...(nodeName ? { nodeName } : {}) });
      pods.set(name, { created, expected: pushed.expectedFor(input.image), learned: [] });
      return created;
    },
    pullSecret: async (from, o = {}) => {
      const name = o.name ?? 'regcred';
      const credentials = 'client' in from ? [from.credential()] : Array.isArray(from) ? from : [from as RegistryCredential];
      await kube.core.createNamespacedSecret({
        namespace: o.namespace ?? namespace,
        body: dockerConfigJsonSecret(name, o.namespace ?? namespace, credentials),
      });
      return name;
    },
    extraNamespace: async (suffix) => {
      const name = `${namespace}-${slug(suffix).slice(0, 7)}`;
      await createManagedNamespace(kube, { name, runId: env.runId, ready: false });
      defers.push({ fn: () => (env.context.keep ? undefined : kube.core.deleteNamespace({ name })) });
      await waitForServiceAccount(kube, name, 'default');
      return name;
    },
    workers: () => [...shape.workers],
    worker: (i) => {
      const workers = s.workers();
      const node = workers[i];
      if (node === undefined)
        throw new Error(
          `the scenario needs worker ${i + 1}, and this cluster has ${workers.length} (${workers.join(', ') || 'none'})${
            workersNeeded(decl.needs) <= i
              ? `: declare needs: ['${i === 0 ? 'worker' : 'two-workers'}'], so that such a cluster makes it not applicable`
              : ''
          }`,
        );
      return node;
    },
    freeWorker: (from = 'first') => {
      s.worker(0);
      return s.lockFreeNode(from === 'last' ? [...s.workers()].reverse() : s.workers());
    },
    controlPlanes: () => [...shape.schedulableControlPlanes],
    homeNode: () =>
      (home ??= (() => {
        const workers = s.workers();
        return s.lockFreeNode([...(env.home === 'first-worker' ? workers : [...workers].reverse()), ...s.controlPlanes()]);
      })()),
    lockNode: async (node) => {
      if (locked.has(node)) return;
      locked.add(node);
      const release = await lockNode({ kube, node, holder: id, logger: env.logger, reentrant: true });
      defers.push({ fn: release });
      await refuseQuarantined(node);
    },
    lockFreeNode: async (candidates) => {
      const mine = candidates.find((n) => locked.has(n));
      if (mine) return mine;
      const { node, release } = await lockFreeNode({ kube, nodes: candidates, holder: id, logger: env.logger, reentrant: true });
      locked.add(node);
      defers.push({ fn: release });
      await refuseQuarantined(node);
      return node;
    },
    events: (podName) => podEvents(kube, namespace, podName),
    waitForEvent: async (podName, reason, message) => {
      const event = await waitForEvent(kube, namespace, podName, reason, message);
      learn(event);
      return event;
    },
    log: (pod, container = 'main') => podLog(kube, namespace, pod.metadata?.name ?? '', container),
    expectRan: (verdict, e) => expectRan(kube, verdict, e),
    expectPullFailure: async (verdict, cause) => {
      const event = await expectPullFailure(kube, verdict, cause);
      learn(event);
      return event;
    },
    expectNeverPullRefused: async (verdict) => {
      const event = await expectNeverPullRefused(kube, verdict);
      learn(event);
      return event;
    },
    expectNoPull: (pod) => expectNoPull(kube, namespace, typeof pod === 'string' ? pod : (pod.pod.metadata?.name ?? '')),
    rule: (text) => {
      rules.push(text);
      env.logger.info(`[${id}] RULE ${text}`);
    },
    skip: (reason) => {
      throw new ScenarioSkipped(reason, 'could-not-run');
    },
    skipDeclared: (reason, rests = []) => {
      throw new ScenarioSkipped(reason, 'not-applicable', rests);
    },
    notSupported: (capability, detail, reason) => {
      if (!decl.capabilities.includes(capability))
        throw new Error(`scenario ${id} reports ${capability} not supported but does not declare that capability`);
      throw new ScenarioSkipped(reason, 'not-applicable', [], { capability, detail });
    },
    skipIfAlwaysPullImages: (what) => {
      const p = env.posture;
      if (p.admission.alwaysPullImages)
        s.skipDeclared(
          `the cluster is declared with AlwaysPullImages (${p.sources.admission}): every pod's imagePullPolicy becomes Always, so ${what} cannot be observed`,
        );
    },
    accessLogIfReadable: async (registry) => {
      const entries = await registry.accessLog();
      if (!entries)
        s.provenNodeSideOnly(
          `the access log of ${registry.host} cannot be read (not pullcheck's registry): the node's side alone (kubelet's events, the digest that ran) proves the claim`,
        );
      return entries;
    },
    provenNodeSideOnly: (why) => {
      proven = 'node side only';
      s.rule(`node side only: ${why}`);
    },
    expectCredentialRefused: async (registry, o) => {
      const username = o.username ?? registry.username ?? '';
      const attempts = await credentialAttempts(registry, { repository: o.repository, username, since: o.since });
      if (!attempts)
        return s.provenNodeSideOnly(
          `which credentials ${registry.host} was shown cannot be read (not pullcheck's registry): that ${username}'s credential was sent and refused rests on kubelet's event alone`,
        );
      env.logger.info(
        `[${id}] REGISTRY ${registry.host} saw ${username}'s credential for ${o.repository}: ${attempts.map((a) => (a.accepted ? 'accepted' : 'refused')).join(', ') || 'never'}`,
      );
      const unproven = refusalUnproven(attempts, `${username}'s credential for ${o.repository} (since ${o.since.toISOString()})`);
      if (unproven) throw new Error(`${registry.host}: ${unproven}`);
    },
    accessLog: async (registry) => {
      const entries = await registry.accessLog();
      if (!entries)
        throw new ScenarioSkipped(
          `the registry ${registry.host} is not pullcheck's: its access log, which this scenario's claim rests on (needs: access-log), cannot be read`,
          'not-applicable',
        );
      return entries;
    },
  };
  env.logger.info(`[${id}] START`);
  try {
    shape = clusterShape((await kube.core.listNode()).items);
    const unmet = unmetNeed(decl.needs, env, shape);
    if (unmet) throw unmet;
    await body(s);
    const failed = await cleanup();
    if (failed.length) throw new Error(cleanupFailureMessage(failed));
    env.logger.info(`[${id}] PASS (${((Date.now() - started) / 1000).toFixed(1)}s)`);
    await record('passed');
  } catch (thrown) {
    // A write a pull-only registry's client refused: the scenario pushes, not applicable there.
    const error = pullOnlySkip(thrown);
    if (error instanceof ScenarioSkipped) {
      // Not applicable by a declared part the cluster does not match: that mismatch blocks it.
      const blockedBy =
        error.kind === 'not-applicable' ? mismatchExplanation(env, decl, new Set([...postureRead, ...error.rests])) : undefined;
      const status: ScenarioStatus = blockedBy ? 'blocked' : error.kind;
      const reason = blockedBy
        ? `blocked: the cluster is not what its posture declares (${blockedBy.line}); the scenario was ruled out by that declaration: ${error.message}`
        : error.message;
      // The cause itself is named once, before the suites and in the summary.
      env.logger.info(
        `[${id}] ${STATUS_LOG[status]}${blockedBy ? ` by ${blockedBy.cause} (named before the suites)` : ''} ${error.message}`,
      );
      await record(status, {
        reason,
        ...(blockedBy ? { blockedBy } : {}),
        ...(error.notSupported && !blockedBy ? { notSupported: error.notSupported } : {}),
      });
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
    // Cleanups after the evidence (which sees the scenario's state) and before the record, so that a
    // restore that failed too is in the failure it reports.
    const failedCleanups = await cleanup();
    const message = `${error instanceof Error ? error.message : String(error)}${failedCleanups.length ? `\n${cleanupFailureMessage(failedCleanups)}` : ''}`;
    // A failure whose expectations read a part of the posture the cluster does not match is blocked
    // by that mismatch; one whose own pods showed, on a node the pull probe flagged, the cause the
    // probe found there is blocked by that finding. Blocked is a failure, with its cause named.
    const observed = await observations();
    // A registry that rate-limited pullcheck: could not run, the registry's words as the cause.
    const limited = rateLimitedIn(error);
    if (limited) {
      env.logger.info(`[${id}] COULD NOT RUN: rate-limited by ${limited.registry} (${limited.detail})`);
      const { registry, detail } = limited;
      await record('could-not-run', {
        reason: redact(rateLimitedReason(limited)),
        evidence: files,
        observed,
        rateLimited: { registry, detail },
      });
      return;
    }
    const mismatch = mismatchExplanation(env, decl, postureRead);
    const blockedBy =
      mismatch ??
      probeExplanation(env, new Map([...usedRegistries, ...pulledFrom]), [
        ...observed,
        ...(await failedPullsSeen(kube, namespace).catch(() => [])),
      ]);
    const reason = redact(
      mismatch
        ? `blocked: the cluster is not what its posture declares (${mismatch.line}); then: ${message}`
        : blockedBy
          ? `blocked: the pull probe found before the suites that ${blockedBy.line}; then: ${message}`
          : message,
    )
      .split('\n')
      .slice(0, 12)
      .join('\n');
    env.logger.info(
      `[${id}] ${blockedBy ? `BLOCKED by ${blockedBy.cause} (named before the suites)` : 'FAIL'} (${((Date.now() - started) / 1000).toFixed(1)}s)`,
    );
    await record(blockedBy ? 'blocked' : 'failed', { reason, evidence: files, observed, ...(blockedBy ? { blockedBy } : {}) });
    if (error instanceof Error) error.message = redact(`${error.message}\n\nevidence:\n${evidence.join('\n')}`);
    throw error;
  } finally {
    await cleanup();
  }
}
