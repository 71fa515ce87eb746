// A section's scenarios side by side: at most the limit at once, started ahead of the tests jest
// calls in order, each test waiting for (and failing with) its own scenario only.

import { describe, expect, it } from '@jest/globals';
import { ScenarioPool } from '../helpers/framework/pool.ts';

/** A scenario that ends when told to, recording when it started. */
function gate(name: string, log: string[]) {
  let end!: (error?: Error) => void;
  const done = new Promise<void>((resolve, reject) => {
    end = (error) => (error ? reject(error) : resolve());
  });
  return {
    start: () => {
      log.push(name);
      return done;
    },
    end,
  };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('ScenarioPool', () => {
  it('starts nothing until jest calls a test, then that one and the next up to the limit', async () => {
    const log: string[] = [];
    const pool = new ScenarioPool(2);
    const gates = ['a', 'b', 'c', 'd'].map((n) => gate(n, log));
    const tests = gates.map((g) => pool.add(g.start));
    expect(log).toEqual([]);
    const a = tests[0]?.();
    expect(log).toEqual(['a', 'b']);
    expect(pool.active).toBe(2);
    gates[0]?.end();
    await a;
    await tick();
    // a's end made room for c before jest asked for b.
    expect(log).toEqual(['a', 'b', 'c']);
    const b = tests[1]?.();
    gates[1]?.end();
    await b;
    await tick();
    expect(log).toEqual(['a', 'b', 'c', 'd']);
    for (const g of gates.slice(2)) g.end();
    await Promise.all([tests[2]?.(), tests[3]?.()]);
    expect(pool.active).toBe(0);
    // Each scenario ran once, though its test was called after it started.
    expect(log).toEqual(['a', 'b', 'c', 'd']);
  });

  it("a scenario's failure is its own test's, even when it ended before jest asked for it", async () => {
    const log: string[] = [];
    const pool = new ScenarioPool(3);
    const gates = ['a', 'b'].map((n) => gate(n, log));
    const tests = gates.map((g) => pool.add(g.start));
    const a = tests[0]?.();
    gates[1]?.end(new Error('b failed'));
    await tick();
    gates[0]?.end();
    await expect(a).resolves.toBeUndefined();
    await expect(tests[1]?.()).rejects.toThrow('b failed');
  });

  it('with a limit of 1, one after the other as jest calls them', async () => {
    const log: string[] = [];
    const pool = new ScenarioPool(1);
    const gates = ['a', 'b'].map((n) => gate(n, log));
    const tests = gates.map((g) => pool.add(g.start));
    const a = tests[0]?.();
    expect(log).toEqual(['a']);
    gates[0]?.end();
    await a;
    await tick();
    // The limit freed, b starts ahead of its test: the same order, nothing side by side.
    expect(log).toEqual(['a', 'b']);
    gates[1]?.end();
    await tests[1]?.();
  });

  it('refuses a limit that is not a whole number ≥ 1', () => {
    expect(() => new ScenarioPool(0)).toThrow(/whole number/);
    expect(() => new ScenarioPool(1.5)).toThrow(/whole number/);
  });
});
