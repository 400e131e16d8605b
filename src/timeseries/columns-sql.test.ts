/**
 * The columnar answer built by the database (columnsSQL) says exactly what the row-by-row
 * path says, for every family Opsdeck declares (text, boolean, integer and double columns,
 * every identity shape), raw and at every rollup level; an answer the row limit cuts too,
 * page after page, with the same `next`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachBackend, openMigrated, refreshRollups, type MigratedDatabase } from '../../test/support/backends.ts';
import { FAMILIES } from '../modules/families.ts';
import { loadSampleData } from '../modules/mail-cluster/sample-data.ts';
import type { Database } from '../db/database.ts';
import { TimeseriesStore } from './store.ts';
import { columnsSQL, planQuery, type RangeQuery } from './query.ts';
import type { Resolution } from './family.ts';

// Recent enough for the families' retention; whole hours so the 1h buckets line up.
const NOW = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000);

/** The columnar answer of the day before NOW; raw rows over its last two hours (a day of them is estimated past the row limit, which goes row by row). */
async function text(store: TimeseriesStore, key: string, resolution: Resolution | 'auto', fields?: string[]): Promise<string> {
  const span = resolution === 'raw' ? 2 * 3_600_000 : 86_400_000;
  const it = await store.queryText(key, { from: new Date(NOW.getTime() - span), to: NOW, resolution, ...(fields ? { fields } : {}) }, 'columns');
  let s = '';
  for await (const c of it) s += c;
  return s;
}

interface Page {
  series: { identity: Record<string, string>; time: number[]; fields: Record<string, unknown[]>; samples?: number[] }[];
  truncated: boolean;
  next?: string;
}

async function page(store: TimeseriesStore, key: string, q: RangeQuery): Promise<Page> {
  let s = '';
  for await (const c of await store.queryText(key, q, 'columns')) s += c;
  return JSON.parse(s) as Page;
}

/** The series of consecutive pages as one answer: a series a cut splits is one series again. */
function joinPages(pages: readonly Page[]): Page['series'] {
  const out: Page['series'] = [];
  for (const p of pages) {
    for (const x of p.series) {
      const last = out[out.length - 1];
      if (last && JSON.stringify(last.identity) === JSON.stringify(x.identity)) {
        last.time.push(...x.time);
        for (const k of Object.keys(x.fields)) last.fields[k]!.push(...x.fields[k]!);
        if (x.samples) last.samples!.push(...x.samples);
      } else out.push({ identity: x.identity, time: [...x.time], fields: Object.fromEntries(Object.entries(x.fields).map(([k, v]) => [k, [...v]])), ...(x.samples ? { samples: [...x.samples] } : {}) });
    }
  }
  return out;
}

