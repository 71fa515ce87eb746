// Token (Bearer) auth, as Harbor, Quay, GHCR and GitLab do it: the registry answers 401 with a
// Bearer challenge, the node fetches a JWT from the realm (with the pull Secret's credentials, or
// anonymously) and the registry verifies it. The realm is pullcheck's token server; its record of
// what it issued, and to whom, shows that the node itself went through the flow.
import { randomBytes } from 'node:crypto';
import {
  defineSuite,
  echoIndex,
  hostPlatform,
  INDEX_PLATFORMS,
  type PodVerdict,
  type PushedTestImage,
  platformString,
  type ScenarioContext,
  TOKEN_PUBLIC_PREFIXES,
  type TokenRequestRecord,
  type TokenServer,
} from '../helpers/framework/harness.ts';

export const suite = defineSuite({
  name: 'registry-token',
  registries: [{ name: 'tokened', auth: 'token' }],
});

/** The registry's token server; its request record goes into the evidence when a scenario fails. */
function tokenServer(s: ScenarioContext): TokenServer {
  const registry = s.env.registry('tokened');
  const server = registry.tokenServer;
  if (!server) throw new Error(`registry tokened (${registry.host}) has no token server: the suite needs pullcheck's token-auth registry`);
  const since = new Date();
  s.collect(
    'token-server',
    async () =>
      server.requests
        .filter((r) => r.time >= since)
        .map(
          (r) =>
            `${r.time.toISOString()} ${r.remoteAddress} ${r.method} ${r.account ?? '(anonymous)'} ${r.status} asked ${scopes(r.requested)} got ${scopes(r.granted)}`,
        )
        .join('\n') || '(no token requests)',
  );
  return server;
}

function scopes(access: TokenRequestRecord['requested']): string {
  return access.map((a) => `${a.type}:${a.name}:${a.actions.join(',') || '(nothing)'}`).join(' ') || '(none)';
}

/** Where the pod's node asks the realm from: its InternalIP, its address on the kind network. */
async function nodeAddress(s: ScenarioContext, verdict: PodVerdict): Promise<{ node: string; address: string }> {
  const node = verdict.pod.spec?.nodeName ?? '';
  const addresses = (await s.env.cluster.kube.core.readNode({ name: node })).status?.addresses ?? [];
  const address = addresses.find((a) => a.type === 'InternalIP')?.address;
  if (!address) throw new Error(`node ${node} reports no InternalIP: the token requests of its pulls cannot be told from the host's`);
  return { node, address };
}

/**
 * The token requests the pod's node made for `repository` (the host's, for its pushes, come from
 * another address); fails with a sentence when there is none.
 */
async function nodeTokenRequests(
  s: ScenarioContext,
  server: TokenServer,
  repository: string,
  verdict: PodVerdict,
): Promise<TokenRequestRecord[]> {
  const { node, address } = await nodeAddress(s, verdict);
  const mine = server.requests.filter(
    (r) => r.remoteAddress === address && r.requested.some((a) => a.type === 'repository' && a.name === repository),
  );
  if (mine.length === 0)
    throw new Error(
      `node ${node} pulling ${repository} for pod ${verdict.pod.metadata?.name} must get its token from the realm ${server.realm}, but the token server saw no request for it from ${address}`,
    );
  return mine;
}

/** What the token a node got for `repository` allowed there (union over its requests that were answered 200). */
function grantedTo(records: readonly TokenRequestRecord[], repository: string): string[] {
  const actions = records
    .filter((r) => r.status === 200)
    .flatMap((r) => r.granted.filter((a) => a.name === repository).flatMap((a) => a.actions));
  return [...new Set(actions)].sort();
}

/** The Secret's account (undefined: anonymous) got a pull token for the image's repository, asking from the pod's node. */
async function expectNodeGotPullToken(
  s: ScenarioContext,
  server: TokenServer,
  verdict: PodVerdict,
  image: PushedTestImage,
  account: string | undefined,
): Promise<void> {
  const records = await nodeTokenRequests(s, server, image.repository, verdict);
  const byAccount = records.filter((r) => r.account === account);
  if (!grantedTo(byAccount, image.repository).includes('pull'))
    throw new Error(
      `a node pulling ${image.ref} should have got a pull token for ${image.repository} as ${account ?? 'an anonymous client'}, but the token server answered: ${records
        .map((r) => `${r.method} ${r.account ?? '(anonymous)'} ${r.status} ${scopes(r.granted)}`)
        .join('; ')}`,
    );
}

/**
 * Where the pod and the realm's record disagree, the failure says which side is off: a pull that
 * failed though the realm granted the node's account pull on the repository is the registry
 * refusing its own realm's token. Else nothing (expectRan words the failure).
 */
