import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Kube } from '../helpers/cluster/kube.ts';
import { run } from '../helpers/infra/exec.ts';
import { Logger } from '../helpers/infra/log.ts';
import type { NodeAccess } from '../helpers/node/access.ts';
import {
  describeUndo,
  entryHeader,
  journaledMkdir,
  journaledWrite,
  journaledWrites,
  parseEntry,
  parseListing,
  runDirectory,
  setJournalRun,
  TEMP_SUFFIX,
  undoUnder,
  undoUnderAndRemove,
  writerOfDirectory,
} from '../helpers/node/journal.ts';
import { replayNode } from '../helpers/node/replay.ts';
import { tempDirs } from './tempdirs.ts';

// The journal's node commands run here, in a temporary directory: the same sh a node runs them with.
const here: NodeAccess = {
  how: 'docker-exec',
  exec: (_node, argv, o = {}) =>
    run(argv, { ...(o.input !== undefined ? { input: o.input } : {}), ...(o.allowFailure ? { allowFailure: true } : {}) }),
  writeFile: () => Promise.reject(new Error('not used')),
};
const tmp = tempDirs('pullcheck-journal-');
const entriesUnder = (root: string): string[] =>
  existsSync(root) ? readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => /\/\d{6}(\.tmp)?$/.test(f)) : [];
const logger = new Logger(join(tmp(), 'journal-test.log'));
const noKube = undefined as unknown as Kube;

beforeAll(() => setJournalRun('20261204-test'));

