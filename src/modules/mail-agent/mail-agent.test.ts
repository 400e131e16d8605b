/**
 * The mail-cluster metrics agent pointed at a running Opsdeck: its requests
 * replayed over HTTP on loopback with `x-api-key`. Fixtures follow
 * tinovn/tinomail-monitor at commit ab918c1 (agent 0.5.4):
 * packages/agent/src/monitoring-agent.ts (registration payload, `{ type, data }`),
 * packages/agent/src/transport/http-metrics-transport.ts (path
 * /api/v1/metrics/{type with _ → -}), packages/shared/src/types/system-metrics.ts
 * (SystemMetrics with `processes`, MongodbMetrics with the second-version fields,
 * RedisMetrics, ZonemtaMetrics, RspamdMetrics, MongodbReplEvent). Expected increases are
 * worked out here from the totals the fixtures send.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachBackend } from '../../../test/support/backends.ts';
import { buildTestRuntime, type TestRuntime } from '../../../test/support/app.ts';
import { createApiKey } from '../../../test/support/auth.ts';
import { fromAgentSystemRow } from './compat.ts';
import { increase } from './counters.ts';

test('agent system rows: fields mapped, unknown ones reported, processes set apart', () => {
  const m = fromAgentSystemRow({ time: 't', nodeId: 'n', cpuPercent: 5, diskReadBytesSec: 7, ramPercent: 40, netRxErrors: 3, processes: [], load1m: null, gpuPercent: 1 });
  assert.deepEqual(m, { row: { timestamp: 't', nodeId: 'n', cpuPercent: 5, diskReadBytesSec: 7, ramPercent: 40, netRxErrors: 3 }, ignored: ['gpuPercent'], processes: [] });
});

test('counter increases: a lower total is a restart, counted from zero', () => {
  assert.equal(increase(100, 130), 30);
  assert.equal(increase(100, 100), 0);
  assert.equal(increase(100, 7), 7);
});

forEachBackend('the mail-cluster agent posting to Opsdeck', (kind) => {
  let rt: TestRuntime;
  let base: string;
  let key: string;
  const t0 = Date.now() - 60_000;

  async function post(path: string, body: unknown) {
    const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'x-api-key': key }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }
  async function get(path: string) {
    const res = await fetch(`${base}${path}`, { headers: { 'x-api-key': key } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  const registration = {
    nodeId: 'mta-03',
    hostname: 'mta-03.mail.example',
    ipAddress: '10.0.3.15',
    role: 'zonemta-outbound',
    metadata: { platform: 'linux', distro: 'Ubuntu', release: '22.04', arch: 'x64', agentVersion: '0.5.4', detectedServices: ['zonemta', 'redis'] },
  };
  const systemRow = (at: number, cpu: number) => ({
    time: new Date(at).toISOString(),
    nodeId: 'mta-03',
    nodeRole: 'zonemta-outbound',
    cpuPercent: cpu,
    ramPercent: 61.5,
    ramUsedBytes: 5_100_000_000,
    diskPercent: 40.2,
    diskFreeBytes: 120_000_000_000,
    diskReadBytesSec: 1200,
    diskWriteBytesSec: 56000,
    netRxBytesSec: 80000,
    netTxBytesSec: 910000,
    netRxErrors: 0,
    netTxErrors: 2,
    load1m: 0.42,
    load5m: 0.4,
    load15m: 0.35,
    tcpEstablished: 87,
    tcpTimeWait: 12,
    openFiles: 2304,
    processes: [
      { name: 'zone-mta', running: true, pid: 1234, cpuPercent: 3.1, memoryMB: 210.5 },
      { name: 'redis-server', running: false, pid: null, cpuPercent: 0, memoryMB: 0 },
    ],
  });

  before(async () => {
    rt = await buildTestRuntime(kind);
    await rt.app.listen({ host: '127.0.0.1', port: 0 });
    const addr = rt.app.server.address();
    base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    key = await createApiKey(rt, ['ingest', 'read']);
  });
  after(async () => {
    await rt.destroy();
  });

  test('registration is an upsert an ingest key may make: address, metadata merged, an operator-set status kept', async () => {
    const a = await post('/api/v1/nodes', registration);
    assert.equal(a.status, 200, JSON.stringify(a.body));
    await rt.db.query(`UPDATE nodes SET status = 'maintenance' WHERE id = 'mta-03'`);
    const b = await post('/api/v1/nodes', { ...registration, ipAddress: 'unknown', metadata: { agentVersion: '0.5.5' }, extra: 1 });
    assert.equal(b.status, 200);
    assert.deepEqual(b.body.ignoredFields, ['extra']);
    const row = await rt.db.queryOne<Record<string, unknown>>(`SELECT hostname, role, status, addresses, metadata FROM nodes WHERE id = 'mta-03'`);
    assert.deepEqual(row, {
      hostname: 'mta-03.mail.example',
      role: 'zonemta-outbound',
      status: 'maintenance',
      addresses: { ip: '10.0.3.15' },
      metadata: { platform: 'linux', distro: 'Ubuntu', release: '22.04', arch: 'x64', agentVersion: '0.5.5', detectedServices: ['zonemta', 'redis'] },
    });
  });

  test('system metrics in the agent\'s form: stored column by column, the process list served, unknown columns reported', async () => {
    const r = await post('/api/v1/metrics/system', { type: 'system', data: systemRow(t0, 12.5) });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body, { family: 'system', received: 1, inserted: 1, duplicates: 0, ignoredFields: [] });
    const row = await rt.db.queryOne<Record<string, unknown>>(
      `SELECT node_role, cpu_percent, ram_percent, ram_used_bytes, disk_percent, disk_free_bytes, disk_read_bytes_sec, disk_write_bytes_sec, net_rx_bytes_sec, net_tx_bytes_sec,
              net_rx_errors, net_tx_errors, load_1m, load_5m, load_15m, tcp_established, tcp_time_wait, open_files
       FROM metrics_system WHERE node_id = 'mta-03' AND time = $1`,
      [new Date(t0).toISOString()],
    );
    assert.deepEqual(row, {
      node_role: 'zonemta-outbound',
      cpu_percent: 12.5,
      ram_percent: 61.5,
      ram_used_bytes: 5_100_000_000,
      disk_percent: 40.2,
      disk_free_bytes: 120_000_000_000,
      disk_read_bytes_sec: 1200,
      disk_write_bytes_sec: 56000,
      net_rx_bytes_sec: 80000,
      net_tx_bytes_sec: 910000,
      net_rx_errors: 0,
      net_tx_errors: 2,
      load_1m: 0.42,
      load_5m: 0.4,
      load_15m: 0.35,
      tcp_established: 87,
      tcp_time_wait: 12,
      open_files: 2304,
    });
    const p = await get('/api/v1/nodes/mta-03/processes');
    assert.equal(p.status, 200);
    assert.deepEqual(
      (p.body.items as { name: string; running: boolean; pid: number | null; cpuPercent: number; memoryMB: number; reportedAt: string }[]).map((x) => [x.name, x.running, x.pid, x.cpuPercent, x.memoryMB, x.reportedAt]),
      [
        ['redis-server', false, null, 0, 0, new Date(t0).toISOString()],
        ['zone-mta', true, 1234, 3.1, 210.5, new Date(t0).toISOString()],
      ],
    );
    // an older report (from the agent's offline buffer) does not replace a newer list
    const older = { ...systemRow(t0 - 30_000, 9), processes: [{ name: 'zone-mta', running: false, pid: null, cpuPercent: 0, memoryMB: 0 }] };
    assert.equal((await post('/api/v1/metrics/system', { type: 'system', data: older })).status, 200);
    assert.equal(((await get('/api/v1/nodes/mta-03/processes')).body.items as unknown[]).length, 2);
  });

  test('the bare row and `timestamp` work too; a retry stores nothing twice', async () => {
    const { processes: _p, time, ...rest } = systemRow(t0 + 15_000, 14);
    void _p;
    const bare = { ...rest, timestamp: time };
    assert.equal((await post('/api/v1/metrics/system', bare)).body.inserted, 1);
    assert.equal((await post('/api/v1/metrics/system', [bare])).body.duplicates, 1);
  });

  test('an invalid row stores nothing and names its path; neither does a bad process list', async () => {
    const bad = await post('/api/v1/metrics/system', { type: 'system', data: [systemRow(t0 + 30_000, 12), systemRow(t0 + 45_000, 150)] });
    assert.equal(bad.status, 400);
    assert.deepEqual((bad.body.errors as { path: string }[]).map((e) => e.path), ['data.1.cpuPercent']);
    const badProc = await post('/api/v1/metrics/system', { type: 'system', data: { ...systemRow(t0 + 30_000, 12), processes: [{ name: '', running: true }] } });
    assert.equal(badProc.status, 400);
    const n = await rt.db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM metrics_system WHERE node_id = 'mta-03' AND time >= $1`, [new Date(t0 + 30_000).toISOString()]);
    assert.equal(n!.n, 0);
    const mismatch = await post('/api/v1/metrics/system', { type: 'redis', data: systemRow(t0 + 30_000, 12) });
    assert.equal(mismatch.status, 400);
    assert.equal(mismatch.body.code, 'TYPE_MISMATCH');
  });

  test('replication events (`mongodb-events`) are stored once and read back', async () => {
    const events = [
      { time: new Date(t0).toISOString(), nodeId: 'mongo-01', eventType: 'step_down', oldRole: 'PRIMARY', newRole: 'SECONDARY' },
      { time: new Date(t0).toISOString(), nodeId: 'mongo-02', eventType: 'step_up', oldRole: 'SECONDARY', newRole: 'PRIMARY' },
      { time: new Date(t0 + 1000).toISOString(), nodeId: 'mongo-03', eventType: 'member_unreachable', oldRole: 'SECONDARY', newRole: null },
    ];
    const a = await post('/api/v1/metrics/mongodb-events', { type: 'mongodb_events', data: events });
    assert.equal(a.status, 200, JSON.stringify(a.body));
    assert.deepEqual(a.body, { family: 'mongodb_events', received: 3, inserted: 3, duplicates: 0, ignoredFields: [] });
    assert.equal((await post('/api/v1/metrics/mongodb-events', { type: 'mongodb_events', data: events })).body.duplicates, 3);
    const list = await get(`/api/v1/events/mongodb?from=${new Date(t0 - 1000).toISOString()}&to=${new Date(t0 + 5000).toISOString()}`);
    assert.equal(list.status, 200);
    const got = (list.body.items as { nodeId: string; eventType: string; oldRole: string; newRole: string | null }[]).map((e) => [e.nodeId, e.eventType, e.oldRole, e.newRole]);
    // newest first; the two events of the same instant in either order
    assert.deepEqual(got[0], ['mongo-03', 'member_unreachable', 'SECONDARY', null]);
    assert.deepEqual(got.slice(1).sort(), [
      ['mongo-01', 'step_down', 'PRIMARY', 'SECONDARY'],
      ['mongo-02', 'step_up', 'SECONDARY', 'PRIMARY'],
    ]);
    assert.equal((list.body.items as unknown[]).length, 3);
  });

  // MongodbMetrics as the agent builds it (mongodb-metrics-collector.ts): opcounters and two
  // WiredTiger counters are serverStatus totals; the rest are gauges.
  const mongoRow = (at: number, ops: number, evictions: number) => ({
    time: new Date(at).toISOString(),
    nodeId: 'mongo-01',
    role: 'PRIMARY',
    connectionsCurrent: 412,
    connectionsAvailable: 838_448,
    opsInsert: ops,
    opsQuery: ops * 3,
    opsUpdate: ops * 2,
    opsDelete: 10,
    opsCommand: ops * 5,
    replLagSeconds: null,
    dataSizeBytes: 90_000_000_000,
    indexSizeBytes: 4_000_000_000,
    storageSizeBytes: 60_000_000_000,
    oplogWindowHours: 52.5,
    wtCacheUsedBytes: 7_000_000_000,
    wtCacheMaxBytes: 8_000_000_000,
    wtCacheDirtyBytes: 150_000_000,
    wtCacheTimeoutCount: 0,
    wtEvictionCalls: evictions,
    connAppImap: 220,
    connAppSmtp: 130,
    connAppInternal: 12,
    connAppMonitoring: 2,
    connAppOther: 48,
    gridfsMessagesBytes: 30_000_000_000,
    gridfsAttachFilesBytes: 1_000_000,
    gridfsAttachChunksBytes: 20_000_000_000,
    gridfsStorageFilesBytes: null,
    gridfsStorageChunksBytes: null,
  });

  test('MongoDB rows: gauges and the second-version fields as columns, opcounter totals as increases', async () => {
    const at = (k: number) => t0 + k * 30_000;
    const first = await post('/api/v1/metrics/mongodb', { type: 'mongodb', data: mongoRow(at(0), 1000, 500) });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.deepEqual(first.body, { family: 'mongodb', received: 1, inserted: 1, duplicates: 0, ignoredFields: [] });
    assert.equal((await post('/api/v1/metrics/mongodb', { type: 'mongodb', data: mongoRow(at(1), 1600, 540) })).status, 200);
    // mongod restarted: totals start again from zero
    assert.equal((await post('/api/v1/metrics/mongodb', { type: 'mongodb', data: mongoRow(at(2), 40, 3) })).status, 200);
    // a retry of the second sample is a duplicate and changes nothing
    assert.equal((await post('/api/v1/metrics/mongodb', { type: 'mongodb', data: mongoRow(at(1), 1600, 540) })).body.duplicates, 1);
    const rows = await rt.db.queryMany<Record<string, unknown>>(
      `SELECT role, connections_current, ops_insert, ops_query, ops_delete, ops_command, wt_eviction_calls, wt_cache_timeout_count, wt_cache_dirty_bytes,
              conn_app_imap, conn_app_other, gridfs_messages_bytes, gridfs_storage_files_bytes, repl_lag_seconds
       FROM metrics_mongodb WHERE node_id = 'mongo-01' ORDER BY time`,
    );
    const gauges = { role: 'primary', connections_current: 412, wt_cache_dirty_bytes: 150_000_000, conn_app_imap: 220, conn_app_other: 48, gridfs_messages_bytes: 30_000_000_000, gridfs_storage_files_bytes: null, repl_lag_seconds: null };
    assert.deepEqual(rows, [
      { ...gauges, ops_insert: null, ops_query: null, ops_delete: null, ops_command: null, wt_eviction_calls: null, wt_cache_timeout_count: null },
      { ...gauges, ops_insert: 600, ops_query: 1800, ops_delete: 0, ops_command: 3000, wt_eviction_calls: 40, wt_cache_timeout_count: 0 },
      { ...gauges, ops_insert: 40, ops_query: 120, ops_delete: 0, ops_command: 200, wt_eviction_calls: 3, wt_cache_timeout_count: 0 },
    ]);
    // an older sample replayed from the agent's offline buffer: stored, no increase
    assert.equal((await post('/api/v1/metrics/mongodb', { type: 'mongodb', data: mongoRow(at(-1), 900, 450) })).body.inserted, 1);
    const replay = await rt.db.queryOne<{ ops_insert: number | null; connections_current: number }>(`SELECT ops_insert, connections_current FROM metrics_mongodb WHERE node_id = 'mongo-01' AND time = $1`, [new Date(at(-1)).toISOString()]);
    assert.deepEqual(replay, { ops_insert: null, connections_current: 412 });
    // and the next live sample still counts from the newest one
    await post('/api/v1/metrics/mongodb', { type: 'mongodb', data: mongoRow(at(3), 100, 10) });
    const next = await rt.db.queryOne<{ ops_insert: number }>(`SELECT ops_insert FROM metrics_mongodb WHERE node_id = 'mongo-01' AND time = $1`, [new Date(at(3)).toISOString()]);
    assert.equal(next?.ops_insert, 60);
  });

  test('a negative or fractional total stores nothing and names its path', async () => {
    const at = t0 + 10 * 30_000;
    const bad = await post('/api/v1/metrics/mongodb', { type: 'mongodb', data: [mongoRow(at, 2000, 20), { ...mongoRow(at + 30_000, 2100, 20), opsInsert: -5, wtEvictionCalls: 1.5 }] });
    assert.equal(bad.status, 400);
    assert.deepEqual((bad.body.errors as { path: string }[]).map((e) => e.path), ['data.1.opsInsert', 'data.1.wtEvictionCalls']);
    const n = await rt.db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM metrics_mongodb WHERE node_id = 'mongo-01' AND time >= $1`, [new Date(at).toISOString()]);
    assert.equal(n!.n, 0);
    // a row that is not an object is a 400 naming it, not a server error
    for (const body of [[null], { type: 'redis', data: ['x'] }, [mongoRow(at, 1, 1), 7]]) {
      const r = await post(`/api/v1/metrics/${Array.isArray(body) && body.length === 2 ? 'mongodb' : 'redis'}`, body);
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.equal(r.body.code, 'VALIDATION_FAILED');
    }
  });

  test('Redis, ZoneMTA and Rspamd rows: §6.1 columns as sent, totals as increases', async () => {
    const at = (k: number) => new Date(t0 + k * 30_000).toISOString();
    // RedisMetrics (redis-metrics-collector.ts): hitRate over the server's lifetime, evictedKeys a total
    const redis = (k: number, evicted: number) => ({ time: at(k), nodeId: 'redis-01', memoryUsedBytes: 2_000_000 + k, memoryMaxBytes: 4_000_000_000, connectedClients: 57, opsPerSec: 1200, hitRate: 97.25, evictedKeys: evicted, totalKeys: 88_000 });
    assert.equal((await post('/api/v1/metrics/redis', { type: 'redis', data: redis(0, 5000) })).status, 200);
    assert.equal((await post('/api/v1/metrics/redis', { type: 'redis', data: redis(1, 5012) })).status, 200);
    assert.deepEqual(
      await rt.db.queryMany(`SELECT memory_used_bytes, memory_max_bytes, connected_clients, ops_per_sec, hit_rate, evicted_keys, total_keys FROM metrics_redis WHERE node_id = 'redis-01' ORDER BY time`),
      [
        { memory_used_bytes: 2_000_000, memory_max_bytes: 4_000_000_000, connected_clients: 57, ops_per_sec: 1200, hit_rate: 97.25, evicted_keys: null, total_keys: 88_000 },
        { memory_used_bytes: 2_000_001, memory_max_bytes: 4_000_000_000, connected_clients: 57, ops_per_sec: 1200, hit_rate: 97.25, evicted_keys: 12, total_keys: 88_000 },
      ],
    );
    // ZonemtaMetrics (zonemta-metrics-collector.ts): one row per node, Prometheus totals
    const mta = (k: number, delivered: number, bounced: number) => ({
      time: at(k),
      nodeId: 'mta-03',
      mtaRole: null,
      queueSize: 340,
      activeDeliveries: 340,
      sentTotal: delivered + bounced + 4,
      deliveredTotal: delivered,
      bouncedTotal: bounced,
      deferredTotal: 25,
      rejectedTotal: 4,
      connectionsActive: 31,
      throughputPerSec: 12.5,
    });
    assert.equal((await post('/api/v1/metrics/zonemta', { type: 'zonemta', data: mta(0, 10_000, 100) })).status, 200);
    assert.equal((await post('/api/v1/metrics/zonemta', mta(1, 10_450, 103))).status, 200);
    assert.deepEqual(
      await rt.db.queryMany(
        `SELECT zone, mta_role, queue_size, active_deliveries, sent_total, delivered_total, bounced_total, deferred_total, rejected_total, connections_active, throughput_per_sec, delivered, bounced, rejected, deferred
         FROM metrics_zonemta WHERE node_id = 'mta-03' ORDER BY time`,
      ),
      [
        { zone: 'all', mta_role: null, queue_size: 340, active_deliveries: 340, sent_total: 10_104, delivered_total: 10_000, bounced_total: 100, deferred_total: 25, rejected_total: 4, connections_active: 31, throughput_per_sec: 12.5, delivered: null, bounced: null, rejected: null, deferred: null },
        { zone: 'all', mta_role: null, queue_size: 340, active_deliveries: 340, sent_total: 10_557, delivered_total: 10_450, bounced_total: 103, deferred_total: 25, rejected_total: 4, connections_active: 31, throughput_per_sec: 12.5, delivered: 450, bounced: 3, rejected: 0, deferred: null },
      ],
    );
    // RspamdMetrics: /stat totals
    const rspamd = (k: number, scanned: number) => ({ time: at(k), nodeId: 'mx-01', scanned, ham: scanned - 100, spam: 80, greylist: 15, rejected: 5, learnedHam: 3, learnedSpam: 9 });
    assert.equal((await post('/api/v1/metrics/rspamd', { type: 'rspamd', data: [rspamd(0, 1000), rspamd(1, 1250)] })).body.inserted, 2);
    assert.deepEqual(await rt.db.queryMany(`SELECT scanned, ham, spam, greylist, rejected, learned_ham, learned_spam FROM metrics_rspamd WHERE node_id = 'mx-01' ORDER BY time`), [
      { scanned: null, ham: null, spam: null, greylist: null, rejected: null, learned_ham: null, learned_spam: null },
      { scanned: 250, ham: 250, spam: 0, greylist: 0, rejected: 0, learned_ham: 0, learned_spam: 0 },
    ]);
  });

  test('types: unknown → 404 naming the known ones', async () => {
    const unknown = await post('/api/v1/metrics/haraka', { type: 'haraka', data: {} });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.code, 'UNKNOWN_FAMILY');
    assert.deepEqual(unknown.body.known, ['system', 'mongodb-events', 'mongodb', 'redis', 'zonemta', 'rspamd']);
  });
});
