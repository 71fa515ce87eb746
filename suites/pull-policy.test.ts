// imagePullPolicy as the Kubernetes "Images" page describes it: what the API server defaults, and
// what each policy makes a node do when the image is, or is not, already there and when its tag moves.
import { type PushedImage, type ScenarioContext, scenario, useEnv } from '../helpers/framework/harness.ts';
import { echoImage, type TestImage } from '../helpers/images/testimages.ts';
import { hostPlatform } from '../helpers/images/oci.ts';
import { EventReason, imageIdOf, WaitingReason, ranToCompletion } from '../helpers/framework/pods.ts';
import { manifestRequests } from '../helpers/registry/accesslog.ts';

const getEnv = useEnv({ suite: 'pull-policy', registries: [{ name: 'public', auth: 'none' }] });

async function build(s: ScenarioContext): Promise<TestImage> {
  return echoImage(hostPlatform(), s.env.logger);
}

describe('pull-policy: what the API server defaults', () => {
  // The rule (Kubernetes docs, "Images"): no tag or :latest → Always; any other tag or a digest → IfNotPresent.
  const cases: [id: string, title: string, ref: (p: PushedImage, host: string) => string, policy: string][] = [
    ['pull-policy/default-tag-ifnotpresent', 'an image with a tag other than latest defaults to IfNotPresent', (p) => p.ref, 'IfNotPresent'],
    ['pull-policy/default-latest-always', 'an image tagged :latest defaults to Always', (p, host) => `${host}/${p.repository}:latest`, 'Always'],
    ['pull-policy/default-no-tag-always', 'an image without a tag (so :latest) defaults to Always', (p, host) => `${host}/${p.repository}`, 'Always'],
    ['pull-policy/default-digest-ifnotpresent', 'an image by digest defaults to IfNotPresent', (p, host) => `${host}/${p.repository}@${p.digest}`, 'IfNotPresent'],
  ];
  for (const [id, title, ref, policy] of cases) {
    scenario(getEnv, id, title, async (s) => {
      const registry = s.env.registry('public');
      const test = await build(s);
      const pushed = await s.push(registry, test.image);
      await registry.client.putManifest(pushed.repository, 'latest', test.image.manifest, test.image.manifestMediaType);
      const image = ref(pushed, registry.host);
      const created = await s.createPod({ name: 'defaulted', image });
      expect(created.spec?.containers[0]?.imagePullPolicy).toBe(policy);
      // And the defaulted pod really runs that image.
      const verdict = ranToCompletion(await s.runPod({ name: 'runs', image }));
      expect(await s.log(verdict.pod)).toContain(`build=${test.buildId}`);
      expect(imageIdOf(verdict.pod)).toContain(pushed.digest);
    });
  }
});

describe('pull-policy: cached images and moving tags', () => {
  /** Runs the image once on a worker, moves the tag to a new image, runs it again on the same worker. */
  async function runMoveRun(s: ScenarioContext, policy: 'IfNotPresent' | 'Always') {
    const registry = s.env.registry('public');
    const node = s.workers()[0] as string;
    const v1 = await build(s);
    const first = await s.push(registry, v1.image);
    const firstRun = ranToCompletion(await s.runPod({ name: 'first', image: first.ref, pullPolicy: policy, nodeName: node }));
    expect(await s.log(firstRun.pod)).toContain(`build=${v1.buildId}`);
    const v2 = await build(s);
    const movedAt = new Date();
    const moved = await s.push(registry, v2.image, { repository: first.repository, tag: first.tag });
    expect(moved.digest).not.toBe(first.digest);
    const again = ranToCompletion(await s.runPod({ name: 'again', image: first.ref, pullPolicy: policy, nodeName: node }));
    const log = await s.log(again.pod);
    const requests = manifestRequests(await s.accessLog(registry), first.repository, movedAt);
    const events = await s.events('again');
    return { v1, v2, first, moved, again, log, requests, events };
  }

  scenario(getEnv, 'pull-policy/ifnotpresent-keeps-cached', 'IfNotPresent runs the cached image after its tag moved: old digest, no Pulling event, no manifest request', async (s) => {
    const r = await runMoveRun(s, 'IfNotPresent');
    expect(r.log).toContain(`build=${r.v1.buildId}`);
    expect(imageIdOf(r.again.pod)).toContain(r.first.digest);
    await s.waitForEvent('again', EventReason.Pulled, /already present on machine/);
    expect((await s.events('again')).filter((e) => e.reason === EventReason.Pulling)).toEqual([]);
    expect(r.requests).toEqual([]);
  });

  scenario(getEnv, 'pull-policy/always-repulls-moved-tag', 'Always resolves the tag again after it moved: the new digest runs', async (s) => {
    const r = await runMoveRun(s, 'Always');
    expect(r.log).toContain(`build=${r.v2.buildId}`);
    expect(imageIdOf(r.again.pod)).toContain(r.moved.digest);
    expect(r.events.map((e) => e.reason)).toContain(EventReason.Pulling);
    expect(r.requests.length).toBeGreaterThan(0);
  });
});

describe('pull-policy: Never and missing images', () => {
  scenario(getEnv, 'pull-policy/never-uses-local', 'Never runs an image already on the node without contacting the registry', async (s) => {
    const registry = s.env.registry('public');
    const node = s.workers()[0] as string;
    const test = await build(s);
    const pushed = await s.push(registry, test.image);
    ranToCompletion(await s.runPod({ name: 'warm', image: pushed.ref, pullPolicy: 'IfNotPresent', nodeName: node }));
    const before = new Date();
    const verdict = ranToCompletion(await s.runPod({ name: 'never', image: pushed.ref, pullPolicy: 'Never', nodeName: node }));
    expect(await s.log(verdict.pod)).toContain('SUCCESS');
    expect(manifestRequests(await s.accessLog(registry), pushed.repository, before)).toEqual([]);
  });

  scenario(getEnv, 'pull-policy/never-missing-fails', 'Never with an image not on the node fails with ErrImageNeverPull', async (s) => {
    const registry = s.env.registry('public');
    const pushed = await s.push(registry, (await build(s)).image);
    const verdict = await s.runPod({ name: 'never', image: pushed.ref, pullPolicy: 'Never', nodeName: s.workers()[1] as string });
    expect(verdict).toMatchObject({ kind: 'pull-failed', reason: WaitingReason.ErrImageNeverPull });
    const event = await s.waitForEvent('never', EventReason.ErrImageNeverPull, /is not present with pull policy of Never/);
    expect(event.message).toContain(pushed.ref);
  });

  scenario(getEnv, 'pull-policy/missing-tag-fails', 'a tag the registry does not have fails with ErrImagePull and a not-found Failed event', async (s) => {
    const registry = s.env.registry('public');
    const pushed = await s.push(registry, (await build(s)).image);
    const missing = registry.ref(pushed.repository, `${pushed.tag}-missing`);
    const verdict = await s.runPod({ name: 'missing', image: missing, pullPolicy: 'IfNotPresent' });
    await s.expectPullFailure(verdict, /not found/);
  });
});
