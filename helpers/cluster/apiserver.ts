// An admission plugin, on for a while, without touching the cluster's own API server: a second
// kube-apiserver (kubeadm's static pod manifest, copied under another name and port, with the
// plugin added) serves the same etcd beside the first. Pods created through it are admitted with
// the plugin; everything else keeps talking to the unchanged first server, so other suites see no
// outage and nothing has to be restored. Restarting the one API server with the plugin took ~45 s
// each way and stopped the whole cluster's API meanwhile; the second server is serving in ~15 s.
// A cluster created with AlwaysPullImages on is no alternative here: CoreDNS and kube-proxy would
// be re-pulled from registry.k8s.io, which this machine cannot reach.
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import pRetry, { AbortError } from 'p-retry';
import YAML from 'yaml';
import { LABEL_MANAGED } from '../infra/docker.ts';
import { testKillPoint } from '../infra/killpoint.ts';
import type { Logger } from '../infra/log.ts';
import type { NodeAccess } from '../node/access.ts';
import { journaledWrite } from '../node/journal.ts';
import { type Kube, kubeFromString } from './kube.ts';
import { ownerLabels } from './leftovers.ts';

const MANIFESTS = '/etc/kubernetes/manifests';
const SOURCE = `${MANIFESTS}/kube-apiserver.yaml`;
const PLUGINS_FLAG = '--enable-admission-plugins=';

function setFlag(command: string[], flag: string, value: string): void {
  const i = command.findIndex((a) => a.startsWith(`${flag}=`));
  if (i >= 0) command[i] = `${flag}=${value}`;
  else command.push(`${flag}=${value}`);
}

/** The manifest with `plugin` added to (or removed from) --enable-admission-plugins. */
export function withAdmissionPlugin(manifestYaml: string, plugin: string, enabled: boolean): string {
  const pod = YAML.parse(manifestYaml) as V1Pod;
  const container = pod.spec?.containers.find((c) => c.name === 'kube-apiserver');
  if (!container?.command) throw new Error(`${SOURCE} has no kube-apiserver container command`);
  const current = (container.command.find((a) => a.startsWith(PLUGINS_FLAG)) ?? '').slice(PLUGINS_FLAG.length).split(',').filter(Boolean);
  const next = enabled ? [...new Set([...current, plugin])] : current.filter((p) => p !== plugin);
  setFlag(container.command, PLUGINS_FLAG.slice(0, -1), next.join(','));
  return YAML.stringify(pod);
}

/**
 * kubeadm's API server manifest turned into a second server: its own pod name and labels (nothing
 * that selects kubeadm's `component: kube-apiserver` may pick it up), its own port (host network),
 * the plugin on, and no say over the `kubernetes` Service's endpoints — two servers with one
 * address and different ports would otherwise keep rewriting the endpoint's port.
 */
export function secondApiServerManifest(
  manifestYaml: string,
  o: { name: string; port: number; plugin: string; labels?: Record<string, string> },
): string {
  const pod = YAML.parse(withAdmissionPlugin(manifestYaml, o.plugin, true)) as V1Pod;
  const container = pod.spec?.containers.find((c) => c.name === 'kube-apiserver');
  if (!pod.metadata || !container?.command) throw new Error(`${SOURCE} has no kube-apiserver container command`);
  pod.metadata.name = o.name;
  // The file's name rides along, so that a sweep after a killed run can find the file from the mirror pod.
  pod.metadata.labels = { ...o.labels, [LABEL_MANAGED]: 'true', 'pullcheck.io/manifest': `${o.name}.yaml`, component: o.name };
  delete pod.metadata.annotations;
  setFlag(container.command, '--secure-port', String(o.port));
  setFlag(container.command, '--endpoint-reconciler-type', 'none');
  // The probes name the port ("probe-port") or give its number: both move to the new port.
  container.ports = (container.ports ?? []).map((p) => ({ ...p, containerPort: o.port }));
  for (const probe of [container.livenessProbe, container.readinessProbe, container.startupProbe]) {
    if (probe?.httpGet && typeof probe.httpGet.port === 'number') probe.httpGet.port = o.port;
  }
  return YAML.stringify(pod);
}

/** The kubeconfig with its current cluster's server replaced by `server` (same CA, same user). */
export function kubeconfigForServer(kube: Kube, server: string): string {
  const exported = YAML.parse(kube.config.exportConfig()) as { clusters?: { name: string; cluster: { server: string } }[] };
  const current = kube.config.getCurrentCluster()?.name;
  for (const c of exported.clusters ?? []) if (c.name === current) c.cluster.server = server;
  return YAML.stringify(exported);
}

export interface SecondApiServerOptions {
  kube: Kube;
  nodes: NodeAccess;
  controlPlane: string;
  logger: Logger;
  plugin: string;
  /** Its host-network port on the control plane; must be free there. */
  port?: number;
  /** Resolves true once the server behaves as wanted (e.g. a dry-run pod shows the mutation). */
  probe: (kube: Kube) => Promise<boolean>;
  timeoutMs?: number;
}

export interface SecondApiServer {
  /** A client of the second server: what it creates is admitted with the plugin. */
  kube: Kube;
  server: string;
  /** Removes the static pod and waits until the server no longer answers. */
  stop(): Promise<void>;
}

/** Retries `attempt` (connection errors included) until it returns true or the deadline passes. */
async function until(what: string, timeoutMs: number, attempt: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  await pRetry(
    async () => {
      try {
        if (await attempt()) return;
        last = 'not yet';
      } catch (error) {
        last = error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
      }
      if (Date.now() > deadline) throw new AbortError(`${what}: not within ${timeoutMs / 1000}s; last: ${last}`);
      throw new Error(last);
    },
    { retries: 10_000, minTimeout: 300, maxTimeout: 1000, factor: 1.3 },
  );
}

