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
    readonly code: 'INVALID_TIME_RANGE' | 'SPAN_TOO_LARGE' | 'TOO_MANY_POINTS' | 'UNKNOWN_FIELD' | 'UNKNOWN_FAMILY',
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
}

export const DEFAULT_LIMITS: QueryLimits = { maxSpanSeconds: 400 * 86400, maxPoints: 200_000, autoMaxPoints: 20_000 };

export interface RangeQuery {
  from: Date;
  to: Date;
  nodeIds?: readonly string[] | undefined;
  resolution?: Resolution | 'auto' | undefined;
  /** camelCase value fields to return (default: all). */
  fields?: readonly string[] | undefined;
  /** Desired number of buckets per series for `auto` (default 300). */
  points?: number | undefined;
}

export interface QueryPlan {
  resolution: Resolution;
  requested: Resolution | 'auto';
  from: Date;
  to: Date;
  columns: { name: string; field: string }[];
  estimatedPoints: number;
  sql: string;
  params: unknown[];
}

const stepSeconds = (f: Family, r: Resolution) => (r === 'raw' ? f.sampleSeconds : LEVEL_SECONDS[r]);

function estimate(f: Family, r: Resolution, spanSeconds: number, series: number): number {
  return Math.ceil(spanSeconds / stepSeconds(f, r)) * Math.max(1, series);
}

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
  const points = q.points ?? 300;
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

export function planQuery(f: Family, q: RangeQuery, series: number, limits: QueryLimits = DEFAULT_LIMITS): QueryPlan {
  validateRange(q, limits);
  const columns = selectColumns(f, q.fields);
  const resolution = chooseResolution(f, q, series, limits);
  const span = (q.to.getTime() - q.from.getTime()) / 1000;
  const ids = f.identity;
  const params: unknown[] = [];
  const where: string[] = [];
  let sql: string;
  if (resolution === 'raw') {
    params.push(q.from.toISOString(), q.to.toISOString());
    where.push('time >= $1', 'time < $2');
    if (q.nodeIds?.length) {
      params.push([...q.nodeIds]);
      where.push(`node_id = ANY($3::text[])`);
    }
    params.push(limits.maxPoints + 1);
    sql = `SELECT time AS t, ${[...ids, ...columns.map((c) => c.name)].join(', ')}\nFROM ${f.table}\nWHERE ${where.join(' AND ')}\nORDER BY ${ids.join(', ')}, time\nLIMIT $${params.length}`;
  } else {
    const level = resolution as RollupLevel;
    const width = LEVEL_SECONDS[level] * 1000;
    // Buckets overlapping [from, to): start from the bucket that contains `from`.
    const start = new Date(Math.floor(q.from.getTime() / width) * width);
    params.push(start.toISOString(), q.to.toISOString());
    where.push('bucket >= $1', 'bucket < $2');
    if (q.nodeIds?.length) {
      params.push([...q.nodeIds]);
      where.push(`node_id = ANY($3::text[])`);
    }
    params.push(limits.maxPoints + 1);
    const exprs = columns.map((c) => `${rollupExpr(f, c.name)} AS ${c.name}`);
    sql = `SELECT bucket AS t, ${[...ids, ...exprs, 'samples'].join(', ')}\nFROM ${f.decl.rollups[level]}\nWHERE ${where.join(' AND ')}\nORDER BY ${ids.join(', ')}, bucket\nLIMIT $${params.length}`;
  }
  return {
    resolution,
    requested: q.resolution ?? 'auto',
    from: q.from,
    to: q.to,
    columns,
    estimatedPoints: estimate(f, resolution, span, series),
    sql,
    params,
  };
}
