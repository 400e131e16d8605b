/**
 * The time-series service: ingest, range queries and (postgres tier) the
 * maintenance that TimescaleDB does itself on the timescale tier: partitions
 * ahead of time, incremental rollups, retention by dropping partitions.
 * Framework-free; the HTTP layer and the job runner call into it.
 */
import type { Logger } from 'pino';
import type { Database, Queryable } from '../db/database.ts';
import type { StorageTier } from '../db/tier.ts';
import { materializedTable, postgresRollupSQL, refreshSQL } from './ddl.ts';
import { LEVEL_SECONDS, ROLLUP_LEVELS, type Family, type Resolution, type RollupLevel } from './family.ts';
import { PartitionCache } from './partitions.ts';
import { pendingKeys } from './rollup-source.ts';
import { DIRECT_SKIP_ROWS, insertOnce, invalidateBuckets, writeAlone, writeAloneSQL } from './write.ts';
import { compileRowScanner, type RowScanner } from './ingest-scan.ts';
import { arrayLiterals, compileFastCheck, copyData, copySQL, ingestRowSchema, insertColumns, insertSQL, prepareBatch, type ColumnBatch, type LatestSample, type ValidateOptions } from './ingest.ts';
import { cellsPerPoint, columnsSQL, cutColumnsSQL, DEFAULT_LIMITS, encodeCursor, nodeFilterColumn, planQuery, QueryError, type QueryLimits, type QueryPlan, type RangeQuery, type SeriesPart } from './query.ts';
import { answerHead, chunked, columnsText, CURSOR_BATCH_ROWS, headText, limitRows, primed, rowsText, sameMillisecondError, tailText, type AnswerFormat, type AnswerText, type Continuation, type QueryRow } from './answer.ts';
import type { z } from 'zod';

/**
 * The key of a stored row (time in microseconds — the precision PostgreSQL stores —, then
 * identity values) used to attribute inserted rows to the requests of a group commit.
 */
export function rowKey(timeMicros: number, identity: readonly unknown[]): string {
  return [String(timeMicros), ...identity.map(String)].join('\u0000');
}

/** The stored time in microseconds since the epoch, exact (EXTRACT returns numeric since PostgreSQL 14): the driver's Date keeps only milliseconds. */
const RETURNING_MICROS = '(extract(epoch FROM time) * 1000000)::bigint AS time_us';

/** See touchNodes. */
const NODE_TOUCH_MS = 5_000;

export interface IngestResult {
  family: string;
  received: number;
  inserted: number;
  duplicates: number;
}

export interface SeriesPoint {
  timestamp: string;
  [field: string]: string | number | boolean | null;
}

export interface QueryAnswer {
  family: string;
  resolution: Resolution;
  requestedResolution: Resolution | 'auto';
  from: string;
  to: string;
  points: SeriesPoint[];
  /** More rows than the answer could carry (cell budget or point limit): `next` continues it. */
  truncated: boolean;
  /** When truncated: pass as `cursor` with the same query to get the rest. */
  next?: string;
}

export interface TimeseriesStoreOptions {
  db: Database;
  tier: StorageTier;
  families: readonly Family[];
  logger?: Logger | undefined;
  limits?: QueryLimits | undefined;
  /** Build columnar answers that fit in one page in the database (default true; false: always row by row in Node — for comparison in tests and benches). */
  columnsInDatabase?: boolean | undefined;
  /** Columnar answers built by the database from this many cells on (cellsPerPoint) are built in two parts side by side (default SPLIT_MIN_CELLS). */
  splitMinCells?: number | undefined;
}

interface FamilyRuntime {
  family: Family;
  schema: z.ZodType;
  /** Plain insert (tried first), and the ON CONFLICT DO NOTHING form for batches that hit stored rows. */
  insert: { plain: string; skip: string };
  insertReturning: { plain: string; skip: string };
  /** The small-batch write as one statement (writeAloneSQL), without and with the nodes upsert. */
  writeAlone: { rows: string; withNodes: string };
  /** The rollup keys a write records invalidations for: the table on the postgres tier, none on TimescaleDB. */
  invalidations: readonly string[];
  fast: (row: unknown) => boolean;
  /** The one-pass reader of a JSON array of rows (ingest-scan.ts). */
  scan: RowScanner;
  partitions: PartitionCache;
}

