/**
 * Which relation a query reads a rollup from, on the postgres tier.
 *
 * A rollup is named by a view: its stored buckets, plus the buckets with pending
 * invalidations computed live from the source table (migration 0014 gates the live part on
 * a one-time EXISTS, so it does not run when nothing is pending). PostgreSQL still plans
 * that live part, over every partition of the source: its lower bound is known only when
 * the query runs. With the events' 180 daily partitions, planning a week of a stitched
 * email rollup took ~200 ms, against ~1 ms for its storage tables (docs/performance.md).
 *
 * So a read first asks which of its rollups have pending invalidations, in the same
 * repeatable-read snapshot as the read itself, and reads each rollup without any from its
 * storage table: in that snapshot the storage table holds every bucket, so the answer is the
 * view's. A rollup with pending buckets is read through its view. Inside a transaction
 * already begun (whose snapshot is not this one's to choose), every rollup is read through
 * its view. The timescale tier reads its views: TimescaleDB excludes chunks of a real-time
 * aggregate's raw part when it plans.
 */
import type { Database, Queryable } from '../db/database.ts';
import type { StorageTier } from '../db/tier.ts';

export interface RollupRelation {
  /** The view a rollup is named by. */
  view: string;
  /** Its storage table on the postgres tier. */
  storage: string;
  /** The `family` its invalidations are recorded under. */
  invalidationKey: string;
}

/**
 * Runs `read` with `from`, which names the relation to read each rollup from (by view name),
 * and the connection to read on; see the module comment for the rule.
 */
export async function readRollups<T>(
  db: Database,
  tier: StorageTier,
  rollups: readonly RollupRelation[],
  read: (from: (view: string) => string, q: Queryable) => Promise<T>,
): Promise<T> {
  if (tier !== 'postgres' || rollups.length === 0 || db.inTransaction()) return read((view) => view, db);
  return db.transaction(async (tx) => {
    await tx.exec('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY; SET LOCAL plan_cache_mode = force_custom_plan');
    const pending = await pendingKeys(tx, rollups.map((r) => r.invalidationKey));
    const byView = new Map(rollups.map((r) => [r.view, pending.has(r.invalidationKey) ? r.view : r.storage]));
    return read((view) => byView.get(view) ?? view, tx);
  });
}

/** Which of these invalidation keys (`family` of opsdeck_rollup_invalidations) have rows the refresh has not processed yet. */
export async function pendingKeys(q: Queryable, keys: readonly string[]): Promise<Set<string>> {
  const rows = await q.queryMany<{ k: string }>(
    'SELECT k FROM unnest($1::text[]) AS k WHERE EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = k)',
    [[...new Set(keys)]],
  );
  return new Set(rows.map((r) => r.k));
}
