// The node-change journal: before pullcheck changes anything on a node it writes there, under
// /var/lib/pullcheck/journal/<run>/<seq>, what it is about to change and how to undo it; undoing
// the change removes the entry. A run killed at any point leaves entries the next run replays
// (replay.ts). Each write is one command on the node that takes the file's previous state into the
// entry, moves the entry in place, and only then changes the file: a kill before the move changed
// nothing, a kill after it leaves an entry whose undo is right whether the change happened or not.
import { hostname } from 'node:os';
import { testKillPoint } from '../infra/killpoint.ts';
import type { NodeAccess } from './access.ts';

export const JOURNAL_ROOT = '/var/lib/pullcheck/journal';
export const ENTRY_MAGIC = 'pullcheck-journal 1';
/** Where a journaled write puts the new content before moving it over the file (hidden: kubelet's static pod source skips dot files). */
export const TEMP_SUFFIX = '.pullcheck-tmp';

/** What must run after the undo for the node to take the old state again. */
/** `crio`: a SIGHUP, after which CRI-O re-reads containers-registries.conf(.d). */
export type Restart = 'daemon-reload' | 'kubelet' | 'containerd' | 'crio';

/**
 * `file`: a file written (its previous content or absence recorded); `dir`: a directory created
 * that did not exist (undo removes it and all in it); `image`: an image imported into the runtime's store.
 */
export type ChangeKind = 'file' | 'dir' | 'image';

export interface JournalEntry {
  /** The entry's own path on the node. */
  entry: string;
  run: string;
  host: string;
  pid: number;
  /** The Lease (namespace default) the writing process renews while it lives, for runs from other hosts. */
  lease?: string;
  kind: ChangeKind;
  /** The file or directory path, or the image reference. */
  target: string;
  restart: Restart[];
  /** file: the topmost directory the write created (undo removes what it can of it again). */
  createdDir?: string;
  /** file: its mode and base64 content before the change; undefined when it did not exist. */
  previous?: { mode: string; base64: string };
}

/** Who writes entries in this process: its run, host and pid (a jest worker is its own writer). */
interface Writer {
  run: string;
  host: string;
  pid: number;
  lease?: string;
}

let writer: Writer | undefined;
let seq = 0;

/** A host or run name as one safe path element and label value. */
export function safeName(text: string): string {
  return (
    text
      .replace(/[^A-Za-z0-9._-]/g, '-')
      .slice(0, 63)
      .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '') || 'unknown'
  );
}

/** Names the run this process's entries belong to (the report's run id); called once per process. */
export function setJournalRun(run: string, lease?: string): void {
  writer = { run: safeName(run), host: safeName(hostname()), pid: process.pid, ...(lease ? { lease } : {}) };
}

function currentWriter(): Writer {
  writer ??= { run: `pid${process.pid}`, host: safeName(hostname()), pid: process.pid };
  return writer;
}

/** This process's entry directory under `root`: one per run and process, `<run>_<host>_<pid>` (names hold no `_`). */
export function runDirectory(root = JOURNAL_ROOT): string {
  const w = currentWriter();
  return `${root}/${w.run}_${w.host}_${w.pid}`;
}

/** The writer a run directory's name stands for (for an entry killed before it was whole). */
export function writerOfDirectory(path: string): { run: string; host: string; pid: number } | undefined {
  const [run, host, pid] = (path.replace(/\/+$/, '').split('/').pop() ?? '').split('_');
  return run && host && /^\d+$/.test(pid ?? '') ? { run, host, pid: Number(pid) } : undefined;
}

function nextEntryPath(root: string): string {
  seq += 1;
  return `${runDirectory(root)}/${String(seq).padStart(6, '0')}`;
}

const SAFE_TARGET = /^[A-Za-z0-9._/:@+=,-]+$/;

function checkTarget(kind: ChangeKind, target: string): void {
  if (!SAFE_TARGET.test(target) || (kind !== 'image' && (!target.startsWith('/') || target.includes('/../') || target === '/')))
    throw new Error(`journal: not a ${kind === 'image' ? 'reference' : 'path'} pullcheck writes: ${JSON.stringify(target)}`);
}

/** The entry's first lines, from this process (the node appends created-dir and previous). */
export function entryHeader(kind: ChangeKind, target: string, restart: readonly Restart[]): string {
  checkTarget(kind, target);
  const w = currentWriter();
  return [
    ENTRY_MAGIC,
    `run ${w.run}`,
    `host ${w.host}`,
    `pid ${w.pid}`,
    ...(w.lease ? [`lease ${w.lease}`] : []),
    `kind ${kind}`,
    `target ${target}`,
    `restart ${restart.join(',')}`,
  ].join('\n');
}

