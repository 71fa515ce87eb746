// Node credentials: a docker config file on the node gives every pod on it the registry's
// credentials without an imagePullSecret, from each place kubelet searches, in kubelet's order;
// credential helpers give nothing; a node without the file gets nothing; and kubelet reads the
// files when it starts (its docker-config provider caches them for 5 minutes), so a new file needs a
// restart. What kubelet searches and why the restart: helpers/kubelet/nodecreds.ts. Then what the
// page leaves open: which credential wins when a pull Secret and the node's file cover the same
// registry, the HOME paths (kubelet given a HOME) and the search order when two files disagree,
// and the page's own verification pod.
//
// Every scenario changes a node and restores it (file removed, kubelet restarted, node Ready) in a
// deferred cleanup that runs even when it fails. jest runs the tests of a file one after another,
// which keeps node changes from overlapping. The restore's restart is owed to the node until the
// next scenario there restarts kubelet after writing its own files (one restart for both: kubelet
// reads only the new files), or the suite ends (helpers/kubelet/owedrestart.ts); a scenario that
// reads or uses the node before its own restart pays it first.

import type { V1Pod } from '@kubernetes/client-node';
import {
  type Capability,
  type CredentialFileFormat,
  type CredentialSearchPath,
  claim,
  credentialSearchPaths,
  credsStoreOnlyConfigJson,
  defineSuite,
  EventReason,
  expectNodeAttempts,
  expectNoFailedPullEvent,
  fileKubeletReads,
  httpHeadersOnlyConfigJson,
  installNodeCredentials,
  installNodeFile,
  kubeletProcessFacts,
  logTail,
  owedFirst,
  type PodVerdict,
  PULL_FAILED_REASONS,
  type PushedTestImage,
  pageVerificationPod,
  podWhere,
  presentCredentialFiles,
  renderCredentialFile,
  type ScenarioContext,
  type SearchPlace,
  sameFileAs,
  settleNode,
  UNAUTHORIZED,
  waitFor,
} from '../helpers/framework/harness.ts';

export const suite = defineSuite({
  name: 'node-credentials',
  registries: [{ name: 'private', auth: 'htpasswd' }],
  nodes: 'locked',
  home: 'explicit', // every pod names the node whose credential files it tests
});

/**
 * Every scenario here settles each node it uses first (searchPathsOn), so a restore's kubelet
 * restart may be left owed to the node and merged with the next scenario's (helpers/kubelet/owedrestart.ts).
 */
const OWE = { owe: true } as const;

/**
 * The node this suite works on: a control plane pods can be pinned to, waited for when another
 * scenario holds it, since the other node-changing suites want workers and this one, a lane of its
 * own, would otherwise hold one of them for its whole run; without one, a worker nobody else
 * holds, one this suite owes a kubelet restart first (its next restart pays it).
 */
async function freeNode(s: ScenarioContext): Promise<string> {
  s.worker(0);
  const [controlPlane] = s.controlPlanes();
  if (controlPlane === undefined) return s.lockFreeNode(owedFirst(s.workers()));
  await s.lockNode(controlPlane);
  return controlPlane;
}

/** kubelet's {root-dir}/config.json on `node` (checked free of leftovers, under the node's lock). */
async function rootDirConfigJson(s: ScenarioContext, node: string, o: { merge?: boolean } = {}): Promise<CredentialSearchPath> {
  const rootDir = (await searchPathsOn(s, node, o)).find((p) => p.format === 'config.json' && p.place === 'root-dir');
  if (!rootDir) throw new Error('no {root-dir}/config.json search path');
  return rootDir;
}

/**
 * kubelet's search paths on `node` (with `home`: once kubelet runs with that HOME), after checking
 * that none of them holds a file already. `merge`: the scenario's first use of the node is to write
 * its files and restart kubelet, which pays a restart owed to the node; otherwise it is paid here.
 */
