// Node credentials: a docker config file on the node gives every pod on it the registry's
// credentials without an imagePullSecret, from each place kubelet searches, in kubelet's order;
// credential helpers give nothing; a node without the file gets nothing; and kubelet reads the
// files when it starts (its docker-config provider caches them for 5 minutes), so a new file needs a
// restart. What kubelet searches and why the restart: helpers/nodecreds.ts.
//
// Every scenario changes a node and restores it (file removed, kubelet restarted, node Ready) in a
// deferred cleanup that runs even when it fails. jest runs the tests of a file one after another,
// which keeps node changes from overlapping.
import { type ScenarioContext, scenario, useEnv } from '../helpers/framework/harness.ts';
import { echoImage, platformString } from '../helpers/images/testimages.ts';
import {
  credentialSearchPaths, credsStoreOnlyConfigJson, httpHeadersOnlyConfigJson, installNodeFile, kubeletProcessFacts, presentCredentialFiles, renderCredentialFile, sameFileAs,
  type CredentialFileFormat, type CredentialSearchPath, type SearchPlace,
} from '../helpers/kubelet/nodecreds.ts';
import { hostPlatform } from '../helpers/images/oci.ts';
import { EventReason, type PodVerdict, UNAUTHORIZED } from '../helpers/framework/pods.ts';
import type { RegistryCredential } from '../helpers/registry/secrets.ts';

/**
 * Changes nodes, under per-node locks: every node it changes or runs a pod on (its pods name their
 * node) is locked for the scenario, so `pullcheck run` runs it beside other suites like it.
 */
export const changesNodes = true;
export const locksNodes = true;

const getEnv = useEnv({ suite: 'node-credentials', registries: [{ name: 'private', auth: 'htpasswd' }], pinnedPods: 'explicit' });

function credential(s: ScenarioContext): RegistryCredential {
  const r = s.env.registry('private');
  if (!r.username || !r.password) throw new Error('the private registry has no credentials');
  return { server: r.host, username: r.username, password: r.password };
}

interface TestRef {
  ref: string;
  digest: string;
  buildId: string;
}

async function privateImage(s: ScenarioContext): Promise<TestRef> {
  const test = await echoImage(hostPlatform(), s.env.logger);
  const pushed = await s.push(s.env.registry('private'), test.image);
  return { ref: pushed.ref, digest: pushed.digest, buildId: test.buildId };
}

/** kubelet's search paths on `node`, after checking that none of them holds a file already. */
async function searchPathsOn(s: ScenarioContext, node: string): Promise<CredentialSearchPath[]> {
  // Read only under the node's lock: another suite may be restarting its kubelet or have a credential file there for a moment.
  await s.lockNode(node);
  const facts = await kubeletProcessFacts(s.env.cluster.nodes, node);
  s.env.logger.info(`[${s.id}] [${node}] KUBELET pid ${facts.pid}, root-dir ${facts.rootDir}, cwd ${facts.cwd}, HOME ${facts.home ?? '(unset)'}`);
  const paths = credentialSearchPaths(facts);
  // A leftover file would answer for the one under test; fail on it rather than pass by accident.
  expect(await presentCredentialFiles(s.env.cluster.nodes, node, paths)).toEqual([]);
  return paths;
}

async function expectRan(s: ScenarioContext, verdict: PodVerdict, img: TestRef): Promise<void> {
  const pod = await s.expectRan(verdict, { buildId: img.buildId, digest: img.digest, platform: platformString(hostPlatform()) });
  await s.waitForEvent(pod.metadata?.name ?? '', EventReason.Pulled, /Successfully pulled image/);
}


const SEARCH_ORDER: readonly { id: string; format: CredentialFileFormat; place: SearchPlace; title: string }[] = [
  { id: 'root-dir-config-json', format: 'config.json', place: 'root-dir', title: '{root-dir}/config.json (kubelet --root-dir, /var/lib/kubelet)' },
  { id: 'cwd-config-json', format: 'config.json', place: 'cwd', title: '{cwd}/config.json (kubelet\'s working directory; the same file as /config.json when it is /)' },
  { id: 'home-docker-config-json', format: 'config.json', place: 'home', title: '${HOME}/.docker/config.json (with HOME unset kubelet resolves it against its cwd: /.docker/config.json when that is /)' },
  { id: 'root-docker-config-json', format: 'config.json', place: 'root', title: '/.docker/config.json' },
  { id: 'root-dir-dockercfg', format: '.dockercfg', place: 'root-dir', title: 'legacy {root-dir}/.dockercfg' },
  { id: 'cwd-dockercfg', format: '.dockercfg', place: 'cwd', title: 'legacy {cwd}/.dockercfg (the same file as /.dockercfg when cwd is /)' },
  { id: 'home-dockercfg', format: '.dockercfg', place: 'home', title: 'legacy ${HOME}/.dockercfg (with HOME unset: {cwd}/.dockercfg)' },
  { id: 'root-dockercfg', format: '.dockercfg', place: 'root', title: 'legacy /.dockercfg' },
];

