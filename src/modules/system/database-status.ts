/**
 * The database health report (homelab-unified-schema-and-api-contracts.md asks
 * for hypertable status and job statistics): tier, versions, time-series
 * tables with their chunks/partitions, rollup freshness, compression and
 * retention, and the latest runs of the jobs that keep them.
 */
import type { Database } from '../../db/database.ts';
import { migrationStatus } from '../../db/migrator.ts';
import type { TimeseriesStore } from '../../timeseries/store.ts';

export interface DatabaseReport {
  tier: string;
  driver: string;
  postgresVersion: string;
  timescaleVersion: string | null;
  timescaleLicense: string | null;
  migrations: { currentVersion: number; pending: number };
  pool: { total: number; idle: number; waiting: number };
  tables: {
    table: string;
    family: string;
    kind: 'hypertable' | 'partitioned';
    chunks: number;
    oldest: string | null;
    newest: string | null;
    compression: { enabled: boolean; compressedChunks: number; beforeBytes: number | null; afterBytes: number | null };
    retention: string;
    rollups: { level: string; relation: string; lastRefreshedAt: string | null; pendingBuckets: number }[];
  }[];
  jobs: { name: string; source: 'timescaledb' | 'opsdeck'; lastRunAt: string | null; lastOutcome: string | null; lastError: string | null; nextRunAt: string | null }[];
  /** Home-lab collection (docs/homelab.md): its tables (estimated rows, newest row) and devices. */
  collection: {
    tables: { table: string; kind: 'hypertable' | 'partitioned' | 'table'; estimatedRows: number; newest: string | null }[];
    devices: number;
    devicesFailing: number;
    hostKeyMismatches: number;
  } | null;
}

/** The home-lab tables and the column that says how new their data is. */
const COLLECTION_TABLES: readonly [string, string][] = [
  ['container_snapshots', 'time'],
  ['drive_health', 'time'],
  ['data_collection_audit', 'time'],
  ['device_io', 'time'],
  ['service_performance_metrics', 'time'],
  ['cache_metadata', 'last_accessed'],
  ['device_ssh_targets', 'last_collection_at'],
  ['device_collection_schedules', 'last_run_at'],
];

async function collectionReport(db: Database, tier: string): Promise<DatabaseReport['collection']> {
  const present = await db.queryOne<{ ok: boolean }>(`SELECT to_regclass('device_ssh_targets') IS NOT NULL AS ok`);
  if (!present?.ok) return null;
  const tables: NonNullable<DatabaseReport['collection']>['tables'] = [];
  for (const [table, column] of COLLECTION_TABLES) {
    const r = await db.queryOne<{ rows: number; newest: Date | null; partitioned: boolean }>(
      `SELECT greatest((SELECT c.reltuples FROM pg_class c WHERE c.oid = $1::regclass), 0)::float8
                + coalesce((SELECT sum(greatest(c.reltuples, 0)) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = $1::regclass), 0)::float8 AS rows,
              (SELECT max(${column}) FROM ${table}) AS newest,
              (SELECT c.relkind = 'p' FROM pg_class c WHERE c.oid = $1::regclass) AS partitioned`,
      [table],
    );
    const stream = column === 'time' && table !== 'service_performance_metrics';
    tables.push({ table, kind: stream ? (tier === 'timescale' ? 'hypertable' : r?.partitioned ? 'partitioned' : 'table') : 'table', estimatedRows: Math.round(r?.rows ?? 0), newest: iso(r?.newest) });
  }
  const d = await db.queryOne<{ devices: number; failing: number; mismatch: number }>(
    `SELECT count(*)::int AS devices, count(*) FILTER (WHERE last_collection_status = 'failed')::int AS failing, count(*) FILTER (WHERE host_key_state = 'mismatch')::int AS mismatch FROM device_ssh_targets`,
  );
  return { tables, devices: d?.devices ?? 0, devicesFailing: d?.failing ?? 0, hostKeyMismatches: d?.mismatch ?? 0 };
}

const iso = (d: Date | string | null | undefined) => (d ? new Date(d).toISOString() : null);

