/**
 * One declaration, no drift: for every family, the migrated database (raw table
 * and rollup relations, on each tier), the Zod ingest schema and the TypeScript
 * row type must agree with the declaration column for column.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { forEachBackend, openMigrated, type MigratedDatabase } from '../../test/support/backends.ts';
import { FAMILIES } from './registry.ts';
import { camelCase, intervalSeconds, ROLLUP_LEVELS, type FamilyRow, type IngestRow } from './family.ts';
import { ingestRowSchema } from './ingest.ts';
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
  disk_read_bytes_per_sec: null,
  disk_write_bytes_per_sec: null,
  net_rx_bytes_per_sec: null,
  net_tx_bytes_per_sec: null,
  load_1m: null,
  load_5m: null,
  load_15m: null,
  tcp_established: null,
  tcp_time_wait: null,
  open_files: null,
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
  diskReadBytesPerSec: null,
  diskWriteBytesPerSec: null,
  netRxBytesPerSec: null,
  netTxBytesPerSec: null,
  load1m: null,
  load5m: null,
  load15m: null,
  tcpEstablished: null,
  tcpTimeWait: null,
  openFiles: null,
};

test('metrics_system: the TS row types cover exactly the declared columns', () => {
  assert.deepEqual(Object.keys(systemRow).sort(), ['time', ...Object.keys(metricsSystem.decl.identity), ...Object.keys(metricsSystem.decl.columns)].sort());
  assert.deepEqual(Object.keys(systemIngest).sort(), Object.keys((ingestRowSchema(metricsSystem) as unknown as z.ZodObject).shape).sort());
  assert.equal(Object.keys(systemRow).length, 20, 'the seed sketches metrics_system with 20 columns');
});

test('every family: the Zod ingest schema has exactly the declared fields', () => {
  for (const f of FAMILIES) {
    const shape = Object.keys((ingestRowSchema(f) as unknown as z.ZodObject).shape).sort();
    const expected = ['timestamp', ...f.identity.map(camelCase), ...f.columns.map((c) => c.field)].sort();
    assert.deepEqual(shape, expected, f.table);
  }
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
