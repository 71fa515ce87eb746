// Multi-platform images: a node takes the manifest of its own platform from an OCI image index or a
// Docker manifest list, fails clearly when there is none, and the old arch-suffixed names still work.
import type { V1Node } from '@kubernetes/client-node';
import {
  claim,
  defineSuite,
  echoIndex,
  INDEX_PLATFORMS,
  type ManifestFormat,
  type Platform,
  platformString,
  type ScenarioContext,
} from '../helpers/framework/harness.ts';

export const suite = defineSuite({
  name: 'multi-arch',
  registries: [{ name: 'public', auth: 'none' }],
});

/** The platform a node reports (status.nodeInfo), which is what its runtime selects by. */
function nodePlatform(node: V1Node): Platform {
  return { os: node.status?.nodeInfo?.operatingSystem ?? 'linux', architecture: node.status?.nodeInfo?.architecture ?? '' };
}

async function platformOf(s: ScenarioContext, nodeName: string): Promise<Platform> {
  return nodePlatform(await s.env.cluster.kube.core.readNode({ name: nodeName }));
}

/** A pull refused for want of the node's platform in an index, as containerd and CRI-O word it. */
const NO_PLATFORM_MATCH = /no match for platform in manifest|no image found in (?:image index|manifest list) for architecture/;

function samePlatform(a: Platform, b: Platform): boolean {
  return a.os === b.os && a.architecture === b.architecture && (!b.variant || a.variant === b.variant);
}