describe('a journaled write', () => {
  it('records the absence and the directory it made; its undo removes file, directory and entry', async () => {
    const dir = tmp();
    const root = join(dir, 'journal');
    const path = join(dir, 'made', 'deeper', 'config.json');
    const change = await journaledWrite(here, 'n', path, '{"auths":{}}\n', { mode: '0600', restart: ['kubelet'], root });
    expect(readFileSync(path, 'utf8')).toBe('{"auths":{}}\n');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const entry = parseEntry(change.entry, readFileSync(change.entry, 'utf8').trimEnd());
    expect(entry).toMatchObject({ kind: 'file', target: path, restart: ['kubelet'], createdDir: join(dir, 'made'), run: '20261204-test' });
    expect(entry?.previous).toBeUndefined();
    expect(statSync(runDirectory(root)).mode & 0o777).toBe(0o700);
    await change.undo();
    expect(existsSync(join(dir, 'made'))).toBe(false);
    expect(existsSync(dir)).toBe(true);
    expect(entriesUnder(root)).toEqual([]);
    expect(existsSync(runDirectory(root))).toBe(false);
  });

  it('puts back a file that was there byte for byte, with its mode', async () => {
    const dir = tmp();
    const root = join(dir, 'journal');
    const path = join(dir, 'config.yaml');
    const original = 'a: 1\n\n  b: "x y"\n\ttrailing   \n';
    writeFileSync(path, original);
    chmodSync(path, 0o640);
    const change = await journaledWrite(here, 'n', path, 'a: 2\n', { root });
    expect(readFileSync(path, 'utf8')).toBe('a: 2\n');
    await change.undo();
    expect(readFileSync(path, 'utf8')).toBe(original);
    expect(statSync(path).mode & 0o777).toBe(0o640);
    // A second undo does nothing.
    await change.undo();
    expect(readFileSync(path, 'utf8')).toBe(original);
  });

  it('refuses an existing file when exclusive, without an entry', async () => {
    const dir = tmp();
    const root = join(dir, 'journal');
    const path = join(dir, 'config.json');
    writeFileSync(path, 'admin');
    await expect(journaledWrite(here, 'n', path, 'ours', { exclusive: true, root })).rejects.toThrow(/already exists; refusing/);
    expect(readFileSync(path, 'utf8')).toBe('admin');
    expect(entriesUnder(root)).toEqual([]);
  });

  it('fresh: the undo removes the file even when another writer had written it first', async () => {
    const dir = tmp();
    const root = join(dir, 'journal');
    const path = join(dir, 'certs.d', 'reg:5000', 'hosts.toml');
    const first = await journaledWrite(here, 'n', path, 'server', { fresh: true, root });
    const second = await journaledWrite(here, 'n', path, 'server', { fresh: true, root });
    await first.undo();
    await second.undo();
    expect(existsSync(join(dir, 'certs.d'))).toBe(false);
  });

  it('undoUnder undoes what this process wrote under a directory, newest first', async () => {
    const dir = tmp();
    const root = join(dir, 'journal');
    const host = join(dir, 'certs.d', 'reg:5000');
    await journaledWrite(here, 'u', join(host, 'ca.crt'), 'CA', { root });
    await journaledWrite(here, 'u', join(host, 'hosts.toml'), 'server', { root });
    expect(await undoUnder(here, 'u', host)).toBe(2);
    expect(existsSync(join(dir, 'certs.d'))).toBe(false);
    expect(entriesUnder(root)).toEqual([]);
    expect(await undoUnder(here, 'u', host)).toBe(0);
  });

  it('several files in one exec, each journaled; undone with what else is there by undoUnderAndRemove in one exec', async () => {
    const dir = tmp();
    const root = join(dir, 'journal');
    const host = join(dir, 'certs.d', 'reg:5000');
    const calls: string[][] = [];
    const counting: NodeAccess = {
      ...here,
      exec: (node, argv, o) => {
        calls.push([...argv]);
        return here.exec(node, argv, o);
      },
    };
    const binary = 'line one\n\u00e9 and a quote \' "$HOME" `x`\n';
    const changes = await journaledWrites(
      counting,
      'b',
      [
        { path: join(host, 'ca.crt'), content: binary, mode: '0600' },
        { path: join(host, 'hosts.toml'), content: 'server = "x"\n' },
      ],
      { root },
    );
    expect(calls).toHaveLength(1);
    expect(changes.map((c) => c.target)).toEqual([join(host, 'ca.crt'), join(host, 'hosts.toml')]);
    expect(readFileSync(join(host, 'ca.crt'), 'utf8')).toBe(binary);
    expect((statSync(join(host, 'ca.crt')).mode & 0o777).toString(8)).toBe('600');
    expect(entriesUnder(root)).toHaveLength(2);
    writeFileSync(join(host, 'left-by-someone.crt'), 'x');
    calls.length = 0;
    expect(await undoUnderAndRemove(counting, 'b', [host])).toBe(2);
    expect(calls).toHaveLength(1);
    expect(existsSync(host)).toBe(false);
    expect(entriesUnder(root)).toEqual([]);
    // Undone already: a second undo runs nothing.
    calls.length = 0;
    await changes[0]?.undo(counting);
    expect(calls).toEqual([]);
  });

  it('a directory: refused when it exists, removed with all in it', async () => {
    const dir = tmp();
    const root = join(dir, 'journal');
    const path = join(dir, 'provider');
    const change = await journaledMkdir(here, 'n', path, { root });
    expect(statSync(path).mode & 0o777).toBe(0o700);
    writeFileSync(join(path, 'credentials.json'), 'secret');
    await expect(journaledMkdir(here, 'n', path, { root })).rejects.toThrow(/already exists/);
    await change.undo();
    expect(existsSync(path)).toBe(false);
    expect(entriesUnder(root)).toEqual([]);
  });

  it('refuses a path pullcheck would not write', () => {
    expect(() => entryHeader('file', 'relative/path', [])).toThrow(/not a path/);
    expect(() => entryHeader('file', '/etc/a b', [])).toThrow(/not a path/);
    expect(() => entryHeader('file', '/etc/../x', [])).toThrow(/not a path/);
    expect(() => entryHeader('image', 'reg:5000/r/x@sha256:ab', [])).not.toThrow();
  });
});

