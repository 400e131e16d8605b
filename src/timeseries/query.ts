/**
 * Time-range queries over a family: bounded ranges, resolution choice and the
 * SQL for raw rows and rollup relations. Rollup relations answer with the
 * not-yet-materialized tail included on both tiers (TimescaleDB real-time
 * aggregates; views over stored rollups + pending buckets on the postgres tier),
 * so the same SQL gives the same answer everywhere.
 */
import {
  LEVEL_SECONDS,
  ROLLUP_LEVELS,
  type Family,
  type Resolution,
  type RollupLevel,
} from './family.ts';

export class QueryError extends Error {
  constructor(
    readonly code: 'INVALID_TIME_RANGE' | 'SPAN_TOO_LARGE' | 'TOO_MANY_POINTS' | 'UNKNOWN_FIELD' | 'UNKNOWN_FAMILY' | 'INVALID_CURSOR' | 'NODE_FILTER_UNSUPPORTED',
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'QueryError';
  }
}

export interface QueryLimits {
  /** Longest allowed span (seconds). */
  maxSpanSeconds: number;
  /** Most rows one answer may carry. */
  maxPoints: number;
  /** `auto` steps to a coarser level while the answer would carry more rows than this. */
  autoMaxPoints: number;
  /**
   * Most cells one answer may carry (default DEFAULT_MAX_CELLS): points × (timestamp +
   * identity fields + selected fields + `samples` on rollups). It sets the SQL LIMIT, so it
   * bounds what is read whatever the real sampling rate; a longer answer is truncated and
   * says where to continue (`next`).
   */
  maxCells?: number | undefined;
}

/** On the order of 10 MB of JSON (a 60 MB answer carried 4·10^6 cells). */
export const DEFAULT_MAX_CELLS = 500_000;

export const DEFAULT_LIMITS: QueryLimits = { maxSpanSeconds: 400 * 86400, maxPoints: 200_000, autoMaxPoints: 20_000, maxCells: DEFAULT_MAX_CELLS };

export interface RangeQuery {
  from: Date;
  to: Date;
  /** Only rows of these nodes (values of the family's node column); refused for a family without one. */
  nodeIds?: readonly string[] | undefined;
  resolution?: Resolution | 'auto' | undefined;
  /** camelCase value fields to return (default: all). */
  fields?: readonly string[] | undefined;
  /** Desired number of buckets per series for `auto` (default DEFAULT_AUTO_POINTS). */
  points?: number | undefined;
  /** `next` of a truncated answer to the same query: the answer continues from there. */
  cursor?: string | undefined;
}

/** Where a truncated answer continues: the series and time of its first row not yet returned. */
export interface QueryCursor {
  resolution: Resolution;
  identity: string[];
  /** Milliseconds since the epoch; the continuation reads (identity, time) ≥ (identity, this). */
  time: number;
}

export function encodeCursor(c: QueryCursor): string {
  return Buffer.from(JSON.stringify({ r: c.resolution, i: c.identity, t: c.time })).toString('base64url');
}

export function decodeCursor(f: Family, text: string): QueryCursor {
  const bad = () => new QueryError('INVALID_CURSOR', 'cursor is not the `next` of an answer of this family; repeat the query without it');
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  const o = v as { r?: unknown; i?: unknown; t?: unknown } | null;
  if (
    typeof o !== 'object' || o === null ||
    !(o.r === 'raw' || ROLLUP_LEVELS.includes(o.r as RollupLevel)) ||
    !Array.isArray(o.i) || o.i.length !== f.identity.length || !o.i.every((x) => typeof x === 'string') ||
    typeof o.t !== 'number' || !Number.isSafeInteger(o.t)
  ) {
    throw bad();
  }
  return { resolution: o.r as Resolution, identity: o.i as string[], time: o.t };
}

export interface QueryPlan {
  resolution: Resolution;
  requested: Resolution | 'auto';
  from: Date;
  to: Date;
  columns: { name: string; field: string }[];
  estimatedPoints: number;
  /** Most points the answer carries (the cell budget and maxPoints); the SQL reads one more to see whether there are more. */
  rowLimit: number;
  sql: string;
  params: unknown[];
}

