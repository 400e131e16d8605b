/**
 * Collapsed stats answers stitched from rollups of several levels: the parts of a window
 * each rollup reads (pure, over the email stream's declared rollups), and on every backend
 * the counts of nine hand-placed events over a window of two whole days and two partial ones,
 * before and after the rollups are refreshed; the same counts spread into one object of event
 * types per sending IP, and what a spread refuses.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachBackend, openMigrated, refreshStreamRollups, type MigratedDatabase } from '../../test/support/backends.ts';
import { emailEvents } from '../modules/email-events/stream.ts';
import { stitch } from './stream-store.ts';

const HOUR = 3_600_000;
const DAY = 86_400_000;
const t = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();
const rollup = (name: string) => emailEvents.rollups.find((r) => r.name === name)!;
const measure = (r: string, field: string) => rollup(r).measures.find((m) => m.field === field)!;
const parts = (p: ReturnType<typeof stitch>) => p.map((x) => [x.rollup.name, iso(x.from), iso(x.to)]);

test('a week by sending IP reads whole days from the daily rollup and the edges hourly', () => {
  const p = stitch(emailEvents.rollups, rollup('email_stats_ip_1h'), ['sending_ip', 'event_type'], [measure('email_stats_ip_1h', 'eventCount')], t('2026-11-23T15:00:00Z'), t('2026-11-30T15:47:00Z'));
  assert.deepEqual(parts(p), [
    ['email_stats_ip_1h', '2026-11-23T15:00:00.000Z', '2026-11-24T00:00:00.000Z'],
    ['email_stats_ip_1d', '2026-11-24T00:00:00.000Z', '2026-11-30T00:00:00.000Z'],
    ['email_stats_ip_1h', '2026-11-30T00:00:00.000Z', '2026-11-30T15:47:00.000Z'],
  ]);
});

test('without a whole day inside, whole hours come from an hourly rollup and the 5-minute edges from the finest', () => {
  const fine = rollup('email_stats_overview_5m');
  const p = stitch(emailEvents.rollups, fine, ['event_type'], [measure('email_stats_overview_5m', 'eventCount')], t('2026-11-29T10:05:00Z'), t('2026-11-30T15:47:00Z'));
  // the overview hourly rollup is the first declared 1-hour rollup with event_type
  assert.deepEqual(parts(p), [
    ['email_stats_overview_5m', '2026-11-29T10:05:00.000Z', '2026-11-29T11:00:00.000Z'],
    ['email_stats_overview_1h', '2026-11-29T11:00:00.000Z', '2026-11-30T15:00:00.000Z'],
    ['email_stats_overview_5m', '2026-11-30T15:00:00.000Z', '2026-11-30T15:47:00.000Z'],
  ]);
});

test('a rollup without the measure or a dimension asked is never read; a short window is one part', () => {
  // p95 is kept by the destination rollups but not by the daily requirements rollup (no histogram)
  const p95 = stitch(emailEvents.rollups, rollup('email_stats_1h'), ['to_domain', 'from_domain', 'event_type'], [measure('email_stats_1h', 'p95DeliveryMs')], t('2026-11-20T07:00:00Z'), t('2026-11-30T00:00:00Z'));
  assert.deepEqual(parts(p95), [['email_stats_1h', '2026-11-20T07:00:00.000Z', '2026-11-30T00:00:00.000Z']]);
  const short = stitch(emailEvents.rollups, rollup('email_stats_ip_1h'), ['sending_ip', 'event_type'], [measure('email_stats_ip_1h', 'eventCount')], t('2026-11-30T10:00:00Z'), t('2026-11-30T10:40:00Z'));
  assert.deepEqual(parts(short), [['email_stats_ip_1h', '2026-11-30T10:00:00.000Z', '2026-11-30T10:40:00.000Z']]);
});

forEachBackend('collapsed stats stitched from daily and hourly rollups', (kind) => {
  let m: MigratedDatabase;
  // day0 … day3: four whole UTC days ending at least a day ago
  const day0 = Math.floor(Date.now() / DAY) * DAY - 5 * DAY;
  const at = (day: number, hhmm: string) => day0 + day * DAY + Number(hhmm.slice(0, 2)) * HOUR + Number(hhmm.slice(3)) * 60_000;
  const A = '192.0.2.1';
  const B = '192.0.2.2';
  const ev = (n: number, time: number, sendingIp: string, eventType: string) => ({
    timestamp: iso(time),
    eventId: `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`,
    eventType,
    sendingIp,
    mtaNode: 'mta-1',
    toDomain: 'example.net',
  });
  // the window: day0 21:10 → day3 02:30; read as day0 21:00–24:00 hourly, day1–day2 daily, day3 00:00–03:00 hourly
  const from = at(0, '21:10');
  const to = at(3, '02:30');
  const events = [
    ev(1, at(0, '20:50'), A, 'delivered'), // before the window's first hour: out
    ev(2, at(0, '21:05'), A, 'delivered'), // in the first hour (answers cover whole hours)
    ev(3, at(0, '23:59'), B, 'bounced'),
    ev(4, at(1, '12:00'), A, 'delivered'),
    ev(5, at(2, '00:00'), B, 'delivered'),
    ev(6, at(2, '23:00'), A, 'deferred'),
    ev(7, at(3, '01:00'), B, 'delivered'),
    ev(8, at(3, '02:45'), A, 'delivered'), // in the last hour, which starts before `to`
    ev(9, at(3, '03:00'), B, 'delivered'), // after: out
  ];
  // A: delivered 2, 4, 8 and deferred 6; B: bounced 3, delivered 5, 7
  const expected = [
    [A, 'deferred', 1],
    [A, 'delivered', 3],
    [B, 'bounced', 1],
    [B, 'delivered', 2],
  ];
  const ask = async () => {
    const r = await m.streams.stats('email', { from: new Date(from), to: new Date(to), groupBy: ['sendingIp', 'eventType'], measures: ['eventCount'], collapse: true });
    const rows = r.buckets.map((b) => [b.sendingIp, b.eventType, b.eventCount]).sort((x, y) => String(x[0]).localeCompare(String(y[0])) || String(x[1]).localeCompare(String(y[1])));
    return { r, rows };
  };

  before(async () => {
    m = await openMigrated(kind);
    const res = await m.streams.ingest('email', events);
    assert.equal(res.inserted, 9);
  });
  after(async () => {
    await m.close();
  });

  test('counts over the stitched window, before and after the refresh, and the parts read', async () => {
    const live = await ask();
    assert.deepEqual(live.rows, expected);
    await refreshStreamRollups(m, 'email');
    const { r, rows } = await ask();
    assert.deepEqual(rows, expected);
    assert.equal(r.rollup, 'email_stats_ip_1h');
    assert.equal(r.buckets[0]!.bucket, iso(at(0, '21:00')));
    assert.deepEqual(r.rollups, [
      { rollup: 'email_stats_ip_1h', from: iso(at(0, '21:00')), to: iso(at(1, '00:00')) },
      { rollup: 'email_stats_ip_1d', from: iso(at(1, '00:00')), to: iso(at(3, '00:00')) },
      { rollup: 'email_stats_ip_1h', from: iso(at(3, '00:00')), to: iso(at(3, '02:30')) },
    ]);
  });

  // every declared event type, 0 where none
  const types = (counts: Record<string, number>) => ({ sent: 0, delivered: 0, bounced: 0, deferred: 0, rejected: 0, received: 0, complaint: 0, ...counts });

  test('spread: one row per sending IP with the count of each event type, stitched and per hour', async () => {
    const collapsed = await m.streams.stats('email', { from: new Date(from), to: new Date(to), groupBy: ['sendingIp', 'eventType'], spread: 'eventType', measures: ['eventCount'], collapse: true });
    assert.equal(collapsed.rollups?.length, 3, 'read from the three parts as above');
    assert.deepEqual(collapsed.groupBy, ['sendingIp']);
    assert.equal(collapsed.spread, 'eventType');
    assert.deepEqual(
      collapsed.buckets.map((b) => [b.sendingIp, b.eventCount]).sort((x, y) => String(x[0]).localeCompare(String(y[0]))),
      [
        [A, types({ delivered: 3, deferred: 1 })],
        [B, types({ bounced: 1, delivered: 2 })],
      ],
    );
    // day 3, 00:00–03:00 per hour: event 7 (B, 01:00) and event 8 (A, 02:45)
    const hourly = await m.streams.stats('email', { from: new Date(at(3, '00:00')), to: new Date(at(3, '03:00')), resolution: '1h', groupBy: ['sendingIp', 'eventType'], spread: 'eventType', measures: ['eventCount'] });
    assert.deepEqual(
      hourly.buckets.map((b) => [b.bucket, b.sendingIp, b.eventCount]),
      [
        [iso(at(3, '01:00')), B, types({ delivered: 1 })],
        [iso(at(3, '02:00')), A, types({ delivered: 1 })],
      ],
    );
  });

  test('spread refuses a dimension without declared values, one not grouped by, and a measure that is not a count or a sum', async () => {
    const w = { from: new Date(from), to: new Date(to), measures: ['eventCount'] };
    const refused = (q: Parameters<typeof m.streams.stats>[1]) => assert.rejects(m.streams.stats('email', q), (e: Error & { code?: string }) => e.code === 'INVALID_SPREAD');
    await refused({ ...w, groupBy: ['sendingIp', 'eventType'], spread: 'sendingIp' });
    await refused({ ...w, groupBy: ['sendingIp'], spread: 'eventType' });
    await refused({ ...w, groupBy: ['toDomain', 'eventType'], spread: 'eventType', measures: ['eventCount', 'p95DeliveryMs'] });
  });
});
