/**
 * Migration 0032 (histograms of email rollups become packed numerics) on a database that
 * already holds email events: stopped at migration 31, events written, the rollups
 * materialized with the old bigint[] histograms, the oldest hour of events removed as
 * retention would; then migrated. The p95 of every hour and of the whole window is the
 * nearest-rank bucket of the events written here (computed below from the values, not read
 * from Opsdeck), before and after the refresh; the hour the events no longer cover keeps its
 * p95 (converted in place on the postgres tier, in opsdeck_rollup_archive on the timescale
 * tier); and the old histogram functions are gone.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachBackend, openDatabase, refreshStreamRollups, type BackendKind, type TestDatabase } from '../../test/support/backends.ts';
import { STREAMS } from '../modules/streams.ts';
import { StreamStore } from '../timeseries/stream-store.ts';
import { rollupStorage } from '../timeseries/stream-ddl.ts';
import { migrate } from './migrator.ts';
import type { StorageTier } from './tier.ts';

const HOUR = 3_600_000;
/** Three whole hours ending two hours ago; the first is later removed from the events. */
const T0 = Math.floor((Date.now() - 5 * HOUR) / HOUR) * HOUR;
const DOMAINS: Record<string, number[][]> = {
  // per hour: the delivery times (ms) of that hour's delivered events
  'gmail.com': [
    [5, 7, 9000, 12],
    Array.from({ length: 40 }, (_, i) => 10 * (i + 1)),
    [250, 260, 270, 30_000, 280],
  ],
  'tiny.example': [
    [0, 700],
    [...Array.from({ length: 19 }, () => 0), 3],
    [1500],
  ],
};

/** Bucket of a value: 1 below 1, else k with 2^((k−2)/8) ≤ v < 2^((k−1)/8). */
const bucketOf = (v: number) => (v < 1 ? 1 : Math.floor(8 * Math.log2(v)) + 2);
/** The nearest-rank p95 read back from the histogram: the geometric middle of its bucket (0 for bucket 1). */
function p95(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const k = bucketOf(sorted[Math.max(1, Math.ceil(0.95 * sorted.length)) - 1]!);
  return k === 1 ? 0 : 2 ** ((k - 2 + 0.5) / 8);
}
const close = (a: number | null, b: number | null, what: string) => {
  if (a === null || b === null) return assert.equal(a, b, what);
  assert.ok(Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);
};

