// An OCI image layout as one tar file: what `ctr images import` reads. Each image is named through
// the `io.containerd.image.name` annotation so that it lands in containerd under its full reference.
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { type Blob, type Image, jsonBlob } from './oci.ts';

export interface NamedImage {
  /** Full reference, e.g. registry.k8s.io/pause:3.10 */
  ref: string;
  image: Image;
}

export function refTag(ref: string): string {
  const at = ref.indexOf('@');
  const name = at >= 0 ? ref.slice(0, at) : ref;
  const colon = name.lastIndexOf(':');
  return colon > name.lastIndexOf('/') ? name.slice(colon + 1) : 'latest';
}

export function layoutIndex(images: readonly NamedImage[]): Blob {
  return jsonBlob({
    schemaVersion: 2,
    manifests: images.map(({ ref, image }) => ({
      mediaType: image.manifestMediaType,
      digest: image.manifest.digest,
      size: image.manifest.size,
      annotations: { 'io.containerd.image.name': ref, 'org.opencontainers.image.ref.name': refTag(ref) },
    })),
  });
}

export async function writeOciArchive(outFile: string, images: readonly NamedImage[]): Promise<void> {
  const pack = tar.pack();
  const written = pipeline(pack, createWriteStream(outFile));
  const seen = new Set<string>();
  const addBytes = (name: string, bytes: Buffer) =>
    new Promise<void>((resolve, reject) =>
      pack.entry({ name, size: bytes.length, mode: 0o644, mtime: new Date(0) }, bytes, (e) => (e ? reject(e) : resolve())),
    );
  const addFile = async (name: string, file: string, size: number) => {
    const entry = pack.entry({ name, size, mode: 0o644, mtime: new Date(0) });
    await pipeline(createReadStream(file), entry);
  };
  const blobPath = (digest: string) => `blobs/sha256/${digest.replace(/^sha256:/, '')}`;
  await addBytes('oci-layout', Buffer.from('{"imageLayoutVersion":"1.0.0"}'));
  await addBytes('index.json', layoutIndex(images).bytes);
  for (const { image } of images) {
    for (const blob of [image.manifest, image.config]) {
      if (seen.has(blob.digest)) continue;
      seen.add(blob.digest);
      await addBytes(blobPath(blob.digest), blob.bytes);
    }
    for (const layer of image.layers) {
      if (seen.has(layer.digest)) continue;
      seen.add(layer.digest);
      if ('bytes' in layer.source) await addBytes(blobPath(layer.digest), layer.source.bytes);
      else await addFile(blobPath(layer.digest), layer.source.gzipFile, layer.size);
    }
  }
  pack.finalize();
  await written;
}