forEachBackend('columnar answers built by the database', (kind) => {
  let m: MigratedDatabase;
  let rowByRow: TimeseriesStore;
  before(async () => {
    m = await openMigrated(kind);
    await loadSampleData(m.store, { now: NOW, days: 1, stepSeconds: 300 });
    for (const f of FAMILIES) await refreshRollups(m, f.key);
    rowByRow = new TimeseriesStore({ db: m.db, tier: m.tier, families: FAMILIES, columnsInDatabase: false });
  });
  after(async () => {
    await m.close();
  });

  test('every family, raw and every rollup level: the same answer as row by row', async () => {
    let seriesSeen = 0;
    for (const f of FAMILIES) {
      for (const resolution of ['raw', '5m', '1h', '1d'] as const) {
        const fromDb = JSON.parse(await text(m.store, f.key, resolution)) as { series: unknown[]; truncated: boolean };
        const fromRows = JSON.parse(await text(rowByRow, f.key, resolution)) as { series: unknown[]; truncated: boolean };
        assert.deepEqual(fromDb, fromRows, `${f.key} ${resolution}`);
        if (!fromDb.truncated) seriesSeen += fromDb.series.length;
      }
    }
    assert.ok(seriesSeen > 10, `answers carried series (${seriesSeen})`);
  });

  test('a hand-checked series: one day of one node in 1-hour buckets', async () => {
    const a = JSON.parse(await text(m.store, 'system', '1h', ['cpuPercent'])) as {
      series: { identity: { nodeId: string }; time: number[]; fields: { cpuPercent: unknown[] }; samples: number[] }[];
    };
    const s = a.series[0]!;
    // Samples every 300 s from NOW - 1 d + 300 s to NOW (sample-data's contract); [NOW - 1 d, NOW) holds
    // 24 hourly buckets: the first lacks the sample at its start (11), the others have 12.
    assert.deepEqual(s.time, Array.from({ length: 24 }, (_, i) => NOW.getTime() - 86_400_000 + i * 3_600_000));
    assert.deepEqual(s.samples, [11, ...Array<number>(23).fill(12)]);
    assert.equal(s.fields.cpuPercent.length, 24);
    assert.ok(s.fields.cpuPercent.every((v) => typeof v === 'number' && v >= 0 && v <= 100));
    assert.deepEqual(a.series.map((x) => x.identity.nodeId), [...a.series.map((x) => x.identity.nodeId)].sort(), 'series in identity order');
  });

  test('split in two parts built side by side (two connections free): the same answer as row by row, every family and level', async () => {
    // Counts the columnar statements the store starts; everything else goes to the real database.
    const statements: string[] = [];
    const spy: Database = Object.create(m.db) as Database;
    spy.cursor = <T,>(sql: string, params: readonly unknown[], batchRows: number) => {
      if (sql.includes('array_to_json')) statements.push(sql);
      return m.db.cursor<T>(sql, params, batchRows);
    };
    const split = new TimeseriesStore({ db: spy, tier: m.tier, families: FAMILIES, splitMinCells: 1 });
    let answers = 0;
    let autoAnswers = 0;
    for (const f of FAMILIES) {
      for (const resolution of ['raw', '5m', '1h', '1d', 'auto'] as const) {
        const before = statements.length;
        const fromDb = JSON.parse(await text(split, f.key, resolution)) as { series: { identity: Record<string, string> }[]; truncated: boolean };
        const fromRows = JSON.parse(await text(rowByRow, f.key, resolution)) as { series: unknown[]; truncated: boolean };
        assert.deepEqual(fromDb, fromRows, `${f.key} ${resolution}`);
        if (fromDb.truncated || fromDb.series.length < 2) continue;
        answers++;
        if (resolution === 'auto') autoAnswers++;
        // PGlite has one connection: one statement; PostgreSQL's pool: one per half
        assert.equal(statements.length - before, kind === 'postgres' ? 2 : 1, `${f.key} ${resolution}: statements`);
      }
    }
    assert.ok(answers >= 5, `answers of two series or more (${answers})`);
    assert.ok(autoAnswers >= 1, `auto answers built in parts (${autoAnswers})`);
  });

  test('an answer cut by the row limit is built by the database: the same rows and `next` as row by row, page after page', async () => {
    // Cells per page small enough that every family's day is cut, raw and at every level.
    const limits = { maxSpanSeconds: 400 * 86400, maxPoints: 200_000, autoMaxPoints: 20_000, maxCells: 150 };
    const statements: string[] = [];
    const spy: Database = Object.create(m.db) as Database;
    spy.cursor = <T,>(sql: string, params: readonly unknown[], batchRows: number) => {
      statements.push(sql);
      return m.db.cursor<T>(sql, params, batchRows);
    };
    const cutInDb = new TimeseriesStore({ db: spy, tier: m.tier, families: FAMILIES, limits });
    const cutByRows = new TimeseriesStore({ db: m.db, tier: m.tier, families: FAMILIES, limits, columnsInDatabase: false });
    let pagesCut = 0;
    for (const f of FAMILIES) {
      for (const resolution of ['raw', '5m', '1h'] as const) {
        const q = { from: new Date(NOW.getTime() - (resolution === 'raw' ? 2 * 3_600_000 : 86_400_000)), to: NOW, resolution };
        // every page of the answer, following `next`, on both paths
        const pages: Page[] = [];
        for (let cursor: string | undefined, k = 0; k === 0 || cursor !== undefined; k++) {
          assert.ok(k < 500, `${f.key} ${resolution}: ends`);
          const before = statements.length;
          const fromDb = await page(cutInDb, f.key, { ...q, ...(cursor ? { cursor } : {}) });
          const fromRows = await page(cutByRows, f.key, { ...q, ...(cursor ? { cursor } : {}) });
          assert.deepEqual(fromDb, fromRows, `${f.key} ${resolution} page ${k}`);
          if (fromDb.truncated) {
            pagesCut++;
            assert.ok(statements.slice(before).some((x) => x.includes('row_number()') && x.includes('array_to_json')), `${f.key} ${resolution} page ${k}: built by the database`);
          }
          pages.push(fromDb);
          cursor = fromDb.next;
        }
        // the pages together are the whole answer (a series a cut splits continues on the next page)
        const whole = await page(m.store, f.key, q);
        assert.equal(whole.truncated, false);
        assert.deepEqual(joinPages(pages), whole.series, `${f.key} ${resolution}: pages = whole answer`);
      }
    }
    assert.ok(pagesCut > 20, `pages cut (${pagesCut})`);
    // 150 cells of 4 (time, nodeId, cpuPercent, samples) = 37 points.
    const a = await page(cutInDb, 'system', { from: new Date(NOW.getTime() - 86_400_000), to: NOW, resolution: '5m', fields: ['cpuPercent'] });
    assert.equal(a.truncated, true);
    assert.equal(a.series.reduce((n, x) => n + x.time.length, 0), 37);
  });

  test('a cut inside one millisecond of one series: those rows go to the next page; a page of nothing else is refused', async () => {
    // Five raw rows of one node (values 1-5), three of them in one millisecond (microseconds apart);
    // the times go as text: the driver would send a timestamptz parameter at millisecond precision.
    const t0 = NOW.getTime() - 600_000;
    const iso = (ms: number, micros = 0) => `${new Date(ms).toISOString().slice(0, -1)}${String(micros).padStart(3, '0')}Z`;
    await m.db.query(
      `INSERT INTO metrics_system (time, node_id, cpu_percent) SELECT t::timestamptz, 'same-ms', v FROM unnest($1::text[]) WITH ORDINALITY AS u(t, v)`,
      [[iso(t0), iso(t0 + 1, 100), iso(t0 + 1, 200), iso(t0 + 1, 300), iso(t0 + 2)]],
    );
    const q = { from: new Date(t0 - 1000), to: new Date(t0 + 1000), resolution: 'raw' as const, nodeIds: ['same-ms'], fields: ['cpuPercent'] };
    // raw cells per point: time, nodeId, cpuPercent
    const store = (rows: number, columnsInDatabase: boolean) =>
      new TimeseriesStore({ db: m.db, tier: m.tier, families: FAMILIES, columnsInDatabase, limits: { maxSpanSeconds: 400 * 86400, maxPoints: 200_000, autoMaxPoints: 20_000, maxCells: 3 * rows } });
    for (const inDb of [true, false]) {
      const s = store(3, inDb);
      const p1 = await page(s, 'system', q);
      assert.deepEqual(p1.series.map((x) => [x.time, x.fields.cpuPercent]), [[[t0], [1]]], `in database: ${inDb}`);
      assert.equal(p1.truncated, true);
      const p2 = await page(s, 'system', { ...q, cursor: p1.next! });
      assert.deepEqual(p2.series.map((x) => [x.time, x.fields.cpuPercent]), [[[t0 + 1, t0 + 1, t0 + 1], [2, 3, 4]]]);
      const p3 = await page(s, 'system', { ...q, cursor: p2.next! });
      assert.deepEqual(p3.series.map((x) => [x.time, x.fields.cpuPercent]), [[[t0 + 2], [5]]]);
      assert.equal(p3.truncated, false);
      // two rows a page: the second page would hold only rows of the millisecond that continues
      const small = store(2, inDb);
      const q1 = await page(small, 'system', q);
      await assert.rejects(page(small, 'system', { ...q, cursor: q1.next! }), (e: Error & { code?: string }) => e.code === 'TOO_MANY_POINTS', `in database: ${inDb}`);
      // no rows at all, cut path or not
      const none = await page(small, 'system', { ...q, nodeIds: ['no-such-node'] });
      assert.deepEqual(none.series, []);
      assert.equal(none.truncated, false);
    }
  });

  test('a family wider than a function call: 130 fields and a quote in a name still make one valid series', async () => {
    // 263 pieces of text: more than PostgreSQL's 100 arguments of one concat(), one column per array now.
    const system = FAMILIES.find((f) => f.key === 'system')!;
    const real = planQuery(system, { from: new Date(NOW.getTime() - 86_400_000), to: NOW, resolution: '1h' }, 1);
    const names = Array.from({ length: 130 }, (_, k) => `c${k}`);
    const columns = names.map((name, k) => ({ name, field: k === 7 ? "it's" : `f${k}` }));
    const sql = `SELECT t, 'n-1'::text AS node_id, ${names.map((n, k) => `${k}.5::float8 AS ${n}`).join(', ')}, 12 AS samples
      FROM (VALUES (timestamptz '2026-01-01T00:00:00Z'), (timestamptz '2026-01-01T01:00:00Z')) AS v(t)`;
    const statement = columnsSQL(system, { ...real, columns, sql, params: [] });
    const rows = await m.db.queryMany<Record<string, string> & { total: string | number }>(statement.sql, []);
    assert.equal(rows.length, 1);
    assert.equal(Number(rows[0]!.total), 2);
    const expected = {
      identity: { nodeId: 'n-1' },
      time: [Date.UTC(2026, 0, 1, 0), Date.UTC(2026, 0, 1, 1)],
      fields: Object.fromEntries(columns.map((c, k) => [c.field, [k + 0.5, k + 0.5]])),
      samples: [12, 12],
    };
    assert.deepEqual(JSON.parse(statement.pieces.map((c) => rows[0]![c]).join('')), expected);
  });
});