/**
 * Columnar answers of at least this many cells (points × cellsPerPoint: the values the database
 * writes as JSON) are built in two parts side by side when two connections are free: below it,
 * a second statement's planning and connection cost about as much as it saves (docs/performance.md).
 */
export const SPLIT_MIN_CELLS = 100_000;

/**
 * The series of a database-built columnar answer as they come from its cursor, from the batch
 * already read on: `,` between series, each series' texts as their own strings (see
 * columnsSQL; chunked joins them). `before` series were written ahead of these; returns the
 * count after them.
 */
async function* seriesTexts(rows: readonly Record<string, string | null>[], rest: AsyncIterator<readonly Record<string, string | null>[]>, pieces: readonly string[], before: number): AsyncGenerator<string, number> {
  let n = before;
  for (let batch: readonly Record<string, string | null>[] | null = rows; batch !== null; ) {
    for (const r of batch) {
      if (n++ > 0) yield ',';
      for (const c of pieces) yield r[c]!;
    }
    const b = await rest.next();
    batch = b.done ? null : b.value;
  }
  return n;
}

export class TimeseriesStore {
  readonly db: Database;
  readonly tier: StorageTier;
  readonly limits: QueryLimits;
  private readonly columnsInDatabase: boolean;
  private readonly splitMinCells: number;
  private readonly logger: Logger | undefined;
  private readonly byKey = new Map<string, FamilyRuntime>();
  /** Called when retention dropped partitions (other writers' partition caches, e.g. event streams). */
  readonly onPartitionsDropped: (() => void)[] = [];
  /** family + node → sample time and role last written to nodes by this process. */
  private readonly touched = new Map<string, { time: number; role: string | null }>();

  constructor(opts: TimeseriesStoreOptions) {
    this.db = opts.db;
    this.tier = opts.tier;
    this.logger = opts.logger;
    this.limits = opts.limits ?? DEFAULT_LIMITS;
    this.columnsInDatabase = opts.columnsInDatabase ?? true;
    this.splitMinCells = opts.splitMinCells ?? SPLIT_MIN_CELLS;
    for (const f of opts.families) {
      const returning = `\nRETURNING ${RETURNING_MICROS}, ${f.identity.join(', ')}`;
      const invalidations = opts.tier === 'postgres' ? [f.table] : [];
      this.byKey.set(f.key, {
        family: f,
        schema: ingestRowSchema(f),
        insert: { plain: insertSQL(f, false), skip: insertSQL(f, true) },
        insertReturning: { plain: insertSQL(f, false) + returning, skip: insertSQL(f, true) + returning },
        writeAlone: {
          rows: writeAloneSQL(insertSQL(f, true) + returning, insertColumns(f).length, invalidations.length > 0),
          withNodes: writeAloneSQL(insertSQL(f, true) + returning, insertColumns(f).length, invalidations.length > 0, nodesUpsertSQL),
        },
        invalidations,
        fast: compileFastCheck(f),
        scan: compileRowScanner(f),
        partitions: new PartitionCache(f.table, f.partitionInterval),
      });
    }
  }

  families(): Family[] {
    return [...this.byKey.values()].map((r) => r.family);
  }

  /** Finds a family by its API key or table name. */
  family(key: string): Family {
    return this.runtime(key).family;
  }

  private runtime(key: string): FamilyRuntime {
    const rt = this.byKey.get(key) ?? [...this.byKey.values()].find((r) => r.family.table === key);
    if (!rt) {
      throw new QueryError('UNKNOWN_FAMILY', `unknown metrics family ${JSON.stringify(key)}`, { known: [...this.byKey.keys()] });
    }
    return rt;
  }

  schema(key: string): z.ZodType {
    return this.runtime(key).schema;
  }

  /** Validates rows; throws IngestValidationError before anything is written. */
  prepare(key: string, rows: readonly unknown[], opts?: ValidateOptions): ColumnBatch {
    const rt = this.runtime(key);
    return prepareBatch(rt.family, rt.schema, rows, opts, rt.fast);
  }

  /**
   * The batch of a JSON array of the family's rows in `body` (UTF-8 bytes) at `pos`, read without
   * JSON.parse (compileRowScanner); null when the family is unknown or the body is anything but a
   * batch the general path (JSON.parse, then prepare) would accept as it is — then use that path.
   */
  scanRows(key: string, body: Buffer, pos: number, maxRows: number): { batch: ColumnBatch; end: number } | null {
    const rt = this.byKey.get(key);
    return rt ? rt.scan(body, pos, maxRows) : null;
  }

