/**
 * Same events, same answers, for event streams: the same email events are
 * stored on every backend (postgres tier on a PostgreSQL server and on PGlite,
 * timescale tier on TimescaleDB) and the list pages and stats answers are
 * compared at every resolution and with several groupings and filters — with
 * nothing materialized (real-time tail only), after the rollups are refreshed,
 * and after late events into materialized buckets and a refresh. The events
 * include two backfilled days 5 to 7 days old.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { enabledBackends, openMigrated, refreshStreamRollups, type MigratedDatabase } from '../../test/support/backends.ts';
import type { StreamStatsQuery } from './stream-store.ts';
import { prng } from '../../test/support/random.ts';

const HOUR = 3_600_000;
const DAY = 86_400_000;

const TYPES = ['delivered', 'delivered', 'delivered', 'bounced', 'deferred', 'rejected'];
function events(n: number, from: number, to: number, seed: number) {
  const rnd = prng(seed);
  return Array.from({ length: n }, (_, i) => ({
    timestamp: new Date(from + Math.floor(rnd() * (to - from))).toISOString(),
    eventType: TYPES[Math.floor(rnd() * TYPES.length)],
    messageId: `<q${seed}.${i}@example.org>`,
    fromUser: `u${Math.floor(rnd() * 4)}`,
    fromDomain: ['a.example', 'b.example'][Math.floor(rnd() * 2)],
    toDomain: ['gmail.com', 'yahoo.com', 'web.de'][Math.floor(rnd() * 3)],
    mtaNode: ['mta-1', 'mta-2'][Math.floor(rnd() * 2)],
    sendingIp: rnd() < 0.1 ? null : ['198.51.100.1', '198.51.100.2', '2001:db8::1'][Math.floor(rnd() * 3)],
    deliveryTimeMs: rnd() < 0.1 ? null : Math.floor(rnd() < 0.95 ? 50 + rnd() * 2000 : 10_000 + rnd() * 60_000),
    messageSize: Math.floor(500 + rnd() * 100_000),
    dkimResult: rnd() < 0.8 ? 'pass' : 'fail',
    spfResult: rnd() < 0.9 ? 'pass' : 'softfail',
    dmarcResult: rnd() < 0.85 ? 'pass' : 'none',
  }));
}

function assertSame(a: unknown, b: unknown, label: string): void {
  if (typeof a === 'number' && typeof b === 'number') {
    assert.ok(Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b)), `${label}: ${a} vs ${b}`);
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    assert.equal(a.length, b.length, `${label}: length`);
    a.forEach((x, i) => assertSame(x, b[i], `${label}[${i}]`));
    return;
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    assert.deepEqual(Object.keys(a).sort(), Object.keys(b).sort(), `${label}: keys`);
    for (const k of Object.keys(a)) assertSame((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${label}.${k}`);
    return;
  }
  assert.equal(a, b, label);
}

const backends = enabledBackends();

test('the same email events give the same lists and stats on every tier', { skip: backends.length < 2 ? 'only one backend enabled (TEST_BACKENDS)' : false }, async (t) => {
  const dbs: MigratedDatabase[] = [];
  const now = Date.now();
  const to = Math.floor((now - 10 * 60_000) / HOUR) * HOUR;
  const from = to - 30 * HOUR;
  const oldTo = to - 5 * DAY;
  const oldFrom = oldTo - 2 * DAY;
  try {
    for (const kind of backends) dbs.push(await openMigrated(kind));
    const batch = [...events(1500, oldFrom, oldTo, 3), ...events(4000, from, to, 4)];
    for (const m of dbs) for (let i = 0; i < batch.length; i += 2000) await m.streams.ingest('email', batch.slice(i, i + 2000));

    const queries: StreamStatsQuery[] = [
      { from: new Date(from), to: new Date(to), resolution: '5m' },
      { from: new Date(from), to: new Date(to), resolution: '1h', measures: ['eventCount', 'p95DeliveryMs', 'avgDeliveryMs', 'dkimPass'] },
      { from: new Date(from - DAY), to: new Date(to), resolution: '1d', groupBy: ['toDomain'], measures: ['eventCount', 'avgDeliveryMs'] },
      { from: new Date(from), to: new Date(to), resolution: '1h', groupBy: ['eventType', 'toDomain'] },
      { from: new Date(from - DAY), to: new Date(to + HOUR), resolution: '1d', groupBy: ['fromUser', 'sendingIp'] },
      { from: new Date(from), to: new Date(to), resolution: 'auto', groupBy: ['sendingIp'], filters: { mtaNode: ['mta-2'] } },
      { from: new Date(oldFrom - DAY), to: new Date(to), groupBy: [] },
      { from: new Date(oldFrom), to: new Date(oldTo), resolution: '1h', filters: { fromDomain: ['b.example'], eventType: ['bounced', 'deferred'] } },
      { from: new Date(oldFrom), to: new Date(oldTo), resolution: '5m', groupBy: ['fromDomain', 'mtaNode', 'sendingIp', 'eventType'], measures: ['eventCount', 'p95DeliveryMs', 'avgMessageSize', 'spfPass', 'dmarcPass'] },
      // collapsed answers stitched from daily and hourly rollups (whole days in the middle)
      { from: new Date(oldFrom - 7 * HOUR), to: new Date(to - 5 * 60_000), groupBy: ['toDomain', 'eventType'], measures: ['eventCount', 'p95DeliveryMs'], collapse: true },
      { from: new Date(oldFrom - 7 * HOUR), to: new Date(to), resolution: '5m', groupBy: ['sendingIp'], filters: { eventType: ['delivered'] }, measures: ['eventCount', 'p95DeliveryMs'], collapse: true },
    ];
    const compare = async (stage: string) => {
      for (const [qi, q] of queries.entries()) {
        const answers = [];
        for (const m of dbs) answers.push(await m.streams.stats('email', q));
        assert.ok(answers[0]!.buckets.length > 0, `${stage} q${qi}: has buckets`);
        for (let i = 1; i < answers.length; i++) assertSame(answers[i], answers[0], `${stage} q${qi} ${dbs[i]!.kind} vs ${dbs[0]!.kind}`);
      }
      const lists = [];
      for (const m of dbs) {
        const pages = [];
        let cursor: string | undefined;
        do {
          const p = await m.streams.list('email', { from: new Date(from), to: new Date(to), limit: 500, cursor, filters: { toDomain: ['web.de'] } });
          pages.push(...p.items);
          cursor = p.next;
        } while (cursor);
        lists.push(pages);
      }
      for (let i = 1; i < lists.length; i++) assertSame(lists[i], lists[0], `${stage} list ${dbs[i]!.kind}`);
    };
    await t.test('nothing materialized: the real-time tail', () => compare('unrefreshed'));
    for (const m of dbs) await refreshStreamRollups(m, 'email');
    await t.test('after the rollups are refreshed', () => compare('refreshed'));
    const late = [...events(300, from + 2 * HOUR, from + 3 * HOUR, 8), ...events(200, oldFrom + DAY, oldFrom + DAY + 2 * HOUR, 9)];
    for (const m of dbs) await m.streams.ingest('email', late);
    for (const m of dbs) await refreshStreamRollups(m, 'email');
    await t.test('after late events and a refresh', () => compare('late'));
  } finally {
    for (const m of dbs) await m.close();
  }
});
