import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachBackend, openMigrated, type MigratedDatabase } from '../../../test/support/backends.ts';
import { IngestValidationError } from '../../timeseries/ingest.ts';
import { FAMILIES } from '../families.ts';
import { checkFamilyLifecycle } from '../mail-cluster/family-test-kit.ts';
import { metricsRedis } from './family.ts';

forEachBackend('redis family', (kind) => {
  let m: MigratedDatabase;
  before(async () => {
    m = await openMigrated(kind);
  });
  after(async () => {
    await m.close();
  });

  test('ingest → raw → 5m/1h/1d rollups → cluster status', async () => {
    await checkFamilyLifecycle(m, metricsRedis, { nodeIds: ['rd-life-1', 'rd-life-2'], families: FAMILIES });
  });

  test('counters are summed, gauges averaged, the replica count and the 0/1 flags keep their minimum', async () => {
    const h = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3 * 3_600_000;
    const at = (i: number) => new Date(h + i * 15 * 60_000).toISOString();
    const rows = [
      { nodeId: 'rd-agg', timestamp: at(0), role: 'master', keyspaceHits: 100, evictedKeys: 0, connectedClients: 10, connectedReplicas: 2, usedMemoryPeakBytes: 5, rdbLastBgsaveOk: 1 },
      { nodeId: 'rd-agg', timestamp: at(1), role: 'master', keyspaceHits: 250, evictedKeys: 3, connectedClients: 20, connectedReplicas: 1, usedMemoryPeakBytes: 9, rdbLastBgsaveOk: 0 },
      { nodeId: 'rd-agg', timestamp: at(2), role: 'master', keyspaceHits: 50, evictedKeys: 1, connectedClients: 30, connectedReplicas: 2, usedMemoryPeakBytes: 7, rdbLastBgsaveOk: 1 },
    ];
    await m.store.ingest('redis', rows);
    const res = await m.store.query('redis', { from: new Date(h), to: new Date(h + 3_600_000), nodeIds: ['rd-agg'], resolution: '1h' });
    assert.equal(res.points.length, 1);
    const p = res.points[0]!;
    assert.equal(p.keyspaceHits, 400);
    assert.equal(p.evictedKeys, 4);
    assert.equal(p.connectedClients, 20);
    assert.equal(p.connectedReplicas, 1);
    assert.equal(p.usedMemoryPeakBytes, 9);
    assert.equal(p.rdbLastBgsaveOk, 0, 'the failed snapshot of the second sample shows in the hour');
    assert.equal(p.samples, 3);
  });

  test('role is master or replica: the INFO spelling "slave", negative deltas and flags other than 0/1 are rejected', async () => {
    await assert.rejects(
      () => m.store.ingest('redis', [{ nodeId: 'rd-bad', role: 'slave' }]),
      (e: unknown) => e instanceof IngestValidationError && e.issues[0]?.path[0] === 'role',
    );
    await assert.rejects(
      () => m.store.ingest('redis', [{ nodeId: 'rd-bad', keyspaceMisses: -5 }]),
      (e: unknown) => e instanceof IngestValidationError && e.issues[0]?.path[0] === 'keyspaceMisses',
    );
    await assert.rejects(
      () => m.store.ingest('redis', [{ nodeId: 'rd-bad', aofEnabled: true }]),
      (e: unknown) => e instanceof IngestValidationError && e.issues[0]?.path[0] === 'aofEnabled',
    );
    await assert.rejects(
      () => m.store.ingest('redis', [{ nodeId: 'rd-bad', masterLinkUp: 2 }]),
      (e: unknown) => e instanceof IngestValidationError && e.issues[0]?.path[0] === 'masterLinkUp',
    );
    const c = await m.db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM metrics_redis WHERE node_id = 'rd-bad'`);
    assert.equal(c?.n, 0);
  });
});