  /** Validates and stores a batch in one transaction: all rows or none. */
  async ingest(key: string, rows: readonly unknown[], opts?: ValidateOptions): Promise<IngestResult> {
    const batch = this.prepare(key, rows, opts);
    const inserted = await this.db.transaction((tx) => this.writeBatch(tx, key, batch)).catch((err: unknown) => {
      this.forgetWrittenNodes();
      throw err;
    });
    return { family: this.runtime(key).family.key, received: rows.length, inserted, duplicates: rows.length - inserted };
  }

  /**
   * Writes a prepared batch inside the caller's transaction: rows, node
   * inventory, and (postgres tier) partitions and rollup invalidations.
   * Returns the number of new rows.
   */
  async writeBatch(tx: Queryable, key: string, batch: ColumnBatch): Promise<number> {
    return (await this.write(tx, key, batch, false)).count;
  }

  /** Call when a transaction holding writeBatch did not commit: its node rows may not exist. */
  forgetWrittenNodes(): void {
    this.touched.clear();
  }

  /** Like writeBatch, but returns the keys (rowKey: time µs + identity, NUL-separated) of the rows that were new. */
  async writeBatchReturningKeys(tx: Queryable, key: string, batch: ColumnBatch): Promise<Set<string>> {
    return (await this.write(tx, key, batch, true)).keys;
  }

  private async write(tx: Queryable, key: string, batch: ColumnBatch, returning: boolean): Promise<{ count: number; keys: Set<string> }> {
    const rt = this.runtime(key);
    const f = rt.family;
    if (batch.rows === 0) return { count: 0, keys: new Set() };
    if (this.tier === 'postgres') await rt.partitions.ensure(tx, batch.minTime, batch.maxTime);
    const sql = returning ? rt.insertReturning : rt.insert;
    // the binary COPY stores rows without returning them: for the writes that need no keys back
    const copy = returning ? undefined : { sql: copySQL(f), data: () => copyData(f, batch) };
    const res = await insertOnce(tx, sql, () => arrayLiterals(f, batch), rt.partitions, batch.rows, copy);
    if (res.rowCount > 0) await invalidateBuckets(tx, rt.invalidations, batch.micros);
    await this.touchNodes(tx, f, batch);
    return { count: res.rowCount, keys: returning ? newRowKeys(f, res.rows) : new Set() };
  }

  /**
   * Registers the batch's nodes (values of the family's node column; nothing for a family
   * without one) and advances last_seen/role. A node whose row this
   * process wrote less than NODE_TOUCH_MS of sample time ago, with the same role,
   * is skipped: every concurrent batch of the same nodes would otherwise update
   * (and lock until commit) the same nodes rows, serialising the writers. The cost
   * is that last_seen may lag by up to NODE_TOUCH_MS (stale needs 3 intervals).
   */
  private async touchNodes(tx: Queryable, f: Family, batch: ColumnBatch): Promise<void> {
    const entries = this.nodesToTouch(f, batch);
    if (entries.length === 0) return;
    this.markTouched(f, entries);
    await tx.query(NODES_UPSERT, nodesParams(f, entries));
  }

  /** Records the nodes rows about to be written (forgetWrittenNodes undoes it when the write fails). */
  private markTouched(f: Family, entries: readonly [string, LatestSample][]): void {
    if (this.touched.size > 100_000) this.touched.clear();
    for (const [node, e] of entries) this.touched.set(`${f.key}\u0000${node}`, { time: e.time, role: e.role });
  }

  /** The batch's nodes whose row touchNodes must write, in id order (empty for a family without a node column). */
  private nodesToTouch(f: Family, batch: ColumnBatch): [string, LatestSample][] {
    if (f.nodeColumn === null) return [];
    return [...batch.latestByNode.entries()]
      .filter(([node, e]) => {
        const known = this.touched.get(`${f.key}\u0000${node}`);
        return !known || e.time > known.time + NODE_TOUCH_MS || (e.role !== null && e.role !== known.role && e.time >= known.time);
      })
      .sort((a, b) => (a[0] < b[0] ? -1 : 1));
  }

