// How a node's config.json entries match an image (the English page, "Interpretation of
// config.json"): a `*.` glob stands for one domain part, not two; the port must be the image's; an
// entry with a path applies only to images under it; and when several entries match, kubelet tries
// each in turn until one pulls. Two registries whose names have dots (on the kind network:
// `pullcheck-reg-<run>-one.pullcheck.test` and `…-two.levels.pullcheck.test`), and each registry's
// own log of the credentials the node's runtime presented, show which entry kubelet applied.
//
// Every scenario writes {root-dir}/config.json on a worker it locks, restarts kubelet, and undoes
// both after (helpers/kubelet/nodecreds.ts). Each has a pod that pulls with the file, so that a
// refusal beside it is about the entry, not a file kubelet did not read.
import {
  claim,
  credentialSearchPaths,
  defineSuite,
  EventReason,
  expectNodeAttempts,
  expectNoFailedPullEvent,
  installNodeCredentials,
  kubeletProcessFacts,
  type PushedTestImage,
  presentCredentialFiles,
  type RegistryCredential,
  renderCredentialFile,
  type ScenarioContext,
  type TestRegistry,
  UNAUTHORIZED,
} from '../helpers/framework/harness.ts';

/** The parent domain both registries' names end in. */
const DOMAIN = 'pullcheck.test';
/** One domain part under DOMAIN (`pullcheck-reg-<run>-one.pullcheck.test`), and two. */
const ONE_LEVEL = `one.${DOMAIN}`;
const TWO_LEVELS = `two.levels.${DOMAIN}`;

export const suite = defineSuite({
  name: 'config-json',
  registries: [
    { name: ONE_LEVEL, auth: 'htpasswd' },
    { name: TWO_LEVELS, auth: 'htpasswd' },
  ],
  nodes: 'locked',
  home: 'explicit', // every pod names the worker whose config.json it tests
});

const MATCH_RULE =
  "kubelet v1.37 credentialprovider URLsMatch (keyring.go): an entry matches an image when both have the same number of domain parts and each part matches (filepath.Match: `*` within one part), the ports are equal (none in the entry matches none in the image only), and the entry's path is a prefix of the image's; Lookup returns every matching entry, the index sorted in reverse (a longer path first), and kubelet pulls with each in turn until one pulls";

/** The suite's two registries, which must be pullcheck's own: only they have names under DOMAIN. */
function registries(s: ScenarioContext): { one: TestRegistry; two: TestRegistry } {
  const one = s.env.registry(ONE_LEVEL);
  const two = s.env.registry(TWO_LEVELS);
  for (const r of [one, two])
    if (!r.local)
      s.skipDeclared(
        `${r.host} stands in for the suite's registry ${r.spec.name}: the matching rules need pullcheck's own registries, named under ${DOMAIN}`,
      );
  return { one, two };
}

/** The host part of `registry` (`pullcheck-reg-<run>-one.pullcheck.test`) and its port. */
function hostAndPort(registry: TestRegistry): { name: string; port: string } {
  const colon = registry.host.lastIndexOf(':');
  return { name: registry.host.slice(0, colon), port: registry.host.slice(colon + 1) };
}

/** `registry`'s credentials under another config.json key (a glob, another port, a path). */
function entry(registry: TestRegistry, server: string, password?: string): RegistryCredential {
  return { ...registry.credential(password), server };
}

/**
 * Locks a free worker, checks it has no credential file, writes {root-dir}/config.json with
 * `entries` and restarts kubelet (undone after the scenario).
 */
async function nodeWithConfigJson(s: ScenarioContext, entries: readonly RegistryCredential[]): Promise<string> {
  const node = await s.freeWorker('last');
  const paths = credentialSearchPaths(await kubeletProcessFacts(s.env.cluster.nodes, node));
  const present = await presentCredentialFiles(s.env.cluster.nodes, node, paths);
  claim(
    present.length === 0,
    () =>
      `kubelet on ${node} should find no credential file before the scenario writes one (a leftover would answer for the one under test), but ${present.join(', ')} exist`,
  );
  const rootDir = paths.find((p) => p.format === 'config.json' && p.place === 'root-dir');
  if (!rootDir) throw new Error('no {root-dir}/config.json search path');
  s.rule(`${rootDir.path} on ${node} holds entries ${entries.map((e) => e.server).join(', ')}`);
  await installNodeCredentials(s, node, { files: [{ path: rootDir.path, content: renderCredentialFile('config.json', entries) }] });
  return node;
}

/** The pod pulled `image` with the node's file and ran it (a `Successfully pulled` event). */
async function expectPulledWithFile(s: ScenarioContext, name: string, image: PushedTestImage, node: string): Promise<void> {
  const pod = await s.expectRan(await s.runPod({ name, image: image.ref, nodeName: node }), image);
  await s.waitForEvent(pod.metadata?.name ?? '', EventReason.Pulled, /Successfully pulled image/);
}

