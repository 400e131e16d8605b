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
    const now = Date.now();
    await post('system', [{ nodeId: 'mongo-a', timestamp: new Date(now - 3000).toISOString(), nodeRole: 'mongodb', cpuPercent: 12.5 }]);
    const r = await rt.app.inject({ url: '/api/v1/cluster/status', headers: { authorization: read } });
    assert.equal(r.statusCode, 200, r.body);
    const a = r.json().nodes.find((n: { id: string }) => n.id === 'mongo-a');
    assert.equal(a.health, 'ok');
    assert.equal(a.families.system[0].cpuPercent, 12.5);
    assert.equal(a.families.mongodb[0].role, 'primary');
    assert.equal(r.json().summary.total, 3);
  });
});