/** Parses one entry's text; undefined when it is not a whole entry (a write killed part way). */
export function parseEntry(entry: string, text: string): JournalEntry | undefined {
  const lines = text.split('\n');
  if (lines[0] !== ENTRY_MAGIC) return undefined;
  const fields = new Map<string, string>();
  for (const l of lines.slice(1)) {
    const i = l.indexOf(' ');
    if (i > 0) fields.set(l.slice(0, i), l.slice(i + 1));
    else if (l) fields.set(l, '');
  }
  const kind = fields.get('kind');
  const target = fields.get('target');
  const pid = Number(fields.get('pid'));
  const run = fields.get('run');
  const host = fields.get('host');
  if ((kind !== 'file' && kind !== 'dir' && kind !== 'image') || !target || !run || !host || !Number.isInteger(pid)) return undefined;
  const previous = fields.get('previous');
  // A file entry is whole once the node wrote its previous state (the last line).
  if (kind === 'file' && previous === undefined) return undefined;
  const e: JournalEntry = {
    entry,
    run,
    host,
    pid,
    kind,
    target,
    restart: (fields.get('restart') ?? '')
      .split(',')
      .filter((r): r is Restart => r === 'daemon-reload' || r === 'kubelet' || r === 'containerd' || r === 'crio'),
  };
  const lease = fields.get('lease');
  if (lease) e.lease = lease;
  const created = fields.get('created-dir');
  if (created) e.createdDir = created;
  if (previous && previous !== 'absent') {
    const [mode = '644', base64 = ''] = previous.split(' ');
    e.previous = { mode, base64 };
  }
  return e;
}

/** Human words for what undoing `e` does, for the log and the report. */
export function describeUndo(e: Pick<JournalEntry, 'kind' | 'target' | 'previous'>): string {
  switch (e.kind) {
    case 'file':
      return e.previous ? `put back ${e.target} as it was` : `removed ${e.target}`;
    case 'dir':
      return `removed ${e.target}/`;
    case 'image':
      return `removed image ${e.target}`;
  }
}

// Shell run on the node. Arguments, never interpolation: paths reach sh as "$1", "$2"...

/** Writes the entry ($1) from the header ($2) and the state of $3 (the file; $4 "fresh": taken as absent), atomically. */
const WRITE_ENTRY = `
write_entry() {
  e=$1; mkdir -p "\${e%/*}"; chmod 0700 "\${e%/*}" "\${e%/*/*}" 2>/dev/null || true
  { printf '%s\\n' "$2"
    if [ -n "$3" ]; then
      top=; d=\${3%/*}; [ -n "$d" ] || d=/
      while [ ! -e "$d" ]; do top=$d; d=\${d%/*}; [ -n "$d" ] || d=/; done
      [ -z "$top" ] || echo "created-dir $top"
      if [ -f "$3" ] && [ "$4" != fresh ]; then echo "previous $(stat -c %a "$3") $(base64 -w0 < "$3")"; else echo "previous absent"; fi
    fi
  } > "$e.tmp"
  mv -f "$e.tmp" "$e"
  sync "$e" 2>/dev/null || sync
}`;

/**
 * $1 entry, $2 header, $3 path, $4 mode, $5 "exclusive" to refuse an existing file, $6 "fresh" to
 * record it as absent whatever is there; stdin the content. Prints "exists" (nothing done) or "written".
 */
export const JOURNALED_WRITE_SHELL = `set -e
${WRITE_ENTRY}
if [ "$5" = exclusive ] && [ -e "$3" ]; then echo exists; exit 0; fi
write_entry "$1" "$2" "$3" "$6"
dir=\${3%/*}; [ -n "$dir" ] || dir=/
tmp="$dir/.\${3##*/}${TEMP_SUFFIX}"
mkdir -p "$dir"
cat > "$tmp"; chmod "$4" "$tmp"; mv -f "$tmp" "$3"
echo written`;

/**
 * $1 "fresh" or "", then four arguments a file: entry, header, path, mode; stdin one line a file,
 * its content in base64 (never in argv, which logs show). Each is written as JOURNALED_WRITE_SHELL
 * writes one, in order, in one exec. Prints "written".
 */
