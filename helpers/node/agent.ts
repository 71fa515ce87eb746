// Node access for clusters pullcheck did not create: a privileged DaemonSet (hostPID, hostNetwork,
// hostIPC) whose pods run programs/nodeagent. A command runs on a node through the Kubernetes exec
// API into that node's agent pod, where `nodeagent run -- argv` enters the namespaces of the node's
// PID 1 (what `nsenter -t 1 -m -u -i -n -C` does) and execs argv. The run installs the agent in a
// namespace of its own and deletes that namespace when it is done: nothing outlives the run.

import { createReadStream } from 'node:fs';
import { PassThrough, Readable, Writable } from 'node:stream';
import {
  ApiException,
  AppsV1Api,
  Exec,
  type V1DaemonSet,
  type V1Namespace,
  type V1Node,
  type V1Pod,
  type V1Secret,
  type V1Status,
} from '@kubernetes/client-node';
import { type Kube, waitFor, waitForServiceAccount } from '../cluster/kube.ts';
import { createManagedNamespace } from '../cluster/namespaces.ts';
import { assembleImage, type Image, imageIndex, layerFromFiles, MediaType, type Platform } from '../images/oci.ts';
import { platformString, programBinary } from '../images/testimages.ts';
import { LABEL_RUN, managedLabels } from '../infra/docker.ts';
import { CommandError, type RunResult } from '../infra/exec.ts';
import type { Logger } from '../infra/log.ts';
import { type StartedRegistry, type TestRegistry, underPrefix } from '../registry/registry.ts';
import { dockerConfigJsonSecret } from '../registry/secrets.ts';
import type { NodeAccess, NodeExecOptions } from './access.ts';

export const AGENT_NAME = 'pullcheck-node-agent';
export const AGENT_CONTAINER = 'agent';
export const AGENT_BINARY = '/nodeagent';
export const AGENT_REPOSITORY = 'pullcheck/node-agent';
export const AGENT_PULL_SECRET = 'pullcheck-node-agent-pull';
const LABEL_APP = 'app.kubernetes.io/name';
/** The exec subprotocol that can half-close stdin (Kubernetes 1.30+); older ones end stdin by closing the whole session. */
const EXEC_PROTOCOL_V5 = 'v5.channel.k8s.io';
const STDIN_CHANNEL = 0;

export function agentNamespace(runId: string): string {
  return `pullcheck-agent-${runId}`;
}

/** What the exec session runs in the agent container for `argv` on the node. */
export function agentCommand(argv: readonly string[]): string[] {
  return [AGENT_BINARY, 'run', '--', ...argv];
}

// ---------------------------------------------------------------------------------------------
// The image: programs/nodeagent built for each platform the nodes run, one file in one layer.

/** Kubernetes' nodeInfo names GOOS/GOARCH; 32-bit arm nodes are taken to be v7. */
export function nodePlatform(node: V1Node): Platform {
  const os = node.status?.nodeInfo?.operatingSystem ?? 'linux';
  const architecture = node.status?.nodeInfo?.architecture ?? 'amd64';
  return architecture === 'arm' ? { os, architecture, variant: 'v7' } : { os, architecture };
}

/** The distinct platforms of `nodes`, in a stable order. */
export function distinctPlatforms(platforms: readonly Platform[]): Platform[] {
  const byName = new Map(platforms.map((p) => [platformString(p), p]));
  return [...byName.keys()].sort().map((k) => byName.get(k) as Platform);
}

/** The agent binary for `platform`, cached by the hash of programs/nodeagent's sources. */
export function nodeAgentBinary(platform: Platform, logger: Logger): Promise<Buffer> {
  return programBinary('nodeagent', platform, logger);
}

export async function nodeAgentImage(platform: Platform, logger: Logger): Promise<Image> {
  const layer = await layerFromFiles([{ path: AGENT_BINARY, content: await nodeAgentBinary(platform, logger), mode: 0o755 }]);
  return assembleImage([layer], { platform, entrypoint: [AGENT_BINARY], cmd: ['sleep'], env: ['PATH=/'] });
}

/** Where the agent image goes: the run's registry, which the nodes reach and trust. */
export type AgentRegistry = Pick<StartedRegistry, 'client' | 'host' | 'ref' | 'username' | 'password'> &
  Partial<Pick<TestRegistry, 'repositoryPrefix' | 'repositoryLayout'>>;

