// Talking to a cluster: clients from a kubeconfig, and one way to wait — a watch with a deadline
// that fails with the last state it saw. No polling loops, no sleeps.
import { Agent } from 'node:https';
import {
  type ApiConstructor,
  ApiException,
  type ApiType,
  CoreV1Api,
  createConfiguration,
  KubeConfig,
  type KubernetesObject,
  type RequestContext,
  ServerConfiguration,
  type V1ServiceAccount,
  Watch,
} from '@kubernetes/client-node';
import { KeepAliveHttpLibrary } from './apihttp.ts';

export interface Kube {
  config: KubeConfig;
  core: CoreV1Api;
}

/**
 * A KubeConfig whose API clients keep one connection alive per context (client-node makes a new
 * agent, and so a new TLS connection with client certificates on both sides, for every request:
 * with thousands of calls a run, a share of the API server's CPU and of pullcheck's). Its clients
 * send with KeepAliveHttpLibrary (apihttp.ts). Watches and logs, which client-node sends with
 * node-fetch 2 itself, share one agent per context without keep-alive: each new connection resumes
 * the last TLS session (node-fetch 2 fails a response with "Premature close" when its socket goes
 * to the next request first).
 */
export class PooledKubeConfig extends KubeConfig {
  readonly #agents = new Map<string, Agent>();

  #pooled(fresh: unknown, keepAlive: boolean): unknown {
    if (!(fresh instanceof Agent)) return fresh;
    const key = `${keepAlive ? 'keep-alive' : 'resume'} ${this.getCurrentContext()}`;
    let agent = this.#agents.get(key);
    if (!agent) {
      // Idle sockets go after 30 s, so that few are ones the server has closed meanwhile (apihttp.ts sends again on those).
      agent = new Agent({ ...fresh.options, keepAlive, ...(keepAlive ? { timeout: 30_000 } : {}) });
      this.#agents.set(key, agent);
    }
    fresh.destroy();
    return agent;
  }

  override makeApiClient<T extends ApiType>(apiClientType: ApiConstructor<T>): T {
    const cluster = this.getCurrentCluster();
    if (!cluster) throw new Error('No active cluster!');
    return new apiClientType(
      createConfiguration({
        baseServer: new ServerConfiguration(cluster.server, {}),
        authMethods: { default: this },
        httpApi: new KeepAliveHttpLibrary(),
      }),
    );
  }

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    context.setAgent(this.#pooled(context.getAgent(), true) as Agent);
  }

  override async applyToHTTPSOptions(opts: Parameters<KubeConfig['applyToHTTPSOptions']>[0]): Promise<void> {
    await super.applyToHTTPSOptions(opts);
    if ('agent' in opts) (opts as { agent?: unknown }).agent = this.#pooled(opts.agent, false);
  }
}

export function kubeFromString(kubeconfig: string, context?: string): Kube {
  const config = new PooledKubeConfig();
  config.loadFromString(kubeconfig);
  if (context) config.setCurrentContext(context);
  return { config, core: config.makeApiClient(CoreV1Api) };
}

export function kubeFromFile(path: string, context?: string): Kube {
  const config = new PooledKubeConfig();
  config.loadFromFile(path);
  if (context) config.setCurrentContext(context);
  return { config, core: config.makeApiClient(CoreV1Api) };
}

/** The HTTP status of an API server refusal (404, 409…), undefined for anything else. */
export function apiStatus(error: unknown): number | undefined {
  return error instanceof ApiException ? error.code : undefined;
}

export class WaitTimeoutError extends Error {
  constructor(
    readonly what: string,
    readonly seconds: number,
    readonly lastSeen: string,
  ) {
    super(`timed out after ${seconds}s waiting for ${what}; last seen:\n${lastSeen}`);
    this.name = 'WaitTimeoutError';
  }
}

export interface WaitForOptions<T extends KubernetesObject, R> {
  kube: Kube;
  /** What is awaited, for the error message: "3 nodes Ready". */
  what: string;
  /** API path of the collection, e.g. /api/v1/nodes or /api/v1/namespaces/x/pods. */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  timeoutMs: number;
  /** Lists the collection (the starting state and after a watch ends). */
  list: () => Promise<{ items: T[]; resourceVersion: string }>;
  /** Done when this returns a value other than undefined; it sees every object currently known. */
  until: (objects: T[]) => R | undefined;
  /** One line per object for the timeout error. */
  describe: (object: T) => string;
}