async function searchPathsOn(
  s: ScenarioContext,
  node: string,
  o: { home?: string; merge?: boolean } = {},
): Promise<CredentialSearchPath[]> {
  // Read only under the node's lock: another suite may be restarting its kubelet or have a credential file there for a moment.
  await s.lockNode(node);
  await settleNode(s, node, { merge: o.merge ?? false, home: o.home !== undefined });
  const facts = await kubeletProcessFacts(s.env.cluster.nodes, node);
  s.env.logger.info(
    `[${s.id}] [${node}] KUBELET pid ${facts.pid}, root-dir ${facts.rootDir}, cwd ${facts.cwd}, HOME ${facts.home ?? '(unset)'}`,
  );
  const paths = credentialSearchPaths(o.home ? { ...facts, home: o.home } : facts);
  // A leftover file would answer for the one under test; fail on it rather than pass by accident.
  const present = await presentCredentialFiles(s.env.cluster.nodes, node, paths);
  claim(
    present.length === 0,
    () =>
      `kubelet on ${node} should find no credential file before the scenario writes one (a leftover would answer for the one under test), but ${present.join(', ')} exist`,
  );
  return paths;
}

/** The pod pulled the image (a `Successfully pulled` event) and ran it. */
async function expectPulledAndRan(s: ScenarioContext, verdict: PodVerdict, image: PushedTestImage): Promise<void> {
  const pod = await s.expectRan(verdict, image);
  await s.waitForEvent(pod.metadata?.name ?? '', EventReason.Pulled, /Successfully pulled image/);
}

const SEARCH_ORDER: readonly {
  id: string;
  format: CredentialFileFormat;
  place: SearchPlace;
  title: string;
  capabilities?: readonly Capability[];
}[] = [
  {
    id: 'root-dir-config-json',
    format: 'config.json',
    place: 'root-dir',
    title: '{root-dir}/config.json (kubelet --root-dir, /var/lib/kubelet)',
    capabilities: ['credentials-accepted'],
  },
  {
    id: 'cwd-config-json',
    format: 'config.json',
    place: 'cwd',
    title: "{cwd}/config.json (kubelet's working directory; the same file as /config.json when it is /)",
  },
  {
    id: 'home-docker-config-json',
    format: 'config.json',
    place: 'home',
    title: '${HOME}/.docker/config.json (with HOME unset kubelet resolves it against its cwd: /.docker/config.json when that is /)',
  },
  { id: 'root-docker-config-json', format: 'config.json', place: 'root', title: '/.docker/config.json' },
  { id: 'root-dir-dockercfg', format: '.dockercfg', place: 'root-dir', title: 'legacy {root-dir}/.dockercfg' },
  {
    id: 'cwd-dockercfg',
    format: '.dockercfg',
    place: 'cwd',
    title: 'legacy {cwd}/.dockercfg (the same file as /.dockercfg when cwd is /)',
  },
  { id: 'home-dockercfg', format: '.dockercfg', place: 'home', title: 'legacy ${HOME}/.dockercfg (with HOME unset: {cwd}/.dockercfg)' },
  { id: 'root-dockercfg', format: '.dockercfg', place: 'root', title: 'legacy /.dockercfg' },
];

suite.section('node-credentials: every place kubelet searches, in its order', () => {
  for (const entry of SEARCH_ORDER) {
    suite.scenario(
      entry.id,
      `a pod without imagePullSecrets pulls from the htpasswd registry with credentials kubelet reads from ${entry.title}`,
      { capabilities: entry.capabilities ?? [], needs: ['node-access', 'worker'] },
      async (s) => {
        const node = await freeNode(s);
        const paths = await searchPathsOn(s, node, { merge: true });
        const target = paths.find((p) => p.format === entry.format && p.place === entry.place);
        if (!target) throw new Error(`no search path ${entry.format} in ${entry.place}`);
        const same = sameFileAs(target, paths);
        s.env.logger.info(
          `[${s.id}] [${node}] PATH ${target.template} = ${target.path}${same.length ? ` (on this node the same file as ${same.map((p) => p.template).join(', ')})` : ''}`,
        );
        const img = await s.image(s.env.registry('private'));
        await installNodeFile(s, node, target.path, renderCredentialFile(entry.format, [s.env.registry('private').credential()]), OWE);
        await expectPulledAndRan(s, await s.runPod({ name: 'node-creds', image: img.ref, nodeName: node }), img);
      },
    );
  }
});

