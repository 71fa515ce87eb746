// Pre-pulled images: an image an admin placed in a node's containerd (ctr import, no kubelet) runs
// for IfNotPresent and Never with no credentials at all, Always still goes to the registry, Never
// fails on a node that lacks it, and an image kubelet pulled with a Secret is governed by KEP-2535.
import { type ScenarioContext, scenario, useEnv } from '../helpers/framework/harness.ts';
import type { Image } from '../helpers/images/oci.ts';
import { echoImage, platformString } from '../helpers/images/testimages.ts';
import { kubeletPulledImageExpectation, readKubeletPullSettings } from '../helpers/kubelet/kep2535.ts';
import { hostPlatform } from '../helpers/images/oci.ts';
import { EventReason, podEvents, WaitingReason, waitForEvent, UNAUTHORIZED } from '../helpers/framework/pods.ts';
import { nodeHasImage, preloadImage, removeNodeImage } from '../helpers/node/preload.ts';
import { dockerConfigJsonSecret } from '../helpers/registry/secrets.ts';

const getEnv = useEnv({ suite: 'pre-pulled', registries: [{ name: 'private', auth: 'htpasswd' }] });

interface TestRef {
  ref: string;
  digest: string;
  buildId: string;
}

/** A fresh image in the private registry, nowhere else yet. Removed from `cleanupNodes` afterwards. */
async function pushedImage(s: ScenarioContext, cleanupNodes: readonly string[]): Promise<TestRef & { image: Image }> {
  const test = await echoImage(hostPlatform(), s.env.logger);
  const pushed = await s.push(s.env.registry('private'), test.image);
  // Registered before anything reaches a node, so that a half-done import or pull is undone too.
  for (const node of cleanupNodes) s.defer(() => removeNodeImage(s.env.cluster.nodes, node, pushed.ref));
  return { ref: pushed.ref, digest: pushed.digest, buildId: test.buildId, image: test.image };
}

/** Pushed, and imported on `node` as an admin would: the node has it, kubelet never pulled it. */
async function preloadedImage(s: ScenarioContext, node: string): Promise<TestRef> {
  const img = await pushedImage(s, [node]);
  await s.env.logger.phase(`[${s.id}] [${node}] PRELOAD ${img.ref}`, () => preloadImage({ nodes: s.env.cluster.nodes, node, ref: img.ref, image: img.image }));
  expect(await nodeHasImage(s.env.cluster.nodes, node, img.ref)).toBe(true);
  return img;
}


/** The kubelet took the image on the node: a `Pulled` "already present" event and no `Pulling`. */
async function expectNoPull(s: ScenarioContext, pod: string): Promise<void> {
  // Pulled is recorded where Pulling would have been, so once it is there a Pulling would be too.
  await waitForEvent(s.env.cluster.kube, s.namespace, pod, EventReason.Pulled, /already present on machine/);
  const reasons = (await podEvents(s.env.cluster.kube, s.namespace, pod)).map((e) => e.reason);
  expect(reasons).not.toContain(EventReason.Pulling);
}


