/**
 * DDL for a family on each storage tier, generated from its declaration.
 * `opsdeck db generate <family>` writes this into numbered migration files
 * (reviewable SQL, never edited once applied); the schema-consistency test
 * checks that the migrated database still matches the declaration.
 */
import {
  BUCKET_ORIGIN,
  intervalSeconds,
  LEVEL_INTERVAL,
  LEVEL_SECONDS,
  ROLLUP_LEVELS,
  SQL_TYPES,
  type Family,
  type RollupLevel,
} from './family.ts';

export type StorageTier = 'timescale' | 'postgres';

const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** Storage table of a postgres-tier rollup (the relation named in the declaration is a view over it). */
export function materializedTable(f: Family, level: RollupLevel): string {
  return `_opsdeck_mat_${f.decl.rollups[level]}`;
}

function tableDDL(f: Family, tier: StorageTier): string[] {
  const cols = [
    'time timestamptz NOT NULL',
    ...f.identity.map((i) => `${i} text NOT NULL`),
    ...f.columns.map((c) => `${c.name} ${SQL_TYPES[c.type]}`),
  ];
  const pk = `PRIMARY KEY (${[...f.identity, 'time'].join(', ')})`;
  const out = [
    `CREATE TABLE ${f.table} (\n  ${[...cols, pk].join(',\n  ')}\n)${tier === 'postgres' ? ' PARTITION BY RANGE (time)' : ''};`,
  ];
  if (tier === 'timescale') {
    out.push(`SELECT create_hypertable('${f.table}', by_range('time', INTERVAL ${lit(f.decl.chunkInterval)}), create_default_indexes => false);`);
  }
  out.push(`CREATE INDEX ${f.table}_time_idx ON ${f.table} (time DESC);`);
  out.push(`COMMENT ON TABLE ${f.table} IS ${lit(`${f.decl.title}: ${f.decl.description}`)};`);
  for (const [name, id] of Object.entries(f.decl.identity)) out.push(`COMMENT ON COLUMN ${f.table}.${name} IS ${lit(`identity: ${id.description}`)};`);
  for (const c of f.columns) out.push(`COMMENT ON COLUMN ${f.table}.${c.name} IS ${lit(`[${c.unit}; ${c.agg}] ${c.description}`)};`);
  return out;
}

function rollupSelectList(f: Family, tier: StorageTier, from: 'raw' | 'rollup'): string {
  return [
    ...f.identity,
    ...f.rollupColumns.map((r) => `${from === 'raw' ? r.fromRaw(tier) : r.fromRollup(tier)} AS ${r.name}`),
    from === 'raw' ? 'count(*) AS samples' : 'sum(samples)::bigint AS samples',
  ].join(',\n    ');
}

const groupBy = (f: Family) => ['1', ...f.identity.map((_, i) => String(i + 2))].join(', ');

/**
 * The refresh policy of a timescale-tier rollup. A policy run recomputes the
 * invalidated buckets inside its window, so the window reaches back as far as
 * the rollup's SOURCE keeps rows (raw retention for 5m, 5m retention for 1h,
 * 1h retention for 1d) less one bucket of the level: rows ingested late or
 * backfilled at any age the source still holds are materialized by the next
 * run. It must not reach further: a refresh over a region whose source chunks
 * retention dropped would delete or truncate the rollup's buckets there, and
 * the bucket that straddles the retention horizon may hold such a region when
 * the source's chunks are not aligned to the level's buckets (TimescaleDB makes
 * the rollups' chunks 10 hours wide; 1d buckets are days). See docs/adr/0006-rollup-refresh-windows.md.
 */
export interface RefreshPolicy {
  /** start_offset: the retention of the level's source less one bucket of the level. */
  start: string;
  startSeconds: number;
  end: string;
  every: string;
}

/** Seconds as a PostgreSQL interval literal: '90 days', '89 days 23:55:00'. */
export function intervalLiteral(seconds: number): string {
  const days = Math.floor(seconds / 86_400);
  const rest = seconds - days * 86_400;
  if (rest === 0) return `${days} days`;
  const two = (n: number) => String(n).padStart(2, '0');
  return `${days} days ${two(Math.floor(rest / 3600))}:${two(Math.floor((rest % 3600) / 60))}:${two(rest % 60)}`;
}

const POLICY_SOURCE: Record<RollupLevel, { source: 'raw' | RollupLevel; end: string; every: string }> = {
  '5m': { source: 'raw', end: '5 minutes', every: '1 minute' },
  '1h': { source: '5m', end: '1 hour', every: '15 minutes' },
  '1d': { source: '1h', end: '1 day', every: '1 hour' },
};

