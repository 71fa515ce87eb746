// A kind node image whose runtime is CRI-O instead of containerd (issue 29, item 1). It is made from
// pullcheck's own containerd node image of the same Kubernetes version (same Debian root filesystem,
// kind base files, Kubernetes binaries, runc and CNI plugins), with:
// - CRI-O built from its Go module (github.com/cri-o/cri-o, cmd/crio) with the build tags that need
//   neither gpgme nor btrfs headers, and its pinns helper compiled from the module's C source;
// - conmon and skopeo (and crun, as a second runtime) from Debian's packages;
// - a CRI-O drop-in config: systemd cgroups as kind's kubelet, the pause image kind names, runc
//   behind a wrapper that clamps oom_score_adj and capabilities to what the node has (the host has
//   no CAP_SYS_RESOURCE; containerd copes by itself), storage driver vfs (see docs/cri-o.md);
// - the component images (control plane, etcd, CoreDNS, kube-proxy, pause) copied from the same OCI
//   archive the containerd image imports into CRI-O's containers/storage with skopeo.
// The kind config side (criSocket, containerRuntimeEndpoint) is crioKubeadmPatches().
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cachedDir, cachePath } from '../../infra/cache.ts';
import { docker, imageLabel, LABEL_MANAGED } from '../../infra/docker.ts';
import { run } from '../../infra/exec.ts';
import type { Logger } from '../../infra/log.ts';
import { KIND_VERSION, type KubernetesVersion } from '../../infra/versions.ts';
import { coldBuildLine, MEASURED, machineCores, scaledSeconds } from '../estimate.ts';
import { goBuild, goModDownload } from '../go.ts';
import { commitNodeImage, LABEL_NODE_INPUTS } from './assemble.ts';
import { sandboxImageOf } from './componentimages.ts';
import {
  CRIO_BUILD_TAGS,
  CRIO_DEBIAN_PACKAGES,
  CRIO_MODULE,
  CRIO_VERSION,
  crioInputsKey,
  crioNodeFiles,
  crioNodeImageTag,
  PRELOAD_SCRIPT,
} from './crioconfig.ts';
import { type NodeImage, nodeInputsKey, resolveNodeImage, upgradeComponents } from './index.ts';

/** crio (cgo, for libseccomp) and pinns (static C), from the module source; cached under bin/. */
export async function buildCrio(logger: Logger): Promise<string> {
  // The entry names the tags: binaries built with others are not reused.
  const tagsKey = createHash('sha256').update(CRIO_BUILD_TAGS.join(' ')).digest('hex').slice(0, 8);
  const { dir, hit } = await cachedDir(cachePath('bin', `crio-${CRIO_VERSION}-${tagsKey}`), (out) => {
    const cores = machineCores();
    logger.info(
      coldBuildLine({ what: `CRI-O ${CRIO_VERSION}`, seconds: scaledSeconds(MEASURED.crio, cores), cores, detail: 'from its Go module' }),
    );
    return logger.phase(`build CRI-O ${CRIO_VERSION} (crio and pinns from ${CRIO_MODULE})`, async () => {
      const mod = await goModDownload(CRIO_MODULE, CRIO_VERSION, logger);
      // `go install pkg@version` asks the proxy for the version list, which it refuses: build in a writable copy instead.
      const src = cachePath('go-wrappers', `crio-${CRIO_VERSION}`);
      if (!existsSync(join(src, 'go.mod'))) {
        cpSync(mod.dir, src, { recursive: true });
        await run(['chmod', '-R', 'u+w', src], { logger });
      }
      await goBuild(src, ['./cmd/crio'], out, logger, { tags: [...CRIO_BUILD_TAGS], cgo: true });
      await run(['cc', '-std=c99', '-Os', '-Wall', '-Wextra', '-static', '-o', join(out, 'pinns'), ...pinnsSources(src)], { logger });
    });
  });
  if (hit) logger.detail(`cached CRI-O ${CRIO_VERSION}: ${dir}`);
  return dir;
}

function pinnsSources(src: string): string[] {
  return ['pinns.c', 'sysctl.c'].map((f) => join(src, 'pinns', 'src', f));
}

