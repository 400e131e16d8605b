import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachBackend } from '../../../test/support/backends.ts';
import { buildTestRuntime, type TestRuntime } from '../../../test/support/app.ts';
import { createApiKey } from '../../../test/support/auth.ts';

forEachBackend('cluster status API', (kind) => {
  let rt: TestRuntime;
  let ingest: string;
  let read: string;
  before(async () => {
    rt = await buildTestRuntime(kind, { mongoLagThresholdSeconds: 10 });
    ingest = `Bearer ${await createApiKey(rt, ['ingest'])}`;
    read = `Bearer ${await createApiKey(rt, ['read'])}`;
  });
  after(async () => {
    await rt.destroy();
  });

  const post = (type: string, data: unknown) => rt.app.inject({ method: 'POST', url: '/api/v1/metrics', headers: { authorization: ingest }, payload: { type, data } });

  test('mongodb cluster-status: members, lagging detection and a replica-set summary', async () => {
    const now = Date.now();
    const at = (s: number) => new Date(now - s * 1000).toISOString();
    const member = (nodeId: string, role: string, lag: number) => [
      { nodeId, timestamp: at(20), role, connectionsCurrent: 10, connectionsAvailable: 90, opsInsert: 15, opsQuery: 15, replLagSeconds: lag, wtCacheUsedBytes: 50, wtCacheMaxBytes: 100, oplogWindowHours: 30 },
      { nodeId, timestamp: at(5), role, connectionsCurrent: 10, connectionsAvailable: 90, opsInsert: 30, opsQuery: 0, replLagSeconds: lag, wtCacheUsedBytes: 50, wtCacheMaxBytes: 100, oplogWindowHours: 24 },
    ];
    const r = await post('mongodb', [...member('mongo-a', 'primary', 0), ...member('mongo-b', 'secondary', 2), ...member('mongo-c', 'secondary', 45)]);
    assert.equal(r.statusCode, 200, r.body);
    const s = await rt.app.inject({ url: '/api/v1/mongodb/cluster-status', headers: { authorization: read } });
    assert.equal(s.statusCode, 200, s.body);
    const body = s.json();
    assert.deepEqual(body.nodes.map((m: { nodeId: string; status: string }) => [m.nodeId, m.status]), [
      ['mongo-a', 'ok'],
      ['mongo-b', 'ok'],
      ['mongo-c', 'lagging'],
    ]);
    const a = body.nodes[0];
    assert.equal(a.opsPerSecond, 2, '30 ops over the 15 s gap');
    assert.equal(a.cachePercent, 50);
    assert.equal(body.replicaSet.hasPrimary, true);
    assert.equal(body.replicaSet.multiplePrimaries, false);
    assert.equal(body.replicaSet.worstLagSeconds, 45);
    assert.equal(body.replicaSet.shortestOplogWindowHours, 24);
    const relaxed = await rt.app.inject({ url: '/api/v1/mongodb/cluster-status?lagThresholdSeconds=60', headers: { authorization: read } });
    assert.equal(relaxed.json().nodes[2].status, 'ok');
    const bad = await rt.app.inject({ url: '/api/v1/mongodb/cluster-status?nodeId=a;b', headers: { authorization: read } });
    assert.equal(bad.statusCode, 400);
  });

  test('cluster/status: every node with health and the latest figures of each family', async () => {
    // Own nodes (cst-*), so the answer does not depend on what another test stored.
    const now = Date.now();
    const at = (s: number) => new Date(now - s * 1000).toISOString();
    assert.equal((await post('system', [{ nodeId: 'cst-db', timestamp: at(3), nodeRole: 'mongodb', cpuPercent: 12.5 }, { nodeId: 'cst-web', timestamp: at(4), nodeRole: 'web', cpuPercent: 3 }])).statusCode, 200);
    assert.equal((await post('mongodb', [{ nodeId: 'cst-db', timestamp: at(5), role: 'primary', replLagSeconds: 0 }])).statusCode, 200);
    const r = await rt.app.inject({ url: '/api/v1/cluster/status?nodeId=cst-db,cst-web', headers: { authorization: read } });
    assert.equal(r.statusCode, 200, r.body);
    const body = r.json();
    assert.deepEqual(body.items.map((n: { id: string }) => n.id), ['cst-db', 'cst-web']);
    const db = body.items[0];
    assert.equal(db.health, 'ok');
    assert.equal(db.families.system[0].cpuPercent, 12.5);
    assert.equal(db.families.mongodb[0].role, 'primary');
    assert.deepEqual(Object.keys(body.items[1].families), ['system']);
    assert.deepEqual(body.summary, { total: 2, ok: 2, stale: 0, unknown: 0, byRole: { mongodb: 1, web: 1 } });
    assert.deepEqual([body.total, body.page, body.pageSize, body.totalPages], [2, 1, 50, 1]);
  });

  test('cluster/status pages the nodes in id order: default 50, at most 500 per page', async () => {
    const now = Date.now();
    const ids = Array.from({ length: 7 }, (_, i) => `csp-${String(7 - i).padStart(2, '0')}`);
    const rows = ids.map((nodeId, i) => ({ nodeId, timestamp: new Date(now - (i + 1) * 1000).toISOString(), nodeRole: i < 2 ? 'redis' : 'web', cpuPercent: i }));
    assert.equal((await post('system', rows)).statusCode, 200);
    const page = (q: string) => rt.app.inject({ url: `/api/v1/cluster/status?nodeId=${ids.join(',')}&${q}`, headers: { authorization: read } });
    const seen: string[] = [];
    for (const [n, expected] of [[1, 3], [2, 3], [3, 1]] as const) {
      const r = await page(`pageSize=3&page=${n}`);
      assert.equal(r.statusCode, 200, r.body);
      const b = r.json();
      assert.equal(b.items.length, expected, `page ${n}`);
      assert.deepEqual([b.total, b.page, b.pageSize, b.totalPages], [7, n, 3, 3]);
      assert.deepEqual(b.summary, { total: 7, ok: 7, stale: 0, unknown: 0, byRole: { redis: 2, web: 5 } }, 'the summary covers every selected node, not the page');
      for (const node of b.items) assert.equal(node.families.system.length, 1, node.id);
      seen.push(...b.items.map((x: { id: string }) => x.id));
    }
    assert.deepEqual(seen, ['csp-01', 'csp-02', 'csp-03', 'csp-04', 'csp-05', 'csp-06', 'csp-07'], 'stable id order, each node once');
    const beyond = (await page('pageSize=3&page=4')).json();
    assert.deepEqual([beyond.items.length, beyond.total], [0, 7]);
    assert.equal((await page('pageSize=501')).statusCode, 400);
    assert.equal((await page('pageSize=0')).statusCode, 400);
    assert.equal((await page('pageSize=500')).statusCode, 200);
  });
});
