/**
 * metrics_mongodb against the contract of mongodb-metrics-fix-and-cluster-status.md:
 * the seed's field names in, its column names in the database, the same fields out,
 * its rollup names and aggregates; the old wrong names rejected.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachBackend, openMigrated, type MigratedDatabase } from '../../../test/support/backends.ts';
import { IngestValidationError } from '../../timeseries/ingest.ts';
import { FAMILIES } from '../families.ts';
import { checkFamilyLifecycle } from '../mail-cluster/family-test-kit.ts';
import { getMongoClusterStatus } from './cluster-status.ts';
import { metricsMongodb } from './family.ts';

/** The seed's columns, in its order ("Drizzle schema (correct)" + Step 2's INSERT). */
const SEED_COLUMNS = [
  'time',
  'node_id',
  'role',
  'connections_current',
  'connections_available',
  'ops_insert',
  'ops_query',
  'ops_update',
  'ops_delete',
  'ops_command',
  'repl_lag_seconds',
  'data_size_bytes',
  'index_size_bytes',
  'storage_size_bytes',
  'oplog_window_hours',
  'wt_cache_used_bytes',
  'wt_cache_max_bytes',
];

/**
 * The mail-cluster agent's second-version fields (tinovn/tinomail-monitor ab918c1,
 * packages/shared/src/types/system-metrics.ts MongodbMetrics), as columns after the seed's.
 */
const AGENT_V2_COLUMNS = [
  'wt_cache_dirty_bytes',
  'wt_cache_timeout_count',
  'wt_eviction_calls',
  'conn_app_imap',
  'conn_app_smtp',
  'conn_app_internal',
  'conn_app_monitoring',
  'conn_app_other',
  'gridfs_messages_bytes',
  'gridfs_attach_files_bytes',
  'gridfs_attach_chunks_bytes',
  'gridfs_storage_files_bytes',
  'gridfs_storage_chunks_bytes',
];

/** The seed's Step 1 Zod schema fields. */
const SEED_FIELDS = [
  'nodeId',
  'timestamp',
  'role',
  'connectionsCurrent',
  'connectionsAvailable',
  'opsInsert',
  'opsQuery',
  'opsUpdate',
  'opsDelete',
  'opsCommand',
  'replLagSeconds',
  'dataSizeBytes',
  'indexSizeBytes',
  'storageSizeBytes',
  'oplogWindowHours',
  'wtCacheUsedBytes',
  'wtCacheMaxBytes',
];

function seedRow(nodeId: string, timestamp: string) {
  return {
    nodeId,
    timestamp,
    role: 'secondary',
    connectionsCurrent: 412,
    connectionsAvailable: 50_788,
    opsInsert: 1200,
    opsQuery: 9100,
    opsUpdate: 2400,
    opsDelete: 310,
    opsCommand: 14_000,
    replLagSeconds: 1.25,
    dataSizeBytes: 183_000_000_000,
    indexSizeBytes: 20_100_000_000,
    storageSizeBytes: 84_200_000_000,
    oplogWindowHours: 51.5,
    wtCacheUsedBytes: 6_012_345_678,
    wtCacheMaxBytes: 8_053_063_680,
  };
}

test('the declaration has exactly the seed columns then the agent\'s second-version ones, rollup names and per-column aggregates', () => {
  assert.deepEqual(['time', ...metricsMongodb.identity, ...metricsMongodb.columns.map((c) => c.name)], [...SEED_COLUMNS, ...AGENT_V2_COLUMNS]);
  assert.deepEqual(metricsMongodb.decl.rollups, { '5m': 'mongodb_stats_5m', '1h': 'mongodb_stats_1h', '1d': 'mongodb_stats_daily' });
  const agg = Object.fromEntries(metricsMongodb.columns.map((c) => [c.name, c.agg]));
  for (const c of ['connections_current', 'connections_available', 'repl_lag_seconds', 'wt_cache_used_bytes', 'wt_cache_max_bytes']) assert.equal(agg[c], 'avg', c);
  for (const c of ['data_size_bytes', 'index_size_bytes', 'storage_size_bytes']) assert.equal(agg[c], 'max', c);
  for (const c of ['ops_insert', 'ops_query', 'ops_update', 'ops_delete', 'ops_command']) assert.equal(agg[c], 'sum', c);
  assert.equal(agg.oplog_window_hours, 'min');
  assert.equal(metricsMongodb.key, 'mongodb');
  assert.equal(metricsMongodb.sampleSeconds, 15);
  assert.deepEqual(metricsMongodb.decl.retention, { raw: '90 days', '5m': '90 days', '1h': '365 days', '1d': '730 days' });
  assert.equal(metricsMongodb.decl.chunkInterval, '1 hour');
  assert.equal(metricsMongodb.decl.compressAfter, '7 days');
});