const stepSeconds = (f: Family, r: Resolution) => (r === 'raw' ? f.sampleSeconds : LEVEL_SECONDS[r]);

function estimate(f: Family, r: Resolution, spanSeconds: number, series: number): number {
  return Math.ceil(spanSeconds / stepSeconds(f, r)) * Math.max(1, series);
}

/** Points per series that resolution=auto aims at when the request names none. */
export const DEFAULT_AUTO_POINTS = 250;

/**
 * Picks the resolution: `auto` takes the coarsest level that still gives at least
 * `points` buckets per series over the span (raw when even 5-minute buckets are
 * too coarse), then steps coarser while the whole answer (all series) would carry
 * more than `autoMaxPoints` rows.
 */
export function chooseResolution(f: Family, q: RangeQuery, series: number, limits: QueryLimits): Resolution {
  const span = (q.to.getTime() - q.from.getTime()) / 1000;
  const requested = q.resolution ?? 'auto';
  if (requested !== 'auto') {
    const est = estimate(f, requested, span, series);
    if (est > limits.maxPoints) {
      throw new QueryError(
        'TOO_MANY_POINTS',
        `resolution ${requested} over this range would return about ${est} points, more than the limit of ${limits.maxPoints}; use a coarser resolution, fewer nodes or a shorter range`,
        { estimatedPoints: est, maxPoints: limits.maxPoints },
      );
    }
    return requested;
  }
  // Prometheus's graph picks a step of range/250 by default; the same density here: a day
  // is 288 five-minute buckets (not 5,760 raw samples per node), a month 720 hours.
  const points = q.points ?? DEFAULT_AUTO_POINTS;
  const ladder: Resolution[] = ['raw', ...ROLLUP_LEVELS];
  let chosen: Resolution = 'raw';
  for (const level of [...ROLLUP_LEVELS].reverse()) {
    if (span / LEVEL_SECONDS[level] >= points) {
      chosen = level;
      break;
    }
  }
  let i = ladder.indexOf(chosen);
  const budget = Math.min(limits.autoMaxPoints, limits.maxPoints);
  while (estimate(f, ladder[i]!, span, series) > budget && i < ladder.length - 1) i++;
  return ladder[i]!;
}

export function validateRange(q: RangeQuery, limits: QueryLimits): void {
  const from = q.from.getTime();
  const to = q.to.getTime();
  if (!Number.isFinite(from) || !Number.isFinite(to)) throw new QueryError('INVALID_TIME_RANGE', 'from and to must be valid timestamps');
  if (to <= from) throw new QueryError('INVALID_TIME_RANGE', '`to` must be after `from`', { from: q.from, to: q.to });
  if ((to - from) / 1000 > limits.maxSpanSeconds) {
    throw new QueryError('SPAN_TOO_LARGE', `the range spans more than the limit of ${Math.round(limits.maxSpanSeconds / 86400)} days`, {
      maxSpanSeconds: limits.maxSpanSeconds,
    });
  }
}

function selectColumns(f: Family, fields: readonly string[] | undefined) {
  if (!fields || fields.length === 0) return f.columns.map((c) => ({ name: c.name, field: c.field }));
  const unknown = fields.filter((x) => !f.columns.some((c) => c.field === x));
  if (unknown.length) {
    throw new QueryError('UNKNOWN_FIELD', `unknown field(s) for ${f.key}: ${unknown.map((u) => JSON.stringify(u)).join(', ')}`, {
      unknown,
      known: f.columns.map((c) => c.field),
    });
  }
  return f.columns.filter((c) => fields.includes(c.field)).map((c) => ({ name: c.name, field: c.field }));
}

