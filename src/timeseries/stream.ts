/**
 * Event-stream declarations: the single source of truth for an append-only,
 * time-stamped table of events (email deliveries, probe results, task events…).
 *
 * Unlike a metrics family (one sample per node and interval, every column
 * rolled up by identity), a stream holds irregular events with high-cardinality
 * text dimensions, typed columns of any kind (jsonb, inet, uuid, timestamptz),
 * an idempotency key, and zero or more rollups, each grouped by the dimensions
 * it names and carrying only the measures it declares. DDL for both tiers, the
 * ingest schema, the batched insert, the list and stats queries, the rollup
 * maintenance and the schema docs are all derived from the declaration.
 */
import { z } from 'zod';
import { camelCase, intervalSeconds, LEVEL_SECONDS, type RollupLevel } from './family.ts';

export type StreamColumnType = 'text' | 'smallint' | 'integer' | 'bigint' | 'double' | 'boolean' | 'jsonb' | 'inet' | 'uuid' | 'timestamptz';

export const STREAM_SQL_TYPES: Record<StreamColumnType, string> = {
  text: 'text',
  smallint: 'smallint',
  integer: 'integer',
  bigint: 'bigint',
  double: 'double precision',
  boolean: 'boolean',
  jsonb: 'jsonb',
  inet: 'inet',
  uuid: 'uuid',
  timestamptz: 'timestamp with time zone',
};