/**
 * Lists, then watches from that resourceVersion, re-listing when the watch closes (410 Gone or a
 * server timeout), until `until` holds or the deadline passes.
 */
export async function waitFor<T extends KubernetesObject, R>(o: WaitForOptions<T, R>): Promise<R> {
  const deadline = Date.now() + o.timeoutMs;
  const known = new Map<string, T>();
  const keyOf = (obj: T) => `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
  const snapshot = () => [...known.values()];
  const lastSeen = () => (known.size === 0 ? '(nothing matched)' : snapshot().map(o.describe).join('\n'));

  while (Date.now() < deadline) {
    const listed = await o.list();
    known.clear();
    for (const item of listed.items) known.set(keyOf(item), item);
    const immediate = o.until(snapshot());
    if (immediate !== undefined) return immediate;

    const result = await new Promise<{ done: true; value: R } | { done: false }>((resolve, reject) => {
      let abort: AbortController | undefined;
      let settled = false;
      const finish = (value: { done: true; value: R } | { done: false }) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        abort?.abort();
        resolve(value);
      };
      const timer = setTimeout(() => finish({ done: false }), Math.max(0, deadline - Date.now()));
      new Watch(o.kube.config)
        .watch(
          o.path,
          {
            resourceVersion: listed.resourceVersion,
            allowWatchBookmarks: true,
            labelSelector: o.labelSelector,
            fieldSelector: o.fieldSelector,
          },
          (phase: string, obj: T) => {
            if (phase === 'BOOKMARK') return;
            if (phase === 'DELETED') known.delete(keyOf(obj));
            else known.set(keyOf(obj), obj);
            const value = o.until(snapshot());
            if (value !== undefined) finish({ done: true, value });
          },
          // The watch ended (server timeout, 410 Gone, connection reset): list again and go on.
          () => finish({ done: false }),
        )
        .then(
          (a) => {
            abort = a;
            if (settled) a.abort();
          },
          (error: unknown) => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            reject(error);
          },
        );
    });
    if (result.done) return result.value;
  }
  throw new WaitTimeoutError(o.what, Math.round(o.timeoutMs / 1000), lastSeen());
}

/**
 * A namespace's ServiceAccount once the controller has made it: the API server refuses pods in a
 * namespace whose `default` ServiceAccount does not exist yet.
 */
export async function waitForServiceAccount(kube: Kube, namespace: string, name: string, timeoutMs = 60_000): Promise<V1ServiceAccount> {
  return waitFor({
    kube,
    what: `ServiceAccount ${namespace}/${name}`,
    path: `/api/v1/namespaces/${namespace}/serviceaccounts`,
    fieldSelector: `metadata.name=${name}`,
    timeoutMs,
    list: async () => {
      const l = await kube.core.listNamespacedServiceAccount({ namespace, fieldSelector: `metadata.name=${name}` });
      return { items: l.items, resourceVersion: l.metadata?.resourceVersion ?? '' };
    },
    until: (all: V1ServiceAccount[]) => all[0],
    describe: (sa) => `${sa.metadata?.name}: imagePullSecrets=${JSON.stringify(sa.imagePullSecrets ?? [])}`,
  });
}

/**
 * An error as one line: the API server's own message for a refused request (client-node puts only
 * `HTTP-Code: 403` on the first line of its ApiException), else the error's first line.
 */
export function errorLine(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'code' in error && 'body' in error) {
    const { code, body } = error as { code: unknown; body: unknown };
    let message = typeof body === 'string' ? body : JSON.stringify(body);
    try {
      const parsed = (typeof body === 'string' ? JSON.parse(body) : body) as { message?: unknown };
      if (typeof parsed?.message === 'string') message = parsed.message;
    } catch {
      // not JSON: the body as it came
    }
    return `the API server answered ${String(code)}: ${message}`.split('\n')[0] ?? '';
  }
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
}
