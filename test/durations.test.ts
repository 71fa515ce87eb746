// The order a phase starts its suite files in, from this machine's record of scenario durations.

import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import {
  DEFAULT_SCENARIO_MS,
  emptyRecord,
  expectedMs,
  orderByExpectedDuration,
  readDurations,
  SAMPLES_KEPT,
  withDurations,
  writeDurations,
} from '../helpers/run/durations.ts';
import { tempDirs } from './tempdirs.ts';

const scenarios = [
  { id: 'a/one', file: 'a.test.ts' },
  { id: 'b/one', file: 'b.test.ts' },
  { id: 'b/two', file: 'b.test.ts' },
  { id: 'c/one', file: 'c.test.ts' },
];
const files = ['a.test.ts', 'b.test.ts', 'c.test.ts'];
const tmp = tempDirs('pc-durations-');

describe('suite files longest expected first', () => {
  it('with no record, by how many scenarios each file runs (ties in the order given)', () => {
    expect(orderByExpectedDuration(files, scenarios, emptyRecord())).toEqual(['b.test.ts', 'a.test.ts', 'c.test.ts']);
  });

  it("by the sum of the selected scenarios' medians: a file of one long scenario before one of two short ones", () => {
    const record = withDurations(emptyRecord(), [
      { id: 'a/one', status: 'passed', durationMs: 2_000 },
      { id: 'b/one', status: 'passed', durationMs: 3_000 },
      { id: 'b/two', status: 'passed', durationMs: 3_000 },
      { id: 'c/one', status: 'passed', durationMs: 40_000 },
    ]);
    expect(orderByExpectedDuration(files, scenarios, record)).toEqual(['c.test.ts', 'b.test.ts', 'a.test.ts']);
  });

  it('counts only the scenarios selected: a file run for one short scenario goes after a long one', () => {
    const record = withDurations(emptyRecord(), [
      { id: 'a/one', status: 'passed', durationMs: 20_000 },
      { id: 'b/one', status: 'passed', durationMs: 3_000 },
      { id: 'b/two', status: 'passed', durationMs: 60_000 },
    ]);
    const selected = scenarios.filter((s) => s.id !== 'b/two' && s.id !== 'c/one');
    expect(orderByExpectedDuration(['a.test.ts', 'b.test.ts'], selected, record)).toEqual(['a.test.ts', 'b.test.ts']);
  });

  it('weighs a scenario never timed as the median of those that were, else the default', () => {
    const record = withDurations(emptyRecord(), [
      { id: 'a/one', status: 'passed', durationMs: 10_000 },
      { id: 'b/one', status: 'passed', durationMs: 1_000 },
    ]);
    // b: 1 s + (b/two untimed: median of the timed selected, 5.5 s); c: 5.5 s; a: 10 s.
    expect(orderByExpectedDuration(files, scenarios, record)).toEqual(['a.test.ts', 'b.test.ts', 'c.test.ts']);
    expect(DEFAULT_SCENARIO_MS).toBeGreaterThan(0);
  });
});

describe('the record', () => {
  it('keeps the last samples of the scenarios that passed, and expects their median', () => {
    let record = emptyRecord();
    for (const ms of [9_000, 1_000, 2_000, 3_000, 4_000, 5_000, 100_000])
      record = withDurations(record, [{ id: 'x/y', status: 'passed', durationMs: ms }]);
    record = withDurations(record, [
      { id: 'x/y', status: 'failed', durationMs: 120_000 },
      { id: 'x/z', status: 'blocked', durationMs: 5_000 },
    ]);
    expect(record.scenarios['x/y']).toHaveLength(SAMPLES_KEPT);
    expect(record.scenarios['x/y']).toEqual([2_000, 3_000, 4_000, 5_000, 100_000]);
    expect(expectedMs(record, 'x/y')).toBe(4_000);
    expect(expectedMs(record, 'x/z')).toBeUndefined();
  });

  it('is read back as written, and an absent or broken file reads as empty', () => {
    const dir = tmp();
    const file = join(dir, 'state', 'scenario-durations.json');
    expect(readDurations(file)).toEqual(emptyRecord());
    const record = withDurations(emptyRecord(), [{ id: 'x/y', status: 'passed', durationMs: 1_500 }]);
    writeDurations(record, file);
    expect(readDurations(file)).toEqual(record);
    writeDurations({ schema: 1, scenarios: { 'x/y': ['no' as unknown as number] } }, file);
    expect(readDurations(file)).toEqual(emptyRecord());
  });
});
