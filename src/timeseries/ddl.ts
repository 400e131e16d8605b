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
  perDeclaration,
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
export const ingestHorizonSeconds = perDeclaration(
  (f: Family): number => Math.min(...ROLLUP_LEVELS.map((l) => refreshPolicy(f, l).startSeconds)) - REFRESH_MARGIN_SECONDS,
);

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

/** One continuous aggregate of a family with its refresh and retention policies (timescale tier). */
function timescaleRollupDDL(f: Family, level: RollupLevel): string[] {
  const d = f.decl;
  const name = d.rollups[level];
  const idx = ROLLUP_LEVELS.indexOf(level);
  const fromRaw = idx === 0;
  const source = fromRaw ? f.table : d.rollups[ROLLUP_LEVELS[idx - 1]!];
  return [
    `CREATE MATERIALIZED VIEW ${name}\n  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS\n  SELECT time_bucket(INTERVAL ${lit(LEVEL_INTERVAL[level])}, ${fromRaw ? 'time' : 'bucket'}) AS bucket,\n    ${rollupSelectList(f, 'timescale', fromRaw ? 'raw' : 'rollup')}\n  FROM ${source}\n  GROUP BY ${groupBy(f)}\n  WITH NO DATA;`,
    ...refreshPolicyDDL(f, level),
    `SELECT add_retention_policy('${name}', drop_after => INTERVAL ${lit(d.retention[level])});`,
  ];
}

function timescaleDDL(f: Family): string[] {
  const d = f.decl;
  const segment = f.identity.join(', ');
  return [
    ...tableDDL(f, 'timescale'),
    `ALTER TABLE ${f.table} SET (timescaledb.compress, timescaledb.compress_segmentby = ${lit(segment)}, timescaledb.compress_orderby = 'time DESC');`,
    `SELECT add_compression_policy('${f.table}', compress_after => INTERVAL ${lit(d.compressAfter)});`,
    `SELECT add_retention_policy('${f.table}', drop_after => INTERVAL ${lit(d.retention.raw)});`,
    ...ROLLUP_LEVELS.flatMap((level) => timescaleRollupDDL(f, level)),
  ];
}

/** The storage table of a postgres-tier rollup: (identity, bucket) key, one column per aggregate part. */
function postgresRollupTableDDL(f: Family, level: RollupLevel): string[] {
  const mat = materializedTable(f, level);
  const cols = [
    'bucket timestamptz NOT NULL',
    ...f.identity.map((i) => `${i} text NOT NULL`),
    ...f.rollupColumns.map((r) => `${r.name} ${r.sqlType}`),
    'samples bigint NOT NULL',
    `PRIMARY KEY (${[...f.identity, 'bucket'].join(', ')})`,
  ];
  return [`CREATE TABLE ${mat} (\n  ${cols.join(',\n  ')}\n);`, `CREATE INDEX ${mat}_bucket_idx ON ${mat} (bucket DESC);`];
}

/**
 * The relation named in the declaration (postgres tier): the stored buckets without
 * pending invalidations, plus the invalidated buckets computed live from the source.
 * Three branches, two of them gated on whether the family has any pending invalidation
 * (an uncorrelated EXISTS: a one-time filter, so a gated-off branch is never executed):
 * with none, a query reads the stored buckets alone — no anti-join per row, and the live
 * branch (fenced by OFFSET 0 so the gate stays above it) starts no scan and no parallel
 * workers, which otherwise cost tens of milliseconds per query.
 */
export function postgresRollupViewDDL(f: Family, level: RollupLevel): string {
  return `CREATE VIEW ${f.decl.rollups[level]} AS\n${postgresRollupSQL(f, level)};`;
}

/**
 * The body of the view above. With `columns` (rollup column names), the same three branches
 * carrying only the bucket, the identity, those columns and `samples`: a query reads it in place
 * of the view (as a subquery), because PostgreSQL cannot narrow a view's gated branches — each
 * stays a subquery (a UNION ALL member with a WHERE is not pulled up) that forms every column of
 * every row it passes on (about a tenth of a 72,000-row chart's time in the database).
 */