suite.section('node-credentials: what does not give credentials', () => {
  suite.scenario(
    'creds-store-ignored',
    'a node config.json with only credsStore/credHelpers gives kubelet no credentials: ErrImagePull, unauthorized',
    { needs: ['node-access', 'worker'] },
    async (s) => {
      const node = await freeNode(s);
      const rootDir = await rootDirConfigJson(s, node, { merge: true });
      const img = await s.image(s.env.registry('private'));
      await installNodeFile(s, node, rootDir.path, credsStoreOnlyConfigJson([s.env.registry('private').host]), OWE);
      await s.expectPullFailure(await s.runPod({ name: 'creds-store', image: img.ref, nodeName: node }), UNAUTHORIZED);
    },
  );

  suite.scenario(
    'missing-on-some-nodes',
    'credentials on one node serve pods pinned there only: the pod on another node fails unauthorized',
    { needs: ['node-access', 'worker'] },
    async (s) => {
      const withCreds = await freeNode(s);
      const rootDir = await rootDirConfigJson(s, withCreds, { merge: true });
      const img = await s.image(s.env.registry('private'));
      await installNodeFile(s, withCreds, rootDir.path, renderCredentialFile('config.json', [s.env.registry('private').credential()]), OWE);
      await expectPulledAndRan(s, await s.runPod({ name: 'with-creds', image: img.ref, nodeName: withCreds }), img);
      // Any node without the file will do, so take one nobody holds (a worker, else a kind control
      // plane: a pod with nodeName passes its NoSchedule taint) rather than wait for another suite's
      // kubelet policy group on a worker.
      const others = [...s.workers(), ...s.controlPlanes()].filter((n) => n !== withCreds);
      claim(
        others.length >= 1,
        `test setup: the pod without credentials needs a node other than ${withCreds}, but the cluster has no other worker or control plane`,
      );
      const without = await s.lockFreeNode(others);
      await searchPathsOn(s, without);
      await s.expectPullFailure(await s.runPod({ name: 'without-creds', image: img.ref, nodeName: without }), UNAUTHORIZED);
    },
  );

  suite.scenario(
    'new-file-unseen-until-restart',
    'kubelet keeps what it last read (nothing) for 5 minutes: a file written after a pull is ignored until kubelet restarts',
    { needs: ['node-access', 'worker'] },
    async (s) => {
      const node = await freeNode(s);
      const rootDir = await rootDirConfigJson(s, node);
      const img = await s.image(s.env.registry('private'));
      // Always: the failed pods below keep retrying in back-off, and once kubelet has the file one of
      // them may get the image onto the node first; each pod must prove its own pull.
      const pod = (name: string) => s.runPod({ name, image: img.ref, nodeName: node, pullPolicy: 'Always' });
      // This pull makes kubelet read the (absent) files and cache "no credentials" for 5 minutes.
      await s.expectPullFailure(await pod('before-file'), UNAUTHORIZED);
      const file = await installNodeFile(
        s,
        node,
        rootDir.path,
        renderCredentialFile('config.json', [s.env.registry('private').credential()]),
        { restart: false, owe: true },
      );
      await s.expectPullFailure(await pod('file-no-restart'), UNAUTHORIZED);
      await file.restart();
      await expectPulledAndRan(s, await pod('after-restart'), img);
    },
  );

  suite.scenario(
    'http-headers',
    'HttpHeaders in a node config.json never reach the registry: an Authorization header there gives no access (a documented deviation from the Kubernetes docs)',
    { needs: ['node-access', 'worker'] },
    async (s) => {
      // The docs say config.json's HttpHeaders are honoured. Kubelet parses them, but the CRI's
      // AuthConfig has no field for headers, so containerd cannot send them. Proof the registry can
      // see: the only way in is the header's own Authorization, and the pull stays unauthorized.
      const node = await freeNode(s);
      const rootDir = await rootDirConfigJson(s, node, { merge: true });
      const c = s.env.registry('private').credential();
      const img = await s.image(s.env.registry('private'));
      await installNodeFile(
        s,
        node,
        rootDir.path,
        httpHeadersOnlyConfigJson({ Authorization: `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}` }),
        OWE,
      );
      await s.expectPullFailure(await s.runPod({ name: 'http-headers', image: img.ref, nodeName: node }), UNAUTHORIZED);
      s.env.logger.info(`[${s.id}] [${node}] DEVIATION HttpHeaders from config.json are not sent by the CRI runtime`);
    },
  );
});

/** A password the registry refuses for its own user, so that its log names whose credential was tried. */
const WRONG_PASSWORD = 'pullcheck-wrong-password';

const KEYRING_RULE =
  "kubelet v1.37 (images/image_manager.go): MakeDockerKeyring(the pod's Secrets, UnionDockerKeyring{the node's files, credential plugins}) lists the Secrets' credentials first; PullImage (kuberuntime_image.go) tries each in turn and stops at the first that pulls";

