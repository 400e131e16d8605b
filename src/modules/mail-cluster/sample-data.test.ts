import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachBackend, openMigrated, refreshStreamRollups, type MigratedDatabase } from '../../../test/support/backends.ts';
import { buildTestRuntime, type TestRuntime } from '../../../test/support/app.ts';
import { loginAs } from '../../../test/support/auth.ts';
import { emailEvents } from '../email-events/stream.ts';
import { prepareEvents, streamEventSchema } from '../../timeseries/stream-ingest.ts';
import { camelCase } from '../../timeseries/family.ts';
import { FAMILIES } from '../families.ts';
import { getClusterStatus } from '../cluster/status.ts';
import { getMongoClusterStatus } from '../mongodb/cluster-status.ts';
import { loadFactor, loadSampleData, loadSampleEvents, sampleEventCount, sampleEventsAt, sampleRowsAt, type SampleEvent } from './sample-data.ts';

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

// ---------- email events ----------

/** The latest Thursday 00:00 UTC not after now: the day before it is a whole past Wednesday (a weekday with the campaign). */
function lastThursday(): Date {
  let d = Math.floor(Date.now() / DAY) * DAY;
  while (new Date(d).getUTCDay() !== 4) d -= DAY;
  return new Date(d);
}
const THURSDAY = lastThursday();
const WEDNESDAY = new Date(THURSDAY.getTime() - DAY);
const at = (day: Date, h: number, m = 0) => day.getTime() + h * 3_600_000 + m * 60_000;

/** A whole day of both MTA nodes' events, minute by minute. */
function dayOfEvents(day: Date, scale: number): SampleEvent[] {
  const out: SampleEvent[] = [];
  for (let t = day.getTime(); t < day.getTime() + DAY; t += 60_000) for (const node of ['mta-1', 'mta-2']) out.push(...sampleEventsAt(node, t, scale));
  return out;
}

const share = (events: readonly SampleEvent[], pred: (e: SampleEvent) => boolean) => events.filter(pred).length / events.length;

test('sample email events: counts per minute follow the hourly profile, the weekend and the campaign', () => {
  const saturday = new Date(WEDNESDAY.getTime() + 3 * DAY);
  assert.equal(new Date(saturday).getUTCDay(), 6);
  // by hand from the profile: 150/min at 13:00 on a weekday, 75 on a weekend, 8 at 02:00; 09:00–10:30 adds the 120/min campaign
  assert.equal(sampleEventCount(at(WEDNESDAY, 13, 5), 1), 150);
  assert.equal(sampleEventCount(at(saturday, 13, 5), 1), 75);
  assert.equal(sampleEventCount(at(WEDNESDAY, 2, 30), 1), 8);
  assert.equal(sampleEventCount(at(WEDNESDAY, 9, 40), 1), 130 + 120);
  assert.equal(sampleEventCount(at(saturday, 9, 40), 1), 65, 'no campaign at weekends');
  assert.equal(sampleEventCount(at(WEDNESDAY, 13, 5), 0.1), 15);
  assert.equal(sampleEventsAt('mta-1', at(WEDNESDAY, 13, 5)).length, 150);
  assert.deepEqual(sampleEventsAt('mta-1', at(WEDNESDAY, 13, 5)), sampleEventsAt('mta-1', at(WEDNESDAY, 13, 5)), 'deterministic');
  assert.notDeepEqual(sampleEventsAt('mta-1', at(WEDNESDAY, 13, 5)), sampleEventsAt('mta-2', at(WEDNESDAY, 13, 5)), 'each node has its own events');
  // inside their minute, in order
  const m = sampleEventsAt('mta-2', at(WEDNESDAY, 9, 41));
  for (const e of m) assert.ok(Date.parse(e.timestamp as string) >= at(WEDNESDAY, 9, 41) && Date.parse(e.timestamp as string) < at(WEDNESDAY, 9, 42));
});

