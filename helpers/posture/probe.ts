// The pull probe: before the suites, every node pulls one tiny image from each kind of registry the
// run uses (pullcheck's own, over TLS with its CA; the vendor's), once with the pull Secret and once
// without. A node that cannot pull, or pulls a private image with no credentials, is a cause the
// scenarios cannot see from inside: the run names it once, and the failures it explains are marked
// as blocked by it instead of each failing with the same runtime words.
import { randomBytes } from 'node:crypto';
import type { V1Pod } from '@kubernetes/client-node';
import type { Cluster } from '../cluster/cluster.ts';
import { waitForServiceAccount } from '../cluster/kube.ts';
import { createManagedNamespace } from '../cluster/namespaces.ts';
import { pullFailureCause } from '../framework/observe.ts';
import { EventReason, podEvents, podManifest, UNAUTHORIZED, waitForVerdict } from '../framework/pods.ts';
import { hostPlatform } from '../images/oci.ts';
import { echoImage } from '../images/testimages.ts';
import { LABEL_RUN } from '../infra/docker.ts';
import { onInterrupt } from '../infra/lifecycle.ts';
import type { Logger } from '../infra/log.ts';
import { removeContainersSync } from '../infra/sweep.ts';
import type { ProbeFinding } from '../model/posture.ts';
import { removeRegistryImages } from '../node/registryimages.ts';
import { RegistryClient, RegistryError } from '../registry/client.ts';
import { trustRegistryOnNodes, untrustRegistryOnNodes } from '../registry/nodetrust.ts';
import { splitReference } from '../registry/preseeded.ts';
import { LocalRegistry, type TestRegistry, underPrefix } from '../registry/registry.ts';
import { dockerConfigJsonSecret } from '../registry/secrets.ts';
import { createCA } from '../registry/tls.ts';
import type { Finding, PodObservation } from '../report/schema.ts';
import type { NodeRuntime } from '../runtime/runtime.ts';

export type { ProbeFinding } from '../model/posture.ts';

const MANIFEST_TYPES = ['application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json'].join(', ');

/** Findings name a registry by this key: pullcheck's own (a new host per suite) or the vendor's host. */
export const OWN_REGISTRIES = 'pullcheck';

/** A probe finding: `registry` is OWN_REGISTRIES or the vendor registry's host; no nodes: the registry itself. */

/** The registry key a scenario's registry is found under. */
export function probeKey(r: Pick<TestRegistry, 'local' | 'host'>): string {
  return r.local ? OWN_REGISTRIES : r.host;
}

/** What a pod must have done for a finding of this cause to explain its scenario's failure. */
function showsCause(f: Finding, observed: readonly string[]): boolean {
  if (f.observed) return observed.includes(f.observed);
  // A node or registry that hands out private images: the pod got its image.
  return observed.includes('pulled') || observed.includes('ran') || observed.includes('cached');
}

/**
 * The finding that explains a failed scenario: one about a registry it pushed to, seen on a node
 * one of its own pods ran on (any node, for the registry's own finding), where that pod did what the
 * finding says (the same failed pull, or a pull that should not have worked). Anything less is the
 * scenario's own failure.
 */
export function explainingFinding(
  findings: readonly ProbeFinding[],
  used: readonly string[],
  pods: readonly PodObservation[],
): ProbeFinding | undefined {
  return findings.find(
    (f) =>
      used.includes(f.registry) &&
      pods.some((p) => (f.nodes.length === 0 || (p.node !== undefined && f.nodes.includes(p.node))) && showsCause(f, p.observed)),
  );
}

/** The runtime's own cause in a Failed event: what follows the last request it made. */
export function pullCause(message: string): string {
  const parts = message.split(': ');
  const tls = parts.findIndex((p) => /^(tls|x509)\b/.test(p));
  return (tls >= 0 ? parts.slice(tls) : parts.slice(-2)).join(': ').trim();
}

/**
 * Pull-only (`--registry-preseeded`): the probe pulls a reference the vendor seeded, read as the
 * registry is (a private- one with credentials, else an anonymous one), a manifest before an index.
 */
export function probeReference(v: TestRegistry): { ref: string; repository: string; tag: string } | undefined {
  const readable = (v.preseeded ?? []).filter((e) => e.name.startsWith('private-') === Boolean(v.username));
  const e = readable.find((x) => x.name.endsWith('manifest')) ?? readable[0];
  const parts = e ? splitReference(e.reference) : undefined;
  return e && parts ? { ref: e.reference, repository: parts.repository, tag: parts.tagOrDigest } : undefined;
}

