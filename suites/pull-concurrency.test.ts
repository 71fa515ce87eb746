// Serial and parallel image pulls (the English page's "Serial and parallel image pulls"): by default
// (serializeImagePulls true) kubelet sends one image pull request to the runtime at a time; with
// serializeImagePulls false it pulls images for different pods at once, at most maxParallelImagePulls.
//
// Several pods, each with its own image no node has, are created on one node at once. The images
// come from a registry that redirects blob downloads to pullcheck's blob host, slowed so that every
// download lasts BLOB_DELAY_MS: each pull then lasts seconds, and the blob host's log (each request's
// start and end) shows which pulls ran at the same time. The expected overlap comes from the kubelet
// settings the node is declared with (serial), or that the parallel group sets on one worker (and
// undoes): never from what the node does. The node's configz only checks the settings are in force.
import {
  type BlobHostView,
  blobDataPath,
  declaredImagePulls,
  defineSuite,
  describeImagePulls,
  describeIntervals,
  echoImage,
  hostPlatform,
  type ImagePullSettings,
  imagePullMismatch,
  imagePullRule,
  type KubeletConfigPlan,
  kubeletVersionMismatch,
  kubeletVersionOf,
  maxOverlap,
  parallelPullsPatch,
  platformString,
  pullConcurrencyLimit,
  pullIntervals,
  type RunEnv,
  readClusterShape,
  readImagePullSettings,
  type ScenarioContext,
  type TestRegistry,
  useKubeletConfigChange,
} from '../helpers/framework/harness.ts';

const SUITE = 'pull-concurrency';
/** How long the blob host waits before answering each GET: long enough to see overlap, short enough for a quick scenario. */
const BLOB_DELAY_MS = 2500;
/** Pods (each its own image) created on the node at once: one more than the parallel limit, so that the limit shows. */
const PODS = 3;
/** The limit the parallel group sets. */
const MAX_PARALLEL = 2;

export const suite = defineSuite({
  name: SUITE,
  registries: [{ name: 'slow', auth: 'none', redirectBlobs: true, blobDelayMs: BLOB_DELAY_MS }],
  nodes: 'locked',
  home: 'explicit',
});

/** The slow registry and its blob host: what the pulls' overlap is read from. */
function slowRegistry(s: ScenarioContext): { registry: TestRegistry; blobHost: BlobHostView } {
  const registry = s.env.registry('slow');
  const blobHost = registry.blobHost;
  if (!blobHost) return s.skip(`registry slow (${registry.host}) redirects no blob to a host of its own`);
  s.collect(
    'blob-host-log',
    async () => `=== ${blobHost.host}: its log (last 40 lines)\n${(await blobHost.logs()).split('\n').slice(-40).join('\n')}`,
  );
  return { registry, blobHost };
}

function minorOf(version: string): number {
  return Number(/^v?1\.(\d+)/.exec(version)?.[1] ?? 0);
}

/**
 * PODS pods, each with an image of its own, created on `node` at once; each must run its image (build
 * marker and digest). Their pulls' overlap, read from the blob host's log, must be what `settings` allow.
 */
async function pullAtOnce(s: ScenarioContext, node: string, settings: ImagePullSettings, observed: string): Promise<void> {
  const { registry, blobHost } = slowRegistry(s);
  const limit = pullConcurrencyLimit(settings);
  const expected = Math.min(limit ?? PODS, PODS);
  s.rule(
    `[${s.nodeRole(node)}] ${imagePullRule(settings)}: of ${PODS} pulls asked for at once, ${expected === 1 ? 'one runs at a time' : `${expected} run at the same time, never more`}`,
  );
  // Each its own build: its config and build-id layer are blobs no node has.
  const images = await Promise.all(
    Array.from({ length: PODS }, async (_, i) => {
      const test = await echoImage(hostPlatform(), s.env.logger);
      const pushed = await s.push(registry, test.image);
      s.removeImageAtEnd(node, pushed.ref);
      const buildIdLayer = test.image.layers.at(-1);
      if (!buildIdLayer) throw new Error('the test image has no layers');
      return { name: `pull-${i + 1}`, test, pushed, paths: [test.image.config.digest, buildIdLayer.digest].map(blobDataPath) };
    }),
  );
  const since = new Date(Date.now() - 1000);
  const verdicts = await Promise.all(
    images.map((im) => s.runPod({ name: im.name, image: im.pushed.ref, pullPolicy: 'IfNotPresent', nodeName: node }, 180_000)),
  );
  for (const [i, im] of images.entries()) {
    const verdict = verdicts[i];
    if (!verdict) throw new Error(`no verdict for pod ${im.name}`);
    await s.expectRan(verdict, { buildId: im.test.buildId, digest: im.pushed.digest, platform: platformString(im.test.platform) });
  }

  const { intervals, missing } = pullIntervals(
    await blobHost.accessLog(),
    images.map((im) => ({ image: im.name, paths: im.paths })),
    since,
  );
  if (missing.length > 0)
    throw new Error(
      `the blob host ${blobHost.host} logged no download (with its start) of the own blobs of ${missing.join(', ')} since the pods were created, though each ran an image no node had`,
    );
  // The slow host is what makes overlap measurable: every pull must have waited for it.
  const short = intervals.filter((iv) => iv.end - iv.start < BLOB_DELAY_MS - 100);
  if (short.length > 0)
    throw new Error(
      `the blob host answers every GET after ${BLOB_DELAY_MS} ms, but ${short.map((iv) => `${iv.image}'s downloads lasted ${iv.end - iv.start} ms`).join(', ')}`,
    );
  const overlap = maxOverlap(intervals);
  s.env.logger.info(`[${s.id}] [${node}] PULLS ${describeIntervals(intervals)}: at most ${overlap.max} at once`);
  s.observe('image pulls', [`max overlap ${overlap.max} of ${PODS} pulls${observed}`]);
  if (overlap.max !== expected) {
    const what =
      overlap.max > expected
        ? `${overlap.max} pulls ran at once (${overlap.images.join(', ')})`
        : `only ${overlap.max} ran at once, though all ${PODS} pods were created together and each pull lasted over ${BLOB_DELAY_MS / 1000}s`;
    throw new Error(
      `kubelet on ${node} runs with ${describeImagePulls(settings)}, so ${expected === 1 ? 'no two pulls may overlap' : `${expected} pulls should overlap and never more`}, but ${what}; the blob host's downloads per pod (from the first request): ${describeIntervals(intervals)}`,
    );
  }
}

