// `--archive`: the run directory as one file to hand on (a CI artifact, a ticket attachment),
// written here with tar-stream and gzip (no host `tar`): the run's own directory inside, its files
// and subdirectories with their modes and times, symbolic links kept as links.
import { createReadStream, createWriteStream, lstatSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import tar from 'tar-stream';

/** Writes `pullcheck-<run>.tar.gz` beside the run directory (the run's own directory inside); returns its path. */
export async function archiveRun(runDir: string): Promise<string> {
  const file = join(dirname(runDir), `pullcheck-${basename(runDir)}.tar.gz`);
  const pack = tar.pack();
  const written = pipeline(pack, createGzip(), createWriteStream(file));
  try {
    await addTree(pack, runDir, basename(runDir));
    pack.finalize();
    await written;
  } catch (error) {
    pack.destroy(error as Error);
    await written.catch(() => undefined);
    rmSync(file, { force: true });
    throw error;
  }
  return file;
}

/** `path` as `name` in the archive, and everything under it, in a stable (sorted) order. */
async function addTree(pack: tar.Pack, path: string, name: string): Promise<void> {
  const st = lstatSync(path);
  const header = { name, mode: st.mode & 0o7777, mtime: st.mtime };
  if (st.isSymbolicLink()) {
    await entry(pack, { ...header, type: 'symlink', linkname: readlinkSync(path) });
  } else if (st.isDirectory()) {
    await entry(pack, { ...header, type: 'directory' });
    for (const child of readdirSync(path).sort()) await addTree(pack, join(path, child), `${name}/${child}`);
  } else if (st.isFile()) {
    await pipeline(createReadStream(path), pack.entry({ ...header, type: 'file', size: st.size }));
  }
}

function entry(pack: tar.Pack, header: Partial<tar.Header> & Pick<tar.Header, 'name'>): Promise<void> {
  return new Promise((resolve, reject) => pack.entry(header, (e) => (e ? reject(e) : resolve())));
}
