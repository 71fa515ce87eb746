// State made on one version, judged on the next: each scenario runs twice in `pullcheck upgrade`,
// its before half on vX (leaves state on the nodes and records it), its after half on vY once every
// node is upgraded in place. Expectations come from vY's declared posture, never from the cluster.
// Nodes: worker 0 holds images kubelet pulled with a Secret (and their KEP-2535 records), worker 1
// a node config.json (on no node where a pod without a Secret must fail), the control plane a
// pre-pulled image and the long-running pod (a drain would evict it from a worker).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import { AppsV1Api } from '@kubernetes/client-node';
import {
  assembleImage,
  buildOwnProgram,
  claim,
  DEFAULT_KUBELET_ROOT_DIR,
  declaredPullSettings,
  defineSuite,
  EventReason,
  echoImage,
  hostPlatform,
  kubeletPulledImageReuse,
  layerFromFiles,
  managedLabels,
  nodeHasImage,
  nodeRuntime,
  type PushedTestImage,
  platformString,
  preloadedImageUse,
  preloadImage,
  pulledRecordPath,
  readPullHistory,
  renderCredentialFile,
  restartKubelet,
  type ScenarioContext,
  UNAUTHORIZED,
  upgradeScenario,
  waitForPodIn,
  writeNewNodeFile,
} from '../helpers/framework/harness.ts';

export const suite = defineSuite({
  name: 'upgrade',
  upgrade: true,
  nodes: 'locked',
  registries: [{ name: 'private', auth: 'htpasswd' }],
});

const NODE_CONFIG_JSON = `${DEFAULT_KUBELET_ROOT_DIR}/config.json`;

/** An image that runs until stopped (pullcheck's pause program) with a build id of its own, pushed to the private registry. */
async function longRunningImage(s: ScenarioContext): Promise<{ ref: string; digest: string }> {
  const pause = readFileSync(join(await buildOwnProgram('pause', s.env.logger), 'pause'));
  const layers = [
    await layerFromFiles([{ path: '/pause', content: pause, mode: 0o755 }]),
    await layerFromFiles([{ path: '/etc/pullcheck/build-id', content: Buffer.from(`${s.uniqueTag()}\n`), mode: 0o644 }]),
  ];
  const image = assembleImage(layers, { platform: hostPlatform(), entrypoint: ['/pause'] });
  return s.push(s.env.registry('private'), image);
}

suite.scenario(
  'secret-pulled-image-without-credentials',
  "an image kubelet pulled with a Secret before the upgrade is reused after it by a pod without one only as the new version's declared KEP-2535 policy allows",
  { needs: ['node-access', 'worker'] },
  async (s) => {
    const u = upgradeScenario<{ node: string; image: PushedTestImage }>(s);
    const registry = s.env.registry('private');
    if (u.half === 'before') {
      const node = s.worker(0);
      const image = await s.image(registry);
      const secret = await s.pullSecret(registry);
      await s.expectRan(
        await s.runPod({ name: 'with-secret', image: image.ref, pullPolicy: 'IfNotPresent', nodeName: node, imagePullSecrets: [secret] }),
        image,
      );
      await s.waitForEvent('with-secret', EventReason.Pulled, /Successfully pulled image/);
      u.save({ node, image });
      return;
    }
    const { node, image } = u.load();
    const expected = kubeletPulledImageReuse(s.env.posture, node, image.ref);
    s.rule(`[${node}] after ${u.from} → ${u.to}: ${expected.rule}`);
    const verdict = await s.runPod({ name: 'without-secret', image: image.ref, pullPolicy: 'IfNotPresent', nodeName: node });
    if (expected.needsCredentials) {
      await s.expectPullFailure(verdict, UNAUTHORIZED);
    } else {
      await s.expectRan(verdict, image);
      await s.expectNoPull(verdict);
    }
  },
);

