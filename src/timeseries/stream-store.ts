/**
 * The event-stream service: validated, idempotent, group-committed ingest;
 * time-bounded keyset-paged event lists; stats over the rollups (with the
 * not-yet-materialized tail read from raw events on both tiers); and, on the
 * postgres tier, the rollup refresh TimescaleDB's policies do on the other.
 * Framework-free: routes and jobs call into it; refusals are domain errors.
 */
import type { Logger } from 'pino';
import type { Database, Queryable } from '../db/database.ts';
import type { StorageTier } from '../db/tier.ts';
import { InvalidError, NotFoundError } from '../domain/errors.ts';
import { BUCKET_ORIGIN_MS, intervalSeconds, LEVEL_SECONDS, type RollupLevel } from './family.ts';
import { rowKey } from './store.ts';
import { microsIso, normalizeTimestamp } from './ingest.ts';
import { GroupCommit } from './coalescer.ts';
import { PartitionCache } from './partitions.ts';
import { DIRECT_SKIP_ROWS, insertOnce, invalidateBuckets, writeAlone, writeAloneSQL } from './write.ts';
import type { Stream, StreamColumn, StreamMeasure, StreamRollup } from './stream.ts';
import { rollupStorage, streamRefreshSQL } from './stream-ddl.ts';
import { readRollups } from './rollup-source.ts';
import {
  compileStreamFastCheck,
  mergeEventBatches,
  prepareEvents,
  streamArrayLiterals,
  streamColumnSchema,
  streamEventSchema,
  streamInsertSQL,
  type EventBatch,
  type StreamValidateOptions,
} from './stream-ingest.ts';
import type { z } from 'zod';


export interface StreamIngestResult {
  stream: string;
  received: number;
  inserted: number;
  duplicates: number;
}

export interface StreamListQuery {
  from: Date;
  to: Date;
  /** camelCase dimension field → accepted values (any of them). */
  filters?: Readonly<Record<string, readonly string[]>>;
  limit?: number;
  cursor?: string | undefined;
}

export interface StreamListAnswer {
  stream: string;
  from: string;
  to: string;
  items: Record<string, unknown>[];
  /** Pass as `cursor` with the same query for the next (older) page; absent on the last page. */
  next?: string;
}

export interface StreamStatsQuery {
  from: Date;
  to: Date;
  resolution?: RollupLevel | 'auto';
  /** camelCase dimension fields to group by (default: the stream's statsGroupBy). */
  groupBy?: readonly string[] | undefined;
  filters?: Readonly<Record<string, readonly string[]>>;
  /**
   * camelCase measure fields to compute (default: every measure of the rollup but the
   * quantiles, whose histogram merge costs far more than sums and counts).
   */
  measures?: readonly string[] | undefined;
  /**
   * One bucket for the whole window per group (its `bucket` is the window's start rounded
   * down to the rollup's level): measures merged over every bucket read, so a p95 over a week
   * comes from the merged histograms, not from averaging hourly ones.
   */
  collapse?: boolean;
  /**
   * One of `groupBy`, a dimension with declared values, whose groups become one object per
   * measure instead of one row each: every measure (counts and sums only) answers
   * `{ value: total }` for each declared value (0 where none), so a bucket and the other groups
   * come back as one row — several times fewer rows to read, parse and send (a timeline of
   * event types per node: 1 row instead of 7). Same rollup rows, same totals.
   */
  spread?: string | undefined;
}

export interface StreamStatsAnswer {
  stream: string;
  /** The rollup at the answer's resolution. */
  rollup: string;
  /** A collapsed answer stitched from several rollups: which one read which part of the window, in time order. */
  rollups?: { rollup: string; from: string; to: string }[];
  resolution: RollupLevel;
  requestedResolution: RollupLevel | 'auto';
  from: string;
  to: string;
  groupBy: string[];
  /** The spread dimension, when asked: each measure of a row is an object of its values' totals. */
  spread?: string;
  measures: string[];
  buckets: Record<string, unknown>[];
  truncated: boolean;
}

export interface StreamLimits {
  listMaxLimit: number;
  /** Longest stats window (seconds). */
  statsMaxSpanSeconds: number;
  /** resolution=auto picks the finest level with at most this many buckets in the window. */
  statsAutoBuckets: number;
  /** Most rows one stats answer carries. */
  statsMaxRows: number;
}

