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
  defineSuite,
  EventReason,
  type PodVerdict,
  type PushedTestImage,
  type ScenarioContext,
  UNAUTHORIZED,
} from '../helpers/framework/harness.ts';
import {
  allowNodeAudience,
  apiServerFacts,
  audienceRestriction,
  describePluginRequest,
  execProviderSupport,
  installCredentialProvider,
  kubeletFeatureGates,
  kubeletHasProviderFlags,
  kubeletVersionOf,
  nodeMayRequestAudience,
  requestedImage,
  tokenModeSupport,
  type InstalledProvider,
  type PluginRequest,
  type TokenAttributes,
} from '../helpers/kubelet/credprovider.ts';
import { credentialSearchPaths, kubeletProcessFacts, presentCredentialFiles } from '../helpers/kubelet/nodecreds.ts';
import { manifestRequests } from '../helpers/registry/accesslog.ts';

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
  expect(verdict.pod.spec?.imagePullSecrets ?? []).toEqual([]);
  const pod = await s.expectRan(verdict, img);
  await s.waitForEvent(pod.metadata?.name ?? '', EventReason.Pulled, /Successfully pulled image/);
}

/**
 * The worker the provider goes on, once its kubelet is known to support exec providers (else the
 * scenario is skipped) and to have no node credential file that could answer instead.
 */
async function providerNode(s: ScenarioContext): Promise<{ node: string; kubeletVersion: string }> {
  const { nodes, kube } = s.env.cluster;
  const node = s.worker(0);
  // Read only under the node's lock: another suite may be restarting its kubelet or have a credential file there for a moment.
  await s.lockNode(node);
  const kubeletVersion = await kubeletVersionOf(kube, node);
  const support = execProviderSupport(kubeletVersion, await kubeletHasProviderFlags(nodes, node));
  if (!support.supported) s.skip(support.rule);
  s.rule(support.rule);
  const facts = await kubeletProcessFacts(nodes, node);
  expect(await presentCredentialFiles(nodes, node, credentialSearchPaths(facts))).toEqual([]);
  return { node, kubeletVersion };
}

/** Token mode on this node and API server: skips where the kubelet lacks it; records both rules. */
async function tokenModeFacts(s: ScenarioContext, node: string, kubeletVersion: string): Promise<{ restricted: boolean }> {
  const { kube } = s.env.cluster;
  const tokenMode = tokenModeSupport(kubeletVersion, await kubeletFeatureGates(kube, node));
  if (!tokenMode.supported) s.skip(tokenMode.rule);
  s.rule(tokenMode.rule);
  const api = await apiServerFacts(kube);
  const restriction = audienceRestriction(api.version, api.gates);
  s.rule(restriction.rule);
  return { restricted: restriction.restricted };
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
  expect(requests.filter((e) => e.status === 200).length).toBeGreaterThan(0);
}

suite.section('credential-provider: an exec plugin on the node supplies registry credentials', () => {
  suite.scenario(
    'exec-plugin-supplies-credentials',
    "kubelet runs the node's credential provider plugin for an image its matchImages cover, and a pod without any Secret pulls from the htpasswd registry with the credentials it returns",
    { needs: ['node-access'] },
    async (s) => {
      const { node } = await providerNode(s);
      const registry = s.env.registry('private');
      const img = await s.image(registry);
      const provider = await installCredentialProvider(s, node, { registry: registry.host }, registry.credential());
      const since = new Date();
      await expectRanWithoutSecret(s, await s.runPod({ name: 'provider-creds', image: img.ref, nodeName: node }), img);
      // kubelet asked the plugin for this repository (without tag), without a token, and got credentials.
      const asked = requestsFor(await pluginRequests(s, provider), img);
      expect(asked.length).toBeGreaterThan(0);
      expect(asked.map((r) => [r.decision, r.token.present])).toEqual(asked.map(() => ['served', false]));
      await expectAuthenticatedManifestPull(s, 'private', img, since);
    },
  );

  suite.scenario(
    'non-matching-image-not-served',
    "an image from a registry the provider's matchImages do not cover gets nothing from it: kubelet does not run the plugin and the pull fails unauthorized, while a matching image on the same node runs",
    { needs: ['node-access'] },
    async (s) => {
      const { node } = await providerNode(s);
      const served = s.env.registry('private');
      const other = s.env.registry('other');
      expect(other.host).not.toBe(served.host);
      const matching = await s.image(served);
      const notMatching = await s.image(other);
      const provider = await installCredentialProvider(s, node, { registry: served.host, matchImages: [served.host] }, served.credential());
      s.rule(`matchImages [${served.host}] must match the image's host and port: ${other.host} images are not sent to the plugin`);
      // The provider is live on this kubelet: the matching image runs with its credentials...
      await expectRanWithoutSecret(s, await s.runPod({ name: 'matching', image: matching.ref, nodeName: node }), matching);
      // ...and the other registry's image gets none.
      await s.expectPullFailure(await s.runPod({ name: 'not-matching', image: notMatching.ref, nodeName: node }), UNAUTHORIZED);
      const all = await pluginRequests(s, provider);
      expect(requestsFor(all, matching).map((r) => r.decision)).toContain('served');
      expect(all.filter((r) => r.registry === other.host || r.image === requestedImage(notMatching.ref))).toEqual([]);
    },
  );
});