/** The settings must be the ones kubelet runs with now (configz), else the scenario says what it runs. */
async function assertInForce(s: ScenarioContext, node: string, want: ImagePullSettings): Promise<void> {
  const line = imagePullMismatch(await readImagePullSettings(s.env.cluster.kube, node), want);
  if (line) throw new Error(`kubelet on ${node} does not pull images as this scenario expects: ${line}`);
}

suite.section(`${SUITE}: serializeImagePulls as declared (upstream's default: true)`, () => {
  suite.scenario(
    'serial-pulls-one-at-a-time',
    `serializeImagePulls true (upstream's default): ${PODS} pods created at once on one node, each with an image no node has; their pulls never overlap`,
    { needs: ['worker', 'node-access'], timeoutMs: 300_000 },
    async (s) => {
      const node = await s.freeWorker();
      const declared = declaredImagePulls(s.env.posture, node);
      if (!declared.serializeImagePulls)
        s.skipDeclared(
          `${node} is declared with ${describeImagePulls(declared)} (${s.env.posture.sources.kubelet}): its pulls are not serial; ${SUITE}/parallel-pulls-overlap-up-to-max shows a limit`,
          ['kubelet'],
        );
      await assertInForce(s, node, declared);
      await pullAtOnce(s, node, declared, '');
    },
  );
});

/** One worker, switched to parallel pulls with a limit (kubelet refuses maxParallelImagePulls before v1.27). */
async function planParallel(env: RunEnv, lockFree: (candidates: readonly string[]) => Promise<string>): Promise<KubeletConfigPlan> {
  const workers = (await readClusterShape(env.cluster.kube)).workers;
  if (workers.length === 0)
    return { skip: 'the cluster has no worker to change (a node without a node-role.kubernetes.io/control-plane label)', declared: true };
  const node = await lockFree(workers);
  const declared = kubeletVersionOf(env.posture, node);
  if (minorOf(declared) < 27)
    return {
      skip: `kubelet ${declared} is declared on ${node} (${env.posture.sources.kubelet}): maxParallelImagePulls came in v1.27`,
      declared: true,
      rests: ['kubelet'],
    };
  const reported = (await env.cluster.kube.core.readNode({ name: node })).status?.nodeInfo?.kubeletVersion ?? '(none reported)';
  const mismatch = kubeletVersionMismatch(env.posture, node, reported);
  if (mismatch) return { skip: `posture: ${mismatch}` };
  return { node, patch: parallelPullsPatch(MAX_PARALLEL), note: `parallel image pulls, at most ${MAX_PARALLEL} at once` };
}

suite.section(`${SUITE}: serializeImagePulls false, maxParallelImagePulls ${MAX_PARALLEL} on one worker`, () => {
  const group = `${SUITE}/parallel`;
  const kubelet = useKubeletConfigChange(suite, group, (env, _lock, lockFree) => planParallel(env, lockFree));
  suite.scenario(
    'parallel-pulls-overlap-up-to-max',
    `serializeImagePulls false, maxParallelImagePulls ${MAX_PARALLEL}: ${PODS} pods created at once on one node, each with an image no node has; ${MAX_PARALLEL} pulls overlap, never more`,
    { needs: ['worker', 'node-access'], timeoutMs: 300_000 },
    async (s) => {
      const { node } = kubelet.ready(s);
      const settings: ImagePullSettings = { serializeImagePulls: false, maxParallelImagePulls: MAX_PARALLEL };
      await assertInForce(s, node, settings);
      await pullAtOnce(s, node, settings, ` with maxParallelImagePulls ${MAX_PARALLEL}`);
    },
  );
});
