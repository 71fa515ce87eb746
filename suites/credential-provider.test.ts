// Kubelet image credential providers: an exec plugin on the node (pullcheck's own,
// programs/credprovider) that kubelet runs for the images its CredentialProviderConfig matches, and
// whose answer is the registry's credentials, so that pods without any Secret pull private images;
// an image it does not match gets nothing from it; and in service account token mode (KEP-4412)
// kubelet hands the plugin a token of the pod's own service account. How kubelet is configured and
// what it does: helpers/kubelet/credprovider.ts.
//
// Every scenario configures one worker (plugin, config, kubelet flags, kubelet restart) and undoes it
// in a deferred cleanup that runs even when it fails; node-credential files must be absent, so that
// nothing but the provider can answer.
import {
  AUDIENCE_VERB,
  allowNodeAudience,
  claim,
  credentialSearchPaths,
  defineSuite,
  describePluginRequest,
  EventReason,
  execProviderSupport,
  type InstalledProvider,
  installCredentialProvider,
  kubeletFeatureGates,
  kubeletHasProviderFlags,
  kubeletProcessFacts,
  managedLabels,
  manifestRequests,
  NodeAudienceRestrictionGate,
  nodeMayRequestAudience,
  type PluginRequest,
  type PodVerdict,
  type PushedTestImage,
  podWhere,
  presentCredentialFiles,
  reportedKubeletVersion,
  requestedImage,
  type ScenarioContext,
  type TokenAttributes,
  tokenModeSupport,
  UNAUTHORIZED,
} from '../helpers/framework/harness.ts';

export const suite = defineSuite({
  name: 'credential-provider',
  registries: [
    { name: 'private', auth: 'htpasswd' },
    { name: 'other', auth: 'htpasswd' },
  ],
  nodes: 'locked',
  home: 'explicit',
});

async function expectRanWithoutSecret(s: ScenarioContext, verdict: PodVerdict, img: PushedTestImage): Promise<void> {
  // No Secret of any kind: the pod names none and the namespace's default ServiceAccount has none.
  const secrets = verdict.pod.spec?.imagePullSecrets ?? [];
  claim(
    secrets.length === 0,
    () =>
      `${podWhere(verdict.pod)} should pull with the credential provider's answer alone, but it was admitted with imagePullSecrets [${secrets.map((r) => r.name).join(', ')}] (its own or its ServiceAccount's)`,
  );
  const pod = await s.expectRan(verdict, img);
  await s.waitForEvent(pod.metadata?.name ?? '', EventReason.Pulled, /Successfully pulled image/);
}

/**
 * The worker the provider goes on, once its kubelet is known to support exec providers (else the
 * scenario is skipped) and to have no node credential file that could answer instead.
 */
async function providerNode(s: ScenarioContext): Promise<{ node: string; kubeletVersion: string }> {
  const { nodes, kube } = s.env.cluster;
  // Whichever worker nobody holds (the last first: use-cases starts from the first), locked
  // before anything is read: another suite may be restarting its kubelet or have a credential file there.
  const node = await s.freeWorker('last');
  const kubeletVersion = await reportedKubeletVersion(kube, node);
  const support = execProviderSupport(kubeletVersion, await kubeletHasProviderFlags(nodes, node));
  if (!support.supported) s.skip(support.rule);
  s.rule(support.rule);
  const facts = await kubeletProcessFacts(nodes, node);
  const present = await presentCredentialFiles(nodes, node, credentialSearchPaths(facts));
  claim(
    present.length === 0,
    () =>
      `kubelet on ${node} should find no node credential file, which would answer instead of the provider (a leftover of another scenario or of the node's setup), but ${present.join(', ')} exist`,
  );
  return { node, kubeletVersion };
}

/**
 * Token mode on this node: skips where the kubelet lacks it. Whether the API server restricts node
 * audiences is the declared posture's (admission.serviceAccountNodeAudienceRestriction, by default
 * the version's), never read here: posture/node-audience-restriction checks the cluster against it.
 */