describe('node-credentials: every place kubelet searches, in its order', () => {
  for (const entry of SEARCH_ORDER) {
    scenario(getEnv, `node-credentials/${entry.id}`, `a pod without imagePullSecrets pulls from the htpasswd registry with credentials kubelet reads from ${entry.title}`, async (s) => {
      const [node = ''] = s.workers();
      const paths = await searchPathsOn(s, node);
      const target = paths.find((p) => p.format === entry.format && p.place === entry.place);
      if (!target) throw new Error(`no search path ${entry.format} in ${entry.place}`);
      const same = sameFileAs(target, paths);
      s.env.logger.info(`[${s.id}] [${node}] PATH ${target.template} = ${target.path}${same.length ? ` (on this node the same file as ${same.map((p) => p.template).join(', ')})` : ''}`);
      const img = await privateImage(s);
      await installNodeFile(s, node, target.path, renderCredentialFile(entry.format, [credential(s)]));
      await expectRan(s, await s.runPod({ name: 'node-creds', image: img.ref, nodeName: node }), img);
    });
  }
});

describe('node-credentials: what does not give credentials', () => {
  scenario(getEnv, 'node-credentials/creds-store-ignored', 'a node config.json with only credsStore/credHelpers gives kubelet no credentials: ErrImagePull, unauthorized', async (s) => {
    const [node = ''] = s.workers();
    const paths = await searchPathsOn(s, node);
    const rootDir = paths.find((p) => p.format === 'config.json' && p.place === 'root-dir');
    if (!rootDir) throw new Error('no {root-dir}/config.json search path');
    const img = await privateImage(s);
    await installNodeFile(s, node, rootDir.path, credsStoreOnlyConfigJson([credential(s).server]));
    await s.expectPullFailure(await s.runPod({ name: 'creds-store', image: img.ref, nodeName: node }), UNAUTHORIZED);
  });

  scenario(getEnv, 'node-credentials/missing-on-some-nodes', 'credentials on one worker serve pods pinned there only: the pod on another node fails unauthorized', async (s) => {
    const [withCreds = ''] = s.workers();
    const paths = await searchPathsOn(s, withCreds);
    const rootDir = paths.find((p) => p.format === 'config.json' && p.place === 'root-dir');
    if (!rootDir) throw new Error('no {root-dir}/config.json search path');
    const img = await privateImage(s);
    await installNodeFile(s, withCreds, rootDir.path, renderCredentialFile('config.json', [credential(s)]));
    await expectRan(s, await s.runPod({ name: 'with-creds', image: img.ref, nodeName: withCreds }), img);
    // Any node without the file will do, so take one nobody holds (another worker, else a kind
    // control plane: a pod with nodeName passes its NoSchedule taint) rather than wait for another
    // suite's kubelet policy group on the other worker.
    const others = [...s.workers().filter((n) => n !== withCreds), ...s.controlPlanes()];
    expect(others.length).toBeGreaterThanOrEqual(1);
    const without = await s.lockFreeNode(others);
    await searchPathsOn(s, without);
    await s.expectPullFailure(await s.runPod({ name: 'without-creds', image: img.ref, nodeName: without }), UNAUTHORIZED);
  });

  scenario(getEnv, 'node-credentials/new-file-unseen-until-restart', 'kubelet keeps what it last read (nothing) for 5 minutes: a file written after a pull is ignored until kubelet restarts', async (s) => {
    const [node = ''] = s.workers();
    const paths = await searchPathsOn(s, node);
    const rootDir = paths.find((p) => p.format === 'config.json' && p.place === 'root-dir');
    if (!rootDir) throw new Error('no {root-dir}/config.json search path');
    const img = await privateImage(s);
    // Always: the failed pods below keep retrying in back-off, and once kubelet has the file one of
    // them may get the image onto the node first; each pod must prove its own pull.
    const pod = (name: string) => s.runPod({ name, image: img.ref, nodeName: node, pullPolicy: 'Always' });
    // This pull makes kubelet read the (absent) files and cache "no credentials" for 5 minutes.
    await s.expectPullFailure(await pod('before-file'), UNAUTHORIZED);
    const file = await installNodeFile(s, node, rootDir.path, renderCredentialFile('config.json', [credential(s)]), { restart: false });
    await s.expectPullFailure(await pod('file-no-restart'), UNAUTHORIZED);
    await file.restart();
    await expectRan(s, await pod('after-restart'), img);
  });

  scenario(getEnv, 'node-credentials/http-headers', 'HttpHeaders in a node config.json never reach the registry: an Authorization header there gives no access (a documented deviation from the Kubernetes docs)', async (s) => {
    // The docs say config.json's HttpHeaders are honoured. Kubelet parses them, but the CRI's
    // AuthConfig has no field for headers, so containerd cannot send them. Proof the registry can
    // see: the only way in is the header's own Authorization, and the pull stays unauthorized.
    const [node = ''] = s.workers();
    const paths = await searchPathsOn(s, node);
    const rootDir = paths.find((p) => p.format === 'config.json' && p.place === 'root-dir');
    if (!rootDir) throw new Error('no {root-dir}/config.json search path');
    const c = credential(s);
    const img = await privateImage(s);
    await installNodeFile(s, node, rootDir.path, httpHeadersOnlyConfigJson({ Authorization: `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}` }));
    await s.expectPullFailure(await s.runPod({ name: 'http-headers', image: img.ref, nodeName: node }), UNAUTHORIZED);
    s.env.logger.info(`[${s.id}] [${node}] DEVIATION HttpHeaders from config.json are not sent by the CRI runtime`);
  });
});