suite.scenario(
  'kep2535-pull-records-kept',
  'the pull record kubelet wrote on the old version for an image pulled with a Secret is still there after the upgrade, with the same credential hashes',
  { needs: ['node-access', 'worker'] },
  async (s) => {
    const u = upgradeScenario<{ node: string; ref: string; imageRef: string; hashes: string[] }>(s);
    const { nodes } = s.env.cluster;
    const hashesOf = async (node: string, ref: string) => {
      const { imageRef, history } = await readPullHistory(nodes, node, DEFAULT_KUBELET_ROOT_DIR, ref);
      return {
        imageRef,
        history,
        hashes: history.kind === 'record' ? (history.credentials?.secrets ?? []).map((x) => x.credentialHash).sort() : [],
      };
    };
    if (u.half === 'before') {
      const node = s.worker(0);
      if (!declaredPullSettings(s.env.posture, node).gate.enabled)
        s.skipDeclared(
          `KEP-2535's gate is off on ${node} as declared for ${u.from}: kubelet writes no pull records to carry across the upgrade`,
        );
      const registry = s.env.registry('private');
      const image = await s.image(registry);
      const secret = await s.pullSecret(registry);
      await s.expectRan(
        await s.runPod({ name: 'with-secret', image: image.ref, pullPolicy: 'IfNotPresent', nodeName: node, imagePullSecrets: [secret] }),
        image,
      );
      const read = await hashesOf(node, image.ref);
      claim(
        read.history.kind === 'record' && read.hashes.length > 0,
        `KEP-2535 (gate on for ${u.from}): kubelet on ${node} should record the Secret it pulled ${image.ref} with, but ${read.history.kind === 'record' ? 'its record names no Secret for the image' : 'there is no pull record'} (image ${read.imageRef})`,
      );
      s.observe('pull record', [read.history.kind === 'record' ? `${read.hashes.length} credential hash(es)` : 'none']);
      u.save({ node, ref: image.ref, imageRef: read.imageRef, hashes: read.hashes });
      return;
    }
    const before = u.load();
    const after = await hashesOf(before.node, before.ref);
    s.observe('pull record after the upgrade', [
      after.history.kind !== 'record'
        ? 'gone'
        : after.imageRef === before.imageRef && JSON.stringify(after.hashes) === JSON.stringify(before.hashes)
          ? 'kept, unchanged'
          : 'kept, changed',
    ]);
    claim(
      after.history.kind === 'record',
      `a pull record written by kubelet ${u.from} must be read by ${u.to}: on ${before.node} the record of ${before.ref} (${before.imageRef}) is gone after the upgrade`,
    );
    claim(
      after.imageRef === before.imageRef && JSON.stringify(after.hashes) === JSON.stringify(before.hashes),
      `the pull record of ${before.ref} on ${before.node} should keep its image and credential hashes across ${u.from} → ${u.to}: before ${before.imageRef} [${before.hashes.join(' ')}], after ${after.imageRef} [${after.hashes.join(' ')}]`,
    );
    s.rule(
      `[${before.node}] pull record of ${before.ref} kept across ${u.from} → ${u.to}: ${after.hashes.length} credential hash(es), unchanged`,
    );
  },
);

