// No function over 150 lines in helpers/, cli/ or suites/: every function-like node (declarations,
// function expressions, arrow functions, methods, accessors, constructors) measured by the
// TypeScript compiler, its body's lines counted from its opening brace to its closing one. A suite's
// `defineSuite(...)` call and its scenario list are not functions; the scenario bodies inside are.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const LIMIT = 150;

interface LongFunction {
  file: string;
  line: number;
  name: string;
  lines: number;
}

function nameOf(node: ts.Node, source: ts.SourceFile): string {
  if ((ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node) || ts.isFunctionExpression(node)) && node.name)
    return node.name.getText(source);
  const parent = node.parent;
  if (parent && (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent)) && parent.name) return parent.name.getText(source);
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  return '(anonymous)';
}

/**
 * A body that only declares scenarios (`suite.section(title, () => { suite.scenario(…); … })`): a
 * list, like defineSuite's, not a function; the scenario bodies inside it are measured.
 */
function scenarioList(body: ts.Node): boolean {
  return (
    ts.isBlock(body) &&
    body.statements.every(
      (st) =>
        ts.isExpressionStatement(st) &&
        ts.isCallExpression(st.expression) &&
        ts.isPropertyAccessExpression(st.expression.expression) &&
        st.expression.expression.name.text === 'scenario',
    )
  );
}

/** The function-like nodes of one file whose body spans more than `limit` lines. */
function longFunctions(file: string, text: string, limit = LIMIT): LongFunction[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const out: LongFunction[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const body = node.body as ts.Node;
      const first = source.getLineAndCharacterOfPosition(body.getStart(source)).line;
      const last = source.getLineAndCharacterOfPosition(body.getEnd()).line;
      const lines = last - first + 1;
      if (lines > limit && !scenarioList(body)) out.push({ file, line: first + 1, name: nameOf(node, source), lines });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith('.d.ts'))
    .map((f) => join(dir, f));
}

describe('function length', () => {
  it('measures a function body, nested functions inside it included, and not a call with a list', () => {
    const body = (n: number) => Array.from({ length: n }, (_, i) => `  x${i}();`).join('\n');
    const text = `function outer() {\n${body(150)}\n}\nconst f = () => {\n${body(20)}\n};\ndefineSuite({ scenarios: [\n${body(200)}\n] });\n`;
    expect(longFunctions('x.ts', text)).toEqual([{ file: 'x.ts', line: 1, name: 'outer', lines: 152 }]);
    expect(longFunctions('x.ts', `const g = async () => {\n${body(148)}\n};\n`)).toEqual([]);
    const scenarios = Array.from({ length: 40 }, (_, i) => `  suite.scenario('s${i}', 't', {}, async (s) => {\n${body(3)}\n  });`);
    expect(longFunctions('x.ts', `suite.section('x', () => {\n${scenarios.join('\n')}\n});\n`)).toEqual([]);
  });

  it(`no function in helpers/, cli/ or suites/ is over ${LIMIT} lines`, () => {
    const long = ['helpers', 'cli', 'suites'].flatMap(sources).flatMap((f) => longFunctions(f, readFileSync(join(ROOT, f), 'utf8')));
    expect(long.map((l) => `${l.file}:${l.line} ${l.name}: ${l.lines} lines`)).toEqual([]);
  });
});