test('a weekday of sample email events: a realistic mix that passes the ingest validation', () => {
  const events = dayOfEvents(WEDNESDAY, 0.25);
  // by hand: per node Σ round(profile × 0.25) = 435 events a minute-hour → 435 × 60 = 26,100, plus 90 campaign minutes × 30
  assert.equal(events.length, 2 * (435 * 60 + 90 * 30));
  // the API's validation accepts every event (it throws on the first bad one)
  const schema = streamEventSchema(emailEvents);
  for (let i = 0; i < events.length; i += 5000) prepareEvents(emailEvents, schema, events.slice(i, i + 5000), { now: THURSDAY.getTime() });
  assert.equal(new Set(events.map((e) => e.eventId)).size, events.length, 'event ids are unique');

  const type = (t: string) => (e: SampleEvent) => e.eventType === t;
  // transactional mail 90 % delivered; the campaign (9.4 % of the day) 86 %
  assert.ok(share(events, type('delivered')) > 0.88 && share(events, type('delivered')) < 0.915, `delivered ${share(events, type('delivered'))}`);
  assert.ok(share(events, type('deferred')) > 0.04 && share(events, type('deferred')) < 0.065);
  assert.ok(share(events, type('bounced')) > 0.02 && share(events, type('bounced')) < 0.04);
  assert.ok(share(events, type('rejected')) > 0.005 && share(events, type('rejected')) < 0.015);
  assert.ok(share(events, type('received')) > 0.005 && share(events, type('received')) < 0.015);
  const bounces = events.filter(type('bounced'));
  const hard = bounces.filter((e) => e.bounceType === 'hard');
  assert.ok(hard.length / bounces.length > 0.55 && hard.length / bounces.length < 0.75, 'about two thirds of the bounces are hard');
  for (const e of hard) assert.ok((e.statusCode as number) >= 500 && (e.statusCode as number) < 600 && (e.statusMessage as string).startsWith(String(e.statusCode)));
  for (const e of bounces.filter((x) => x.bounceType === 'soft')) assert.ok((e.statusCode as number) >= 400 && (e.statusCode as number) < 500);
  for (const e of bounces) assert.ok(e.bounceCategory !== null && e.bounceMessage !== null);
  assert.deepEqual(new Set(hard.map((e) => e.bounceCategory)), new Set(['user_unknown', 'policy', 'spam', 'other']));
  for (const e of events.filter(type('deferred'))) assert.ok((e.statusCode as number) >= 400 && (e.statusCode as number) < 500);
  for (const e of events.filter(type('delivered'))) assert.equal(e.statusCode, 250);
  for (const e of events.filter((x) => x.eventType === 'received' || x.eventType === 'rejected')) assert.equal(e.sendingIp, null, 'inbound mail has no sending IP');
  assert.deepEqual(new Set(events.filter(type('delivered')).map((e) => e.sendingIp)), new Set(['192.0.2.11', '192.0.2.12', '192.0.2.21', '192.0.2.22']));
  assert.ok(share(events, (e) => e.fromDomain === 'news.example.org') > 0.08 && share(events, (e) => e.fromDomain === 'news.example.org') < 0.11, 'the campaign');
  assert.ok(share(events, (e) => e.dkimResult === 'pass') > 0.94);
  assert.ok(share(events, (e) => e.spfResult === 'pass') > 0.95);
  assert.ok(share(events, (e) => e.dmarcResult === 'pass') > 0.93);
  // delivery time: median around 450 ms, a long tail of slow MX hosts
  const times = events.map((e) => e.deliveryTimeMs).filter((x): x is number => typeof x === 'number').sort((a, b) => a - b);
  const q = (p: number) => times[Math.ceil(p * times.length) - 1]!;
  assert.ok(q(0.5) > 350 && q(0.5) < 550, `median ${q(0.5)}`);
  assert.ok(q(0.995) > 10_000, `p99.5 ${q(0.995)}`);
  assert.ok(times.at(-1)! <= 60_000);
});

forEachBackend('mail-cluster sample email events', (kind) => {
  let rt: TestRuntime;
  before(async () => {
    rt = await buildTestRuntime(kind);
  });
  after(async () => {
    await rt.destroy();
  });

  test('a day of events through the validated ingest, idempotent, and the stats endpoint answers over them', async () => {
    const r = await loadSampleEvents(rt.streams, { now: THURSDAY, days: 1, scale: 0.1 });
    // by hand: per node Σ round(profile × 0.1) = 176 → 176 × 60 + 90 campaign minutes × 12 = 11,640
    const expected = 2 * (176 * 60 + 90 * 12);
    assert.equal(r.from, WEDNESDAY.toISOString());
    assert.equal(r.to, THURSDAY.toISOString());
    assert.equal(r.received, expected);
    assert.equal(r.inserted, expected);
    const stored = await rt.db.queryMany<{ event_type: string; n: number }>('SELECT event_type, count(*)::int AS n FROM email_events GROUP BY 1');
    const byType = Object.fromEntries(stored.map((x) => [x.event_type, x.n]));
    assert.equal(Object.values(byType).reduce((a, b) => a + b, 0), expected);
    assert.deepEqual(byType, r.byType);
    const again = await loadSampleEvents(rt.streams, { now: THURSDAY, days: 1, scale: 0.1 });
    assert.equal(again.inserted, 0, 're-running stores nothing twice');

    await refreshStreamRollups({ db: rt.db, streams: rt.streams, tier: rt.tier.tier }, 'email');
    const auth = await loginAs(rt, 'viewer');
    const res = await rt.app.inject({
      method: 'GET',
      url: `/api/v1/events/email/stats?from=${WEDNESDAY.toISOString()}&to=${THURSDAY.toISOString()}&resolution=1h`,
      headers: { authorization: auth },
    });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json() as { buckets: { bucket: string; eventType: string; eventCount: number }[] };
    const counted: Record<string, number> = {};
    for (const b of body.buckets) counted[b.eventType] = (counted[b.eventType] ?? 0) + b.eventCount;
    assert.deepEqual(counted, byType, 'the hourly rollup adds up to the stored events');
    assert.equal(new Set(body.buckets.map((b) => b.bucket)).size, 24);
    const busiest = (h: number) => body.buckets.filter((b) => new Date(b.bucket).getUTCHours() === h).reduce((a, b) => a + b.eventCount, 0);
    assert.equal(busiest(13), 2 * 60 * 15, 'by hand: 15 events a minute per node at 13:00');
    assert.equal(busiest(9), 2 * 60 * (13 + 12), '09:00: profile and campaign');
  });
});
