// Progress output with a fixed vocabulary: every phase says when it starts, when it ends and how
// long it took; long phases print a heartbeat naming the phase at work (the innermost one, not its
// ancestors) with the last line its own commands wrote. Under GitHub Actions each outermost phase
// is a collapsible `::group::`. Full command output goes to a log file whose path is printed when
// something fails.
import { AsyncLocalStorage } from 'node:async_hooks';
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { redact } from './redact.ts';

export interface PhaseRecord {
  name: string;
  seconds: number;
  ok: boolean;
}

const HEARTBEAT_MS = 30_000;

/** A phase while it runs: its parent (the phase it was started in), its running children, its own last output line. */
interface ActivePhase {
  name: string;
  started: number;
  parent: ActivePhase | undefined;
  children: number;
  lastLine: string;
}

export interface LoggerOptions {
  /** Wrap each outermost phase in `::group::`/`::endgroup::` (GitHub Actions; the CLI's own logger only). */
  githubGroups?: boolean;
}

/**
 * The heartbeat's line: each running phase with no running phase inside it, its elapsed seconds and
 * its own last output line (else the last line any command wrote).
 */
export function heartbeatLine(active: readonly Omit<ActivePhase, 'parent'>[], now: number, fallback = ''): string {
  const parts = active
    .filter((p) => p.children === 0)
    .map((p) => {
      const tail = p.lastLine || fallback;
      return `${p.name} (${Math.round((now - p.started) / 1000)}s)${tail ? ` — ${tail}` : ''}`;
    });
  return `... running: ${parts.join('; ')}`;
}

export class Logger {
  readonly logFile: string;
  readonly phases: PhaseRecord[] = [];
  private lastOutputLine = '';
  private readonly active = new Set<ActivePhase>();
  private readonly current = new AsyncLocalStorage<ActivePhase>();
  /** The outermost phase whose `::group::` is open (GitHub Actions does not nest groups). */
  private group: ActivePhase | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  /** Set when the log file could not be written (a full disk): the console goes on without it. */
  private fileError: NodeJS.ErrnoException | undefined;

  constructor(
    logFile: string,
    private readonly out: NodeJS.WritableStream = process.stderr,
    private readonly options: LoggerOptions = {},
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
    if (last !== undefined) {
      this.lastOutputLine = last.slice(0, 160);
      const phase = this.current.getStore();
      if (phase) phase.lastLine = this.lastOutputLine;
    }
    this.append(clean.endsWith('\n') ? clean : `${clean}\n`);
  }

  async phase<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const started = Date.now();
    const parent = this.current.getStore();
    const phase: ActivePhase = { name, started, parent: parent && this.active.has(parent) ? parent : undefined, children: 0, lastLine: '' };
    if (phase.parent) phase.parent.children++;
    if (this.options.githubGroups && !phase.parent && !this.group) {
      this.group = phase;
      this.out.write(`::group::${redact(name)}\n`);
    }
    this.print(`START ${name}`);
    this.active.add(phase);
    this.startHeartbeat();
    try {
      const result = await this.current.run(phase, fn);
      this.end(phase, true);
      return result;
    } catch (error) {
      this.end(phase, false);
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
      this.print(heartbeatLine([...this.active], Date.now(), this.lastOutputLine));
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  private end(phase: ActivePhase, ok: boolean): void {
    const { name, started } = phase;
    this.active.delete(phase);
    if (phase.parent) phase.parent.children--;
    if (this.active.size === 0 && this.heartbeat) {
      clearInterval(this.heartbeat);
      this.heartbeat = undefined;
    }
    const s = seconds(started);
    this.phases.push({ name, seconds: s, ok });
    this.print(`${ok ? 'DONE' : 'FAIL'} ${name} (${s}s)${ok ? '' : ` — full log: ${this.logFile}`}`);
    if (this.group === phase) {
      this.group = undefined;
      this.out.write('::endgroup::\n');
    }
  }

  /** Indented by the phases it is printed within (from this async context: side-by-side phases are siblings). */
  private print(message: string): void {
    let depth = 0;
    for (let p = this.current.getStore(); p && this.active.has(p); p = p.parent) depth++;
    const line = `${new Date().toISOString().slice(11, 19)} ${'  '.repeat(depth)}${redact(message)}`;
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