export const DEFAULT_STREAM_LIMITS: StreamLimits = { listMaxLimit: 1000, statsMaxSpanSeconds: 731 * 86400, statsAutoBuckets: 500, statsMaxRows: 50_000 };

interface StreamRuntime {
  stream: Stream;
  schema: z.ZodObject;
  fast: (row: unknown) => boolean;
  insert: { plain: string; skip: string };
  /** The small-batch write as one statement (writeAloneSQL). */
  writeAlone: string;
  /** The rollup keys a write records invalidations for: the stream's rollups on the postgres tier (Opsdeck's refresh job keeps them), none on TimescaleDB. */
  invalidations: readonly string[];
  partitions: PartitionCache;
  dimensionSchemas: Map<string, { column: StreamColumn; schema: z.ZodType }>;
}

export interface StreamStoreOptions {
  db: Database;
  tier: StorageTier;
  streams: readonly Stream[];
  logger?: Logger | undefined;
  limits?: Partial<StreamLimits>;
  /** Batches up to this many events are group-committed with concurrent ones (default 500). */
  smallBatchRows?: number;
  maxGroupRows?: number;
  maxInFlight?: number;
}

export class StreamStore {
  readonly db: Database;
  readonly tier: StorageTier;
  readonly limits: StreamLimits;
  private readonly byKey = new Map<string, StreamRuntime>();
  /** Group commit of concurrent small batches, per stream. */
  private readonly writer: GroupCommit<EventBatch>;

  constructor(opts: StreamStoreOptions) {
    this.db = opts.db;
    this.tier = opts.tier;
    this.limits = { ...DEFAULT_STREAM_LIMITS, ...opts.limits };
    this.writer = new GroupCommit<EventBatch>(
      {
        db: this.db,
        writeCount: async (tx, key, b) => (await this.writeBatch(tx, this.runtime(key), b)).size,
        writeKeys: (tx, key, b) => this.writeBatch(tx, this.runtime(key), b),
        keysOf: (_key, b) => b.keys,
        merge: mergeEventBatches,
        writeAlone: (key, b) => this.writeAlone(this.runtime(key), b),
      },
      { smallBatchRows: opts.smallBatchRows ?? 500, maxGroupRows: opts.maxGroupRows ?? 5000, maxInFlight: opts.maxInFlight ?? 2 },
    );
    for (const s of opts.streams) {
      const invalidations = this.tier === 'postgres' ? s.rollups.map((r) => r.name) : [];
      this.byKey.set(s.key, {
        stream: s,
        schema: streamEventSchema(s),
        fast: compileStreamFastCheck(s),
        insert: { plain: streamInsertSQL(s, false), skip: streamInsertSQL(s, true) },
        writeAlone: writeAloneSQL(streamInsertSQL(s, true), 1 + s.columns.length, invalidations.length > 0),
        invalidations,
        partitions: new PartitionCache(s.table, s.partitionInterval),
        dimensionSchemas: new Map(s.dimensions.map((c) => [c.field, { column: c, schema: streamColumnSchema(c) }])),
      });
    }
  }

  streams(): Stream[] {
    return [...this.byKey.values()].map((r) => r.stream);
  }

  stream(key: string): Stream {
    return this.runtime(key).stream;
  }

  private runtime(key: string): StreamRuntime {
    const rt = this.byKey.get(key) ?? [...this.byKey.values()].find((r) => r.stream.table === key);
    if (!rt) throw new NotFoundError('UNKNOWN_STREAM', `unknown event stream ${JSON.stringify(key)}`, { known: [...this.byKey.keys()] });
    return rt;
  }

  /** Forget known partitions (retention dropped some). */
  partitionsDropped(): void {
    for (const rt of this.byKey.values()) rt.partitions.clear();
  }

  // ---------- ingest ----------

  /** Validates every event; throws InvalidError (paths `<index>.<field>`) before anything is written. */
  prepare(key: string, events: readonly unknown[], opts?: StreamValidateOptions): EventBatch {
    const rt = this.runtime(key);
    return prepareEvents(rt.stream, rt.schema, events, opts, rt.fast);
  }

