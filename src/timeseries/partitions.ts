/**
 * postgres tier: the native partitions a writer knows exist, so a batch asks
 * PostgreSQL to create partitions only when it reaches a range not seen yet.
 */
import type { Queryable } from '../db/database.ts';
import { BUCKET_ORIGIN_MS, intervalSeconds } from './family.ts';

/** Partition boundaries are multiples of the width from BUCKET_ORIGIN (opsdeck_ensure_partitions uses the same). */
const PARTITION_ORIGIN = BUCKET_ORIGIN_MS;

export class PartitionCache {
  private readonly known = new Set<number>();
  private readonly widthMs: number;

  constructor(
    private readonly table: string,
    partitionInterval: string,
  ) {
    this.widthMs = intervalSeconds(partitionInterval) * 1000;
  }

  /** True when every partition of [minTime, maxTime] (milliseconds) is known to exist. */
  covers(minTime: number, maxTime: number): boolean {
    const w = this.widthMs;
    for (let s = Math.floor((minTime - PARTITION_ORIGIN) / w) * w + PARTITION_ORIGIN; s <= maxTime; s += w) {
      if (!this.known.has(s)) return false;
    }
    return true;
  }

  /** Makes sure partitions cover [minTime, maxTime] (milliseconds), inside the caller's transaction. */
  async ensure(tx: Queryable, minTime: number, maxTime: number): Promise<void> {
    if (this.covers(minTime, maxTime)) return;
    const w = this.widthMs;
    const first = Math.floor((minTime - PARTITION_ORIGIN) / w) * w + PARTITION_ORIGIN;
    await tx.query('SELECT opsdeck_ensure_partitions($1, $2, $3)', [this.table, new Date(minTime).toISOString(), new Date(maxTime + 1).toISOString()]);
    for (let s = first; s <= maxTime; s += w) this.known.add(s);
  }

  /** Forget what is known (a partition was dropped by retention). */
  clear(): void {
    this.known.clear();
  }
}
