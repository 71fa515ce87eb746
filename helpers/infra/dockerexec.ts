// `docker exec` through the Engine API on its unix socket: the same three calls the CLI makes (create,
// start with the streams attached, inspect for the exit code), without starting a CLI process for each
// of a run's ~1,000 commands on kind nodes. Where the daemon is not a local socket, the CLI still does it.
import { createReadStream, existsSync } from 'node:fs';
import { Agent, request } from 'node:http';
import type { Duplex } from 'node:stream';
import { docker } from './docker.ts';
import { CommandError, type RunOptions, type RunResult } from './exec.ts';

export type DockerExecOptions = Pick<RunOptions, 'logger' | 'input' | 'inputFile' | 'timeoutMs' | 'allowFailure'>;

/** The socket of a daemon endpoint (`unix:///…`) that exists here; undefined for any other (the CLI knows how). */
export function engineSocket(endpoint: string): string | undefined {
  if (!endpoint.startsWith('unix://')) return undefined;
  const path = endpoint.slice('unix://'.length);
  return existsSync(path) ? path : undefined;
}

let endpoint: Promise<string | undefined> | undefined;

/** Where the CLI would talk to the daemon (DOCKER_HOST, DOCKER_CONTEXT and its config weighed by the CLI), asked once. */
export function localSocket(): Promise<string | undefined> {
  endpoint ??= docker(['context', 'inspect', '--format', '{{.Endpoints.docker.Host}}'], { allowFailure: true }).then((r) =>
    r.exitCode === 0 ? engineSocket(r.stdout.trim()) : undefined,
  );
  return endpoint;
}

// The short calls (create, inspect) reuse their connections; the attached stream is a connection of its own.
const agent = new Agent({ keepAlive: true });

/** One JSON call to the Engine API; a status of 300 or more is thrown with the daemon's message. */
export function call<T>(socket: string, method: string, path: string, body?: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string | number> = data
      ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) }
      : {};
    const r = request({ agent, socketPath: socket, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if ((res.statusCode ?? 500) >= 300) reject(new EngineError(res.statusCode ?? 500, text));
        else resolve((text ? JSON.parse(text) : undefined) as T);
      });
    });
    r.on('error', reject);
    r.end(data);
  });
}

/** A refusal from the daemon, worded as the CLI prints it; `body` is the daemon's JSON answer (or its text). */
export class EngineError extends Error {
  constructor(
    readonly status: number,
    body: string,
  ) {
    let message = body;
    try {
      message = String((JSON.parse(body) as { message?: unknown }).message ?? body);
    } catch {}
    super(`Error response from daemon: ${message.trim()}`);
  }
}

/** Splits the attached stream (8-byte headers: stream 1 stdout, 2 stderr, then the length) into its two outputs. */
export function demultiplex(data: Buffer): { stdout: Buffer; stderr: Buffer; rest: Buffer } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let i = 0;
  while (i + 8 <= data.length) {
    const size = data.readUInt32BE(i + 4);
    if (i + 8 + size > data.length) break;
    (data[i] === 2 ? err : out).push(data.subarray(i + 8, i + 8 + size));
    i += 8 + size;
  }
  return { stdout: Buffer.concat(out), stderr: Buffer.concat(err), rest: data.subarray(i) };
}

/** Creates an exec of `argv` in `container`, its output (and stdin, when `stdin`) attached; resolves with its id. */
export async function createExec(socket: string, container: string, argv: readonly string[], stdin: boolean): Promise<string> {
  const { Id } = await call<{ Id: string }>(socket, 'POST', `/containers/${encodeURIComponent(container)}/exec`, {
    AttachStdin: stdin,
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
    Cmd: argv,
  });
  return Id;
}

/**
 * Starts the exec and hands over the hijacked connection: what is written is the process's stdin
 * (its end a half-close), what is read is its output multiplexed (demultiplex), `head` the first of it.
 */
export function startExec(socket: string, id: string): Promise<{ stream: Duplex; head: Buffer }> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ Detach: false, Tty: false });
    const r = request({
      socketPath: socket,
      method: 'POST',
      path: `/exec/${id}/start`,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), Connection: 'Upgrade', Upgrade: 'tcp' },
    });
    r.on('upgrade', (_res, stream: Duplex, head: Buffer) => resolve({ stream, head }));
    r.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => reject(new EngineError(res.statusCode ?? 500, Buffer.concat(chunks).toString('utf8'))));
    });
    r.on('error', reject);
    r.end(body);
  });
}