  /**
   * Validates and stores events: all or none, a retried batch stores nothing twice,
   * and the promise resolves only after the transaction holding them committed.
   * Small batches from concurrent callers share one transaction (group commit).
   */
  async ingest(key: string, events: readonly unknown[], opts?: StreamValidateOptions): Promise<StreamIngestResult> {
    const rt = this.runtime(key);
    const batch = this.prepare(key, events, opts);
    const inserted = batch.rows === 0 ? 0 : await this.writer.write(rt.stream.key, batch);
    return { stream: rt.stream.key, received: events.length, inserted, duplicates: events.length - inserted };
  }

  /** Writes a prepared batch in the caller's transaction; returns the keys of the events that were new. */
  private async writeBatch(tx: Queryable, rt: StreamRuntime, batch: EventBatch): Promise<Set<string>> {
    const s = rt.stream;
    if (this.tier === 'postgres') await rt.partitions.ensure(tx, batch.minTime, batch.maxTime);
    const params = streamArrayLiterals(s, batch);
    const res = await insertOnce(tx, rt.insert, () => params, rt.partitions, batch.rows);
    if (res.rowCount > 0) await invalidateBuckets(tx, rt.invalidations, batch.micros);
    return eventKeys(s, res.rows);
  }

  /**
   * A small batch written by one statement outside a transaction (writeAloneSQL: the insert and,
   * on the postgres tier, its rollup invalidations), resolving with the keys of the new events;
   * null when it needs writeBatch's transaction: more than DIRECT_SKIP_ROWS events or a
   * partition not known to exist.
   */
  private writeAlone(rt: StreamRuntime, batch: EventBatch): Promise<Set<string>> | null {
    const s = rt.stream;
    if (batch.rows === 0 || batch.rows > DIRECT_SKIP_ROWS) return null;
    if (this.tier === 'postgres' && !rt.partitions.covers(batch.minTime, batch.maxTime)) return null;
    return writeAlone(this.db, rt.writeAlone, streamArrayLiterals(s, batch), rt.invalidations, batch.micros, rt.partitions).then((res) => eventKeys(s, res.rows));
  }

  // ---------- queries ----------

  private window(s: Stream, from: Date, to: Date, maxSeconds: number, what: string): void {
    if (!(to.getTime() > from.getTime())) throw new InvalidError('INVALID_TIME_RANGE', '`to` must be after `from`', [{ path: 'to', message: 'must be after `from`' }]);
    if ((to.getTime() - from.getTime()) / 1000 > maxSeconds) {
      throw new InvalidError('WINDOW_TOO_LARGE', `a ${what} of ${s.key} events covers at most ${Math.round(maxSeconds / 86400)} days`, [
        { path: 'from', message: `window longer than ${Math.round(maxSeconds / 86400)} days` },
      ], { maxSeconds });
    }
  }

  /** WHERE terms for dimension filters (validated against each column's declaration). */
  private filterTerms(rt: StreamRuntime, filters: Readonly<Record<string, readonly string[]>> | undefined, p: (v: unknown) => string, allowed?: readonly string[]): string[] {
    const terms: string[] = [];
    for (const [field, values] of Object.entries(filters ?? {})) {
      const d = rt.dimensionSchemas.get(field);
      if (!d || (allowed && !allowed.includes(d.column.name))) {
        throw new InvalidError('UNKNOWN_DIMENSION', `${field} is not a dimension${allowed ? ' of any rollup this query can read' : ''} of ${rt.stream.key} events`, [{ path: field, message: 'unknown dimension' }], {
          dimensions: allowed ? rt.stream.dimensions.filter((c) => allowed.includes(c.name)).map((c) => c.field) : [...rt.dimensionSchemas.keys()],
        });
      }
      const c = d.column;
      const parsed = values.map((raw) => {
        const v = c.type === 'smallint' || c.type === 'integer' || c.type === 'bigint' || c.type === 'double' ? Number(raw) : c.type === 'boolean' ? raw === 'true' ? true : raw === 'false' ? false : raw : raw;
        const r = d.schema.safeParse(v);
        if (!r.success) throw new InvalidError('INVALID_FILTER', `${field}: ${r.error.issues[0]?.message ?? 'invalid value'}`, [{ path: field, message: r.error.issues[0]?.message ?? 'invalid value' }]);
        return c.lowercase && typeof r.data === 'string' ? r.data.toLowerCase() : r.data;
      });
      terms.push(`${c.name} = ANY(${p(parsed.map(String))}::${c.type === 'double' ? 'double precision' : c.type}[])`);
    }
    return terms;
  }

