// Temporary directories a unit test file makes, removed when its tests end (they piled up in /tmp).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removePrivateTempDir } from '../helpers/infra/tempfiles.ts';
import { type CertificateAuthority, createCA } from '../helpers/registry/tls.ts';

/** Call at a file's or a describe's top level: each call of the returned function makes one directory. */
export function tempDirs(prefix: string): () => string {
  const made: string[] = [];
  afterAll(() => {
    for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  return () => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    made.push(dir);
    return dir;
  };
}

/**
 * A test's own CAs, their keys' private directories removed when its tests end: the exit hook that
 * removes them in a run does not fire in a jest worker, and the next run's sweep is no excuse.
 */
export function unitCAs(): (commonName: string) => Promise<CertificateAuthority> {
  const made: string[] = [];
  afterAll(() => {
    for (const dir of made.splice(0)) removePrivateTempDir(dir);
  });
  return async (commonName) => {
    const ca = await createCA(commonName);
    made.push(ca.dir);
    return ca;
  };
}
