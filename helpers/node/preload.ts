// Images placed in a node's runtime without kubelet, as an admin pre-loading nodes would: an OCI
// archive imported into the store the CRI serves, unpacked so that containers can start from it
// straight away. How is the declared runtime's (helpers/runtime/): `ctr` into containerd's `k8s.io`
// namespace, or `skopeo copy` into CRI-O's containers-storage.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeOciArchive } from '../images/archive.ts';
import type { Image } from '../images/oci.ts';
import { containerdRuntime } from '../runtime/containerd.ts';
import type { NodeRuntime } from '../runtime/runtime.ts';
import type { NodeAccess } from './access.ts';
import { journalImage, undoImage } from './journal.ts';

export interface PreloadOptions {
  nodes: NodeAccess;
  node: string;
  /** Full reference the image is stored under, the same one pods name. */
  ref: string;
  image: Image;
  /** The declared runtime (`nodeRuntime(posture)`); containerd when not given. */
  runtime?: NodeRuntime;
}

/** Imports `image` under `ref` into the node's runtime, the archive streamed from a file. */
export async function preloadImage(o: PreloadOptions): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pullcheck-preload-'));
  try {
    // Journaled first: a run killed during the import leaves an entry whose undo removes the image.
    await journalImage(o.nodes, o.node, o.ref);
    const archive = join(dir, 'image.tar');
    await writeOciArchive(archive, [{ ref: o.ref, image: o.image }]);
    await (o.runtime ?? containerdRuntime).importImage(o.nodes, o.node, o.ref, archive);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // containerd's CRI plugin learns of an import from the store's events, after `ctr` has returned:
  // under load crictl did not see one at once, and a pod made then would pull what was preloaded.
  const until = Date.now() + CRI_SEES_IMPORT_MS;
  while (!(await nodeHasImage(o.nodes, o.node, o.ref))) {
    if (Date.now() >= until)
      throw new Error(
        `test setup: ${o.ref}, imported into the node's runtime on ${o.node}, should be visible to the CRI, but crictl inspecti did not find it for ${CRI_SEES_IMPORT_MS / 1000} s`,
      );
    await sleep(250);
  }
}

const CRI_SEES_IMPORT_MS = 10_000;

/** True when the node's CRI image store knows `ref` (what kubelet asks before deciding to pull). */
export async function nodeHasImage(nodes: NodeAccess, node: string, ref: string): Promise<boolean> {
  const r = await nodes.exec(node, ['crictl', 'inspecti', ref], { allowFailure: true });
  return r.exitCode === 0;
}

/**
 * Removes `ref` from the node whichever way it got there: `crictl rmi` drops every name the CRI
 * gave a kubelet pull (tag, repo@digest, image id), the runtime's own tool (`ctr images rm`,
 * `skopeo delete`) the name an import gave. Either may find nothing to remove. CRI-O refuses to
 * remove an image a container still uses (a pod of the scenario still terminating), so the removal
 * is tried again until the image is gone or `deadlineMs` passed, and then fails with what crictl said.
 */
export async function removeNodeImage(
  nodes: NodeAccess,
  node: string,
  ref: string,
  runtime: NodeRuntime = containerdRuntime,
  deadlineMs = 90_000,
): Promise<void> {
  await undoImage(nodes, node, ref);
  const until = Date.now() + deadlineMs;
  let said = '';
  for (;;) {
    await runtime.releaseImage(nodes, node, ref);
    const r = await nodes.exec(node, ['crictl', 'rmi', ref], { allowFailure: true });
    said = `${r.stdout}${r.stderr}`.trim();
    await runtime.removeImage(nodes, node, ref);
    if (!(await nodeHasImage(nodes, node, ref))) return;
    if (Date.now() > until) break;
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
  throw new Error(
    `${node}: image ${ref} is still present after crictl rmi and the ${runtime.name} removal for ${deadlineMs / 1000}s; crictl rmi said: ${said}`,
  );
}
