// imagePullPolicy as the Kubernetes "Images" page describes it: what the API server defaults, and
// what each policy makes a node do when the image is, or is not, already there and when its tag moves.
import { claim, defineSuite, EventReason, podWhere, type PushedImage, type ScenarioContext } from '../helpers/framework/harness.ts';
import { echoImage, platformString } from '../helpers/images/testimages.ts';
import { hostPlatform } from '../helpers/images/oci.ts';
import { manifestRequests, type AccessEntry } from '../helpers/registry/accesslog.ts';

export const suite = defineSuite({
  name: 'pull-policy',
  registries: [{ name: 'public', auth: 'none' }],
});

suite.section('pull-policy: what the API server defaults', () => {
  // The rule (Kubernetes docs, "Images"): no tag or :latest → Always; any other tag or a digest → IfNotPresent.
  const cases: [name: string, title: string, ref: (p: PushedImage, host: string) => string, policy: string][] = [
    ['default-tag-ifnotpresent', 'an image with a tag other than latest defaults to IfNotPresent', (p) => p.ref, 'IfNotPresent'],
    ['default-latest-always', 'an image tagged :latest defaults to Always', (p, host) => `${host}/${p.repository}:latest`, 'Always'],
    ['default-no-tag-always', 'an image without a tag (so :latest) defaults to Always', (p, host) => `${host}/${p.repository}`, 'Always'],
    [
      'default-digest-ifnotpresent',
      'an image by digest defaults to IfNotPresent',
      (p, host) => `${host}/${p.repository}@${p.digest}`,
      'IfNotPresent',
    ],
  ];
  for (const [name, title, ref, policy] of cases) {
    suite.scenario(name, title, async (s) => {
      // With AlwaysPullImages declared, the plugin overrides the default: the page's rule for it.
      const expected = s.env.posture.admission.alwaysPullImages ? 'Always' : policy;
      if (expected !== policy)
        s.rule(
          `AlwaysPullImages (${s.env.posture.sources.admission}): the API server sets Always, whatever the default would be (${policy})`,
        );
      const registry = s.env.registry('public');
      // Built here rather than with s.image: its manifest is put under :latest as well.
      const test = await echoImage(hostPlatform(), s.env.logger);
      const pushed = await s.push(registry, test.image);
      await registry.client.putManifest(pushed.repository, 'latest', test.image.manifest, test.image.manifestMediaType);
      const image = ref(pushed, registry.host);
      const created = await s.createPod({ name: 'defaulted', image });
      const admitted = created.spec?.containers[0]?.imagePullPolicy;
      if (admitted !== expected)
        throw new Error(
          `${title}: the API server admitted ${image} with imagePullPolicy ${admitted}, not ${expected} (posture: AlwaysPullImages ${s.env.posture.admission.alwaysPullImages ? 'on' : 'off'}, ${s.env.posture.sources.admission})`,
        );
      // And the defaulted pod really runs that image.
      await s.expectRan(await s.runPod({ name: 'runs', image }), {
        ...pushed,
        buildId: test.buildId,
        platform: platformString(hostPlatform()),
      });
    });
  }
});

/** The registry's access log (where readable) shows no manifest request for the image since the moment that matters. */
function expectNoManifestRequests(requests: readonly AccessEntry[] | undefined, ref: string, rule: string): void {
  if (requests && requests.length > 0)
    throw new Error(
      `${rule}, but the registry's access log shows ${requests.length} manifest request(s) for ${ref}: ${requests.map((e) => `${e.method} ${e.uri} ${e.status}`).join('; ')}`,
    );
}

