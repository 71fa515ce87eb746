// Registry mirrors on the node, as each runtime documents them. containerd's hosts.toml (docs/hosts.md)
// puts a mirror `[host]` with capabilities pull and resolve in front of an upstream registry: "the
// hosts will be tried first in the order listed. If all host(s) are tried then server will be used as
// a fallback", and a host other than the namespace gets it as the query parameter `ns`. CRI-O reads
// containers-registries.conf(5): a `[[registry.mirror]]` of the upstream's `[[registry]]` is tried in
// order before the primary location; that page names no `ns` parameter, so on CRI-O its presence is
// observed, not asserted. The mirror and the upstream hold different images under the same
// reference, so the digest and build marker a pod runs say which host served it, and each
// registry's own log says what the node's runtime asked it. Helpers: helpers/registry/mirror.ts and
// the runtime seam's mirrorFiles (helpers/runtime/).
//
// Every scenario starts its own upstream and mirror, writes the mirror configuration on one worker it
// holds (journaled, under the node's lock) and puts it back when it ends, also on failure.
// They prove nothing of a vendor's registry (both registries are pullcheck's), so they name no
// capability and `pullcheck certify` never selects them.
import {
  claim,
  defineSuite,
  describeRequests,
  echoImage,
  hostPlatform,
  type Image,
  installMirror,
  type LoggedRequest,
  loggedRequests,
  nodeAttemptsOn,
  nsOf,
  type PushedTestImage,
  parseAuthAttempts,
  platformString,
  repositoryRequests,
  type ScenarioContext,
  type StartedRegistry,
  scenarioRegistry,
  servedPullGaps,
} from '../helpers/framework/harness.ts';

export const suite = defineSuite({
  name: 'registry-mirrors',
  registries: [],
  nodes: 'locked',
  home: 'explicit', // every pod names the worker whose hosts.toml the scenario wrote
});

const HOSTS_MD = "containerd's docs/hosts.md";
const REGISTRIES_CONF = 'containers-registries.conf(5)';

/** The declared runtime's own page for mirrors, which every rule of the suite cites. */
function mirrorDoc(s: ScenarioContext): string {
  return s.env.posture.runtime === 'cri-o' ? REGISTRIES_CONF : HOSTS_MD;
}

/** The order rule in the declared runtime's words. */
function orderRule(s: ScenarioContext): string {
  return s.env.posture.runtime === 'cri-o'
    ? `${REGISTRIES_CONF}: the mirrors of a [[registry]] are tried in order before its primary location`
    : `${HOSTS_MD}: hosts are tried first in the order listed; server is the fallback`;
}

/** The blobs only this image has (its config and build-id layer); the echo binary layer may be on the node already. */
function ownBlobs(image: Image): string[] {
  const buildIdLayer = image.layers.at(-1);
  if (!buildIdLayer) throw new Error('the test image has no layers');
  return [image.config.digest, buildIdLayer.digest];
}

/** Two different echo images pushed to the mirror and the upstream under one repository and tag. */
async function distinctImages(
  s: ScenarioContext,
  upstream: StartedRegistry,
  mirror: StartedRegistry,
): Promise<{ upstream: PushedTestImage & { blobs: string[] }; mirror: PushedTestImage & { blobs: string[] } }> {
  const repository = s.uniqueRepository('pullcheck/mirrored');
  const tag = s.uniqueTag();
  const push = async (r: StartedRegistry) => {
    const test = await echoImage(hostPlatform(), s.env.logger);
    const pushed = await s.push(r, test.image, { repository, tag });
    return { ...pushed, buildId: test.buildId, platform: platformString(test.platform), blobs: ownBlobs(test.image) };
  };
  const images = { upstream: await push(upstream), mirror: await push(mirror) };
  claim(
    images.upstream.digest !== images.mirror.digest,
    'test setup: the mirror and the upstream must hold different images under one tag',
  );
  return images;
}

/** Each registry's requests for the repository since `since`, recorded as observations in roles. */
async function requestsSeen(
  s: ScenarioContext,
  registries: { role: string; r: StartedRegistry; log?: string }[],
  repository: string,
  since: Date,
): Promise<Record<string, LoggedRequest[]>> {
  const names = Object.fromEntries(registries.map(({ role, r }) => [r.host, role]));
  const out: Record<string, LoggedRequest[]> = {};
  for (const { role, r, log } of registries) {
    const entries = repositoryRequests(loggedRequests(log ?? (await r.logs())), repository, since);
    out[role] = entries;
    const lines = describeRequests(entries, names);
    s.observe(role, lines);
    s.env.logger.info(`[${s.id}] ${role.toUpperCase()} ${r.host} saw for ${repository}: ${lines.join(', ')}`);
  }
  return out;
}

