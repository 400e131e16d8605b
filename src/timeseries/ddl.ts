/**
 * DDL for a family on each storage tier, generated from its declaration.
 * `opsdeck db generate <family>` writes this into numbered migration files
 * (reviewable SQL, never edited once applied); the schema-consistency test
 * checks that the migrated database still matches the declaration.
 */
import {
  BUCKET_ORIGIN,
  LEVEL_INTERVAL,
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

function timescaleDDL(f: Family): string[] {
  const d = f.decl;
  const segment = f.identity.join(', ');
  const out = [
    ...tableDDL(f, 'timescale'),
    `ALTER TABLE ${f.table} SET (timescaledb.compress, timescaledb.compress_segmentby = ${lit(segment)}, timescaledb.compress_orderby = 'time DESC');`,
    `SELECT add_compression_policy('${f.table}', compress_after => INTERVAL ${lit(d.compressAfter)});`,
    `SELECT add_retention_policy('${f.table}', drop_after => INTERVAL ${lit(d.retention.raw)});`,
  ];
  const policy: Record<RollupLevel, { start: string; end: string; every: string }> = {
    '5m': { start: '3 days', end: '5 minutes', every: '1 minute' },
    '1h': { start: '3 days', end: '1 hour', every: '15 minutes' },
    '1d': { start: '6 days', end: '1 day', every: '1 hour' },
  };
  let source = f.table;
  for (const level of ROLLUP_LEVELS) {
    const name = d.rollups[level];
    const fromRaw = level === '5m';
    out.push(
      `CREATE MATERIALIZED VIEW ${name}\n  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS\n  SELECT time_bucket(INTERVAL ${lit(LEVEL_INTERVAL[level])}, ${fromRaw ? 'time' : 'bucket'}) AS bucket,\n    ${rollupSelectList(f, 'timescale', fromRaw ? 'raw' : 'rollup')}\n  FROM ${source}\n  GROUP BY ${groupBy(f)}\n  WITH NO DATA;`,
      `SELECT add_continuous_aggregate_policy('${name}', start_offset => INTERVAL ${lit(policy[level].start)}, end_offset => INTERVAL ${lit(policy[level].end)}, schedule_interval => INTERVAL ${lit(policy[level].every)});`,
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
