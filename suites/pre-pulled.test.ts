// Pre-pulled images: an image an admin placed in a node's containerd (ctr import, no kubelet) runs
// for IfNotPresent and Never with no credentials at all where the node's declared KEP-2535 policy
// does not re-verify it (upstream's default, NeverVerifyPreloadedImages), Always still goes to the
// registry, Never fails on a node that lacks it, and an image kubelet pulled with a Secret is
// governed by KEP-2535. Every expectation comes from the declared posture (preloadedImageUse).
import {
  claim,
  defineSuite,
  EventReason,
  echoImage,
  hostPlatform,
  type Image,
  kubeletArgv,
  kubeletPulledImageReuse,
  nodeHasImage,
  nodeRuntime,
  type PodVerdict,
  type PushedTestImage,
  platformString,
  preloadedImageUse,
  preloadImage,
  pullRecordUnderPulledRef,
  readPullHistory,
  rootDirOf,
  type ScenarioContext,
  UNAUTHORIZED,
  type VerificationExpectation,
} from '../helpers/framework/harness.ts';

export const suite = defineSuite({
  name: 'pre-pulled',
  registries: [{ name: 'private', auth: 'htpasswd' }],
});

/**
 * A fresh image in the private registry, nowhere else yet. Removed from `cleanupNodes` afterwards.
 * Built here rather than with s.image: preloading needs the image itself.
 */
async function pushedImage(s: ScenarioContext, cleanupNodes: readonly string[]): Promise<PushedTestImage & { image: Image }> {
  const test = await echoImage(hostPlatform(), s.env.logger);
  const pushed = await s.push(s.env.registry('private'), test.image);
  // Registered before anything reaches a node, so that a half-done import or pull is undone too.
  for (const node of cleanupNodes) s.removeImageAtEnd(node, pushed.ref);
  return { ...pushed, buildId: test.buildId, platform: platformString(hostPlatform()), image: test.image };
}

/**
 * Pushed, and imported on `node` as an admin would: the node has it, kubelet never pulled it. What
 * a pod ran is checked without the digest: an imported image has no repo digest on the node, so a
 * pod's imageID is not the registry's.
 */
async function preloadedImage(s: ScenarioContext, node: string): Promise<{ ref: string; buildId: string; platform: string }> {
  const img = await pushedImage(s, [node]);
  await s.env.logger.phase(`[${s.id}] [${node}] PRELOAD ${img.ref}`, () =>
    preloadImage({ nodes: s.env.cluster.nodes, node, ref: img.ref, image: img.image, runtime: nodeRuntime(s.env.posture) }),
  );
  return { ref: img.ref, buildId: img.buildId, platform: img.platform };
}

/**
 * A pod without credentials asked for a preloaded image on its node: it ran it without a pull, or,
 * where the declared policy re-verifies preloaded images, IfNotPresent pulled anonymously and was
 * refused and Never was refused outright (kubelet's ErrImageNeverPull: it may not pull).
 */
async function expectPreloadedUse(
  s: ScenarioContext,
  verdict: PodVerdict,
  img: { ref: string; buildId: string; platform: string },
  e: VerificationExpectation,
): Promise<void> {
  const never = verdict.pod.spec?.containers[0]?.imagePullPolicy === 'Never';
  if (e.outcome === 'runs-without-pull') {
    await s.expectRan(verdict, img);
    await s.expectNoPull(verdict);
  } else if (never) {
    await s.expectNeverPullRefused(verdict);
  } else {
    await s.expectPullFailure(verdict, UNAUTHORIZED);
    await s.waitForEvent(verdict.pod.metadata?.name ?? '', EventReason.Pulling, /Pulling image/);
  }
}

/** The declared rule for a preloaded image on `node`, recorded (for a Never pod: kubelet may not pull, it refuses). */
function preloadedRule(s: ScenarioContext, node: string, ref: string, policy: 'IfNotPresent' | 'Never'): VerificationExpectation {
  const e = preloadedImageUse(s.env.posture, node, ref);
  const never =
    policy === 'Never' && e.outcome === 'pull-fails'
      ? '; with Never kubelet may not pull, so it refuses the pod with ErrImageNeverPull instead'
      : '';
  s.rule(`[${node}] ${e.rule}${never}`);
  return e;
}

