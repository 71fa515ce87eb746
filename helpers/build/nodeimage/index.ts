// Which kind node image a cluster uses, in the order cheapest first: the one already in the local
// Docker image store, then kind's published image (for users who can pull), then the hermetic build
// from Debian packages and Go modules, which works everywhere.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cachedDir, cachePath } from '../../infra/cache.ts';
import { docker, imageExists, imageLabel } from '../../infra/docker.ts';
import { run } from '../../infra/exec.ts';
import type { Logger } from '../../infra/log.ts';
import { PACKAGE_ROOT } from '../../infra/paths.ts';
import { EnvironmentError } from '../../infra/preflight.ts';
import { CONTAINERD_VERSION, CRICTL_VERSION, KIND_VERSION, type KubernetesVersion, RUNC_VERSION } from '../../infra/versions.ts';
import { buildContainerd, buildCoreDNS, buildCrictl, buildEtcd, buildOwnProgram, buildRunc, containerdLdflags } from '../components.ts';
import { coldBuildLine, machineCores, nodeImageSeconds } from '../estimate.ts';
import { goEnv, goModDownload } from '../go.ts';
import { assembleNodeImage, LABEL_NODE_INPUTS, type NodeImageParts } from './assemble.ts';
import { moduleVersionOfTag, sandboxImageOf, writeComponentArchive } from './componentimages.ts';
import { buildKubernetes, kubeadmImages } from './kubernetes.ts';
import { buildRootfs, IPTABLES_ROOTFS, NODE_ROOTFS, rootfsKey } from './rootfs.ts';

/** Bump when the way a node image is assembled changes, so that cached images are rebuilt. */
const ASSEMBLY_REVISION = '1';

export type NodeImageSource = 'local' | 'pulled' | 'built';

export interface NodeImage {
  ref: string;
  source: NodeImageSource;
}

export interface ResolveNodeImageOptions {
  /** Try `docker pull kindest/node` before building (default true; --no-pull turns it off). */
  allowPull?: boolean;
  /** Skip the local store and pull, and build (for `pullcheck images build --force`). */
  forceBuild?: boolean;
}

export function nodeImageTag(v: KubernetesVersion): string {
  return `pullcheck/node:${v.raw}`;
}

