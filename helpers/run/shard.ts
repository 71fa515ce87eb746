// `--shard I/N`: a CI matrix runs a selection in N parts. A scenario's part is fixed by its ID
// alone, so adding a scenario moves no other between shards.
import { createHash } from 'node:crypto';
import { UsageError } from './usage.ts';

export interface Shard {
  /** From 1. */
  index: number;
  count: number;
}

export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (!m || count < 1 || index < 1 || index > count)
    throw new UsageError(`--shard "${text}" is not a shard: write I/N with 1 <= I <= N, e.g. --shard 2/3`);
  return { index, count };
}

/** The shard (from 1) a scenario ID belongs to among `count`. */
export function shardOf(id: string, count: number): number {
  return (createHash('sha256').update(id).digest().readUInt32BE(0) % count) + 1;
}

export function shardName(s: Shard): string {
  return `${s.index}/${s.count}`;
}
