import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { assembleImage, imageIndex, layerFromFiles, MediaType, sha256, tarOf } from '../helpers/images/oci.ts';

describe('OCI image pieces', () => {
  it('digests are sha256 of the exact bytes', () => {
    expect(sha256('abc')).toBe(`sha256:${createHash('sha256').update('abc').digest('hex')}`);
  });

  it('a layer names its gzip blob by digest and its tar by diffId', async () => {
    const layer = await layerFromFiles([{ path: '/bin/echo', content: 'x', mode: 0o755 }]);
    if (!('bytes' in layer.source)) throw new Error('expected an in-memory layer');
    expect(layer.digest).toBe(sha256(layer.source.bytes));
    expect(layer.diffId).toBe(sha256(gunzipSync(layer.source.bytes)));
    expect(layer.size).toBe(layer.source.bytes.length);
  });

  it('tars are deterministic, so the same files give the same digest', async () => {
    const a = await tarOf([
      { path: 'a/b', content: '1' },
      { path: 'c', content: '2' },
    ]);
    const b = await tarOf([
      { path: 'c', content: '2' },
      { path: 'a/b', content: '1' },
    ]);
    expect(sha256(a)).toBe(sha256(b));
  });

  it('an OCI manifest references config and layers with media types and sizes', async () => {
    const layer = await layerFromFiles([{ path: 'x', content: 'y' }]);
    const img = assembleImage([layer], { platform: { os: 'linux', architecture: 'arm', variant: 'v7' }, entrypoint: ['/bin/echo'] });
    const manifest = JSON.parse(img.manifest.bytes.toString()) as {
      mediaType: string;
      config: { digest: string; size: number; mediaType: string };
      layers: { digest: string; mediaType: string }[];
    };
    expect(manifest.mediaType).toBe(MediaType.ociManifest);
    expect(manifest.config).toEqual({ mediaType: MediaType.ociConfig, digest: img.config.digest, size: img.config.size });
    expect(manifest.layers).toEqual([{ mediaType: MediaType.ociLayerGzip, digest: layer.digest, size: layer.size }]);
    const config = JSON.parse(img.config.bytes.toString()) as {
      architecture: string;
      os: string;
      variant: string;
      rootfs: { diff_ids: string[] };
    };
    expect(config).toMatchObject({ architecture: 'arm', os: 'linux', variant: 'v7', rootfs: { diff_ids: [layer.diffId] } });
  });

  it('a Docker schema 2 manifest uses Docker media types', async () => {
    const layer = await layerFromFiles([{ path: 'x', content: 'y' }]);
    const img = assembleImage([layer], { platform: { os: 'linux', architecture: 'amd64' } }, 'docker');
    const manifest = JSON.parse(img.manifest.bytes.toString()) as {
      mediaType: string;
      config: { mediaType: string };
      layers: { mediaType: string }[];
    };
    expect(manifest.mediaType).toBe(MediaType.dockerManifest);
    expect(manifest.config.mediaType).toBe(MediaType.dockerConfig);
    expect(manifest.layers[0]?.mediaType).toBe(MediaType.dockerLayerGzip);
  });

  it('an index lists each platform manifest', () => {
    const idx = imageIndex([
      { mediaType: MediaType.ociManifest, digest: sha256('m'), size: 1, platform: { os: 'linux', architecture: 'arm64' } },
    ]);
    expect(JSON.parse(idx.bytes.toString())).toEqual({
      schemaVersion: 2,
      mediaType: MediaType.ociIndex,
      manifests: [{ mediaType: MediaType.ociManifest, digest: sha256('m'), size: 1, platform: { os: 'linux', architecture: 'arm64' } }],
    });
  });
});