  /** Events in [from, to), newest first, filtered by dimensions, keyset-paged. */
  async list(key: string, q: StreamListQuery): Promise<StreamListAnswer> {
    const rt = this.runtime(key);
    const s = rt.stream;
    this.window(s, q.from, q.to, intervalSeconds(s.decl.maxListWindow), 'list');
    const limit = Math.min(q.limit ?? 100, this.limits.listMaxLimit);
    const params: unknown[] = [];
    const p = (v: unknown) => {
      params.push(v);
      return `$${params.length}`;
    };
    const keyCols = s.decl.idempotencyKey;
    const where = [`time >= ${p(q.from.toISOString())}::timestamptz`, `time < ${p(q.to.toISOString())}::timestamptz`, ...this.filterTerms(rt, q.filters, p)];
    if (q.cursor !== undefined) {
      const c = decodeListCursor(q.cursor, keyCols.length);
      keyCols.forEach((k, i) => {
        if (!streamColumnSchema(s.byName.get(k)!).safeParse(c.k[i]).success) throw invalidCursor();
      });
      where.push(`(time, ${keyCols.join(', ')}) < (${p(microsIso(c.t))}::timestamptz, ${keyCols.map((k, i) => `${p(c.k[i])}::${s.byName.get(k)!.type === 'double' ? 'double precision' : s.byName.get(k)!.type}`).join(', ')})`);
    }
    const order = ['time DESC', ...keyCols.map((k) => `${k} DESC`)].join(', ');
    const cols = s.columns.map((c) => (c.type === 'inet' ? `host(${c.name}) AS ${c.name}` : c.type === 'uuid' ? `${c.name}::text AS ${c.name}` : c.name));
    const rows = await this.db.queryMany<Record<string, unknown>>(
      `SELECT (extract(epoch FROM time) * 1000000)::bigint AS time_us, ${cols.join(', ')} FROM ${s.table}\nWHERE ${where.join(' AND ')}\nORDER BY ${order}\nLIMIT ${limit + 1}`,
      params,
    );
    let next: string | undefined;
    if (rows.length > limit) {
      rows.length = limit;
      const last = rows[limit - 1]!;
      next = encodeListCursor(Number(last.time_us), keyCols.map((k) => String(last[k])));
    }
    const items = rows.map((r) => {
      const e: Record<string, unknown> = { timestamp: microsIso(Number(r.time_us)) };
      for (const c of s.columns) {
        const v = r[c.name];
        e[c.field] = v === null || v === undefined ? null : v instanceof Date ? v.toISOString() : c.type === 'bigint' ? Number(v) : v;
      }
      return e;
    });
    return { stream: s.key, from: q.from.toISOString(), to: q.to.toISOString(), items, ...(next === undefined ? {} : { next }) };
  }