async function internalIp(kube: Kube, node: string): Promise<string> {
  const n = await kube.core.readNode({ name: node });
  const ip = n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
  if (!ip) throw new Error(`node ${node} reports no InternalIP: cannot reach a second API server there`);
  return ip;
}

export async function startSecondApiServer(o: SecondApiServerOptions): Promise<SecondApiServer> {
  const port = o.port ?? 6444;
  const name = `pullcheck-apiserver-${o.plugin.toLowerCase()}`;
  const path = `${MANIFESTS}/${name}.yaml`;
  const timeoutMs = o.timeoutMs ?? 180_000;
  const busy = await o.nodes.exec(o.controlPlane, ['sh', '-c', `ss -Hltn 'sport = :${port}'`], { allowFailure: true });
  if (busy.stdout.trim())
    throw new Error(
      `port ${port} on ${o.controlPlane} is taken (${busy.stdout.trim().split('\n')[0] ?? ''}): a second API server cannot listen there`,
    );
  const { stdout: original } = await o.nodes.exec(o.controlPlane, ['cat', SOURCE]);
  const server = `https://${await internalIp(o.kube, o.controlPlane)}:${port}`;
  const second = kubeFromString(kubeconfigForServer(o.kube, server));
  // Journaled, and written to a hidden file moved in (kubelet skips dot files): kubelet would start a
  // half-written file as a pod. A killed run's manifest is removed by the next run's replay.
  const change = await journaledWrite(
    o.nodes,
    o.controlPlane,
    path,
    secondApiServerManifest(original, { name, port, plugin: o.plugin, labels: ownerLabels() }),
    { mode: '0600' },
  );
  const stop = () =>
    o.logger.phase(`stop the second API server ${server}`, async () => {
      await change.undo();
      await until(`the second API server ${server} to stop after its manifest was removed`, timeoutMs, async () => {
        try {
          await second.core.getAPIResources();
          return false;
        } catch (error) {
          return /ECONNREFUSED/.test(
            String(error instanceof Error ? `${error.message} ${String((error as { code?: unknown }).code)}` : error),
          );
        }
      });
    });
  try {
    await o.logger.phase(`start a second API server with ${o.plugin} at ${server}`, () =>
      until(`a second API server with ${o.plugin} at ${server}`, timeoutMs, () => o.probe(second)),
    );
    testKillPoint('second-apiserver', server);
  } catch (error) {
    await stop().catch((e: unknown) => o.logger.warn(`stopping the second API server: ${String(e)}`));
    throw error;
  }
  return { kube: second, server, stop };
}

/** Outside the manifests directory: kubelet would run a second API server from a copy inside it. */
const MANIFEST_BACKUP = '/etc/kubernetes/kube-apiserver.yaml.pullcheck-orig';

/** Polls `check` (failures count as "not yet": the API server restarts meanwhile) until it holds. */
export async function untilTrue(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const ok = await check().catch((e: unknown) => {
      last = String(e).split('\n')[0] ?? '';
      return false;
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 2000));
  }
  throw new Error(`waited ${timeoutMs / 1000}s for ${what}${last ? `; last error: ${last}` : ''}`);
}

/** The pod an API server's admission makes of one container, by a server-side dry run (nothing is stored). */
export async function admittedPod(
  kube: Kube,
  namespace: string,
  container: Omit<V1Container, 'name'>,
  serviceAccountName?: string,
): Promise<V1Pod> {
  return kube.core.createNamespacedPod({
    namespace,
    dryRun: 'All',
    body: {
      metadata: { name: 'pullcheck-admission-probe' },
      spec: { ...(serviceAccountName ? { serviceAccountName } : {}), containers: [{ name: 'main', ...container }] },
    },
  });
}

/** What an API server makes of an IfNotPresent container (admittedPod). */
export async function admittedPolicy(kube: Kube, namespace = 'default'): Promise<string | undefined> {
  const pod = await admittedPod(kube, namespace, { image: 'pullcheck.invalid/probe:1', imagePullPolicy: 'IfNotPresent' });
  return pod.spec?.containers[0]?.imagePullPolicy;
}

/**
 * Changes the cluster's own API server: edits kubeadm's static pod manifest on `controlPlane` and
 * waits until `applied()` says the restarted server answers with the change. The returned undo puts
 * the manifest back and waits until `applied()` no longer holds.
 */
export async function changeApiServer(o: {
  nodes: NodeAccess;
  controlPlane: string;
  logger: Logger;
  what: string;
  edit: (manifestYaml: string) => string;
  applied: () => Promise<boolean>;
}): Promise<() => Promise<void>> {
  const original = (await o.nodes.exec(o.controlPlane, ['cat', SOURCE])).stdout;
  await o.nodes.exec(o.controlPlane, ['cp', SOURCE, MANIFEST_BACKUP]);
  await o.logger.phase(`API server: ${o.what}`, async () => {
    await o.nodes.writeFile(o.controlPlane, SOURCE, o.edit(original), '0600');
    await untilTrue(o.applied, 180_000, `the API server with ${o.what}`);
  });
  return () =>
    o.logger.phase(`API server: undo ${o.what}`, async () => {
      await o.nodes.writeFile(o.controlPlane, SOURCE, original, '0600');
      await o.nodes.exec(o.controlPlane, ['rm', '-f', MANIFEST_BACKUP]);
      await untilTrue(async () => !(await o.applied()), 180_000, `the API server without ${o.what}`);
    });
}
