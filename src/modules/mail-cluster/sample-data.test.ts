import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachBackend, openMigrated, type MigratedDatabase } from '../../../test/support/backends.ts';
import { camelCase } from '../../timeseries/family.ts';
import { FAMILIES } from '../families.ts';
import { getClusterStatus } from '../cluster/status.ts';
import { getMongoClusterStatus } from '../mongodb/cluster-status.ts';
import { loadFactor, loadSampleData, sampleRowsAt } from './sample-data.ts';

const DAY = 86_400_000;
/** Yesterday 12:00 UTC: in the past, outside the nightly backup and the bulk campaign. */
const NOW = new Date(Math.floor(Date.now() / DAY) * DAY - DAY + 12 * 3_600_000);
const SERIES = { system: 6, mongodb: 3, redis: 2, zonemta: 4, rspamd: 1 };
const PER_STEP = Object.values(SERIES).reduce((a, b) => a + b, 0);

test('sample rows are a pure function of the timestamp, valid for every family, with daily patterns', () => {
  const t = NOW.getTime();
  assert.deepEqual(sampleRowsAt(t, 60), sampleRowsAt(t, 60), 'deterministic');
  assert.notDeepEqual(sampleRowsAt(t, 60), sampleRowsAt(t + 60_000, 60), 'noisy');
  const rows = sampleRowsAt(t, 60);
  assert.deepEqual(Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, v.length])), SERIES);
  assert.deepEqual(Object.keys(rows).sort(), FAMILIES.map((f) => f.key).sort(), 'every family has sample rows');
  for (const f of FAMILIES) {
    const fields = ['timestamp', ...f.identity.map(camelCase), ...f.columns.map((c) => c.field)].sort();
    for (const row of rows[f.key]!) assert.deepEqual(Object.keys(row).sort(), fields, `${f.key}: every column is filled`);
  }
  const night = new Date(t).setUTCHours(3, 30);
  const afternoon = new Date(t).setUTCHours(13, 30);
  assert.ok(loadFactor(afternoon) > 3 * loadFactor(night));
  const delivered = (ts: number) => sampleRowsAt(ts, 60).zonemta!.filter((r) => r.zone === 'default').reduce((a, r) => a + (r.delivered as number), 0);
  assert.ok(delivered(afternoon) > 1.5 * delivered(night), 'more mail in the afternoon than at night');
  const lag3 = (ts: number) => sampleRowsAt(ts, 60).mongodb!.find((r) => r.nodeId === 'mongo-3')!.replLagSeconds as number;
  assert.ok(lag3(new Date(t).setUTCHours(2, 10)) > 15, 'mongo-3 lags during the nightly backup');
  assert.ok(lag3(afternoon) < 5);
});

forEachBackend('mail-cluster sample data', (kind) => {
  let m: MigratedDatabase;
  before(async () => {
    m = await openMigrated(kind);
  });
  after(async () => {
    await m.close();
  });

  test('loads a day for the whole cluster in batches, and is idempotent', async () => {
    const r = await loadSampleData(m.store, { now: NOW, days: 1 });
    assert.equal(r.steps, 1440);
    assert.equal(r.stepSeconds, 60);
    assert.equal(r.to, NOW.toISOString());
    assert.equal(r.from, new Date(NOW.getTime() - DAY + 60_000).toISOString());
    assert.equal(r.received, 1440 * PER_STEP);
    assert.equal(r.inserted, r.received);
    for (const [key, n] of Object.entries(SERIES)) assert.deepEqual(r.families[key], { received: 1440 * n, inserted: 1440 * n }, key);
    for (const f of FAMILIES) {
      const c = await m.db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM ${f.table}`);
      assert.equal(c?.n, 1440 * SERIES[f.key as keyof typeof SERIES], f.table);
    }

    const again = await loadSampleData(m.store, { now: NOW, days: 1 });
    assert.equal(again.received, r.received);
    assert.equal(again.inserted, 0, 're-running inserts nothing new');

    const later = await loadSampleData(m.store, { now: new Date(NOW.getTime() + 60_000), days: 1 });
    assert.equal(later.inserted, PER_STEP, 'a minute later only the new step is added');

    // what is stored is what the generator says
    const stored = await m.store.query('redis', { from: NOW, to: new Date(NOW.getTime() + 1), nodeIds: ['redis-1'], resolution: 'raw' });
    assert.deepEqual(stored.points[0], sampleRowsAt(NOW.getTime(), 60).redis![0]);
  });

  test('every endpoint has something to show: nodes, cluster status, replica set, rollups', async () => {
    const now = new Date(NOW.getTime() + 10_000);
    const cluster = await getClusterStatus(m.db, FAMILIES, { now });
    const ids = cluster.nodes.map((n) => n.id);
    for (const id of ['mongo-1', 'mongo-2', 'mongo-3', 'redis-1', 'redis-2', 'mta-1', 'mta-2', 'rspamd-1']) assert.ok(ids.includes(id), id);
    const n = Object.fromEntries(cluster.nodes.map((x) => [x.id, x]));
    assert.equal(n['mongo-1']!.hostname, 'mongo-1.mail.example.net');
    assert.equal(n['mongo-1']!.role, 'mongodb');
    assert.equal(n['redis-1']!.role, 'redis');
    assert.deepEqual(n['redis-1']!.labels, { sample: 'mail-cluster', host: 'mta-1' });
    assert.deepEqual(Object.keys(n['mongo-2']!.families).sort(), ['mongodb', 'system']);
    assert.deepEqual(Object.keys(n['mta-1']!.families).sort(), ['system', 'zonemta']);
    assert.deepEqual(n['mta-2']!.families.zonemta!.map((p) => p.zone), ['bulk', 'default']);
    assert.deepEqual(Object.keys(n['redis-2']!.families), ['redis']);
    assert.deepEqual(Object.keys(n['rspamd-1']!.families).sort(), ['rspamd', 'system']);

    const mongo = await getMongoClusterStatus(m.db, { lagThresholdSeconds: 10, now });
    assert.deepEqual(
      mongo.nodes.map((x) => [x.nodeId, x.role, x.status]),
      [
        ['mongo-1', 'primary', 'ok'],
        ['mongo-2', 'secondary', 'ok'],
        ['mongo-3', 'secondary', 'ok'],
      ],
    );
    assert.equal(mongo.replicaSet.status, 'ok');
    assert.equal(mongo.nodes[0]!.opsIntervalSeconds, 60, 'the sample data is sampled every 60 s');
    assert.ok(mongo.nodes[0]!.opsPerSecond! > mongo.nodes[1]!.opsPerSecond!, 'the primary takes the writes');

    // rollups answer over the day, and add up to the raw rows
    const from = new Date(NOW.getTime() - DAY + 60_000);
    const to = new Date(NOW.getTime() + 1);
    const hourly = await m.store.query('zonemta', { from, to, resolution: '1h', nodeIds: ['mta-1', 'mta-2'] });
    assert.ok(hourly.points.length >= 24 * 4);
    const raw = await m.db.queryOne<{ s: number }>(`SELECT sum(delivered)::float8 AS s FROM metrics_zonemta WHERE time >= $1 AND time < $2`, [
      new Date(Math.floor(from.getTime() / 3_600_000) * 3_600_000).toISOString(),
      new Date(Math.ceil(to.getTime() / 3_600_000) * 3_600_000).toISOString(),
    ]);
    assert.equal(
      hourly.points.reduce((a, p) => a + (p.delivered as number), 0),
      raw?.s,
    );
  });
});
