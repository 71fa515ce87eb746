// The docs stay true of the tree: the README is a user's guide of at most 15,000 bytes whose links
// resolve, and docs/design.md's source layout names every file under helpers/, cli/, suites/ and
// programs/, and nothing that does not exist.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const LAYOUT_ROOTS = ['helpers', 'cli', 'suites', 'programs'];

function filesUnder(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .map((f) => join(dir, f))
    .filter((f) => statSync(join(ROOT, f)).isFile());
}

/** The files docs/design.md's "Source layout" names: per bullet `- \`DIR/\``, its backticked file names. */
function layoutFiles(design: string, isRootDir: (name: string) => boolean): string[] {
  const start = design.indexOf('## Source layout');
  const end = design.indexOf('\n## ', start + 1);
  const section = design.slice(start, end < 0 ? undefined : end);
  const out: string[] = [];
  for (const bullet of section.split(/\n(?=- `)/)) {
    const dir = /^- `([\w./-]+\/)`/.exec(bullet)?.[1];
    if (!dir) continue;
    for (const [, token] of bullet.matchAll(/`([\w./-]+\.(?:ts|js|go|mod|sum))`/g)) {
      if (!token) continue;
      const first = token.split('/')[0] ?? '';
      out.push(token.includes('/') && isRootDir(first) ? token : join(dir, token));
    }
  }
  return out;
}

describe('the docs', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

  it('README is a guide of at most 15,000 bytes', () => {
    expect(Buffer.byteLength(readme)).toBeLessThanOrEqual(15_000);
  });

  it('README keeps the fresh-machine commands for the main job and for the tests', () => {
    expect(readme).toContain('bash scripts/host-up && npm ci && npx pullcheck run\n');
    expect(readme).toContain('bash scripts/host-up && npm ci && npm test\n');
  });

  it('relative links in README and docs/ point at files that exist', () => {
    const pages = ['README.md', ...readdirSync(join(ROOT, 'docs')).map((f) => join('docs', f))].filter((f) => f.endsWith('.md'));
    const broken: string[] = [];
    for (const page of pages) {
      const text = readFileSync(join(ROOT, page), 'utf8');
      for (const [, target] of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
        if (!target || /^[a-z]+:/.test(target)) continue;
        if (!existsSync(join(ROOT, dirname(page), target))) broken.push(`${page} → ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it("design.md's source layout names every file under helpers/, cli/, suites/, programs/ and nothing missing", () => {
    const design = readFileSync(join(ROOT, 'docs/design.md'), 'utf8');
    const listed = layoutFiles(design, (name) => existsSync(join(ROOT, name)) && statSync(join(ROOT, name)).isDirectory());
    const tree = LAYOUT_ROOTS.flatMap(filesUnder);
    const missingFromDoc = tree.filter((f) => !listed.includes(f)).sort();
    const notInTree = listed.filter((f) => !existsSync(join(ROOT, f))).map((f) => relative(ROOT, join(ROOT, f)));
    expect({ missingFromDoc, notInTree }).toEqual({ missingFromDoc: [], notInTree: [] });
  });
});
