// The images kubeadm and containerd ask for on a node (control-plane components, etcd, CoreDNS,
// kube-proxy, pause), made from the binaries pullcheck built and written as one OCI archive for
// `ctr images import`. Names and tags are exactly those `kubeadm config images list` prints.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type NamedImage, writeOciArchive } from '../../images/archive.ts';
import { assembleImage, hostPlatform, type Layer, layerFromFiles, layerFromTarFile } from '../../images/oci.ts';

export interface ComponentInputs {
  kubeadmImages: string[];
  /** The sandbox image named in the node's containerd config (kind keeps it fixed). */
  sandboxImage: string;
  kubernetesBin: string;
  etcdBin: string;
  corednsBin: string;
  pauseBin: string;
  iptablesRootfsTar: string;
  scratchDir: string;
}

type ImageRecipe = { binary: string; inImage: string; entrypoint?: string[]; base?: Layer[] };

/** Which built binary an image reference gets; throws on an image kubeadm asks for that pullcheck cannot make. */
export function recipeFor(
  ref: string,
  i: Omit<ComponentInputs, 'kubeadmImages' | 'sandboxImage' | 'scratchDir' | 'iptablesRootfsTar'>,
): Omit<ImageRecipe, 'base'> & { needsIptables: boolean } {
  const name =
    ref
      .replace(/:[^/:]+$/, '')
      .split('/')
      .at(-1) ?? '';
  const k8s = (bin: string) => ({ binary: join(i.kubernetesBin, bin), inImage: `/usr/local/bin/${bin}`, needsIptables: false });
  switch (name) {
    case 'kube-apiserver':
    case 'kube-controller-manager':
    case 'kube-scheduler':
      return k8s(name);
    case 'kube-proxy':
      return { ...k8s(name), needsIptables: true };
    case 'etcd':
      return { binary: join(i.etcdBin, 'etcd'), inImage: '/usr/local/bin/etcd', needsIptables: false };
    case 'coredns':
      return { binary: join(i.corednsBin, 'coredns'), inImage: '/coredns', entrypoint: ['/coredns'], needsIptables: false };
    case 'pause':
      return { binary: join(i.pauseBin, 'pause'), inImage: '/pause', entrypoint: ['/pause'], needsIptables: false };
    default:
      throw new Error(`kubeadm asks for image ${ref}, which pullcheck does not know how to build`);
  }
}

export async function writeComponentArchive(out: string, inputs: ComponentInputs): Promise<string[]> {
  const platform = hostPlatform();
  const refs = [...new Set([...inputs.kubeadmImages, inputs.sandboxImage])];
  let iptablesBase: Layer | undefined;
  const images: NamedImage[] = [];
  for (const ref of refs) {
    const r = recipeFor(ref, inputs);
    const layers: Layer[] = [];
    if (r.needsIptables) {
      iptablesBase ??= await layerFromTarFile(inputs.iptablesRootfsTar, join(inputs.scratchDir, 'iptables-rootfs.tar.gz'));
      layers.push(iptablesBase);
    }
    layers.push(await layerFromFiles([{ path: r.inImage, content: readFileSync(r.binary), mode: 0o755 }]));
    images.push({ ref, image: assembleImage(layers, { platform, ...(r.entrypoint ? { entrypoint: r.entrypoint } : {}) }) });
  }
  await writeOciArchive(out, images);
  return refs;
}

/** `sandbox_image = "…"` from a containerd config. */
export function sandboxImageOf(containerdConfig: string): string {
  const m = /sandbox_image\s*=\s*"([^"]+)"/.exec(containerdConfig);
  if (!m) throw new Error('the node containerd config names no sandbox_image');
  return m[1] as string;
}

/** etcd image tag 3.7.0-0 → Go module version v3.7.0; CoreDNS v1.14.6 → v1.14.6. */
export function moduleVersionOfTag(ref: string): string {
  const tag = ref.split(':').at(-1) ?? '';
  const m = /^v?(\d+\.\d+\.\d+)/.exec(tag);
  if (!m) throw new Error(`cannot derive a module version from image ${ref}`);
  return `v${m[1]}`;
}

/**
 * `ctr import` of the component archive (read from stdin) into the node's containerd, pinned so
 * kubelet's image GC keeps them and unpacked on first use: what a node image and an upgrade both do.
 */
export const IMPORT_COMPONENT_IMAGES: readonly string[] = [
  'ctr',
  '--namespace=k8s.io',
  'images',
  'import',
  '--label=io.cri-containerd.pinned=pinned',
  '--all-platforms',
  '--no-unpack',
  '--digests',
  '-',
];