/** Final value of a column read from a rollup relation. */
function rollupExpr(f: Family, column: string): string {
  const c = f.columns.find((x) => x.name === column)!;
  switch (c.agg) {
    case 'avg':
      return `${column}_sum / NULLIF(${column}_count, 0)`;
    case 'sum':
      return `${column}_sum`;
    case 'min':
      return `${column}_min`;
    case 'max':
      return `${column}_max`;
    case 'count':
      return `${column}_count`;
    case 'last':
      return `${column}_last`;
  }
}

/**
 * The column a node filter applies to: the family's node column, or null when the query has
 * no node filter. A node filter on a family without a node column is NODE_FILTER_UNSUPPORTED.
 */
export function nodeFilterColumn(f: Family, nodeIds: readonly string[] | undefined): string | null {
  if (!nodeIds?.length) return null;
  if (f.nodeColumn === null) {
    throw new QueryError('NODE_FILTER_UNSUPPORTED', `family ${f.key} has no node column: its rows cannot be filtered by node (identity: ${f.identityFields.join(', ')})`, {
      identity: [...f.identityFields],
    });
  }
  return f.nodeColumn;
}

/** Cells of one point: timestamp, identity fields, selected fields, and `samples` on rollups. */
export function cellsPerPoint(f: Family, fields: number, resolution: Resolution): number {
  return 1 + f.identity.length + fields + (resolution === 'raw' ? 0 : 1);
}

/**
 * The relation a rollup level is read from, given the rollup columns the query needs: the
 * declared name by default; the postgres tier passes the same relation narrowed to those
 * columns (ddl.ts postgresRollupSQL).
 */
export type RollupRelation = (level: RollupLevel, rollupColumns: readonly string[]) => string;

/** One part of an answer's series: those whose first identity value is ≥ `from` and < `below`. */
export interface SeriesPart {
  from?: string;
  below?: string;
}

export function planQuery(f: Family, q: RangeQuery, series: number, limits: QueryLimits = DEFAULT_LIMITS, relation?: RollupRelation, part?: SeriesPart): QueryPlan {
  validateRange(q, limits);
  const nodeColumn = nodeFilterColumn(f, q.nodeIds);
  const columns = selectColumns(f, q.fields);
  const cursor = q.cursor === undefined ? null : decodeCursor(f, q.cursor);
  if (cursor && q.resolution !== undefined && q.resolution !== 'auto' && q.resolution !== cursor.resolution) {
    throw new QueryError('INVALID_CURSOR', `the cursor continues a ${cursor.resolution} answer, not ${q.resolution}`);
  }
  // a continuation keeps the resolution of the answer it continues
  const resolution = cursor ? cursor.resolution : chooseResolution(f, q, series, limits);
  const span = (q.to.getTime() - q.from.getTime()) / 1000;
  const maxCells = limits.maxCells ?? DEFAULT_MAX_CELLS;
  const rowLimit = Math.min(limits.maxPoints, Math.max(1, Math.floor(maxCells / cellsPerPoint(f, columns.length, resolution))));
  const ids = f.identity;
  const params: unknown[] = [];
  const p = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  const where: string[] = [];
  const timeCol = resolution === 'raw' ? 'time' : 'bucket';
  if (resolution === 'raw') {
    where.push(`time >= ${p(q.from.toISOString())}`, `time < ${p(q.to.toISOString())}`);
  } else {
    const width = LEVEL_SECONDS[resolution] * 1000;
    // Buckets overlapping [from, to): start from the bucket that contains `from`.
    const start = new Date(Math.floor(q.from.getTime() / width) * width);
    where.push(`bucket >= ${p(start.toISOString())}`, `bucket < ${p(q.to.toISOString())}`);
  }
  if (nodeColumn !== null) where.push(`${nodeColumn} = ANY(${p([...q.nodeIds!])}::text[])`);
  if (part?.from !== undefined) where.push(`${ids[0]} >= ${p(part.from)}::text`);
  if (part?.below !== undefined) where.push(`${ids[0]} < ${p(part.below)}::text`);
  if (cursor) {
    // rows come series-major (identity, then time): continue at the first row not yet returned
    where.push(`(${[...ids, timeCol].join(', ')}) >= (${[...cursor.identity.map((v) => `${p(v)}::text`), `${p(new Date(cursor.time).toISOString())}::timestamptz`].join(', ')})`);
  }
  const limit = p(rowLimit + 1);
  let sql: string;
  if (resolution === 'raw') {
    sql = `SELECT time AS t, ${[...ids, ...columns.map((c) => c.name)].join(', ')}\nFROM ${f.table}\nWHERE ${where.join(' AND ')}\nORDER BY ${ids.join(', ')}, time\nLIMIT ${limit}`;
  } else {
    const exprs = columns.map((c) => `${rollupExpr(f, c.name)} AS ${c.name}`);
    const needed = f.rollupColumns.filter((r) => columns.some((c) => c.name === r.source)).map((r) => r.name);
    const from = relation ? relation(resolution, needed) : f.decl.rollups[resolution];
    sql = `SELECT bucket AS t, ${[...ids, ...exprs, 'samples'].join(', ')}\nFROM ${from}\nWHERE ${where.join(' AND ')}\nORDER BY ${ids.join(', ')}, bucket\nLIMIT ${limit}`;
  }
  return {
    resolution,
    requested: q.resolution ?? 'auto',
    from: q.from,
    to: q.to,
    columns,
    estimatedPoints: estimate(f, resolution, span, series),
    rowLimit,
    sql,
    params,
  };
}

