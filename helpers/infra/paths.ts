// Where pullcheck's own files are, from a checkout (TypeScript run through tsx) or from the
// installed package (compiled to dist/): the code's root holds cli/, helpers/ and suites/; the
// package's root holds package.json and what the tool reads at run time (programs/, clusters/).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CODE_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const PACKAGE_ROOT = existsSync(join(CODE_ROOT, 'package.json')) ? CODE_ROOT : dirname(CODE_ROOT.replace(/\/$/, ''));
/** `ts` from a checkout, `js` once compiled: the extension of pullcheck's own modules. */
export const CODE_EXT = import.meta.url.endsWith('.ts') ? 'ts' : 'js';

/** The built-in suites. */
export const SUITES_DIR = join(CODE_ROOT, 'suites');
/** The framework's own self-tests: run by `npm test` (`pullcheck run --selftest`), never listed (a checkout's only). */
export const SELFTEST_DIR = join(CODE_ROOT, 'test/selftest');

/** The path of one of pullcheck's own modules, e.g. `helpers/framework/harness`. */
export function codeModule(path: string): string {
  return join(CODE_ROOT, `${path}.${CODE_EXT}`);
}