export function postgresRollupSQL(f: Family, level: RollupLevel, columns?: readonly string[]): string {
  const fam = lit(f.table);
  const origin = `timestamptz ${lit(BUCKET_ORIGIN)}`;
  const idx = ROLLUP_LEVELS.indexOf(level);
  const prev = idx === 0 ? null : ROLLUP_LEVELS[idx - 1]!;
  const source = prev === null ? f.table : f.decl.rollups[prev];
  const mat = materializedTable(f, level);
  const width = `INTERVAL ${lit(LEVEL_INTERVAL[level])}`;
  const srcTime = prev === null ? 'time' : 'bucket';
  // Buckets of this level that still have unprocessed invalidations: read live from the source.
  const pendingOfLevel = `SELECT date_bin(${width}, i.bucket, ${origin}) FROM opsdeck_rollup_invalidations i WHERE i.family = ${fam}`;
  const names = [...f.identity, ...(columns ?? f.rollupColumns.map((r) => r.name)), 'samples'];
  const stored = names.map((c) => `m.${c}`).join(', ');
  const live = columns === undefined ? '*' : ['bucket', ...names].map((c) => `live.${c}`).join(', ');
  const anyPending = `EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = ${fam})`;
  return `  SELECT m.bucket, ${stored}\n  FROM ${mat} m\n  WHERE NOT ${anyPending}\n  UNION ALL\n  SELECT m.bucket, ${stored}\n  FROM ${mat} m\n  WHERE ${anyPending}\n    AND NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = ${fam} AND i.bucket >= m.bucket AND i.bucket < m.bucket + ${width})\n  UNION ALL\n  SELECT ${live} FROM (\n    SELECT date_bin(${width}, s.${srcTime}, ${origin}) AS bucket,\n    ${rollupSelectList(f, 'postgres', prev === null ? 'raw' : 'rollup')}\n    FROM ${source} s\n    WHERE s.${srcTime} >= (SELECT min(date_bin(${width}, i.bucket, ${origin})) FROM opsdeck_rollup_invalidations i WHERE i.family = ${fam})\n      AND date_bin(${width}, s.${srcTime}, ${origin}) IN (${pendingOfLevel})\n    GROUP BY ${groupBy(f)}\n    OFFSET 0\n  ) live\n  WHERE ${anyPending}`;
}

