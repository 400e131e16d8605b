import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachBackend, openMigrated, type MigratedDatabase } from '../../../test/support/backends.ts';
import { getMongoClusterStatus, type MongoMember } from './cluster-status.ts';

/** Reference time of every scenario: whole seconds, a little in the past. */
const NOW = Math.floor(Date.now() / 1000) * 1000 - 10 * 60_000;
const ago = (s: number) => new Date(NOW - s * 1000).toISOString();

interface Member {
  id: string;
  role: string;
  lag?: number | null;
  /** Seconds before NOW of the samples to write (newest last). */
  samples?: number[];
  ops?: number;
  oplog?: number;
}

function rows(members: Member[]) {
  return members.flatMap((mb) =>
    (mb.samples ?? [20, 5]).map((s) => ({
      nodeId: mb.id,
      timestamp: ago(s),
      role: mb.role,
      connectionsCurrent: 300,
      connectionsAvailable: 700,
      opsInsert: mb.ops ?? 60,
      opsQuery: mb.ops ?? 60,
      opsUpdate: mb.ops ?? 60,
      opsDelete: mb.ops ?? 60,
      opsCommand: mb.ops ?? 60,
      replLagSeconds: mb.role === 'primary' ? 0 : (mb.lag ?? 1),
      oplogWindowHours: mb.oplog ?? 48,
      wtCacheUsedBytes: 6e9,
      wtCacheMaxBytes: 8e9,
      dataSizeBytes: 1e9,
    })),
  );
}

const byId = (nodes: MongoMember[]) => Object.fromEntries(nodes.map((n) => [n.nodeId, n]));

