// What `pullcheck list` prints and what --suite/--focus/--skip choose from: the declarations of every
// suite file (`export const suite = defineSuite(...)`). Importing a suite file outside jest records
// its scenarios without registering or running anything, so listing needs no cluster and no jest.
import { existsSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Capability, HostTool, Need, NodePolicy, SuiteDeclaration } from '../framework/declaration.ts';

export const SUITES_DIR = fileURLToPath(new URL('../../suites', import.meta.url));
/** The framework's own self-tests: run by `npm test` (`pullcheck run --selftest`), never listed. */
export const SELFTEST_DIR = fileURLToPath(new URL('../../test/selftest', import.meta.url));

export interface CatalogEntry {
  /** The suite that declares the scenario (its file). */
  suite: string;
  /** The ID's prefix, which --suite selects by: the suite's name unless the scenario names another. */
  group: string;
  id: string;
  title: string;
  file: string;
  nodes: NodePolicy;
  selftest: boolean;
  /** Runs in halves around an in-place upgrade (`pullcheck upgrade` only). */
  upgrade?: boolean;
  capabilities: readonly Capability[];
  needs: readonly Need[];
  /** Host programs it runs (preflight checks them). */
  tools?: readonly HostTool[];
  /** The registry variant it runs under, e.g. `token-auth`. */
  variant?: string;
}

export function suiteFiles(dir = SUITES_DIR): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.test.ts'))
    .sort()
    .map((f) => join(dir, f));
}

function isSuite(v: unknown): v is SuiteDeclaration {
  return (
    typeof v === 'object' &&
    v !== null &&
    Array.isArray((v as SuiteDeclaration).scenarios) &&
    typeof (v as SuiteDeclaration).name === 'string'
  );
}

export async function loadCatalog(dirs: readonly string[] = [SUITES_DIR]): Promise<CatalogEntry[]> {
  const entries: CatalogEntry[] = [];
  for (const file of dirs.flatMap((d) => suiteFiles(d))) {
    const module = (await import(pathToFileURL(file).href)) as { suite?: unknown };
    if (!isSuite(module.suite)) throw new Error(`${file} declares no suite: it must \`export const suite = defineSuite({...})\``);
    const s = module.suite;
    if (basename(file, '.test.ts') !== s.name) throw new Error(`${file} declares suite "${s.name}": name the file ${s.name}.test.ts`);
    for (const d of s.scenarios) entries.push({ ...d, file, nodes: s.nodes, selftest: s.selftest, upgrade: s.upgrade ?? false });
    // A variant naming a scenario the suite does not have would run nothing, silently.
    for (const v of s.variants ?? [])
      for (const name of v.scenarios)
        if (!s.scenarios.some((d) => d.variant === v.name && d.id.endsWith(`/${v.name}/${name}`)))
          throw new Error(`${file}: variant ${v.name} names scenario ${name}, which the suite does not declare`);
  }
  const seen = new Map<string, string>();
  for (const e of entries) {
    const other = seen.get(e.id);
    if (other) throw new Error(`scenario ${e.id} is declared by both ${other} and ${e.file}`);
    seen.set(e.id, e.file);
  }
  return entries;
}

/** The scenario groups and suites --suite accepts. */
export function selectableNames(catalog: readonly CatalogEntry[]): string[] {
  return [...new Set(catalog.flatMap((e) => [e.suite, e.group]))].sort();
}
