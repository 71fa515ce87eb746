// A test-only hook: PULLCHECK_TEST_KILL_AT=[SIGTERM@]<point>[:<text>] stops a run when the process
// reaches <point> (with <text> in the detail, when given), so that the kill tests
// (test/cli/kill.test.ts) stop it at an exact step: by default SIGKILL to the run and every process
// of this one's group, as a CI runner's kill would; with `SIGTERM@`, a SIGTERM to the run alone, as
// `kill <pid>`, systemd or kubelet send it, this process waiting for what the run does about it. The
// tests start pullcheck in a process group of its own; nothing else sets the variable. Read here and
// nowhere else.
import { runAboveJest } from './processgroup.ts';

const KILL_AT = 'PULLCHECK_TEST_KILL_AT';

/** Points the kill tests use: after a journaled node file is written, during a kubelet restart, while a second API server serves. */
export type KillPoint = 'node-file-written' | 'kubelet-restart' | 'second-apiserver';

export function testKillPoint(point: KillPoint, detail = ''): void {
  const wanted = process.env[KILL_AT];
  if (!wanted) return;
  const term = wanted.startsWith('SIGTERM@');
  const spec = term ? wanted.slice('SIGTERM@'.length) : wanted;
  const i = spec.indexOf(':');
  const [name, text] = i < 0 ? [spec, ''] : [spec.slice(0, i), spec.slice(i + 1)];
  if (name !== point || !detail.includes(text)) return;
  // The run (jest leads a group of its own under it), or this process when it is the run.
  const run = runAboveJest() ?? process.pid;
  if (term) {
    process.stderr.write(`\n${KILL_AT}: SIGTERM to the run at ${point} ${detail}\n`);
    process.kill(run, 'SIGTERM');
    // Nothing more happens here, as if the signal had come at this very point: the run stops this
    // process's group, or, if this is the run, its handler runs once this returns.
    if (run !== process.pid) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 120_000);
    return;
  }
  process.stderr.write(`\n${KILL_AT}: killing the process group at ${point} ${detail}\n`);
  // The run first: it must not see jest die and sweep after it.
  if (run !== process.pid) process.kill(run, 'SIGKILL');
  process.kill(0, 'SIGKILL');
}
