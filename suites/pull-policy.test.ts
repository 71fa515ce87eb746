// imagePullPolicy as the Kubernetes "Images" page describes it: what the API server defaults, and
// what each policy makes a node do when the image is, or is not, already there and when its tag moves.
import { AppsV1Api, PatchStrategy, setHeaderOptions, type V1Pod, type V1ReplicaSet } from '@kubernetes/client-node';
import {
  type AccessEntry,
  backOffDelay,
  backOffProblems,
  claim,
  defineSuite,
  describePod,
  EventReason,
  echoImage,
  hostPlatform,
  IMAGE_BACK_OFF,
  managedLabels,
  manifestRequests,
  NOT_FOUND,
  type PushedImage,
  platformString,
  podWhere,
  pullAttempts,
  type ScenarioContext,
  underPrefix,
  verdictOf,
  WaitingReason,
  waitFor,
  waitForPodWhere,
} from '../helpers/framework/harness.ts';

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
      // containerd's "…: not found", CRI-O's "reading manifest … : manifest unknown" (NOT_FOUND's wordings).
      await s.expectPullFailure(verdict, NOT_FOUND);
    },
  );
});

suite.section('pull-policy: a reference with both a tag and a digest', () => {
  suite.scenario(
    'tag-and-digest-digest-decides',
    'name:tag@sha256:… runs the digest, not what the tag points at now: admitted IfNotPresent (a digest, not :latest), the node resolves the digest and never asks for the tag',
    { capabilities: ['tag-moves'] },
    async (s) => {
      const registry = s.env.registry('public');
      const first = await s.image(registry);
      const moved = await s.image(registry, { repository: first.repository, tag: first.tag });
      claim(
        moved.digest !== first.digest,
        `test setup: the image pushed to move ${first.ref} must differ from the first (a new build id), but both are ${first.digest}`,
      );
      const image = `${first.ref}@${first.digest}`;
      const expected = s.env.posture.admission.alwaysPullImages ? 'Always' : 'IfNotPresent';
      s.rule(
        `the page: with a digest the image is fixed, whatever its tag points at (here ${first.tag} → ${moved.digest}); the API server defaults a reference that is not :latest to ${expected === 'Always' ? `IfNotPresent, which AlwaysPullImages (${s.env.posture.sources.admission}) makes Always` : 'IfNotPresent'}; containerd resolves a reference with a digest by the digest`,
      );
      const since = new Date();
      const verdict = await s.runPod({ name: 'tag-and-digest', image });
      const admitted = verdict.pod.spec?.containers[0]?.imagePullPolicy;
      claim(
        admitted === expected,
        `the API server must admit ${image} (a tag that is not latest, and a digest) with imagePullPolicy ${expected}, but admitted ${admitted}`,
      );
      await s.expectRan(verdict, first);
      const log = await s.accessLogIfReadable(registry);
      if (log) {
        const asked = manifestRequests(log, first.repository, since).map((e) => e.uri.slice(e.uri.lastIndexOf('/') + 1));
        claim(
          asked.length > 0 && asked.every((ref) => ref === first.digest),
          () =>
            `the node must resolve ${image} by its digest alone, but the access log of ${registry.host} shows manifest requests for ${asked.join(', ') || '(none)'}`,
        );
      }
    },
  );
});

suite.section('pull-policy: fixed when the object is created', () => {
  suite.scenario(
    'policy-fixed-at-creation',
    "the pull policy is set when an object is created and not when its image changes: a Deployment made with :v1 (IfNotPresent) keeps IfNotPresent after its image becomes :latest, in its template and its new ReplicaSet; a pod's image changed to :latest keeps IfNotPresent",
    async (s) => {
      const { kube } = s.env.cluster;
      const apps = kube.config.makeApiClient(AppsV1Api);
      const registry = s.env.registry('public');
      const test = await echoImage(hostPlatform(), s.env.logger);
      const v1 = await s.push(registry, test.image, { tag: 'v1' });
      await registry.client.putManifest(v1.repository, 'latest', test.image.manifest, test.image.manifestMediaType);
      const latest = registry.ref(v1.repository, 'latest');
      const tagged = s.env.posture.admission.alwaysPullImages ? 'Always' : 'IfNotPresent';
      s.rule(
        `the English page ("Image pull policy"): imagePullPolicy is set when the object is first created and not updated when its image's tag later changes; a tag that is not latest defaults to ${tagged === 'Always' ? `IfNotPresent, made Always by AlwaysPullImages (${s.env.posture.sources.admission})` : 'IfNotPresent'}`,
      );
      // replicas 0: the ReplicaSets (and their templates) exist; no pod of the echo image restarts for ever.
      const created = await apps.createNamespacedDeployment({
        namespace: s.namespace,
        body: {
          metadata: { name: 'fixed', labels: managedLabels() },
          spec: {
            replicas: 0,
            selector: { matchLabels: { app: 'fixed' } },
            template: { metadata: { labels: { app: 'fixed' } }, spec: { containers: [{ name: 'main', image: v1.ref }] } },
          },
        },
      });
      const policyOf = (spec: { containers: { imagePullPolicy?: string }[] } | undefined) =>
        spec?.containers[0]?.imagePullPolicy ?? '(none)';
      const atCreation = policyOf(created.spec?.template.spec);
      claim(atCreation === tagged, `a Deployment made with ${v1.ref} must be defaulted to ${tagged}, but its template has ${atCreation}`);
      const changed = await apps.patchNamespacedDeployment(
        { name: 'fixed', namespace: s.namespace, body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: latest }] },
        setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
      );
      const afterChange = policyOf(changed.spec?.template.spec);
      // The new ReplicaSet the controller makes for the new template.
      const newSet = await waitFor({
        kube,
        what: `a ReplicaSet of Deployment ${s.namespace}/fixed with image ${latest}`,
        path: `/apis/apps/v1/namespaces/${s.namespace}/replicasets`,
        timeoutMs: 60_000,
        list: async () => {
          const l = await apps.listNamespacedReplicaSet({ namespace: s.namespace });
          return { items: l.items, resourceVersion: l.metadata?.resourceVersion ?? '' };
        },
        until: (sets: V1ReplicaSet[]) => sets.find((r) => r.spec?.template?.spec?.containers[0]?.image === latest),
        describe: (r) => `${r.metadata?.name}: ${r.spec?.template?.spec?.containers[0]?.image}`,
      });
      const inNewSet = policyOf(newSet.spec?.template?.spec);
      // A pod: its image may change in place; its policy stays.
      const pod = await s.createPod({ name: 'fixed-pod', image: v1.ref });
      const patched = await kube.core.patchNamespacedPod(
        { name: 'fixed-pod', namespace: s.namespace, body: [{ op: 'replace', path: '/spec/containers/0/image', value: latest }] },
        setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
      );
      const podBefore = policyOf(pod.spec);
      const podAfter = policyOf(patched.spec);
      s.observe('deployment', [`created ${atCreation}`, `image :latest ${afterChange}`, `new ReplicaSet ${inNewSet}`]);
      s.observe('pod', [`created ${podBefore}`, `image :latest ${podAfter}`]);
      claim(
        afterChange === atCreation && inNewSet === atCreation && podAfter === podBefore,
        `the pull policy must stay what it was set to when the object was created (${tagged}) after its image becomes ${latest} (the page: "not updated if the image's tag or digest later changes"), but the Deployment's template has ${afterChange}, its new ReplicaSet ${newSet.metadata?.name} ${inNewSet}, and the pod ${podAfter}`,
      );
    },
  );
});