describe('pre-pulled: images a node already has', () => {
  scenario(getEnv, 'pre-pulled/ifnotpresent-runs-without-credentials', 'an image imported into the node\'s containerd runs with IfNotPresent and no imagePullSecrets, without a pull', async (s) => {
    const [node = ''] = s.workers();
    const img = await preloadedImage(s, node);
    const verdict = await s.runPod({ name: 'ifnotpresent', image: img.ref, pullPolicy: 'IfNotPresent', nodeName: node });
    await s.expectRan(verdict, { buildId: img.buildId, platform: platformString(hostPlatform()) });
    await expectNoPull(s, 'ifnotpresent');
  });

  scenario(getEnv, 'pre-pulled/never-runs-without-credentials', 'an image imported into the node\'s containerd runs with Never and no imagePullSecrets, without a pull', async (s) => {
    const [node = ''] = s.workers();
    const img = await preloadedImage(s, node);
    const verdict = await s.runPod({ name: 'never', image: img.ref, pullPolicy: 'Never', nodeName: node });
    await s.expectRan(verdict, { buildId: img.buildId, platform: platformString(hostPlatform()) });
    await expectNoPull(s, 'never');
  });

  scenario(getEnv, 'pre-pulled/always-needs-credentials', 'with Always the node goes to the registry even though it has the image: no credentials, ErrImagePull, unauthorized', async (s) => {
    const [node = ''] = s.workers();
    const img = await preloadedImage(s, node);
    const verdict = await s.runPod({ name: 'always', image: img.ref, pullPolicy: 'Always', nodeName: node });
    await s.expectPullFailure(verdict, UNAUTHORIZED);
    await waitForEvent(s.env.cluster.kube, s.namespace, 'always', EventReason.Pulling, /Pulling image/);
    // The failed pull leaves the admin's copy where it was.
    expect(await nodeHasImage(s.env.cluster.nodes, node, img.ref)).toBe(true);
  });

  scenario(getEnv, 'pre-pulled/only-on-some-nodes', 'an image pre-loaded on one worker runs there with Never; a Never pod pinned to the other worker fails with ErrImageNeverPull', async (s) => {
    const workers = s.workers();
    const [loaded = '', other = ''] = workers;
    expect(workers.length).toBeGreaterThanOrEqual(2);
    const img = await preloadedImage(s, loaded);
    expect(await nodeHasImage(s.env.cluster.nodes, other, img.ref)).toBe(false);
    await s.expectRan(await s.runPod({ name: 'on-loaded', image: img.ref, pullPolicy: 'Never', nodeName: loaded }), { buildId: img.buildId, platform: platformString(hostPlatform()) });
    const verdict = await s.runPod({ name: 'on-other', image: img.ref, pullPolicy: 'Never', nodeName: other });
    expect(verdict.kind).toBe('pull-failed');
    if (verdict.kind !== 'pull-failed') return;
    expect(verdict.reason).toBe(WaitingReason.ErrImageNeverPull);
    const event = await waitForEvent(s.env.cluster.kube, s.namespace, 'on-other', EventReason.ErrImageNeverPull, /is not present with pull policy of Never/);
    expect(event.message).toContain(img.ref);
  });

  scenario(getEnv, 'pre-pulled/kubelet-pulled-image-needs-credentials', 'an image kubelet pulled with a Secret is reused by a pod without one only as KEP-2535\'s gate and policy on that node allow', async (s) => {
    const [node = ''] = s.workers();
    const img = await pushedImage(s, [node]);
    const registry = s.env.registry('private');
    await s.env.cluster.kube.core.createNamespacedSecret({
      namespace: s.namespace,
      body: dockerConfigJsonSecret('regcred', s.namespace, [{ server: registry.host, username: registry.username ?? '', password: registry.password ?? '' }]),
    });
    await s.expectRan(await s.runPod({ name: 'with-secret', image: img.ref, pullPolicy: 'IfNotPresent', nodeName: node, imagePullSecrets: ['regcred'] }), { buildId: img.buildId, platform: platformString(hostPlatform()) });
    await waitForEvent(s.env.cluster.kube, s.namespace, 'with-secret', EventReason.Pulled, /Successfully pulled image/);

    const expected = kubeletPulledImageExpectation(await readKubeletPullSettings(s.env.cluster.kube, node), img.ref);
    s.rule(`[${node}] KEP-2535: ${expected.rule}`);
    const verdict = await s.runPod({ name: 'without-secret', image: img.ref, pullPolicy: 'IfNotPresent', nodeName: node });
    if (expected.needsCredentials) {
      await s.expectPullFailure(verdict, UNAUTHORIZED);
    } else {
      // The leak the Kubernetes docs warn about: the image is used without any credential check.
      await s.expectRan(verdict, { buildId: img.buildId, platform: platformString(hostPlatform()) });
      await expectNoPull(s, 'without-secret');
    }
  });
});