async function tokenModeFacts(s: ScenarioContext, node: string, kubeletVersion: string): Promise<{ restricted: boolean }> {
  const { kube } = s.env.cluster;
  const tokenMode = tokenModeSupport(kubeletVersion, await kubeletFeatureGates(kube, node));
  if (!tokenMode.supported) s.skip(tokenMode.rule);
  s.rule(tokenMode.rule);
  const restricted = s.env.posture.admission.serviceAccountNodeAudienceRestriction;
  s.rule(
    `${NodeAudienceRestrictionGate}=${restricted} (${s.env.posture.sources.nodeAudienceRestriction}): ${restricted ? `the node may request a token for an audience no pod on it projects only when RBAC grants it ${AUDIENCE_VERB} on that audience` : 'the node may request tokens for any audience'}`,
  );
  return { restricted };
}

function tokenAttributes(s: ScenarioContext): TokenAttributes {
  return { serviceAccountTokenAudience: `registry.${s.namespace}`, requireServiceAccount: true, cacheType: 'Token' };
}

function requestsFor(all: readonly PluginRequest[], img: PushedTestImage): PluginRequest[] {
  return all.filter((r) => r.image === requestedImage(img.ref));
}

const logged = new WeakMap<InstalledProvider, number>();

/** Every request the plugin answered so far; the ones not seen before are logged (`PLUGIN ...`). */
async function pluginRequests(s: ScenarioContext, provider: InstalledProvider): Promise<PluginRequest[]> {
  const all = await provider.requests();
  for (const r of all.slice(logged.get(provider) ?? 0))
    s.env.logger.info(`[${s.id}] [${provider.node}] PLUGIN ${describePluginRequest(r)}`);
  logged.set(provider, all.length);
  return all;
}

/** The registry answered the node's manifest requests with 200 (it requires auth for every request). */
async function expectAuthenticatedManifestPull(s: ScenarioContext, registry: string, img: PushedTestImage, since: Date): Promise<void> {
  const log = await s.env.registry(registry).accessLog();
  if (!log) {
    s.env.logger.info(`[${s.id}] the ${registry} registry's access log cannot be read here; not checked`);
    return;
  }
  const requests = manifestRequests(log, img.repository, since);
  claim(
    requests.filter((e) => e.status === 200).length > 0,
    () =>
      `the ${registry} registry ${s.env.registry(registry).host} requires auth for every request, so the node's pull of ${img.ref} with the provider's credentials should show in its access log as a manifest request answered 200, but since ${since.toISOString()} it has ${requests.length ? requests.map((e) => `${e.method} ${e.uri} ${e.status}`).join('; ') : 'no manifest request for the repository'}`,
  );
}