  /** Buckets of a rollup over [from, to), grouped by the asked dimensions, measures merged exactly. */
  async stats(key: string, q: StreamStatsQuery): Promise<StreamStatsAnswer> {
    const rt = this.runtime(key);
    const s = rt.stream;
    if (s.rollups.length === 0) throw new InvalidError('NO_ROLLUPS', `${s.key} events have no rollups`);
    this.window(s, q.from, q.to, this.limits.statsMaxSpanSeconds, 'stats query');
    const groupFields = q.groupBy ?? s.decl.statsGroupBy.map((g) => s.byName.get(g)!.field);
    const groupCols = groupFields.map((f) => {
      const d = rt.dimensionSchemas.get(f);
      if (!d) throw new InvalidError('UNKNOWN_DIMENSION', `groupBy: ${f} is not a dimension of ${s.key} events`, [{ path: 'groupBy', message: `unknown dimension ${f}` }], { dimensions: [...rt.dimensionSchemas.keys()] });
      return d.column.name;
    });
    let spread: { field: string; column: string; values: readonly string[] } | null = null;
    if (q.spread !== undefined) {
      const d = rt.dimensionSchemas.get(q.spread);
      if (!d?.column.values || !groupFields.includes(q.spread)) {
        throw new InvalidError('INVALID_SPREAD', `spread: ${q.spread} must be one of groupBy and a dimension with declared values`, [{ path: 'spread', message: 'not a grouped dimension with declared values' }]);
      }
      spread = { field: q.spread, column: d.column.name, values: d.column.values };
    }
    const filterCols = Object.keys(q.filters ?? {}).map((f) => rt.dimensionSchemas.get(f)?.column.name ?? f);
    const needed = [...new Set([...groupCols, ...filterCols])];
    const asked = q.measures ?? [];
    const fitsDimensions = (r: StreamRollup) => needed.every((c) => r.groupBy.includes(c)) && readable(r, filterCols);
    const hasMeasures = (r: StreamRollup) => asked.every((f) => r.measures.some((m) => m.field === f));
    // A measure no rollup of these dimensions has is refused below (UNKNOWN_MEASURE), naming the measures of the one read.
    const fits = s.rollups.some((r) => fitsDimensions(r) && hasMeasures(r)) ? (r: StreamRollup) => fitsDimensions(r) && hasMeasures(r) : fitsDimensions;
    // Between rollups of one level and as many dimensions: the first declared, and between twins
    // (the same dimensions): with measures named, the narrowest that has them (fewest stored
    // columns: a counts-only twin before its twin with histograms); with none named, the one
    // with the most measures, whose non-quantile measures are the answer's.
    const breadth = (r: StreamRollup) => (q.measures ? r.storage.length : -r.measures.length);
    const order = (a: StreamRollup, b: StreamRollup) => a.twinGroup - b.twinGroup || breadth(a) - breadth(b);
    const requested = q.resolution ?? 'auto';
    const span = (q.to.getTime() - q.from.getTime()) / 1000;
    let rollup: StreamRollup | undefined;
    if (requested !== 'auto') {
      const atLevel = s.rollups.filter((r) => r.level === requested);
      if (atLevel.length === 0) throw new InvalidError('NO_ROLLUP_AT_RESOLUTION', `${s.key} events have no ${requested} rollup`, [{ path: 'resolution', message: `no ${requested} rollup` }], { levels: [...new Set(s.rollups.map((r) => r.level))] });
      rollup = atLevel.filter(fits).sort((a, b) => a.groupBy.length - b.groupBy.length || order(a, b))[0];
      if (!rollup) {
        const missing = needed.filter((c) => !atLevel.some((r) => r.groupBy.includes(c))).map((c) => s.byName.get(c)!.field);
        throw new InvalidError('UNKNOWN_DIMENSION', `the ${requested} rollup of ${s.key} events is not grouped by ${missing.join(', ')}`, missing.map((m) => ({ path: m, message: `not a dimension of the ${requested} rollup` })), {
          dimensions: atLevel.flatMap((r) => r.groupBy.map((g) => s.byName.get(g)!.field)),
        });
      }
    } else {
      // finest level first; at one level, the rollup with the fewest dimensions (fewest rows)
      const candidates = s.rollups.filter(fits).sort((a, b) => LEVEL_SECONDS[a.level] - LEVEL_SECONDS[b.level] || a.groupBy.length - b.groupBy.length || order(a, b));
      if (candidates.length === 0) {
        const all = new Set(s.rollups.flatMap((r) => r.groupBy));
        const unknown = needed.filter((c) => !all.has(c));
        const names = (unknown.length ? unknown : needed).map((c) => s.byName.get(c)?.field ?? c);
        throw new InvalidError('UNKNOWN_DIMENSION', `no rollup of ${s.key} events is grouped by ${names.join(', ')} together`, names.map((n) => ({ path: n, message: 'no rollup has this dimension with the others asked' })));
      }
      // A series: the finest level with at most statsAutoBuckets buckets in the window. A collapsed
      // answer (one row per group, no series): the finest level of the smallest rollups that fit,
      // because its edges are read at that level (see stitch) and a rollup with more dimensions
      // holds many more rows per bucket.
      rollup = q.collapse
        ? [...candidates].sort((a, b) => a.groupBy.length - b.groupBy.length || LEVEL_SECONDS[a.level] - LEVEL_SECONDS[b.level] || order(a, b))[0]!
        : (candidates.find((r) => span / LEVEL_SECONDS[r.level] <= this.limits.statsAutoBuckets) ?? candidates.at(-1)!);
    }
    const width = LEVEL_SECONDS[rollup.level] * 1000;
    const params: unknown[] = [];
    const p = (v: unknown) => {
      params.push(v);
      return `$${params.length}`;
    };
    const from = new Date(Math.floor((q.from.getTime() - BUCKET_ORIGIN_MS) / width) * width + BUCKET_ORIGIN_MS);

    const chosen = q.measures === undefined ? rollup.measures.filter((m) => m.fn !== 'quantile') : q.measures.map((f) => {
      const m = rollup!.measures.find((x) => x.field === f);
      if (!m) {
        throw new InvalidError('UNKNOWN_MEASURE', `${f} is not a measure of ${rollup!.name}`, [{ path: 'measures', message: `unknown measure ${f}` }], { measures: rollup!.measures.map((x) => x.field) });
      }
      return m;
    });
    // The row's own groups: a spread dimension's become columns of its measures.
    const rowCols = spread ? groupCols.filter((c) => c !== spread.column) : groupCols;
    const rowFields = rowCols.map((c) => groupFields[groupCols.indexOf(c)]!);
    const spreadSel = (m: StreamMeasure, sp: NonNullable<typeof spread>) => {
      const inner = `sum(${m.uses[0]})`;
      if (!['count', 'countWhere', 'sum'].includes(m.fn) || m.uses.length !== 1 || !m.merge.startsWith(inner)) {
        throw new InvalidError('INVALID_SPREAD', `spread: ${m.field} is not a count or a sum`, [{ path: 'measures', message: `${m.field} cannot be spread` }]);
      }
      return sp.values.map((v, j) => `${m.merge.replace(inner, `${inner} FILTER (WHERE ${sp.column} = ${p(v)}::text)`)} AS ${m.name}__${j}`);
    };
    const measureSel = chosen.flatMap((m) => (spread ? spreadSel(m, spread) : [`${m.merge} AS ${m.name}`]));
    // A collapsed answer reads whole coarser buckets inside the window and the chosen level only at its edges.
    const parts = q.collapse ? stitch(s.rollups, rollup, needed, chosen, from.getTime(), q.to.getTime(), filterCols) : [{ rollup, from: from.getTime(), to: q.to.getTime() }];
    const groupSel = rowCols.map((c) => (s.byName.get(c)!.type === 'inet' ? `host(${c}) AS ${c}` : c));
    const groupIdx = [...(q.collapse ? [] : ['1']), ...rowCols.map((_, i) => String(i + 2))].join(', ');
    const bucketSel = q.collapse ? `${p(from.toISOString())}::timestamptz AS bucket` : 'bucket';
    const grouping = groupIdx === '' ? 'HAVING count(*) > 0' : `GROUP BY ${groupIdx}\nORDER BY ${groupIdx}`;
    // Each rollup is read from its storage table when nothing of it is pending (rollup-source.ts).
    const relations = [...new Set(parts.map((x) => x.rollup))].map((r) => ({ view: r.name, storage: rollupStorage(r, 'postgres'), invalidationKey: r.name }));
    const rows = await readRollups(this.db, this.tier, relations, (rel, db) => {
      let source: string;
      let where: string[];
      if (parts.length === 1) {
        source = rel(parts[0]!.rollup.name);
        where = [`bucket >= ${p(from.toISOString())}::timestamptz`, `bucket < ${p(q.to.toISOString())}::timestamptz`, ...this.filterTerms(rt, q.filters, p, rollup.groupBy)];
      } else {
        const cols = [...needed, ...new Set(chosen.flatMap((m) => m.uses))];
        const branches = parts.map((part) => {
          const w = [`bucket >= ${p(new Date(part.from).toISOString())}::timestamptz`, `bucket < ${p(new Date(part.to).toISOString())}::timestamptz`, ...this.filterTerms(rt, q.filters, p, part.rollup.groupBy)];
          return `  SELECT ${cols.join(', ')} FROM ${rel(part.rollup.name)} WHERE ${w.join(' AND ')}`;
        });
        source = `(\n${branches.join('\n  UNION ALL\n')}\n) u`;
        where = [];
      }
      const sql = `SELECT ${bucketSel}${[...groupSel, ...measureSel].map((x) => `, ${x}`).join('')}\nFROM ${source}\n${where.length ? `WHERE ${where.join(' AND ')}\n` : ''}${grouping}\nLIMIT ${this.limits.statsMaxRows + 1}`;
      return db.queryMany<Record<string, unknown>>(sql, params);
    });
    const truncated = rows.length > this.limits.statsMaxRows;
    if (truncated) rows.length = this.limits.statsMaxRows;
    // Rows of one bucket (one per group) share its text: formatted once per bucket.
    const isoOf = new Map<number, string>();
    const buckets = rows.map((r) => {
      const t = (r.bucket as Date).getTime();
      let iso = isoOf.get(t);
      if (iso === undefined) isoOf.set(t, (iso = (r.bucket as Date).toISOString()));
      const b: Record<string, unknown> = { bucket: iso };
      for (let i = 0; i < rowCols.length; i++) b[rowFields[i]!] = r[rowCols[i]!] ?? null;
      for (const m of chosen) {
        if (spread) {
          const byValue: Record<string, number> = {};
          spread.values.forEach((v, j) => (byValue[v] = Number(r[`${m.name}__${j}`] ?? 0)));
          b[m.field] = byValue;
        } else {
          const v = r[m.name];
          b[m.field] = v === null || v === undefined ? null : Number(v);
        }
      }
      return b;
    });
    return {
      stream: s.key,
      rollup: rollup.name,
      ...(parts.length > 1 ? { rollups: parts.map((x) => ({ rollup: x.rollup.name, from: new Date(x.from).toISOString(), to: new Date(Math.min(x.to, q.to.getTime())).toISOString() })) } : {}),
      resolution: rollup.level,
      requestedResolution: requested,
      from: q.from.toISOString(),
      to: q.to.toISOString(),
      groupBy: spread ? rowFields : [...groupFields],
      ...(spread ? { spread: spread.field } : {}),
      measures: chosen.map((m) => m.field),
      buckets,
      truncated,
    };
  }