suite.section('pre-pulled: images a node already has', () => {
  suite.scenario(
    'ifnotpresent-runs-without-credentials',
    "an image imported into the node's containerd runs with IfNotPresent and no imagePullSecrets, without a pull, where the node's declared KEP-2535 policy does not re-verify preloaded images (else the anonymous pull is refused)",
    { needs: ['node-access', 'worker'] },
    async (s) => {
      s.skipIfAlwaysPullImages('an IfNotPresent pod running a preloaded image');
      const node = s.worker(0);
      const img = await preloadedImage(s, node);
      const expected = preloadedRule(s, node, img.ref, 'IfNotPresent');
      const verdict = await s.runPod({ name: 'ifnotpresent', image: img.ref, pullPolicy: 'IfNotPresent', nodeName: node });
      await expectPreloadedUse(s, verdict, img, expected);
    },
  );

  suite.scenario(
    'never-runs-without-credentials',
    "an image imported into the node's containerd runs with Never and no imagePullSecrets, without a pull, where the node's declared KEP-2535 policy does not re-verify preloaded images (else ErrImageNeverPull)",
    { needs: ['node-access', 'worker'] },
    async (s) => {
      s.skipIfAlwaysPullImages('a Never pod running a preloaded image');
      const node = s.worker(0);
      const img = await preloadedImage(s, node);
      const expected = preloadedRule(s, node, img.ref, 'Never');
      const verdict = await s.runPod({ name: 'never', image: img.ref, pullPolicy: 'Never', nodeName: node });
      await expectPreloadedUse(s, verdict, img, expected);
    },
  );

  suite.scenario(
    'always-needs-credentials',
    'with Always the node goes to the registry even though it has the image: no credentials, ErrImagePull, unauthorized',
    { needs: ['node-access', 'worker'] },
    async (s) => {
      const node = s.worker(0);
      const img = await preloadedImage(s, node);
      const verdict = await s.runPod({ name: 'always', image: img.ref, pullPolicy: 'Always', nodeName: node });
      await s.expectPullFailure(verdict, UNAUTHORIZED);
      await s.waitForEvent('always', EventReason.Pulling, /Pulling image/);
      // The failed pull leaves the admin's copy where it was.
      claim(
        await nodeHasImage(s.env.cluster.nodes, node, img.ref),
        `a failed Always pull must leave the image a node has: ${img.ref}, imported on ${node}, should still be there, but crictl inspecti no longer finds it`,
      );
    },
  );

  suite.scenario(
    'only-on-some-nodes',
    "an image pre-loaded on one worker runs there with Never (as that node's declared KEP-2535 policy allows); a Never pod pinned to the other worker fails with ErrImageNeverPull",
    { needs: ['node-access', 'two-workers'] },
    async (s) => {
      s.skipIfAlwaysPullImages('Never pods on a node with and without the image');
      const loaded = s.worker(0);
      const other = s.worker(1);
      const img = await preloadedImage(s, loaded);
      claim(
        !(await nodeHasImage(s.env.cluster.nodes, other, img.ref)),
        `test setup: ${img.ref}, imported on ${loaded} only, should not be on ${other}, but crictl inspecti finds it there`,
      );
      const expected = preloadedRule(s, loaded, img.ref, 'Never');
      await expectPreloadedUse(
        s,
        await s.runPod({ name: 'on-loaded', image: img.ref, pullPolicy: 'Never', nodeName: loaded }),
        img,
        expected,
      );
      await s.expectNeverPullRefused(await s.runPod({ name: 'on-other', image: img.ref, pullPolicy: 'Never', nodeName: other }));
    },
  );

  suite.scenario(
    'kubelet-pulled-image-needs-credentials',
    "an image kubelet pulled with a Secret is reused by a pod without one only as KEP-2535's gate and policy on that node allow",
    { needs: ['node-access', 'worker'] },
    async (s) => {
      const node = s.worker(0);
      const img = await pushedImage(s, [node]);
      const secret = await s.pullSecret(s.env.registry('private'));
      // Kubelet pulls this one, so the pods' imageID carries the registry's digest.
      await s.expectRan(
        await s.runPod({ name: 'with-secret', image: img.ref, pullPolicy: 'IfNotPresent', nodeName: node, imagePullSecrets: [secret] }),
        img,
      );
      await s.waitForEvent('with-secret', EventReason.Pulled, /Successfully pulled image/);
      // KEP-2535 looks its record up under the image's CRI ID: none there and the image counts as preloaded.
      const { nodes } = s.env.cluster;
      const rootDir = rootDirOf(await kubeletArgv(nodes, node));
      const { history } = await readPullHistory(nodes, node, rootDir, img.ref);
      s.observe('pull record under the image ID', [history.kind === 'record' ? 'present' : 'none']);
      const elsewhere =
        history.kind === 'no-record' ? await pullRecordUnderPulledRef(nodes, node, rootDir, img.ref, img.digest) : undefined;
      if (elsewhere) s.observe('pull record under the pulled ref', [elsewhere.path]);

      const expected = kubeletPulledImageReuse(s.env.posture, node, img.ref);
      s.rule(`[${node}] ${expected.rule}`);
      const verdict = await s.runPod({ name: 'without-secret', image: img.ref, pullPolicy: 'IfNotPresent', nodeName: node });
      if (expected.needsCredentials) {
        await s.expectPullFailure(verdict, UNAUTHORIZED);
      } else {
        // The leak the Kubernetes docs warn about: the image is used without any credential check.
        await s.expectRan(verdict, img);
        await s.expectNoPull(verdict);
      }
    },
  );
});