export function nodeInputsKey(v: KubernetesVersion): string {
  const pauseSource = readFileSync(join(PACKAGE_ROOT, 'programs/pause/main.go'));
  const text = [
    ASSEMBLY_REVISION,
    KIND_VERSION,
    v.raw,
    CONTAINERD_VERSION,
    containerdLdflags(),
    CRICTL_VERSION,
    RUNC_VERSION,
    rootfsKey(NODE_ROOTFS),
    rootfsKey(IPTABLES_ROOTFS),
    createHash('sha256').update(pauseSource).digest('hex'),
  ].join('\n');
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

export async function resolveNodeImage(v: KubernetesVersion, logger: Logger, options: ResolveNodeImageOptions = {}): Promise<NodeImage> {
  const tag = nodeImageTag(v);
  const key = nodeInputsKey(v);
  if (!options.forceBuild) {
    if ((await imageLabel(tag, LABEL_NODE_INPUTS, { logger })) === key) return { ref: tag, source: 'local' };
    const upstream = `kindest/node:${v.raw}`;
    if (await imageExists(upstream, { logger })) return { ref: upstream, source: 'local' };
    const allowPull = options.allowPull ?? true;
    if (allowPull) {
      const pulled = await logger.phase(
        `try docker pull ${upstream}`,
        async () => (await docker(['pull', upstream], { logger, allowFailure: true, timeoutMs: 600_000 })).exitCode === 0,
      );
      if (pulled) return { ref: upstream, source: 'pulled' };
      logger.info(`${upstream} cannot be pulled here: building ${tag} from Debian packages and Go modules`);
    }
  }
  const kubernetesCached = existsSync(join(cachePath('bin', `kubernetes-${v.raw}`), '.complete'));
  const cores = machineCores();
  logger.info(
    coldBuildLine({
      what: `node image ${v.raw}`,
      seconds: nodeImageSeconds({ cores, kubernetesCached }),
      cores,
      detail: kubernetesCached ? 'Kubernetes binaries cached' : 'Kubernetes from source, then the image',
      hint: '`pullcheck images build` warms a CI cache',
    }),
  );
  await logger.phase(`build node image ${tag}`, () => buildNodeImage(v, tag, key, logger));
  return { ref: tag, source: 'built' };
}

/** What a node of version `v` runs, built or read from the cache: the node image's inputs, and an upgrade's. */
type NodeComponents = Pick<
  NodeImageParts,
  'kindModuleDir' | 'kubernetesBin' | 'containerdBin' | 'crictlBin' | 'runcBin' | 'componentArchive'
> & { rootfs: Promise<[string, string]> };

async function nodeComponents(v: KubernetesVersion, key: string, logger: Logger): Promise<NodeComponents> {
  // The root filesystems download while the Go builds use the CPUs.
  const rootfs = Promise.all([buildRootfs(NODE_ROOTFS, logger), buildRootfs(IPTABLES_ROOTFS, logger)]);
  rootfs.catch(() => undefined);
  const kind = await goModDownload('sigs.k8s.io/kind', KIND_VERSION, logger);
  const kubernetesBin = await buildKubernetes(v, logger);
  const containerdBin = await buildContainerd(logger);
  const crictlBin = await buildCrictl(logger);
  const runcBin = await buildRunc(logger);
  const images = await kubeadmImages(kubernetesBin, v, logger);
  const etcdRef = images.find((i) => /\/etcd:/.test(i));
  const corednsRef = images.find((i) => /\/coredns:/.test(i));
  if (!etcdRef || !corednsRef) throw new Error(`kubeadm ${v.raw} lists no etcd or CoreDNS image: ${images.join(', ')}`);
  const etcdBin = await buildEtcd(moduleVersionOfTag(etcdRef), logger);
  const corednsBin = await buildCoreDNS(moduleVersionOfTag(corednsRef), logger);
  const pauseBin = await buildOwnProgram('pause', logger);
  const sandboxImage = sandboxImageOf(readFileSync(join(kind.dir, 'images/base/files/etc/containerd/config.toml'), 'utf8'));
  const { dir: archiveDir } = await cachedDir(cachePath('images', `components-${v.raw}-${key}`), async (out) => {
    const [, iptablesRootfs] = await rootfs;
    await logger.phase('write component images archive', async () => {
      const refs = await writeComponentArchive(join(out, 'images.tar'), {
        kubeadmImages: images,
        sandboxImage,
        kubernetesBin,
        etcdBin,
        corednsBin,
        pauseBin,
        iptablesRootfsTar: iptablesRootfs,
        scratchDir: out,
      });
      rmSync(join(out, 'iptables-rootfs.tar.gz'), { force: true });
      logger.info(`component images: ${refs.join(', ')}`);
    });
  });
  return {
    rootfs,
    kindModuleDir: kind.dir,
    kubernetesBin,
    containerdBin,
    crictlBin,
    runcBin,
    componentArchive: join(archiveDir, 'images.tar'),
  };
}

/**
 * What an in-place upgrade to `v` puts on the nodes (kubeadm, kubelet, kubectl and the component
 * images), from the same cached build as `v`'s node image: nothing is pulled.
 */
export async function upgradeComponents(
  v: KubernetesVersion,
  logger: Logger,
): Promise<{ kubernetesBin: string; componentArchive: string }> {
  const c = await nodeComponents(v, nodeInputsKey(v), logger);
  await c.rootfs; // Never left building behind the caller's back.
  return { kubernetesBin: c.kubernetesBin, componentArchive: c.componentArchive };
}

async function buildNodeImage(v: KubernetesVersion, tag: string, key: string, logger: Logger): Promise<void> {
  const c = await nodeComponents(v, key, logger);
  const [nodeRootfs] = await c.rootfs;
  const stagingDir = mkdtempSync(join(tmpdir(), 'pullcheck-node-'));
  try {
    await assembleNodeImage(
      {
        tag,
        inputsKey: key,
        kubernetesVersion: v.raw,
        rootfsTar: nodeRootfs,
        kindModuleDir: c.kindModuleDir,
        kubernetesBin: c.kubernetesBin,
        containerdBin: c.containerdBin,
        crictlBin: c.crictlBin,
        runcBin: c.runcBin,
        componentArchive: c.componentArchive,
        stagingDir,
      },
      logger,
    );
  } finally {
    rmSync(stagingDir, { recursive: true, force: true });
  }
}

/**
 * Before a run starts anything: a version with no node image here must be one the Go module proxy
 * serves (else the build would fail after minutes). `go list -m -versions` answers in a second.
 */
export async function checkKubernetesVersion(v: KubernetesVersion, logger: Logger): Promise<void> {
  if ((await imageLabel(nodeImageTag(v), LABEL_NODE_INPUTS, { logger })) === nodeInputsKey(v)) return;
  if (await imageExists(`kindest/node:${v.raw}`, { logger })) return;
  const r = await run(['go', 'list', '-m', '-versions', 'k8s.io/kubernetes'], {
    env: goEnv(),
    allowFailure: true,
    timeoutMs: 60_000,
  }).catch(() => undefined);
  if (r?.exitCode !== 0) return; // No Go or no proxy: the build's own preflight says so.
  const versions = r.stdout.trim().split(/\s+/).slice(1);
  if (!versions.includes(v.raw)) {
    const near = versions.filter((x) => x.startsWith(`v${v.major}.${v.minor}.`) && !x.includes('-'));
    const stable = versions.filter((x) => !x.includes('-')).slice(-3);
    throw new EnvironmentError(
      `Kubernetes ${v.raw} is not a released version (the Go module proxy has no k8s.io/kubernetes ${v.raw}): use ${near.length ? near.join(', ') : stable.join(', ')}`,
    );
  }
}
