/**
 * The write steps families and event streams share: an insert that stores each
 * row once, and (postgres tier) the rollup invalidations of what was written.
 */
import type { Queryable, QueryResult } from '../db/database.ts';
import { DatabaseQueryError } from '../db/database.ts';
import type { PartitionCache } from './partitions.ts';

const FIVE_MIN = 300_000;

/**
 * Runs `plain` (an INSERT without conflict handling) under a savepoint; a batch that
 * meets stored rows (a retry: 23505) is written again with `skip` (ON CONFLICT DO
 * NOTHING). Most batches are new rows, and the plain form costs the server about a
 * quarter less. A row with no partition (23514: one dropped by retention after it was
 * cached) clears the partition cache before the error is rethrown.
 */
export async function insertOnce(
  tx: Queryable,
  sql: { plain: string; skip: string },
  params: readonly unknown[],
  partitions: PartitionCache,
): Promise<QueryResult<Record<string, unknown>>> {
  try {
    return await tx.savepoint((sp) => sp.query<Record<string, unknown>>(sql.plain, params));
  } catch (err) {
    if (err instanceof DatabaseQueryError && err.sqlState === '23505') return tx.query<Record<string, unknown>>(sql.skip, params);
    if (err instanceof DatabaseQueryError && err.sqlState === '23514') partitions.clear();
    throw err;
  }
}

/**
 * postgres tier: records the 5-minute buckets of the written rows (their times in
 * microseconds, as PostgreSQL stores them: a row rounded into the next bucket
 * invalidates that one) for each rollup key in `names`, in the caller's transaction.
 */
export async function invalidateBuckets(tx: Queryable, names: readonly string[], micros: readonly number[]): Promise<void> {
  if (names.length === 0) return;
  const buckets = new Set<number>();
  for (const us of micros) buckets.add(Math.floor(us / 1000 / FIVE_MIN) * FIVE_MIN);
  await tx.query('INSERT INTO opsdeck_rollup_invalidations (family, bucket) SELECT r, b FROM unnest($1::text[]) AS r, unnest($2::timestamptz[]) AS b', [
    [...names],
    [...buckets].sort((a, b) => a - b).map((b) => new Date(b).toISOString()),
  ]);
}
