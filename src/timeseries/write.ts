/**
 * The write steps families and event streams share: an insert that stores each
 * row once, and (postgres tier) the rollup invalidations of what was written.
 */
import type { Queryable, QueryResult } from '../db/database.ts';
import { DatabaseQueryError } from '../db/database.ts';
import type { PartitionCache } from './partitions.ts';

const FIVE_MIN = 300_000;

/** Batches up to this many rows are written with `skip` at once (see insertOnce). */
export const DIRECT_SKIP_ROWS = 500;

/** A batch as a binary COPY (ingest.ts copyData), for drivers that can run one (Queryable.copyFrom). */
export interface CopyForm {
  sql: string;
  data: () => Uint8Array;
}

/**
 * Stores each row of a batch once. A large batch is written without conflict handling under a
 * savepoint — as a binary COPY (`copy`) where the driver can, else `plain` (an INSERT) — and
 * one that meets stored rows (a retry: 23505) is written again with `skip` (ON CONFLICT DO
 * NOTHING): most batches are new rows, and for thousands of rows the plain INSERT costs the
 * server about a quarter less than `skip`, the binary COPY half of the plain INSERT
 * (docs/adr/0033-large-batches-by-binary-copy.md). A small batch (at most DIRECT_SKIP_ROWS
 * rows: single requests and the group commits of concurrent ones) runs `skip` at once — the
 * savepoint's two extra round trips and its subtransaction cost more than the conflict check
 * saves. A row with no partition (23514: one dropped by retention after it was cached) clears
 * the partition cache before the error is rethrown. `params` (the INSERT's) are made only when
 * an INSERT runs.
 */
export async function insertOnce(
  tx: Queryable,
  sql: { plain: string; skip: string },
  params: () => readonly unknown[],
  partitions: PartitionCache,
  rows: number,
  copy?: CopyForm,
): Promise<QueryResult<Record<string, unknown>>> {
  try {
    if (rows <= DIRECT_SKIP_ROWS) return await tx.query<Record<string, unknown>>(sql.skip, params());
    try {
      return await tx.savepoint(async (sp) => {
        if (!copy || !sp.copyFrom) return sp.query<Record<string, unknown>>(sql.plain, params());
        await sp.copyFrom(copy.sql, copy.data());
        return { rows: [], rowCount: rows };
      });
    } catch (err) {
      if (err instanceof DatabaseQueryError && err.sqlState === '23505') return await tx.query<Record<string, unknown>>(sql.skip, params());
      throw err;
    }
  } catch (err) {
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
  await tx.query('INSERT INTO opsdeck_rollup_invalidations (family, bucket) SELECT r, b FROM unnest($1::text[]) AS r, unnest($2::timestamptz[]) AS b', [[...names], bucketsOf(micros)]);
}

/** The distinct 5-minute buckets of row times in microseconds, ascending, as ISO text. */
function bucketsOf(micros: readonly number[]): string[] {
  const buckets = new Set<number>();
  for (const us of micros) buckets.add(Math.floor(us / 1000 / FIVE_MIN) * FIVE_MIN);
  return [...buckets].sort((a, b) => a - b).map((b) => new Date(b).toISOString());
}

/**
 * The write of a small batch as one statement, run outside a transaction: the insert's `skip`
 * form with its RETURNING list (`insertReturning`, `paramCount` parameters); when `invalidate`
 * (postgres tier), the rollup invalidations of the written buckets in a data-modifying WITH —
 * recorded only when a row was new, like invalidateBuckets after insertOnce (two parameters
 * more: the rollup keys and the buckets); and `also`, a further data-modifying statement (its
 * parameters start at the number it is given). One statement is atomic, so it does what BEGIN,
 * the statements and COMMIT did in five round trips; each round trip of a group commit also
 * waits behind the requests the server is parsing meanwhile (docs/performance.md). Its rows are
 * the insert's.
 */
export function writeAloneSQL(insertReturning: string, paramCount: number, invalidate: boolean, also?: (firstParam: number) => string): string {
  const ctes: string[] = [];
  let next = paramCount + 1;
  if (invalidate) {
    ctes.push(
      `inv AS (\nINSERT INTO opsdeck_rollup_invalidations (family, bucket)\nSELECT r, b FROM unnest($${next}::text[]) AS r, unnest($${next + 1}::timestamptz[]) AS b\nWHERE EXISTS (SELECT 1 FROM ins)\n)`,
    );
    next += 2;
  }
  if (also) ctes.push(`also AS (\n${also(next)}\n)`);
  if (ctes.length === 0) return insertReturning;
  return `WITH ins AS (\n${insertReturning}\n), ${ctes.join(', ')}\nSELECT * FROM ins`;
}

/**
 * Runs writeAloneSQL on the pool (its own transaction): `params` are the insert's, `names` the
 * rollup keys to invalidate (empty: none), `alsoParams` those of `also`. A row with no
 * partition clears the cache, as in insertOnce.
 */
export async function writeAlone(
  db: Queryable,
  sql: string,
  params: readonly unknown[],
  names: readonly string[],
  micros: readonly number[],
  partitions: PartitionCache,
  alsoParams: readonly unknown[] = [],
): Promise<QueryResult<Record<string, unknown>>> {
  try {
    return await db.query<Record<string, unknown>>(sql, [...params, ...(names.length === 0 ? [] : [[...names], bucketsOf(micros)]), ...alsoParams]);
  } catch (err) {
    if (err instanceof DatabaseQueryError && err.sqlState === '23514') partitions.clear();
    throw err;
  }
}
