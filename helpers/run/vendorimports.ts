// A vendor's suite file imports `pullcheck/harness` (or `pullcheck`, `pullcheck/images`,
// `pullcheck/registry`): outside jest it must reach the pullcheck that runs it, wherever the file
// lives and whichever pullcheck its own node_modules hold, and a TypeScript one needs tsx.
import { register } from 'node:module';
import { pathToFileURL } from 'node:url';
import { CODE_EXT, codeModule } from '../infra/paths.ts';

/** The package's entry points (its `exports`) as pullcheck's own modules. */
export const ENTRY_POINTS: Record<string, string> = {
  pullcheck: 'exports/index',
  'pullcheck/harness': 'helpers/framework/harness',
  'pullcheck/images': 'exports/images',
  'pullcheck/registry': 'exports/registry',
};

// Node resolve hook (in Node's loader thread): the entry points resolve to the running pullcheck.
const HOOK = `let map = {};
export function initialize(data) { map = data; }
export function resolve(specifier, context, next) {
  const url = map[specifier];
  return url ? { url, shortCircuit: true } : next(specifier, context);
}`;

let prepared = false;

export async function prepareVendorImports(files: readonly string[]): Promise<void> {
  if (prepared) return;
  prepared = true;
  // From a checkout the CLI runs under tsx already; the installed package loads it for TypeScript suites only.
  if (CODE_EXT === 'js' && files.some((f) => f.endsWith('.ts'))) (await import('tsx/esm/api')).register();
  const map = Object.fromEntries(Object.entries(ENTRY_POINTS).map(([k, v]) => [k, pathToFileURL(codeModule(v)).href]));
  register(`data:text/javascript,${encodeURIComponent(HOOK)}`, { data: map });
}