suite.section('credential-provider: an exec plugin on the node supplies registry credentials', () => {
  suite.scenario(
    'exec-plugin-supplies-credentials',
    "kubelet runs the node's credential provider plugin for an image its matchImages cover, and a pod without any Secret pulls from the htpasswd registry with the credentials it returns",
    { needs: ['node-access', 'worker'] },
    async (s) => {
      const { node } = await providerNode(s);
      const registry = s.env.registry('private');
      const img = await s.image(registry);
      const provider = await installCredentialProvider(s, node, { registry: registry.host }, registry.credential());
      const since = new Date();
      await expectRanWithoutSecret(s, await s.runPod({ name: 'provider-creds', image: img.ref, nodeName: node }), img);
      // kubelet asked the plugin for this repository (without tag), without a token, and got credentials.
      const asked = requestsFor(await pluginRequests(s, provider), img);
      claim(
        asked.length > 0,
        `kubelet on ${node} should run the credential provider plugin for ${requestedImage(img.ref)} (its matchImages cover ${registry.host}), but the plugin recorded no request for it`,
      );
      claim(
        asked.every((r) => r.decision === 'served' && r.token.present === false),
        () =>
          `without tokenAttributes kubelet on ${node} should ask the plugin without a service account token and the plugin serve the credentials, but it recorded: ${asked.map(describePluginRequest).join('; ')}`,
      );
      await expectAuthenticatedManifestPull(s, 'private', img, since);
    },
  );

  suite.scenario(
    'non-matching-image-not-served',
    "an image from a registry the provider's matchImages do not cover gets nothing from it: kubelet does not run the plugin and the pull fails unauthorized, while a matching image on the same node runs",
    { needs: ['node-access', 'worker'] },
    async (s) => {
      const { node } = await providerNode(s);
      const served = s.env.registry('private');
      const other = s.env.registry('other');
      claim(
        other.host !== served.host,
        `test setup: the other registry must have a host of its own for matchImages to tell the two apart, but both are ${served.host}`,
      );
      const matching = await s.image(served);
      const notMatching = await s.image(other);
      const provider = await installCredentialProvider(s, node, { registry: served.host, matchImages: [served.host] }, served.credential());
      s.rule(`matchImages [${served.host}] must match the image's host and port: ${other.host} images are not sent to the plugin`);
      // The provider is live on this kubelet: the matching image runs with its credentials...
      await expectRanWithoutSecret(s, await s.runPod({ name: 'matching', image: matching.ref, nodeName: node }), matching);
      // ...and the other registry's image gets none.
      await s.expectPullFailure(await s.runPod({ name: 'not-matching', image: notMatching.ref, nodeName: node }), UNAUTHORIZED);
      const all = await pluginRequests(s, provider);
      const forMatching = requestsFor(all, matching);
      claim(
        forMatching.some((r) => r.decision === 'served'),
        () =>
          `kubelet on ${node} should have the plugin serve ${requestedImage(matching.ref)} (matchImages [${served.host}]), but the plugin recorded ${forMatching.length ? forMatching.map(describePluginRequest).join('; ') : 'no request for it'}`,
      );
      const sentToPlugin = all.filter((r) => r.registry === other.host || r.image === requestedImage(notMatching.ref));
      claim(
        sentToPlugin.length === 0,
        () =>
          `kubelet on ${node} should not run the plugin for ${other.host} images (matchImages [${served.host}] must match host and port), but the plugin recorded: ${sentToPlugin.map(describePluginRequest).join('; ')}`,
      );
    },
  );
});