/** Starts the exec with its streams attached; resolves with both outputs once the process closed them. */
async function attach(socket: string, id: string, o: DockerExecOptions): Promise<{ stdout: string; stderr: string }> {
  const { stream, head } = await startExec(socket, id);
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    let pending = head;
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const take = (chunk: Buffer) => {
      const d = demultiplex(Buffer.concat([pending, chunk]));
      pending = d.rest;
      if (d.stdout.length) out.push(d.stdout);
      if (d.stderr.length) err.push(d.stderr);
      if (o.logger && (d.stdout.length || d.stderr.length)) o.logger.detail(Buffer.concat([d.stdout, d.stderr]).toString('utf8'));
    };
    if (o.timeoutMs)
      timer = setTimeout(() => {
        stream.destroy();
        reject(new Error(`timed out after ${o.timeoutMs}ms`));
      }, o.timeoutMs);
    take(Buffer.alloc(0));
    stream.on('data', take);
    stream.on('error', reject);
    stream.on('end', () => {
      clearTimeout(timer);
      stream.destroy();
      resolve({ stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
    // Closed without its end (the daemon went away): after an end this changes nothing.
    stream.on('close', () => {
      clearTimeout(timer);
      reject(new Error('the daemon closed the exec stream before its end'));
    });
    // End of input is a half-close: the daemon closes the process's stdin and keeps sending its output.
    if (o.inputFile) createReadStream(o.inputFile).on('error', reject).pipe(stream);
    else if (o.input !== undefined) stream.end(o.input);
  });
}

/** The exec's exit code; the daemon sets it before it closes the streams, so a running one is asked again. */
async function exitCodeOf(socket: string, id: string): Promise<number> {
  for (let i = 0; ; i++) {
    const s = await call<{ Running: boolean; ExitCode: number | null }>(socket, 'GET', `/exec/${id}/json`);
    if (!s.Running && s.ExitCode !== null) return s.ExitCode;
    if (i >= 50) throw new Error(`exec ${id} still running after its streams closed`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * `docker exec [-i] <container> <argv…>`: stdout without its final newline, a non-zero exit a
 * CommandError naming the same argv and the daemon's or the process's stderr, as the CLI would.
 */
export async function dockerExec(container: string, argv: readonly string[], o: DockerExecOptions = {}): Promise<RunResult> {
  const interactive = o.input !== undefined || o.inputFile !== undefined;
  const cliArgv = ['exec', ...(interactive ? ['-i'] : []), container, ...argv];
  const socket = await localSocket();
  if (!socket) return docker(cliArgv, o);
  const shown = ['docker', ...cliArgv];
  o.logger?.detail(`$ ${shown.join(' ')}`);
  let result: RunResult;
  try {
    const id = await createExec(socket, container, argv, interactive);
    const { stdout, stderr } = await attach(socket, id, o);
    result = { stdout, stderr, exitCode: await exitCodeOf(socket, id) };
  } catch (error) {
    // What the CLI prints and exits with when the daemon refuses (no such container, not running);
    // a lost connection or a timeout is -1, as a command that did not exit.
    const message = error instanceof Error ? error.message : String(error);
    const exitCode = error instanceof EngineError ? 1 : -1;
    if (o.allowFailure) return { stdout: '', stderr: message, exitCode };
    throw new CommandError(shown, exitCode === 1 ? 1 : undefined, message, { cause: error });
  }
  return execResult(shown, result, o.allowFailure);
}

/** A finished exec as the CLI gives it: outputs without their final newline; a non-zero exit a CommandError naming `shown`, unless allowed. */
export function execResult(shown: readonly string[], r: RunResult, allowFailure?: boolean): RunResult {
  const result = { stdout: r.stdout.replace(/\r?\n$/, ''), stderr: r.stderr.replace(/\r?\n$/, ''), exitCode: r.exitCode };
  if (result.exitCode !== 0 && !allowFailure) throw new CommandError(shown, result.exitCode, result.stderr || result.stdout);
  return result;
}
