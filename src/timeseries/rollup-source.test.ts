/**
 * readRollups: on the postgres tier a rollup with nothing pending is read from its storage
 * table, one with a pending invalidation through its view, both in one repeatable-read,
 * read-only snapshot with custom plans; inside a transaction already begun, and on the
 * timescale tier, every rollup through its view. The stats answer is the same either way.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachBackend, openDatabase, type BackendKind, type TestDatabase } from '../../test/support/backends.ts';
import { migrate } from '../db/migrator.ts';
import type { StorageTier } from '../db/tier.ts';
import { STREAMS } from '../modules/streams.ts';
import { readRollups } from './rollup-source.ts';
import { StreamStore } from './stream-store.ts';

const A = { view: 'email_stats_destination_count_1h', storage: '_opsdeck_mat_email_stats_destination_count_1h', invalidationKey: 'email_stats_destination_count_1h' };
const B = { view: 'email_stats_destination_count_1d', storage: '_opsdeck_mat_email_stats_destination_count_1d', invalidationKey: 'email_stats_destination_count_1d' };

forEachBackend('reading rollups from their storage tables', (kind: BackendKind) => {
  let t: TestDatabase;
  let tier: StorageTier;
  before(async () => {
    t = await openDatabase(kind);
    tier = (await migrate(t.db)).tier.tier;
  });
  after(async () => {
    await t.close();
  });

  const seen = () =>
    readRollups(t.db, tier, [A, B], async (from, q) => {
      const s = await q.queryOne<{ iso: string; ro: string; plans: string }>(
        `SELECT current_setting('transaction_isolation') AS iso, current_setting('transaction_read_only') AS ro, current_setting('plan_cache_mode') AS plans`,
      );
      return { a: from(A.view), b: from(B.view), settings: s };
    });

  test('nothing pending: storage tables, in one repeatable-read read-only snapshot with custom plans (postgres tier); views (timescale)', async () => {
    await t.db.exec('DELETE FROM opsdeck_rollup_invalidations');
    const r = await seen();
    if (tier === 'timescale') {
      assert.deepEqual([r.a, r.b], [A.view, B.view]);
      return;
    }
    assert.deepEqual([r.a, r.b], [A.storage, B.storage]);
    assert.deepEqual(r.settings, { iso: 'repeatable read', ro: 'on', plans: 'force_custom_plan' });
  });

  test('a rollup with a pending bucket is read through its view, the other from its storage (postgres tier)', async () => {
    await t.db.query(`INSERT INTO opsdeck_rollup_invalidations (family, bucket) VALUES ($1, now())`, [A.invalidationKey]);
    const r = await seen();
    assert.deepEqual([r.a, r.b], tier === 'timescale' ? [A.view, B.view] : [A.view, B.storage]);
    await t.db.exec('DELETE FROM opsdeck_rollup_invalidations');
  });

  test('inside a transaction already begun: the views', async () => {
    const r = await t.db.transaction(async () => seen());
    assert.deepEqual([r.a, r.b], [A.view, B.view]);
  });

  test('an email stats answer is the same before and after the refresh (live view, then storage tables)', async () => {
    const streams = new StreamStore({ db: t.db, tier, streams: STREAMS });
    const end = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000;
    const events = [0, 1, 2, 3].map((i) => ({
      timestamp: new Date(end - 3 * 86_400_000 + i * 20 * 3_600_000).toISOString(),
      eventId: `00000000-0000-4000-8000-${String(900 + i).padStart(12, '0')}`,
      eventType: i === 3 ? 'bounced' : 'delivered',
      messageId: `<r${i}@shop.example>`,
      mtaNode: 'mta-1',
      fromDomain: 'shop.example',
      toDomain: i % 2 ? 'b.example' : 'a.example',
      deliveryTimeMs: 100 * (i + 1),
    }));
    assert.equal((await streams.ingest('email', events)).inserted, 4);
    const ask = async () =>
      (await streams.stats('email', { from: new Date(end - 4 * 86_400_000), to: new Date(end), groupBy: ['toDomain', 'eventType'], measures: ['eventCount'], collapse: true })).buckets.map((b) => [
        b.toDomain,
        b.eventType,
        b.eventCount,
      ]);
    const expected = [
      ['a.example', 'delivered', 2],
      ['b.example', 'bounced', 1],
      ['b.example', 'delivered', 1],
    ];
    assert.deepEqual(await ask(), expected);
    if (tier === 'postgres') await streams.refreshDue({ force: true });
    else for (const r of ['email_stats_destination_count_1h', 'email_stats_destination_count_1d']) await t.db.exec(`CALL refresh_continuous_aggregate('_opsdeck_cagg_${r}', NULL, NULL)`);
    if (tier === 'postgres') assert.equal((await t.db.queryOne<{ n: number }>('SELECT count(*)::int AS n FROM opsdeck_rollup_invalidations'))!.n, 0);
    assert.deepEqual(await ask(), expected);
  });
});
