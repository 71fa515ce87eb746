// The scenario context a body receives (\`s\`): the interface only. helpers/framework/scenario.ts
// assembles it from the fixture modules under helpers/framework/fixtures/, each its concern's part.
import type { CoreV1Event, V1Pod } from '@kubernetes/client-node';
import type { Image, ManifestFormat, Platform } from '../images/oci.ts';
import type { TestIndex } from '../images/testimages.ts';
import type { PosturePart } from '../posture/check.ts';
import type { AccessEntry } from '../registry/accesslog.ts';
import type { RegistryClient, RegistryClientOptions } from '../registry/client.ts';
import type { PreseededFormat } from '../registry/preseeded.ts';
import type { TestRegistry } from '../registry/registry.ts';
import type { RegistryCredential } from '../registry/secrets.ts';
import type { Capability } from './declaration.ts';
import type { RunEnv } from './env.ts';
import type { RanExpectation } from './expectations.ts';
import type { PodSpecInput, PodVerdict } from './pods.ts';
import type { PreseededImage } from './pullonly.ts';

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
  /**
   * When the scenario ends, removes `ref` from `node`'s image store (journaled undo first, then the
   * CRI and the runtime's own store). The scenario's pods go first where the runtime keeps an image
   * a container still uses (CRI-O). Register it before anything reaches the node.
   */
  removeImageAtEnd(node: string, ref: string): void;
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
