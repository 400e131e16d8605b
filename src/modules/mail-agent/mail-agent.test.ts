/**
 * The mail-cluster metrics agent pointed at a running Opsdeck: its requests
 * replayed over HTTP on loopback with `x-api-key`. Fixtures follow
 * tinovn/tinomail-monitor at commit ab918c1 (agent 0.5.4):
 * packages/agent/src/monitoring-agent.ts (registration payload, `{ type, data }`),
 * packages/agent/src/transport/http-metrics-transport.ts (path
 * /api/v1/metrics/{type with _ → -}), packages/shared/src/types/system-metrics.ts
 * (SystemMetrics with `processes`, MongodbReplEvent).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachBackend } from '../../../test/support/backends.ts';
import { buildTestRuntime, type TestRuntime } from '../../../test/support/app.ts';
import { createApiKey } from '../../../test/support/auth.ts';
import { fromAgentSystemRow } from './compat.ts';

test('agent system rows: same-meaning fields mapped, the others reported, processes set apart', () => {
  const m = fromAgentSystemRow({ time: 't', nodeId: 'n', cpuPercent: 5, diskReadBytesSec: 7, ramPercent: 40, netRxErrors: 3, processes: [], load1m: null });
  assert.deepEqual(m, { row: { timestamp: 't', nodeId: 'n', cpuPercent: 5, diskReadBytesPerSec: 7 }, ignored: ['ramPercent', 'netRxErrors'], processes: [] });
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
    assert.deepEqual(r.body, { family: 'system', received: 1, inserted: 1, duplicates: 0, ignoredFields: ['diskFreeBytes', 'diskPercent', 'netRxErrors', 'netTxErrors', 'ramPercent'] });
    const row = await rt.db.queryOne<Record<string, unknown>>(
      `SELECT node_role, cpu_percent, ram_used_bytes, disk_read_bytes_per_sec, disk_write_bytes_per_sec, net_rx_bytes_per_sec, net_tx_bytes_per_sec, load_1m, load_5m, load_15m, tcp_established, tcp_time_wait, open_files
       FROM metrics_system WHERE node_id = 'mta-03' AND time = $1`,
      [new Date(t0).toISOString()],
    );
    assert.deepEqual(row, {
      node_role: 'zonemta-outbound',
      cpu_percent: 12.5,
      ram_used_bytes: 5_100_000_000,
      disk_read_bytes_per_sec: 1200,
      disk_write_bytes_per_sec: 56000,
      net_rx_bytes_per_sec: 80000,
      net_tx_bytes_per_sec: 910000,
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

  test('types: unknown → 404 naming the known ones; counters Opsdeck cannot store faithfully yet → 422', async () => {
    const unknown = await post('/api/v1/metrics/haraka', { type: 'haraka', data: {} });
    assert.equal(unknown.status, 404);
    assert.deepEqual(unknown.body.known, ['system', 'mongodb-events', 'mongodb', 'redis', 'zonemta', 'rspamd']);
    const mongo = await post('/api/v1/metrics/mongodb', { type: 'mongodb', data: { time: new Date(t0).toISOString(), nodeId: 'mongo-01', opsInsert: 123456 } });
    assert.equal(mongo.status, 422);
    assert.equal(mongo.body.code, 'AGENT_TYPE_NOT_SUPPORTED');
  });
});
