// Progress output with a fixed vocabulary: every phase says when it starts, when it ends and how
// long it took; long phases print a heartbeat with the last line their commands wrote. Full command
// output goes to a log file whose path is printed when something fails.
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { redact } from './redact.ts';

export interface PhaseRecord {
  name: string;
  seconds: number;
  ok: boolean;
}

const HEARTBEAT_MS = 30_000;

export class Logger {
  readonly logFile: string;
  readonly phases: PhaseRecord[] = [];
  private lastOutputLine = '';
  private depth = 0;
  private readonly active = new Map<string, number>();
  private heartbeat: NodeJS.Timeout | undefined;
  /** Set when the log file could not be written (a full disk): the console goes on without it. */
  private fileError: NodeJS.ErrnoException | undefined;

  constructor(
    logFile: string,
    private readonly out: NodeJS.WritableStream = process.stderr,
  ) {
    this.logFile = logFile;
    mkdirSync(dirname(logFile), { recursive: true });
  }

  info(message: string): void {
    this.print(message);
  }

  warn(message: string): void {
    this.print(`WARN ${message}`);
  }

  /** Writes to the log file only: command output and details nobody needs on the console. */
  detail(text: string): void {
    const clean = redact(text);
    const lines = clean.split('\n').filter((l) => l.trim() !== '');
    const last = lines.at(-1);
    if (last !== undefined) this.lastOutputLine = last.slice(0, 160);
    this.append(clean.endsWith('\n') ? clean : `${clean}\n`);
  }

  async phase<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const started = Date.now();
    this.print(`START ${name}`);
    this.depth++;
    this.active.set(name, started);
    this.startHeartbeat();
    try {
      const result = await fn();
      this.end(name, started, true);
      return result;
    } catch (error) {
      this.end(name, started, false);
      throw error;
    }
  }

  /**
   * One heartbeat for all running phases (they may run side by side): each with its elapsed time,
   * then the last line any command wrote.
   */
  private startHeartbeat(): void {
    if (this.heartbeat) return;
    this.heartbeat = setInterval(() => {
      const running = [...this.active].map(([n, t]) => `${n} (${seconds(t)}s)`).join(', ');
      const tail = this.lastOutputLine ? ` — ${this.lastOutputLine}` : '';
      this.print(`... running: ${running}${tail}`);
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  private end(name: string, started: number, ok: boolean): void {
    this.depth--;
    this.active.delete(name);
    if (this.active.size === 0 && this.heartbeat) {
      clearInterval(this.heartbeat);
      this.heartbeat = undefined;
    }
    const s = seconds(started);
    this.phases.push({ name, seconds: s, ok });
    this.print(`${ok ? 'DONE' : 'FAIL'} ${name} (${s}s)${ok ? '' : ` — full log: ${this.logFile}`}`);
  }

  private print(message: string): void {
    const line = `${new Date().toISOString().slice(11, 19)} ${'  '.repeat(this.depth)}${redact(message)}`;
    this.out.write(`${line}\n`);
    this.append(`${line}\n`);
  }

  /**
   * Appends to the log file. Writes come from command output handlers too, where a throw would
   * crash the process with a stack trace: after the first failure (e.g. ENOSPC) the file is left
   * alone, and the failing command or build reports the cause itself.
   */
  private append(text: string): void {
    if (this.fileError) return;
    try {
      appendFileSync(this.logFile, text);
    } catch (error) {
      this.fileError = error as NodeJS.ErrnoException;
    }
  }
}

function seconds(since: number): number {
  return Math.round((Date.now() - since) / 100) / 10;
}

export function defaultLogFile(cacheDir: string, command: string): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  return join(cacheDir, 'logs', `${stamp}-${command}.log`);
}
