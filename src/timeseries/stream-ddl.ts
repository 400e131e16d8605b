/**
 * DDL of an event stream on each storage tier, generated from its declaration
 * (scripts/gen-migration.ts writes it into numbered migrations; the
 * stream-consistency test compares the migrated database with the declaration).
 *
 * Both tiers expose the same relations: the raw table, and one view per rollup
 * with the rollup's bucket, dimensions, finished measures (avg, quantiles) and
 * the storage columns they are finished from (sums, counts, histograms), so a
 * caller can merge buckets exactly. Underneath:
 *   timescale — a hypertable, and per rollup a continuous aggregate
 *               (`_opsdeck_cagg_<name>`, real-time) with its refresh and
 *               retention policies;
 *   postgres  — a natively partitioned table, and per rollup a storage table
 *               (`_opsdeck_mat_<name>`) kept by Opsdeck's refresh job from the
 *               invalidation log; the view reads buckets not yet refreshed live
 *               from the raw events, like TimescaleDB's real-time aggregates.
 */
import { BUCKET_ORIGIN, intervalSeconds, LEVEL_INTERVAL, LEVEL_SECONDS, perDeclaration } from './family.ts';
import { intervalLiteral, type StorageTier } from './ddl.ts';
import { HISTOGRAM, STREAM_SQL_TYPES, type Stream, type StreamRollup } from './stream.ts';

const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;

/**
 * The histogram functions quantile measures use (see HISTOGRAM in stream.ts), created
 * by the migration that adds the first stream (scripts/gen-migration.ts) — in Opsdeck's
 * history, by the migration that moved the histograms to packed numerics. Plain SQL
 * and PL/pgSQL: they exist on every tier. A histogram is built and merged with the
 * built-in `sum(numeric)` (also inside TimescaleDB's continuous aggregates).
 */
export const HISTOGRAM_FUNCTIONS_SQL = `-- Histograms of event-stream rollups: bucket 1 holds values below 1, bucket k >= 2 holds
-- [2^((k-2)/8), 2^((k-1)/8)). Quantiles read back within 2^(1/16) - 1 (4.4 %) of the raw values' nearest-rank quantile.
-- A histogram is one integer numeric: the count of bucket k is its ${HISTOGRAM.digitsPerBucket}-digit field k, counted from the
-- right (count x 10^(${HISTOGRAM.digitsPerBucket}(k-1))). Built and merged with sum(); exact while no bucket of one answer holds
-- ${HISTOGRAM.digitsPerBucket} digits' worth of values (10^${HISTOGRAM.digitsPerBucket} - 1).
-- The bodies call built-in functions only: TimescaleDB runs refresh jobs with search_path = pg_catalog, pg_temp.

-- One value as a histogram (the unit of its bucket, from a table: built-in immutable functions only, so the
-- planner inlines it); NULL for NULL. Values of 2^${(HISTOGRAM.maxBucket - 2) / HISTOGRAM.bucketsPerDoubling} and more count in the last bucket, ${HISTOGRAM.maxBucket}.
CREATE FUNCTION opsdeck_hist_unit(v double precision) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN (ARRAY[${Array.from({ length: HISTOGRAM.maxBucket }, (_, k) => `1e${HISTOGRAM.digitsPerBucket * k}`).join(', ')}]::numeric[])[CASE WHEN v < 1 THEN 1 WHEN v >= 2::double precision ^ ${(HISTOGRAM.maxBucket - 2) / HISTOGRAM.bucketsPerDoubling} THEN ${HISTOGRAM.maxBucket} ELSE floor(${HISTOGRAM.bucketsPerDoubling} * ln(v) / ln(2::double precision))::integer + 2 END];

-- The q-quantile (nearest rank) of a histogram: the geometric middle of the bucket holding rank ceil(q * n);
-- 0 for bucket 1 (values below 1); NULL for an empty histogram. The total is the sum of the fields, which is the
-- histogram modulo 10^${HISTOGRAM.digitsPerBucket} - 1 (as a number's digit sum is the number modulo 9); the bucket is found by
-- bisection over the count of the buckets below it (the total less the digit sum of the fields above).
CREATE FUNCTION opsdeck_hist_quantile(h numeric, q double precision) RETURNS double precision
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
  field numeric := ${'9'.repeat(HISTOGRAM.digitsPerBucket)};
  total numeric;
  rank numeric;
  lo integer := 1;
  hi integer;
  mid integer;
BEGIN
  IF h <= 0 THEN RETURN NULL; END IF;
  total := mod(h, field);
  IF total = 0 THEN total := field; END IF;
  rank := greatest(1, ceil(q * total::double precision));
  hi := (length(trunc(h)::text) + ${HISTOGRAM.digitsPerBucket - 1}) / ${HISTOGRAM.digitsPerBucket};
  WHILE lo < hi LOOP
    mid := (lo + hi) / 2;
    IF total - mod(trunc(h * ('1e-' || (${HISTOGRAM.digitsPerBucket} * mid))::numeric), field) >= rank THEN hi := mid; ELSE lo := mid + 1; END IF;
  END LOOP;
  IF lo = 1 THEN RETURN 0; END IF;
  RETURN power(2::double precision, (lo - 2 + 0.5) / ${HISTOGRAM.bucketsPerDoubling}.0);
END $$;
`;

