// What `pullcheck list` prints and what --suite/--focus/--skip choose from: every scenario each suite
// file declares. The files are loaded with stand-ins for jest's globals that record `it(...)` titles
// instead of running anything, so listing needs no cluster and no jest (IDs made in loops, e.g.
// `multi-arch/${id}-…`, come out as the suites really name them).
import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const SUITES_DIR = fileURLToPath(new URL('../../suites', import.meta.url));

export interface CatalogEntry {
  /** Suite = file name without `.test.ts`; what --suite names. */
  suite: string;
  id: string;
  title: string;
  file: string;
  /** The suite declares `export const changesNodes = true`: it changes nodes or the control plane. */
  changesNodes: boolean;
  /**
   * It also declares `export const locksNodes = true`: every node it changes or runs a pod on is
   * locked for the scenario (its pods name their node), so it may run beside other such suites.
   */
  locksNodes: boolean;
}

/** Suites that change nodes or the control plane: `pullcheck run` runs them alone. */
export function nodeChangingSuites(catalog: readonly CatalogEntry[]): Set<string> {
  return new Set(catalog.filter((e) => e.changesNodes).map((e) => e.suite));
}

export function nodeLockingSuites(catalog: readonly CatalogEntry[]): Set<string> {
  return new Set(catalog.filter((e) => e.changesNodes && e.locksNodes).map((e) => e.suite));
}

export function suiteFiles(dir = SUITES_DIR): { suite: string; file: string }[] {
  return readdirSync(dir).filter((f) => f.endsWith('.test.ts')).sort().map((f) => ({ suite: basename(f, '.test.ts'), file: join(dir, f) }));
}

/** `<id>: <title>`, as harness.scenario names its jest test. */
export function splitTestName(name: string): { id: string; title: string } {
  const i = name.indexOf(': ');
  return i < 0 ? { id: name, title: '' } : { id: name.slice(0, i), title: name.slice(i + 2) };
}

type Fn = (...args: unknown[]) => unknown;

/** Stand-ins for jest's globals while suite files load: tests are recorded, hooks ignored. */
function recordingGlobals(record: (name: string) => void): Record<string, unknown> {
  const test = Object.assign((name: string) => record(name), { skip: (name: string) => record(name), only: (name: string) => record(name) });
  const describe = Object.assign((_: string, fn: Fn) => fn(), { skip: (_: string, fn: Fn) => fn(), only: (_: string, fn: Fn) => fn() });
  const noop = () => undefined;
  return { it: test, test, describe, beforeAll: noop, afterAll: noop, beforeEach: noop, afterEach: noop };
}

export async function loadCatalog(dir = SUITES_DIR): Promise<CatalogEntry[]> {
  const entries: CatalogEntry[] = [];
  const g = globalThis as Record<string, unknown>;
  const saved = new Map(['it', 'test', 'describe', 'beforeAll', 'afterAll', 'beforeEach', 'afterEach'].map((k) => [k, g[k]]));
  // The harness registers de-selected scenarios with it.skip; listing must see them all.
  const focus = process.env['PULLCHECK_FOCUS'];
  const skip = process.env['PULLCHECK_SKIP'];
  delete process.env['PULLCHECK_FOCUS'];
  delete process.env['PULLCHECK_SKIP'];
  try {
    for (const { suite, file } of suiteFiles(dir)) {
      const names: string[] = [];
      Object.assign(g, recordingGlobals((name) => names.push(name)));
      const module = (await import(pathToFileURL(file).href)) as { changesNodes?: unknown; locksNodes?: unknown };
      const changesNodes = module.changesNodes === true;
      const locksNodes = module.locksNodes === true;
      for (const name of names) entries.push({ suite, file, changesNodes, locksNodes, ...splitTestName(name) });
    }
  } finally {
    for (const [k, v] of saved) g[k] = v;
    if (focus !== undefined) process.env['PULLCHECK_FOCUS'] = focus;
    if (skip !== undefined) process.env['PULLCHECK_SKIP'] = skip;
  }
  return entries;
}