  /**
   * A small batch written by one statement outside a transaction (writeAloneSQL: the insert, on
   * the postgres tier its rollup invalidations, and the nodes upsert when a node's row is due),
   * resolving with the keys of the new rows; null when the batch needs writeBatch's transaction:
   * more than DIRECT_SKIP_ROWS rows, or a partition not known to exist.
   */
  writeAlone(key: string, batch: ColumnBatch): Promise<Set<string>> | null {
    const rt = this.runtime(key);
    const f = rt.family;
    if (batch.rows === 0 || batch.rows > DIRECT_SKIP_ROWS) return null;
    if (this.tier === 'postgres' && !rt.partitions.covers(batch.minTime, batch.maxTime)) return null;
    const nodes = this.nodesToTouch(f, batch);
    this.markTouched(f, nodes);
    const sql = nodes.length === 0 ? rt.writeAlone.rows : rt.writeAlone.withNodes;
    return writeAlone(this.db, sql, arrayLiterals(f, batch), rt.invalidations, batch.micros, rt.partitions, nodes.length === 0 ? [] : nodesParams(f, nodes)).then(
      (res) => newRowKeys(f, res.rows),
      (err: unknown) => {
        this.forgetWrittenNodes();
        throw err;
      },
    );
  }

  /**
   * Series (distinct identities) the family has in the range, from its small daily rollup (for
   * point estimates), and the first identity value at their middle (where an answer splits in two).
   */
  private async seriesOf(f: Family, q: RangeQuery, daily: string): Promise<{ n: number; middle: string | null }> {
    const ids = f.identity.join(', ');
    const node = nodeFilterColumn(f, q.nodeIds);
    const r = await this.db.queryOne<{ n: number; middle: string | null }>(
      `SELECT count(*)::int AS n, percentile_disc(0.5) WITHIN GROUP (ORDER BY ${f.identity[0]}) AS middle FROM (SELECT DISTINCT ${ids} FROM ${daily}
         WHERE bucket >= $1 AND bucket < $2${node === null ? '' : ` AND ${node} = ANY($3::text[])`}) s`,
      [new Date(Math.floor(q.from.getTime() / 86_400_000) * 86_400_000).toISOString(), q.to.toISOString(), ...(node === null ? [] : [[...q.nodeIds!]])],
    );
    return { n: Math.max(1, r?.n ?? 1), middle: r?.middle ?? null };
  }

  /** Plans a query: the family, the plan, the series' middle (seriesOf), and how to plan one part of its series. */
  private async planFor(key: string, q: RangeQuery) {
    const f = this.runtime(key).family;
    // postgres tier: with nothing of the family pending, its rollups are read from their storage
    // tables; else through the views' branches narrowed to the columns asked (ddl.ts
    // postgresRollupSQL). PostgreSQL plans a view's live part over every raw partition, its bound
    // being known only when the query runs (ADR 0029). The storage tables then hold every bucket
    // as of the check; a row committed after it is answered by the next query, as a query that
    // started a moment earlier would not have seen it either.
    const stored = this.tier === 'postgres' && (await pendingKeys(this.db, [f.table])).size === 0;
    const series = await this.seriesOf(f, q, stored ? materializedTable(f, '1d') : f.decl.rollups['1d']);
    const relation =
      this.tier !== 'postgres' ? undefined : stored ? (level: RollupLevel) => materializedTable(f, level) : (level: RollupLevel, cols: readonly string[]) => `(\n${postgresRollupSQL(f, level, cols)}\n) r`;
    const plan = planQuery(f, q, series.n, this.limits, relation);
    const partPlan = (part: SeriesPart): QueryPlan => ({ ...planQuery(f, { ...q, resolution: plan.resolution }, series.n, this.limits, relation, part), requested: plan.requested });
    return { f, plan, middle: series.middle, partPlan };
  }

  private async openRows(key: string, q: RangeQuery, planned?: { f: Family; plan: QueryPlan }) {
    const { f, plan } = planned ?? (await this.planFor(key, q));
    const cont: Continuation = {};
    const rows = limitRows(f, plan, this.db.cursor<QueryRow>(plan.sql, plan.params, CURSOR_BATCH_ROWS), cont);
    const head = answerHead(f.key, plan, q);
    return { f, plan, cont, rows, head };
  }

