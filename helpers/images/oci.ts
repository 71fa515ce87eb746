// OCI image pieces written by hand: a layer is a tar stream, config and manifest are JSON, an image
// is addressed by the sha256 of its manifest bytes. No Dockerfile, no `docker build`, no base image.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip, gzipSync } from 'node:zlib';
import tar from 'tar-stream';

export const MediaType = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
}

/** A blob held in memory (configs, manifests, small layers). */
export interface Blob {
  digest: string;
  size: number;
  bytes: Buffer;
}

/** A layer: `diffId` names the uncompressed tar (image config), `digest` the gzip blob (manifest). */
export interface Layer {
  digest: string;
  diffId: string;
  size: number;
  /** In memory for small layers, on disk for big ones. */
  source: { bytes: Buffer } | { gzipFile: string };
}

export function sha256(bytes: Buffer | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export function blobOf(bytes: Buffer): Blob {
  return { digest: sha256(bytes), size: bytes.length, bytes };
}

export function jsonBlob(value: unknown): Blob {
  return blobOf(Buffer.from(JSON.stringify(value)));
}

export interface FileEntry {
  path: string;
  content: Buffer | string;
  /** Octal mode; 0o755 for executables. */
  mode?: number;
}

/** A deterministic tar of `files` (fixed mtime, uid 0), with the parent directories they need. */
export async function tarOf(files: readonly FileEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => chunks.push(c as Buffer));
  const done = new Promise<void>((resolve, reject) => {
    pack.on('end', () => resolve());
    pack.on('error', reject);
  });
  const dirs = new Set<string>();
  const mtime = new Date(0);
  for (const f of [...files].sort((a, b) => a.path.localeCompare(b.path))) {
    const clean = f.path.replace(/^\/+/, '');
    const parts = clean.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (!dirs.has(dir)) {
        dirs.add(dir);
        pack.entry({ name: `${dir}/`, type: 'directory', mode: 0o755, mtime, uid: 0, gid: 0 });
      }
    }
    const content = typeof f.content === 'string' ? Buffer.from(f.content) : f.content;
    pack.entry({ name: clean, mode: f.mode ?? 0o644, mtime, uid: 0, gid: 0, size: content.length }, content);
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

export async function layerFromFiles(files: readonly FileEntry[]): Promise<Layer> {
  const raw = await tarOf(files);
  const gz = gzipSync(raw, { level: 6 });
  return { digest: sha256(gz), diffId: sha256(raw), size: gz.length, source: { bytes: gz } };
}

/** Gzips a tar file from disk into `gzipFile`, hashing both sides in one pass. */
export async function layerFromTarFile(tarFile: string, gzipFile: string): Promise<Layer> {
  const raw = hashingPassThrough();
  const gz = hashingPassThrough();
  await pipeline(createReadStream(tarFile), raw.stream, createGzip({ level: 6 }), gz.stream, createWriteStream(gzipFile));
  return { digest: gz.digest(), diffId: raw.digest(), size: gz.size(), source: { gzipFile } };
}

function hashingPassThrough(): { stream: Transform; digest: () => string; size: () => number } {
  const hash = createHash('sha256');
  let size = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      size += chunk.length;
      cb(null, chunk);
    },
  });
  return { stream, digest: () => `sha256:${hash.digest('hex')}`, size: () => size };
}

export interface ImageConfigOptions {
  platform: Platform;
  entrypoint?: string[];
  cmd?: string[];
  env?: string[];
  workingDir?: string;
  labels?: Record<string, string>;
}

export function imageConfig(layers: readonly Layer[], o: ImageConfigOptions): Blob {
  return jsonBlob({
    architecture: o.platform.architecture,
    os: o.platform.os,
    ...(o.platform.variant ? { variant: o.platform.variant } : {}),
    created: '1970-01-01T00:00:00Z',
    config: {
      ...(o.entrypoint ? { Entrypoint: o.entrypoint } : {}),
      ...(o.cmd ? { Cmd: o.cmd } : {}),
      Env: o.env ?? ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      ...(o.workingDir ? { WorkingDir: o.workingDir } : {}),
      ...(o.labels ? { Labels: o.labels } : {}),
    },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history: layers.map(() => ({ created: '1970-01-01T00:00:00Z', created_by: 'pullcheck' })),
  });
}

export type ManifestFormat = 'oci' | 'docker';

export function imageManifest(config: Blob, layers: readonly Layer[], format: ManifestFormat = 'oci'): Blob {
  const oci = format === 'oci';
  return jsonBlob({
    schemaVersion: 2,
    mediaType: oci ? MediaType.ociManifest : MediaType.dockerManifest,
    config: { mediaType: oci ? MediaType.ociConfig : MediaType.dockerConfig, digest: config.digest, size: config.size },
    layers: layers.map((l) => ({ mediaType: oci ? MediaType.ociLayerGzip : MediaType.dockerLayerGzip, digest: l.digest, size: l.size })),
  });
}

export function imageIndex(manifests: readonly Descriptor[], format: ManifestFormat = 'oci'): Blob {
  return jsonBlob({
    schemaVersion: 2,
    mediaType: format === 'oci' ? MediaType.ociIndex : MediaType.dockerManifestList,
    manifests,
  });
}

/** One single-platform image, everything needed to write or push it. */
export interface Image {
  manifest: Blob;
  manifestMediaType: string;
  config: Blob;
  layers: Layer[];
}

export function assembleImage(layers: Layer[], o: ImageConfigOptions, format: ManifestFormat = 'oci'): Image {
  const config = imageConfig(layers, o);
  return {
    manifest: imageManifest(config, layers, format),
    manifestMediaType: format === 'oci' ? MediaType.ociManifest : MediaType.dockerManifest,
    config,
    layers,
  };
}

/** The platform of this host, which the node images and test images are built for. */
export function hostPlatform(): Platform {
  const architecture = ({ x64: 'amd64', arm64: 'arm64' } as Record<string, string>)[process.arch];
  if (!architecture) throw new Error(`unsupported host architecture ${process.arch}: pullcheck builds node images for amd64 and arm64`);
  return { os: 'linux', architecture };
}
