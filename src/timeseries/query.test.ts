import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachBackend, openMigrated, refreshRollups, type MigratedDatabase } from '../../test/support/backends.ts';
import { metricsSystem } from '../modules/system-metrics/family.ts';
import { chooseResolution, DEFAULT_LIMITS, planQuery, QueryError } from './query.ts';
import { FAMILIES } from '../modules/families.ts';
import { TimeseriesStore } from './store.ts';

const H = 3_600_000;
const D = 24 * H;
const span = (ms: number) => ({ from: new Date(Date.UTC(2026, 0, 1)), to: new Date(Date.UTC(2026, 0, 1) + ms) });

describe('resolution choice', () => {
  test('auto takes the coarsest level that still gives the requested density', () => {
    const f = metricsSystem;
    // 250 points per series unless asked otherwise
    assert.equal(chooseResolution(f, { ...span(H) }, 1, DEFAULT_LIMITS), 'raw'); // 12 five-minute buckets < 250
    assert.equal(chooseResolution(f, { ...span(20 * H) }, 1, DEFAULT_LIMITS), 'raw'); // 240 < 250
    assert.equal(chooseResolution(f, { ...span(D) }, 1, DEFAULT_LIMITS), '5m'); // 288 ≥ 250
    assert.equal(chooseResolution(f, { ...span(D), points: 300 }, 1, DEFAULT_LIMITS), 'raw'); // 288 < 300
    assert.equal(chooseResolution(f, { ...span(2 * D) }, 1, DEFAULT_LIMITS), '5m');
    assert.equal(chooseResolution(f, { ...span(7 * D) }, 1, DEFAULT_LIMITS), '5m'); // 168 hours < 250
    assert.equal(chooseResolution(f, { ...span(30 * D) }, 1, DEFAULT_LIMITS), '1h');
    assert.equal(chooseResolution(f, { ...span(400 * D) }, 1, DEFAULT_LIMITS), '1d');
    assert.equal(chooseResolution(f, { ...span(D), points: 100 }, 1, DEFAULT_LIMITS), '5m');
  });

  test('auto steps coarser when the answer would exceed the point limit', () => {
    const limits = { ...DEFAULT_LIMITS, maxPoints: 10_000 };
    // 24 h raw for 100 nodes = 576,000 points; 5m = 28,800; 1h = 2,400
    assert.equal(chooseResolution(metricsSystem, { ...span(D), points: 300 }, 100, limits), '1h');
  });

  test('an explicit resolution over the point limit is refused with a typed error', () => {
    assert.throws(
      () => planQuery(metricsSystem, { ...span(30 * D), resolution: 'raw' }, 100, DEFAULT_LIMITS),
      (e: unknown) => e instanceof QueryError && e.code === 'TOO_MANY_POINTS' && /coarser resolution/.test(e.message),
    );
  });

  test('unknown fields are refused; identifiers never reach SQL', () => {
    assert.throws(
      () => planQuery(metricsSystem, { ...span(H), fields: ['cpuPercent', 'x"; DROP TABLE nodes; --'] }, 1),
      (e: unknown) => e instanceof QueryError && e.code === 'UNKNOWN_FIELD',
    );
    const plan = planQuery(metricsSystem, { ...span(H), fields: ['cpuPercent'], nodeIds: ["a'b"] }, 1);
    assert.ok(!plan.sql.includes("a'b"), 'node ids are parameters');
    assert.deepEqual(plan.params[2], ["a'b"]);
  });
});