forEachBackend('migration 0032 on a database holding email events', (kind: BackendKind) => {
  let t: TestDatabase;
  let tier: StorageTier;
  let streams: StreamStore;
  const oldHourly = new Map<string, number | null>();

  before(async () => {
    t = await openDatabase(kind);
    tier = (await migrate(t.db, { target: 31 })).tier.tier;
    streams = new StreamStore({ db: t.db, tier, streams: STREAMS });
    const events: Record<string, unknown>[] = [];
    let n = 0;
    for (const [toDomain, hours] of Object.entries(DOMAINS)) {
      hours.forEach((values, h) => {
        const e = (eventType: string, more: Record<string, unknown>) => ({
          timestamp: new Date(T0 + h * HOUR + (++n % 50) * 60_000).toISOString(),
          eventId: `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`,
          eventType,
          messageId: `<m${n}@shop.example>`,
          mtaNode: 'mta-1',
          fromDomain: 'shop.example',
          toDomain,
          ...more,
        });
        for (const v of values) events.push(e('delivered', { deliveryTimeMs: v, statusCode: 250 }));
        // a delivery without a time is counted, and is in no histogram
        events.push(e('delivered', { statusCode: 250 }));
        events.push(e('bounced', { statusCode: 550 }));
      });
    }
    const r = await streams.ingest('email', events);
    assert.equal(r.inserted, events.length);
    // Materialize every rollup with a histogram the way version 31 did.
    const withHist = streams.stream('email').rollups.filter((x) => x.storage.some((c) => c.name === 'delivery_time_ms_hist'));
    assert.ok(withHist.length >= 10);
    for (const x of withHist) {
      if (tier === 'timescale') await t.db.exec(`CALL refresh_continuous_aggregate('${rollupStorage(x, 'timescale')}', NULL, NULL)`);
      else {
        const cols = ['bucket', ...x.groupBy, ...x.storage.map((c) => c.name)].join(', ');
        await t.db.exec(`INSERT INTO ${rollupStorage(x, 'postgres')} (${cols}) SELECT ${cols} FROM ${x.name}`);
      }
    }
    if (tier === 'postgres') await t.db.exec('DELETE FROM opsdeck_rollup_invalidations');
    assert.equal((await t.db.queryOne<{ t: string }>(`SELECT pg_typeof(delivery_time_ms_hist)::text AS t FROM email_stats_destination_1h LIMIT 1`))!.t, 'bigint[]');
    for (const row of await t.db.queryMany<{ to_domain: string; bucket: Date; p: number | null }>(
      `SELECT to_domain, bucket, p95_delivery_ms AS p FROM email_stats_destination_1h WHERE event_type = 'delivered'`,
    )) {
      oldHourly.set(`${row.to_domain}@${row.bucket.getTime()}`, row.p);
    }
    // retention removes the oldest hour of events
    await t.db.query('DELETE FROM email_events WHERE time < $1', [new Date(T0 + HOUR).toISOString()]);
    const m = await migrate(t.db);
    assert.deepEqual(
      m.applied.map((a) => a.version),
      [...Array(m.currentVersion - 31).keys()].map((i) => 32 + i),
    );
  });
  after(async () => {
    await t.close();
  });

  test('before the migration, the old histograms gave the same hourly p95s', () => {
    for (const [domain, hours] of Object.entries(DOMAINS)) {
      hours.forEach((values, h) => close(oldHourly.get(`${domain}@${T0 + h * HOUR}`) ?? null, p95(values), `${domain} hour ${h} (bigint[])`));
    }
  });

  test('the histograms are numerics and the old functions are gone', async () => {
    assert.equal((await t.db.queryOne<{ t: string }>(`SELECT pg_typeof(delivery_time_ms_hist)::text AS t FROM email_stats_destination_1h LIMIT 1`))!.t, 'numeric');
    const fns = await t.db.queryMany<{ f: string }>(
      `SELECT p.oid::regprocedure::text AS f FROM pg_proc p WHERE p.proname LIKE 'opsdeck\\_hist%' ORDER BY 1`,
    );
    assert.deepEqual(
      fns.map((f) => f.f),
      ['opsdeck_hist_quantile(numeric,double precision)', 'opsdeck_hist_unit(double precision)'],
    );
  });

  for (const phase of ['before the refresh', 'after the refresh'] as const) {
    test(`the p95 of each kept hour and of both together, ${phase}`, async () => {
      if (phase === 'after the refresh') await refreshStreamRollups({ db: t.db, tier, streams }, 'email');
      for (const [domain, hours] of Object.entries(DOMAINS)) {
        for (const h of [1, 2]) {
          const row = await t.db.queryOne<{ p: number | null }>(
            `SELECT p95_delivery_ms AS p FROM email_stats_destination_1h WHERE event_type = 'delivered' AND to_domain = $1 AND bucket = $2`,
            [domain, new Date(T0 + h * HOUR).toISOString()],
          );
          close(row?.p ?? null, p95(hours[h]!), `${domain} hour ${h}`);
        }
        const st = await streams.stats('email', {
          from: new Date(T0 + HOUR),
          to: new Date(T0 + 3 * HOUR),
          groupBy: ['toDomain'],
          measures: ['p95DeliveryMs'],
          filters: { toDomain: [domain], eventType: ['delivered'] },
          collapse: true,
        });
        assert.equal(st.buckets.length, 1);
        close((st.buckets[0]!.p95DeliveryMs ?? null) as number | null, p95([...hours[1]!, ...hours[2]!]), `${domain}, hours 1 and 2 merged`);
      }
    });
  }

  test('the hour the events no longer cover keeps its p95', async () => {
    for (const [domain, hours] of Object.entries(DOMAINS)) {
      const at = new Date(T0).toISOString();
      if (tier === 'postgres') {
        // converted in place: alone, and merged with the hours recomputed from the events
        const row = await t.db.queryOne<{ p: number | null }>(
          `SELECT p95_delivery_ms AS p FROM email_stats_destination_1h WHERE event_type = 'delivered' AND to_domain = $1 AND bucket = $2`,
          [domain, at],
        );
        close(row?.p ?? null, p95(hours[0]!), `${domain} hour 0, converted`);
        const st = await streams.stats('email', {
          from: new Date(T0),
          to: new Date(T0 + 3 * HOUR),
          groupBy: ['toDomain'],
          measures: ['p95DeliveryMs'],
          filters: { toDomain: [domain], eventType: ['delivered'] },
          collapse: true,
        });
        close((st.buckets[0]!.p95DeliveryMs ?? null) as number | null, p95(hours.flat()), `${domain}, a converted hour merged with two new ones`);
      } else {
        const row = await t.db.queryOne<{ p: number | null }>(
          `SELECT (row->>'p95_delivery_ms')::float8 AS p FROM opsdeck_rollup_archive WHERE relation = 'email_stats_destination_1h' AND row->>'to_domain' = $1 AND row->>'event_type' = 'delivered' AND bucket = $2`,
          [domain, at],
        );
        close(row?.p ?? null, p95(hours[0]!), `${domain} hour 0, archived`);
      }
    }
  });
});