/**
 * `role`'s requests all carry `ns=<upstream>`, as hosts.md says of a host other than the namespace.
 * containers-registries.conf(5) says nothing of it: on CRI-O what the requests carry is observed.
 */
function expectNamespaceParameter(s: ScenarioContext, role: string, entries: readonly LoggedRequest[], upstream: string): void {
  const without = entries.filter((e) => nsOf(e.uri) !== upstream);
  if (s.env.posture.runtime !== 'containerd') {
    s.observe(`ns parameter at ${role}`, [
      without.length === 0
        ? `every request carries ns=${upstream}`
        : `${without.length} of ${entries.length} requests without ns=${upstream}`,
    ]);
    return;
  }
  claim(
    without.length === 0,
    () =>
      `${HOSTS_MD}: a host other than the registry host namespace gets it as the query parameter ns, so every request to the ${role} should carry ns=${upstream}, but ${without.map((e) => `${e.method} ${e.uri}`).join(', ')} do not`,
  );
}

/**
 * Which credentials the node's containerd presented to `r` for the repository since `since` (its
 * htpasswd log), in `words` (the mirror knows the upstream's user name with another password, so
 * a refusal there is the upstream's password and an acceptance its own).
 */
async function credentialsSeen(
  s: ScenarioContext,
  role: string,
  r: StartedRegistry,
  repository: string,
  since: Date,
  words: { accepted: string; refused: string },
): Promise<string> {
  const attempts = nodeAttemptsOn(parseAuthAttempts(await r.logs()), repository, since);
  const seen = attempts.map((a) => (a.accepted ? words.accepted : words.refused)).filter((o, i, all) => i === 0 || o !== all[i - 1]);
  const line = seen.join(' then ') || 'no credentials it knows';
  s.observe(`credentials at ${role}`, [line]);
  s.env.logger.info(`[${s.id}] CREDENTIALS ${role} ${r.host} for ${repository}: ${line}`);
  return line;
}

/** What a refusal and an acceptance at each registry mean in the credential scenarios. */
const AT_MIRROR = { accepted: "the mirror's own password accepted", refused: "the upstream's password refused" } as const;
const AT_UPSTREAM = { accepted: "the upstream's password accepted", refused: "the upstream's password refused" } as const;