interface Probed {
  registry: TestRegistry;
  label: string;
  ref: string;
  repository: string;
  tag: string;
}

const TIMEOUT_MS = 90_000;

async function verdictWithCause(cluster: Cluster, namespace: string, pod: string) {
  const verdict = await waitForVerdict(cluster.kube, namespace, pod, TIMEOUT_MS).catch((e: unknown) => e as Error);
  if (verdict instanceof Error)
    return { ok: false, cause: `neither ran nor failed its pull in ${TIMEOUT_MS / 1000} s (${verdict.message.split('\n')[0]})` };
  if (verdict.kind === 'completed') return { ok: true, cause: '' };
  const failed = (await podEvents(cluster.kube, namespace, pod)).find((e) => e.reason === EventReason.Failed);
  return { ok: false, cause: pullCause(failed?.message ?? verdict.message) };
}

function probePod(namespace: string, name: string, node: string, image: string, secret: string | undefined): V1Pod {
  const pod = podManifest(namespace, {
    name,
    image,
    pullPolicy: 'Always',
    nodeName: node,
    ...(secret ? { imagePullSecrets: [secret] } : {}),
  });
  // Every node, tainted or not: a control plane that cannot pull is worth knowing too.
  if (pod.spec) pod.spec.tolerations = [{ operator: 'Exists' }];
  return pod;
}

async function probeRegistry(
  cluster: Cluster,
  namespace: string,
  p: Probed,
  logger: Logger,
  ownCredentials: OwnNodeCredentials | undefined,
): Promise<ProbeFinding[]> {
  const findings: ProbeFinding[] = [];
  const key = probeKey(p.registry);
  const secret = p.registry.username ? `probe-${randomBytes(3).toString('hex')}` : undefined;
  if (secret)
    await cluster.kube.core.createNamespacedSecret({
      namespace,
      body: dockerConfigJsonSecret(secret, namespace, [p.registry.credential()]),
    });
  const results = await Promise.all(
    cluster.nodeNames.map(async (node, i) => {
      const name = `pull-${key === OWN_REGISTRIES ? 'own' : 'vendor'}-${i}`;
      await cluster.kube.core.createNamespacedPod({ namespace, body: probePod(namespace, name, node, p.ref, secret) });
      const withSecret = await verdictWithCause(cluster, namespace, name);
      if (!secret || !withSecret.ok) return { node, withSecret, anonymous: undefined };
      if (ownCredentials?.nodes.includes(node)) {
        logger.info(`probe: ${node} holds ${ownCredentials.why}: its pull without a Secret from ${p.label} is not probed`);
        return { node, withSecret, anonymous: undefined };
      }
      // Without the Secret the pull must be refused: a node that pulls anyway holds a credential of its own.
      await cluster.kube.core.createNamespacedPod({ namespace, body: probePod(namespace, `${name}-anon`, node, p.ref, undefined) });
      return { node, withSecret, anonymous: await verdictWithCause(cluster, namespace, `${name}-anon`) };
    }),
  );
  // One line per cause, naming every node it was seen on.
  const byLine = new Map<
    string,
    { cause: string; observed?: string; what: string; nodes: string[]; pull?: { label: string; cause: string } }
  >();
  const add = (node: string, cause: string, what: string, observed?: string, pull?: { label: string; cause: string }) => {
    const g = byLine.get(what) ?? { cause, what, nodes: [], ...(observed ? { observed } : {}), ...(pull ? { pull } : {}) };
    g.nodes.push(node);
    byLine.set(what, g);
  };
  for (const r of results) {
    if (!r.withSecret.ok)
      add(r.node, 'cannot-pull', `cannot pull from ${p.label}: ${r.withSecret.cause}`, pullFailureCause(r.withSecret.cause), {
        label: p.label,
        cause: r.withSecret.cause,
      });
    else if (r.anonymous?.ok)
      add(
        r.node,
        'pulls-without-credentials',
        `pulled a private image from ${p.label} with no pull Secret: a credential of the node's own (config.json, a credential provider) covers ${p.registry.host}`,
      );
    else if (r.anonymous && !UNAUTHORIZED.test(r.anonymous.cause))
      logger.info(`probe: ${r.node} was refused ${p.label} without a Secret, not with a 401: ${r.anonymous.cause}`);
  }
  for (const g of byLine.values())
    findings.push({
      source: 'probe',
      cause: g.cause,
      nodes: g.nodes,
      registry: key,
      ...(g.observed ? { observed: g.observed } : {}),
      ...(g.pull ? { pull: g.pull } : {}),
      line: `${g.nodes.join(', ')} ${g.what}`,
      fails: true,
    });
  // Every node pulling without credentials: the registry itself may serve anonymous clients.
  const leaking = findings.find((f) => f.cause === 'pulls-without-credentials');
  if (leaking && leaking.nodes.length === cluster.nodeNames.length) {
    const { host, ca, insecure } = p.registry.client.options;
    const anonymous = new RegistryClient({ host, ...(ca ? { ca } : {}), ...(insecure ? { insecure } : {}) });
    const path = `/v2/${p.repository}/manifests/${p.tag}`;
    const status = await anonymous
      .fetch('HEAD', path, { headers: { accept: MANIFEST_TYPES } })
      .then((r) => r.status)
      .catch((e: unknown) => (e instanceof RegistryError ? (e.status ?? 0) : 0));
    if (status === 200)
      return [
        {
          source: 'probe',
          cause: 'serves-anyone',
          nodes: [],
          registry: key,
          capability: 'auth-enforced',
          line: `${p.label} serves its private images to anyone: every node pulled one with no pull Secret, and an anonymous HEAD ${path} answered 200`,
          fails: true,
        },
      ];
  }
  return findings;
}