  /** A range query's answer in the row form, in memory (for callers inside the process; HTTP streams queryText). */
  async query(key: string, q: RangeQuery): Promise<QueryAnswer> {
    const { f, plan, cont, rows, head } = await this.openRows(key, q);
    const idFields = f.identity.map((i, k) => [i, f.identityFields[k]!] as const);
    const points: SeriesPoint[] = [];
    for await (const batch of rows) {
      for (const r of batch) {
        const p: SeriesPoint = { timestamp: (r.t as Date).toISOString() };
        for (const [col, field] of idFields) p[field] = r[col] as string;
        for (const c of plan.columns) p[c.field] = (r[c.name] ?? null) as number | string | boolean | null;
        if (plan.resolution !== 'raw') p.samples = r.samples as number;
        points.push(p);
      }
    }
    return { ...head, points, truncated: cont.next !== undefined, ...(cont.next === undefined ? {} : { next: cont.next }) };
  }

  /**
   * A range query's answer as JSON text in chunks, in the row or the columnar form (ADR 0012),
   * read from a database cursor and written as it comes. Resolves once the first chunk is
   * ready: any refusal or database error until then rejects this call (the HTTP answer can
   * still be a problem); a later one ends the iteration with it. Ending the iteration early
   * closes the cursor.
   */
  async queryText(key: string, q: RangeQuery, format: AnswerFormat = 'rows'): Promise<AnswerText> {
    const planned = await this.planFor(key, q);
    // The database's JSON is 2-4× faster end to end than row by row, for rollups (the 1-hour
    // charts) and raw rows alike (docs/performance.md): the driver no longer parses every value
    // into a row object for Node to write back as text. An answer the row limit cuts is built
    // there too (cutColumnsSQL), with where it continues: row by row, a cut raw answer of
    // 20,000 rows cost 0.6-0.9 s of Node's CPU.
    if (format === 'columns' && this.columnsInDatabase) {
      const { f, middle, plan } = planned;
      if (plan.estimatedPoints <= plan.rowLimit) {
        // A large answer in two halves of its series, built side by side on two connections when
        // two are free (the database's JSON is most of its time), and sent one after the other.
        const cells = plan.estimatedPoints * cellsPerPoint(f, plan.columns.length, plan.resolution);
        const split = middle !== null && q.cursor === undefined && cells >= this.splitMinCells && this.db.freeConnections() >= 2;
        const parts = split ? [planned.partPlan({ below: middle }), planned.partPlan({ from: middle })] : [plan];
        const whole = await this.columnsFromDatabase(f, parts, q);
        if (whole) return whole;
      }
      return this.cutColumnsFromDatabase(f, plan, q);
    }
    const { f, plan, cont, rows, head } = await this.openRows(key, q, planned);
    const text = format === 'columns' ? columnsText(f, plan, head, rows, cont) : rowsText(f, plan, head, rows, cont);
    return primed(chunked(text));
  }

