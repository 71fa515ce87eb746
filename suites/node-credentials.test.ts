// Node credentials: a docker config file on the node gives every pod on it the registry's
// credentials without an imagePullSecret, from each place kubelet searches, in kubelet's order;
// credential helpers give nothing; a node without the file gets nothing; and kubelet reads the
// files when it starts (its docker-config provider caches them for 5 minutes), so a new file needs a
// restart. What kubelet searches and why the restart: helpers/kubelet/nodecreds.ts.
//
// Every scenario changes a node and restores it (file removed, kubelet restarted, node Ready) in a
// deferred cleanup that runs even when it fails. jest runs the tests of a file one after another,
// which keeps node changes from overlapping.
import {
  claim,
  defineSuite,
  EventReason,
  UNAUTHORIZED,
  type Capability,
  type PodVerdict,
  type PushedTestImage,
  type ScenarioContext,
} from '../helpers/framework/harness.ts';
import {
  credentialSearchPaths,
  credsStoreOnlyConfigJson,
  httpHeadersOnlyConfigJson,
  installNodeFile,
  kubeletProcessFacts,
  presentCredentialFiles,
  renderCredentialFile,
  sameFileAs,
  type CredentialFileFormat,
  type CredentialSearchPath,
  type SearchPlace,
} from '../helpers/kubelet/nodecreds.ts';

export const suite = defineSuite({
  name: 'node-credentials',
  registries: [{ name: 'private', auth: 'htpasswd' }],
  nodes: 'locked',
  home: 'explicit', // every pod names the node whose credential files it tests
});

/** kubelet's {root-dir}/config.json on `node` (checked free of leftovers, under the node's lock). */
async function rootDirConfigJson(s: ScenarioContext, node: string): Promise<CredentialSearchPath> {
  const rootDir = (await searchPathsOn(s, node)).find((p) => p.format === 'config.json' && p.place === 'root-dir');
  if (!rootDir) throw new Error('no {root-dir}/config.json search path');
  return rootDir;
}

/** kubelet's search paths on `node`, after checking that none of them holds a file already. */
async function searchPathsOn(s: ScenarioContext, node: string): Promise<CredentialSearchPath[]> {
  // Read only under the node's lock: another suite may be restarting its kubelet or have a credential file there for a moment.
  await s.lockNode(node);
  const facts = await kubeletProcessFacts(s.env.cluster.nodes, node);
  s.env.logger.info(
    `[${s.id}] [${node}] KUBELET pid ${facts.pid}, root-dir ${facts.rootDir}, cwd ${facts.cwd}, HOME ${facts.home ?? '(unset)'}`,
  );
  const paths = credentialSearchPaths(facts);
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
      { capabilities: entry.capabilities ?? [], needs: ['node-access'] },
      async (s) => {
        const node = s.worker(0);
        const paths = await searchPathsOn(s, node);
        const target = paths.find((p) => p.format === entry.format && p.place === entry.place);
        if (!target) throw new Error(`no search path ${entry.format} in ${entry.place}`);
        const same = sameFileAs(target, paths);
        s.env.logger.info(
          `[${s.id}] [${node}] PATH ${target.template} = ${target.path}${same.length ? ` (on this node the same file as ${same.map((p) => p.template).join(', ')})` : ''}`,
        );
        const img = await s.image(s.env.registry('private'));
        await installNodeFile(s, node, target.path, renderCredentialFile(entry.format, [s.env.registry('private').credential()]));
        await expectPulledAndRan(s, await s.runPod({ name: 'node-creds', image: img.ref, nodeName: node }), img);
      },
    );
  }
});

suite.section('node-credentials: what does not give credentials', () => {
  suite.scenario(
    'creds-store-ignored',
    'a node config.json with only credsStore/credHelpers gives kubelet no credentials: ErrImagePull, unauthorized',
    { needs: ['node-access'] },
    async (s) => {
      const node = s.worker(0);
      const rootDir = await rootDirConfigJson(s, node);
      const img = await s.image(s.env.registry('private'));
      await installNodeFile(s, node, rootDir.path, credsStoreOnlyConfigJson([s.env.registry('private').host]));
      await s.expectPullFailure(await s.runPod({ name: 'creds-store', image: img.ref, nodeName: node }), UNAUTHORIZED);
    },
  );

  suite.scenario(
    'missing-on-some-nodes',
    'credentials on one worker serve pods pinned there only: the pod on another node fails unauthorized',
    { needs: ['node-access'] },
    async (s) => {
      const withCreds = s.worker(0);
      const rootDir = await rootDirConfigJson(s, withCreds);
      const img = await s.image(s.env.registry('private'));
      await installNodeFile(s, withCreds, rootDir.path, renderCredentialFile('config.json', [s.env.registry('private').credential()]));
      await expectPulledAndRan(s, await s.runPod({ name: 'with-creds', image: img.ref, nodeName: withCreds }), img);
      // Any node without the file will do, so take one nobody holds (another worker, else a kind
      // control plane: a pod with nodeName passes its NoSchedule taint) rather than wait for another
      // suite's kubelet policy group on the other worker.
      const others = [...s.workers().filter((n) => n !== withCreds), ...s.controlPlanes()];
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
    { needs: ['node-access'] },
    async (s) => {
      const node = s.worker(0);
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
        { restart: false },
      );
      await s.expectPullFailure(await pod('file-no-restart'), UNAUTHORIZED);
      await file.restart();
      await expectPulledAndRan(s, await pod('after-restart'), img);
    },
  );

  suite.scenario(
    'http-headers',
    'HttpHeaders in a node config.json never reach the registry: an Authorization header there gives no access (a documented deviation from the Kubernetes docs)',
    { needs: ['node-access'] },
    async (s) => {
      // The docs say config.json's HttpHeaders are honoured. Kubelet parses them, but the CRI's
      // AuthConfig has no field for headers, so containerd cannot send them. Proof the registry can
      // see: the only way in is the header's own Authorization, and the pull stays unauthorized.
      const node = s.worker(0);
      const rootDir = await rootDirConfigJson(s, node);
      const c = s.env.registry('private').credential();
      const img = await s.image(s.env.registry('private'));
      await installNodeFile(
        s,
        node,
        rootDir.path,
        httpHeadersOnlyConfigJson({ Authorization: `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}` }),
      );
      await s.expectPullFailure(await s.runPod({ name: 'http-headers', image: img.ref, nodeName: node }), UNAUTHORIZED);
      s.env.logger.info(`[${s.id}] [${node}] DEVIATION HttpHeaders from config.json are not sent by the CRI runtime`);
    },
  );
});