suite.scenario(
  'pre-pulled-image-kept',
  'an image an admin imported into containerd before the upgrade is still on the node after it and runs with IfNotPresent and Never, no credentials, as the declared KEP-2535 policy allows',
  { needs: ['node-access', 'schedulable-control-plane'] },
  async (s) => {
    const u = upgradeScenario<{ node: string; ref: string; buildId: string; platform: string }>(s);
    s.skipIfAlwaysPullImages('IfNotPresent and Never pods running a pre-pulled image');
    const { nodes } = s.env.cluster;
    if (u.half === 'before') {
      const node = s.controlPlanes()[0];
      if (!node) return s.skip('the cluster has no control-plane node to pre-pull an image on');
      await s.lockNode(node);
      const test = await echoImage(hostPlatform(), s.env.logger);
      const pushed = await s.push(s.env.registry('private'), test.image);
      await s.env.logger.phase(`[${s.id}] [${node}] PRELOAD ${pushed.ref}`, () =>
        preloadImage({ nodes, node, ref: pushed.ref, image: test.image, runtime: nodeRuntime(s.env.posture) }),
      );
      const img = { ref: pushed.ref, buildId: test.buildId, platform: platformString(hostPlatform()) };
      // The before version's declared policy decides the Never pod too (AlwaysVerify re-verifies preloaded images).
      const before = preloadedImageUse(s.env.posture, node, img.ref);
      s.rule(`[${node}] before ${u.from} → ${u.to}: ${before.rule}`);
      const never = await s.runPod({ name: 'never', image: img.ref, pullPolicy: 'Never', nodeName: node });
      if (before.outcome === 'runs-without-pull') await s.expectRan(never, img);
      else await s.expectNeverPullRefused(never);
      u.save({ node, ...img });
      return;
    }
    const img = u.load();
    await s.lockNode(img.node);
    claim(
      await nodeHasImage(nodes, img.node, img.ref),
      `an image in a node's containerd must survive an in-place upgrade: ${img.ref}, imported on ${img.node} before ${u.from} → ${u.to}, is gone (crictl inspecti does not find it)`,
    );
    // The rule is applied to what the scenario did (an admin imported the image; kubelet never pulled
    // it), not to kubelet's pull record, which is only checked against that.
    const expected = preloadedImageUse(s.env.posture, img.node, img.ref);
    s.rule(`[${img.node}] after ${u.from} → ${u.to}: ${expected.rule}`);
    const recorded = await readPullHistory(nodes, img.node, DEFAULT_KUBELET_ROOT_DIR, img.ref);
    claim(
      recorded.history.kind === 'no-record',
      () =>
        `${img.node}: kubelet ${u.to} has a pull record of ${img.ref} (${pulledRecordPath(DEFAULT_KUBELET_ROOT_DIR, recorded.imageRef)}), though kubelet never pulled it (an admin imported it before the upgrade): ${JSON.stringify(recorded.history)}`,
    );
    const ifNotPresent = await s.runPod({ name: 'ifnotpresent', image: img.ref, pullPolicy: 'IfNotPresent', nodeName: img.node });
    const never = async () => s.runPod({ name: 'never', image: img.ref, pullPolicy: 'Never', nodeName: img.node });
    if (expected.outcome === 'runs-without-pull') {
      await s.expectRan(ifNotPresent, img);
      await s.expectNoPull(ifNotPresent);
      const ran = await never();
      await s.expectRan(ran, img);
      await s.expectNoPull(ran);
    } else {
      await s.expectPullFailure(ifNotPresent, UNAUTHORIZED);
      await s.expectNeverPullRefused(await never());
    }
  },
);

suite.scenario(
  'node-config-json-honoured',
  "a node's config.json written before the upgrade still gives the replaced kubelet its credentials: a pod without a Secret pulls from the private registry after it",
  { needs: ['node-access', 'two-workers'] },
  async (s) => {
    const u = upgradeScenario<{ node: string; image: PushedTestImage }>(s);
    const { nodes, kube } = s.env.cluster;
    const registry = s.env.registry('private');
    if (u.half === 'before') {
      const node = s.worker(1);
      await s.lockNode(node);
      const remove = await writeNewNodeFile({
        nodes,
        node,
        path: NODE_CONFIG_JSON,
        content: renderCredentialFile('config.json', [registry.credential()]),
      });
      try {
        await s.env.logger.phase(`[${s.id}] [${node}] RESTART kubelet`, () => restartKubelet(nodes, kube, node));
        const image = await s.image(registry);
        await s.expectRan(await s.runPod({ name: 'node-credentials', image: image.ref, pullPolicy: 'Always', nodeName: node }), image);
        u.save({ node, image });
      } catch (error) {
        await remove();
        await restartKubelet(nodes, kube, node).catch(() => undefined);
        throw error;
      }
      return;
    }
    const { node, image } = u.load();
    await s.lockNode(node);
    s.defer(
      async () => {
        await nodes.exec(node, ['rm', '-f', NODE_CONFIG_JSON]);
        await s.env.logger.phase(`[${s.id}] [${node}] RESTORE kubelet without ${NODE_CONFIG_JSON}`, () =>
          restartKubelet(nodes, kube, node),
        );
      },
      { node },
    );
    // A new image: the node has never had it, so the pull is the replaced kubelet's, with the file's credentials.
    const fresh = await s.image(registry);
    await s.expectRan(await s.runPod({ name: 'new-image', image: fresh.ref, pullPolicy: 'Always', nodeName: node }), fresh);
    await s.expectRan(await s.runPod({ name: 'old-image', image: image.ref, pullPolicy: 'Always', nodeName: node }), image);
  },
);