/** Pushes one image per platform (an OCI index when there are several); returns the reference by digest. */
async function pushAgentImage(registry: AgentRegistry, platforms: readonly Platform[], tag: string, logger: Logger): Promise<string> {
  // A vendor's registry takes pushes only under its prefix (a project, or its anonymous namespace).
  const repository = underPrefix(registry, AGENT_REPOSITORY);
  const images: Image[] = [];
  for (const p of platforms) images.push(await nodeAgentImage(p, logger));
  const [only] = images;
  if (images.length === 1 && only) return registry.ref(repository, await registry.client.pushImage(repository, tag, only));
  const index = imageIndex(
    images.map((img, i) => ({
      mediaType: img.manifestMediaType,
      digest: img.manifest.digest,
      size: img.manifest.size,
      platform: platforms[i] as Platform,
    })),
  );
  const digest = await registry.client.pushIndex(repository, tag, images, index, MediaType.ociIndex);
  return registry.ref(repository, digest);
}

// ---------------------------------------------------------------------------------------------
// The objects: a namespace that admits privileged pods, the pull Secret, the DaemonSet.

export interface NodeAgentManifestOptions {
  runId: string;
  /** The agent image, by digest. */
  image: string;
  /** Credentials for the agent image's registry; none for an anonymous one. */
  pullCredential?: { server: string; username: string; password: string };
}

export interface NodeAgentManifests {
  namespace: V1Namespace;
  pullSecret: V1Secret | undefined;
  daemonSet: V1DaemonSet;
}

export function nodeAgentManifests(o: NodeAgentManifestOptions): NodeAgentManifests {
  const namespace = agentNamespace(o.runId);
  const runLabels = managedLabels({ [LABEL_RUN]: o.runId });
  const selector = { [LABEL_APP]: AGENT_NAME, [LABEL_RUN]: o.runId };
  const pullSecret = o.pullCredential ? dockerConfigJsonSecret(AGENT_PULL_SECRET, namespace, [o.pullCredential]) : undefined;
  if (pullSecret) pullSecret.metadata = { ...pullSecret.metadata, labels: { ...pullSecret.metadata?.labels, ...runLabels } };
  return {
    namespace: {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name: namespace,
        labels: {
          ...runLabels,
          // The agent is privileged and shares the node's PID, network and IPC namespaces.
          'pod-security.kubernetes.io/enforce': 'privileged',
          'pod-security.kubernetes.io/audit': 'privileged',
          'pod-security.kubernetes.io/warn': 'privileged',
        },
      },
    },
    pullSecret,
    daemonSet: {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: AGENT_NAME, namespace, labels: { ...runLabels, [LABEL_APP]: AGENT_NAME } },
      spec: {
        selector: { matchLabels: selector },
        template: {
          metadata: { labels: { ...runLabels, ...selector } },
          spec: {
            hostPID: true,
            hostNetwork: true,
            hostIPC: true,
            dnsPolicy: 'ClusterFirstWithHostNet',
            nodeSelector: { 'kubernetes.io/os': 'linux' },
            // Every node, control planes and tainted ones included.
            tolerations: [{ operator: 'Exists' }],
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            terminationGracePeriodSeconds: 5,
            ...(pullSecret ? { imagePullSecrets: [{ name: AGENT_PULL_SECRET }] } : {}),
            containers: [
              {
                name: AGENT_CONTAINER,
                image: o.image,
                imagePullPolicy: 'IfNotPresent',
                command: [AGENT_BINARY, 'sleep'],
                securityContext: { privileged: true, runAsUser: 0 },
                // Requests only: commands run in this container's cgroup (an image import may need memory).
                resources: { requests: { cpu: '10m', memory: '16Mi' } },
              },
            ],
          },
        },
      },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Exec sessions.

/** The agent itself failed (no session, no exit status): not a command's verdict, so never allowed to fail quietly. */
export class NodeAgentError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NodeAgentError';
  }
}

/**
 * The exit code in an exec session's status: 0 for Success, N for `NonZeroExitCode` (its `ExitCode`
 * cause); undefined for any other failure (the command did not run to an exit).
 */
export function exitCodeOfStatus(status: V1Status): number | undefined {
  if (status.status === 'Success') return 0;
  if (status.reason !== 'NonZeroExitCode') return undefined;
  const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
  const code = Number(cause?.message);
  return cause?.message !== undefined && Number.isInteger(code) ? code : undefined;
}

/** As execa's stripFinalNewline, so that results read as KindNodeAccess's do. */
export function stripFinalNewline(text: string): string {
  return text.replace(/\r?\n$/, '');
}

