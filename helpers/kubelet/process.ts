// Finding kubelet's own process on a node. `pidof kubelet` is not enough: when kubelet starts a
// program (mount, du, a credential provider plugin) Go forks first, and until that child execs it
// is also called "kubelet". A CI run caught one ("15344 15328") and read /proc/"15344 15328"/…
// The main process is the kubelet whose parent is not a kubelet.
import type { NodeAccess } from '../node/access.ts';

/**
 * POSIX sh that sets `$pid` to the main process of the program `name` (parent not of the same
 * name) or exits 1 with a message. A child that is gone by the time its status is read is skipped.
 */
export function mainProcessShell(name: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new Error(`not a program name: ${JSON.stringify(name)}`);
  return [
    `all=" $(pidof ${name}) "; pid=`,
    `for p in $all; do`,
    `  pp=$(sed -n "s/^PPid:[[:space:]]*//p" "/proc/$p/status" 2>/dev/null); [ -n "$pp" ] || continue`,
    `  case "$all" in *" $pp "*) continue;; esac`,
    `  pid=$p; break`,
    `done`,
    `[ -n "$pid" ] || { echo "no ${name} process (pidof: $all)" >&2; exit 1; }`,
  ].join('\n');
}

export const KUBELET_PID_SHELL = mainProcessShell('kubelet');

export const DEFAULT_KUBELET_ROOT_DIR = '/var/lib/kubelet';

/** Parses a `--root-dir` flag (both `--root-dir X` and `--root-dir=X`) from kubelet's argv. */
export function rootDirOf(argv: readonly string[]): string {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a.startsWith('--root-dir=')) return a.slice('--root-dir='.length);
    if (a === '--root-dir' && argv[i + 1]) return argv[i + 1] ?? DEFAULT_KUBELET_ROOT_DIR;
  }
  return DEFAULT_KUBELET_ROOT_DIR;
}

/** kubelet's argv, from `/proc/<pid>/cmdline` on the node. */
export async function kubeletArgv(nodes: NodeAccess, node: string): Promise<string[]> {
  const { stdout } = await nodes.exec(node, ['sh', '-c', `${KUBELET_PID_SHELL}\ntr "\\0" "\\n" < "/proc/$pid/cmdline"`]);
  const argv = stdout.split('\n').filter((l) => l !== '');
  if (argv.length === 0) throw new Error(`${node}: cannot read kubelet's command line`);
  return argv;
}
