// Every external command goes through here: argv arrays (never shell strings), output streamed into
// the run's log file, and failures raised as CommandError carrying argv, exit code and stderr.
import { execa } from 'execa';
import type { Logger } from './log.ts';
import { redact } from './redact.ts';

export interface RunOptions {
  logger?: Logger;
  cwd?: string;
  env?: Record<string, string | undefined>;
  input?: string | Buffer;
  /** Feed this file to stdin (streamed, for large archives). */
  inputFile?: string;
  timeoutMs?: number;
  /** Return the result instead of throwing on a non-zero exit. */
  allowFailure?: boolean;
  /**
   * Its own process group: a Ctrl-C at the terminal (SIGINT to our group) does not reach it, so it
   * finishes what it started and the caller decides what to undo.
   */
  detached?: boolean;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export class CommandError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly exitCode: number | undefined,
    readonly stderr: string,
    options?: { cause?: unknown },
  ) {
    const tail = redact(stderr.trim().split('\n').slice(-15).join('\n'));
    super(`command failed (exit ${exitCode ?? 'signal'}): ${redact(argv.join(' '))}${tail ? `\n${tail}` : ''}`, options);
    this.name = 'CommandError';
  }
}

export async function run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const [file, ...args] = argv;
  if (file === undefined) throw new Error('run: empty argv');
  const { logger } = options;
  logger?.detail(`$ ${argv.join(' ')}`);
  const child = execa(file, args, {
    cwd: options.cwd,
    env: options.env,
    ...(options.inputFile ? { inputFile: options.inputFile } : { input: options.input }),
    timeout: options.timeoutMs,
    reject: false,
    stripFinalNewline: true,
    maxBuffer: 256 * 1024 * 1024,
    encoding: 'utf8',
    ...(options.detached ? { detached: true } : {}),
  });
  if (logger) {
    child.stdout?.on('data', (chunk: Buffer) => logger.detail(chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => logger.detail(chunk.toString()));
  }
  const result = await child;
  const exitCode = result.exitCode ?? -1;
  if (result.failed && !options.allowFailure) {
    const why = result.timedOut ? `timed out after ${options.timeoutMs}ms\n` : '';
    throw new CommandError(argv, result.exitCode, why + String(result.stderr || result.stdout || result.message));
  }
  return { stdout: String(result.stdout), stderr: String(result.stderr), exitCode };
}

/** True when the command exists and exits 0. */
export async function succeeds(argv: readonly string[], options: RunOptions = {}): Promise<boolean> {
  try {
    const r = await run(argv, { ...options, allowFailure: true });
    return r.exitCode === 0;
  } catch {
    return false;
  }
}
