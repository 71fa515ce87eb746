// A test-only hook: PULLCHECK_TEST_KILL_AT=<point>[:<text>] makes the process SIGKILL its whole
// process group when it reaches <point> (with <text> in the detail, when given), so that the kill
// tests (test/cli/kill.test.ts) stop a run at an exact step. They start pullcheck in a process
// group of its own; nothing else sets the variable. Read here and nowhere else.
const KILL_AT = 'PULLCHECK_TEST_KILL_AT';

/** Points the kill tests use: after a journaled node file is written, during a kubelet restart, while a second API server serves. */
export type KillPoint = 'node-file-written' | 'kubelet-restart' | 'second-apiserver';

export function testKillPoint(point: KillPoint, detail = ''): void {
  const wanted = process.env[KILL_AT];
  if (!wanted) return;
  const i = wanted.indexOf(':');
  const [name, text] = i < 0 ? [wanted, ''] : [wanted.slice(0, i), wanted.slice(i + 1)];
  if (name !== point || !detail.includes(text)) return;
  process.stderr.write(`\n${KILL_AT}: killing the process group at ${point} ${detail}\n`);
  // 0: every process of this one's group (pullcheck, jest, its workers), as a CI runner's kill would.
  process.kill(0, 'SIGKILL');
}