  // ---------- postgres-tier rollup maintenance ----------

  /**
   * Recomputes the invalidated buckets of one rollup from the raw events, in one
   * savepoint; deletes exactly the invalidation rows it read. `force` ignores the
   * rollup's refresh schedule (refreshEvery since its last refresh).
   */
  async refreshRollup(key: string, rollupName: string, opts: { force?: boolean; maxRows?: number } = {}): Promise<{ buckets: number; more: boolean; skipped?: boolean }> {
    const s = this.runtime(key).stream;
    const r = s.rollups.find((x) => x.name === rollupName);
    if (!r) throw new NotFoundError('UNKNOWN_ROLLUP', `${s.key} has no rollup ${rollupName}`);
    const maxRows = opts.maxRows ?? 20_000;
    return this.db.savepoint(async (tx) => {
      if (!opts.force) {
        const due = await tx.queryOne<{ due: boolean }>(
          `SELECT last_refreshed_at IS NULL OR last_refreshed_at <= now() - $2::interval AS due FROM opsdeck_rollup_tables WHERE family = $1`,
          [r.name, r.decl.refreshEvery],
        );
        if (due && !due.due) return { buckets: 0, more: false, skipped: true };
      }
      const inv = await tx.queryMany<{ id: number; bucket: Date }>('SELECT id, bucket FROM opsdeck_rollup_invalidations WHERE family = $1 ORDER BY id LIMIT $2', [r.name, maxRows]);
      if (inv.length > 0) {
        const w = LEVEL_SECONDS[r.level] * 1000;
        const buckets = [...new Set(inv.map((i) => Math.floor((i.bucket.getTime() - BUCKET_ORIGIN_MS) / w) * w + BUCKET_ORIGIN_MS))].sort((a, b) => a - b);
        const iso = buckets.map((b) => new Date(b).toISOString());
        const sql = streamRefreshSQL(s, r);
        await tx.query(sql.delete, [iso]);
        await tx.query(sql.insert, [iso, iso[0], new Date(buckets.at(-1)! + w).toISOString()]);
        await tx.query('DELETE FROM opsdeck_rollup_invalidations WHERE id = ANY($1::bigint[])', [inv.map((i) => i.id)]);
      }
      await tx.query('UPDATE opsdeck_rollup_tables SET last_refreshed_at = now() WHERE family = $1', [r.name]);
      return { buckets: inv.length, more: inv.length === maxRows };
    });
  }