forEachBackend('mongodb family', (kind) => {
  let m: MigratedDatabase;
  before(async () => {
    m = await openMigrated(kind);
  });
  after(async () => {
    await m.close();
  });

  test('seed contract: the database columns of metrics_mongodb are the seed list, then the agent\'s second-version fields', async () => {
    const cols = await m.db.queryMany<{ column_name: string }>(
      `SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'metrics_mongodb' ORDER BY ordinal_position`,
    );
    assert.deepEqual(
      cols.map((c) => c.column_name),
      [...SEED_COLUMNS, ...AGENT_V2_COLUMNS],
    );
    const rels = await m.db.queryOne<{ a: string | null; b: string | null; c: string | null }>(
      `SELECT to_regclass('mongodb_stats_5m')::text AS a, to_regclass('mongodb_stats_1h')::text AS b, to_regclass('mongodb_stats_daily')::text AS c`,
    );
    assert.deepEqual(rels, { a: 'mongodb_stats_5m', b: 'mongodb_stats_1h', c: 'mongodb_stats_daily' });
  });

  test('seed contract: the flat body with every seed field is stored, and comes back with the same fields', async () => {
    const t = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000).toISOString();
    const row = seedRow('mg-seed', t);
    assert.deepEqual(Object.keys(row).sort(), [...SEED_FIELDS].sort());
    const r = await m.store.ingest('mongodb', [row]);
    assert.equal(r.inserted, 1);
    const stored = await m.db.queryOne<Record<string, unknown>>(`SELECT * FROM metrics_mongodb WHERE node_id = 'mg-seed'`);
    assert.equal(stored?.ops_insert, 1200);
    assert.equal(stored?.wt_cache_max_bytes, 8_053_063_680);
    assert.equal(stored?.repl_lag_seconds, 1.25);
    const q = await m.store.query('mongodb', { from: new Date(Date.parse(t) - 1000), to: new Date(Date.parse(t) + 1000), nodeIds: ['mg-seed'], resolution: 'raw' });
    assert.equal(q.points.length, 1);
    const v2Fields = AGENT_V2_COLUMNS.map((c) => c.replace(/_([a-z])/g, (_, x: string) => x.toUpperCase()));
    assert.deepEqual(Object.keys(q.points[0]!).sort(), [...SEED_FIELDS, ...v2Fields].sort(), 'GET /metrics/mongodb returns every column, as the ingest fields');
    // the seed's fields as sent; the second-version fields were not sent: null
    assert.deepEqual(q.points[0], { ...row, ...Object.fromEntries(v2Fields.map((f) => [f, null])) });
  });

  test('seed contract: timestamp is optional and defaults to server time', async () => {
    const before = Date.now();
    const { timestamp: _t, ...row } = seedRow('mg-now', '');
    await m.store.ingest('mongodb', [row]);
    const stored = await m.db.queryOne<{ time: Date }>(`SELECT time FROM metrics_mongodb WHERE node_id = 'mg-now'`);
    assert.ok(stored && stored.time.getTime() >= before - 1 && stored.time.getTime() <= Date.now() + 1);
  });

  test('seed contract: the old names of the ingestion service and Zod schema are rejected (400, nothing stored)', async () => {
    const t = new Date(Date.now() - 120_000).toISOString();
    const old: Record<string, unknown>[] = [
      { nodeId: 'mg-old', timestamp: t, connections: 12 },
      { nodeId: 'mg-old', timestamp: t, opCounters: { insert: 1, query: 2, update: 3, delete: 4, getmore: 5, command: 6 } },
      { nodeId: 'mg-old', timestamp: t, replicationLag: 2 },
      { nodeId: 'mg-old', timestamp: t, replicaSetStatus: 'PRIMARY' },
      { nodeId: 'mg-old', timestamp: t, op_insert: 1 },
      { nodeId: 'mg-old', timestamp: t, opGetmore: 1 },
      { nodeId: 'mg-old', timestamp: t, replication_lag: 1 },
      { ...seedRow('mg-old', t), ops_insert: 5 },
    ];
    for (const row of old) {
      const wrong = Object.keys(row).find((k) => !SEED_FIELDS.includes(k))!;
      await assert.rejects(
        () => m.store.ingest('mongodb', [row]),
        (e: unknown) => {
          assert.ok(e instanceof IngestValidationError, `${wrong}: ${String(e)}`);
          assert.equal(e.code, 'VALIDATION_FAILED');
          assert.equal(e.issues[0]?.index, 0);
          assert.match(e.message, new RegExp(wrong), `the message names the unknown field ${wrong}`);
          return true;
        },
      );
    }
    // a batch with one old-style row stores nothing, not even its valid rows
    await assert.rejects(() => m.store.ingest('mongodb', [seedRow('mg-old', t), { nodeId: 'mg-old', connections: 1 }]), IngestValidationError);
    const c = await m.db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM metrics_mongodb WHERE node_id = 'mg-old'`);
    assert.equal(c?.n, 0);
  });

  test('role takes the replica-set member states only', async () => {
    for (const bad of ['leader', 'PRIMARY ', 'master']) {
      await assert.rejects(
        () => m.store.ingest('mongodb', [{ nodeId: 'mg-role', role: bad }]),
        (e: unknown) => e instanceof IngestValidationError && e.issues[0]?.path[0] === 'role',
        bad,
      );
    }
    for (const role of ['primary', 'secondary', 'arbiter', 'recovering', 'standalone']) {
      const r = await m.store.ingest('mongodb', [{ nodeId: `mg-role-${role}`, role }]);
      assert.equal(r.inserted, 1, role);
    }
  });

  test("role: MongoDB's stateStr in any case is accepted and stored lower-case; cluster status reads it", async () => {
    // every state replSetGetStatus reports, spelled as MongoDB spells it
    const states = ['PRIMARY', 'SECONDARY', 'ARBITER', 'STARTUP', 'STARTUP2', 'RECOVERING', 'ROLLBACK', 'DOWN', 'UNKNOWN', 'REMOVED'];
    const t = Math.floor(Date.now() / 1000) * 1000 - 20_000;
    const r = await m.store.ingest(
      'mongodb',
      states.map((role, i) => ({ nodeId: `mg-state-${i}`, timestamp: new Date(t).toISOString(), role })),
    );
    assert.equal(r.inserted, states.length);
    const stored = await m.db.queryMany<{ node_id: string; role: string }>(`SELECT node_id, role FROM metrics_mongodb WHERE node_id LIKE 'mg-state-%' ORDER BY node_id`);
    assert.deepEqual(
      stored.map((s) => s.role),
      ['primary', 'secondary', 'arbiter', 'startup', 'startup2', 'recovering', 'rollback', 'down', 'unknown', 'removed'],
    );
    // mixed spellings in one batch, then the cluster status
    const batch = [
      { nodeId: 'mg-rs-1', timestamp: new Date(t).toISOString(), role: 'PRIMARY', replLagSeconds: 0 },
      { nodeId: 'mg-rs-2', timestamp: new Date(t).toISOString(), role: 'SECONDARY', replLagSeconds: 1 },
      { nodeId: 'mg-rs-3', timestamp: new Date(t).toISOString(), role: 'Secondary', replLagSeconds: 2 },
    ];
    assert.equal((await m.store.ingest('mongodb', batch)).inserted, 3);
    const status = await getMongoClusterStatus(m.db, { lagThresholdSeconds: 10, now: new Date(t + 5000), nodeIds: ['mg-rs-1', 'mg-rs-2', 'mg-rs-3'] });
    assert.deepEqual(
      status.nodes.map((n) => [n.nodeId, n.role]),
      [
        ['mg-rs-1', 'primary'],
        ['mg-rs-2', 'secondary'],
        ['mg-rs-3', 'secondary'],
      ],
    );
    assert.equal(status.replicaSet.status, 'ok');
    assert.deepEqual(status.replicaSet.primaries, ['mg-rs-1']);
  });

  test('rollups follow the seed: SUM for ops, AVG for connections/lag/cache, MAX for sizes, MIN for the oplog window', async () => {
    const h = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3 * 3_600_000;
    const at = (i: number) => new Date(h + i * 15 * 60_000).toISOString();
    const base = (i: number) => ({ ...seedRow('mg-agg', at(i)) });
    const rows = [
      { ...base(0), role: 'secondary', opsInsert: 10, opsCommand: 1, connectionsCurrent: 100, replLagSeconds: 1, dataSizeBytes: 5e9, oplogWindowHours: 30, wtCacheUsedBytes: 1000 },
      { ...base(1), role: 'secondary', opsInsert: 20, opsCommand: 2, connectionsCurrent: 200, replLagSeconds: 2, dataSizeBytes: 7e9, oplogWindowHours: 12.5, wtCacheUsedBytes: 2000 },
      { ...base(2), role: 'primary', opsInsert: 30, opsCommand: 3, connectionsCurrent: 300, replLagSeconds: 3, dataSizeBytes: 6e9, oplogWindowHours: 40, wtCacheUsedBytes: 3000 },
      { ...base(3), role: 'primary', opsInsert: 40, opsCommand: 4, connectionsCurrent: 400, replLagSeconds: null, dataSizeBytes: 4e9, oplogWindowHours: 20, wtCacheUsedBytes: 6000 },
    ];
    await m.store.ingest('mongodb', rows);
    const check = async () => {
      const hour = await m.store.query('mongodb', { from: new Date(h), to: new Date(h + 3_600_000), nodeIds: ['mg-agg'], resolution: '1h' });
      assert.equal(hour.points.length, 1);
      const p = hour.points[0]!;
      assert.equal(p.opsInsert, 100);
      assert.equal(p.opsCommand, 10);
      assert.equal(p.connectionsCurrent, 250);
      assert.equal(p.replLagSeconds, 2, 'AVG ignores the null of the 4th sample');
      assert.equal(p.dataSizeBytes, 7e9);
      assert.equal(p.oplogWindowHours, 12.5);
      assert.equal(p.wtCacheUsedBytes, 3000);
      assert.equal(p.role, 'primary');
      assert.equal(p.samples, 4);
      const five = await m.store.query('mongodb', { from: new Date(h), to: new Date(h + 3_600_000), nodeIds: ['mg-agg'], resolution: '5m' });
      assert.deepEqual(
        five.points.map((x) => [x.timestamp, x.opsInsert, x.oplogWindowHours]),
        rows.map((r) => [r.timestamp, r.opsInsert, r.oplogWindowHours]),
      );
      const dayStart = Math.floor(h / 86_400_000) * 86_400_000;
      const day = await m.store.query('mongodb', { from: new Date(dayStart), to: new Date(dayStart + 86_400_000), nodeIds: ['mg-agg'], resolution: '1d' });
      assert.equal(day.points.length, 1);
      assert.equal(day.points[0]!.opsInsert, 100);
      assert.equal(day.points[0]!.oplogWindowHours, 12.5);
      return [hour.points, five.points, day.points];
    };
    const before = await check();
    if (m.tier === 'postgres') {
      await m.store.refreshRollups('mongodb');
      assert.deepEqual(await check(), before, 'the same answer after the rollups are materialized');
    }
  });

  test('ingest → raw → 5m/1h/1d rollups → cluster status (declaration-driven)', async () => {
    await checkFamilyLifecycle(m, metricsMongodb, { nodeIds: ['mg-life-1', 'mg-life-2', 'mg-life-3'], families: FAMILIES });
  });

  test('nodes.role keeps the service role from system metrics; the member state stays in metrics_mongodb', async () => {
    const t = new Date(Math.floor(Date.now() / 1000) * 1000 - 30_000).toISOString();
    await m.store.ingest('system', [{ nodeId: 'mg-role-node', timestamp: t, nodeRole: 'mongodb' }]);
    await m.store.ingest('mongodb', [{ ...seedRow('mg-role-node', new Date(Date.parse(t) + 5000).toISOString()), role: 'primary' }]);
    const n = await m.db.queryOne<{ role: string }>(`SELECT role FROM nodes WHERE id = 'mg-role-node'`);
    assert.equal(n?.role, 'mongodb');
  });
});