/** The columnar answer's statement (columnsSQL) and the columns whose texts, in order, make a series' text. */
export interface ColumnsStatement {
  sql: string;
  pieces: readonly string[];
}

/**
 * The columnar answer of a plan built by the database: one row per series, whose columns
 * `pieces` hold the JSON text of that series' entry in order
 * (`{"identity":{…},"time":[…],"fields":{…},"samples":[…]}`: one column per array, each with
 * the constant text before it), with `total`, the number of rows the plan read, on every row.
 * Node then copies text instead of parsing every row into objects and writing it again (most
 * of a large chart's time). The texts stay apart because a JavaScript string over V8's
 * regular object size (~128 KiB) is allocated in fresh pages: a 250-KB series decoded whole
 * cost ~4.4 ns per byte here, in pieces ~0.2 (and it fed the collector's old generation).
 * This statement answers only when nothing is cut: when `total` exceeds the plan's row limit
 * the caller runs cutColumnsSQL's instead, which also says where the answer continues.
 * Times are epoch milliseconds rounded down, as the row path's JavaScript dates are; numbers
 * are PostgreSQL's shortest exact text of the same doubles.
 */
export function columnsSQL(f: Family, plan: QueryPlan): ColumnsStatement {
  const { columns, pieces } = seriesColumns(f, plan);
  const ids = f.identity;
  const sql = `WITH q AS (\n${plan.sql}\n)\nSELECT ${columns.map((c, k) => `${c} AS ${pieces[k]}`).join(',\n  ')},
  (sum(count(*)) OVER ())::bigint AS total
FROM q GROUP BY ${ids.join(', ')} ORDER BY ${ids.join(', ')}`;
  return { sql, pieces };
}

/** The statement of an answer the row limit cuts (cutColumnsSQL) and the columns it answers in. */
export interface CutColumnsStatement extends ColumnsStatement {
  /** Columns of the first row not returned, on every row (null when nothing is cut): its identity values, then its time (epoch ms). */
  next: readonly string[];
  /** The rows the plan reads (`n`, at most its row limit + 1): asked only when `sql` answers no row. */
  countSQL: string;
}

/**
 * The columnar answer of a plan that the row limit may cut, built by the database: the same
 * series text as columnsSQL, of the rows the row-by-row path (answer.ts limitRows) returns,
 * and where the answer continues. The plan reads one row more than its limit; when that row
 * exists it is the first row not returned, and the rows of its series in its millisecond
 * (answer times have millisecond precision; a continuation reads (identity, time) ≥ that)
 * are left to the continuation too. Every row carries that row's identity and millisecond
 * (`next`, null when nothing is cut), floored as the answer's times are. No row at all
 * means an empty range or every row held back (`countSQL` tells them apart).
 */
