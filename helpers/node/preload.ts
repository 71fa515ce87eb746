// Images placed in a node's containerd without kubelet, as an admin pre-loading nodes would: an OCI
// archive imported with `ctr` into the `k8s.io` namespace (the one the CRI plugin serves), unpacked
// so that the CRI plugin can start containers from it straight away.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeOciArchive } from '../images/archive.ts';
import type { Image } from '../images/oci.ts';
import type { NodeAccess } from './access.ts';
import { journalImage, undoImage } from './journal.ts';

const CONTAINERD_NAMESPACE = 'k8s.io';

export interface PreloadOptions {
  nodes: NodeAccess;
  node: string;
  /** Full reference the image is stored under, the same one pods name. */
  ref: string;
  image: Image;
}

/** Imports `image` under `ref` into the node's containerd, the archive streamed from a file. */
export async function preloadImage(o: PreloadOptions): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pullcheck-preload-'));
  try {
    // Journaled first: a run killed during the import leaves an entry whose undo removes the image.
    await journalImage(o.nodes, o.node, o.ref);
    const archive = join(dir, 'image.tar');
    await writeOciArchive(archive, [{ ref: o.ref, image: o.image }]);
    await o.nodes.exec(o.node, ['ctr', `--namespace=${CONTAINERD_NAMESPACE}`, 'images', 'import', '--no-unpack=false', '-'], {
      inputFile: archive,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** True when the node's CRI image store knows `ref` (what kubelet asks before deciding to pull). */
export async function nodeHasImage(nodes: NodeAccess, node: string, ref: string): Promise<boolean> {
  const r = await nodes.exec(node, ['crictl', 'inspecti', ref], { allowFailure: true });
  return r.exitCode === 0;
}

/**
 * Removes `ref` from the node whichever way it got there: `crictl rmi` drops every name the CRI
 * plugin gave a kubelet pull (tag, repo@digest, image id), `ctr images rm` the name a `ctr import`
 * gave. Either may find nothing to remove.
 */
export async function removeNodeImage(nodes: NodeAccess, node: string, ref: string): Promise<void> {
  await undoImage(nodes, node, ref);
  await nodes.exec(node, ['crictl', 'rmi', ref], { allowFailure: true });
  await nodes.exec(node, ['ctr', `--namespace=${CONTAINERD_NAMESPACE}`, 'images', 'rm', ref], { allowFailure: true });
  if (await nodeHasImage(nodes, node, ref)) throw new Error(`${node}: image ${ref} is still present after crictl rmi and ctr images rm`);
}
