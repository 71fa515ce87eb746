// What `pullcheck list` prints and what --suite/--focus/--skip choose from: the declarations of every
// suite file (`export const suite = defineSuite(...)`). Importing a suite file outside jest records
// its scenarios without registering or running anything, so listing needs no cluster and no jest.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Capability, HostTool, Need, NodePolicy, SuiteDeclaration } from '../framework/declaration.ts';
import { SELFTEST_DIR, SUITES_DIR } from '../infra/paths.ts';
import { UsageError } from './options.ts';
import { prepareVendorImports } from './vendorimports.ts';

export { SELFTEST_DIR, SUITES_DIR };

/** A suite file: `NAME.test.ts`, or `NAME.test.js` as compiled (and as a vendor may write it). */
const SUITE_FILE = /\.test\.(?:ts|js)$/;

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
    .filter((f) => SUITE_FILE.test(f) && !f.endsWith('.d.ts'))
    .sort()
    .map((f) => join(dir, f));
}

/** A vendor's file that does not load (a syntax error, an import that does not resolve) is its input to fix. */
async function importSuite(file: string, vendor: boolean): Promise<{ suite?: unknown }> {
  try {
    return (await import(pathToFileURL(file).href)) as { suite?: unknown };
  } catch (error) {
    if (!vendor) throw error;
    throw new UsageError(`${file} does not load: ${(error as Error).message.split('\n')[0]}`);
  }
}

function isSuite(v: unknown): v is SuiteDeclaration {
  return (
    typeof v === 'object' &&
    v !== null &&
    Array.isArray((v as SuiteDeclaration).scenarios) &&
    typeof (v as SuiteDeclaration).name === 'string'
  );
}

/**
 * `--suites-dir DIR` (or `suitesDirs` in --config): absolute paths of directories that exist and hold
 * at least one suite file, checked before anything is created.
 */
export function vendorSuitesDirs(dirs: readonly string[]): string[] {
  return dirs.map((d) => {
    const dir = resolve(d);
    if (!existsSync(dir) || !statSync(dir).isDirectory())
      throw new UsageError(`--suites-dir ${d} is not a directory: pass the directory that holds your NAME.test.ts suite files`);
    if (suiteFiles(dir).length === 0)
      throw new UsageError(`--suites-dir ${d} holds no suite file: name each suite NAME.test.ts (or .test.js) and export its defineSuite`);
    if (!isModuleDir(dir))
      throw new UsageError(
        `--suites-dir ${d}: suite files are ES modules: add "type": "module" to the package.json of ${dir} (or of a directory above it)`,
      );
    return dir;
  });
}

/** Whether Node (and jest) read .js and .ts files of `dir` as ES modules: its nearest package.json says so. */
function isModuleDir(dir: string): boolean {
  for (let d = dir; ; d = dirname(d)) {
    const file = join(d, 'package.json');
    if (existsSync(file)) {
      try {
        return (JSON.parse(readFileSync(file, 'utf8')) as { type?: unknown }).type === 'module';
      } catch {
        return false;
      }
    }
    if (dirname(d) === d) return false;
  }
}

/**
 * Every suite of `dirs` (pullcheck's own suites/ first by default), then of `vendorDirs`: a vendor's
 * suite written against `pullcheck/harness` runs beside the built-in ones and may not take their names.
 */
export async function loadCatalog(dirs: readonly string[] = [SUITES_DIR], vendorDirs: readonly string[] = []): Promise<CatalogEntry[]> {
  const entries: CatalogEntry[] = [];
  const builtIn = dirs.flatMap((d) => suiteFiles(d));
  const vendor = vendorDirs.flatMap((d) => suiteFiles(d));
  if (vendor.length) await prepareVendorImports(vendor);
  const suites = new Map<string, string>();
  for (const file of [...builtIn, ...vendor]) {
    const module = await importSuite(file, vendor.includes(file));
    if (!isSuite(module.suite)) throw new UsageError(`${file} declares no suite: it must \`export const suite = defineSuite({...})\``);
    const s = module.suite;
    const stem = basename(file).replace(SUITE_FILE, '');
    if (stem !== s.name) throw new UsageError(`${file} declares suite "${s.name}": name the file ${s.name}.test.ts`);
    const other = suites.get(s.name);
    if (other)
      throw new UsageError(`suite ${s.name} of ${file} has the name of ${other}'s: rename the suite (and its file) in your --suites-dir`);
    suites.set(s.name, file);
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