suite.scenario(
  'running-pod-keeps-image-id',
  'a pod running on the control plane through the upgrade (drains leave it there) keeps its container, its image ID and a restart count of 0 when its kubelet is replaced',
  { needs: ['node-access', 'schedulable-control-plane'] },
  async (s) => {
    type Seen = { containerID: string; imageID: string; startedAt: string; restartCount: number };
    const u = upgradeScenario<{ namespace: string; pod: string; node: string } & Seen>(s);
    const { kube } = s.env.cluster;
    const seen = (p: V1Pod): Seen => {
      const c = p.status?.containerStatuses?.[0];
      return {
        containerID: c?.containerID ?? '',
        imageID: c?.imageID ?? '',
        startedAt: c?.state?.running?.startedAt ? new Date(c.state.running.startedAt).toISOString() : '',
        restartCount: c?.restartCount ?? -1,
      };
    };
    const namespace = await u.keptNamespace();
    if (u.half === 'before') {
      const node = s.controlPlanes()[0];
      if (!node) return s.skip('the cluster has no control-plane node to keep a pod on across the drains');
      await s.lockNode(node);
      const image = await longRunningImage(s);
      const secret = await s.pullSecret(s.env.registry('private'), { namespace });
      await kube.core.createNamespacedPod({
        namespace,
        body: {
          metadata: { name: 'across', labels: managedLabels() },
          spec: {
            nodeName: node,
            tolerations: [{ operator: 'Exists' }],
            imagePullSecrets: [{ name: secret }],
            terminationGracePeriodSeconds: 0,
            containers: [{ name: 'main', image: image.ref }],
          },
        },
      });
      const pod = await waitForPodIn(
        s.env.cluster.kube,
        namespace,
        `pod ${namespace}/across running on ${node}`,
        (p) => Boolean(p.status?.containerStatuses?.[0]?.state?.running),
        { timeoutMs: 180_000 },
      );
      const now = seen(pod);
      claim(
        now.imageID.endsWith(image.digest),
        `pod ${namespace}/across on ${node} should run ${image.ref} (${image.digest}), but its imageID is ${now.imageID}`,
      );
      s.observe('pod across the upgrade', [`running, restarts ${now.restartCount}`]);
      u.save({ namespace, pod: 'across', node, ...now });
      return;
    }
    const before = u.load();
    await s.lockNode(before.node);
    const pod = await kube.core.readNamespacedPod({ namespace, name: before.pod });
    const after = seen(pod);
    s.observe('pod across the upgrade', [
      after.containerID === before.containerID ? 'same container' : 'container replaced',
      after.imageID === before.imageID ? 'same image ID' : 'image ID changed',
      `restarts ${after.restartCount}`,
    ]);
    claim(
      JSON.stringify(after) ===
        JSON.stringify({
          containerID: before.containerID,
          imageID: before.imageID,
          startedAt: before.startedAt,
          restartCount: before.restartCount,
        }),
      `a running container must outlive its kubelet's replacement: pod ${namespace}/${before.pod} on ${before.node} was ${JSON.stringify({ containerID: before.containerID, imageID: before.imageID, startedAt: before.startedAt, restartCount: before.restartCount })} before ${u.from} → ${u.to} and is ${JSON.stringify(after)} after (phase ${pod.status?.phase})`,
    );
  },
);