forEachBackend('mongodb cluster status', (kind) => {
  let m: MigratedDatabase;
  before(async () => {
    m = await openMigrated(kind);
  });
  after(async () => {
    await m.close();
  });

  const status = (nodeIds: string[], extra: { lagThresholdSeconds?: number; staleAfterIntervals?: number; lookbackSeconds?: number } = {}) =>
    getMongoClusterStatus(m.db, { lagThresholdSeconds: 10, now: new Date(NOW), nodeIds, ...extra });

  test('a healthy replica set: one primary, fresh secondaries, per-node figures', async () => {
    await m.store.ingest('mongodb', rows([{ id: 'ok-1', role: 'primary', oplog: 50 }, { id: 'ok-2', role: 'secondary', lag: 1.5, oplog: 47.5 }, { id: 'ok-3', role: 'secondary', lag: 0.5 }]));
    const s = await status(['ok-1', 'ok-2', 'ok-3']);
    assert.deepEqual(
      s.nodes.map((n) => [n.nodeId, n.role, n.status]),
      [
        ['ok-1', 'primary', 'ok'],
        ['ok-2', 'secondary', 'ok'],
        ['ok-3', 'secondary', 'ok'],
      ],
    );
    const n2 = byId(s.nodes)['ok-2']!;
    assert.equal(n2.lastSample, ago(5));
    assert.equal(n2.ageSeconds, 5);
    assert.equal(n2.replLagSeconds, 1.5);
    assert.equal(n2.opsIntervalSeconds, 15, 'divided by the real gap to the previous sample (20 s − 5 s)');
    assert.equal(n2.opsPerSecond, 20, '5 × 60 operations over 15 s');
    assert.deepEqual(n2.ops, { insert: 60, query: 60, update: 60, delete: 60, command: 60 });
    assert.equal(n2.connectionsUsed, 300);
    assert.equal(n2.connectionsAvailable, 700);
    assert.equal(n2.connectionsPercent, 30);
    assert.equal(n2.cacheUsedBytes, 6e9);
    assert.equal(n2.cacheMaxBytes, 8e9);
    assert.equal(n2.cachePercent, 75);
    assert.deepEqual(s.replicaSet, {
      members: 3,
      primaryCount: 1,
      primaries: ['ok-1'],
      hasPrimary: true,
      multiplePrimaries: false,
      staleCount: 0,
      laggingCount: 0,
      worstLagSeconds: 1.5,
      worstLagNodeId: 'ok-2',
      shortestOplogWindowHours: 47.5,
      status: 'ok',
      problems: [],
    });
    assert.equal(s.generatedAt, new Date(NOW).toISOString());
    assert.equal(s.staleAfterSeconds, 45);
  });

  test('lagging: a secondary over the threshold, configurable', async () => {
    await m.store.ingest('mongodb', rows([{ id: 'lag-1', role: 'primary' }, { id: 'lag-2', role: 'secondary', lag: 25 }, { id: 'lag-3', role: 'secondary', lag: 2 }]));
    const s = await status(['lag-1', 'lag-2', 'lag-3']);
    assert.equal(byId(s.nodes)['lag-2']!.status, 'lagging');
    assert.equal(byId(s.nodes)['lag-3']!.status, 'ok');
    assert.equal(s.replicaSet.status, 'degraded');
    assert.equal(s.replicaSet.laggingCount, 1);
    assert.equal(s.replicaSet.worstLagSeconds, 25);
    assert.equal(s.replicaSet.worstLagNodeId, 'lag-2');
    assert.match(s.replicaSet.problems.join('; '), /lag-2 lags 25 s/);
    const lenient = await status(['lag-1', 'lag-2', 'lag-3'], { lagThresholdSeconds: 30 });
    assert.ok(lenient.nodes.every((n) => n.status === 'ok'));
    assert.equal(lenient.replicaSet.status, 'ok');
    await assert.rejects(() => status(['lag-1'], { lagThresholdSeconds: -1 }), RangeError);
  });

  test('stale: no sample within 3 × 15 s; staleness wins over lag; configurable interval count', async () => {
    await m.store.ingest(
      'mongodb',
      rows([
        { id: 'st-1', role: 'primary' },
        { id: 'st-2', role: 'secondary', samples: [120, 50], lag: 99 },
        { id: 'st-3', role: 'secondary', samples: [60, 45] },
      ]),
    );
    const s = await status(['st-1', 'st-2', 'st-3']);
    const n = byId(s.nodes);
    assert.equal(n['st-2']!.status, 'stale', '50 s > 45 s');
    assert.equal(n['st-3']!.status, 'ok', '45 s is still within 3 intervals');
    assert.equal(s.replicaSet.status, 'degraded');
    assert.equal(s.replicaSet.staleCount, 1);
    assert.equal(s.replicaSet.laggingCount, 0);
    assert.equal(s.replicaSet.worstLagSeconds, 1, 'a stale member’s lag is not counted');
    const relaxed = await status(['st-1', 'st-2', 'st-3'], { staleAfterIntervals: 4 });
    assert.equal(byId(relaxed.nodes)['st-2']!.status, 'lagging', 'fresh with 4 intervals (60 s), and over the lag threshold');
  });

  test('a replica set without a primary', async () => {
    await m.store.ingest('mongodb', rows([{ id: 'np-1', role: 'secondary' }, { id: 'np-2', role: 'secondary' }, { id: 'np-3', role: 'arbiter' }]));
    const s = await status(['np-1', 'np-2', 'np-3']);
    assert.equal(s.replicaSet.status, 'no_primary');
    assert.equal(s.replicaSet.hasPrimary, false);
    assert.equal(s.replicaSet.primaryCount, 0);
    assert.equal(s.replicaSet.multiplePrimaries, false);
    assert.match(s.replicaSet.problems[0]!, /no member reports itself primary/);
  });

  test('a stale primary does not count as a primary', async () => {
    await m.store.ingest('mongodb', rows([{ id: 'sp-1', role: 'primary', samples: [600, 300] }, { id: 'sp-2', role: 'secondary' }]));
    const s = await status(['sp-1', 'sp-2']);
    assert.equal(byId(s.nodes)['sp-1']!.status, 'stale');
    assert.equal(byId(s.nodes)['sp-1']!.role, 'primary', 'the last known role is still shown');
    assert.equal(s.replicaSet.status, 'no_primary');
  });

  test('a replica set with two primaries', async () => {
    await m.store.ingest('mongodb', rows([{ id: 'tp-1', role: 'primary' }, { id: 'tp-2', role: 'primary' }, { id: 'tp-3', role: 'secondary' }]));
    const s = await status(['tp-1', 'tp-2', 'tp-3']);
    assert.equal(s.replicaSet.status, 'multiple_primaries');
    assert.equal(s.replicaSet.primaryCount, 2);
    assert.deepEqual(s.replicaSet.primaries, ['tp-1', 'tp-2']);
    assert.equal(s.replicaSet.hasPrimary, true);
    assert.equal(s.replicaSet.multiplePrimaries, true);
  });

  test('ops per second: the real gap to the previous sample, the 15 s interval without one', async () => {
    await m.store.ingest('mongodb', rows([{ id: 'ops-1', role: 'primary', samples: [65, 5], ops: 120 }, { id: 'ops-2', role: 'primary', samples: [5], ops: 30 }]));
    const n = byId((await status(['ops-1', 'ops-2'])).nodes);
    assert.equal(n['ops-1']!.opsIntervalSeconds, 60);
    assert.equal(n['ops-1']!.opsPerSecond, 10, '5 × 120 / 60 s');
    assert.equal(n['ops-2']!.opsIntervalSeconds, 15);
    assert.equal(n['ops-2']!.opsPerSecond, 10, '5 × 30 / 15 s');
  });

  test('the lookback window, rows after `now`, retired nodes and registered mongodb nodes without data', async () => {
    await m.store.ingest('mongodb', rows([{ id: 'lb-1', role: 'primary', samples: [7200, 3600] }, { id: 'lb-2', role: 'secondary', samples: [-30, 10] }]));
    // a node known to run MongoDB (its host metrics say so) that sent no MongoDB sample
    await m.store.ingest('system', [{ nodeId: 'lb-3', timestamp: ago(5), nodeRole: 'mongodb' }]);
    const s = await status(['lb-1', 'lb-2', 'lb-3'], { lookbackSeconds: 1800 });
    const n = byId(s.nodes);
    assert.equal(n['lb-1'], undefined, 'no sample in the last 30 min and not registered as mongodb: not listed');
    assert.equal(n['lb-2']!.lastSample, ago(10), 'a row after `now` is ignored');
    assert.equal(n['lb-3']!.status, 'stale');
    assert.equal(n['lb-3']!.lastSample, null);
    assert.equal(n['lb-3']!.opsPerSecond, null);
    const wide = await status(['lb-1'], { lookbackSeconds: 86_400 });
    assert.equal(wide.nodes[0]!.lastSample, ago(3600));
    assert.equal(wide.nodes[0]!.status, 'stale');
    await m.db.query(`UPDATE nodes SET status = 'retired' WHERE id = 'lb-1'`);
    assert.equal((await status(['lb-1'], { lookbackSeconds: 86_400 })).nodes.length, 0, 'retired nodes are left out');
    const none = await status(['nobody']);
    assert.equal(none.replicaSet.status, 'no_data');
    assert.deepEqual(none.nodes, []);
  });
});