forEachBackend('range queries', (kind) => {
  let m: MigratedDatabase;
  const now = Date.now();
  before(async () => {
    m = await openMigrated(kind);
    const rows = [];
    // 3 hours of one node, up to 20 s ago
    for (let t = now - 3 * H; t <= now - 20_000; t += 15_000) rows.push({ nodeId: 'q-1', timestamp: new Date(t).toISOString(), cpuPercent: 50, load1m: 1 });
    for (let i = 0; i < rows.length; i += 5000) await m.store.ingest('system', rows.slice(i, i + 5000));
    await refreshRollups(m, 'system');
    // newest samples arrive after the refresh: they must still be in rollup answers
    await m.store.ingest('system', [{ nodeId: 'q-1', timestamp: new Date(now - 5_000).toISOString(), cpuPercent: 100, load1m: 1 }]);
  });
  after(async () => {
    await m.close();
  });

  test('the answer says which resolution it used', async () => {
    const a = await m.store.query('system', { from: new Date(now - H), to: new Date(now) });
    assert.equal(a.resolution, 'raw');
    assert.equal(a.requestedResolution, 'auto');
    const b = await m.store.query('system', { from: new Date(now - 3 * H), to: new Date(now), points: 20 });
    assert.equal(b.resolution, '5m');
  });

  test('rollup answers include the newest, not yet materialized minutes', async () => {
    const a = await m.store.query('system', { from: new Date(now - 3 * H), to: new Date(now + 1000), resolution: '5m', nodeIds: ['q-1'] });
    const last = a.points.at(-1)!;
    assert.ok(Date.parse(last.timestamp) <= now - 5_000 && Date.parse(last.timestamp) > now - 5_000 - 300_000, 'last bucket holds the newest sample');
    assert.ok((last.cpuPercent as number) > 50, 'the sample written after the refresh is counted');
    const total = a.points.reduce((s, p) => s + (p.samples as number), 0);
    const raw = await m.db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM metrics_system WHERE node_id = 'q-1'`);
    assert.equal(total, raw?.n);
  });

  test('raw rows come back camelCase, with the ingest names', async () => {
    const a = await m.store.query('system', { from: new Date(now - 60_000), to: new Date(now), resolution: 'raw', fields: ['cpuPercent', 'load1m'] });
    assert.deepEqual(Object.keys(a.points[0]!).sort(), ['cpuPercent', 'load1m', 'nodeId', 'timestamp']);
  });
});

forEachBackend('answers bounded by what is read', (kind) => {
  let m: MigratedDatabase;
  // 1 row per second (the family declares 15 s) for two nodes over 10 minutes; on the second
  // node three rows share each millisecond (they differ in microseconds)
  const start = Math.floor(Date.now() / 300_000) * 300_000 - 3 * H;
  const n = 600;
  const ts = (node: number, i: number) =>
    node === 1 ? new Date(start + i * 1000).toISOString() : `${new Date(start + Math.floor(i / 3) * 1000).toISOString().slice(0, 23)}${String(i % 3).padStart(3, '0')}Z`;
  before(async () => {
    m = await openMigrated(kind);
    for (const node of [1, 2]) {
      const rows = Array.from({ length: n }, (_, i) => ({ nodeId: `dense-${node}`, timestamp: ts(node, i), cpuPercent: i % 100, load1m: i }));
      await m.store.ingest('system', rows);
    }
  });
  after(async () => {
    await m.close();
  });

  test('denser data than declared cannot produce an answer above the cell budget; `next` continues it exactly', async () => {
    const maxCells = 1000;
    const store = new TimeseriesStore({ db: m.db, tier: m.tier, families: FAMILIES, limits: { ...DEFAULT_LIMITS, maxCells } });
    const q = { from: new Date(start), to: new Date(start + 600_000), nodeIds: ['dense-1', 'dense-2'], resolution: 'raw' as const, fields: ['load1m', 'cpuPercent'] };
    const seen: [string, number][] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const a = await store.query('system', { ...q, cursor });
      pages++;
      // timestamp + nodeId + 2 fields = 4 cells a point
      assert.ok(a.points.length > 0);
      assert.ok(a.points.length * 4 <= maxCells, `page ${pages}: ${a.points.length} points`);
      for (const p of a.points) seen.push([p.nodeId as string, p.load1m as number]);
      assert.equal(a.truncated, a.next !== undefined);
      cursor = a.next;
      assert.ok(pages < 20, 'the cursor makes progress');
    } while (cursor);
    assert.ok(pages >= 5, `${pages} pages for 4,800 cells`);
    const expected = [1, 2].flatMap((node) => Array.from({ length: n }, (_, i) => [`dense-${node}`, i] as [string, number]));
    assert.deepEqual(seen, expected, 'every row once, series by series in time order');
  });

  test('rollup answers are bounded by the same budget', async () => {
    const store = new TimeseriesStore({ db: m.db, tier: m.tier, families: FAMILIES, limits: { ...DEFAULT_LIMITS, maxCells: 10 } });
    // 5m buckets: timestamp + nodeId + load1m + samples = 4 cells, so 2 points a page
    const q = { from: new Date(start), to: new Date(start + 600_000), nodeIds: ['dense-1'], resolution: '5m' as const, fields: ['load1m'] };
    const first = await store.query('system', q);
    assert.equal(first.points.length, 2);
    assert.equal(first.truncated, false, 'two buckets fit');
    const tight = new TimeseriesStore({ db: m.db, tier: m.tier, families: FAMILIES, limits: { ...DEFAULT_LIMITS, maxCells: 4 } });
    const a = await tight.query('system', q);
    assert.deepEqual(a.points.map((p) => [p.timestamp, p.samples]), [[new Date(start).toISOString(), 300]]);
    assert.equal(a.truncated, true);
    const b = await tight.query('system', { ...q, cursor: a.next });
    assert.deepEqual(b.points.map((p) => [p.timestamp, p.samples]), [[new Date(start + 300_000).toISOString(), 300]]);
    assert.equal(b.truncated, false);
  });

  test('a cursor that was not issued by Opsdeck is refused', async () => {
    await assert.rejects(
      () => m.store.query('system', { from: new Date(start), to: new Date(start + 600_000), cursor: 'bm90LWEtY3Vyc29y' }),
      (e: unknown) => e instanceof QueryError && e.code === 'INVALID_CURSOR',
    );
  });
});