export function rollupStorage(r: StreamRollup, tier: StorageTier): string {
  return tier === 'timescale' ? `_opsdeck_cagg_${r.name}` : `_opsdeck_mat_${r.name}`;
}

/** Columns of a rollup view, in order. */
export function rollupViewColumns(r: StreamRollup): string[] {
  const finished = r.measures.filter((m) => !r.storage.some((s) => s.name === m.name)).map((m) => m.name);
  return ['bucket', ...r.groupBy, ...r.storage.map((c) => c.name), ...finished];
}

function viewSelect(r: StreamRollup, from: string): string {
  const measures = r.measures.filter((m) => !r.storage.some((s) => s.name === m.name)).map((m) => `${m.finish} AS ${m.name}`);
  return `SELECT bucket, ${[...r.groupBy, ...r.storage.map((c) => c.name), ...measures].join(', ')}\n  FROM ${from}`;
}

function rawAggregates(r: StreamRollup, indent = '    '): string {
  return r.storage.map((c) => `${c.fromRaw} AS ${c.name}`).join(`,\n${indent}`);
}

const groupList = (r: StreamRollup) => ['1', ...r.groupBy.map((_, i) => String(i + 2))].join(', ');

/** Refresh window of a rollup on the timescale tier: as far back as both the raw events and the rollup are kept, less one bucket (see docs/adr/0006). */
export function streamRefreshStartSeconds(s: Stream, r: StreamRollup): number {
  return Math.min(intervalSeconds(s.decl.retention), intervalSeconds(r.decl.retention)) - LEVEL_SECONDS[r.level];
}

/** Oldest event age (seconds) ingest accepts: inside every rollup's refresh window, with a day's margin. */
export const streamIngestHorizonSeconds = perDeclaration((s: Stream): number => {
  const windows = s.rollups.map((r) => streamRefreshStartSeconds(s, r));
  return (windows.length ? Math.min(...windows) : intervalSeconds(s.decl.retention)) - 86_400;
});

function tableDDL(s: Stream, tier: StorageTier): string[] {
  const cols = ['time timestamptz NOT NULL', ...s.columns.map((c) => `${c.name} ${STREAM_SQL_TYPES[c.type]}${c.required || c.name === s.decl.derivedKey ? ' NOT NULL' : ''}`)];
  const checks = s.columns.filter((c) => c.values).map((c) => `CONSTRAINT ${s.table}_${c.name}_check CHECK (${c.name} IN (${c.values!.map(lit).join(', ')}))`);
  const pk = `PRIMARY KEY (${[...s.decl.idempotencyKey, 'time'].join(', ')})`;
  const out = [`CREATE TABLE ${s.table} (\n  ${[...cols, ...checks, pk].join(',\n  ')}\n)${tier === 'postgres' ? ' PARTITION BY RANGE (time)' : ''};`];
  if (tier === 'timescale') out.push(`SELECT create_hypertable('${s.table}', by_range('time', INTERVAL ${lit(s.decl.chunkInterval)}), create_default_indexes => false);`);
  out.push(`CREATE INDEX ${s.table}_time_idx ON ${s.table} (time DESC);`);
  for (const idx of s.decl.indexes) out.push(`CREATE INDEX ${s.table}_${idx.join('_')}_idx ON ${s.table} (${[...idx, 'time DESC'].join(', ')});`);
  out.push(`COMMENT ON TABLE ${s.table} IS ${lit(`${s.decl.title}: ${s.decl.description}`)};`);
  for (const c of s.columns) out.push(`COMMENT ON COLUMN ${s.table}.${c.name} IS ${lit(c.description)};`);
  return out;
}