suite.section('credential-provider: service account token mode (KEP-4412)', () => {
  suite.scenario(
    'service-account-token-mode',
    "with tokenAttributes kubelet hands the plugin a token of the pod's own service account for the configured audience; the plugin, which refuses requests without one, answers and the pod runs without any Secret",
    { needs: ['node-access', 'worker'] },
    async (s) => {
      const { node, kubeletVersion } = await providerNode(s);
      await tokenModeFacts(s, node, kubeletVersion);
      const registry = s.env.registry('private');
      const attributes = tokenAttributes(s);
      // Setup, not an expectation: the grant is what a restricting API server needs, and harmless elsewhere.
      await allowNodeAudience(s, node, attributes.serviceAccountTokenAudience);
      await s.env.cluster.kube.core.createNamespacedServiceAccount({
        namespace: s.namespace,
        body: { metadata: { name: 'puller', labels: managedLabels() } },
      });
      const img = await s.image(registry);
      const provider = await installCredentialProvider(
        s,
        node,
        { registry: registry.host, tokenAttributes: attributes },
        registry.credential(),
      );
      const verdict = await s.runPod({ name: 'sa-token', image: img.ref, nodeName: node, serviceAccountName: 'puller' });
      await expectRanWithoutSecret(s, verdict, img);
      // Every request for the image carried a token: for the audience, of the pod's service account,
      // bound to this very pod (and node, where the API server adds it).
      const asked = requestsFor(await pluginRequests(s, provider), img);
      claim(
        asked.length > 0,
        `kubelet on ${node} should run the credential provider plugin for ${requestedImage(img.ref)} (its matchImages cover ${registry.host}), but the plugin recorded no request for it`,
      );
      for (const r of asked) {
        const audience = attributes.serviceAccountTokenAudience;
        // What the token must say, field by field (as toMatchObject did: a pod without a uid matches no token).
        const off = (
          [
            ['decision', r.decision, 'served'],
            ['token present', r.token.present, true],
            ['audiences', JSON.stringify(r.token.audiences), JSON.stringify([audience])],
            ['subject', r.token.subject, `system:serviceaccount:${s.namespace}:puller`],
            ['namespace', r.token.namespace, s.namespace],
            ['serviceAccount', r.token.serviceAccount, 'puller'],
            ['pod', r.token.pod, 'sa-token'],
            ['podUID', r.token.podUID, verdict.pod.metadata?.uid ?? '(the pod has no uid)'],
          ] as const
        ).filter(([, got, want]) => got !== want);
        claim(
          off.length === 0,
          () =>
            `in token mode kubelet on ${node} should hand the plugin a token for audience ${audience} of ServiceAccount puller, bound to pod ${s.namespace}/sa-token, and the plugin serve it, but a request for ${r.image} had ${off.map(([field, got, want]) => `${field} ${String(got)} (not ${String(want)})`).join(', ')}: ${describePluginRequest(r)}`,
        );
        if (r.token.node !== undefined)
          claim(
            r.token.node === node,
            `in token mode kubelet on ${node} should hand the plugin a token bound to its own node where the API server binds one, but the token for ${r.image} names node ${r.token.node}`,
          );
      }
    },
  );

  suite.scenario(
    'service-account-token-audience-needs-rbac',
    "where the API server restricts node audiences, kubelet gets no token for the provider's audience until RBAC grants the node request-serviceaccounts-token-audience on it: before, the plugin is never run and the pull fails unauthorized; after, the pod runs",
    { needs: ['node-access', 'worker'] },
    async (s) => {
      const { node, kubeletVersion } = await providerNode(s);
      const { restricted } = await tokenModeFacts(s, node, kubeletVersion);
      if (!restricted)
        s.skipDeclared(
          `the posture declares the API server without ${NodeAudienceRestrictionGate} (${s.env.posture.sources.nodeAudienceRestriction}): nodes may request tokens for any audience, so there is no restriction for RBAC to lift`,
        );
      const registry = s.env.registry('private');
      const attributes = tokenAttributes(s);
      const audience = attributes.serviceAccountTokenAudience;
      const before = await s.image(registry);
      const after = await s.image(registry);
      const provider = await installCredentialProvider(
        s,
        node,
        { registry: registry.host, tokenAttributes: attributes },
        registry.credential(),
      );
      const access = await nodeMayRequestAudience(s.env.cluster.kube, node, audience, s.namespace);
      claim(
        access.allowed === false,
        `where the API server restricts node audiences, node ${node} should not be allowed to request tokens for ${audience} before RBAC grants it, but a SubjectAccessReview allows it: ${access.reason || '(no reason given)'}`,
      );
      await s.expectPullFailure(await s.runPod({ name: 'before-rbac', image: before.ref, nodeName: node }), UNAUTHORIZED);
      const withoutToken = requestsFor(await pluginRequests(s, provider), before);
      claim(
        withoutToken.length === 0,
        () =>
          `without a token for ${audience} kubelet on ${node} should not run the plugin for ${requestedImage(before.ref)} (requireServiceAccount), but the plugin recorded: ${withoutToken.map(describePluginRequest).join('; ')}`,
      );
      const journal = await provider.kubeletJournal();
      // v1.37 says `… for audience "<aud>"`, v1.36 `audience "<aud>" not found in pod spec volume, … for this audience`.
      const denied = journal
        .split('\n')
        .filter((l) => /is not authorized to request tokens for (this )?audience/.test(l) && l.includes(audience));
      claim(
        denied.length > 0,
        `kubelet on ${node} should log that it is not authorized to request tokens for audience ${audience}, but its journal has no such line`,
      );
      s.env.logger.info(`[${s.id}] [${node}] KUBELET ${denied[0]?.slice(0, 400) ?? ''}`);

      await allowNodeAudience(s, node, audience);
      await expectRanWithoutSecret(s, await s.runPod({ name: 'after-rbac', image: after.ref, nodeName: node }), after);
      const asked = requestsFor(await pluginRequests(s, provider), after);
      claim(
        asked.length > 0,
        `once RBAC grants node ${node} the audience ${audience}, kubelet on ${node} should run the plugin for ${requestedImage(after.ref)}, but the plugin recorded no request for it`,
      );
      claim(
        asked.every((r) => r.token.present && r.decision === 'served' && r.token.pod === 'after-rbac'),
        () =>
          `once RBAC grants node ${node} the audience ${audience}, kubelet on ${node} should hand the plugin a token of pod after-rbac and the plugin serve it, but it recorded: ${asked.map(describePluginRequest).join('; ')}`,
      );
    },
  );
});
