// `--archive` writes the run directory as a .tar.gz with tar-stream (no host tar): read back here,
// every file, directory and link is there under the run's own directory, with its content and mode.
import { chmodSync, createReadStream, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { afterAll, describe, expect, it } from '@jest/globals';
import tar from 'tar-stream';
import { run } from '../helpers/infra/exec.ts';
import { archiveRun } from '../helpers/report/archive.ts';

interface Read {
  name: string;
  type: string;
  mode: number;
  body?: string;
  linkname?: string;
}

async function readBack(file: string): Promise<Read[]> {
  const entries: Read[] = [];
  const extract = tar.extract();
  extract.on('entry', (header, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: unknown) => {
      chunks.push(c as Buffer);
    });
    stream.on('end', () => {
      entries.push({
        name: header.name,
        type: header.type ?? 'file',
        mode: header.mode ?? 0,
        ...(header.type === 'file' ? { body: Buffer.concat(chunks).toString('utf8') } : {}),
        ...(header.linkname ? { linkname: header.linkname } : {}),
      });
      next();
    });
    stream.resume();
  });
  await pipeline(createReadStream(file), createGunzip(), extract);
  return entries;
}

describe('archiveRun', () => {
  const root = mkdtempSync(join(tmpdir(), 'pullcheck-archive-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('writes pullcheck-<run>.tar.gz beside the run directory, readable back entry by entry', async () => {
    const runDir = join(root, '20260105-010203-abcd');
    mkdirSync(join(runDir, 'v1.37.2', 'scenarios'), { recursive: true });
    writeFileSync(join(runDir, 'results.json'), '{"schema":"pullcheck.io/results/v2"}\n');
    writeFileSync(join(runDir, 'v1.37.2', 'scenarios', 'smoke__a.json'), 'x'.repeat(70_000));
    writeFileSync(join(runDir, 'run.sh'), '#!/bin/sh\n');
    chmodSync(join(runDir, 'run.sh'), 0o755);
    symlinkSync('v1.37.2', join(runDir, 'latest-target'));
    const file = await archiveRun(runDir);
    expect(file).toBe(join(root, 'pullcheck-20260105-010203-abcd.tar.gz'));
    const entries = await readBack(file);
    const base = '20260105-010203-abcd';
    expect(entries.map((e) => `${e.type} ${e.name}`)).toEqual([
      `directory ${base}`,
      `symlink ${base}/latest-target`,
      `file ${base}/results.json`,
      `file ${base}/run.sh`,
      `directory ${base}/v1.37.2`,
      `directory ${base}/v1.37.2/scenarios`,
      `file ${base}/v1.37.2/scenarios/smoke__a.json`,
    ]);
    const byName = new Map(entries.map((e) => [e.name, e]));
    expect(byName.get(`${base}/results.json`)?.body).toBe('{"schema":"pullcheck.io/results/v2"}\n');
    expect(byName.get(`${base}/v1.37.2/scenarios/smoke__a.json`)?.body).toHaveLength(70_000);
    expect(byName.get(`${base}/run.sh`)?.mode).toBe(0o755);
    expect(byName.get(`${base}/latest-target`)?.linkname).toBe('v1.37.2');
    // Any tar reads it too.
    const listed = await run(['tar', '-tzf', file]);
    expect(listed.stdout.split('\n')).toContain(`${base}/v1.37.2/scenarios/smoke__a.json`);
  });
});