function postgresDDL(f: Family): string[] {
  const d = f.decl;
  const out = [
    ...tableDDL(f, 'postgres'),
    `INSERT INTO opsdeck_partitioned_tables (table_name, partition_interval, retention) VALUES (${lit(f.table)}, INTERVAL ${lit(f.partitionInterval)}, INTERVAL ${lit(d.retention.raw)});`,
    `SELECT opsdeck_ensure_partitions(${lit(f.table)}, now() - INTERVAL ${lit(f.partitionInterval)}, now() + INTERVAL '3 days');`,
  ];
  for (const level of ROLLUP_LEVELS) {
    out.push(
      ...postgresRollupTableDDL(f, level),
      postgresRollupViewDDL(f, level),
      `INSERT INTO opsdeck_rollup_tables (family, level, relation, storage_table, retention) VALUES (${lit(f.table)}, '${level}', ${lit(d.rollups[level])}, ${lit(materializedTable(f, level))}, INTERVAL ${lit(d.retention[level])});`,
    );
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

/**
 * A change of a family's columns after its table exists: the forward migration that
 * brings a database from the previous declaration to the current one. Renamed
 * columns keep their values (and, on the postgres tier, their rollup buckets);
 * added columns are appended (the declaration lists them last, in this order) and
 * may be filled for the rows stored before from the other columns.
 */
export interface ColumnChange {
  /** Old name → current name. The aggregate of a renamed column does not change. */
  readonly renamed?: Readonly<Record<string, string>>;
  /** Columns added, in the order the declaration lists them (its last columns). */
  readonly added?: readonly string[];
  /** Added column → SQL expression over a stored row (current names) that fills it where it is null. */
  readonly backfill?: Readonly<Record<string, string>>;
}

function columnChangeTableDDL(f: Family, change: ColumnChange): string[] {
  const out: string[] = [];
  const byName = new Map(f.columns.map((c) => [c.name, c]));
  for (const [from, to] of Object.entries(change.renamed ?? {})) {
    const c = byName.get(to);
    if (!c) throw new Error(`${f.table}: renamed column ${to} is not declared`);
    out.push(`ALTER TABLE ${f.table} RENAME COLUMN ${from} TO ${to};`);
  }
  const added = change.added ?? [];
  const tail = f.columns.slice(f.columns.length - added.length).map((c) => c.name);
  if (JSON.stringify(tail) !== JSON.stringify(added)) throw new Error(`${f.table}: added columns must be the declaration's last columns, in order (${tail.join(', ')})`);
  for (const name of added) out.push(`ALTER TABLE ${f.table} ADD COLUMN ${name} ${SQL_TYPES[byName.get(name)!.type]};`);
  for (const name of [...Object.values(change.renamed ?? {}), ...added]) {
    const c = byName.get(name)!;
    out.push(`COMMENT ON COLUMN ${f.table}.${c.name} IS ${lit(`[${c.unit}; ${c.agg}] ${c.description}`)};`);
  }
  const fill = Object.entries(change.backfill ?? {});
  if (fill.length) {
    for (const [name] of fill) if (!added.includes(name)) throw new Error(`${f.table}: backfill of ${name}, which is not added`);
    out.push(`UPDATE ${f.table} SET ${fill.map(([name, expr]) => `${name} = ${expr}`).join(',\n  ')}\n  WHERE ${fill.map(([, expr]) => `(${expr}) IS NOT NULL`).join('\n     OR ')};`);
  }
  return out;
}

/**
 * The migration SQL of a column change on one tier.
 *
 * postgres tier: the rollup views are dropped and recreated from the declaration;
 * their storage tables are altered in place (renamed and added aggregate columns),
 * so every stored bucket is kept, and when columns are backfilled every 5-minute
 * bucket that still has raw rows is invalidated: the rollup-refresh job recomputes
 * it (until then the views compute it live).
 *
 * timescale tier: TimescaleDB cannot add columns to a continuous aggregate, so the
 * three are dropped and created again from the declaration. Buckets the raw rows
 * still cover are recomputed (real-time aggregation answers from the raw rows at
 * once; the refresh policies materialize them). Buckets that begin before the
 * oldest raw row cannot be recomputed (wholly) from it: they are copied first, as
 * JSON rows with their values before the change, into opsdeck_rollup_archive
 * (docs/adr/0010-changing-family-columns.md).
 */
export function familyColumnChangeDDL(f: Family, tier: StorageTier, change: ColumnChange): string {
  const d = f.decl;
  const out: string[] = [];
  const levelsDown = [...ROLLUP_LEVELS].reverse();
  if (tier === 'timescale') {
    for (const level of ROLLUP_LEVELS) {
      const name = d.rollups[level];
      out.push(
        `INSERT INTO opsdeck_rollup_archive (relation, bucket, row)\n  SELECT ${lit(name)}, r.bucket, to_jsonb(r) FROM ${name} r\n  WHERE r.bucket < coalesce((SELECT min(time) FROM ${f.table}), 'infinity');`,
      );
    }
    for (const level of levelsDown) out.push(`DROP MATERIALIZED VIEW ${d.rollups[level]};`);
    out.push(...columnChangeTableDDL(f, change));
    for (const level of ROLLUP_LEVELS) out.push(...timescaleRollupDDL(f, level));
  } else {
    for (const level of levelsDown) out.push(`DROP VIEW ${d.rollups[level]};`);
    out.push(...columnChangeTableDDL(f, change));
    const renamed = Object.entries(change.renamed ?? {});
    const added = new Set(change.added ?? []);
    for (const level of ROLLUP_LEVELS) {
      const mat = materializedTable(f, level);
      for (const r of f.rollupColumns) {
        const old = renamed.find(([, to]) => to === r.source);
        if (old) out.push(`ALTER TABLE ${mat} RENAME COLUMN ${old[0]}${r.name.slice(r.source.length)} TO ${r.name};`);
        else if (added.has(r.source)) out.push(`ALTER TABLE ${mat} ADD COLUMN ${r.name} ${r.sqlType};`);
      }
    }
    for (const level of ROLLUP_LEVELS) out.push(postgresRollupViewDDL(f, level));
    if (Object.keys(change.backfill ?? {}).length) {
      out.push(
        `INSERT INTO opsdeck_rollup_invalidations (family, bucket)\n  SELECT DISTINCT ${lit(f.table)}, date_bin(INTERVAL '5 minutes', time, timestamptz ${lit(BUCKET_ORIGIN)}) FROM ${f.table};`,
      );
    }
  }
  return `${out.join('\n\n')}\n`;
}