describe('an entry', () => {
  it('is not whole until the node wrote the previous state', () => {
    const head = entryHeader('file', '/.docker/config.json', ['kubelet']);
    expect(parseEntry('/j/r/000001', head)).toBeUndefined();
    expect(parseEntry('/j/r/000001', `${head}\nprevious absent`)).toMatchObject({ kind: 'file', target: '/.docker/config.json' });
    expect(parseEntry('/j/r/000001', 'garbage')).toBeUndefined();
  });

  it('says what its undo does', () => {
    expect(describeUndo({ kind: 'file', target: '/.docker/config.json' })).toBe('removed /.docker/config.json');
    expect(describeUndo({ kind: 'file', target: '/var/lib/kubelet/config.yaml', previous: { mode: '644', base64: '' } })).toBe(
      'put back /var/lib/kubelet/config.yaml as it was',
    );
    expect(describeUndo({ kind: 'dir', target: '/var/lib/pullcheck-credprovider' })).toBe('removed /var/lib/pullcheck-credprovider/');
  });

  it("names its writer in its directory's name", () => {
    expect(writerOfDirectory('/var/lib/pullcheck/journal/20261204-1_host.example_4242')).toEqual({
      run: '20261204-1',
      host: 'host.example',
      pid: 4242,
    });
    expect(writerOfDirectory('/var/lib/pullcheck/journal/garbage')).toBeUndefined();
  });

  it('a listing separates whole entries from writes killed before their entry was whole', () => {
    const head = entryHeader('dir', '/x', []);
    const { entries, partial } = parseListing(`==> /j/a_h_1/000001\n${head}\n\n==> /j/a_h_1/000002.tmp\n`);
    expect(entries.map((e) => e.entry)).toEqual(['/j/a_h_1/000001']);
    expect(partial).toEqual(['/j/a_h_1/000002.tmp']);
  });
});

describe('replaying the journal of a killed run', () => {
  /** Entries as a run killed at `stage` leaves them: the entry written, then the change made or not. */
  async function killedWrite(root: string, path: string, content: string, stage: 'before-change' | 'mid-change' | 'after-change') {
    const before = existsSync(path) ? readFileSync(path) : undefined;
    const change = await journaledWrite(here, 'n', path, content, { root });
    if (stage === 'before-change') {
      // The kill came between the entry and the change: put the file back as the entry says it was.
      if (before === undefined) await run(['rm', '-f', path]);
      else writeFileSync(path, before);
    }
    if (stage === 'mid-change') writeFileSync(join(path, '..', `.${path.split('/').pop()}${TEMP_SUFFIX}`), content);
    return change;
  }

  for (const stage of ['before-change', 'mid-change', 'after-change'] as const) {
    it(`leaves the node as it was (killed ${stage})`, async () => {
      const dir = tmp();
      const root = join(dir, 'journal');
      const credential = join(dir, 'dot-docker', 'config.json');
      const config = join(dir, 'kubelet', 'config.yaml');
      mkdirSync(join(dir, 'kubelet'));
      writeFileSync(config, 'original\n');
      await killedWrite(root, credential, 'canary-password', stage);
      await killedWrite(root, config, 'patched\n', stage);
      const restored = await replayNode({ kube: noKube, nodes: here, node: 'n', logger, root, isAlive: async () => false, lock: false });
      expect(restored).toEqual([
        { node: 'n', what: `put back ${config} as it was`, run: '20261204-test' },
        { node: 'n', what: `removed ${credential}`, run: '20261204-test' },
      ]);
      expect(existsSync(join(dir, 'dot-docker'))).toBe(false);
      expect(readFileSync(config, 'utf8')).toBe('original\n');
      expect(readdirSync(join(dir, 'kubelet'))).toEqual(['config.yaml']);
      expect(entriesUnder(root)).toEqual([]);
    });
  }

  it('leaves the entries of a live run, and removes an entry a kill left half-written', async () => {
    const dir = tmp();
    const root = join(dir, 'journal');
    const path = join(dir, 'live.json');
    await journaledWrite(here, 'n', path, 'x', { root });
    const partial = join(root, 'old_otherhost_1', '000001.tmp');
    mkdirSync(join(root, 'old_otherhost_1'), { recursive: true });
    writeFileSync(partial, 'pullcheck-journal 1\n');
    const restored = await replayNode({
      kube: noKube,
      nodes: here,
      node: 'n',
      logger,
      root,
      isAlive: async (w) => w.host !== 'otherhost',
      lock: false,
    });
    expect(restored).toEqual([]);
    expect(existsSync(partial)).toBe(false);
    expect(readFileSync(path, 'utf8')).toBe('x');
    expect(entriesUnder(root)).toHaveLength(1);
  });
});