function timescaleDDL(s: Stream): string[] {
  const d = s.decl;
  const out = [
    ...tableDDL(s, 'timescale'),
    `ALTER TABLE ${s.table} SET (timescaledb.compress, timescaledb.compress_segmentby = ${lit(d.segmentBy)}, timescaledb.compress_orderby = 'time DESC');`,
    `SELECT add_compression_policy('${s.table}', compress_after => INTERVAL ${lit(d.compressAfter)});`,
    `SELECT add_retention_policy('${s.table}', drop_after => INTERVAL ${lit(d.retention)});`,
  ];
  for (const r of s.rollups) out.push(...streamRollupDDL(s, r, 'timescale'));
  return out;
}

/**
 * The relation a stream rollup is named by (postgres tier): a view over its storage table
 * with the stored buckets and, for buckets with pending invalidations, the buckets
 * computed live from the events.
 */
export function streamRollupViewDDL(s: Stream, r: StreamRollup): string {
  const origin = `timestamptz ${lit(BUCKET_ORIGIN)}`;
  const mat = rollupStorage(r, 'postgres');
  const width = `INTERVAL ${lit(LEVEL_INTERVAL[r.level])}`;
  const key = lit(r.name);
  const pending = `SELECT date_bin(${width}, i.bucket, ${origin}) FROM opsdeck_rollup_invalidations i WHERE i.family = ${key}`;
  // Gated branches, as the family rollup views (src/timeseries/ddl.ts postgresRollupViewDDL): with no
  // pending invalidation of this rollup, only the stored buckets are read.
  const stored = [...r.groupBy, ...r.storage.map((c) => c.name)].map((c) => `m.${c}`).join(', ');
  const anyPending = `EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = ${key})`;
  const inner =
    `SELECT m.bucket, ${stored}\n    FROM ${mat} m\n    WHERE NOT ${anyPending}\n` +
    `    UNION ALL\n    SELECT m.bucket, ${stored}\n    FROM ${mat} m\n    WHERE ${anyPending}\n` +
    `      AND NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = ${key} AND i.bucket >= m.bucket AND i.bucket < m.bucket + ${width})\n` +
    `    UNION ALL\n    SELECT * FROM (\n      SELECT date_bin(${width}, s.time, ${origin}) AS bucket,\n        ${[...r.groupBy.map((g) => `s.${g}`), rawAggregates(r, '        ')].join(',\n        ')}\n` +
    `      FROM ${s.table} s\n      WHERE s.time >= (SELECT min(date_bin(${width}, i.bucket, ${origin})) FROM opsdeck_rollup_invalidations i WHERE i.family = ${key})\n` +
    `        AND date_bin(${width}, s.time, ${origin}) IN (${pending})\n      GROUP BY ${groupList(r)}\n      OFFSET 0\n    ) live\n    WHERE ${anyPending}`;
  return `CREATE VIEW ${r.name} AS\n  ${viewSelect(r, `(\n    ${inner}\n  ) u`)};`;
}

function postgresDDL(s: Stream): string[] {
  const d = s.decl;
  const out = [
    ...tableDDL(s, 'postgres'),
    `INSERT INTO opsdeck_partitioned_tables (table_name, partition_interval, retention) VALUES (${lit(s.table)}, INTERVAL ${lit(s.partitionInterval)}, INTERVAL ${lit(d.retention)});`,
    `SELECT opsdeck_ensure_partitions(${lit(s.table)}, now() - INTERVAL ${lit(s.partitionInterval)}, now() + INTERVAL '3 days');`,
  ];
  for (const r of s.rollups) out.push(...streamRollupDDL(s, r, 'postgres'));
  return out;
}

/**
 * The statements that create one rollup of a stream on a tier: its storage (a continuous
 * aggregate with its policies, or Opsdeck's storage table), the view named by the rollup and
 * its registration. Used for a new stream and, by scripts/gen-rollup-migration.ts, for a
 * rollup added to an existing one.
 */