  /** Every rollup of every stream that is due, each drained (bounded by `deadline`). */
  async refreshDue(opts: { force?: boolean; deadline?: number } = {}): Promise<{ buckets: Record<string, number>; failed: Record<string, string> }> {
    const out: Record<string, number> = {};
    const failed: Record<string, string> = {};
    for (const rt of this.byKey.values()) {
      for (const r of rt.stream.rollups) {
        let n = 0;
        try {
          let force = opts.force ?? false;
          for (;;) {
            const res = await this.refreshRollup(rt.stream.key, r.name, { force });
            n += res.buckets;
            force = true;
            if (!res.more || (opts.deadline !== undefined && Date.now() > opts.deadline)) break;
          }
        } catch (err) {
          failed[r.name] = err instanceof Error ? err.message : String(err);
        }
        out[r.name] = n;
      }
    }
    return { buckets: out, failed };
  }
}

export function encodeListCursor(timeMicros: number, key: readonly string[]): string {
  return Buffer.from(JSON.stringify({ t: timeMicros, k: key })).toString('base64url');
}

const invalidCursor = () =>
  new InvalidError('INVALID_CURSOR', 'cursor is not the `next` of an answer to this query; repeat the query without it', [{ path: 'cursor', message: 'not a `next` value' }]);

function decodeListCursor(text: string, keyLength: number): { t: number; k: string[] } {
  const bad = invalidCursor;
  if (!/^[A-Za-z0-9_-]{1,2048}$/.test(text)) throw bad();
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  const o = v as { t?: unknown; k?: unknown } | null;
  if (typeof o !== 'object' || o === null || typeof o.t !== 'number' || !Number.isSafeInteger(o.t) || !Array.isArray(o.k) || o.k.length !== keyLength || !o.k.every((x) => typeof x === 'string' && x.length <= 256)) {
    throw bad();
  }
  if (normalizeTimestamp(microsIso(o.t)) === null) throw bad();
  return { t: o.t, k: o.k as string[] };
}