const INT_RANGE: Partial<Record<StreamColumnType, readonly [number, number]>> = {
  smallint: [-32768, 32767],
  integer: [-2147483648, 2147483647],
  bigint: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

export interface StreamColumnDecl {
  readonly type: StreamColumnType;
  readonly description: string;
  /** Where a real deployment gets the value, for the docs. */
  readonly source?: string;
  /** Unit of a numeric value ('ms', 'bytes', …). */
  readonly unit?: string;
  /** NOT NULL, and required on ingest (the derived key column is filled when absent). */
  readonly required?: boolean;
  /** Filterable by equality in list and stats queries (and groupable in rollups). */
  readonly dimension?: boolean;
  /** Text: longest accepted value in characters (default 256). */
  readonly maxLength?: number;
  /** Text: accepted values (stored as declared). */
  readonly values?: readonly string[];
  /** Text: a pattern every value must match, and the rule it expresses for error messages. */
  readonly pattern?: RegExp;
  readonly patternRule?: string;
  /** Text: stored lower-cased (domain names, addresses). */
  readonly lowercase?: boolean;
  /** Numeric: accepted bounds (required, finite). */
  readonly min?: number;
  readonly max?: number;
  /** jsonb: the shape of the value (required for jsonb columns) and its largest serialized size. */
  readonly json?: z.ZodType;
  readonly maxJsonBytes?: number;
  /**
   * Filled by Opsdeck when an event omits it, from the event's other fields: `fn` at ingest
   * (over the validated camelCase event; its result must pass the column's own rules, or be
   * null) and `sql`, the same rule as an SQL expression over the stored columns, which the
   * migration adding the column runs over the events already stored. A test keeps the two equal.
   */
  readonly derive?: { readonly fn: (event: Readonly<Record<string, unknown>>) => string | null; readonly sql: string };
}

export type MeasureDecl =
  /** count(*) of the bucket's events (no column), or of the events where `column` is not null. */
  | { readonly fn: 'count'; readonly column?: string }
  /** Events where `column` equals `equals` (e.g. dkim_result = 'pass'). */
  | { readonly fn: 'countWhere'; readonly column: string; readonly equals: string | number | boolean }
  | { readonly fn: 'sum' | 'min' | 'max'; readonly column: string }
  /** Kept as a sum and a count, so coarser buckets and merged groups stay exact. */
  | { readonly fn: 'avg'; readonly column: string }
  /** Kept as a log-bucket histogram of the column (HISTOGRAM), so merged buckets keep the bound. */
  | { readonly fn: 'quantile'; readonly column: string; readonly q: number };

export interface StreamRollupDecl {
  /** Relation name, e.g. email_stats_5m (a view on both tiers). */
  readonly name: string;
  readonly level: RollupLevel;
  readonly description: string;
  /** Dimensions the rollup groups by (besides its bucket). */
  readonly groupBy: readonly string[];
  /** Output column name → measure. */
  readonly measures: Readonly<Record<string, MeasureDecl>>;
  /** How often it is refreshed (TimescaleDB policy schedule; Opsdeck's job on the postgres tier). */
  readonly refreshEvery: string;
  readonly retention: string;
  /**
   * A group-by dimension this rollup is read for one (or a few) values of, like an index: the
   * stats planner uses it only for queries filtered by that dimension, and its storage is
   * indexed by (dimension, bucket). For detail rollups whose other dimensions multiply the
   * rows (one recipient domain's MX hosts, sending IPs, reply codes).
   */
  readonly readBy?: string;
  /**
   * Indexes of the storage besides the bucket's, each on these group-by columns then the bucket:
   * for questions that ask for a few groups over a window (the p95 of the 100 recipient domains
   * a page shows), which otherwise read every group's rows of the window.
   */
  readonly groupIndexes?: readonly (readonly string[])[];
}

export interface StreamDecl {
  /** Table of the raw events. */
  readonly table: string;
  /** Name used by the API: /api/v1/events/{key}. */
  readonly key: string;
  readonly title: string;
  readonly description: string;
  readonly columns: Readonly<Record<string, StreamColumnDecl>>;
  /** Columns that, with time, identify an event: the primary key, so a retried batch stores nothing twice. */
  readonly idempotencyKey: readonly string[];
  /**
   * A uuid column of the key that Opsdeck fills when an event omits it: a UUID derived
   * from a hash of the event's content and time (the same event sent twice gets the same id).
   */
  readonly derivedKey?: string;
  /** Extra indexes: each is (columns…, time DESC). */
  readonly indexes: readonly (readonly string[])[];
  readonly chunkInterval: string;
  /** Native partition width on the postgres tier (default: the larger of chunk interval and 1 day). */
  readonly partitionInterval?: string;
  readonly retention: string;
  readonly compressAfter: string;
  /** TimescaleDB compression segmentby: one low-cardinality column. */
  readonly segmentBy: string;
  readonly rollups: readonly StreamRollupDecl[];
  /** Default dimensions the stats endpoint groups by. */
  readonly statsGroupBy: readonly string[];
  /** Longest time window a list query may cover. */
  readonly maxListWindow: string;
  /**
   * Whether clients may write events through `POST /api/v1/events/{key}` (default true).
   * false: the events are records of Opsdeck's own work (its DNSBL checks, its collections),
   * written only by the module that does it; the API reads them.
   */
  readonly apiIngest?: boolean;
}

/**
 * The fixed histogram behind quantile measures: bucket 1 holds values below 1,
 * bucket k ≥ 2 holds [2^((k−2)/8), 2^((k−1)/8)) — eight buckets per doubling, the
 * growth factor of Prometheus native histograms' schema 3. A quantile is read as
 * the geometric middle of the bucket holding its rank, so it is within
 * 2^(1/16) − 1 ≈ 4.4 % of the nearest-rank quantile of the raw values at every
 * level, and merging histograms (element-wise sums) loses nothing. A histogram is
 * stored as one integer `numeric` whose `digitsPerBucket`-digit fields, counted from
 * the right, are the bucket counts (docs/adr/0028): PostgreSQL's own `sum(numeric)`
 * builds and merges them (merging, about fifteen times faster than a PL/pgSQL loop over an
 * array), and a sparse histogram is about a quarter of the array's size. Exact while no
 * bucket of one answer holds 10^12 values or more. Values of 2^63 and more count
 * in the last bucket.
 */
export const HISTOGRAM = {
  bucketsPerDoubling: 8,
  digitsPerBucket: 12,
  /** The last bucket, [2^63, ∞): every bigint and safe integer is below it. */
  maxBucket: 8 * 63 + 2,
  relativeError: 2 ** (1 / 16) - 1,
} as const;

export type StreamMeasure = MeasureDecl & {
  name: string;
  /** SQL of the finished value, over the storage columns (the view's expression). */
  finish: string;
  /** SQL of the value merged over rollup rows (several buckets or groups). */
  merge: string;
  field: string;
  /** Names of the storage columns `merge` reads. */
  uses: readonly string[];
};

export interface StorageColumn {
  name: string;
  sqlType: string;
  /** Aggregate over raw events. */
  fromRaw: string;
  /** Aggregate over storage rows of the same rollup. */
  merge: string;
}

export interface StreamRollup {
  decl: StreamRollupDecl;
  name: string;
  level: RollupLevel;
  groupBy: readonly string[];
  storage: readonly StorageColumn[];
  measures: readonly StreamMeasure[];
  /** See StreamRollupDecl.readBy; null: read for any query it fits. */
  readBy: string | null;
  /** Where its twins (rollups of the same dimensions, at any level) first appear in the declaration. */
  twinGroup: number;
}

export interface StreamColumn extends StreamColumnDecl {
  name: string;
  field: string;
}

export interface Stream<D extends StreamDecl = StreamDecl> {
  readonly decl: D;
  readonly table: string;
  readonly key: string;
  readonly columns: readonly StreamColumn[];
  readonly byName: ReadonlyMap<string, StreamColumn>;
  /** Dimension columns (filterable). */
  readonly dimensions: readonly StreamColumn[];
  readonly rollups: readonly StreamRollup[];
  readonly partitionInterval: string;
}

const IDENT = /^[a-z][a-z0-9_]{0,62}$/;
const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;

function sqlValue(v: string | number | boolean): string {
  return typeof v === 'string' ? lit(v) : typeof v === 'boolean' ? (v ? 'true' : 'false') : String(v);
}

function checkColumn(table: string, name: string, c: StreamColumnDecl): void {
  const where = `${table}.${name}`;
  const numeric = c.type === 'smallint' || c.type === 'integer' || c.type === 'bigint' || c.type === 'double';
  if (numeric) {
    for (const [what, b] of [['min', c.min], ['max', c.max]] as const) {
      if (b === undefined || !Number.isFinite(b)) throw new Error(`${where}: a numeric column needs a finite ${what}`);
    }
    const r = INT_RANGE[c.type];
    if (r && (c.min! < r[0] || c.max! > r[1])) throw new Error(`${where}: bounds exceed what ${c.type} holds`);
    if (c.min! > c.max!) throw new Error(`${where}: min is above max`);
  } else if (c.min !== undefined || c.max !== undefined) throw new Error(`${where}: min/max only apply to numeric columns`);
  if (c.type !== 'text' && (c.values || c.pattern || c.maxLength !== undefined || c.lowercase)) throw new Error(`${where}: values/pattern/maxLength/lowercase only apply to text`);
  if (c.type === 'jsonb' ? !c.json : c.json) throw new Error(`${where}: a jsonb column needs its json shape (and only jsonb has one)`);
  if (c.pattern && !c.patternRule) throw new Error(`${where}: a pattern needs its patternRule`);
  if (c.dimension && c.type === 'jsonb') throw new Error(`${where}: a jsonb column cannot be a dimension`);
}

const NUMERIC_TYPES = new Set<StreamColumnType>(['smallint', 'integer', 'bigint', 'double']);

function measureStorage(table: string, m: string, d: MeasureDecl, col: StreamColumn | undefined): { storage: StorageColumn[]; finish: string; merge: string } {
  const need = (ok: boolean, why: string) => {
    if (!ok) throw new Error(`${table}: measure ${m}: ${why}`);
  };
  switch (d.fn) {
    case 'count':
      return {
        storage: [{ name: m, sqlType: 'bigint', fromRaw: d.column ? `count(${d.column})` : 'count(*)', merge: `sum(${m})::bigint` }],
        finish: m,
        merge: `sum(${m})::bigint`,
      };
    case 'countWhere':
      need(col !== undefined && col.type !== 'jsonb', 'countWhere needs a non-jsonb column');
      return {
        storage: [{ name: m, sqlType: 'bigint', fromRaw: `count(*) FILTER (WHERE ${d.column} = ${sqlValue(d.equals)})`, merge: `sum(${m})::bigint` }],
        finish: m,
        merge: `sum(${m})::bigint`,
      };
    case 'sum':
      need(col !== undefined && NUMERIC_TYPES.has(col.type), 'sum needs a numeric column');
      return { storage: [{ name: m, sqlType: 'double precision', fromRaw: `sum(${d.column}::double precision)`, merge: `sum(${m})` }], finish: m, merge: `sum(${m})` };
    case 'min':
    case 'max': {
      need(col !== undefined && (NUMERIC_TYPES.has(col.type) || col.type === 'timestamptz'), `${d.fn} needs a numeric or timestamptz column`);
      const t = STREAM_SQL_TYPES[col!.type];
      return { storage: [{ name: m, sqlType: t, fromRaw: `${d.fn}(${d.column})`, merge: `${d.fn}(${m})` }], finish: m, merge: `${d.fn}(${m})` };
    }
    case 'avg':
      need(col !== undefined && NUMERIC_TYPES.has(col.type), 'avg needs a numeric column');
      return {
        storage: [
          { name: `${m}_sum`, sqlType: 'double precision', fromRaw: `sum(${d.column}::double precision)`, merge: `sum(${m}_sum)` },
          { name: `${m}_count`, sqlType: 'bigint', fromRaw: `count(${d.column})`, merge: `sum(${m}_count)::bigint` },
        ],
        finish: `${m}_sum / NULLIF(${m}_count, 0)`,
        merge: `sum(${m}_sum) / NULLIF(sum(${m}_count), 0)`,
      };
    case 'quantile': {
      need(col !== undefined && NUMERIC_TYPES.has(col.type) && col.min! >= 0, 'quantile needs a numeric column with min ≥ 0');
      need(d.q > 0 && d.q < 1, 'q must be between 0 and 1');
      const h = `${d.column}_hist`;
      return {
        storage: [{ name: h, sqlType: 'numeric', fromRaw: `sum(opsdeck_hist_unit(${d.column}::double precision))`, merge: `sum(${h})` }],
        finish: `opsdeck_hist_quantile(${h}, ${d.q})`,
        merge: `opsdeck_hist_quantile(sum(${h}), ${d.q})`,
      };
    }
  }
}

/** Validates a stream declaration and derives what the other layers need. */
export function defineStream<const D extends StreamDecl>(decl: D): Stream<D> {
  const t = decl.table;
  const names = [t, ...decl.rollups.map((r) => r.name), ...Object.keys(decl.columns)];
  for (const n of names) if (!IDENT.test(n)) throw new Error(`${t}: invalid SQL identifier ${n}`);
  for (const reserved of ['time', 'bucket', 'timestamp']) if (reserved in decl.columns) throw new Error(`${t}: column name ${reserved} is reserved`);
  for (const [name, c] of Object.entries(decl.columns)) checkColumn(t, name, c);
  const columns: StreamColumn[] = Object.entries(decl.columns).map(([name, c]) => ({ ...c, name, field: camelCase(name) }));
  const byName = new Map(columns.map((c) => [c.name, c]));
  const fields = new Set<string>();
  for (const c of columns) {
    if (fields.has(c.field)) throw new Error(`${t}: two columns map to field ${c.field}`);
    fields.add(c.field);
  }
  if (decl.idempotencyKey.length === 0) throw new Error(`${t}: an idempotency key is required`);
  for (const k of decl.idempotencyKey) {
    const c = byName.get(k);
    if (!c || !(c.required || k === decl.derivedKey)) throw new Error(`${t}: idempotency key column ${k} must be a required column`);
  }
  if (decl.derivedKey !== undefined) {
    const c = byName.get(decl.derivedKey);
    if (!c || c.type !== 'uuid' || !decl.idempotencyKey.includes(decl.derivedKey)) throw new Error(`${t}: derivedKey must be a uuid column of the idempotency key`);
  }
  for (const idx of decl.indexes) for (const c of idx) if (!byName.has(c)) throw new Error(`${t}: index column ${c} is not a column`);
  const seg = byName.get(decl.segmentBy);
  if (!seg?.dimension) throw new Error(`${t}: segmentBy must be a dimension column`);
  for (const s of [decl.chunkInterval, decl.retention, decl.compressAfter, decl.maxListWindow]) intervalSeconds(s);
  const dimensions = columns.filter((c) => c.dimension);
  for (const g of decl.statsGroupBy) if (!byName.get(g)?.dimension) throw new Error(`${t}: statsGroupBy ${g} is not a dimension`);
  const rollupNames = new Set<string>();
  const rollups = decl.rollups.map((r): StreamRollup => {
    if (rollupNames.has(r.name)) throw new Error(`${t}: rollup ${r.name} declared twice`);
    rollupNames.add(r.name);
    intervalSeconds(r.refreshEvery);
    if (intervalSeconds(r.retention) < LEVEL_SECONDS[r.level]) throw new Error(`${r.name}: retention shorter than one bucket`);
    for (const g of r.groupBy) if (!byName.get(g)?.dimension) throw new Error(`${r.name}: groupBy ${g} is not a dimension of ${t}`);
    if (r.readBy !== undefined && !r.groupBy.includes(r.readBy)) throw new Error(`${r.name}: readBy ${r.readBy} is not one of its groupBy columns`);
    for (const ix of r.groupIndexes ?? []) {
      if (ix.length === 0 || ix.some((c) => !r.groupBy.includes(c))) throw new Error(`${r.name}: a group index names ${JSON.stringify(ix)}, not groupBy columns`);
    }
    const storage: StorageColumn[] = [];
    const measures: StreamMeasure[] = [];
    for (const [m, d] of Object.entries(r.measures)) {
      if (!IDENT.test(m) || r.groupBy.includes(m) || m === 'bucket') throw new Error(`${r.name}: invalid measure name ${m}`);
      const col = 'column' in d && d.column !== undefined ? byName.get(d.column) : undefined;
      if ('column' in d && d.column !== undefined && !col) throw new Error(`${r.name}: measure ${m} names unknown column ${d.column}`);
      const s = measureStorage(r.name, m, d, col);
      for (const sc of s.storage) if (!storage.some((x) => x.name === sc.name)) storage.push(sc);
      measures.push({ ...d, name: m, finish: s.finish, merge: s.merge, field: camelCase(m), uses: s.storage.map((x) => x.name) });
    }
    for (const n of storage.map((s) => s.name)) if (r.groupBy.includes(n)) throw new Error(`${r.name}: storage column ${n} collides with a dimension`);
    const dims = [...r.groupBy].sort().join(',');
    const twinGroup = decl.rollups.findIndex((x) => [...x.groupBy].sort().join(',') === dims);
    return { decl: r, name: r.name, level: r.level, groupBy: [...r.groupBy], storage, measures, readBy: r.readBy ?? null, twinGroup };
  });
  const partitionInterval = decl.partitionInterval ?? (intervalSeconds(decl.chunkInterval) >= 86400 ? decl.chunkInterval : '1 day');
  return { decl, table: t, key: decl.key, columns, byName, dimensions, rollups, partitionInterval };
}

// ---------- type-level derivations ----------

type CamelCase<S extends string> = S extends `${infer H}_${infer T}` ? `${H}${Capitalize<CamelCase<T>>}` : S;
type TsOfStream<T extends StreamColumnType> = T extends 'text' | 'inet' | 'uuid' | 'timestamptz'
  ? string
  : T extends 'boolean'
    ? boolean
    : T extends 'jsonb'
      ? unknown
      : number;

/** An event as accepted by the ingest API (camelCase fields, `timestamp` optional). */
export type StreamEvent<D extends StreamDecl> = { timestamp?: string } & {
  [K in keyof D['columns'] & string as CamelCase<K>]?: TsOfStream<D['columns'][K]['type']> | null;
};

/** A stored event (snake_case columns). */
export type StreamRow<D extends StreamDecl> = { time: Date } & {
  -readonly [K in keyof D['columns'] & string]: TsOfStream<D['columns'][K]['type']> | null;
};
