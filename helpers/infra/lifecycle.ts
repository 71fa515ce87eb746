// The process's one handler for Ctrl-C and SIGTERM: what started something registers how to remove
// it, and on a signal the cleanups run newest first, each awaited, then the process exits with the
// signal's code (130 or 143). Nothing new starts once a signal came (`interrupted()`). Not in a jest
// test file: there `process` is jest's sandbox copy, which no signal reaches (processgroup.ts).
type Cleanup = (signal: NodeJS.Signals) => Promise<unknown> | unknown;

const cleanups: { name: string; fn: Cleanup }[] = [];
let signalled: NodeJS.Signals | undefined;
let installed = false;

async function onSignal(signal: NodeJS.Signals): Promise<void> {
  if (signalled) return;
  signalled = signal;
  for (const c of [...cleanups].reverse()) {
    try {
      await c.fn(signal);
    } catch {
      // Best effort: the next run's sweep removes what is left.
    }
  }
  process.exit(signal === 'SIGINT' ? 130 : 143);
}

/**
 * Registers a cleanup for Ctrl-C/SIGTERM; returns its removal, for when the thing is gone. `on`,
 * not `once`: execa's signal-exit re-raises a signal no other listener is left for, which would end
 * the process before the cleanups ran.
 */
export function onInterrupt(name: string, fn: Cleanup): () => void {
  if (!installed) {
    installed = true;
    process.on('SIGINT', (s) => void onSignal(s));
    process.on('SIGTERM', (s) => void onSignal(s));
  }
  const entry = { name, fn };
  cleanups.push(entry);
  return () => {
    const i = cleanups.indexOf(entry);
    if (i >= 0) cleanups.splice(i, 1);
  };
}

/** Whether Ctrl-C or SIGTERM came: work that has not started by then must not start. */
export function interrupted(): boolean {
  return signalled !== undefined;
}

/** Waits for `p` (ignoring its failure) at most `ms`: a cleanup must not hang on what it waits for. */
export function settled(p: Promise<unknown> | undefined, ms: number): Promise<unknown> {
  return p ? Promise.race([p.catch(() => undefined), new Promise((r) => setTimeout(r, ms).unref())]) : Promise.resolve();
}
