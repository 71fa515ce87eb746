// The runner image: pullcheck inside a cluster (a Job, a Sonobuoy plugin). Built like the node
// image, from parts made here: a Debian root filesystem with Node.js from Debian's packages, the
// packed tool installed under /opt/pullcheck, and the test programs prebuilt (a pod has no Go).
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildPrebuiltPrograms } from '../../images/testimages.ts';
import { docker, imageLabel, LABEL_MANAGED } from '../../infra/docker.ts';
import type { Logger } from '../../infra/log.ts';
import { buildRootfs, type RootfsSpec, rootfsKey } from '../nodeimage/rootfs.ts';
import { installTool, packTool } from './tool.ts';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/** trixie's nodejs is 20.19, the oldest pullcheck's engines allow (bookworm's 18 is too old). */
export const RUNNER_ROOTFS: RootfsSpec = { name: 'runner', variant: 'minbase', packages: ['nodejs', 'ca-certificates'] };

/** Bump when the way the runner image is assembled changes. */
const ASSEMBLY_REVISION = '1';
export const LABEL_RUNNER_INPUTS = 'pullcheck.io/runner-inputs';
/** Where the image keeps pullcheck's cache: the prebuilt programs are found there as cache hits. */
export const RUNNER_CACHE_DIR = '/var/cache/pullcheck';
export const RUNNER_LATEST = 'pullcheck/runner:latest';
export const SONOBUOY_ENTRYPOINT = '/usr/local/bin/pullcheck-sonobuoy';

export interface RunnerImage {
  ref: string;
  /** false: the image with these inputs was in the local store already. */
  built: boolean;
}

export async function resolveRunnerImage(logger: Logger, o: { tag?: string } = {}): Promise<RunnerImage> {
  const work = mkdtempSync(join(tmpdir(), 'pullcheck-runner-'));
  try {
    const tarball = await logger.phase('npm pack', () => packTool(ROOT, join(work, 'pack'), logger));
    const programs = await logger.phase('prebuild the test programs', () => buildPrebuiltPrograms(logger));
    const plugin = join(ROOT, 'deploy', 'sonobuoy', 'run-plugin.sh');
    const key = createHash('sha256')
      .update([ASSEMBLY_REVISION, rootfsKey(RUNNER_ROOTFS), ...programs.map((p) => basename(p))].join('\n'))
      .update(readFileSync(tarball))
      .update(readFileSync(join(ROOT, 'package-lock.json')))
      .update(readFileSync(plugin))
      .digest('hex')
      .slice(0, 16);
    const ref = o.tag ?? `pullcheck/runner:${key}`;
    if ((await imageLabel(ref, LABEL_RUNNER_INPUTS, { logger })) === key) return { ref, built: false };
    const rootfs = await buildRootfs(RUNNER_ROOTFS, logger);
    const staging = join(work, 'root');
    await logger.phase('install the packed tool with its production dependencies', () =>
      installTool(tarball, join(staging, 'opt', 'pullcheck'), join(ROOT, 'package-lock.json'), logger),
    );
    for (const dir of programs) cpSync(dir, join(staging, RUNNER_CACHE_DIR.slice(1), 'bin', basename(dir)), { recursive: true });
    mkdirSync(join(staging, 'usr', 'local', 'bin'), { recursive: true });
    symlinkSync(`/opt/pullcheck/${readBin(join(staging, 'opt', 'pullcheck', 'package.json'))}`, join(staging, 'usr/local/bin/pullcheck'));
    copyFileSync(plugin, join(staging, SONOBUOY_ENTRYPOINT.slice(1)));
    chmodSync(join(staging, SONOBUOY_ENTRYPOINT.slice(1)), 0o755);
    await logger.phase(`assemble ${ref}`, () => assemble(rootfs, staging, ref, key, logger));
    await pruneSuperseded(ref, logger);
    return { ref, built: true };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Root filesystem imported, the staged files copied over it, committed with the runner's config. */
async function assemble(rootfsTar: string, staging: string, ref: string, key: string, logger: Logger): Promise<void> {
  const base = `pullcheck/runner-base:${key}`;
  await docker(['import', rootfsTar, base], { logger });
  const name = `pullcheck-runner-build-${process.pid}`;
  try {
    await docker(['create', '--name', name, '--label', `${LABEL_MANAGED}=true`, base, '/bin/true'], { logger });
    await docker(['cp', `${staging}/.`, `${name}:/`], { logger });
    await docker(
      [
        'commit',
        '--change',
        `ENV PULLCHECK_CACHE_DIR=${RUNNER_CACHE_DIR}`,
        '--change',
        'ENV CI=true',
        '--change',
        'WORKDIR /tmp',
        '--change',
        'ENTRYPOINT ["/usr/local/bin/pullcheck"]',
        '--change',
        'CMD ["--help"]',
        '--change',
        `LABEL ${LABEL_RUNNER_INPUTS}=${key}`,
        name,
        ref,
      ],
      { logger },
    );
  } finally {
    await docker(['rm', '-f', name], { logger, allowFailure: true });
    await docker(['rmi', base], { logger, allowFailure: true });
  }
}

/** Runner images of earlier inputs are a cache this build replaces (as a node image's tag is): untag them. */
async function pruneSuperseded(ref: string, logger: Logger): Promise<void> {
  const { stdout } = await docker(['images', 'pullcheck/runner', '--format', '{{.Repository}}:{{.Tag}}'], { logger, allowFailure: true });
  for (const old of stdout.split('\n').filter((r) => r && r !== ref && r !== RUNNER_LATEST))
    await docker(['rmi', old], { logger, allowFailure: true });
}

function readBin(packageJson: string): string {
  const pkg = JSON.parse(readFileSync(packageJson, 'utf8')) as { bin?: string | Record<string, string> };
  const bin = typeof pkg.bin === 'string' ? pkg.bin : pkg.bin?.['pullcheck'];
  if (!bin) throw new Error(`${packageJson} names no pullcheck bin`);
  return bin.replace(/^\.\//, '');
}
