/**
 * Time-series family declarations: the single source of truth for a metrics table.
 *
 * A family declares its columns (type, unit, rollup aggregate, bounds, source),
 * identity columns, sampling interval, chunk/partition interval, retention,
 * compression and rollup relation names. Everything else — DDL per storage
 * tier, TypeScript row types, the Zod ingest schema, insert and query SQL,
 * rollup maintenance and the reference docs — is derived from it.
 */

export type ColumnType = 'text' | 'double' | 'integer' | 'bigint' | 'boolean';
/** How a column is rolled up into 5m / 1h / 1d buckets. */
export type Aggregate = 'avg' | 'min' | 'max' | 'sum' | 'last' | 'count';
export type RollupLevel = '5m' | '1h' | '1d';
export type Resolution = 'raw' | RollupLevel;

/** Node ids (and, by default, other identity values): letters, digits and . _ : @ -, starting with a letter or digit. */
export const NODE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:@-]*$/;
export const NODE_ID_MAX = 128;
export const NODE_ID_RULE = 'letters, digits and . _ : @ - only, starting with a letter or digit';

export const ROLLUP_LEVELS: readonly RollupLevel[] = ['5m', '1h', '1d'];
export const LEVEL_SECONDS: Record<RollupLevel, number> = { '5m': 300, '1h': 3600, '1d': 86400 };
export const LEVEL_INTERVAL: Record<RollupLevel, string> = { '5m': '5 minutes', '1h': '1 hour', '1d': '1 day' };
/** Bucket origin shared by TimescaleDB's time_bucket default and our date_bin calls. */
export const BUCKET_ORIGIN = '2000-01-03 00:00:00+00';
/** BUCKET_ORIGIN in milliseconds since the epoch (bucket and partition boundaries in TS). */
export const BUCKET_ORIGIN_MS = Date.UTC(2000, 0, 3);

/** The start of the first `level` bucket that starts at or after `ms` (the window of the reputation overviews). */
export function bucketStartAtOrAfter(ms: number, level: RollupLevel): number {
  const w = LEVEL_SECONDS[level] * 1000;
  return Math.ceil((ms - BUCKET_ORIGIN_MS) / w) * w + BUCKET_ORIGIN_MS;
}

export interface ColumnDecl {
  readonly type: ColumnType;
  /** Unit of the stored value: 'percent', 'bytes', 'bytes/s', 'count', 'seconds', 'ratio', ... */
  readonly unit: string;
  readonly agg: Aggregate;
  readonly description: string;
  /** Where the value comes from (OS file, server command, ...), for the docs. */
  readonly source?: string;
  /** Numeric columns: smallest accepted value (required, finite). */
  readonly min?: number;
  /**
   * Numeric columns: largest accepted value (required, finite). A physically meaningful
   * ceiling for the unit: it keeps the sums of the largest rollup bucket finite, so one
   * absurd value cannot overflow a rollup (PostgreSQL: "value out of range: overflow").
   */
  readonly max?: number;
  /** For text columns: accepted values. */
  readonly values?: readonly string[];
  /**
   * Text columns with `values`: match them case-insensitively and store the declared
   * spelling (e.g. MongoDB's `PRIMARY` is stored as the declared `primary`).
   */
  readonly caseInsensitive?: boolean;
}

export interface IdentityDecl {
  readonly description: string;
  /**
   * Values this column accepts: the whole value must match (the pattern is applied as
   * `^(?:pattern)$`; no `g`, `y` or `m` flag); default NODE_ID_PATTERN.
   * For identities that are not node ids: an IP address (`::1`), a Message-ID (`<abc+1@x>`).
   * Not on the node column (FamilyDecl.node): its values are nodes.id and keep the node-id rule.
   */
  readonly pattern?: RegExp;
  /** Longest accepted value in characters (an integer ≥ 1); default NODE_ID_MAX. Not on the node column. */
  readonly maxLength?: number;
}

