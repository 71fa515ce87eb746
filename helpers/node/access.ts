// Running commands on a node. One interface, so that scenarios do not care how: `docker exec` for
// kind nodes (through the Engine API), a privileged helper DaemonSet for other clusters later.
import { dockerExec } from '../infra/dockerexec.ts';
import type { RunResult } from '../infra/exec.ts';
import type { Logger } from '../infra/log.ts';

export interface NodeExecOptions {
  input?: string;
  inputFile?: string;
  allowFailure?: boolean;
}

/** How commands reach a node: `docker exec` into kind's node container, the node agent, or not at all (yet). */
export type NodeAccessHow = 'docker-exec' | 'agent' | 'none';

export interface NodeAccess {
  /** How this access reaches the nodes: what callers ask instead of its class. */
  readonly how: NodeAccessHow;
  /** Runs argv on the node (as root, in the node's namespaces); `inputFile` streams a (large, binary) file to stdin. */
  exec(node: string, argv: readonly string[], options?: NodeExecOptions): Promise<RunResult>;
  /** Writes a file on the node, creating its directory. */
  writeFile(node: string, path: string, content: string, mode?: string): Promise<void>;
}

/** Kind node containers are named after their Kubernetes node. */
export class KindNodeAccess implements NodeAccess {
  readonly how = 'docker-exec';
  constructor(private readonly logger: Logger) {}

  exec(node: string, argv: readonly string[], options: NodeExecOptions = {}): Promise<RunResult> {
    return dockerExec(node, argv, { logger: this.logger, ...options });
  }

  async writeFile(node: string, path: string, content: string, mode = '0644'): Promise<void> {
    const dir = path.replace(/\/[^/]*$/, '') || '/';
    await this.exec(node, ['sh', '-c', 'mkdir -p "$1" && cat > "$2" && chmod "$3" "$2"', 'sh', dir, path, mode], { input: content });
  }
}