export function refreshPolicy(f: Family, level: RollupLevel): RefreshPolicy {
  const p = POLICY_SOURCE[level];
  const startSeconds = intervalSeconds(f.decl.retention[p.source]) - LEVEL_SECONDS[level];
  return { start: intervalLiteral(startSeconds), startSeconds, end: p.end, every: p.every };
}

/**
 * Time between a row's ingest and the end of its refresh window that the
 * policies need to materialize it at every level (5m within a minute, then 1h
 * within 15 minutes, 1d within an hour, plus a busy scheduler): ingest refuses
 * rows older than ingestHorizonSeconds, which keeps this much inside every window.
 */
export const REFRESH_MARGIN_SECONDS = 86_400;

/**
 * Oldest sample age (seconds) ingest may accept so that the row reaches every
 * rollup level on the timescale tier: the narrowest refresh window minus
 * REFRESH_MARGIN_SECONDS.
 */
export function ingestHorizonSeconds(f: Family): number {
  return Math.min(...ROLLUP_LEVELS.map((l) => refreshPolicy(f, l).startSeconds)) - REFRESH_MARGIN_SECONDS;
}

/**
 * The SQL that sets a refresh policy's window on an existing rollup (keeps the
 * job id and schedule) — also what migration 0008 runs for the families that
 * existed before windows followed retention. `buckets_per_batch = 0` makes a
 * run one refresh over the window (TimescaleDB ≥ 2.19 otherwise splits the
 * window into one-bucket batches, which over 90 days costs a second per run
 * even with nothing to do, and caps the batches per run, so a large backfill
 * could age out of the window before it is reached). Versions before 2.19 do
 * not read the key and always refresh in one batch.
 */
export function refreshPolicyConfigSQL(f: Family, level: RollupLevel): string {
  const name = f.decl.rollups[level];
  const p = refreshPolicy(f, level);
  const config = `jsonb_build_object('start_offset', ${lit(p.start)}, 'buckets_per_batch', 0)`;
  return `SELECT count(*) FROM (SELECT alter_job(job_id, config => config || ${config}) FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_schema = 'public' AND hypertable_name = ${lit(name)}) s;`;
}

function refreshPolicyDDL(f: Family, level: RollupLevel): string[] {
  const name = f.decl.rollups[level];
  const p = refreshPolicy(f, level);
  return [
    `SELECT add_continuous_aggregate_policy('${name}', start_offset => INTERVAL ${lit(p.start)}, end_offset => INTERVAL ${lit(p.end)}, schedule_interval => INTERVAL ${lit(p.every)});`,
    refreshPolicyConfigSQL(f, level),
  ];
}

function timescaleDDL(f: Family): string[] {
  const d = f.decl;
  const segment = f.identity.join(', ');
  const out = [
    ...tableDDL(f, 'timescale'),
    `ALTER TABLE ${f.table} SET (timescaledb.compress, timescaledb.compress_segmentby = ${lit(segment)}, timescaledb.compress_orderby = 'time DESC');`,
    `SELECT add_compression_policy('${f.table}', compress_after => INTERVAL ${lit(d.compressAfter)});`,
    `SELECT add_retention_policy('${f.table}', drop_after => INTERVAL ${lit(d.retention.raw)});`,
  ];
  let source = f.table;
  for (const level of ROLLUP_LEVELS) {
    const name = d.rollups[level];
    const fromRaw = level === '5m';
    out.push(
      `CREATE MATERIALIZED VIEW ${name}\n  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS\n  SELECT time_bucket(INTERVAL ${lit(LEVEL_INTERVAL[level])}, ${fromRaw ? 'time' : 'bucket'}) AS bucket,\n    ${rollupSelectList(f, 'timescale', fromRaw ? 'raw' : 'rollup')}\n  FROM ${source}\n  GROUP BY ${groupBy(f)}\n  WITH NO DATA;`,
      ...refreshPolicyDDL(f, level),
      `SELECT add_retention_policy('${name}', drop_after => INTERVAL ${lit(d.retention[level])});`,
    );
    source = name;
  }
  return out;
}