/**
 * The parts of [from, to) a collapsed stats answer reads: the coarsest rollup that has the
 * dimensions and measures asked and whose whole buckets fit inside the window reads the
 * middle; the edges are split again with the levels between, down to `fine` (the level the
 * answer was asked or planned at). Merged measures are sums, counts and histograms, so the
 * stitched answer equals the one read at `fine` alone, from far fewer rows (a week of a
 * daily rollup is 7 buckets, of an hourly one 168). `from` is aligned to `fine`.
 */
/** A rollup read for one value of a dimension (readBy) serves only queries filtered by it. */
export function readable(r: StreamRollup, filtered: readonly string[]): boolean {
  return r.readBy === null || filtered.includes(r.readBy);
}

export function stitch(
  rollups: readonly StreamRollup[],
  fine: StreamRollup,
  needed: readonly string[],
  measures: readonly StreamMeasure[],
  from: number,
  to: number,
  /** Columns the query filters on: a rollup with `readBy` is used only when it is one of them. */
  filtered: readonly string[] = needed,
): { rollup: StreamRollup; from: number; to: number }[] {
  const usable = rollups
    .filter(
      (r) =>
        LEVEL_SECONDS[r.level] > LEVEL_SECONDS[fine.level] &&
        needed.every((c) => r.groupBy.includes(c)) &&
        readable(r, filtered) &&
        measures.every((m) => r.measures.some((x) => x.field === m.field && x.merge === m.merge)),
    )
    .sort((a, b) => LEVEL_SECONDS[b.level] - LEVEL_SECONDS[a.level] || a.groupBy.length - b.groupBy.length || a.twinGroup - b.twinGroup || a.storage.length - b.storage.length);
  const split = (lo: number, hi: number, coarser: number): { rollup: StreamRollup; from: number; to: number }[] => {
    if (hi <= lo) return [];
    for (const r of usable) {
      const w = LEVEL_SECONDS[r.level] * 1000;
      if (w >= coarser) continue;
      const a = Math.ceil((lo - BUCKET_ORIGIN_MS) / w) * w + BUCKET_ORIGIN_MS;
      const b = Math.floor((hi - BUCKET_ORIGIN_MS) / w) * w + BUCKET_ORIGIN_MS;
      if (b > a) return [...split(lo, a, w), { rollup: r, from: a, to: b }, ...split(b, hi, w)];
    }
    return [{ rollup: fine, from: lo, to: hi }];
  };
  return split(from, to, Infinity);
}

/** Keys (rowKey: time µs + idempotency key) of the events an insert returned. */
function eventKeys(s: Stream, rows: readonly Record<string, unknown>[]): Set<string> {
  const keys = new Set<string>();
  for (const r of rows) keys.add(rowKey(Number(r.time_us), s.decl.idempotencyKey.map((k) => r[k])));
  return keys;
}