export function cutColumnsSQL(f: Family, plan: QueryPlan): CutColumnsStatement {
  const { columns, pieces } = seriesColumns(f, plan);
  const ids = f.identity;
  const next = [...ids.map((_, k) => `n${k}`), 'nt'];
  const limit = plan.rowLimit;
  // r: the plan's rows numbered in their order (already sorted by the plan: no second sort);
  // x: the first row not returned; a: the series of the rows returned.
  const sql = `WITH r AS (
  SELECT q.*, row_number() OVER (ORDER BY ${[...ids, 't'].map((c) => `q.${c}`).join(', ')}) AS rn
  FROM (\n${plan.sql}\n) q
),
x AS (SELECT ${ids.join(', ')}, t FROM r WHERE rn = ${limit + 1}),
a AS (
  SELECT ${ids.join(', ')}, ${columns.map((c, k) => `${c} AS ${pieces[k]}`).join(',\n  ')}
  FROM r
  WHERE rn <= ${limit}
    AND NOT EXISTS (SELECT 1 FROM x WHERE ${ids.map((c) => `x.${c} = r.${c}`).join(' AND ')} AND r.t >= date_trunc('milliseconds', x.t))
  GROUP BY ${ids.join(', ')}
)
SELECT ${pieces.join(', ')},
  ${ids.map((c, k) => `(SELECT ${c} FROM x) AS ${next[k]}`).join(', ')}, (SELECT floor(extract(epoch FROM t) * 1000)::bigint FROM x) AS nt
FROM a ORDER BY ${ids.join(', ')}`;
  return { sql, pieces, next, countSQL: `SELECT count(*)::bigint AS n FROM (\n${plan.sql}\n) q` };
}

/** The expressions of a series' text (one per array, each with the constant text before it) and their column names. */
function seriesColumns(f: Family, plan: QueryPlan): { columns: string[]; pieces: string[] } {
  const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;
  // array_to_json writes `[1,2]` where json_agg writes `[1, 2]`: ~7 % fewer bytes for the same
  // work in the database (docs/performance.md)
  const agg = (expr: string) => `coalesce(array_to_json(array_agg(${expr} ORDER BY t))::text, '[]')`;
  // The pieces of a series' text in order: constant text as JS strings, SQL expressions as { sql }.
  const parts: (string | { sql: string })[] = ['{"identity":{'];
  f.identity.forEach((c, k) => parts.push(`${k === 0 ? '' : ','}${JSON.stringify(f.identityFields[k]!)}:`, { sql: `to_json(${c})::text` }));
  // Epoch milliseconds. A rollup bucket starts on a whole second (BUCKET_ORIGIN plus whole
  // levels), so the double of date_part converts exactly, without the numeric arithmetic of
  // extract (a 72,100-point chart took 169 instead of 233 ms in the database); raw times keep
  // the exact numeric floor, their microseconds being arbitrary.
  const time = plan.resolution === 'raw' ? 'floor(extract(epoch FROM t) * 1000)::bigint' : "(date_part('epoch', t) * 1000)::bigint";
  parts.push('},"time":', { sql: agg(time) }, ',"fields":{');
  plan.columns.forEach((c, k) => parts.push(`${k === 0 ? '' : ','}${JSON.stringify(c.field)}:`, { sql: agg(c.name) }));
  parts.push('}');
  if (plan.resolution !== 'raw') parts.push(',"samples":', { sql: agg('samples') });
  parts.push('}');
  // One column per expression, with the constant text before it; the text after the last
  // expression ends the last column.
  const columns: string[] = [];
  let text = '';
  for (const x of parts) {
    if (typeof x === 'string') text += x;
    else {
      columns.push(text ? `concat(${lit(text)}, ${x.sql})` : x.sql);
      text = '';
    }
  }
  if (text) columns[columns.length - 1] = `concat(${columns[columns.length - 1]}, ${lit(text)})`;
  return { columns, pieces: columns.map((_, k) => `s${k}`) };
}