export async function databaseReport(db: Database, store: TimeseriesStore): Promise<DatabaseReport> {
  const v = await db.queryOne<{ pg: string; ts: string | null; lic: string | null }>(
    `SELECT current_setting('server_version') AS pg, (SELECT extversion FROM pg_extension WHERE extname='timescaledb') AS ts, current_setting('timescaledb.license', true) AS lic`,
  );
  const mig = await migrationStatus(db);
  const tables: DatabaseReport['tables'] = [];
  const jobs: DatabaseReport['jobs'] = [];
  if (store.tier === 'timescale') {
    for (const f of store.families()) {
      const h = await db.queryOne<{ chunks: number; oldest: Date | null; newest: Date | null; compressed: number; before: number | null; after: number | null }>(
        `SELECT (SELECT count(*)::int FROM timescaledb_information.chunks c WHERE c.hypertable_name = $1::text) AS chunks,
                (SELECT min(range_start) FROM timescaledb_information.chunks c WHERE c.hypertable_name = $1::text) AS oldest,
                (SELECT max(range_end) FROM timescaledb_information.chunks c WHERE c.hypertable_name = $1::text) AS newest,
                (SELECT count(*)::int FROM timescaledb_information.chunks c WHERE c.hypertable_name = $1::text AND c.is_compressed) AS compressed,
                s.before_compression_total_bytes::float8 AS before, s.after_compression_total_bytes::float8 AS after
         FROM hypertable_compression_stats($1::text::regclass) s`,
        [f.table],
      );
      const rollups = [];
      for (const [level, rel] of Object.entries(f.decl.rollups)) {
        const r = await db.queryOne<{ last: Date | null }>(
          `SELECT max(js.last_successful_finish) AS last FROM timescaledb_information.jobs j
           JOIN timescaledb_information.job_stats js USING (job_id)
           WHERE j.proc_name = 'policy_refresh_continuous_aggregate' AND j.hypertable_name = $1`,
          [rel],
        );
        rollups.push({ level, relation: rel, lastRefreshedAt: iso(r?.last), pendingBuckets: 0 });
      }
      tables.push({
        table: f.table,
        family: f.key,
        kind: 'hypertable',
        chunks: h?.chunks ?? 0,
        oldest: iso(h?.oldest),
        newest: iso(h?.newest),
        compression: { enabled: true, compressedChunks: h?.compressed ?? 0, beforeBytes: h?.before ?? null, afterBytes: h?.after ?? null },
        retention: f.decl.retention.raw,
        rollups,
      });
    }
    const js = await db.queryMany<{ job_id: number; proc_name: string; hypertable_name: string | null; last_run_started_at: Date | null; last_run_status: string | null; next_start: Date | null }>(
      `SELECT j.job_id, j.proc_name, j.hypertable_name, s.last_run_started_at, s.last_run_status, s.next_start
       FROM timescaledb_information.jobs j LEFT JOIN timescaledb_information.job_stats s USING (job_id) ORDER BY j.job_id`,
    );
    for (const j of js) {
      jobs.push({ name: `${j.proc_name}${j.hypertable_name ? `(${j.hypertable_name})` : ''}#${j.job_id}`, source: 'timescaledb', lastRunAt: iso(j.last_run_started_at), lastOutcome: j.last_run_status, lastError: null, nextRunAt: iso(j.next_start) });
    }
  } else {
    for (const f of store.families()) {
      const p = await db.queryOne<{ chunks: number; oldest: string | null; newest: string | null }>(
        `SELECT count(*)::int AS chunks,
                min((regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \\(''([^'']+)''\\)'))[1]) AS oldest,
                max((regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \\(''([^'']+)''\\)'))[1]) AS newest
         FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = $1::regclass`,
        [f.table],
      );
      const rollups = await db.queryMany<{ level: string; relation: string; last_refreshed_at: Date | null; pending: number }>(
        `SELECT r.level, r.relation, r.last_refreshed_at,
                (SELECT count(DISTINCT bucket)::int FROM opsdeck_rollup_invalidations i WHERE i.family = r.family) AS pending
         FROM opsdeck_rollup_tables r WHERE r.family = $1 ORDER BY r.level`,
        [f.table],
      );
      tables.push({
        table: f.table,
        family: f.key,
        kind: 'partitioned',
        chunks: p?.chunks ?? 0,
        oldest: iso(p?.oldest),
        newest: iso(p?.newest),
        compression: { enabled: false, compressedChunks: 0, beforeBytes: null, afterBytes: null },
        retention: f.decl.retention.raw,
        rollups: rollups.map((r) => ({ level: r.level, relation: r.relation, lastRefreshedAt: iso(r.last_refreshed_at), pendingBuckets: r.pending })),
      });
    }
  }
  const own = await db.queryMany<{ job: string; started_at: Date; outcome: string; error: string | null }>(
    `SELECT DISTINCT ON (job) job, started_at, outcome, error FROM opsdeck_job_runs WHERE outcome <> 'skipped' ORDER BY job, started_at DESC`,
  );
  for (const j of own) jobs.push({ name: j.job, source: 'opsdeck', lastRunAt: iso(j.started_at), lastOutcome: j.outcome, lastError: j.error, nextRunAt: null });
  return {
    tier: store.tier,
    driver: db.driver,
    postgresVersion: v?.pg ?? 'unknown',
    timescaleVersion: v?.ts ?? null,
    timescaleLicense: v?.lic || null,
    migrations: { currentVersion: mig.currentVersion, pending: mig.pending },
    pool: db.poolStats(),
    tables,
    jobs,
    collection: await collectionReport(db, store.tier),
  };
}