/** pullcheck/node-crio:<version>, built when its inputs changed; never pulled (no one publishes it). */
export async function resolveCrioNodeImage(
  v: KubernetesVersion,
  logger: Logger,
  options: { forceBuild?: boolean } = {},
): Promise<NodeImage> {
  const tag = crioNodeImageTag(v);
  const kind = await goModDownload('sigs.k8s.io/kind', KIND_VERSION, logger);
  const pauseImage = sandboxImageOf(readFileSync(join(kind.dir, 'images/base/files/etc/containerd/config.toml'), 'utf8'));
  const key = crioInputsKey(nodeInputsKey(v), pauseImage);
  if (!options.forceBuild && (await imageLabel(tag, LABEL_NODE_INPUTS, { logger })) === key) return { ref: tag, source: 'local' };
  await logger.phase(`build CRI-O node image ${tag}`, async () => {
    const base = await resolveNodeImage(v, logger, { allowPull: false });
    if (base.ref !== `pullcheck/node:${v.raw}`)
      throw new Error(`the CRI-O node image is made from pullcheck's own node image, and ${base.ref} was found instead`);
    const crioBin = await buildCrio(logger);
    const { componentArchive } = await upgradeComponents(v, logger);
    await assembleCrioImage({ base: base.ref, tag, key, crioBin, componentArchive, pauseImage }, logger);
  });
  return { ref: tag, source: 'built' };
}

async function assembleCrioImage(
  p: { base: string; tag: string; key: string; crioBin: string; componentArchive: string; pauseImage: string },
  logger: Logger,
): Promise<void> {
  const name = `pullcheck-crio-build-${process.pid}`;
  const staging = cachePath('creating', `crio-staging-${process.pid}`);
  await docker(['rm', '-f', name], { logger, allowFailure: true });
  try {
    await docker(
      ['run', '-d', '--name', name, '--label', `${LABEL_MANAGED}=true`, '--privileged', '--entrypoint', 'sleep', p.base, 'infinity'],
      { logger },
    );
    const exec = (script: string, inputFile?: string) =>
      docker(['exec', ...(inputFile ? ['-i'] : []), name, 'bash', '-c', script], { logger, ...(inputFile ? { inputFile } : {}) });
    await logger.phase(`install ${CRIO_DEBIAN_PACKAGES.join(', ')} from Debian`, () =>
      exec(
        `set -eu; apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ${CRIO_DEBIAN_PACKAGES.join(' ')} >/dev/null; rm -rf /var/lib/apt/lists/* /var/cache/apt/*`,
      ),
    );
    await logger.phase('copy CRI-O, its configuration and services into the node', async () => {
      for (const [path, [content, mode]] of Object.entries(crioNodeFiles(p.pauseImage))) {
        mkdirSync(join(staging, path, '..'), { recursive: true });
        writeFileSync(join(staging, path), content);
        chmodSync(join(staging, path), mode);
      }
      for (const b of ['crio', 'pinns']) {
        mkdirSync(join(staging, 'usr/local/bin'), { recursive: true });
        cpSync(join(p.crioBin, b), join(staging, 'usr/local/bin', b));
        chmodSync(join(staging, 'usr/local/bin', b), 0o755);
      }
      await docker(['cp', `${staging}/.`, `${name}:/`], { logger });
      await exec(
        [
          'set -eu',
          // The containerd node's runtime and its images go: CRI-O has its own store.
          'systemctl disable containerd.service',
          'rm -rf /var/lib/containerd',
          'systemctl enable crio.service',
          // containers' defaults, as Debian's containers-common ships them, when absent.
          'mkdir -p /etc/containers',
          `[ -f /etc/containers/policy.json ] || echo '{"default":[{"type":"insecureAcceptAnything"}]}' > /etc/containers/policy.json`,
          `[ -f /etc/containers/registries.conf ] || printf 'unqualified-search-registries = []\\n' > /etc/containers/registries.conf`,
          'crio --version',
        ].join('\n'),
      );
    });
    await logger.phase('copy component images into CRI-O storage', async () => {
      await exec(PRELOAD_SCRIPT, p.componentArchive);
      const listed = await exec(
        'ls /var/lib/containers/storage/vfs-images; cat /var/lib/containers/storage/vfs-images/images.json | jq -r ".[].names[]"',
      );
      logger.detail(`images in the node's CRI-O storage:\n${listed.stdout}`);
    });
    await commitNodeImage(name, p.tag, p.key, logger);
  } finally {
    await docker(['rm', '-f', name], { logger, allowFailure: true });
    await run(['rm', '-rf', staging], { logger, allowFailure: true });
  }
}