export interface FamilyDecl {
  /** Table name of the raw rows, e.g. metrics_system. */
  readonly table: string;
  /** Name used by the API: POST /api/v1/metrics {"type": key}, GET /api/v1/metrics/{key}. */
  readonly key: string;
  readonly title: string;
  readonly description: string;
  /**
   * Identity columns besides time (text, NOT NULL), in primary-key order. Their values
   * follow the node-id rule (NODE_ID_PATTERN, at most NODE_ID_MAX characters) unless the
   * column declares its own `pattern` / `maxLength`.
   */
  readonly identity: Readonly<Record<string, IdentityDecl>>;
  /**
   * The identity column that names the node a row comes from, or null for a family whose
   * rows belong to no node (a probe keyed by service name, a DNSBL check keyed by IP address).
   * Default `'node_id'`, so a family that omits it must have a node_id identity column.
   *
   * With a node column (at any position in `identity`, under any name): ingest registers its
   * values in the node inventory (nodes.id, last_seen, role from `roleColumn`, and the
   * sampling interval that stale detection uses), the `nodeId` filter of the metrics API
   * selects rows by it, and the cluster status shows the family under those nodes.
   * With `null`: ingest never writes `nodes`, a `nodeId` filter is refused
   * (NODE_FILTER_UNSUPPORTED), `roleColumn` is not allowed, and the cluster status leaves
   * the family out.
   */
  readonly node?: string | null;
  readonly columns: Readonly<Record<string, ColumnDecl>>;
  /** Column whose latest value is copied into nodes.role on ingest (needs a node column). */
  readonly roleColumn?: string;
  /** Expected sampling interval: sizes raw queries, and 3 missed intervals mark a node stale. */
  readonly sampleInterval: string;
  /** TimescaleDB chunk interval. */
  readonly chunkInterval: string;
  /** Native partition width on the postgres tier (default: the larger of chunk interval and 1 day). */
  readonly partitionInterval?: string;
  readonly retention: {
    readonly raw: string;
    readonly '5m': string;
    readonly '1h': string;
    readonly '1d': string;
  };
  /** TimescaleDB compression: segmentby = identity columns, orderby = time DESC. */
  readonly compressAfter: string;
  /** Rollup relation names per level. */
  readonly rollups: Readonly<Record<RollupLevel, string>>;
}

/**
 * Storage settings shared by the 15-second metrics families of
 * mail-cluster-timescaledb-schema.md: 1 h chunks, 90-day raw retention,
 * compression after 7 days; rollups kept 90 days (5 m), 1 year (1 h), 2 years (1 d).
 */
export const METRICS_15S = {
  sampleInterval: '15 seconds',
  chunkInterval: '1 hour',
  retention: { raw: '90 days', '5m': '90 days', '1h': '365 days', '1d': '730 days' },
  compressAfter: '7 days',
} as const;

/**
 * Ceilings (ColumnDecl.max) of the shipped families, per unit: each is far above what a
 * real server reports, and a 1-day rollup sum of it stays finite (MAX_ROWS_PER_DAY_BUCKET).
 */
export const CEILING = {
  percent: 100,
  /** Sizes: 2^53 − 1 bytes (8 PiB), the largest integer a JSON number carries exactly (and the bigint bound). */
  bytes: Number.MAX_SAFE_INTEGER,
  /** Throughput: 10^12 bytes/s (8 Tbit/s), beyond any host's disks or network interfaces. */
  bytesPerSecond: 1e12,
  /** Load average: 10^6 runnable tasks. */
  load: 1e6,
  /** Gauges in integer columns (connections, open files, clients, queue sizes): the integer column's limit. */
  int32: 2_147_483_647,
  /** Per-interval counts (deltas over one 15-s sample): 10^12 is ~6.7·10^10 events per second. */
  perInterval: 1e12,
  /** Counters since a start (kernel or server totals, stored as read): 2^53 − 1, the largest integer a JSON number carries exactly. */
  counter: Number.MAX_SAFE_INTEGER,
  /** Counts held by a server (keys, pending changes): 10^12. */
  count: 1e12,
  /** Rates in events per second: 10^9. */
  perSecond: 1e9,
  /** Durations in seconds: 10^9 s (about 31 years). */
  seconds: 1e9,
  /** Durations in hours: 10^6 h (about 114 years). */
  hours: 1e6,
  /** Durations in milliseconds of one operation: one day. */
  milliseconds: 86_400_000,
  /** Dimensionless ratios (e.g. memory fragmentation): 10^6. */
  ratio: 1e6,
} as const;

// ---------- type-level derivations ----------

type CamelCase<S extends string> = S extends `${infer H}_${infer T}` ? `${H}${Capitalize<CamelCase<T>>}` : S;
type TsOf<T extends ColumnType> = T extends 'text' ? string : T extends 'boolean' ? boolean : number;

/** A raw row as stored (snake_case column names). */
export type FamilyRow<F extends FamilyDecl> = { time: Date } & { [K in keyof F['identity'] & string]: string } & {
  -readonly [K in keyof F['columns'] & string]: TsOf<F['columns'][K]['type']> | null;
};

