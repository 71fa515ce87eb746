// The images scenarios run: the repository's echo program (programs/echo), built per platform, plus
// a layer naming the image's build id. One binary per platform serves every image; the build-id
// layer gives every image its own digest.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { goEnv } from '../build/go.ts';
import { cachedDir, cachePath } from '../infra/cache.ts';
import { run } from '../infra/exec.ts';
import type { Logger } from '../infra/log.ts';
import { PACKAGE_ROOT } from '../infra/paths.ts';
import {
  assembleImage,
  type Blob,
  type Descriptor,
  type Image,
  imageIndex,
  type Layer,
  layerFromFiles,
  type ManifestFormat,
  MediaType,
  type Platform,
} from './oci.ts';

const PROGRAMS_DIR = join(PACKAGE_ROOT, 'programs');

export function platformString(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

function goArch(p: Platform): Record<string, string> {
  const env: Record<string, string> = { GOOS: p.os, GOARCH: p.architecture };
  if (p.architecture === 'arm' && p.variant) env['GOARM'] = p.variant.replace(/^v/, '');
  return env;
}

type ProgramName = 'echo' | 'nodeagent';

/** Where programBinary caches `name` for `platform`: keyed by the hash of its Go files and `ldflags`. */
function programCacheDir(name: ProgramName, platform: Platform, ldflags: string): string {
  const sourceDir = join(PROGRAMS_DIR, name);
  const hash = createHash('sha256').update(ldflags);
  for (const file of readdirSync(sourceDir)
    .filter((f) => f.endsWith('.go') && !f.endsWith('_test.go'))
    .sort()) {
    hash.update(file).update(readFileSync(join(sourceDir, file)));
  }
  const key = hash.digest('hex').slice(0, 12);
  return cachePath('bin', `${name}-${key}-${platformString(platform).replace(/\//g, '-')}`);
}

async function buildProgram(name: ProgramName, platform: Platform, logger: Logger, ldflags: string): Promise<string> {
  const { dir, hit } = await cachedDir(programCacheDir(name, platform, ldflags), async (out) => {
    await run(['go', 'build', '-trimpath', '-ldflags', `-s -w ${ldflags}`.trim(), '-o', join(out, name), `./${name}`], {
      cwd: PROGRAMS_DIR,
      env: goEnv(goArch(platform)),
      logger,
    });
  });
  if (hit) logger.detail(`cached ${name} ${platformString(platform)}: ${dir}`);
  return dir;
}

/**
 * A program of this repository (programs/<name>/) built for `platform`, cached by the hash of its
 * Go files and the platform; `ldflags` are added to `-s -w`.
 */
export async function programBinary(name: ProgramName, platform: Platform, logger: Logger, ldflags = ''): Promise<Buffer> {
  return readFileSync(join(await buildProgram(name, platform, logger, ldflags), name));
}

const echoLdflags = (platform: Platform) => `-X main.platform=${platformString(platform)}`;

/**
 * Every program binary a run builds (echo for each platform of a test index, the node agent for
 * the nodes' likely platforms): what the runner image carries so that it needs no Go.
 */
function prebuilt(): { name: ProgramName; platform: Platform; ldflags: string }[] {
  return [
    ...INDEX_PLATFORMS.map((platform) => ({ name: 'echo' as const, platform, ldflags: echoLdflags(platform) })),
    ...INDEX_PLATFORMS.filter((p) => p.architecture !== 'arm').map((platform) => ({ name: 'nodeagent' as const, platform, ldflags: '' })),
  ];
}

/** Builds (or finds) every prebuilt program; returns their cache directories. */
export async function buildPrebuiltPrograms(logger: Logger): Promise<string[]> {
  const dirs: string[] = [];
  for (const p of prebuilt()) dirs.push(await buildProgram(p.name, p.platform, logger, p.ldflags));
  return dirs;
}

/** Whether every program a run builds is in the cache already (the runner image): then no Go is needed. */
export function prebuiltProgramsPresent(): boolean {
  return prebuilt().every((p) => existsSync(join(programCacheDir(p.name, p.platform, p.ldflags), '.complete')));
}

/** The echo binary for `platform`; it names its platform in its marker line. */
export function echoBinary(platform: Platform, logger: Logger): Promise<Buffer> {
  return programBinary('echo', platform, logger, echoLdflags(platform));
}

export interface TestImage {
  image: Image;
  platform: Platform;
  buildId: string;
}

export function newBuildId(): string {
  return randomBytes(6).toString('hex');
}

/** The echo binary's layer per platform: the same bytes for every test image, made once per process. */
const echoLayers = new Map<string, Promise<Layer>>();

function echoLayer(platform: Platform, logger: Logger): Promise<Layer> {
  const key = platformString(platform);
  let layer = echoLayers.get(key);
  if (!layer) {
    layer = echoBinary(platform, logger).then((content) => layerFromFiles([{ path: '/bin/echo', content, mode: 0o755 }]));
    layer.catch(() => echoLayers.delete(key));
    echoLayers.set(key, layer);
  }
  return layer;
}

export async function echoImage(
  platform: Platform,
  logger: Logger,
  o: { buildId?: string; format?: ManifestFormat } = {},
): Promise<TestImage> {
  const buildId = o.buildId ?? newBuildId();
  const binary = await echoLayer(platform, logger);
  const id = await layerFromFiles([{ path: '/etc/pullcheck/build-id', content: `${buildId}\n` }]);
  const image = assembleImage([binary, id], { platform, entrypoint: ['/bin/echo'], env: ['PATH=/bin'] }, o.format ?? 'oci');
  return { image, platform, buildId };
}

/** Platforms of a multi-arch test index: the node's own and two it is not. */
export const INDEX_PLATFORMS: readonly Platform[] = [
  { os: 'linux', architecture: 'amd64' },
  { os: 'linux', architecture: 'arm64' },
  { os: 'linux', architecture: 'arm', variant: 'v7' },
];

export interface TestIndex {
  index: Blob;
  mediaType: string;
  children: TestImage[];
  buildId: string;
}

/**
 * An OCI image index or a Docker manifest list over `platforms`, every child built from the same
 * build id so that a scenario can tell which platform's manifest a node ran from the marker alone.
 */
export async function echoIndex(
  platforms: readonly Platform[],
  logger: Logger,
  o: { format?: ManifestFormat; buildId?: string } = {},
): Promise<TestIndex> {
  const format = o.format ?? 'oci';
  const buildId = o.buildId ?? newBuildId();
  const children: TestImage[] = [];
  for (const platform of platforms) children.push(await echoImage(platform, logger, { buildId, format }));
  const descriptors: Descriptor[] = children.map((c) => ({
    mediaType: c.image.manifestMediaType,
    digest: c.image.manifest.digest,
    size: c.image.manifest.size,
    platform: c.platform,
  }));
  return {
    index: imageIndex(descriptors, format),
    mediaType: format === 'oci' ? MediaType.ociIndex : MediaType.dockerManifestList,
    children,
    buildId,
  };
}
