// npm run repeat [-- --times N] [--include results.json ...] [-- <pullcheck run options>]
//
// The flake hunt: runs `pullcheck run` N times in a row with the same options and compares every
// scenario's verdict across the runs (and across earlier runs' results.json given with --include).
// Exit 0 only when every scenario had the same verdict every time and none failed. Writes
// reports/repeat/<timestamp>.json. Ctrl-C goes to the run in progress, which cleans up, then stops.

import { existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { compareRuns, describeComparison, isStable } from '../helpers/bench/compare.ts';
import type { RunResults } from '../helpers/report/schema.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function fail(message: string, code = 2): never {
  process.stderr.write(`pullcheck repeat: ${message}\n`);
  process.exit(code);
}

const split = process.argv.indexOf('--');
const own = split >= 0 ? process.argv.slice(2, split) : process.argv.slice(2);
const forwarded = split >= 0 ? process.argv.slice(split + 1) : [];
function parseOwn() {
  try {
    return parseArgs({
      args: own,
      options: { times: { type: 'string', default: '5' }, include: { type: 'string', multiple: true, default: [] } },
      strict: true,
    });
  } catch (error) {
    return fail(
      `${error instanceof Error ? error.message : String(error)} (usage: npm run repeat -- [--times N] [--include results.json ...] [-- <pullcheck run options>])`,
    );
  }
}
const parsed = parseOwn();
const times = Number(parsed.values.times);
if (!Number.isInteger(times) || times < 1 || times > 50) fail(`--times "${parsed.values.times}" must be a whole number from 1 to 50`);
const included = parsed.values.include.map((file) => {
  if (!existsSync(file)) fail(`--include ${file}: no such file (a results.json of an earlier run)`);
  return JSON.parse(readFileSync(file, 'utf8')) as RunResults;
});

let stopping = false;
process.on('SIGINT', () => {
  stopping = true;
});
process.on('SIGTERM', () => {
  stopping = true;
});

const results: RunResults[] = [...included];
for (let i = 1; i <= times && !stopping; i++) {
  const started = Date.now();
  process.stdout.write(`\n== repeat: run ${i} of ${times} (pullcheck run ${forwarded.join(' ')})\n`);
  const r = await execa(join(ROOT, 'node_modules/.bin/tsx'), [join(ROOT, 'cli/main.ts'), 'run', ...forwarded], {
    cwd: ROOT,
    stdio: 'inherit',
    reject: false,
  });
  if (stopping || r.signal) break;
  const latest = join(ROOT, 'reports', 'latest', 'results.json');
  if (r.exitCode === 2 || !existsSync(latest)) fail(`run ${i} ended with exit ${r.exitCode} and wrote no report: see its output above`);
  const res = JSON.parse(readFileSync(latest, 'utf8')) as RunResults;
  if (results.some((x) => x.runId === res.runId)) fail(`run ${i} wrote no new report (reports/latest is still ${res.runId})`);
  results.push(res);
  process.stdout.write(
    `== repeat: run ${i} of ${times} ended (exit ${r.exitCode}) in ${Math.round((Date.now() - started) / 1000)}s; report ${realpathSync(join(ROOT, 'reports', 'latest'))}\n`,
  );
}
if (results.length === 0) fail('no run completed', 130);
const comparison = compareRuns(results);
const dir = resolve(ROOT, 'reports', 'repeat');
mkdirSync(dir, { recursive: true });
const file = join(dir, `${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}.json`);
writeFileSync(file, `${JSON.stringify(comparison, null, 2)}\n`);
process.stdout.write(
  `\n${describeComparison(comparison).join('\n')}\nrepeat: ${isStable(comparison) ? 'STABLE' : 'NOT STABLE'} over ${results.length} run(s); ${file}\n`,
);
process.exit(stopping ? 130 : isStable(comparison) ? 0 : 1);
