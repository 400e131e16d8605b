/**
 * Same rows, same answers: the rows are loaded into every backend (postgres
 * tier on a PostgreSQL server and on PGlite, timescale tier on TimescaleDB) and
 * the API-level query answers are compared for every resolution — with nothing
 * materialized yet (real-time tail only), after the rollups are refreshed, and
 * after late rows arrive in already-materialized buckets. Besides the last 50
 * hours the rows include three days 5 to 8 days old (older than the refresh
 * policies' former 3-day window), stored before the first refresh, and late
 * rows six days old arrive after it: on the timescale tier the answers come
 * from what TimescaleDB's refresh policies materialized.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { enabledBackends, openMigrated, refreshRollups, type MigratedDatabase } from '../../test/support/backends.ts';
import type { QueryAnswer } from './store.ts';
import type { Resolution } from './family.ts';
import { prng } from '../../test/support/random.ts';

const HOUR = 3_600_000;
const DAY = 86_400_000;
const NODES = ['eq-1', 'eq-2', 'eq-3'];

function rows(from: number, to: number, step: number, seed: number) {
  const rnd = prng(seed);
  const out: Record<string, unknown>[] = [];
  for (let t = from; t < to; t += step) {
    for (const n of NODES) {
      out.push({
        nodeId: n,
        timestamp: new Date(t).toISOString(),
        nodeRole: rnd() < 0.999 ? 'mongodb' : 'redis',
        cpuPercent: Math.round(rnd() * 10000) / 100,
        ramUsedBytes: Math.floor(rnd() * 8e9),
        ramTotalBytes: 8_000_000_000,
        diskUsedBytes: Math.floor(rnd() * 1e11),
        netRxBytesSec: rnd() < 0.05 ? null : rnd() * 1e6,
        load1m: rnd() * 4,
        tcpEstablished: Math.floor(rnd() * 500),
        openFiles: Math.floor(rnd() * 5000),
      });
    }
  }
  return out;
}

function assertSameAnswer(a: QueryAnswer, b: QueryAnswer, label: string) {
  assert.equal(a.resolution, b.resolution, `${label}: resolution`);
  assert.equal(a.points.length, b.points.length, `${label}: number of points`);
  for (let i = 0; i < a.points.length; i++) {
    const p = a.points[i]!;
    const q = b.points[i]!;
    assert.deepEqual(Object.keys(p).sort(), Object.keys(q).sort(), `${label}: fields of point ${i}`);
    for (const k of Object.keys(p)) {
      const x = p[k];
      const y = q[k];
      if (typeof x === 'number' && typeof y === 'number') {
        // sums of floats in a different order differ in the last bits
        assert.ok(Math.abs(x - y) <= 1e-9 * Math.max(1, Math.abs(x), Math.abs(y)), `${label}: point ${i} ${k}: ${x} vs ${y}`);
      } else assert.equal(x, y, `${label}: point ${i} ${k}`);
    }
  }
}

const backends = enabledBackends();

test('the same rows give the same answers on every tier, at every resolution', { skip: backends.length < 2 ? 'only one backend enabled (TEST_BACKENDS)' : false }, async (t) => {
  const dbs: MigratedDatabase[] = [];
  const now = Date.now();
  // 50 hours of hour-aligned data, so 1d buckets have complete and partial days
  const to = Math.floor((now - 10 * 60_000) / HOUR) * HOUR;
  const from = to - 50 * HOUR;
  // Backfilled history: three days, 5 to 8 days old, one sample per node every 5 minutes.
  const oldTo = to - 5 * DAY;
  const oldFrom = oldTo - 3 * DAY;
  try {
    for (const kind of backends) dbs.push(await openMigrated(kind));
    const batch = [...rows(oldFrom, oldTo, 300_000, 11), ...rows(from, to, 15_000, 42)];
    for (const m of dbs) {
      for (let i = 0; i < batch.length; i += 5000) await m.store.ingest('system', batch.slice(i, i + 5000));
    }

    const compareAll = async (stage: string) => {
      const queries: { resolution: Resolution | 'auto'; from: number; to: number; nodeIds?: string[]; fields?: string[] }[] = [
        { resolution: 'raw', from: to - 2 * HOUR, to },
        { resolution: '5m', from: from, to },
        { resolution: '1h', from: from, to },
        { resolution: '1d', from: from - 24 * HOUR, to: to + HOUR },
        { resolution: 'auto', from: to - 30 * 60_000, to },
        { resolution: 'auto', from: from, to, nodeIds: ['eq-2'] },
        { resolution: '5m', from: from + 7 * 60_000, to: to - 3 * 60_000, nodeIds: ['eq-1', 'eq-3'], fields: ['cpuPercent', 'nodeRole', 'diskUsedBytes', 'netRxBytesSec'] },
        // the backfilled days, older than the former 3-day refresh window
        { resolution: '5m', from: oldFrom, to: oldTo },
        { resolution: '1h', from: oldFrom - 2 * HOUR, to: oldTo + 2 * HOUR },
        { resolution: '1d', from: oldFrom - DAY, to: oldTo + DAY },
        { resolution: 'auto', from: oldFrom, to: to },
      ];
      for (const q of queries) {
        const answers: QueryAnswer[] = [];
        for (const m of dbs) {
          answers.push(await m.store.query('system', { from: new Date(q.from), to: new Date(q.to), resolution: q.resolution, nodeIds: q.nodeIds, fields: q.fields }));
        }
        assert.ok(answers[0]!.points.length > 0, `${stage} ${q.resolution}: has points`);
        for (let i = 1; i < answers.length; i++) assertSameAnswer(answers[0]!, answers[i]!, `${stage} ${q.resolution} ${dbs[0]!.kind} vs ${dbs[i]!.kind}`);
      }
    };

    const refresh = async () => {
      for (const m of dbs) await refreshRollups(m, 'system');
    };

    await t.test('nothing materialized: answers come from the real-time tail', () => compareAll('unrefreshed'));
    await refresh();
    await t.test('after the rollups are refreshed', () => compareAll('refreshed'));

    // Late rows into buckets that are already materialized (a node catching up after an outage).
    const late = rows(from + 3 * HOUR, from + 4 * HOUR, 15_000, 7).map((r) => ({ ...r, nodeId: 'eq-2', timestamp: new Date(Date.parse(r.timestamp as string) + 7_000).toISOString() }));
    // ... and into the backfilled days, six days old: outside the former 3-day refresh window.
    late.push(...rows(oldFrom + DAY + 5 * HOUR, oldFrom + DAY + 7 * HOUR, 60_000, 9).map((r) => ({ ...r, nodeId: 'eq-3', timestamp: new Date(Date.parse(r.timestamp as string) + 11_000).toISOString() })));
    for (const m of dbs) await m.store.ingest('system', late);
    const pg = dbs.find((m) => m.tier === 'postgres');
    if (pg) {
      // The postgres tier is exact at once: pending buckets are read from raw rows.
      const hour = Math.floor((from + 3.5 * HOUR) / HOUR) * HOUR;
      const answer = await pg.store.query('system', { from: new Date(hour), to: new Date(hour + HOUR), resolution: '1h', nodeIds: ['eq-2'] });
      const raw = await pg.db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM metrics_system WHERE node_id = 'eq-2' AND time >= $1 AND time < $2`, [
        new Date(hour).toISOString(),
        new Date(hour + HOUR).toISOString(),
      ]);
      assert.equal(raw?.n, 480, 'the hour holds the on-time and the late rows');
      assert.equal(answer.points[0]?.samples, 480, 'late rows are in the rollup answer before any refresh');
    }
    await refresh();
    await t.test('after late rows and a refresh', () => compareAll('late'));
    await t.test('after the refresh every tier counts the late rows (hand-computed)', async () => {
      const hour = Math.floor((from + 3.5 * HOUR) / HOUR) * HOUR;
      // eq-2: 240 on-time rows + 240 late rows in that hour; eq-3: 12 backfilled + 60 late rows in each of two old hours.
      const oldHour = oldFrom + DAY + 5 * HOUR;
      for (const m of dbs) {
        const a = await m.store.query('system', { from: new Date(hour), to: new Date(hour + HOUR), resolution: '1h', nodeIds: ['eq-2'] });
        assert.deepEqual(a.points.map((p) => p.samples), [480], `${m.kind}: recent hour`);
        const b = await m.store.query('system', { from: new Date(oldHour), to: new Date(oldHour + 2 * HOUR), resolution: '1h', nodeIds: ['eq-3'] });
        assert.deepEqual(b.points.map((p) => p.samples), [72, 72], `${m.kind}: six-day-old hours`);
      }
    });
  } finally {
    for (const m of dbs) await m.close();
  }
});