/** Runs the image once on a worker, moves the tag to a new image, runs it again on the same worker. */
async function runMoveRun(s: ScenarioContext, policy: 'IfNotPresent' | 'Always') {
  const registry = s.env.registry('public');
  const node = s.worker(0);
  const v1 = await s.image(registry);
  await s.expectRan(await s.runPod({ name: 'first', image: v1.ref, pullPolicy: policy, nodeName: node }), v1);
  const movedAt = new Date();
  const v2 = await s.image(registry, { repository: v1.repository, tag: v1.tag });
  claim(
    v2.digest !== v1.digest,
    `test setup: the image pushed to move ${v1.ref} must differ from the first (a new build id), but both are ${v1.digest}`,
  );
  const again = await s.runPod({ name: 'again', image: v1.ref, pullPolicy: policy, nodeName: node });
  const log = await s.accessLogIfReadable(registry);
  const requests = log ? manifestRequests(log, v1.repository, movedAt) : undefined;
  return { v1, v2, again, requests };
}

suite.section('pull-policy: cached images and moving tags', () => {
  suite.scenario(
    'ifnotpresent-keeps-cached',
    'IfNotPresent runs the cached image after its tag moved: old digest, no Pulling event, no manifest request',
    { capabilities: ['tag-moves'], needs: ['worker'] },
    async (s) => {
      s.skipIfAlwaysPullImages('an IfNotPresent pod keeping the cached image');
      const r = await runMoveRun(s, 'IfNotPresent');
      await s.expectRan(r.again, r.v1);
      await s.expectNoPull(r.again);
      expectNoManifestRequests(r.requests, r.v1.ref, 'IfNotPresent must use the image the node has');
    },
  );

  suite.scenario(
    'always-repulls-moved-tag',
    'Always resolves the tag again after it moved: the new digest runs',
    { capabilities: ['tag-moves'], needs: ['worker'] },
    async (s) => {
      const r = await runMoveRun(s, 'Always');
      await s.expectRan(r.again, r.v2);
      const reasons = (await s.events('again')).map((e) => e.reason);
      claim(
        reasons.includes(EventReason.Pulling),
        () =>
          `Always must pull again after the tag moved: ${podWhere(r.again.pod)} should have a Pulling event for ${r.v1.ref}, but its events are ${reasons.join(', ') || '(none)'}`,
      );
      claim(
        r.requests === undefined || r.requests.length > 0,
        `Always must resolve the moved tag at the registry: the access log of ${s.env.registry('public').host} should show a manifest request for ${r.v1.ref} since the tag moved, but shows none`,
      );
    },
  );
});

suite.section('pull-policy: Never and missing images', () => {
  suite.scenario(
    'never-uses-local',
    'Never runs an image already on the node without contacting the registry',
    { needs: ['worker'] },
    async (s) => {
      s.skipIfAlwaysPullImages('a Never pod running the local image');
      const registry = s.env.registry('public');
      const node = s.worker(0);
      const image = await s.image(registry);
      await s.expectRan(await s.runPod({ name: 'warm', image: image.ref, pullPolicy: 'IfNotPresent', nodeName: node }), image);
      const before = new Date();
      const never = await s.runPod({ name: 'never', image: image.ref, pullPolicy: 'Never', nodeName: node });
      await s.expectRan(never, image);
      await s.expectNoPull(never);
      const log = await s.accessLogIfReadable(registry);
      expectNoManifestRequests(
        log ? manifestRequests(log, image.repository, before) : undefined,
        image.ref,
        'Never must not contact the registry',
      );
    },
  );

  suite.scenario(
    'never-missing-fails',
    'Never with an image not on the node fails with ErrImageNeverPull',
    { needs: ['two-workers'] },
    async (s) => {
      s.skipIfAlwaysPullImages('a Never pod refused for a missing image');
      const image = await s.image(s.env.registry('public'));
      await s.expectNeverPullRefused(await s.runPod({ name: 'never', image: image.ref, pullPolicy: 'Never', nodeName: s.worker(1) }));
    },
  );

  suite.scenario(
    'missing-tag-fails',
    'a tag the registry does not have fails with ErrImagePull and a not-found Failed event',
    async (s) => {
      const registry = s.env.registry('public');
      const image = await s.image(registry);
      const missing = registry.ref(image.repository, `${image.tag}-missing`);
      const verdict = await s.runPod({ name: 'missing', image: missing, pullPolicy: 'IfNotPresent' });
      await s.expectPullFailure(verdict, /not found/);
    },
  );
});
