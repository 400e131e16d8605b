/**
 * Cluster status over families whose node column is not node_id (nor first), and
 * families without a node column (they describe no node: absent from the status).
 * Test families: test/support/node-families.ts.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachBackend, openMigrated, type MigratedDatabase } from '../../../test/support/backends.ts';
import { createNodeFamilies, NODE_TEST_FAMILIES, probeMailq, probeService } from '../../../test/support/node-families.ts';
import { TimeseriesStore } from '../../timeseries/store.ts';
import { FAMILIES } from '../families.ts';
import { getClusterStatus, latestSQL } from './status.ts';

const NOW = Math.floor(Date.now() / 1000) * 1000 - 5 * 60_000;
const ago = (s: number) => new Date(NOW - s * 1000).toISOString();

test('the latest-row query joins the nodes on the node column; a family without one has no such query', () => {
  const sql = latestSQL(probeMailq);
  assert.match(sql, /DISTINCT ON \(t\.queue\)/);
  assert.match(sql, /WHERE t\.host = n\.id/);
  assert.match(sql, /ORDER BY l\.host, l\.queue/);
  assert.doesNotMatch(sql, /node_id/);
  assert.throws(() => latestSQL(probeService), /probe_service has no node column/);
});

forEachBackend('cluster status with families with and without a node column', (kind) => {
  let m: MigratedDatabase;
  let store: TimeseriesStore;
  before(async () => {
    m = await openMigrated(kind);
    await createNodeFamilies(m.db, m.tier);
    store = new TimeseriesStore({ db: m.db, tier: m.tier, families: NODE_TEST_FAMILIES });
  });
  after(async () => {
    await m.close();
  });

  test("a node's latest series of a family keyed by another column; node-less families stay out", async () => {
    await m.store.ingest('system', [{ nodeId: 'cn-mx', timestamp: ago(15), nodeRole: 'mta', cpuPercent: 12 }]);
    await store.ingest('probe_mailq', [
      { queue: 'active', host: 'cn-mx', timestamp: ago(90), hostRole: 'mta', depth: 3 },
      { queue: 'active', host: 'cn-mx', timestamp: ago(30), hostRole: 'mta', depth: 5 },
      { queue: 'deferred', host: 'cn-mx', timestamp: ago(60), hostRole: 'mta', depth: 40 },
      { queue: 'active', host: 'cn-relay', timestamp: ago(45), hostRole: 'relay', depth: 1 },
    ]);
    await store.ingest('probe_service', [{ service: 'cn-mx', address: '::1', timestamp: ago(10), up: 1, latencyMs: 3 }]);
    const status = await getClusterStatus(m.db, [...FAMILIES, ...NODE_TEST_FAMILIES], { now: new Date(NOW), nodeIds: ['cn-mx', 'cn-relay'] });
    assert.deepEqual(
      status.nodes.map((n) => [n.id, n.role, n.lastSeen, Object.keys(n.families).sort()]),
      [
        ['cn-mx', 'mta', ago(15), ['probe_mailq', 'system']],
        ['cn-relay', 'relay', ago(45), ['probe_mailq']],
      ],
    );
    assert.deepEqual(status.nodes[0]!.families.probe_mailq, [
      { timestamp: ago(30), queue: 'active', host: 'cn-mx', hostRole: 'mta', depth: 5 },
      { timestamp: ago(60), queue: 'deferred', host: 'cn-mx', hostRole: 'mta', depth: 40 },
    ]);
    assert.deepEqual(status.nodes[1]!.families.probe_mailq, [{ timestamp: ago(45), queue: 'active', host: 'cn-relay', hostRole: 'relay', depth: 1 }]);
  });
});
