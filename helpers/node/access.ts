// Running commands on a node. One interface, so that scenarios do not care how: `docker exec` for
// kind nodes (through the Engine API, most of them over one exec session a node), a privileged
// helper DaemonSet for other clusters.
import { hostPlatform } from '../images/oci.ts';
import { programBinary } from '../images/testimages.ts';
import { dockerExec } from '../infra/dockerexec.ts';
import type { RunResult } from '../infra/exec.ts';
import { ExecSession } from '../infra/execsession.ts';
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
  /** Lets go of what reaching the nodes holds open (a suite's end); later commands open it again. */
  close?(): void;
}

let serverBinary: Promise<Buffer | undefined> | undefined;

/** nodeagent for this host's platform (kind's nodes share it), built once and cached; undefined where it cannot be. */
function execServer(logger: Logger): Promise<Buffer | undefined> {
  serverBinary ??= Promise.resolve()
    .then(() => programBinary('nodeagent', hostPlatform(), logger))
    .catch((error: unknown) => {
      logger.detail(
        `commands on kind nodes go one docker exec each: nodeagent could not be built (${error instanceof Error ? error.message : String(error)})`,
      );
      return undefined;
    });
  return serverBinary;
}

/** Kind node containers are named after their Kubernetes node. */
export class KindNodeAccess implements NodeAccess {
  readonly how = 'docker-exec';
  private readonly sessions = new Map<string, Promise<ExecSession | undefined>>();
  constructor(private readonly logger: Logger) {}

  /**
   * The node's exec session, opened by the first command and again after it ended (the node
   * restarted); undefined where it could not open. Commands that come at once share one opening.
   */
  private async session(node: string): Promise<ExecSession | undefined> {
    const current = this.sessions.get(node);
    if (current) {
      const known = await current;
      if (!known || known.open) return known;
      // Ended: whoever saw it first opens the next one, the others take that.
      if (this.sessions.get(node) !== current) return this.session(node);
    }
    const opening = execServer(this.logger).then((binary) => (binary ? ExecSession.open(node, binary, this.logger) : undefined));
    this.sessions.set(node, opening);
    return opening;
  }

  async exec(node: string, argv: readonly string[], options: NodeExecOptions = {}): Promise<RunResult> {
    // A file to stream (an image archive) goes through an exec of its own, as it can be large.
    const session = options.inputFile === undefined ? await this.session(node) : undefined;
    if (!session) return dockerExec(node, argv, { logger: this.logger, ...options });
    const shown = ['docker', 'exec', ...(options.input !== undefined ? ['-i'] : []), node, ...argv];
    return session.exec(argv, { logger: this.logger, shown, ...options });
  }

  close(): void {
    for (const s of this.sessions.values()) void s.then((session) => session?.close());
    this.sessions.clear();
  }

  async writeFile(node: string, path: string, content: string, mode = '0644'): Promise<void> {
    const dir = path.replace(/\/[^/]*$/, '') || '/';
    await this.exec(node, ['sh', '-c', 'mkdir -p "$1" && cat > "$2" && chmod "$3" "$2"', 'sh', dir, path, mode], { input: content });
  }
}
