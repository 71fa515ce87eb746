// What must be true of the host before pullcheck starts anything, each with a one-line fix.
import { readFileSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, relative } from 'node:path';
import { type RunResult, run } from './exec.ts';
import { MIN_DOCKER_MAJOR } from './versions.ts';

export class EnvironmentError extends Error {
  override name = 'EnvironmentError';
}

const HOST_UP = 'run `bash scripts/host-up` as root (installs Docker Engine from Debian trixie and starts it)';

export interface DockerFacts {
  serverVersion: string;
  cgroupVersion: 1 | 2;
  capSysResource: boolean;
}

const CAP_SYS_RESOURCE = 24n;

/** Bit CAP_SYS_RESOURCE of a CapBnd line from /proc/<pid>/status. */
export function hasCapSysResource(procStatus: string): boolean {
  const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(procStatus);
  if (!m) return true;
  return ((BigInt(`0x${m[1]}`) >> CAP_SYS_RESOURCE) & 1n) === 1n;
}

export async function checkDocker(): Promise<DockerFacts> {
  let r: RunResult;
  try {
    r = await run(['docker', 'info', '--format', '{{json .}}'], { allowFailure: true, timeoutMs: 20_000 });
  } catch {
    throw new EnvironmentError(`no docker CLI on PATH: ${HOST_UP}`);
  }
  if (r.exitCode !== 0) {
    throw new EnvironmentError(`Docker Engine is not running or its socket is not reachable (${firstLine(r.stderr)}): ${HOST_UP}`);
  }
  const info = JSON.parse(r.stdout) as { ServerVersion?: string; CgroupVersion?: string };
  const serverVersion = info.ServerVersion ?? '0';
  const major = Number.parseInt(serverVersion, 10);
  if (!(major >= MIN_DOCKER_MAJOR)) {
    throw new EnvironmentError(
      `Docker Engine ${serverVersion} is too old: pullcheck needs ${MIN_DOCKER_MAJOR}+ to run privileged kind nodes here; stop it and ${HOST_UP}`,
    );
  }
  return {
    serverVersion,
    cgroupVersion: info.CgroupVersion === '2' ? 2 : 1,
    capSysResource: hasCapSysResource(readFileSync('/proc/self/status', 'utf8')),
  };
}

export async function checkBuildTools(): Promise<void> {
  const go = await run(['go', 'env', 'GOVERSION'], { allowFailure: true }).catch(() => undefined);
  if (go?.exitCode !== 0) {
    throw new EnvironmentError('no Go toolchain on PATH: install Go 1.26+ (pullcheck builds kind and the node image from Go modules)');
  }
  const m = /^go(\d+)\.(\d+)/.exec(go.stdout.trim());
  if (!m || Number(m[1]) < 1 || Number(m[2]) < 26) {
    throw new EnvironmentError(`Go ${go.stdout.trim()} is too old: Kubernetes 1.36+ needs Go 1.26+`);
  }
  const seccomp = await run(['pkg-config', '--exists', 'libseccomp'], { allowFailure: true }).catch(() => undefined);
  if (seccomp?.exitCode !== 0) {
    throw new EnvironmentError(
      `libseccomp-dev not found (runc is built with seccomp): ${HOST_UP}, or apt-get install libseccomp-dev pkg-config`,
    );
  }
  const mm = await run(['mmdebstrap', '--version'], { allowFailure: true }).catch(() => undefined);
  if (mm?.exitCode !== 0) {
    throw new EnvironmentError(`mmdebstrap not found (it builds the node's root filesystem): ${HOST_UP}, or apt-get install mmdebstrap`);
  }
}

const TOOL_FIX: Record<string, string> = {
  go: 'install Go 1.26+',
  skopeo: 'apt-get install skopeo',
  tar: 'apt-get install tar',
};

/**
 * Every host program the selection needs, checked at once: one line naming each missing one, why
 * it is needed and the fix, before any cluster or registry exists.
 */
export async function checkHostTools(needed: ReadonlyMap<string, string>): Promise<void> {
  const missing: string[] = [];
  for (const [tool, why] of needed) {
    const found = await run(['sh', '-c', `command -v ${tool}`], { allowFailure: true }).catch(() => undefined);
    if (found?.exitCode !== 0) missing.push(`${tool} (${why}: ${TOOL_FIX[tool] ?? `install ${tool}`})`);
  }
  if (missing.length) throw new EnvironmentError(`missing on this host: ${missing.join('; ')}`);
}

const NO_SPACE = /no space left on device/i;
/** Less free space than this where pullcheck writes, when something failed: the disk is the cause. */
const NEARLY_FULL_BYTES = 16 * 1024 * 1024;

/**
 * A full disk, wherever it surfaced: a Node fs error (ENOSPC), a command that said so (mmdebstrap,
 * docker), or a failure while the cache's or the temporary directory's filesystem is (nearly)
 * full: Go, for one, reports a full GOCACHE as missing packages. Returns the one-line
 * EnvironmentError to show instead, or undefined when the disk is not the cause.
 */
export function noSpaceError(
  error: unknown,
  doing: string,
  cacheDir: string,
  dirs: readonly string[] = [cacheDir, tmpdir()],
): EnvironmentError | undefined {
  const message = (dir: string) =>
    new EnvironmentError(
      `no space left on device while ${doing} (in ${dir}): free some space or point PULLCHECK_CACHE_DIR at a bigger disk`,
      { cause: error },
    );
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const errno = e as NodeJS.ErrnoException;
    const text = `${e.message}\n${'stderr' in e ? String(e.stderr) : ''}`;
    if (errno.code !== 'ENOSPC' && !NO_SPACE.test(text)) continue;
    const path = errno.path ?? /(\/[^\s:'"]+)'?:? no space left on device/i.exec(text)?.[1];
    const inCache = path !== undefined && !relative(cacheDir, path).startsWith('..');
    return message(path === undefined || inCache ? cacheDir : dirname(path));
  }
  const full = dirs.find((dir) => freeBytes(dir) < NEARLY_FULL_BYTES);
  return full === undefined ? undefined : message(full);
}

/** Bytes an unprivileged writer may still use under `dir` (Infinity when it cannot be told). */
export function freeBytes(dir: string): number {
  try {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0]?.slice(0, 200) ?? '';
}