/** What the exec websocket is used for here (the library types it from `ws`, whose types are not installed). */
interface ExecSocket {
  readonly protocol: string;
  send(data: Buffer, cb: (error?: Error) => void): void;
  on(event: 'close', listener: () => void): void;
  on(event: 'error', listener: (error: Error) => void): void;
  close(): void;
}

export interface PodExecOptions {
  namespace: string;
  pod: string;
  container: string;
  command: readonly string[];
  /** Streamed to the command's stdin, with backpressure; the command sees EOF at its end. */
  stdin?: Readable;
}

export interface PodExecResult {
  status: V1Status;
  stdout: Buffer;
  stderr: Buffer;
}

function collector(chunks: Buffer[]): Writable {
  return new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
      callback();
    },
  });
}

function send(socket: ExecSocket, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => socket.send(data, (error) => (error ? reject(error) : resolve())));
}

/**
 * One exec session through the API server (websocket): stdout and stderr collected, stdin streamed
 * from `o.stdin`, the status read from the status channel. Resolves once the session is closed;
 * rejects with a NodeAgentError when there was no status (the session failed, not the command).
 */
export async function execInPod(kube: Kube, o: PodExecOptions): Promise<PodExecResult> {
  const where = `${o.namespace}/${o.pod}`;
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  // The library forwards what this stream emits without backpressure, and half-closes stdin (v5)
  // when it ends. Nothing is written to it: the data goes through `send` below, and it only ends.
  const stdinEnd = o.stdin ? new PassThrough() : null;
  let status: V1Status | undefined;
  let socket: ExecSocket;
  try {
    socket = (await new Exec(kube.config).exec(
      o.namespace,
      o.pod,
      o.container,
      [...o.command],
      collector(out),
      collector(err),
      stdinEnd,
      false,
      (s) => {
        status = s;
      },
    )) as unknown as ExecSocket;
  } catch (error) {
    o.stdin?.destroy();
    throw new NodeAgentError(`exec into ${where}: the session did not open: ${(error as { message?: string }).message ?? String(error)}`, {
      cause: error,
    });
  }
  let socketError: Error | undefined;
  socket.on('error', (e) => {
    socketError = e;
  });
  const closed = new Promise<void>((resolve) => socket.on('close', resolve));
  let stdinError: unknown;
  if (o.stdin && stdinEnd) {
    if (socket.protocol !== EXEC_PROTOCOL_V5) {
      socket.close();
      o.stdin.destroy();
      throw new NodeAgentError(
        `exec into ${where}: stdin needs the ${EXEC_PROTOCOL_V5} exec protocol (Kubernetes 1.30+); the API server chose "${socket.protocol}"`,
      );
    }
    const input = o.stdin;
    void (async () => {
      for await (const chunk of input) {
        if (status) break; // the command exited without reading everything
        const data = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
        await send(socket, Buffer.concat([Buffer.from([STDIN_CHANNEL]), data]));
      }
      stdinEnd.end();
    })().catch((error: unknown) => {
      stdinError = error;
      socket.close();
    });
  }
  await closed;
  o.stdin?.destroy();
  if (!status) {
    const why = stdinError ? `sending stdin failed: ${String(stdinError)}` : socketError ? socketError.message : 'no exit status';
    throw new NodeAgentError(`exec into ${where}: the session ended without an exit status (${why})`, { cause: stdinError ?? socketError });
  }
  return { status, stdout: Buffer.concat(out), stderr: Buffer.concat(err) };
}

// ---------------------------------------------------------------------------------------------
// NodeAccess through the agent.

export class DaemonSetNodeAccess implements NodeAccess, AsyncDisposable {
  readonly how = 'agent';
  private disposal: Promise<void> | undefined;

  constructor(
    private readonly kube: Kube,
    readonly namespace: string,
    /** Node name → the Ready agent pod on it. */
    private readonly pods: Map<string, string>,
    private readonly logger: Logger,
  ) {}

  /** The nodes the agent runs on. */
  get nodeNames(): string[] {
    return [...this.pods.keys()].sort();
  }