/** The registry capability a failed pull of every node disproves, when the registry is the one at fault. */
function capabilityOf(observed: string | undefined): string | undefined {
  if (observed === 'pull-failed:tls') return 'tls';
  if (observed === 'pull-failed:unauthorized' || observed === 'pull-failed:forbidden') return 'credentials-accepted';
  return undefined;
}

/**
 * Every node failing one registry the same way while each pulls from another: the registry is at
 * fault, not the nodes. Without a second registry that worked, the nodes stay named.
 */
export function blameRegistries(
  findings: readonly ProbeFinding[],
  nodeNames: readonly string[],
  probed: readonly string[],
): ProbeFinding[] {
  const healthy = probed.filter((key) => !findings.some((f) => f.registry === key));
  if (healthy.length === 0) return [...findings];
  return findings.map((f) => {
    if (f.cause !== 'cannot-pull' || !f.pull || f.nodes.length !== nodeNames.length) return f;
    const capability = capabilityOf(f.observed);
    return {
      ...f,
      cause: 'registry-refuses',
      nodes: [],
      ...(capability ? { capability } : {}),
      line: `every node fails to pull from ${f.pull.label}: ${f.pull.cause}, and each pulls from ${healthy.join(', ')}: the registry is at fault, not the nodes`,
    };
  });
}

/** Every node pulls from a registry whose CA it was not given: each one that gets the image is named. */
async function probeUntrusted(cluster: Cluster, namespace: string, ref: string): Promise<ProbeFinding[]> {
  const results = await Promise.all(
    cluster.nodeNames.map(async (node, i) => {
      const name = `pull-untrusted-${i}`;
      await cluster.kube.core.createNamespacedPod({ namespace, body: probePod(namespace, name, node, ref, undefined) });
      return { node, verdict: await verdictWithCause(cluster, namespace, name) };
    }),
  );
  const accepting = results.filter((r) => r.verdict.ok).map((r) => r.node);
  if (accepting.length === 0) return [];
  return [
    {
      source: 'probe',
      cause: 'accepts-untrusted-ca',
      nodes: accepting,
      registry: OWN_REGISTRIES,
      line: `${accepting.join(', ')} pulled from a registry whose CA it was not given (no certs.d entry): its runtime does not verify the registry's certificate`,
      fails: true,
    },
  ];
}

/**
 * Nodes holding a node credential pullcheck itself wrote and keeps on purpose (an upgrade's before
 * half, for its after half): a pull without a Secret there proves nothing about the cluster.
 */
export interface OwnNodeCredentials {
  nodes: readonly string[];
  why: string;
}

/**
 * Probes every node against pullcheck's own registry (kind clusters) and the vendor's (when given),
 * and against a registry whose CA no node was given, side by side.
 * Returns one finding per broken node and registry, or one per registry when the registry is the cause.
 */