/** The pod's pull was refused (ErrImagePull/ImagePullBackOff, `Failed` unauthorized) and the registry saw no credentials. */
async function expectNoEntryApplied(
  s: ScenarioContext,
  name: string,
  registry: TestRegistry,
  image: PushedTestImage,
  node: string,
  why: string,
): Promise<void> {
  const since = new Date();
  await s.expectPullFailure(await s.runPod({ name, image: image.ref, nodeName: node }), UNAUTHORIZED);
  await expectNodeAttempts(s, registry, image, since, [], why);
}

suite.section('config-json: how an entry matches an image', () => {
  suite.scenario(
    'glob-matches-one-subdomain-level',
    `an entry *.${DOMAIN}:5000 gives its credentials to a registry one domain part under ${DOMAIN}, and none to one two parts under it: that pull is refused unauthorized with no credentials presented`,
    { needs: ['node-access', 'access-log'] },
    async (s) => {
      const { one, two } = registries(s);
      const glob = `*.${DOMAIN}:${hostAndPort(one).port}`;
      s.rule(MATCH_RULE);
      s.rule(
        `${hostAndPort(one).name} has ${hostAndPort(one).name.split('.').length} parts like ${glob}; ${hostAndPort(two).name} has ${hostAndPort(two).name.split('.').length}`,
      );
      const a = await s.image(one);
      const b = await s.image(two);
      const node = await nodeWithConfigJson(s, [entry(one, glob)]);
      const since = new Date();
      await expectPulledWithFile(s, 'one-level', a, node);
      await expectNodeAttempts(s, one, a, since, ['accepted'], `${glob} matches ${one.host}`);
      await expectNoEntryApplied(s, 'two-levels', two, b, node, `${glob} does not match ${two.host} (one more domain part)`);
    },
  );

  suite.scenario(
    'port-must-match',
    "entries for the registry's name without a port and with another port give it no credentials: the pull is refused unauthorized with none presented, while an entry with the image's port beside them pulls",
    { needs: ['node-access', 'access-log'] },
    async (s) => {
      const { one, two } = registries(s);
      const { name, port } = hostAndPort(one);
      const other = String(Number(port) + 1);
      s.rule(MATCH_RULE);
      const a = await s.image(one);
      const b = await s.image(two);
      const node = await nodeWithConfigJson(s, [entry(one, name), entry(one, `${name}:${other}`), entry(two, two.host)]);
      const since = new Date();
      await expectPulledWithFile(s, 'port-given', b, node);
      await expectNodeAttempts(s, two, b, since, ['accepted'], `${two.host} is the image's registry and port`);
      await expectNoEntryApplied(
        s,
        'port-differs',
        one,
        a,
        node,
        `neither ${name} (no port) nor ${name}:${other} has the image's port ${port}`,
      );
    },
  );

  suite.scenario(
    'path-prefix-applies-under-path',
    'an entry registry:port/team-a gives its credentials to images under team-a/ only: one under team-b/ is refused unauthorized with no credentials presented',
    { needs: ['node-access', 'access-log'] },
    async (s) => {
      const { one } = registries(s);
      s.rule(MATCH_RULE);
      const inside = await s.image(one, { repository: s.uniqueRepository('team-a') });
      const outside = await s.image(one, { repository: s.uniqueRepository('team-b') });
      const prefix = `${one.host}/team-a`;
      const node = await nodeWithConfigJson(s, [entry(one, prefix)]);
      const since = new Date();
      await expectPulledWithFile(s, 'under-path', inside, node);
      await expectNodeAttempts(s, one, inside, since, ['accepted'], `${prefix} is a prefix of ${inside.ref}`);
      await expectNoEntryApplied(s, 'other-path', one, outside, node, `${prefix} is not a prefix of ${outside.ref}`);
    },
  );

  suite.scenario(
    'several-matching-entries-tried-in-turn',
    'two entries match the image, the longer (registry:port/team, a wrong password) and registry:port (the right one): kubelet tries the first, is refused, pulls with the second; the pod runs with no Failed event',
    { needs: ['node-access', 'access-log'] },
    async (s) => {
      const { one } = registries(s);
      s.rule(MATCH_RULE);
      const image = await s.image(one, { repository: s.uniqueRepository('team') });
      const longer = `${one.host}/team`;
      const node = await nodeWithConfigJson(s, [entry(one, longer, 'pullcheck-wrong-password'), entry(one, one.host)]);
      const since = new Date();
      const verdict = await s.runPod({ name: 'two-entries', image: image.ref, nodeName: node });
      await s.expectRan(verdict, image);
      await s.waitForEvent('two-entries', EventReason.Pulled, /Successfully pulled image/);
      await expectNoFailedPullEvent(s, verdict);
      await expectNodeAttempts(
        s,
        one,
        image,
        since,
        ['refused', 'accepted'],
        `${longer} (wrong password) sorts before ${one.host} (right) and both match ${image.ref}: kubelet tries them in that order`,
      );
    },
  );
});