  async exec(node: string, argv: readonly string[], options: NodeExecOptions = {}): Promise<RunResult> {
    const pod = await this.podOn(node);
    const stdin =
      options.inputFile !== undefined
        ? createReadStream(options.inputFile)
        : options.input !== undefined
          ? Readable.from([Buffer.from(options.input)])
          : undefined;
    const started = Date.now();
    this.logger.detail(`[${node}] EXEC ${argv.join(' ')}`);
    const session = await execInPod(this.kube, {
      namespace: this.namespace,
      pod,
      container: AGENT_CONTAINER,
      command: agentCommand(argv),
      ...(stdin ? { stdin } : {}),
    });
    const exitCode = exitCodeOfStatus(session.status);
    if (exitCode === undefined) {
      throw new NodeAgentError(
        `[${node}] exec of ${argv.join(' ')} in ${this.namespace}/${pod} failed: ${session.status.message ?? JSON.stringify(session.status)}`,
      );
    }
    const result: RunResult = {
      stdout: stripFinalNewline(session.stdout.toString('utf8')),
      stderr: stripFinalNewline(session.stderr.toString('utf8')),
      exitCode,
    };
    this.logger.detail(
      `[${node}] EXEC ${exitCode === 0 ? 'OK' : `FAIL exit ${exitCode}`} (${Date.now() - started} ms)\n${result.stdout}\n${result.stderr}`,
    );
    if (exitCode !== 0 && !options.allowFailure) {
      throw new CommandError(['node-agent', node, ...argv], exitCode, result.stderr || result.stdout);
    }
    return result;
  }

  async writeFile(node: string, path: string, content: string, mode = '0644'): Promise<void> {
    const dir = path.replace(/\/[^/]*$/, '') || '/';
    await this.exec(node, ['sh', '-c', 'mkdir -p "$1" && cat > "$2" && chmod "$3" "$2"', 'sh', dir, path, mode], { input: content });
  }

  /** Deletes the agent's namespace (and so its DaemonSet and pods) and waits until it is gone; a second call is harmless. */
  dispose(): Promise<void> {
    this.disposal ??= this.logger.phase(`remove node agent (namespace ${this.namespace})`, () =>
      deleteNamespaceAndWait(this.kube, this.namespace),
    );
    return this.disposal;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }

  /** The agent pod on `node`; looked up again when the node is new (it joined after the install). */
  private async podOn(node: string): Promise<string> {
    if (this.disposal) throw new NodeAgentError(`the node agent in ${this.namespace} has been removed`);
    let pod = this.pods.get(node);
    if (pod === undefined) {
      for (const [n, p] of readyAgentPods(await this.listPods())) this.pods.set(n, p);
      pod = this.pods.get(node);
    }
    if (pod === undefined)
      throw new NodeAgentError(`no Ready node-agent pod on node ${node} (the agent runs on: ${this.nodeNames.join(', ') || 'no node'})`);
    return pod;
  }

  private async listPods(): Promise<V1Pod[]> {
    return (await this.kube.core.listNamespacedPod({ namespace: this.namespace, labelSelector: `${LABEL_APP}=${AGENT_NAME}` })).items;
  }
}

