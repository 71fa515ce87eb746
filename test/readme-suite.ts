// The README's "Writing a suite" examples, as a vendor writes them: each file's path (under one
// --suites-dir) and its source. Their test typechecks and lists them; the package test runs them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface VendorSuite {
  dir: string;
  file: string;
  source: string;
}

export function readmeVendorSuites(): VendorSuite[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('## Writing a suite');
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
  const suites = [...section.matchAll(/```ts\n(\/\/ ([\w-]+)\/([\w-]+\.test\.ts)\n[\s\S]*?)```/g)].map((m) => ({
    dir: m[2] ?? '',
    file: m[3] ?? '',
    source: m[1] ?? '',
  }));
  if (suites.length === 0) throw new Error('README.md: no ```ts block starting with `// DIR/NAME.test.ts` under "## Writing a suite"');
  if (new Set(suites.map((s) => s.dir)).size !== 1) throw new Error('README.md: the example suites must share one --suites-dir');
  return suites;
}