function postgresDDL(f: Family): string[] {
  const d = f.decl;
  const out = [
    ...tableDDL(f, 'postgres'),
    `INSERT INTO opsdeck_partitioned_tables (table_name, partition_interval, retention) VALUES (${lit(f.table)}, INTERVAL ${lit(f.partitionInterval)}, INTERVAL ${lit(d.retention.raw)});`,
    `SELECT opsdeck_ensure_partitions(${lit(f.table)}, now() - INTERVAL ${lit(f.partitionInterval)}, now() + INTERVAL '3 days');`,
  ];
  const fam = lit(f.table);
  const origin = `timestamptz ${lit(BUCKET_ORIGIN)}`;
  let source = f.table;
  let prev: RollupLevel | null = null;
  for (const level of ROLLUP_LEVELS) {
    const name = d.rollups[level];
    const mat = materializedTable(f, level);
    const width = `INTERVAL ${lit(LEVEL_INTERVAL[level])}`;
    const cols = [
      'bucket timestamptz NOT NULL',
      ...f.identity.map((i) => `${i} text NOT NULL`),
      ...f.rollupColumns.map((r) => `${r.name} ${r.sqlType}`),
      'samples bigint NOT NULL',
      `PRIMARY KEY (${[...f.identity, 'bucket'].join(', ')})`,
    ];
    const srcTime = prev === null ? 'time' : 'bucket';
    // Buckets of this level that still have unprocessed invalidations: read live from the source.
    const pendingOfLevel = `SELECT date_bin(${width}, i.bucket, ${origin}) FROM opsdeck_rollup_invalidations i WHERE i.family = ${fam}`;
    out.push(
      `CREATE TABLE ${mat} (\n  ${cols.join(',\n  ')}\n);`,
      `CREATE INDEX ${mat}_bucket_idx ON ${mat} (bucket DESC);`,
      `CREATE VIEW ${name} AS\n  SELECT m.bucket, ${[...f.identity, ...f.rollupColumns.map((r) => r.name), 'samples'].map((c) => `m.${c}`).join(', ')}\n  FROM ${mat} m\n  WHERE NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = ${fam} AND i.bucket >= m.bucket AND i.bucket < m.bucket + ${width})\n  UNION ALL\n  SELECT date_bin(${width}, s.${srcTime}, ${origin}) AS bucket,\n    ${rollupSelectList(f, 'postgres', prev === null ? 'raw' : 'rollup')}\n  FROM ${source} s\n  WHERE s.${srcTime} >= (SELECT min(date_bin(${width}, i.bucket, ${origin})) FROM opsdeck_rollup_invalidations i WHERE i.family = ${fam})\n    AND date_bin(${width}, s.${srcTime}, ${origin}) IN (${pendingOfLevel})\n  GROUP BY ${groupBy(f)};`,
      `INSERT INTO opsdeck_rollup_tables (family, level, relation, storage_table, retention) VALUES (${fam}, '${level}', ${lit(name)}, ${lit(mat)}, INTERVAL ${lit(d.retention[level])});`,
    );
    source = name;
    prev = level;
  }
  return out;
}

/** The CREATE statements of a family for one storage tier. */
export function familyDDL(f: Family, tier: StorageTier): string {
  const stmts = tier === 'timescale' ? timescaleDDL(f) : postgresDDL(f);
  return `${stmts.join('\n\n')}\n`;
}

/** The statements that recompute rollup buckets from their source (postgres tier). */
export function refreshSQL(f: Family, level: RollupLevel): { delete: string; insert: string } {
  const mat = materializedTable(f, level);
  const width = `INTERVAL ${lit(LEVEL_INTERVAL[level])}`;
  const origin = `timestamptz ${lit(BUCKET_ORIGIN)}`;
  const idx = ROLLUP_LEVELS.indexOf(level);
  const fromRaw = idx === 0;
  const source = fromRaw ? f.table : materializedTable(f, ROLLUP_LEVELS[idx - 1]!);
  const t = fromRaw ? 'time' : 'bucket';
  return {
    delete: `DELETE FROM ${mat} WHERE bucket = ANY($1::timestamptz[])`,
    insert:
      `INSERT INTO ${mat} (bucket, ${[...f.identity, ...f.rollupColumns.map((r) => r.name), 'samples'].join(', ')})\n` +
      `SELECT date_bin(${width}, s.${t}, ${origin}) AS bucket,\n    ${rollupSelectList(f, 'postgres', fromRaw ? 'raw' : 'rollup')}\n` +
      `FROM ${source} s\nWHERE s.${t} >= $2 AND s.${t} < $3 AND date_bin(${width}, s.${t}, ${origin}) = ANY($1::timestamptz[])\nGROUP BY ${groupBy(f)}`,
  };
}