suite.scenario(
  'deployment-pull-policy-defaulting',
  "an existing Deployment's new pods get the imagePullPolicy the old version defaulted (IfNotPresent for a tag, Always for :latest), and a new Deployment is defaulted the same",
  { needs: ['node-access'] },
  async (s) => {
    type Policies = Record<string, string>;
    const u = upgradeScenario<{ namespace: string; template: Policies }>(s);
    const apps = s.env.cluster.kube.config.makeApiClient(AppsV1Api);
    const namespace = await u.keptNamespace();
    const registry = s.env.registry('private');
    // Documented defaulting (Kubernetes "Images"): :latest or no tag → Always, any other tag → IfNotPresent.
    const documented: Policies = { tagged: 'IfNotPresent', latest: 'Always' };
    const deployment = (name: string, image: string, secret: string): V1Deployment => ({
      metadata: { name, labels: managedLabels() },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: managedLabels({ app: name }) },
          spec: { imagePullSecrets: [{ name: secret }], terminationGracePeriodSeconds: 0, containers: [{ name: 'main', image }] },
        },
      },
    });
    const templatePolicy = (d: V1Deployment) => d.spec?.template.spec?.containers[0]?.imagePullPolicy ?? '(none)';
    if (u.half === 'before') {
      const secret = await s.pullSecret(registry, { namespace });
      const tagged = await longRunningImage(s);
      const latest = await s.push(registry, (await echoImage(hostPlatform(), s.env.logger)).image, { tag: 'latest' });
      const template: Policies = {};
      for (const [name, ref] of [
        ['tagged', tagged.ref],
        ['latest', latest.ref],
      ] as const) {
        const created = await apps.createNamespacedDeployment({ namespace, body: deployment(name, ref, secret) });
        template[name] = templatePolicy(created);
        claim(
          template[name] === documented[name],
          `imagePullPolicy defaulting (${name === 'latest' ? ':latest → Always' : 'a tag → IfNotPresent'}): Deployment ${namespace}/${name} (${ref}) was defaulted to ${template[name]} on ${u.from}`,
        );
      }
      s.observe(
        'defaulted imagePullPolicy',
        Object.entries(template).map(([name, policy]) => `${name} ${policy}`),
      );
      u.save({ namespace, template });
      return;
    }
    const before = u.load();
    for (const name of Object.keys(before.template)) {
      const existing = await apps.readNamespacedDeployment({ namespace, name });
      // A new pod from the new controller-manager: the old ones go, the ReplicaSet makes another.
      const old = (await s.env.cluster.kube.core.listNamespacedPod({ namespace, labelSelector: `app=${name}` })).items.map(
        (p) => p.metadata?.uid,
      );
      await s.env.cluster.kube.core.deleteCollectionNamespacedPod({ namespace, labelSelector: `app=${name}` });
      const fresh = await waitForPodIn(
        s.env.cluster.kube,
        namespace,
        `a new pod of Deployment ${namespace}/${name}`,
        (p) => !old.includes(p.metadata?.uid),
        { labelSelector: `app=${name}`, timeoutMs: 180_000 },
      );
      const podPolicy = fresh.spec?.containers[0]?.imagePullPolicy ?? '(none)';
      s.observe('new pod of an existing Deployment', [`${name} ${podPolicy}`]);
      claim(
        podPolicy === before.template[name],
        `an existing Deployment's new pods keep the defaulted imagePullPolicy across ${u.from} → ${u.to}: Deployment ${namespace}/${name} had ${before.template[name]}, its new pod ${fresh.metadata?.name} has ${podPolicy}`,
      );
      const image = existing.spec?.template.spec?.containers[0]?.image ?? '';
      const again = await apps.createNamespacedDeployment({
        namespace,
        body: deployment(`${name}-new`, image, existing.spec?.template.spec?.imagePullSecrets?.[0]?.name ?? ''),
      });
      claim(
        templatePolicy(again) === documented[name],
        `imagePullPolicy defaulting on ${u.to} (${name === 'latest' ? ':latest → Always' : 'a tag → IfNotPresent'}): a new Deployment ${namespace}/${name}-new (${image}) was defaulted to ${templatePolicy(again)}, ${u.from} gave ${before.template[name]}`,
      );
    }
  },
);