export function streamRollupDDL(s: Stream, r: StreamRollup, tier: StorageTier): string[] {
  if (tier === 'timescale') {
    const cagg = rollupStorage(r, 'timescale');
    const start = streamRefreshStartSeconds(s, r);
    return [
      `CREATE MATERIALIZED VIEW ${cagg}\n  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS\n  SELECT time_bucket(INTERVAL ${lit(LEVEL_INTERVAL[r.level])}, time) AS bucket,\n    ${[...r.groupBy, rawAggregates(r)].join(',\n    ')}\n  FROM ${s.table}\n  GROUP BY ${groupList(r)}\n  WITH NO DATA;`,
      `SELECT add_continuous_aggregate_policy('${cagg}', start_offset => INTERVAL ${lit(intervalLiteral(start))}, end_offset => INTERVAL ${lit(LEVEL_INTERVAL[r.level])}, schedule_interval => INTERVAL ${lit(r.decl.refreshEvery)});`,
      `SELECT count(*) FROM (SELECT alter_job(job_id, config => config || jsonb_build_object('buckets_per_batch', 0)) FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_schema = 'public' AND hypertable_name = ${lit(cagg)}) s;`,
      `SELECT add_retention_policy('${cagg}', drop_after => INTERVAL ${lit(r.decl.retention)});`,
      ...streamRollupGroupIndexDDL(r, 'timescale'),
      `CREATE VIEW ${r.name} AS\n  ${viewSelect(r, cagg)};`,
      `COMMENT ON VIEW ${r.name} IS ${lit(r.decl.description)};`,
    ];
  }
  const mat = rollupStorage(r, 'postgres');
  const key = lit(r.name);
  const cols = [
    'bucket timestamptz NOT NULL',
    ...r.groupBy.map((g) => `${g} ${STREAM_SQL_TYPES[s.byName.get(g)!.type]}`),
    ...r.storage.map((c) => `${c.name} ${c.sqlType}`),
  ];
  return [
    // Rollup groups may have NULL dimensions (an event without a sending IP): no primary key, a plain index.
    `CREATE TABLE ${mat} (\n  ${cols.join(',\n  ')}\n);`,
    `CREATE INDEX ${mat}_bucket_idx ON ${mat} (bucket DESC);`,
    // A rollup read for one value of a dimension: TimescaleDB indexes each group-by column of a continuous aggregate this way itself.
    ...(r.readBy ? [`CREATE INDEX ${mat}_${r.readBy}_idx ON ${mat} (${r.readBy}, bucket DESC);`] : []),
    ...streamRollupGroupIndexDDL(r, 'postgres'),
    streamRollupViewDDL(s, r),
    `COMMENT ON VIEW ${r.name} IS ${lit(r.decl.description)};`,
    `INSERT INTO opsdeck_rollup_tables (family, level, relation, storage_table, retention) VALUES (${key}, '${r.level}', ${lit(r.name)}, ${lit(mat)}, INTERVAL ${lit(r.decl.retention)});`,
  ];
}

/** Names and columns of a rollup's declared group indexes (groupIndexes) on a tier's storage. */
export function streamRollupGroupIndexes(r: StreamRollup, tier: StorageTier): { name: string; columns: string[] }[] {
  const storage = rollupStorage(r, tier);
  return (r.decl.groupIndexes ?? []).map((ix, k) => ({ name: `${storage}_groups${k === 0 ? '' : k + 1}_idx`, columns: [...ix, 'bucket DESC'] }));
}

/** CREATE INDEX statements of a rollup's group indexes (on a continuous aggregate, TimescaleDB puts them on its materialization). */
export function streamRollupGroupIndexDDL(r: StreamRollup, tier: StorageTier): string[] {
  return streamRollupGroupIndexes(r, tier).map((ix) => `CREATE INDEX ${ix.name} ON ${rollupStorage(r, tier)} (${ix.columns.join(', ')});`);
}

/** The CREATE statements of a stream for one storage tier. */
export function streamDDL(s: Stream, tier: StorageTier): string {
  return `${(tier === 'timescale' ? timescaleDDL(s) : postgresDDL(s)).join('\n\n')}\n`;
}

/** Statements that recompute a postgres-tier rollup's buckets from the raw events: $1 buckets, $2..$3 time range. */
export function streamRefreshSQL(s: Stream, r: StreamRollup): { delete: string; insert: string } {
  const mat = rollupStorage(r, 'postgres');
  const width = `INTERVAL ${lit(LEVEL_INTERVAL[r.level])}`;
  const origin = `timestamptz ${lit(BUCKET_ORIGIN)}`;
  return {
    delete: `DELETE FROM ${mat} WHERE bucket = ANY($1::timestamptz[])`,
    insert:
      `INSERT INTO ${mat} (bucket, ${[...r.groupBy, ...r.storage.map((c) => c.name)].join(', ')})\n` +
      `SELECT date_bin(${width}, s.time, ${origin}) AS bucket,\n    ${[...r.groupBy.map((g) => `s.${g}`), rawAggregates(r)].join(',\n    ')}\n` +
      `FROM ${s.table} s\nWHERE s.time >= $2 AND s.time < $3 AND date_bin(${width}, s.time, ${origin}) = ANY($1::timestamptz[])\nGROUP BY ${groupList(r)}`,
  };
}