async function expectRegistryHonoursToken(
  s: ScenarioContext,
  server: TokenServer,
  verdict: PodVerdict,
  image: PushedTestImage,
  account: string | undefined,
): Promise<void> {
  if (verdict.kind !== 'pull-failed') return;
  const records = (await nodeTokenRequests(s, server, image.repository, verdict).catch(() => [])).filter((r) => r.account === account);
  if (!grantedTo(records, image.repository).includes('pull')) return;
  const { node } = await nodeAddress(s, verdict);
  throw new Error(
    `the registry ${s.env.registry('tokened').host} refused a token its realm granted: node ${node} got repository:${image.repository}:pull from ${server.realm} as ${account ?? 'an anonymous client'}, yet pod ${verdict.pod.metadata?.name} failed to pull ${image.ref} (${verdict.reason}): ${verdict.message}`,
  );
}

/**
 * The other way round: a pod ran though every token its node got for the repository was refused
 * or granted nothing there, so containerd pulled without a token the realm granted: the registry
 * served the repository to a client the realm turned away.
 */
async function expectNoPullWithoutToken(
  s: ScenarioContext,
  server: TokenServer,
  verdict: PodVerdict,
  image: PushedTestImage,
): Promise<void> {
  if (verdict.kind === 'pull-failed') return;
  const records = await nodeTokenRequests(s, server, image.repository, verdict);
  if (grantedTo(records, image.repository).includes('pull')) return;
  const { node } = await nodeAddress(s, verdict);
  throw new Error(
    `containerd pulled without a token the realm refused: pod ${verdict.pod.metadata?.name} on ${node} ran ${image.ref}, though ${server.realm} granted its node no pull on ${image.repository} (${records.map((r) => `${r.account ?? '(anonymous)'} ${r.status} ${scopes(r.granted)}`).join('; ')}), so the registry ${s.env.registry('tokened').host} served it without one`,
  );
}

suite.section('registry-token: a node pulls through the token flow', () => {
  suite.scenario(
    'node-pulls-token-auth-by-tag',
    "a pod with the registry's credentials in a pull Secret gets a pull token from the realm and runs the image by tag",
    { capabilities: ['tls', 'credentials-accepted'] },
    async (s) => {
      const server = tokenServer(s);
      const registry = s.env.registry('tokened');
      s.rule(
        'the node fetches a Bearer token from the realm named in the 401 challenge, with the pull Secret as Basic or OAuth2 credentials',
      );
      const image = await s.image(registry);
      const secret = await s.pullSecret(registry);
      const verdict = await s.runPod({ image: image.ref, imagePullSecrets: [secret] });
      await expectRegistryHonoursToken(s, server, verdict, image, registry.username);
      await s.expectRan(verdict, image);
      await expectNodeGotPullToken(s, server, verdict, image, registry.username);
    },
  );

  suite.scenario(
    'node-pulls-token-auth-by-digest',
    'a pod pulls the image by digest from the token-auth registry, and its imageID carries that digest',
    { capabilities: ['tls'] },
    async (s) => {
      const server = tokenServer(s);
      const registry = s.env.registry('tokened');
      const image = await s.image(registry);
      const secret = await s.pullSecret(registry);
      const byDigest = { ...image, ref: registry.ref(image.repository, image.digest) };
      const verdict = await s.runPod({ image: byDigest.ref, imagePullSecrets: [secret] });
      await expectRegistryHonoursToken(s, server, verdict, byDigest, registry.username);
      await s.expectRan(verdict, byDigest);
      await expectNodeGotPullToken(s, server, verdict, byDigest, registry.username);
    },
  );

  suite.scenario(
    'node-pulls-token-auth-index',
    "a pod pulls an OCI index from the token-auth registry and runs the node's platform: one token covers the index and its child manifest",
    { capabilities: ['tls', 'oci-index'] },
    async (s) => {
      const server = tokenServer(s);
      const registry = s.env.registry('tokened');
      const idx = await echoIndex(INDEX_PLATFORMS, s.env.logger);
      const image: PushedTestImage = {
        ...(await s.pushIndex(registry, idx)),
        buildId: idx.buildId,
        platform: platformString(hostPlatform()),
      };
      const secret = await s.pullSecret(registry);
      const verdict = await s.runPod({ image: image.ref, imagePullSecrets: [secret] });
      await expectRegistryHonoursToken(s, server, verdict, image, registry.username);
      await s.expectRan(verdict, image);
      await expectNodeGotPullToken(s, server, verdict, image, registry.username);
    },
  );

  suite.scenario(
    'node-pulls-token-auth-public-repository-anonymous',
    `a pod without a Secret pulls from a public repository (${TOKEN_PUBLIC_PREFIXES.join(', ')}) with an anonymous pull token`,
    { capabilities: ['tls'] },
    async (s) => {
      const server = tokenServer(s);
      const registry = s.env.registry('tokened');
      s.rule(`repositories under ${TOKEN_PUBLIC_PREFIXES.join(', ')} get anonymous pull tokens: no Secret needed`);
      const image = await s.image(registry, { repository: s.uniqueRepository('public') });
      const verdict = await s.runPod({ image: image.ref });
      await expectRegistryHonoursToken(s, server, verdict, image, undefined);
      await s.expectRan(verdict, image);
      await expectNodeGotPullToken(s, server, verdict, image, undefined);
    },
  );
});

/**
 * The runtime's words for a registry refusing a token that grants nothing on the repository:
 * containerd quotes the challenge's `error="insufficient_scope"`, CRI-O (containers/image) the
 * registry's error message, "requested access to the resource is denied". The token server's own
 * records (below each) prove which token was refused.
 */
