// Scenarios of one section run side by side, at most `limit` at once, though jest calls its tests
// one after the other: the test jest calls starts its own scenario and the next ones of the section
// up to the limit, and each test awaits its own. Jest still reports each scenario as its test, in
// order; a scenario that ends early waits, done, for jest to ask for it.

interface Entry {
  start: () => Promise<void>;
  promise?: Promise<void>;
}

export class ScenarioPool {
  private readonly entries: Entry[] = [];
  private running = 0;

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`a section's concurrency must be a whole number ≥ 1, not ${limit}`);
  }

  /**
   * A scenario jest will call, in the order jest calls them (a test jest skips must not be added:
   * it would run unasked). Returns the test's function: it starts the scenario if no earlier test
   * did, and the following ones while the limit allows, and waits for its own.
   */
  add(start: () => Promise<void>): () => Promise<void> {
    const entry: Entry = { start };
    this.entries.push(entry);
    return () => {
      const own = this.begin(entry);
      this.fill();
      return own;
    };
  }

  /** How many of the section's scenarios run now (tests read it). */
  get active(): number {
    return this.running;
  }

  private begin(entry: Entry): Promise<void> {
    if (!entry.promise) {
      this.running += 1;
      entry.promise = entry.start().finally(() => {
        this.running -= 1;
        this.fill();
      });
      // Its test awaits it and reports the failure; until jest asks for it, it is not unhandled.
      entry.promise.catch(() => undefined);
    }
    return entry.promise;
  }

  /** Starts the first scenarios not started yet while fewer than `limit` run. */
  private fill(): void {
    for (const entry of this.entries) {
      if (this.running >= this.limit) return;
      if (!entry.promise) this.begin(entry);
    }
  }
}