suite.section('credential-provider: service account token mode (KEP-4412)', () => {
  suite.scenario(
    'service-account-token-mode',
    "with tokenAttributes kubelet hands the plugin a token of the pod's own service account for the configured audience; the plugin, which refuses requests without one, answers and the pod runs without any Secret",
    { needs: ['node-access'] },
    async (s) => {
      const { node, kubeletVersion } = await providerNode(s);
      const { restricted } = await tokenModeFacts(s, node, kubeletVersion);
      const registry = s.env.registry('private');
      const attributes = tokenAttributes(s);
      if (restricted) await allowNodeAudience(s, node, attributes.serviceAccountTokenAudience);
      await s.env.cluster.kube.core.createNamespacedServiceAccount({
        namespace: s.namespace,
        body: { metadata: { name: 'puller', labels: { 'pullcheck.io/managed': 'true' } } },
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
      expect(asked.length).toBeGreaterThan(0);
      for (const r of asked) {
        expect(r).toMatchObject({
          decision: 'served',
          token: {
            present: true,
            audiences: [attributes.serviceAccountTokenAudience],
            subject: `system:serviceaccount:${s.namespace}:puller`,
            namespace: s.namespace,
            serviceAccount: 'puller',
            pod: 'sa-token',
            podUID: verdict.pod.metadata?.uid,
          },
        });
        if (r.token.node !== undefined) expect(r.token.node).toBe(node);
      }
    },
  );

  suite.scenario(
    'service-account-token-audience-needs-rbac',
    "where the API server restricts node audiences, kubelet gets no token for the provider's audience until RBAC grants the node request-serviceaccounts-token-audience on it: before, the plugin is never run and the pull fails unauthorized; after, the pod runs",
    { needs: ['node-access'] },
    async (s) => {
      const { node, kubeletVersion } = await providerNode(s);
      const { restricted } = await tokenModeFacts(s, node, kubeletVersion);
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
      if (!restricted) {
        // Nothing to grant: the node may ask for any audience, and the pod runs as it is.
        await expectRanWithoutSecret(s, await s.runPod({ name: 'unrestricted', image: after.ref, nodeName: node }), after);
        expect(requestsFor(await pluginRequests(s, provider), after).every((r) => r.token.present && r.decision === 'served')).toBe(true);
        return;
      }
      expect((await nodeMayRequestAudience(s.env.cluster.kube, node, audience, s.namespace)).allowed).toBe(false);
      await s.expectPullFailure(await s.runPod({ name: 'before-rbac', image: before.ref, nodeName: node }), UNAUTHORIZED);
      expect(requestsFor(await pluginRequests(s, provider), before)).toEqual([]);
      const journal = await provider.kubeletJournal();
      // v1.37 says `… for audience "<aud>"`, v1.36 `audience "<aud>" not found in pod spec volume, … for this audience`.
      const denied = journal
        .split('\n')
        .filter((l) => /is not authorized to request tokens for (this )?audience/.test(l) && l.includes(audience));
      expect(denied.length).toBeGreaterThan(0);
      s.env.logger.info(`[${s.id}] [${node}] KUBELET ${denied[0]?.slice(0, 400) ?? ''}`);

      await allowNodeAudience(s, node, audience);
      await expectRanWithoutSecret(s, await s.runPod({ name: 'after-rbac', image: after.ref, nodeName: node }), after);
      const asked = requestsFor(await pluginRequests(s, provider), after);
      expect(asked.length).toBeGreaterThan(0);
      expect(asked.every((r) => r.token.present && r.decision === 'served' && r.token.pod === 'after-rbac')).toBe(true);
    },
  );
});