export const JOURNALED_WRITES_SHELL = `set -e
${WRITE_ENTRY}
fresh=$1; shift
while [ $# -ge 4 ]; do
  IFS= read -r content
  write_entry "$1" "$2" "$3" "$fresh"
  dir=\${3%/*}; [ -n "$dir" ] || dir=/
  tmp="$dir/.\${3##*/}${TEMP_SUFFIX}"
  mkdir -p "$dir"
  printf %s "$content" | base64 -d > "$tmp"; chmod "$4" "$tmp"; mv -f "$tmp" "$3"
  shift 4
done
echo written`;

/** $1 entry, $2 header, $3 directory, $4 mode. Prints "exists" (nothing done) or "created". */
export const JOURNALED_MKDIR_SHELL = `set -e
${WRITE_ENTRY}
if [ -e "$3" ]; then echo exists; exit 0; fi
write_entry "$1" "$2" ""
mkdir -p "\${3%/*}"; mkdir -m "$4" "$3"
echo created`;

/** $1 entry, $2 header: an entry for a change the caller makes next (an image import). */
export const JOURNAL_NOTE_SHELL = `set -e
${WRITE_ENTRY}
write_entry "$1" "$2" ""`;

/**
 * Undoes the entry $1 from what it says, then removes it (and its run directory once empty); an
 * entry that is gone already is done. Every step is one that may run twice.
 */
export const UNDO_SHELL = `set -e
e=$1
[ -f "$e" ] || { rm -f "$e.tmp"; exit 0; }
field() { sed -n "s/^$1 //p" "$e" | head -n 1; }
kind=$(field kind); target=$(field target)
case "$kind" in
  file)
    dir=\${target%/*}; [ -n "$dir" ] || dir=/
    tmp="$dir/.\${target##*/}${TEMP_SUFFIX}"
    prev=$(field previous)
    if [ -z "$prev" ] || [ "$prev" = absent ]; then
      rm -f "$target" "$tmp"
      top=$(field created-dir)
      if [ -n "$top" ]; then
        d=$dir
        while rmdir "$d" 2>/dev/null; do [ "$d" = "$top" ] && break; d=\${d%/*}; done
      fi
    else
      mode=\${prev%% *}
      printf '%s' "\${prev#* }" | base64 -d > "$tmp"; chmod "$mode" "$tmp"; mv -f "$tmp" "$target"
    fi;;
  dir) rm -rf "$target";;
  image)
    crictl rmi "$target" >/dev/null 2>&1 || true
    ctr --namespace=k8s.io images rm "$target" >/dev/null 2>&1 || true
    if command -v skopeo >/dev/null 2>&1; then skopeo delete "containers-storage:$target" >/dev/null 2>&1 || true; fi;;
  *) echo "unknown journal entry kind: $kind" >&2; exit 1;;
esac
rm -f "$e"
rmdir "\${e%/*}" 2>/dev/null || true`;

/** $1 UNDO_SHELL, then entries (newest first) each undone by it, then "--" and paths removed with all in them. */
export const UNDO_MANY_SHELL = `set -e
undo=$1; shift
while [ $# -gt 0 ] && [ "$1" != -- ]; do sh -c "$undo" sh "$1"; shift; done
[ $# -eq 0 ] || shift
[ $# -eq 0 ] || rm -rf "$@"`;

/** Lists every whole entry under $1, each as "==> PATH" then its text; removes nothing. */
export const LIST_SHELL = `for f in "$1"/*/*; do
  [ -f "$f" ] || continue
  case "$f" in *.tmp) echo "==> $f"; continue;; esac
  echo "==> $f"; cat "$f"; echo
done; true`;

/** The journal's entries on `node`, whoever wrote them (a write killed before its move is left out). */
export async function listJournal(nodes: NodeAccess, node: string, root = JOURNAL_ROOT): Promise<JournalEntry[]> {
  const { stdout } = await nodes.exec(node, ['sh', '-c', LIST_SHELL, 'sh', root]);
  return parseListing(stdout).entries;
}

/** Splits LIST_SHELL's output into entries; a `.tmp` (a write killed before its move) comes back as `partial`. */
export function parseListing(stdout: string): { entries: JournalEntry[]; partial: string[] } {
  const entries: JournalEntry[] = [];
  const partial: string[] = [];
  for (const chunk of stdout.split(/^==> /m).slice(1)) {
    const nl = chunk.indexOf('\n');
    const path = (nl < 0 ? chunk : chunk.slice(0, nl)).trim();
    const text = nl < 0 ? '' : chunk.slice(nl + 1);
    const e = path.endsWith('.tmp') ? undefined : parseEntry(path, text.trimEnd());
    if (e) entries.push(e);
    else partial.push(path);
  }
  return { entries, partial };
}

