// Root filesystems from Debian's packages with mmdebstrap, as tar files: the node's (kind's base
// image package list) and a small one for images that need iptables (kube-proxy).
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { cachedDir, cachePath } from '../../infra/cache.ts';
import { run } from '../../infra/exec.ts';
import type { Logger } from '../../infra/log.ts';
import { DEBIAN_MIRROR, NODE_DEBIAN_SUITE, NODE_PACKAGES } from '../../infra/versions.ts';

export interface RootfsSpec {
  name: string;
  variant: 'minbase' | 'essential';
  packages: readonly string[];
}

export const NODE_ROOTFS: RootfsSpec = { name: 'node', variant: 'minbase', packages: NODE_PACKAGES };
export const IPTABLES_ROOTFS: RootfsSpec = {
  name: 'iptables',
  variant: 'essential',
  packages: ['iptables', 'nftables', 'conntrack', 'kmod'],
};

export function rootfsKey(spec: RootfsSpec): string {
  const text = [NODE_DEBIAN_SUITE, spec.variant, ...[...spec.packages].sort()].join('\n');
  return `${spec.name}-${NODE_DEBIAN_SUITE}-${createHash('sha256').update(text).digest('hex').slice(0, 12)}`;
}

/** Returns the path of `rootfs.tar` for `spec`, building it when not cached. */
export async function buildRootfs(spec: RootfsSpec, logger: Logger): Promise<string> {
  const { dir } = await cachedDir(cachePath('rootfs', rootfsKey(spec)), (out) =>
    logger.phase(`build ${spec.name} root filesystem (Debian ${NODE_DEBIAN_SUITE}, ${spec.packages.length} packages)`, async () => {
      await run(
        [
          'mmdebstrap',
          `--variant=${spec.variant}`,
          '--mode=root',
          '--format=tar',
          `--include=${spec.packages.join(',')}`,
          // Documentation and apt lists only make the image larger.
          '--dpkgopt=path-exclude=/usr/share/{doc,man,info}/*',
          '--aptopt=Acquire::Languages "none"',
          '--customize-hook=rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*',
          NODE_DEBIAN_SUITE,
          join(out, 'rootfs.tar'),
          DEBIAN_MIRROR,
        ],
        { logger },
      );
    }),
  );
  return join(dir, 'rootfs.tar');
}