/** A row as accepted by the ingest API (camelCase, `timestamp` optional). */
export type IngestRow<F extends FamilyDecl> = { timestamp?: string } & {
  [K in keyof F['identity'] & string as CamelCase<K>]: string;
} & {
  [K in keyof F['columns'] & string as CamelCase<K>]?: TsOf<F['columns'][K]['type']> | null;
};

// ---------- runtime derivations ----------

export function camelCase(s: string): string {
  return s.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

const UNIT_SECONDS: Record<string, number> = {
  second: 1,
  seconds: 1,
  minute: 60,
  minutes: 60,
  hour: 3600,
  hours: 3600,
  day: 86400,
  days: 86400,
  week: 604800,
  weeks: 604800,
};

/**
 * A value derived from a family's or stream's declaration, computed once per declaration (they
 * do not change after define*): for what every ingest request reads.
 */
export function perDeclaration<D extends object, V>(derive: (d: D) => V): (d: D) => V {
  const memo = new WeakMap<D, V>();
  return (d) => {
    if (memo.has(d)) return memo.get(d)!;
    const v = derive(d);
    memo.set(d, v);
    return v;
  };
}

/** Seconds in a PostgreSQL interval literal like '15 seconds' or '90 days'. */
export function intervalSeconds(interval: string): number {
  const m = /^\s*(\d+)\s+([a-z]+)\s*$/.exec(interval);
  const unit = m ? UNIT_SECONDS[m[2]!] : undefined;
  if (!m || unit === undefined) throw new Error(`unsupported interval literal: ${interval}`);
  return Number(m[1]) * unit;
}

export interface RollupColumn {
  /** Column name in the rollup relation. */
  name: string;
  source: string;
  agg: Aggregate;
  /** SQL type of the rollup column. */
  sqlType: string;
  /** Aggregate over raw rows (postgres-tier form; timescale uses `last()` for 'last'). */
  fromRaw: (tier: 'timescale' | 'postgres') => string;
  /** Aggregate over the next-finer rollup level. */
  fromRollup: (tier: 'timescale' | 'postgres') => string;
}

export interface Family<F extends FamilyDecl = FamilyDecl> {
  readonly decl: F;
  readonly table: string;
  readonly key: string;
  readonly identity: readonly string[];
  /** camelCase API names of the identity columns, in order. */
  readonly identityFields: readonly string[];
  /** What each identity column accepts (same order as `identity`): its pattern, longest value and the rule in words. */
  readonly identityRules: readonly IdentityRule[];
  /** The node column (FamilyDecl.node), or null when rows belong to no node. */
  readonly nodeColumn: string | null;
  /** camelCase API name of the node column, or null. */
  readonly nodeField: string | null;
  readonly columns: readonly (ColumnDecl & { name: string; field: string })[];
  readonly rollupColumns: readonly RollupColumn[];
  readonly sampleSeconds: number;
  readonly partitionInterval: string;
  /** Field name (camelCase) → column name, for every identity and value column. */
  readonly fieldToColumn: ReadonlyMap<string, string>;
}

export interface IdentityRule {
  readonly pattern: RegExp;
  readonly maxLength: number;
  /** The rule in words, for validation messages. */
  readonly rule: string;
}

const NODE_ID_IDENTITY: IdentityRule = { pattern: NODE_ID_PATTERN, maxLength: NODE_ID_MAX, rule: NODE_ID_RULE };

/**
 * What one identity column accepts. A declared pattern must match the whole value: it is
 * applied as `^(?:pattern)$`, so `/[0-9.]+/` or `/^a|b$/` cannot pass a value on a partial
 * match; `g` and `y` (test() would depend on the previous call) and `m` (^ and $ at every
 * line) are refused. The node column keeps the node-id rule: its values are nodes.id.
 */
function identityRule(table: string, name: string, d: IdentityDecl, isNode: boolean): IdentityRule {
  if (d.pattern === undefined && d.maxLength === undefined) return NODE_ID_IDENTITY;
  if (isNode) throw new Error(`${table}.${name}: the node column keeps the node-id rule (its values are nodes.id): no pattern or maxLength`);
  const maxLength = d.maxLength ?? NODE_ID_MAX;
  if (!Number.isInteger(maxLength) || maxLength < 1) throw new Error(`${table}.${name}: maxLength must be an integer from 1 (got ${String(maxLength)})`);
  if (d.pattern === undefined) return { ...NODE_ID_IDENTITY, maxLength };
  if (/[gym]/.test(d.pattern.flags)) throw new Error(`${table}.${name}: pattern must not have the g, y or m flag (got /${d.pattern.source}/${d.pattern.flags})`);
  return { pattern: new RegExp(`^(?:${d.pattern.source})$`, d.pattern.flags), maxLength, rule: `must match /${d.pattern.source}/${d.pattern.flags} (the whole value)` };
}

export const SQL_TYPES: Record<ColumnType, string> = {
  text: 'text',
  double: 'double precision',
  integer: 'integer',
  bigint: 'bigint',
  boolean: 'boolean',
};

const IDENT = /^[a-z][a-z0-9_]{0,62}$/;

/**
 * Most rows one series can have in the widest rollup bucket (1 day): one per
 * microsecond, the precision PostgreSQL stores. |bound| × this must stay finite,
 * so even a 1-day sum of bound values at that density cannot overflow a double.
 */
export const MAX_ROWS_PER_DAY_BUCKET = 86_400 * 1_000_000;

/**
 * The aggregates each column type can be rolled up with: PostgreSQL (and so the
 * generated rollups on both tiers) has no sum/avg of text or boolean and no
 * min/max of boolean; text min/max is not used by any rollup and stays refused
 * until one needs it.
 */
export const AGGREGATES_OF_TYPE: Readonly<Record<ColumnType, readonly Aggregate[]>> = {
  text: ['last', 'count'],
  boolean: ['last', 'count'],
  integer: ['avg', 'min', 'max', 'sum', 'last', 'count'],
  bigint: ['avg', 'min', 'max', 'sum', 'last', 'count'],
  double: ['avg', 'min', 'max', 'sum', 'last', 'count'],
};

/** Refuses an aggregate that does not fit the column type, and a numeric column whose accepted range is not finite (see ColumnDecl.max). */
function checkBounds(table: string, name: string, c: ColumnDecl): void {
  if (!AGGREGATES_OF_TYPE[c.type].includes(c.agg)) {
    throw new Error(`${table}.${name}: aggregate ${c.agg} does not fit a ${c.type} column (allowed: ${AGGREGATES_OF_TYPE[c.type].join(', ')})`);
  }
  const numeric = c.type === 'double' || c.type === 'integer' || c.type === 'bigint';
  if (!numeric) {
    if (c.min !== undefined || c.max !== undefined) throw new Error(`${table}.${name}: min/max only apply to numeric columns`);
    if (c.caseInsensitive && !c.values) throw new Error(`${table}.${name}: caseInsensitive needs declared values`);
    if (c.values) {
      const seen = new Set(c.values.map((v) => (c.caseInsensitive ? v.toLowerCase() : v)));
      if (seen.size !== c.values.length) throw new Error(`${table}.${name}: values must be distinct${c.caseInsensitive ? ' ignoring case' : ''}`);
    }
    return;
  }
  if (c.values || c.caseInsensitive) throw new Error(`${table}.${name}: values/caseInsensitive only apply to text columns`);
  for (const [what, bound] of [['min', c.min], ['max', c.max]] as const) {
    if (bound === undefined || !Number.isFinite(bound) || !Number.isFinite(Math.abs(bound) * MAX_ROWS_PER_DAY_BUCKET)) {
      throw new Error(`${table}.${name}: a numeric column needs a finite ${what} whose 1-day rollup sum stays finite (got ${String(bound)})`);
    }
  }
  if (c.min! > c.max!) throw new Error(`${table}.${name}: min ${c.min} is above max ${c.max}`);
}

function rollupColumnsOf(name: string, c: ColumnDecl): RollupColumn[] {
  const t = SQL_TYPES[c.type];
  const lastRaw = (tier: 'timescale' | 'postgres') =>
    tier === 'timescale' ? `last(${name}, time)` : `(array_agg(${name} ORDER BY time DESC))[1]`;
  const lastRoll = (col: string) => (tier: 'timescale' | 'postgres') =>
    tier === 'timescale' ? `last(${col}, bucket)` : `(array_agg(${col} ORDER BY bucket DESC))[1]`;
  switch (c.agg) {
    case 'avg':
      return [
        { name: `${name}_sum`, source: name, agg: 'avg', sqlType: 'double precision', fromRaw: () => `sum(${name}::double precision)`, fromRollup: () => `sum(${name}_sum)` },
        { name: `${name}_count`, source: name, agg: 'avg', sqlType: 'bigint', fromRaw: () => `count(${name})`, fromRollup: () => `sum(${name}_count)::bigint` },
      ];
    case 'sum':
      return [{ name: `${name}_sum`, source: name, agg: 'sum', sqlType: 'double precision', fromRaw: () => `sum(${name}::double precision)`, fromRollup: () => `sum(${name}_sum)` }];
    case 'min':
      return [{ name: `${name}_min`, source: name, agg: 'min', sqlType: t, fromRaw: () => `min(${name})`, fromRollup: () => `min(${name}_min)` }];
    case 'max':
      return [{ name: `${name}_max`, source: name, agg: 'max', sqlType: t, fromRaw: () => `max(${name})`, fromRollup: () => `max(${name}_max)` }];
    case 'count':
      return [{ name: `${name}_count`, source: name, agg: 'count', sqlType: 'bigint', fromRaw: () => `count(${name})`, fromRollup: () => `sum(${name}_count)::bigint` }];
    case 'last':
      return [{ name: `${name}_last`, source: name, agg: 'last', sqlType: t, fromRaw: lastRaw, fromRollup: lastRoll(`${name}_last`) }];
  }
}

/** The node column a declaration names: FamilyDecl.node, 'node_id' when omitted. */
type NodeOf<F extends FamilyDecl> = F extends { readonly node: infer N } ? N : 'node_id';

/**
 * Type-level form of defineFamily's node checks (it checks them at run time too): the node
 * column must be an identity column, and a family without one has no roleColumn.
 */
export type NodeChecked<F extends FamilyDecl> = [NodeOf<F>] extends [null]
  ? F extends { readonly roleColumn: string }
    ? { readonly roleColumn: 'roleColumn needs a node column' }
    : unknown
  : [NodeOf<F>] extends [keyof F['identity']]
    ? unknown
    : { readonly node: 'the node column must be an identity column (node_id when node is omitted; node: null for none)' };

/** Validates a declaration and derives everything the other layers need from it. */
export function defineFamily<const F extends FamilyDecl>(decl: F & NodeChecked<F>): Family<F> {
  const identity = Object.keys(decl.identity);
  const nodeColumn = decl.node === undefined ? 'node_id' : decl.node;
  if (nodeColumn !== null && !identity.includes(nodeColumn)) {
    throw new Error(`${decl.table}: node column ${nodeColumn} is not an identity column${decl.node === undefined ? ' (the default; declare node: null for a family without nodes)' : ''}`);
  }
  if (nodeColumn === null && decl.roleColumn !== undefined) throw new Error(`${decl.table}: roleColumn needs a node column (node is null)`);
  const names = [decl.table, ...Object.values(decl.rollups), ...identity, ...Object.keys(decl.columns)];
  for (const n of names) if (!IDENT.test(n)) throw new Error(`${decl.table}: invalid SQL identifier ${n}`);
  for (const reserved of ['time', 'bucket', 'samples', 'timestamp']) {
    if (reserved in decl.columns || reserved in decl.identity) throw new Error(`${decl.table}: column name ${reserved} is reserved`);
  }
  if (decl.roleColumn && !(decl.roleColumn in decl.columns)) throw new Error(`${decl.table}: roleColumn ${decl.roleColumn} is not a column`);
  for (const [name, c] of Object.entries(decl.columns)) checkBounds(decl.table, name, c);
  const columns = Object.entries(decl.columns).map(([name, c]) => ({ ...c, name, field: camelCase(name) }));
  const fieldToColumn = new Map<string, string>();
  for (const n of [...identity, ...columns.map((c) => c.name)]) {
    const f = camelCase(n);
    if (fieldToColumn.has(f)) throw new Error(`${decl.table}: two columns map to field ${f}`);
    fieldToColumn.set(f, n);
  }
  const identityRules = identity.map((n) => identityRule(decl.table, n, decl.identity[n]!, n === nodeColumn));
  for (const s of [decl.sampleInterval, decl.chunkInterval, decl.compressAfter, ...Object.values(decl.retention)]) intervalSeconds(s);
  const partitionInterval = decl.partitionInterval ?? (intervalSeconds(decl.chunkInterval) >= 86400 ? decl.chunkInterval : '1 day');
  return {
    decl,
    table: decl.table,
    key: decl.key,
    identity,
    identityFields: identity.map(camelCase),
    identityRules,
    nodeColumn,
    nodeField: nodeColumn === null ? null : camelCase(nodeColumn),
    columns,
    rollupColumns: columns.flatMap((c) => rollupColumnsOf(c.name, c)),
    sampleSeconds: intervalSeconds(decl.sampleInterval),
    partitionInterval,
    fieldToColumn,
  };
}