/** A change in force, journaled on its node. `undo()` puts it back and drops the entry; a second call does nothing. */
export interface JournaledChange {
  node: string;
  entry: string;
  kind: ChangeKind;
  target: string;
  restart: Restart[];
  /** Puts it back and drops the entry; a second call does nothing. `via`: reach the node another way than the write did. */
  undo(via?: NodeAccess): Promise<void>;
}

/** Changes this process made and has not undone, by node and target: what a later "remove" undoes. */
const open = new Map<string, JournaledChange[]>();

/** By node name alone: one node may be reached two ways (docker exec, the node agent) in one process. */
function key(_nodes: NodeAccess, node: string): string {
  return node;
}

/** For a change undone by a batch (UNDO_MANY_SHELL): marks it undone without running anything. */
const undoneElsewhere = new WeakMap<JournaledChange, () => void>();

function track(nodes: NodeAccess, c: Omit<JournaledChange, 'undo'>): JournaledChange {
  const k = key(nodes, c.node);
  let done: Promise<void> | undefined;
  const forget = () => {
    const list = open.get(k) ?? [];
    const i = list.indexOf(change);
    if (i >= 0) list.splice(i, 1);
  };
  const change: JournaledChange = {
    ...c,
    undo: (via) =>
      (done ??= (async () => {
        await (via ?? nodes).exec(c.node, ['sh', '-c', UNDO_SHELL, 'sh', c.entry]);
        forget();
      })()),
  };
  undoneElsewhere.set(change, () => {
    done ??= Promise.resolve();
    forget();
  });
  const list = open.get(k) ?? [];
  list.push(change);
  open.set(k, list);
  return change;
}

export interface JournaledWriteOptions {
  mode?: string;
  /** Refuse (throw) when the file exists: an admin's own file is never replaced. */
  exclusive?: boolean;
  /** What must restart for the node to drop the change again once it is undone. */
  restart?: readonly Restart[];
  /** pullcheck's own file, the same whoever writes it (a certs.d entry): its undo removes it, even over an earlier writer's. */
  fresh?: boolean;
  /** Where the entries go (tests); default JOURNAL_ROOT. */
  root?: string;
}

/** Writes `content` to `path` on the node, journaled; returns the change, whose undo puts the file back as it was. */
export async function journaledWrite(
  nodes: NodeAccess,
  node: string,
  path: string,
  content: string,
  o: JournaledWriteOptions = {},
): Promise<JournaledChange> {
  const restart = [...(o.restart ?? [])];
  const header = entryHeader('file', path, restart);
  const entry = nextEntryPath(o.root ?? JOURNAL_ROOT);
  const mode = o.mode ?? '0644';
  if (!/^0?[0-7]{3}$/.test(mode)) throw new Error(`journal: not a file mode: ${mode}`);
  const r = await nodes
    .exec(
      node,
      ['sh', '-c', JOURNALED_WRITE_SHELL, 'sh', entry, header, path, mode, o.exclusive ? 'exclusive' : '', o.fresh ? 'fresh' : ''],
      {
        input: content,
      },
    )
    // A write that failed part way is undone from its entry at once (an entry not yet written: nothing to do).
    .catch(async (error: unknown) => {
      await nodes.exec(node, ['sh', '-c', UNDO_SHELL, 'sh', entry], { allowFailure: true }).catch(() => undefined);
      throw error;
    });
  if (r.stdout.trim() === 'exists') throw new Error(`${node}: ${path} already exists; refusing to replace it`);
  testKillPoint('node-file-written', path);
  return track(nodes, { node, entry, kind: 'file', target: path, restart });
}

/**
 * Writes pullcheck's own files on one node in one exec (a registry's certs.d entry), each journaled
 * as journaledWrite with `fresh` journals it; returns the changes in the order of `files`.
 */