suite.section("node-credentials: a pull Secret and the node's config.json for the same registry", () => {
  for (const c of [
    {
      id: 'secret-right-node-wrong',
      secretRight: true,
      title:
        "a pull Secret with the right password and the node's config.json with a wrong one for the same registry: kubelet tries the Secret first, the pod runs, and the node's wrong password never reaches the registry",
    },
    {
      id: 'secret-wrong-node-right',
      secretRight: false,
      title:
        "a pull Secret with a wrong password and the node's config.json with the right one: kubelet tries the Secret, is refused, then pulls with the node's credential; the pod runs",
    },
  ]) {
    suite.scenario(c.id, c.title, { needs: ['node-access', 'worker'] }, async (s) => {
      const node = await freeNode(s);
      const rootDir = await rootDirConfigJson(s, node, { merge: true });
      const registry = s.env.registry('private');
      const right = registry.credential();
      const wrong = registry.credential(WRONG_PASSWORD);
      const img = await s.image(registry);
      await installNodeCredentials(
        s,
        node,
        {
          files: [{ path: rootDir.path, content: renderCredentialFile('config.json', [c.secretRight ? wrong : right]) }],
        },
        OWE,
      );
      const secret = await s.pullSecret(c.secretRight ? right : wrong, { name: c.secretRight ? 'right' : 'wrong' });
      s.rule(KEYRING_RULE);
      // The expectation: kubelet's order, tried up to the first right credential.
      const order = [
        { from: `Secret ${secret}`, right: c.secretRight },
        { from: `${rootDir.path} on ${node}`, right: !c.secretRight },
      ];
      const tried = order.slice(0, order.findIndex((o) => o.right) + 1);
      const since = new Date();
      const verdict = await s.runPod({ name: 'secret-and-node', image: img.ref, nodeName: node, imagePullSecrets: [secret] });
      await expectPulledAndRan(s, verdict, img);
      // A refused credential followed by one that pulls is one successful pull: kubelet reports no failure.
      await expectNoFailedPullEvent(s, verdict);
      await expectNodeAttempts(
        s,
        registry,
        img,
        since,
        tried.map((o) => (o.right ? 'accepted' : 'refused')),
        `kubelet tries ${order.map((o) => `${o.from} (${o.right ? 'right' : 'wrong'} password)`).join(' then ')} and stops at the first that pulls`,
      );
    });
  }
});

/** The HOME the scenarios below give kubelet: a directory of its own, distinct from root-dir, cwd and /. */
const KUBELET_HOME = '/var/lib/pullcheck-kubelet-home';

const SEARCH_RULE = `kubelet v1.37 ReadDockerConfigFile (credentialprovider/config.go): config.json in {root-dir}, {cwd}, \${HOME}/.docker, /.docker, then, only when none is found, .dockercfg in {root-dir}, {cwd}, \${HOME}, /; the first readable file is the only one read`;

function searchPath(paths: readonly CredentialSearchPath[], format: CredentialFileFormat, place: SearchPlace): CredentialSearchPath {
  const p = paths.find((x) => x.format === format && x.place === place);
  if (!p) throw new Error(`no search path ${format} in ${place}`);
  return p;
}

