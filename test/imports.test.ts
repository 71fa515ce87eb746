// The import graph of helpers/ (type imports included): the ground floor (helpers/model/) imports
// nothing of pullcheck's, and no import circle spans more than two files. And what loads with jest's
// own process: neither the Kubernetes client nor testcontainers.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** helpers/' files and, for each, the modules it imports: relative ones as paths, packages by name. */
function importsOfHelpers(o: { types: boolean }): Map<string, string[]> {
  const files = readdirSync(join(ROOT, 'helpers'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join('helpers', f));
  // Type imports are erased when a file loads, but they still tie the files together.
  const statement = o.types ? /^(?:import|export)\s[^;]*?from\s+'([^']+)'/gms : /^(?:import|export)\s(?!type\s)[^;]*?from\s+'([^']+)'/gms;
  const graph = new Map<string, string[]>();
  for (const f of files) {
    const source = readFileSync(join(ROOT, f), 'utf8');
    graph.set(
      f,
      [...source.matchAll(statement)].map((m) => {
        const spec = m[1] ?? '';
        return spec.startsWith('.') ? normalize(join(dirname(f), spec)) : spec;
      }),
    );
  }
  return graph;
}

/** pullcheck's own import graph of helpers/, type imports included. */
function importGraph(): Map<string, string[]> {
  const graph = importsOfHelpers({ types: true });
  for (const [f, deps] of graph)
    graph.set(
      f,
      deps.filter((d) => graph.has(d)),
    );
  return graph;
}

/** The strongly connected components of more than one file (Tarjan). */
function circles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next += 1;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) ?? 0, index.get(w) ?? 0));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string | undefined;
    do {
      w = stack.pop();
      if (w === undefined) break;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1) out.push(component.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

describe('the import graph of helpers/', () => {
  const graph = importGraph();

  it('helpers/model/ imports nothing of pullcheck outside itself', () => {
    const out = [...graph]
      .filter(([f]) => f.startsWith('helpers/model/'))
      .flatMap(([f, deps]) => deps.filter((d) => !d.startsWith('helpers/model/')).map((d) => `${f} → ${d}`));
    expect(out).toEqual([]);
  });

  it('has no import circle longer than two files', () => {
    expect(circles(graph).filter((c) => c.length > 2)).toEqual([]);
  });
});

function reachable(graph: Map<string, string[]>, from: string): Set<string> {
  const seen = new Set<string>();
  const todo = [from];
  for (let f = todo.pop(); f !== undefined; f = todo.pop()) {
    if (seen.has(f)) continue;
    seen.add(f);
    todo.push(...(graph.get(f) ?? []));
  }
  return seen;
}

describe("what jest's own process loads in every phase of a run", () => {
  // What loads with a file: static imports and re-exports, not `import type` (erased) nor `import()`.
  const graph = importsOfHelpers({ types: false });
  // Loaded before any worker starts and after the last ends, once per phase, where only the workers
  // use the Kubernetes client and testcontainers (slow to load: docs/measurements.md).
  it.each(['helpers/report/jest-reporter.ts', 'helpers/framework/jest/cluster-setup.ts', 'helpers/framework/jest/cluster-teardown.ts'])(
    '%s reaches neither the Kubernetes client nor testcontainers',
    (entry) => {
      const loaded = [...reachable(graph, entry)];
      expect(loaded.filter((m) => m === '@kubernetes/client-node' || m === 'testcontainers')).toEqual([]);
    },
  );
});