  /**
   * The columnar answer built by the database (columnsSQL), when the plan's rows fit in one
   * answer; null when they do not (the caller then takes the row-by-row path, which knows
   * where to continue). The series' texts are read from a cursor and passed on as they are.
   */
  private async columnsFromDatabase(f: Family, plans: readonly QueryPlan[], q: RangeQuery): Promise<AnswerText | null> {
    const plan = plans[0]!;
    const head = answerHead(f.key, plan, q);
    // Every part's statement starts now (each on its connection); the first batch of each says how many rows it read.
    type Row = Record<string, string> & { total: number | string };
    const statements = plans.map((p) => columnsSQL(f, p));
    const pieces = statements[0]!.pieces;
    const its = plans.map((p, k) => this.db.cursor<Row>(statements[k]!.sql, p.params, 64)[Symbol.asyncIterator]());
    const closeAll = () => Promise.all(its.map((it) => it.return?.()));
    const firsts = await Promise.allSettled(its.map((it) => it.next()));
    const failed = firsts.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await closeAll();
      throw failed.reason;
    }
    const heads = firsts.map((r) => (r as PromiseFulfilledResult<IteratorResult<Row[]>>).value);
    const read = heads.reduce((n, h) => n + (h.done || h.value.length === 0 ? 0 : Number(h.value[0]!.total)), 0);
    if (read > plan.rowLimit) {
      await closeAll();
      return null;
    }
    async function* text(): AsyncGenerator<string> {
      try {
        yield `${headText(head)},"series":[`;
        let n = 0;
        for (let k = 0; k < its.length; k++) {
          const first = heads[k]!;
          if (first.done) continue;
          n = yield* seriesTexts(first.value, its[k]!, pieces, n);
        }
        yield `]${tailText({})}`;
      } finally {
        await closeAll();
      }
    }
    return primed(chunked(text()));
  }

  /**
   * The columnar answer of a plan the row limit cuts (or may cut), built by the database
   * (cutColumnsSQL): the rows the row-by-row path returns, and `next` where it continues.
   */
  private async cutColumnsFromDatabase(f: Family, plan: QueryPlan, q: RangeQuery): Promise<AnswerText> {
    const head = answerHead(f.key, plan, q);
    const statement = cutColumnsSQL(f, plan);
    const { pieces } = statement;
    const it = this.db.cursor<Record<string, string | null>>(statement.sql, plan.params, 64)[Symbol.asyncIterator]();
    let first: IteratorResult<Record<string, string | null>[]>;
    try {
      first = await it.next();
    } catch (err) {
      await it.return?.();
      throw err;
    }
    // Every row carries the continuation. No row: an empty range, or every row read held back.
    const meta = first.done ? undefined : first.value[0];
    if (meta === undefined) {
      await it.return?.();
      const read = await this.db.queryOne<{ n: string | number }>(statement.countSQL, plan.params);
      if (Number(read?.n ?? 0) > plan.rowLimit) {
        throw sameMillisecondError(plan);
      }
    }
    const cont: Continuation = {};
    const nt = meta?.[statement.next[statement.next.length - 1]!];
    if (meta && nt !== null && nt !== undefined) {
      cont.next = encodeCursor({ resolution: plan.resolution, identity: statement.next.slice(0, -1).map((c) => String(meta[c])), time: Number(nt) });
    }
    async function* text(): AsyncGenerator<string> {
      try {
        yield `${headText(head)},"series":[`;
        if (!first.done) yield* seriesTexts(first.value, it, pieces, 0);
        yield `]${tailText(cont)}`;
      } finally {
        await it.return?.();
      }
    }
    return primed(chunked(text()));
  }

  // ---------- postgres-tier maintenance (the job runner calls these) ----------

  /** Creates partitions from now back one interval to `premake` ahead, for every partitioned table. */
  async maintainPartitions(): Promise<number> {
    const r = await this.db.queryOne<{ n: number }>(
      `SELECT coalesce(sum(opsdeck_ensure_partitions(table_name, now() - partition_interval, now() + premake)), 0)::int AS n FROM opsdeck_partitioned_tables`,
    );
    return r?.n ?? 0;
  }

  /**
   * Recomputes the rollup buckets invalidated by ingest (late rows included) for one
   * family: 5m from raw, then 1h from 5m, then 1d from 1h, in one transaction —
   * a savepoint when called inside one (the rollup-refresh job), so a family
   * whose refresh fails is rolled back alone. Deletes exactly the invalidation
   * rows it read, so rows committed meanwhile are processed by the next run.
   */
  async refreshRollups(key: string, maxRows = 20_000): Promise<{ buckets: number; more: boolean }> {
    const f = this.runtime(key).family;
    return this.db.savepoint(async (tx) => {
      const inv = await tx.queryMany<{ id: number; bucket: Date }>(
        'SELECT id, bucket FROM opsdeck_rollup_invalidations WHERE family = $1 ORDER BY id LIMIT $2',
        [f.table, maxRows],
      );
      if (inv.length === 0) return { buckets: 0, more: false };
      let buckets = [...new Set(inv.map((r) => r.bucket.getTime()))].sort((a, b) => a - b);
      const total = buckets.length;
      for (const level of ROLLUP_LEVELS) {
        const w = LEVEL_SECONDS[level] * 1000;
        buckets = [...new Set(buckets.map((b) => Math.floor(b / w) * w))].sort((a, b) => a - b);
        const { delete: del, insert } = refreshSQL(f, level);
        const iso = buckets.map((b) => new Date(b).toISOString());
        await tx.query(del, [iso]);
        await tx.query(insert, [iso, iso[0], new Date(buckets.at(-1)! + w).toISOString()]);
      }
      await tx.query('DELETE FROM opsdeck_rollup_invalidations WHERE id = ANY($1::bigint[])', [inv.map((r) => r.id)]);
      await tx.query(`UPDATE opsdeck_rollup_tables SET last_refreshed_at = now() WHERE family = $1`, [f.table]);
      return { buckets: total, more: inv.length === maxRows };
    });
  }

  /** Drops raw partitions wholly older than retention and deletes expired rollup buckets. */
  async applyRetention(): Promise<{ droppedPartitions: string[]; deletedRollupRows: number }> {
    const parts = await this.db.queryMany<{ child: string; parent: string }>(
      `SELECT c.relname AS child, p.relname AS parent
       FROM pg_inherits i
       JOIN pg_class c ON c.oid = i.inhrelid
       JOIN pg_class p ON p.oid = i.inhparent
       JOIN opsdeck_partitioned_tables t ON t.table_name = p.relname
       WHERE (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \\(''([^'']+)''\\)'))[1]::timestamptz <= now() - t.retention`,
    );
    const dropped: string[] = [];
    for (const p of parts) {
      await this.db.exec(`DROP TABLE IF EXISTS "${p.child.replace(/"/g, '""')}"`);
      dropped.push(p.child);
    }
    if (dropped.length) {
      for (const rt of this.byKey.values()) rt.partitions.clear();
      for (const listener of this.onPartitionsDropped) listener();
    }
    let deleted = 0;
    const rollups = await this.db.queryMany<{ storage_table: string; retention: string; family: string }>(
      `SELECT storage_table, retention::text AS retention, family FROM opsdeck_rollup_tables`,
    );
    for (const r of rollups) {
      const res = await this.db.query(`DELETE FROM "${r.storage_table.replace(/"/g, '""')}" WHERE bucket < now() - $1::interval`, [r.retention]);
      deleted += res.rowCount;
    }
    await this.db.query(
      `DELETE FROM opsdeck_rollup_invalidations i USING opsdeck_partitioned_tables t WHERE t.table_name = i.family AND i.bucket < now() - t.retention`,
    );
    return { droppedPartitions: dropped, deletedRollupRows: deleted };
  }
}

