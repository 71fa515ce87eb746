// Many commands on one kind node over one exec session: `nodeagent serve` (programs/nodeagent/serve.go)
// runs in the node container for as long as the session is open, and each command is a fork and an
// exec there instead of a `docker exec` of its own (a runc exec, a shim round trip, the daemon's
// bookkeeping). The program reaches the node through the session's own stdin and removes its file
// as it starts; the end of the session ends it.
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createExec, demultiplex, execResult, localSocket, startExec } from './dockerexec.ts';
import { CommandError, type RunResult } from './exec.ts';
import type { Logger } from './log.ts';

/** One answer of the server: the first (id 0) says it is ready, the others end a command. */
export interface Answer {
  id: number;
  ready?: boolean;
  stdout?: string;
  stderr?: string;
  exit: number;
}

/** A frame: a 4-byte big-endian length, then that many bytes of JSON. */
export function encodeFrame(value: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(value), 'utf8');
  const size = Buffer.alloc(4);
  size.writeUInt32BE(json.length);
  return Buffer.concat([size, json]);
}

/** Splits a byte stream into frames; `push` returns the whole ones so far, the rest waits for more. */
export class FrameReader {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): unknown[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const frames: unknown[] = [];
    while (this.pending.length >= 4) {
      const size = this.pending.readUInt32BE(0);
      if (this.pending.length < 4 + size) break;
      frames.push(JSON.parse(this.pending.subarray(4, 4 + size).toString('utf8')));
      this.pending = this.pending.subarray(4 + size);
    }
    return frames;
  }
}

/** Where the server's file is written: kind mounts /tmp and /run noexec, /var is a volume that is not. */
export const SERVER_FILE_PREFIX = '/var/tmp/pullcheck-nodeagent.';

/**
 * What starts the server: its file written from stdin (the first `size` bytes), private, then run;
 * the server removes it as it starts, and the shell again whatever happened (a failed start).
 */
export function bootstrapArgv(size: number): string[] {
  return [
    'sh',
    '-c',
    `f=$(mktemp ${SERVER_FILE_PREFIX}XXXXXX) || exit 126; head -c "$1" > "$f" && chmod 0700 "$f" && "$f" serve --remove "$f"; rc=$?; rm -f "$f"; exit $rc`,
    'sh',
    String(size),
  ];
}

const READY_TIMEOUT_MS = 20_000;

interface Pending {
  resolve: (a: Answer) => void;
  reject: (e: Error) => void;
}

/** An open session on one container; `exec` resolves or throws as dockerExec does. */
export class ExecSession {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private ended: Error | undefined;

  private constructor(
    readonly container: string,
    private readonly stream: Duplex,
  ) {}

  /**
   * Starts `binary` (nodeagent for the container's platform) in `container`; undefined, with the
   * reason logged, when the daemon is not a local socket or the server does not come up.
   */
  static async open(container: string, binary: Buffer, logger: Logger): Promise<ExecSession | undefined> {
    const socket = await localSocket();
    if (!socket) return undefined;
    let session: ExecSession | undefined;
    try {
      const id = await createExec(socket, container, bootstrapArgv(binary.length), true);
      const { stream, head } = await startExec(socket, id);
      session = new ExecSession(container, stream);
      session.listen(head, logger);
      const ready = session.ready();
      stream.write(binary);
      await ready;
      session.idle();
      return session;
    } catch (error) {
      session?.close();
      logger.detail(
        `${container}: commands go one docker exec each (no exec session: ${error instanceof Error ? error.message : String(error)})`,
      );
      return undefined;
    }
  }

  private listen(head: Buffer, logger: Logger): void {
    const frames = new FrameReader();
    let rest: Buffer = Buffer.alloc(0);
    const take = (chunk: Buffer) => {
      const d = demultiplex(Buffer.concat([rest, chunk]));
      rest = d.rest;
      if (d.stderr.length) logger.detail(`${this.container} exec session: ${d.stderr.toString('utf8').trim()}`);
      for (const a of frames.push(d.stdout) as Answer[]) {
        const p = this.pending.get(a.id);
        this.pending.delete(a.id);
        p?.resolve(a);
        this.idle();
      }
    };
    const end = (why: string) => {
      this.ended ??= new Error(`the exec session on ${this.container} ended (${why}) before the command did`);
      for (const p of this.pending.values()) p.reject(this.ended);
      this.pending.clear();
    };
    this.stream.on('data', (chunk: Buffer) => {
      try {
        take(chunk);
      } catch (error) {
        // Not its server's answer (a frame that is not JSON): nothing more it says can be trusted.
        end(`an answer that could not be read: ${error instanceof Error ? error.message : String(error)}`);
        this.stream.destroy();
      }
    });
    this.stream.on('error', (e) => end(e.message));
    this.stream.on('end', () => {
      end('its server exited');
      this.stream.destroy();
    });
    this.stream.on('close', () => end('the connection closed'));
    take(head);
  }

  /** Resolves once the server said it is ready (answer 0). */
  private ready(): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(0);
        this.close();
        reject(new Error(`its server was not ready within ${READY_TIMEOUT_MS / 1000}s`));
      }, READY_TIMEOUT_MS);
      this.pending.set(0, {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }

  /** Whether commands can still go through it. */
  get open(): boolean {
    return this.ended === undefined;
  }

  /** An idle session does not keep the process alive: its client may just end, and the server with it. */
  private idle(): void {
    if (this.pending.size === 0) (this.stream as Partial<Socket>).unref?.();
  }

  /** As dockerExec: stdout and stderr without their final newline; a non-zero exit a CommandError naming `shown`. */
  async exec(argv: readonly string[], o: { input?: string; allowFailure?: boolean; logger?: Logger; shown: string[] }): Promise<RunResult> {
    o.logger?.detail(`$ ${o.shown.join(' ')}`);
    let answer: Answer;
    try {
      if (this.ended) throw this.ended;
      const id = this.nextId++;
      const done = new Promise<Answer>((resolve, reject) => this.pending.set(id, { resolve, reject }));
      (this.stream as Partial<Socket>).ref?.();
      const stdin = o.input === undefined ? {} : { stdin: Buffer.from(o.input, 'utf8').toString('base64') };
      this.stream.write(encodeFrame({ id, argv, ...stdin }));
      answer = await done;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (o.allowFailure) return { stdout: '', stderr: message, exitCode: -1 };
      throw new CommandError(o.shown, undefined, message, { cause: error });
    }
    const text = (b64: string | undefined) => Buffer.from(b64 ?? '', 'base64').toString('utf8');
    const stdout = text(answer.stdout);
    const stderr = text(answer.stderr);
    if (o.logger && (stdout || stderr)) o.logger.detail(stdout + stderr);
    return execResult(o.shown, { stdout, stderr, exitCode: answer.exit }, o.allowFailure);
  }

  /** Ends the server's input: it exits, and with it the exec. */
  close(): void {
    this.ended ??= new Error(`the exec session on ${this.container} was closed`);
    this.stream.end();
  }
}