function isReady(pod: V1Pod): boolean {
  return !pod.metadata?.deletionTimestamp && (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** Node name → the name of a Ready, not terminating agent pod on it. */
export function readyAgentPods(pods: readonly V1Pod[]): Map<string, string> {
  const byNode = new Map<string, string>();
  for (const p of pods) {
    const node = p.spec?.nodeName;
    const name = p.metadata?.name;
    if (node && name && isReady(p)) byNode.set(node, name);
  }
  return byNode;
}

/** One line per agent pod for a wait-timeout error: node, phase, readiness, why a container waits. */
export function describeAgentPod(p: V1Pod): string {
  const containers = (p.status?.containerStatuses ?? []).map((c) => {
    const waiting = c.state?.waiting;
    const terminated = c.state?.terminated;
    if (waiting) return `waiting ${waiting.reason ?? ''}${waiting.message ? `: ${waiting.message}` : ''}`;
    if (terminated) return `terminated ${terminated.reason ?? ''} exit ${terminated.exitCode}`;
    return c.ready ? 'ready' : 'running, not ready';
  });
  const state =
    containers.join('; ') ||
    (p.status?.conditions ?? [])
      .filter((c) => c.status !== 'True')
      .map((c) => `${c.type}: ${c.reason ?? ''} ${c.message ?? ''}`.trim())
      .join('; ');
  return `${p.metadata?.name} on ${p.spec?.nodeName ?? '(not scheduled)'}: ${p.status?.phase ?? '?'}${p.metadata?.deletionTimestamp ? ' (terminating)' : ''} ${state}`.trim();
}

async function deleteNamespaceAndWait(kube: Kube, name: string, timeoutMs = 180_000): Promise<void> {
  try {
    await kube.core.deleteNamespace({ name });
  } catch (error) {
    if (!(error instanceof ApiException && error.code === 404)) throw error;
  }
  await waitFor({
    kube,
    what: `namespace ${name} to be deleted`,
    path: '/api/v1/namespaces',
    fieldSelector: `metadata.name=${name}`,
    timeoutMs,
    list: async () => {
      const l = await kube.core.listNamespace({ fieldSelector: `metadata.name=${name}` });
      return { items: l.items, resourceVersion: l.metadata?.resourceVersion ?? '' };
    },
    until: (all: V1Namespace[]) => (all.length === 0 ? true : undefined),
    describe: (ns) =>
      `${ns.metadata?.name}: ${ns.status?.phase ?? '?'} ${(ns.status?.conditions ?? [])
        .filter((c) => c.status === 'True')
        .map((c) => `${c.type}: ${c.message ?? ''}`)
        .join('; ')}`.trim(),
  });
}

// ---------------------------------------------------------------------------------------------
// Install.

export interface InstallNodeAgentOptions {
  kube: Kube;
  /** The run's registry: the agent image is pushed there and pulled by the nodes with its credentials. */
  registry: AgentRegistry;
  runId: string;
  logger: Logger;
  /** Until one agent pod per node is Ready (default 180 s). */
  readyTimeoutMs?: number;
}

/**
 * Builds and pushes the agent image for the nodes' platforms, creates the agent's namespace, pull
 * Secret and DaemonSet, and waits until every node has a Ready agent pod. On failure what it
 * created is removed before the error is rethrown.
 */
export async function installNodeAgent(o: InstallNodeAgentOptions): Promise<DaemonSetNodeAccess> {
  const { kube, logger, runId, registry } = o;
  // The agent is a Linux program (the DaemonSet selects kubernetes.io/os=linux).
  const nodes = (await kube.core.listNode()).items.filter((n) => nodePlatform(n).os === 'linux');
  const nodeNames = nodes
    .map((n) => n.metadata?.name ?? '')
    .filter(Boolean)
    .sort();
  const platforms = distinctPlatforms(nodes.map(nodePlatform));
  const image = await logger.phase(`node agent image for ${platforms.map(platformString).join(', ')} → ${registry.host}`, () =>
    pushAgentImage(registry, platforms, `run-${runId}`, logger),
  );
  const manifests = nodeAgentManifests({
    runId,
    image,
    ...(registry.username && registry.password
      ? { pullCredential: { server: registry.host, username: registry.username, password: registry.password } }
      : {}),
  });
  const namespace = agentNamespace(runId);
  // Owner labels only here, where the namespace is created: a sweep after a killed run finds it.
  await createManagedNamespace(kube, { name: namespace, runId, labels: manifests.namespace.metadata?.labels ?? {}, ready: false });
  try {
    return await logger.phase(`node agent Ready on ${nodeNames.length} nodes (namespace ${namespace})`, async () => {
      // The API server refuses pods until the namespace's default ServiceAccount exists.
      await waitForServiceAccount(kube, namespace, 'default');
      if (manifests.pullSecret) await kube.core.createNamespacedSecret({ namespace, body: manifests.pullSecret });
      await kube.config.makeApiClient(AppsV1Api).createNamespacedDaemonSet({ namespace, body: manifests.daemonSet });
      const pods = await waitFor({
        kube,
        what: `one Ready node-agent pod on each of ${nodeNames.join(', ')}`,
        path: `/api/v1/namespaces/${namespace}/pods`,
        labelSelector: `${LABEL_APP}=${AGENT_NAME}`,
        timeoutMs: o.readyTimeoutMs ?? 180_000,
        list: async () => {
          const l = await kube.core.listNamespacedPod({ namespace, labelSelector: `${LABEL_APP}=${AGENT_NAME}` });
          return { items: l.items, resourceVersion: l.metadata?.resourceVersion ?? '' };
        },
        until: (all: V1Pod[]) => {
          const ready = readyAgentPods(all);
          return nodeNames.every((n) => ready.has(n)) ? ready : undefined;
        },
        describe: describeAgentPod,
      });
      return new DaemonSetNodeAccess(kube, namespace, pods, logger);
    });
  } catch (error) {
    await deleteNamespaceAndWait(kube, namespace).catch((e: unknown) =>
      logger.warn(`removing ${namespace} after a failed install: ${String(e)}`),
    );
    throw error;
  }
}
