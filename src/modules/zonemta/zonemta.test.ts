import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachBackend, openMigrated, type MigratedDatabase } from '../../../test/support/backends.ts';
import { IngestValidationError } from '../../timeseries/ingest.ts';
import { FAMILIES } from '../families.ts';
import { getClusterStatus } from '../cluster/status.ts';
import { checkFamilyLifecycle } from '../mail-cluster/family-test-kit.ts';
import { metricsZonemta } from './family.ts';

forEachBackend('zonemta family', (kind) => {
  let m: MigratedDatabase;
  before(async () => {
    m = await openMigrated(kind);
  });
  after(async () => {
    await m.close();
  });

  test('ingest → raw → 5m/1h/1d rollups → cluster status, one series per node and zone', async () => {
    await checkFamilyLifecycle(m, metricsZonemta, { nodeIds: ['zm-life-1', 'zm-life-2'], extraIdentity: { zone: ['default', 'bulk'] }, families: FAMILIES });
  });

  test('the sending zone is part of the identity: required, and zones are kept apart', async () => {
    await assert.rejects(
      () => m.store.ingest('zonemta', [{ nodeId: 'zm-z', delivered: 1 }]),
      (e: unknown) => e instanceof IngestValidationError && e.issues[0]?.path[0] === 'zone',
    );
    const t = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 120_000);
    const res = await m.store.ingest('zonemta', [
      { nodeId: 'zm-z', zone: 'default', timestamp: t.toISOString(), delivered: 40, queueDeferred: 12 },
      { nodeId: 'zm-z', zone: 'bulk', timestamp: t.toISOString(), delivered: 900, queueDeferred: 300 },
    ]);
    assert.equal(res.inserted, 2, 'same node and time, two zones: two rows');
    const status = await getClusterStatus(m.db, FAMILIES, { now: new Date(t.getTime() + 5_000), nodeIds: ['zm-z'] });
    const zones = status.nodes[0]!.families.zonemta!;
    assert.deepEqual(
      zones.map((p) => [p.zone, p.delivered, p.queueDeferred]),
      [
        ['bulk', 900, 300],
        ['default', 40, 12],
      ],
    );
  });

  test('delivery counts sum and queue sizes keep their peak in a bucket', async () => {
    const h = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 5 * 3_600_000;
    const at = (i: number) => new Date(h + i * 20 * 60_000).toISOString();
    await m.store.ingest('zonemta', [
      { nodeId: 'zm-agg', zone: 'default', timestamp: at(0), delivered: 10, bounced: 1, deferred: 2, rejected: 1, queueQueued: 5, queueDeferred: 100, queueSending: 3 },
      { nodeId: 'zm-agg', zone: 'default', timestamp: at(1), delivered: 30, bounced: 0, deferred: 4, rejected: 0, queueQueued: 50, queueDeferred: 80, queueSending: 9 },
      { nodeId: 'zm-agg', zone: 'default', timestamp: at(2), delivered: 20, bounced: 2, deferred: 0, rejected: 1, queueQueued: 7, queueDeferred: 90, queueSending: 1 },
    ]);
    const res = await m.store.query('zonemta', { from: new Date(h), to: new Date(h + 3_600_000), nodeIds: ['zm-agg'], resolution: '1h' });
    assert.deepEqual(
      res.points.map((p) => [p.zone, p.delivered, p.bounced, p.deferred, p.rejected, p.queueQueued, p.queueDeferred, p.queueSending, p.samples]),
      [['default', 60, 3, 6, 2, 50, 100, 9, 3]],
    );
  });
});