suite.section('node-credentials: kubelet with a HOME (a systemd drop-in), its HOME paths and the search order', () => {
  for (const entry of [
    { id: 'with-home-home-docker-config-json', format: 'config.json' as const, title: '${HOME}/.docker/config.json' },
    { id: 'with-home-home-dockercfg', format: '.dockercfg' as const, title: 'legacy ${HOME}/.dockercfg' },
  ]) {
    suite.scenario(
      entry.id,
      `with HOME=${KUBELET_HOME} in kubelet's environment, a pod without imagePullSecrets pulls with credentials kubelet reads from ${entry.title}, a file distinct from the cwd and root-dir ones`,
      { needs: ['node-access', 'worker'] },
      async (s) => {
        const node = await freeNode(s);
        const paths = await searchPathsOn(s, node, { home: KUBELET_HOME, merge: true });
        const target = searchPath(paths, entry.format, 'home');
        const same = sameFileAs(target, paths);
        claim(
          same.length === 0,
          () =>
            `test setup: with HOME=${KUBELET_HOME}, kubelet's ${target.template} on ${node} should be a file of its own, but ${target.path} is also ${same.map((p) => p.template).join(', ')}`,
        );
        s.env.logger.info(`[${s.id}] [${node}] PATH ${target.template} = ${target.path}`);
        const registry = s.env.registry('private');
        const img = await s.image(registry);
        await installNodeCredentials(
          s,
          node,
          {
            home: KUBELET_HOME,
            files: [{ path: target.path, content: renderCredentialFile(entry.format, [registry.credential()]) }],
          },
          OWE,
        );
        await expectPulledAndRan(s, await s.runPod({ name: 'home-creds', image: img.ref, nodeName: node }), img);
      },
    );
  }

  // Two files that disagree: one has the right password, the other a wrong one. The expected winner
  // comes from kubelet's documented order (fileKubeletReads), on this node's paths.
  const example = credentialSearchPaths({ rootDir: '/var/lib/kubelet', cwd: '/', home: KUBELET_HOME });
  type Key = { format: CredentialFileFormat; place: SearchPlace };
  const cfg = (place: SearchPlace): Key => ({ format: 'config.json', place });
  const legacy = (place: SearchPlace): Key => ({ format: '.dockercfg', place });
  for (const pair of [
    { id: 'search-order-first-file-wins', right: cfg('root-dir'), wrong: cfg('home') },
    { id: 'search-order-later-file-ignored', right: cfg('home'), wrong: cfg('root-dir') },
    { id: 'search-order-home-before-root', right: cfg('root'), wrong: cfg('home') },
    { id: 'search-order-config-json-before-dockercfg', right: legacy('root-dir'), wrong: cfg('root') },
    { id: 'search-order-dockercfg-root-dir-before-home', right: legacy('root-dir'), wrong: legacy('home') },
  ]) {
    const r = searchPath(example, pair.right.format, pair.right.place);
    const w = searchPath(example, pair.wrong.format, pair.wrong.place);
    const runs = fileKubeletReads(example, [r, w]) === r;
    suite.scenario(
      pair.id,
      `with HOME set, ${r.template} holding the right password and ${w.template} a wrong one: kubelet reads only the first it finds, ${runs ? r.template : w.template}, so the pod ${runs ? 'runs' : 'fails unauthorized'}`,
      { needs: ['node-access', 'worker'] },
      async (s) => {
        const node = await freeNode(s);
        const paths = await searchPathsOn(s, node, { home: KUBELET_HOME, merge: true });
        const right = searchPath(paths, pair.right.format, pair.right.place);
        const wrong = searchPath(paths, pair.wrong.format, pair.wrong.place);
        claim(
          right.path !== wrong.path,
          `test setup: ${right.template} and ${wrong.template} should be two files on ${node} with HOME=${KUBELET_HOME}, but both are ${right.path}`,
        );
        const winner = fileKubeletReads(paths, [right, wrong]);
        s.rule(`${SEARCH_RULE}: here ${winner?.template} (${winner?.path})`);
        const registry = s.env.registry('private');
        const img = await s.image(registry);
        await installNodeCredentials(
          s,
          node,
          {
            home: KUBELET_HOME,
            files: [
              { path: right.path, content: renderCredentialFile(right.format, [registry.credential()]) },
              { path: wrong.path, content: renderCredentialFile(wrong.format, [registry.credential(WRONG_PASSWORD)]) },
            ],
          },
          OWE,
        );
        const since = new Date();
        const verdict = await s.runPod({ name: 'two-files', image: img.ref, nodeName: node });
        const why = `kubelet reads only ${winner?.template} (${winner === right ? 'right' : 'wrong'} password) of ${right.path} and ${wrong.path} on ${node}`;
        if (winner === right) {
          await expectPulledAndRan(s, verdict, img);
          await expectNodeAttempts(s, registry, img, since, ['accepted'], why);
        } else {
          await s.expectPullFailure(verdict, UNAUTHORIZED);
          await expectNodeAttempts(s, registry, img, since, ['refused'], why);
        }
      },
    );
  }
});

/**
 * The page's pod echoes and exits, and restartPolicy defaults to Always, so it restarts: it has run
 * once its container has terminated (now or in lastState), and failed once its pull has.
 */
