// The README's "Writing a suite" example, as a vendor writes it: the file's path (under its
// --suites-dir) and its source. Its test typechecks and lists it; the package test runs it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export function readmeVendorSuite(): { dir: string; file: string; source: string } {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Writing a suite'));
  const m = /```ts\n(\/\/ ([\w-]+)\/([\w-]+\.test\.ts)\n[\s\S]*?)```/.exec(section);
  if (!m?.[1] || !m[2] || !m[3])
    throw new Error('README.md: no ```ts block starting with `// DIR/NAME.test.ts` under "## Writing a suite"');
  return { dir: m[2], file: m[3], source: m[1] };
}