export async function journaledWrites(
  nodes: NodeAccess,
  node: string,
  files: readonly { path: string; content: string; mode?: string }[],
  o: Pick<JournaledWriteOptions, 'restart' | 'root'> = {},
): Promise<JournaledChange[]> {
  const restart = [...(o.restart ?? [])];
  const planned = files.map((f) => {
    const mode = f.mode ?? '0644';
    if (!/^0?[0-7]{3}$/.test(mode)) throw new Error(`journal: not a file mode: ${mode}`);
    return { ...f, mode, header: entryHeader('file', f.path, restart), entry: nextEntryPath(o.root ?? JOURNAL_ROOT) };
  });
  const args = planned.flatMap((f) => [f.entry, f.header, f.path, f.mode]);
  const input = planned.map((f) => `${Buffer.from(f.content).toString('base64')}\n`).join('');
  await nodes.exec(node, ['sh', '-c', JOURNALED_WRITES_SHELL, 'sh', 'fresh', ...args], { input }).catch(async (error: unknown) => {
    const entries = planned.map((f) => f.entry).reverse();
    await nodes.exec(node, ['sh', '-c', UNDO_MANY_SHELL, 'sh', UNDO_SHELL, ...entries], { allowFailure: true }).catch(() => undefined);
    throw error;
  });
  return planned.map((f) => {
    testKillPoint('node-file-written', f.path);
    return track(nodes, { node, entry: f.entry, kind: 'file', target: f.path, restart });
  });
}

/** Creates directory `path` on the node, which must not exist, journaled: undo removes it with all in it. */
export async function journaledMkdir(
  nodes: NodeAccess,
  node: string,
  path: string,
  o: { mode?: string; restart?: readonly Restart[]; root?: string } = {},
): Promise<JournaledChange> {
  const restart = [...(o.restart ?? [])];
  const header = entryHeader('dir', path, restart);
  const entry = nextEntryPath(o.root ?? JOURNAL_ROOT);
  const r = await nodes
    .exec(node, ['sh', '-c', JOURNALED_MKDIR_SHELL, 'sh', entry, header, path, o.mode ?? '0700'])
    .catch(async (error: unknown) => {
      await nodes.exec(node, ['sh', '-c', UNDO_SHELL, 'sh', entry], { allowFailure: true }).catch(() => undefined);
      throw error;
    });
  if (r.stdout.trim() === 'exists') throw new Error(`${node}: ${path} already exists (a leftover of an earlier run?); refusing to use it`);
  return track(nodes, { node, entry, kind: 'dir', target: path, restart });
}

/** Journals an image import the caller makes next: undo removes the image from the node's runtime (containerd or CRI-O). */
export async function journalImage(nodes: NodeAccess, node: string, ref: string, o: { root?: string } = {}): Promise<JournaledChange> {
  const header = entryHeader('image', ref, []);
  const entry = nextEntryPath(o.root ?? JOURNAL_ROOT);
  await nodes.exec(node, ['sh', '-c', JOURNAL_NOTE_SHELL, 'sh', entry, header]);
  return track(nodes, { node, entry, kind: 'image', target: ref, restart: [] });
}

/**
 * Undoes, newest first, the changes this process made on `node` at `path` or under it (a
 * directory). Returns how many there were: none means the caller removes what it knows of itself.
 */
export async function undoUnder(nodes: NodeAccess, node: string, path: string): Promise<number> {
  const list = openUnder(nodes, node, [path]);
  for (const c of list) await c.undo(nodes);
  return list.length;
}

/** This process's open file and directory changes on `node` at or under any of `paths`, newest first. */
function openUnder(nodes: NodeAccess, node: string, paths: readonly string[]): JournaledChange[] {
  const under = (c: JournaledChange) => paths.some((path) => c.target === path || c.target.startsWith(`${path.replace(/\/+$/, '')}/`));
  return [...(open.get(key(nodes, node)) ?? [])].filter((c) => c.kind !== 'image' && under(c)).reverse();
}

/**
 * undoUnder for several paths at once, then removes the paths themselves (whatever else is there),
 * in one exec; if that fails, change by change as undoUnder does. Returns how many changes it undid.
 */
export async function undoUnderAndRemove(nodes: NodeAccess, node: string, paths: readonly string[]): Promise<number> {
  const list = openUnder(nodes, node, paths);
  const batch = await nodes.exec(node, ['sh', '-c', UNDO_MANY_SHELL, 'sh', UNDO_SHELL, ...list.map((c) => c.entry), '--', ...paths]).then(
    () => true,
    () => false,
  );
  if (batch) for (const c of list) undoneElsewhere.get(c)?.();
  else {
    for (const c of list) await c.undo(nodes);
    for (const path of paths) await nodes.exec(node, ['rm', '-rf', path], { allowFailure: true });
  }
  return list.length;
}

/** Undoes this process's journaled imports of `ref` on `node` (the image goes, and their entries). */
export async function undoImage(nodes: NodeAccess, node: string, ref: string): Promise<void> {
  const list = [...(open.get(key(nodes, node)) ?? [])].filter((c) => c.kind === 'image' && c.target === ref);
  for (const c of list.reverse()) await c.undo(nodes);
}