async function waitForFirstRun(s: ScenarioContext, name: string): Promise<V1Pod> {
  const { kube } = s.env.cluster;
  const done = (p: V1Pod) => {
    const c = p.status?.containerStatuses?.[0];
    return Boolean(c?.state?.terminated || c?.lastState?.terminated || PULL_FAILED_REASONS.includes(c?.state?.waiting?.reason ?? ''));
  };
  return waitFor({
    kube,
    what: `pod ${s.namespace}/${name} to run its container once or fail its pull`,
    path: `/api/v1/namespaces/${s.namespace}/pods`,
    fieldSelector: `metadata.name=${name}`,
    timeoutMs: 180_000,
    list: async () => {
      const l = await kube.core.listNamespacedPod({ namespace: s.namespace, fieldSelector: `metadata.name=${name}` });
      return { items: l.items, resourceVersion: l.metadata?.resourceVersion ?? '' };
    },
    until: (pods: V1Pod[]) => (pods[0] && done(pods[0]) ? pods[0] : undefined),
    describe: (p) =>
      `${p.metadata?.name} on ${p.spec?.nodeName ?? '(unscheduled)'}: ${JSON.stringify(p.status?.containerStatuses?.[0]?.state ?? {})}`,
  });
}

suite.section("node-credentials: the page's own verification pod", () => {
  suite.scenario(
    'page-verification-pod',
    "the page's verification pod as written (imagePullPolicy Always, command echo SUCCESS, no Secret) after config.json is copied to {root-dir}/config.json of every node it may run on: its log is SUCCESS and it ran the pushed digest",
    { needs: ['node-access'] },
    async (s) => {
      const registry = s.env.registry('private');
      const img = await s.image(registry);
      // The page copies config.json to every node; the pod names none, so every node the scheduler
      // may pick gets it: the workers (kind's control planes are tainted NoSchedule).
      const nodes = s.workers().length > 0 ? s.workers() : s.controlPlanes();
      for (const node of nodes) {
        const rootDir = await rootDirConfigJson(s, node, { merge: true });
        await installNodeCredentials(
          s,
          node,
          {
            files: [{ path: rootDir.path, content: renderCredentialFile('config.json', [registry.credential()]) }],
          },
          OWE,
        );
      }
      const body = pageVerificationPod(img.ref);
      const name = body.metadata?.name ?? '';
      const created = await s.env.cluster.kube.core.createNamespacedPod({ namespace: s.namespace, body });
      s.trackPod(created);
      const pod = await waitForFirstRun(s, name);
      const at = podWhere(pod);
      const c = pod.status?.containerStatuses?.[0];
      const waiting = c?.state?.waiting;
      if (waiting?.reason && PULL_FAILED_REASONS.includes(waiting.reason)) {
        const failed = (await s.events(name)).find((e) => e.reason === EventReason.Failed);
        claim(
          false,
          `the page's verification pod should pull ${img.ref} with the config.json copied to ${nodes.join(', ')}, but ${at} failed its pull (${waiting.reason}): ${failed?.message ?? waiting.message ?? ''}`,
        );
      }
      const terminated = c?.state?.terminated ?? c?.lastState?.terminated;
      // Its first run is its verdict (it restarts after): what the observations record.
      if (terminated) s.trackPod(created, { kind: 'completed', pod, exitCode: terminated.exitCode });
      claim(
        terminated?.exitCode === 0,
        `the page's verification pod runs echo SUCCESS, so ${at} should exit 0, but it exited ${terminated?.exitCode}`,
      );
      let log = await s.log(pod, 'uses-private-image');
      if (!log.includes('SUCCESS') && c?.lastState?.terminated)
        log = await s.env.cluster.kube.core.readNamespacedPodLog({
          name,
          namespace: s.namespace,
          container: 'uses-private-image',
          previous: true,
        });
      // The page looks for SUCCESS; the test image's echo prints its arguments, then its build's marker.
      claim(
        log.split('\n')[0] === 'SUCCESS' && log.includes(`build=${img.buildId}`),
        () =>
          `kubectl logs ${name} should print SUCCESS (the page's check) and the marker of build ${img.buildId}, but ${at} logged: ${logTail(log)}`,
      );
      claim(
        (c?.imageID ?? '').includes(img.digest),
        () => `${at} should have run the pushed ${img.ref} (${img.digest}), but ran ${c?.imageID || '(no imageID)'}`,
      );
      await s.waitForEvent(name, EventReason.Pulled, /Successfully pulled image/);
      // The page's own failure check: kubectl describe pods/private-image-test-1 | grep 'Failed'.
      const failed = (await s.events(name)).filter((e) => e.reason === EventReason.Failed || /Failed/.test(e.message ?? ''));
      claim(
        failed.length === 0,
        () =>
          `the page says a working node config leaves nothing for grep 'Failed' in kubectl describe, but ${at} has: ${failed.map((e) => `${e.reason}: ${e.message}`).join('; ')}`,
      );
    },
  );
});
