// The node's other binaries, each built from its Go module at the version kind (containerd, crictl)
// or kubeadm (etcd, CoreDNS) expects. Every result is cached under bin/<name>-<version>.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cachedDir, cachePath } from '../infra/cache.ts';
import type { Logger } from '../infra/log.ts';
import { PACKAGE_ROOT } from '../infra/paths.ts';
import { CONTAINERD_VERSION, CRICTL_VERSION, DISTRIBUTION_VERSION, KIND_VERSION, RUNC_VERSION } from '../infra/versions.ts';
import { goBuild, goInstall, prepareWrapper } from './go.ts';

const PROGRAMS_DIR = join(PACKAGE_ROOT, 'programs');

async function cachedBinaries(name: string, version: string, logger: Logger, build: (out: string) => Promise<void>): Promise<string> {
  const { dir, hit } = await cachedDir(cachePath('bin', `${name}-${version}`), (out) =>
    logger.phase(`build ${name} ${version}`, () => build(out)),
  );
  if (hit) logger.detail(`cached ${name} ${version}: ${dir}`);
  return dir;
}

export function buildKind(logger: Logger): Promise<string> {
  return cachedBinaries('kind', KIND_VERSION, logger, (out) => goInstall(`sigs.k8s.io/kind@${KIND_VERSION}`, out, logger));
}

const CONTAINERD_MODULE = 'github.com/containerd/containerd/v2';

/**
 * The -X flags containerd's Makefile sets (`version.Version`, `version.Revision`,
 * `version.Package`): without them the CRI reports `containerd://2.3.4+unknown` to the node status.
 * The version without its `v`, as the node status shows it; the module proxy has no git revision,
 * so the revision is zeros, as the Kubernetes binaries' gitCommit.
 */
export function containerdLdflags(version = CONTAINERD_VERSION): string {
  const pkg = `${CONTAINERD_MODULE}/version`;
  return [
    '-s -w',
    `-X ${pkg}.Version=${version.replace(/^v/, '')}`,
    `-X ${pkg}.Revision=0000000000000000000000000000000000000000`,
    `-X ${pkg}.Package=${CONTAINERD_MODULE}`,
  ].join(' ');
}

/** containerd, ctr and the runc shim; static, without the storage drivers kind does not use. */
export function buildContainerd(logger: Logger): Promise<string> {
  const tags = ['no_aufs', 'no_zfs', 'no_btrfs', 'no_devmapper'];
  // The cache entry names the flags' revision: binaries built before them are not reused.
  return cachedBinaries('containerd', `${CONTAINERD_VERSION}-versioned`, logger, async (out) => {
    for (const cmd of ['containerd', 'ctr', 'containerd-shim-runc-v2']) {
      await goInstall(`${CONTAINERD_MODULE}/cmd/${cmd}@${CONTAINERD_VERSION}`, out, logger, { tags, ldflags: containerdLdflags() });
    }
  });
}

/** runc needs cgo for seccomp (libseccomp-dev on the host; the node has Debian's libseccomp2). */
export function buildRunc(logger: Logger): Promise<string> {
  return cachedBinaries('runc', RUNC_VERSION, logger, (out) =>
    goInstall(`github.com/opencontainers/runc@${RUNC_VERSION}`, out, logger, { tags: ['seccomp'], cgo: true }),
  );
}

export function buildCrictl(logger: Logger): Promise<string> {
  return cachedBinaries('crictl', CRICTL_VERSION, logger, (out) =>
    goInstall(`sigs.k8s.io/cri-tools/cmd/crictl@${CRICTL_VERSION}`, out, logger),
  );
}

/** etcd's command lives in package etcdmain of the server module; a three-line main calls it. */
export function buildEtcd(version: string, logger: Logger): Promise<string> {
  return cachedBinaries('etcd', version, logger, async (out) => {
    const dir = await prepareWrapper(
      {
        name: `etcd-${version}`,
        goMod: `module pullcheck.local/etcd\n\ngo 1.26\n\nrequire go.etcd.io/etcd/server/v3 ${version}\n`,
        files: {
          'main.go':
            'package main\n\nimport (\n\t"os"\n\n\t"go.etcd.io/etcd/server/v3/etcdmain"\n)\n\nfunc main() { etcdmain.Main(os.Args) }\n',
        },
      },
      logger,
    );
    await goBuild(dir, ['.'], out, logger);
  });
}

/**
 * The CoreDNS plugin packages for the directives kubeadm's Corefile uses (`prometheus` is package metrics). Building CoreDNS with only these (instead of all of
 * plugin.cfg, which pulls in every cloud SDK) is what CoreDNS's own custom-build guide describes,
 * and takes a fraction of the time.
 */
export const COREDNS_PLUGINS = [
  'errors',
  'health',
  'ready',
  'kubernetes',
  'metrics',
  'forward',
  'cache',
  'loop',
  'reload',
  'loadbalance',
  'log',
] as const;

export function buildCoreDNS(version: string, logger: Logger): Promise<string> {
  return cachedBinaries('coredns', version, logger, async (out) => {
    const imports = [
      '"github.com/coredns/coredns/coremain"',
      '_ "github.com/coredns/coredns/core/dnsserver"',
      ...COREDNS_PLUGINS.map((p) => `_ "github.com/coredns/coredns/plugin/${p}"`),
    ];
    const dir = await prepareWrapper(
      {
        name: `coredns-${version}`,
        goMod: `module pullcheck.local/coredns\n\ngo 1.26\n\nrequire github.com/coredns/coredns ${version}\n`,
        files: { 'main.go': `package main\n\nimport (\n${imports.map((i) => `\t${i}`).join('\n')}\n)\n\nfunc main() { coremain.Run() }\n` },
      },
      logger,
    );
    await goBuild(dir, ['.'], out, logger);
  });
}

/** Programs whose source is in this repository (programs/), keyed by the hash of that source. */
export function buildOwnProgram(name: 'pause' | 'credprovider', logger: Logger): Promise<string> {
  const source = readFileSync(join(PROGRAMS_DIR, name, 'main.go'));
  const key = createHash('sha256').update(source).digest('hex').slice(0, 12);
  return cachedBinaries(name, key, logger, (out) => goBuild(PROGRAMS_DIR, [`./${name}`], out, logger));
}

export function buildRegistry(logger: Logger): Promise<string> {
  return cachedBinaries('registry', DISTRIBUTION_VERSION, logger, (out) =>
    goInstall(`github.com/distribution/distribution/v3/cmd/registry@${DISTRIBUTION_VERSION}`, out, logger),
  );
}