function scopeRefused(s: ScenarioContext): RegExp {
  return s.env.posture.runtime === 'cri-o' ? /requested access to the resource is denied/ : /insufficient_scope/;
}

/**
 * The runtime's words for a token endpoint refusing the credentials: containerd names the realm and
 * the 401; CRI-O says `unable to retrieve auth token: invalid username/password`, without the realm,
 * which the token server's records name instead.
 */
function tokenRefused(s: ScenarioContext, realm: string): RegExp {
  return s.env.posture.runtime === 'cri-o'
    ? /unable to retrieve auth token: invalid username\/password/
    : new RegExp(`fetch oauth token: unexpected status from (GET|POST) request to ${realm}\\S*: 401 Unauthorized`);
}

suite.section('registry-token: what the token flow refuses', () => {
  suite.scenario(
    'token-auth-without-credentials-refused',
    'a pod without a Secret gets an anonymous token that grants nothing on a private repository: the registry refuses it (insufficient_scope)',
    { capabilities: ['tls', 'auth-enforced'] },
    async (s) => {
      const server = tokenServer(s);
      const image = await s.image(s.env.registry('tokened'));
      s.rule('an anonymous token for a private repository carries no actions, and the registry answers 401 insufficient_scope');
      const verdict = await s.runPod({ name: 'no-secret', image: image.ref });
      await expectNoPullWithoutToken(s, server, verdict, image);
      await s.expectPullFailure(verdict, scopeRefused(s));
      const records = await nodeTokenRequests(s, server, image.repository, verdict);
      const anonymous = records.filter((r) => r.account === undefined);
      if (anonymous.length === 0 || grantedTo(anonymous, image.repository).length > 0)
        throw new Error(
          `pod no-secret had no credentials, so its node should have asked the realm anonymously and been granted nothing on ${image.repository}; the token server recorded: ${records.map((r) => `${r.account ?? '(anonymous)'} ${r.status} ${scopes(r.granted)}`).join('; ')}`,
        );
    },
  );

  suite.scenario(
    'token-auth-wrong-password-refused',
    'a Secret with a wrong password is refused at the token endpoint (401), and the pull fails naming the realm',
    { capabilities: ['tls', 'auth-enforced'] },
    async (s) => {
      const server = tokenServer(s);
      const registry = s.env.registry('tokened');
      const image = await s.image(registry);
      const secret = await s.pullSecret(registry.credential(`wrong-${randomBytes(6).toString('hex')}`), { name: 'wrong' });
      const realm = server.realm.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      const verdict = await s.runPod({ name: 'wrong', image: image.ref, imagePullSecrets: [secret] });
      await expectNoPullWithoutToken(s, server, verdict, image);
      await s.expectPullFailure(verdict, tokenRefused(s, realm));
      const records = await nodeTokenRequests(s, server, image.repository, verdict);
      if (!records.some((r) => r.account === registry.username && r.status === 401))
        throw new Error(
          `the token server should have refused ${registry.username} with 401 for ${image.repository} (wrong password, from a node), but recorded: ${records.map((r) => `${r.account ?? '(anonymous)'} ${r.status}`).join('; ')}`,
        );
    },
  );

  suite.scenario(
    'token-auth-other-repository-scope-refused',
    "a Secret whose account only gets tokens for repository A pulls A, and cannot pull B: its token for B's scope grants nothing there",
    { capabilities: ['tls', 'auth-enforced'] },
    async (s) => {
      const server = tokenServer(s);
      const registry = s.env.registry('tokened');
      const a = await s.image(registry);
      const b = await s.image(registry);
      const tenant = { username: `tenant-${randomBytes(3).toString('hex')}`, password: randomBytes(18).toString('base64url') };
      server.addUser({ ...tenant, grants: [{ repository: a.repository, actions: ['pull'] }] });
      s.rule(`${tenant.username} is granted pull on ${a.repository} only: a token it gets for any other repository carries no actions`);
      const secret = await s.pullSecret({ server: registry.host, ...tenant }, { name: 'tenant' });
      const verdictA = await s.runPod({ name: 'repo-a', image: a.ref, imagePullSecrets: [secret] });
      await expectRegistryHonoursToken(s, server, verdictA, a, tenant.username);
      await s.expectRan(verdictA, a);
      const verdictB = await s.runPod({ name: 'repo-b', image: b.ref, imagePullSecrets: [secret] });
      await expectNoPullWithoutToken(s, server, verdictB, b);
      await s.expectPullFailure(verdictB, scopeRefused(s));
      const records = await nodeTokenRequests(s, server, b.repository, verdictB);
      const issued = records.filter((r) => r.account === tenant.username && r.status === 200);
      if (issued.length === 0 || grantedTo(issued, b.repository).length > 0)
        throw new Error(
          `the token server should have issued ${tenant.username} a token granting nothing on ${b.repository} (pod repo-b), but recorded: ${records.map((r) => `${r.account ?? '(anonymous)'} ${r.status} ${scopes(r.granted)}`).join('; ')}`,
        );
    },
  );
});