suite.section("registry-mirrors: a mirror in front of the upstream (the runtime's mirror configuration)", () => {
  suite.scenario(
    'mirror-serves-pull',
    "with a mirror host (pull, resolve) in the upstream's hosts.toml, the node resolves and pulls through the mirror: the pod runs the mirror's image, the upstream is not asked",
    { needs: ['node-access', 'worker', 'kind'] },
    async (s) => {
      const upstream = await scenarioRegistry(s, 'mirror-a-upstream', { auth: 'none' });
      const mirror = await scenarioRegistry(s, 'mirror-a-mirror', { auth: 'none' });
      const images = await distinctImages(s, upstream, mirror);
      const node = await s.freeWorker();
      await installMirror(s, node, { upstream: upstream.host, mirrors: [mirror.host], caPem: s.env.ca.certPem });
      s.rule(
        s.env.posture.runtime === 'cri-o'
          ? `${orderRule(s)}; a mirror serves pulls by tag and by digest (pull-from-mirror defaults to all)`
          : `${HOSTS_MD}: hosts are tried first in the order listed; a private mirror may resolve (capabilities pull, resolve); server is the fallback`,
      );
      const since = new Date(Date.now() - 1000);
      const ref = upstream.ref(images.upstream.repository, images.upstream.tag);
      await s.expectRan(await s.runPod({ name: 'through-mirror', image: ref, nodeName: node, pullPolicy: 'Always' }), images.mirror);
      const seen = await requestsSeen(
        s,
        [
          { role: 'mirror', r: mirror },
          { role: 'upstream', r: upstream },
        ],
        images.upstream.repository,
        since,
      );
      const gaps = servedPullGaps(seen['mirror'] ?? [], images.mirror.repository, images.mirror.blobs);
      claim(
        !gaps,
        () =>
          `the mirror, tried first and able to resolve, should have served the pull (manifest and the image's own blobs), but its log shows ${gaps}`,
      );
      expectNamespaceParameter(s, 'mirror', seen['mirror'] ?? [], upstream.host);
      claim(
        (seen['upstream'] ?? []).length === 0,
        () =>
          `${mirrorDoc(s)}: the upstream is used only once all mirrors were tried, and the mirror served the pull, so the upstream should have had no request for the repository, but it logged ${describeRequests(seen['upstream'] ?? [], {}).join(', ')}`,
      );
    },
  );

  suite.scenario(
    'mirror-down-falls-back',
    "with the mirror stopped, the node falls back to the upstream (the hosts.toml server): the pod runs the upstream's image and the upstream's log shows the pull",
    { needs: ['node-access', 'worker', 'kind'] },
    async (s) => {
      const upstream = await scenarioRegistry(s, 'mirror-b-upstream', { auth: 'none' });
      const mirror = await scenarioRegistry(s, 'mirror-b-mirror', { auth: 'none' });
      const images = await distinctImages(s, upstream, mirror);
      const node = await s.freeWorker();
      await installMirror(s, node, { upstream: upstream.host, mirrors: [mirror.host], caPem: s.env.ca.certPem });
      // Its log before it goes: what it was asked for the repository (the push only) is the evidence it served no pull.
      const mirrorLog = await mirror.logs();
      await mirror.stop();
      s.env.logger.info(`[${s.id}] MIRROR ${mirror.host} stopped (container removed)`);
      s.rule(orderRule(s));
      const since = new Date(Date.now() - 1000);
      const ref = upstream.ref(images.upstream.repository, images.upstream.tag);
      const started = Date.now();
      await s.expectRan(await s.runPod({ name: 'mirror-down', image: ref, nodeName: node, pullPolicy: 'Always' }), images.upstream);
      s.env.logger.info(`[${s.id}] pod ran ${Math.round((Date.now() - started) / 1000)}s after it was created`);
      const seen = await requestsSeen(s, [{ role: 'upstream', r: upstream }], images.upstream.repository, since);
      const beforeStop = repositoryRequests(loggedRequests(mirrorLog), images.upstream.repository, new Date(0));
      s.observe('mirror', [
        `${describeRequests(beforeStop, {}).join(', ')} from the node before it was stopped`,
        'stopped before the pod: its container removed, its name unresolvable on the network',
      ]);
      const gaps = servedPullGaps(seen['upstream'] ?? [], images.upstream.repository, images.upstream.blobs);
      claim(!gaps, () => `with the mirror down, the upstream (the fallback) should have served the pull, but its log shows ${gaps}`);
    },
  );

  suite.scenario(
    'mirror-credentials-upstream-secret',
    "the mirror requires a password the pod has no Secret for; the pod's imagePullSecret is for the upstream host: the mirror is asked first and refuses, the node falls back to the upstream, which accepts the Secret",
    { needs: ['node-access', 'worker', 'kind'] },
    async (s) => {
      const upstream = await scenarioRegistry(s, 'mirror-c-upstream', { auth: 'htpasswd' });
      // The same user name, another password: the mirror's log then names a refused attempt with the
      // upstream's credentials, where an unknown user would leave no line.
      const mirror = await scenarioRegistry(s, 'mirror-c-mirror', {
        auth: 'htpasswd',
        ...(upstream.username ? { username: upstream.username } : {}),
      });
      const images = await distinctImages(s, upstream, mirror);
      const node = await s.freeWorker();
      await installMirror(s, node, { upstream: upstream.host, mirrors: [mirror.host], caPem: s.env.ca.certPem });
      const secret = await s.pullSecret(upstream);
      s.rule(
        `${orderRule(s)}; the runtime takes credentials from kubelet. The docs do not say whether a Secret for the upstream host is sent to a mirror: observed, not asserted`,
      );
      const since = new Date(Date.now() - 1000);
      const ref = upstream.ref(images.upstream.repository, images.upstream.tag);
      await s.expectRan(
        await s.runPod({ name: 'mirror-creds', image: ref, nodeName: node, pullPolicy: 'Always', imagePullSecrets: [secret] }),
        images.upstream,
      );
      const seen = await requestsSeen(
        s,
        [
          { role: 'mirror', r: mirror },
          { role: 'upstream', r: upstream },
        ],
        images.upstream.repository,
        since,
      );
      const atMirror = seen['mirror'] ?? [];
      const atUpstream = seen['upstream'] ?? [];
      claim(
        atMirror.length > 0,
        `${mirrorDoc(s)}: the mirror is tried before the upstream, so it should have had a request for the repository, but its log has none`,
      );
      expectNamespaceParameter(s, 'mirror', atMirror, upstream.host);
      const firstUpstream = atUpstream[0]?.time.getTime() ?? Number.POSITIVE_INFINITY;
      claim(
        (atMirror[0]?.time.getTime() ?? Number.POSITIVE_INFINITY) <= firstUpstream,
        `${mirrorDoc(s)}: the mirror is tried first, so its first request should come before the upstream's, but it came after`,
      );
      const served = atMirror.filter((e) => e.status === 200);
      claim(
        served.length === 0,
        () =>
          `the mirror requires its own password, which the pod has no Secret for, so it should have served nothing, but it answered ${describeRequests(served, {}).join(', ')}`,
      );
      const gaps = servedPullGaps(atUpstream, images.upstream.repository, images.upstream.blobs);
      claim(!gaps, () => `the upstream (the fallback) should have served the pull with the pod's Secret, but its log shows ${gaps}`);
      await credentialsSeen(s, 'mirror', mirror, images.upstream.repository, since, AT_MIRROR);
      const atUpstreamCreds = await credentialsSeen(s, 'upstream', upstream, images.upstream.repository, since, AT_UPSTREAM);
      claim(
        atUpstreamCreds.includes(AT_UPSTREAM.accepted),
        `the upstream accepted the pull, so its log should show the Secret's credentials accepted, but it shows ${atUpstreamCreds}`,
      );
    },
  );

  suite.scenario(
    'mirror-own-secret-not-used',
    "a pull Secret holding the mirror's credentials beside the upstream's: kubelet hands the runtime only the entry matching the image's registry, so the mirror, which needs its own, accepts none and the node falls back to the upstream",
    { needs: ['node-access', 'worker', 'kind'] },
    async (s) => {
      const upstream = await scenarioRegistry(s, 'mirror-d-upstream', { auth: 'htpasswd' });
      // One user name, two passwords: the mirror's log tells the upstream's password (refused) from its own (accepted).
      const mirror = await scenarioRegistry(s, 'mirror-d-mirror', {
        auth: 'htpasswd',
        ...(upstream.username ? { username: upstream.username } : {}),
      });
      const images = await distinctImages(s, upstream, mirror);
      const node = await s.freeWorker();
      await installMirror(s, node, { upstream: upstream.host, mirrors: [mirror.host], caPem: s.env.ca.certPem });
      const secret = await s.pullSecret([upstream.credential(), mirror.credential()]);
      s.rule(
        `the page (Interpretation of config.json): credentials are matched against the image's name, here the upstream's host, so the mirror's entry is never handed to the runtime; ${orderRule(s)}`,
      );
      const since = new Date(Date.now() - 1000);
      const ref = upstream.ref(images.upstream.repository, images.upstream.tag);
      await s.expectRan(
        await s.runPod({ name: 'mirror-own-secret', image: ref, nodeName: node, pullPolicy: 'Always', imagePullSecrets: [secret] }),
        images.upstream,
      );
      const seen = await requestsSeen(
        s,
        [
          { role: 'mirror', r: mirror },
          { role: 'upstream', r: upstream },
        ],
        images.upstream.repository,
        since,
      );
      const atMirror = seen['mirror'] ?? [];
      claim(
        atMirror.length > 0,
        `${mirrorDoc(s)}: the mirror is tried before the upstream, so it should have had a request for the repository, but its log has none`,
      );
      const served = atMirror.filter((e) => e.status === 200);
      claim(
        served.length === 0,
        () =>
          `kubelet hands the runtime only the credentials matching the image's registry, so the mirror should never have got its own and served nothing, but it answered ${describeRequests(served, {}).join(', ')}`,
      );
      const mirrorCreds = await credentialsSeen(s, 'mirror', mirror, images.upstream.repository, since, AT_MIRROR);
      claim(
        !mirrorCreds.includes(AT_MIRROR.accepted),
        `the mirror's own credentials should never have reached it (kubelet matches the image's registry only), but its log shows ${mirrorCreds}`,
      );
      const gaps = servedPullGaps(seen['upstream'] ?? [], images.upstream.repository, images.upstream.blobs);
      claim(!gaps, () => `the upstream (the fallback) should have served the pull with the pod's Secret, but its log shows ${gaps}`);
    },
  );
});
