/**
 * One declaration, no drift: for every family, the migrated database (raw table
 * and rollup relations, on each tier), the Zod ingest schema and the TypeScript
 * row type must agree with the declaration column for column — and the keys and
 * indexes the storage relies on must exist: the raw table's primary key on
 * (identity, time) that makes a retried batch idempotent, its time index, the
 * keys and indexes of the rollup storage on each tier, and (timescale tier) the
 * refresh policies whose windows reach back to the source's retention.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { EXPECTED_TIER, forEachBackend, openMigrated, type MigratedDatabase } from '../../test/support/backends.ts';
import { FAMILIES } from '../modules/families.ts';
import { camelCase, intervalSeconds, ROLLUP_LEVELS, type FamilyRow, type IngestRow } from './family.ts';
import { ingestRowSchema } from './ingest.ts';
import { ingestHorizonSeconds } from './ddl.ts';
import { metricsSystem } from '../modules/system-metrics/family.ts';

const PG_TYPE: Record<string, string> = {
  text: 'text',
  double: 'double precision',
  integer: 'integer',
  bigint: 'bigint',
  boolean: 'boolean',
};

// Compile-time half of the check: the row types are derived from the declaration,
// so a declaration change that the code does not follow fails `npm run typecheck`.
const systemRow: FamilyRow<typeof metricsSystem.decl> = {
  time: new Date(),
  node_id: 'n',
  node_role: null,
  cpu_percent: null,
  cpu_iowait_percent: null,
  ram_used_bytes: null,
  ram_total_bytes: null,
  swap_used_bytes: null,
  disk_used_bytes: null,
  disk_total_bytes: null,
  disk_read_bytes_sec: null,
  disk_write_bytes_sec: null,
  net_rx_bytes_sec: null,
  net_tx_bytes_sec: null,
  load_1m: null,
  load_5m: null,
  load_15m: null,
  tcp_established: null,
  tcp_time_wait: null,
  open_files: null,
  ram_percent: null,
  disk_percent: null,
  disk_free_bytes: null,
  net_rx_errors: null,
  net_tx_errors: null,
};
const systemIngest: Required<IngestRow<typeof metricsSystem.decl>> = {
  timestamp: '',
  nodeId: 'n',
  nodeRole: null,
  cpuPercent: null,
  cpuIowaitPercent: null,
  ramUsedBytes: null,
  ramTotalBytes: null,
  swapUsedBytes: null,
  diskUsedBytes: null,
  diskTotalBytes: null,
  diskReadBytesSec: null,
  diskWriteBytesSec: null,
  netRxBytesSec: null,
  netTxBytesSec: null,
  load1m: null,
  load5m: null,
  load15m: null,
  tcpEstablished: null,
  tcpTimeWait: null,
  openFiles: null,
  ramPercent: null,
  diskPercent: null,
  diskFreeBytes: null,
  netRxErrors: null,
  netTxErrors: null,
};

test('metrics_system: the TS row types cover exactly the declared columns', () => {
  assert.deepEqual(Object.keys(systemRow).sort(), ['time', ...Object.keys(metricsSystem.decl.identity), ...Object.keys(metricsSystem.decl.columns)].sort());
  assert.deepEqual(Object.keys(systemIngest).sort(), Object.keys((ingestRowSchema(metricsSystem) as unknown as z.ZodObject).shape).sort());
  // The requirements' §6.1 metrics_system (20 columns, written here by hand from
  // ../shared/reference/wildduck-dashboard-requirements.md); Opsdeck adds 5.
  const prd = ['time', 'node_id', 'node_role', 'cpu_percent', 'ram_percent', 'ram_used_bytes', 'disk_percent', 'disk_free_bytes', 'disk_read_bytes_sec', 'disk_write_bytes_sec', 'net_rx_bytes_sec', 'net_tx_bytes_sec', 'net_rx_errors', 'net_tx_errors', 'load_1m', 'load_5m', 'load_15m', 'tcp_established', 'tcp_time_wait', 'open_files'];
  assert.equal(prd.length, 20);
  assert.deepEqual(prd.filter((c) => !(c in systemRow)), [], 'every §6.1 column of metrics_system is declared');
  assert.deepEqual(Object.keys(systemRow).filter((c) => !prd.includes(c)).sort(), ['cpu_iowait_percent', 'disk_total_bytes', 'disk_used_bytes', 'ram_total_bytes', 'swap_used_bytes']);
});

test('the other §6.1 metric tables: every column under its name', () => {
  // Hand-written from ../shared/reference/wildduck-dashboard-requirements.md §6.1.
  const prd: Record<string, string[]> = {
    metrics_mongodb: ['role', 'connections_current', 'connections_available', 'ops_insert', 'ops_query', 'ops_update', 'ops_delete', 'ops_command', 'repl_lag_seconds', 'data_size_bytes', 'index_size_bytes', 'storage_size_bytes', 'oplog_window_hours', 'wt_cache_used_bytes', 'wt_cache_max_bytes'],
    metrics_redis: ['memory_used_bytes', 'memory_max_bytes', 'connected_clients', 'ops_per_sec', 'hit_rate', 'evicted_keys', 'total_keys'],
    metrics_zonemta: ['mta_role', 'queue_size', 'active_deliveries', 'sent_total', 'delivered_total', 'bounced_total', 'deferred_total', 'rejected_total', 'connections_active', 'throughput_per_sec'],
    metrics_rspamd: ['scanned', 'ham', 'spam', 'greylist', 'rejected', 'learned_ham', 'learned_spam'],
  };
  for (const [table, cols] of Object.entries(prd)) {
    const f = FAMILIES.find((x) => x.table === table)!;
    assert.ok(f.identity.includes('node_id'), table);
    assert.deepEqual(cols.filter((c) => !f.columns.some((x) => x.name === c)), [], table);
  }
});

test('every family: the Zod ingest schema has exactly the declared fields', () => {
  for (const f of FAMILIES) {
    const shape = Object.keys((ingestRowSchema(f) as unknown as z.ZodObject).shape).sort();
    const expected = ['timestamp', ...f.identity.map(camelCase), ...f.columns.map((c) => c.field)].sort();
    assert.deepEqual(shape, expected, f.table);
  }
});

test('every family: the oldest age ingest should accept lies a day inside every refresh window', () => {
  // METRICS_15S families: raw and 5m kept 90 days, 1h kept 365 days → windows of 90 d − 5 min,
  // 90 d − 1 h and 365 d − 1 d; the narrowest less one day of margin is 88 d 23 h.
  for (const f of FAMILIES) assert.equal(ingestHorizonSeconds(f), 88 * 86400 + 23 * 3600, f.table);
});

forEachBackend('schema matches the declarations', (kind) => {
  let m: MigratedDatabase;
  before(async () => {
    m = await openMigrated(kind);
  });
  after(async () => {
    await m.close();
  });

  const columnsOf = (rel: string) =>
    m.db.queryMany<{ column_name: string; data_type: string; is_nullable: string }>(
      `SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position`,
      [rel],
    );

  test('raw tables: same columns, types and nullability as declared', async () => {
    for (const f of FAMILIES) {
      const cols = await columnsOf(f.table);
      const expected = [
        { column_name: 'time', data_type: 'timestamp with time zone', is_nullable: 'NO' },
        ...f.identity.map((i) => ({ column_name: i, data_type: 'text', is_nullable: 'NO' })),
        ...f.columns.map((c) => ({ column_name: c.name, data_type: PG_TYPE[c.type]!, is_nullable: 'YES' })),
      ];
      assert.deepEqual(cols, expected, f.table);
    }
  });

  test('rollup relations: bucket, identity, one column per aggregate part, samples', async () => {
    for (const f of FAMILIES) {
      for (const level of ROLLUP_LEVELS) {
        const rel = f.decl.rollups[level];
        const cols = (await columnsOf(rel)).map((c) => c.column_name);
        assert.deepEqual(cols, ['bucket', ...f.identity, ...f.rollupColumns.map((r) => r.name), 'samples'], `${f.table} ${level} (${rel})`);
      }
    }
  });

  interface IndexShape {
    name: string;
    primary: boolean;
    unique: boolean;
    columns: string[];
    partial: boolean;
  }
  /** Indexes of a relation: key columns in order, ' DESC' where descending; expression indexes show no columns. */
  const indexesOf = (rel: string) =>
    m.db.queryMany<IndexShape>(
      `SELECT ic.relname AS name, i.indisprimary AS primary, i.indisunique AS unique,
         coalesce((SELECT array_agg(a.attname || CASE WHEN i.indoption[k] & 1 = 1 THEN ' DESC' ELSE '' END ORDER BY k)
                   FROM generate_subscripts(i.indkey, 1) k JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[k]), '{}') AS columns,
         i.indpred IS NOT NULL OR i.indexprs IS NOT NULL AS partial
       FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
       WHERE i.indrelid = $1::regclass ORDER BY ic.relname`,
      [rel],
    );
  const shape = (ix: IndexShape[]) =>
    ix.map(({ primary, unique, columns, partial }) => ({ primary, unique, columns, partial })).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  /** Primary-key and unique constraints with their columns in order. */
  const keysOf = (rel: string) =>
    m.db.queryMany<{ name: string; type: string; columns: string[] }>(
      `SELECT c.conname AS name, c.contype::text AS type,
         (SELECT array_agg(a.attname ORDER BY k.ord) FROM unnest(c.conkey) WITH ORDINALITY k(attnum, ord)
            JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum) AS columns
       FROM pg_constraint c WHERE c.conrelid = $1::regclass AND c.contype IN ('p', 'u') ORDER BY c.conname`,
      [rel],
    );

  test('raw tables: primary key (identity, time), no other unique key, and the time index', async () => {
    for (const f of FAMILIES) {
      const key = [...f.identity, 'time'];
      assert.deepEqual(await keysOf(f.table), [{ name: `${f.table}_pkey`, type: 'p', columns: key }], `${f.table}: keys`);
      assert.deepEqual(
        await indexesOf(f.table),
        [
          { name: `${f.table}_pkey`, primary: true, unique: true, columns: key, partial: false },
          { name: `${f.table}_time_idx`, primary: false, unique: false, columns: ['time DESC'], partial: false },
        ],
        `${f.table}: indexes`,
      );
      if (m.tier === 'postgres') {
        // Every native partition carries both (ON CONFLICT of a retried batch needs the unique one).
        const parts = await m.db.queryMany<{ child: string }>(`SELECT inhrelid::regclass::text AS child FROM pg_inherits WHERE inhparent = $1::regclass`, [f.table]);
        assert.ok(parts.length > 0);
        for (const p of parts) {
          assert.deepEqual(
            shape(await indexesOf(p.child)),
            shape([
              { name: '', primary: true, unique: true, columns: key, partial: false },
              { name: '', primary: false, unique: false, columns: ['time DESC'], partial: false },
            ]),
            `${p.child}: indexes`,
          );
        }
      }
    }
  });

  test('rollup storage: keys and indexes of the tier', async () => {
    for (const f of FAMILIES) {
      for (const level of ROLLUP_LEVELS) {
        const rel = f.decl.rollups[level];
        if (m.tier === 'postgres') {
          // A view over a stored table whose key is (identity, bucket).
          const mat = `_opsdeck_mat_${rel}`;
          const key = [...f.identity, 'bucket'];
          assert.deepEqual(await keysOf(mat), [{ name: `${mat}_pkey`, type: 'p', columns: key }], `${mat}: keys`);
          assert.deepEqual(
            await indexesOf(mat),
            [
              { name: `${mat}_bucket_idx`, primary: false, unique: false, columns: ['bucket DESC'], partial: false },
              { name: `${mat}_pkey`, primary: true, unique: true, columns: key, partial: false },
            ],
            `${mat}: indexes`,
          );
        } else {
          // The continuous aggregate's materialization hypertable: TimescaleDB's bucket index and one per group-by column.
          const r = await m.db.queryOne<{ mat: string }>(
            `SELECT format('%I.%I', materialization_hypertable_schema, materialization_hypertable_name) AS mat FROM timescaledb_information.continuous_aggregates WHERE view_name = $1`,
            [rel],
          );
          assert.ok(r, `${rel} is a continuous aggregate`);
          assert.deepEqual(
            shape(await indexesOf(r.mat)),
            shape([
              { name: '', primary: false, unique: false, columns: ['bucket DESC'], partial: false },
              ...f.identity.map((i) => ({ name: '', primary: false, unique: false, columns: [i, 'bucket DESC'], partial: false })),
            ]),
            `${rel} (${r.mat}): indexes`,
          );
        }
      }
    }
  });

  if (EXPECTED_TIER[kind] === 'postgres') {
    test('postgres tier: the invalidation log is indexed by family and bucket', async () => {
      assert.deepEqual(
        shape(await indexesOf('opsdeck_rollup_invalidations')),
        shape([
          { name: '', primary: true, unique: true, columns: ['id'], partial: false },
          { name: '', primary: false, unique: false, columns: ['family', 'bucket'], partial: false },
        ]),
      );
    });
  }

  if (EXPECTED_TIER[kind] === 'timescale') {
    test('timescale tier: each rollup is refreshed back to its source retention (less one bucket), in one batch per run', async () => {
      // The source of each level, its bucket, and how far before now its refresh window ends:
      // the window starts one bucket short of the source's retention.
      const expected: Record<string, { source: 'raw' | '5m' | '1h'; bucketSeconds: number; endSeconds: number }> = {
        '5m': { source: 'raw', bucketSeconds: 300, endSeconds: 300 },
        '1h': { source: '5m', bucketSeconds: 3600, endSeconds: 3600 },
        '1d': { source: '1h', bucketSeconds: 86400, endSeconds: 86400 },
      };
      for (const f of FAMILIES) {
        for (const level of ROLLUP_LEVELS) {
          const rel = f.decl.rollups[level];
          const jobs = await m.db.queryMany<{ start: number; end: number; batch: string | null }>(
            `SELECT extract(epoch FROM (config->>'start_offset')::interval)::float8 AS start,
                    extract(epoch FROM (config->>'end_offset')::interval)::float8 AS "end",
                    config->>'buckets_per_batch' AS batch
             FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_name = $1`,
            [rel],
          );
          const e = expected[level]!;
          assert.deepEqual(jobs, [{ start: intervalSeconds(f.decl.retention[e.source]) - e.bucketSeconds, end: e.endSeconds, batch: '0' }], `${rel}: refresh policy`);
        }
      }
    });
  }

  test('storage matches the tier: hypertables + continuous aggregates, or partitions + rollup tables', async () => {
    for (const f of FAMILIES) {
      if (m.tier === 'timescale') {
        const h = await m.db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM timescaledb_information.hypertables WHERE hypertable_name = $1`, [f.table]);
        assert.equal(h?.n, 1, `${f.table} is a hypertable`);
        const dims = await m.db.queryOne<{ s: number }>(
          `SELECT extract(epoch FROM time_interval)::float8 AS s FROM timescaledb_information.dimensions WHERE hypertable_name = $1 AND column_name = 'time'`,
          [f.table],
        );
        assert.equal(dims?.s, intervalSeconds(f.decl.chunkInterval), `${f.table} chunk interval`);
        const caggs = await m.db.queryMany<{ view_name: string; materialized_only: boolean }>(
          `SELECT view_name, materialized_only FROM timescaledb_information.continuous_aggregates WHERE view_name = ANY($1::text[])`,
          [Object.values(f.decl.rollups)],
        );
        assert.equal(caggs.length, 3);
        assert.ok(caggs.every((c) => c.materialized_only === false), 'real-time aggregation on');
        const jobs = await m.db.queryMany<{ proc_name: string }>(`SELECT proc_name FROM timescaledb_information.jobs WHERE hypertable_name = $1`, [f.table]);
        assert.deepEqual(jobs.map((j) => j.proc_name).sort(), ['policy_compression', 'policy_retention']);
      } else {
        const parts = await m.db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM pg_inherits WHERE inhparent = $1::regclass`, [f.table]);
        assert.ok((parts?.n ?? 0) >= 4, `${f.table} has partitions created ahead of time`);
        const kindRow = await m.db.queryOne<{ relkind: string }>(`SELECT relkind::text FROM pg_class WHERE relname = $1`, [f.table]);
        assert.equal(kindRow?.relkind, 'p');
      }
    }
  });
});