suite.section('multi-arch: the node takes its own platform', () => {
  for (const [format, id, what] of [
    ['oci', 'oci-index', 'an OCI image index'],
    ['docker', 'docker-manifest-list', 'a Docker manifest list'],
  ] as const) {
    suite.scenario(
      `${id}-selects-node-platform`,
      `from ${what} over amd64, arm64 and arm/v7, the node runs its own platform's manifest`,
      { capabilities: ['platform-selection', id], needs: ['worker'] },
      async (s) => {
        const idx = await echoIndex(INDEX_PLATFORMS, s.env.logger, { format: format as ManifestFormat });
        const pushed = await s.pushIndex(s.env.registry('public'), idx);
        const node = s.worker(0);
        const platform = await platformOf(s, node);
        const child = idx.children.find((c) => samePlatform(c.platform, platform));
        if (!child) throw new Error(`the test index has no ${platformString(platform)} manifest`);
        // The build marker and platform prove which manifest ran. Which digest the runtime reports
        // as the imageID the page leaves open: containerd names the index the tag resolved to,
        // CRI-O (containers/image) the platform manifest it chose. Either is right; which one is observed.
        const verdict = await s.runPod({ image: pushed.ref, nodeName: node });
        await s.expectRan(verdict, { ...pushed, digest: undefined, buildId: idx.buildId, platform: platformString(platform) });
        const imageId = verdict.pod.status?.containerStatuses?.[0]?.imageID ?? '';
        const names = imageId.includes(pushed.digest) ? 'index' : imageId.includes(child.image.manifest.digest) ? 'platform-manifest' : '';
        claim(
          names !== '',
          `pod on ${node} ran ${pushed.ref} as ${imageId || '(no imageID)'}: neither the pushed index ${pushed.digest} nor its ${platformString(platform)} manifest ${child.image.manifest.digest}`,
        );
        s.observe(s.nodeRole(node), [`imageID:${names}-digest`]);
      },
    );
  }

  suite.scenario(
    'no-matching-platform-fails',
    "an index without the node's platform fails to pull with ErrImagePull and a no-match-for-platform event",
    { capabilities: ['platform-selection'], needs: ['worker'] },
    async (s) => {
      const node = s.worker(0);
      const platform = await platformOf(s, node);
      const others = INDEX_PLATFORMS.filter((p) => !samePlatform(p, platform));
      claim(
        others.length === INDEX_PLATFORMS.length - 1,
        `test setup: node ${node}'s platform ${platformString(platform)} must be exactly one of the test index's (${INDEX_PLATFORMS.map(platformString).join(', ')}), so that an index without it can be built, but ${INDEX_PLATFORMS.length - others.length} of them match it`,
      );
      const pushed = await s.pushIndex(s.env.registry('public'), await echoIndex(others, s.env.logger));
      const verdict = await s.runPod({ name: 'no-match', image: pushed.ref, nodeName: node });
      // containerd: "no match for platform in manifest"; CRI-O (containers/image): "no image found in image index for architecture".
      await s.expectPullFailure(verdict, NO_PLATFORM_MATCH);
    },
  );

  suite.scenario(
    'platform-manifest-by-digest',
    'a platform manifest referenced by its own digest runs, and is the imageID',
    { capabilities: ['platform-selection'], needs: ['worker'] },
    async (s) => {
      const node = s.worker(0);
      const platform = await platformOf(s, node);
      const idx = await echoIndex(INDEX_PLATFORMS, s.env.logger);
      const pushed = await s.pushIndex(s.env.registry('public'), idx);
      const child = idx.children.find((c) => samePlatform(c.platform, platform));
      if (!child) throw new Error(`the test index has no ${platformString(platform)} manifest`);
      const ref = s.env.registry('public').ref(pushed.repository, child.image.manifest.digest);
      await s.expectRan(await s.runPod({ image: ref, nodeName: node }), {
        buildId: idx.buildId,
        digest: child.image.manifest.digest,
        platform: platformString(platform),
      });
    },
  );

  suite.scenario(
    'arch-suffixed-name',
    'the backward-compatible NAME-ARCH:TAG beside the multi-arch NAME:TAG: both run the same platform manifest',
    { capabilities: ['platform-selection'], needs: ['node-access', 'worker'] },
    async (s) => {
      const node = s.worker(0);
      const platform = await platformOf(s, node);
      const idx = await echoIndex(INDEX_PLATFORMS, s.env.logger);
      const name = s.uniqueRepository();
      const tag = s.uniqueTag();
      const multi = await s.pushIndex(s.env.registry('public'), idx, { repository: name, tag });
      const child = idx.children.find((c) => samePlatform(c.platform, platform));
      if (!child) throw new Error(`the test index has no ${platformString(platform)} manifest`);
      const suffixed = await s.push(s.env.registry('public'), child.image, { repository: `${name}-${platform.architecture}`, tag });
      claim(
        suffixed.digest === child.image.manifest.digest,
        `the ${platformString(platform)} manifest pushed again under the arch-suffixed name ${suffixed.repository}:${tag} must keep its digest ${child.image.manifest.digest} (the same bytes as in the index), but the registry stored it as ${suffixed.digest}`,
      );
      await s.expectRan(await s.runPod({ name: 'multi', image: multi.ref, nodeName: node }), {
        buildId: idx.buildId,
        platform: platformString(platform),
      });
      const verdict = await s.runPod({ name: 'suffixed', image: suffixed.ref, nodeName: node });
      await s.expectRan(verdict, { buildId: idx.buildId, platform: platformString(platform) });
      // Which digest the pod's imageID names is the runtime's: containerd the manifest pulled under
      // this name; CRI-O keeps one image for both names and names a digest it holds for it, which
      // can be the index pulled under the other name (a reference the suffixed repository never had).
      const imageId = verdict.pod.status?.containerStatuses?.[0]?.imageID ?? '';
      const names = imageId.includes(child.image.manifest.digest)
        ? 'platform-manifest'
        : imageId.includes(multi.digest)
          ? 'index-of-the-other-name'
          : '';
      claim(
        names !== '',
        `pod on ${node} ran ${suffixed.ref} as ${imageId || '(no imageID)'}: neither its manifest ${child.image.manifest.digest} nor the index ${multi.digest}`,
      );
      s.observe(s.nodeRole(node), [`suffixed imageID:${names}-digest`]);
      // Same image underneath: on the node both names resolve to one image, whose ID is the platform
      // config digest (containerd writes it "sha256:…", CRI-O's containers-storage the hex alone).
      const imageIdOnNode = async (ref: string) => {
        const { stdout } = await s.env.cluster.nodes.exec(node, ['crictl', 'inspecti', '-o', 'json', ref]);
        const id = (JSON.parse(stdout) as { status: { id: string } }).status.id;
        return id.includes(':') ? id : `sha256:${id}`;
      };
      const multiId = await imageIdOnNode(multi.ref);
      claim(
        multiId === child.image.config.digest,
        `the multi-arch ${multi.ref} on ${node} should be the ${platformString(platform)} image, whose ID is its config digest ${child.image.config.digest}, but crictl inspecti gives ${multiId}`,
      );
      const suffixedId = await imageIdOnNode(suffixed.ref);
      claim(
        suffixedId === child.image.config.digest,
        `the arch-suffixed ${suffixed.ref} on ${node} should be the same ${platformString(platform)} image as ${multi.ref}, whose ID is its config digest ${child.image.config.digest}, but crictl inspecti gives ${suffixedId}`,
      );
    },
  );
});