suite.section('pull-policy: back-off after a failed pull', () => {
  suite.scenario(
    'back-off-then-recovers-when-pushed',
    "a pull of an image not yet pushed fails (ErrImagePull, not found), the pod waits in ImagePullBackOff with kubelet's BackOff event, the registry sees retries at least 10 s then 20 s apart (doubling), and the pod runs the image pushed late without anyone touching it",
    { needs: ['access-log'], timeoutMs: 300_000 },
    async (s) => {
      const { kube } = s.env.cluster;
      const registry = s.env.registry('public');
      const test = await echoImage(hostPlatform(), s.env.logger);
      const repository = underPrefix(registry, s.uniqueRepository());
      const tag = s.uniqueTag();
      const ref = registry.ref(repository, tag);
      s.rule(
        `the English page ("ImagePullBackOff"): kubelet retries with a growing delay, up to 300 s; kubelet v1.37: ${IMAGE_BACK_OFF.initialMs / 1000} s doubling per image and pod, each retry at the first pod sync after the wait`,
      );
      const since = new Date();
      const created = await s.createPod({ name: 'late', image: ref, pullPolicy: 'IfNotPresent', nodeName: s.worker(0) });
      const pod = (what: string, until: (p: V1Pod) => boolean) => waitForPodWhere(kube, s.namespace, 'late', what, until);
      const backingOff = await pod(
        'to wait in ImagePullBackOff',
        (p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason === WaitingReason.ImagePullBackOff,
      );
      const failed = verdictOf(backingOff);
      if (failed?.kind !== 'pull-failed') throw new Error(`pod late should be waiting in ImagePullBackOff: ${describePod(backingOff)}`);
      await s.expectPullFailure(failed, NOT_FOUND);
      await s.waitForEvent('late', EventReason.BackOff, /Back-off pulling image/);
      // Two failed attempts (the second after the first wait), then the image appears.
      const attempts = async () => pullAttempts((await s.accessLog(registry)) ?? [], repository, since);
      const deadline = Date.now() + 90_000;
      while ((await attempts()).length < 2) {
        if (Date.now() > deadline)
          throw new Error(
            `the registry ${registry.host} should have seen a second pull of ${ref} within 90 s (a back-off of 10 s), but saw ${(await attempts()).length}`,
          );
        await new Promise((r) => setTimeout(r, 1_000));
      }
      const pushed = await s.push(registry, test.image, { repository, tag });
      const ran = await pod('to run the image pushed late', (p) => Boolean(p.status?.containerStatuses?.[0]?.state?.terminated));
      const verdict = verdictOf(ran);
      if (!verdict) throw new Error(`pod late should have run: ${describePod(ran)}`);
      s.trackPod(created, verdict);
      await s.expectRan(verdict, { ...pushed, buildId: test.buildId, platform: platformString(hostPlatform()) });
      const seen = await attempts();
      s.observe(
        'registry',
        seen.map((a, i) => `attempt ${i + 1} ${a.statuses.at(-1)}${i > 0 ? ` after ≥${backOffDelay(i - 1) / 1000}s` : ''}`),
      );
      const problems = backOffProblems(seen);
      claim(
        seen.length >= 3 &&
          seen.slice(0, -1).every((a) => a.statuses.every((st) => st === 404)) &&
          seen.at(-1)?.statuses.includes(200) === true,
        () =>
          `the registry ${registry.host} should have seen at least two refused pulls of ${ref} (404) and a last one answered 200 after the push, but saw ${seen.map((a) => `${a.at.toISOString()} ${a.statuses.join('/')}`).join('; ')}`,
      );
      claim(
        problems.length === 0,
        () =>
          `kubelet must wait ${IMAGE_BACK_OFF.initialMs / 1000} s, then twice as long, between pulls of ${ref}, but ${problems.join('; ')} (attempts at ${seen.map((a) => a.at.toISOString()).join(', ')})`,
      );
    },
  );
});
