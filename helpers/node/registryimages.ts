// The images nodes pulled from a suite's own registries, removed when the suite ends: those
// registries are gone with it, and a cluster run against nightly would otherwise keep every test
// image of every run (kubelet's image GC acts only near a full disk). Only pullcheck's own hosts,
// unique to the suite: a vendor registry's images may have been on the nodes before the run.
import type { Logger } from '../infra/log.ts';
import type { NodeAccess } from './access.ts';

/**
 * One exec a node: the image IDs whose name starts with `<host>/` for one of the hosts, removed
 * through the CRI (every name of the image with it); prints how many it found and how many stayed.
 * CRI-O refuses an image that any container names, exited ones too, and kubelet removes the exited
 * containers of deleted pods only on its next garbage collection: an exited container of such an
 * image (only the suite's own pods ran images from its registries) goes first, then the image.
 */
export const REMOVE_REGISTRY_IMAGES_SHELL = `ids=$(crictl images 2>/dev/null | awk -v hosts="$*" 'BEGIN { n = split(hosts, h, " ") }
NR > 1 { for (i = 1; i <= n; i++) if (index($1, h[i] "/") == 1) { print $3; break } }' | sort -u)
found=0; left=0
for id in $ids; do
  found=$((found + 1))
  crictl rmi "$id" >/dev/null 2>&1 && continue
  for c in $(crictl ps -a -q --state exited --image "$id" 2>/dev/null); do crictl rm "$c" >/dev/null 2>&1 || true; done
  crictl rmi "$id" >/dev/null 2>&1 || left=$((left + 1))
done
echo "$found $left"`;

/** Parses the shell's `<found> <left>` line. */
export function parseRemoved(stdout: string): { found: number; left: number } | undefined {
  const m = /^(\d+) (\d+)\s*$/.exec(stdout.trim());
  return m ? { found: Number(m[1]), left: Number(m[2]) } : undefined;
}

/** Removes, on every node at once, what was pulled from `hosts`; what it could not remove is logged, never thrown. */
export async function removeRegistryImages(
  nodes: NodeAccess,
  nodeNames: readonly string[],
  hosts: readonly string[],
  logger: Logger,
): Promise<void> {
  if (hosts.length === 0) return;
  await Promise.all(
    nodeNames.map(async (node) => {
      const r = await nodes.exec(node, ['sh', '-c', REMOVE_REGISTRY_IMAGES_SHELL, 'sh', ...hosts], { allowFailure: true });
      const removed = parseRemoved(r.stdout);
      if (!removed) logger.warn(`[${node}] removing the images pulled from ${hosts.join(', ')}: ${`${r.stdout}${r.stderr}`.trim()}`);
      else if (removed.left > 0)
        logger.warn(`[${node}] ${removed.left} of ${removed.found} image(s) pulled from ${hosts.join(', ')} stayed (crictl rmi refused)`);
      else if (removed.found > 0) logger.info(`[${node}] removed ${removed.found} image(s) pulled from ${hosts.join(', ')}`);
    }),
  );
}