export async function probePulls(o: {
  ownCredentials?: OwnNodeCredentials;
  cluster: Cluster;
  vendor: TestRegistry | undefined;
  runId: string;
  logger: Logger;
  /** The declared runtime: where the probe registry's CA goes on the nodes. */
  runtime?: NodeRuntime;
}): Promise<ProbeFinding[]> {
  const { cluster, logger } = o;
  if (cluster.nodes.how === 'none' && !o.vendor) return [];
  const runId = `probe${randomBytes(2).toString('hex')}`;
  const namespace = `pullcheck-probe-${o.runId}`.slice(0, 63);
  const forget = onInterrupt('the pull probe', () => removeContainersSync(`${LABEL_RUN}=${runId}`));
  const cleanups: (() => Promise<unknown>)[] = [];
  let untrusted: Promise<ProbeFinding[]> = Promise.resolve([]);
  // What the nodes pulled from the probe's own registry goes last, after its pods (helpers/node/registryimages.ts).
  let ownHost: string | undefined;
  cleanups.push(async () => {
    if (ownHost) await removeRegistryImages(cluster.nodes, cluster.nodeNames, [ownHost], logger);
  });
  try {
    // Its pods are refused (403) until the controller manager has made the namespace's default
    // ServiceAccount, which takes a while after the API server was restarted (AlwaysPullImages on).
    await createManagedNamespace(cluster.kube, { name: namespace, runId, ready: false });
    cleanups.push(() => cluster.kube.core.deleteNamespace({ name: namespace }));
    await waitForServiceAccount(cluster.kube, namespace, 'default');
    const probed: Probed[] = [];
    const image = (await echoImage(hostPlatform(), logger)).image;
    const repository = `pullcheck-probe/echo-${runId}`;
    const network = cluster.nodes.how === 'none' ? undefined : cluster.network;
    if (network) {
      // A node property no scenario can see from one node: every node must refuse a registry whose
      // CA it was not given (a containerd that skips verification pulls from anyone who answers).
      untrusted = (async () => {
        const strangerCa = await createCA(`pullcheck ${runId} (not given to the nodes)`);
        const stranger = await new LocalRegistry({ name: 'probe-untrusted', auth: 'none', ca: strangerCa, network, runId }, logger).start();
        cleanups.push(() => stranger.stop());
        await stranger.client.pushImage(repository, 'probe', image);
        return probeUntrusted(cluster, namespace, stranger.ref(repository, 'probe'));
      })();
      // Awaited below, or in `finally` when the rest failed first.
      untrusted.catch(() => undefined);
      const ca = await createCA(`pullcheck ${runId}`);
      const own = await new LocalRegistry({ name: 'probe', auth: 'htpasswd', ca, network, runId }, logger).start();
      cleanups.push(() => own.stop());
      ownHost = own.host;
      await trustRegistryOnNodes(cluster.nodes, cluster.nodeNames, own.host, own.caPem, o.runtime);
      cleanups.push(() => untrustRegistryOnNodes(cluster.nodes, cluster.nodeNames, own.host, o.runtime));
      await own.client.pushImage(repository, 'probe', image);
      probed.push({
        registry: own,
        label: "pullcheck's registries (TLS with the run's CA, htpasswd)",
        ref: own.ref(repository, 'probe'),
        repository,
        tag: 'probe',
      });
    }
    if (o.vendor) {
      const v = o.vendor;
      if (v.caPem && cluster.nodes.how === 'none')
        logger.info(`probe: ${v.host} needs its CA on the nodes, and no node access is set up before the suites: not probed`);
      else {
        // Its CA is on the nodes already: the run trusts a vendor registry once, for all suites.
        const seeded = probeReference(v);
        if (seeded) probed.push({ registry: v, label: `the registry ${v.host}`, ...seeded });
        else if (v.preseeded)
          logger.info(
            `probe: pull-only, and the pre-seeded file names no ${v.username ? 'private-' : 'anonymous '}reference: ${v.host} not probed`,
          );
        else {
          const path = underPrefix(v, repository);
          await v.client.pushImage(path, 'probe', image);
          probed.push({ registry: v, label: `the registry ${v.host}`, ref: v.ref(path, 'probe'), repository: path, tag: 'probe' });
        }
      }
    }
    // Each registry's pods are their own (names and Secrets), so the registries are probed side by side.
    const [extra, ...perRegistry] = await Promise.all([
      untrusted,
      ...probed.map((p) => probeRegistry(cluster, namespace, p, logger, o.ownCredentials)),
    ]);
    return [
      ...blameRegistries(
        perRegistry.flat(),
        cluster.nodeNames,
        probed.map((p) => probeKey(p.registry)),
      ),
      ...(extra ?? []),
    ];
  } finally {
    // Its registry is in `cleanups` once started: the cleanups wait for it.
    await untrusted.catch(() => undefined);
    for (const c of cleanups.reverse()) await c().catch((e: unknown) => logger.warn(`probe cleanup: ${String(e)}`));
    forget();
  }
}