/**
 * Registers nodes and advances last_seen/role (never backwards), parameters from
 * `first` on: ids, roles, sample times (text), the family's sample interval in seconds.
 */
function nodesUpsertSQL(first: number): string {
  const [ids, roles, seen, interval] = [first, first + 1, first + 2, first + 3];
  return `INSERT INTO nodes (id, role, last_seen, expected_interval_seconds)
       SELECT id, role, seen, $${interval}::int FROM unnest($${ids}::text[], $${roles}::text[], $${seen}::text[]::timestamptz[]) AS x(id, role, seen)
       ON CONFLICT (id) DO UPDATE SET
         role = CASE WHEN nodes.last_seen IS NULL OR EXCLUDED.last_seen >= nodes.last_seen THEN COALESCE(EXCLUDED.role, nodes.role) ELSE nodes.role END,
         last_seen = GREATEST(nodes.last_seen, EXCLUDED.last_seen),
         expected_interval_seconds = LEAST(COALESCE(nodes.expected_interval_seconds, EXCLUDED.expected_interval_seconds), EXCLUDED.expected_interval_seconds)
       WHERE nodes.last_seen IS NULL OR nodes.last_seen < EXCLUDED.last_seen
          OR nodes.expected_interval_seconds IS NULL OR nodes.expected_interval_seconds > EXCLUDED.expected_interval_seconds`;
}

/** nodesUpsertSQL on its own (touchNodes). */
const NODES_UPSERT = nodesUpsertSQL(1);

/** The keys (rowKey) of the rows an insert returned (time_us and the identity). */
function newRowKeys(f: Family, rows: readonly Record<string, unknown>[]): Set<string> {
  const keys = new Set<string>();
  for (const r of rows) keys.add(rowKey(Number(r.time_us), f.identity.map((i) => r[i])));
  return keys;
}

/** The parameters of nodesUpsertSQL for nodesToTouch's entries. */
function nodesParams(f: Family, entries: readonly [string, LatestSample][]): unknown[] {
  return [entries.map((e) => e[0]), entries.map((e) => e[1].role), entries.map((e) => e[1].at), f.sampleSeconds];
}
