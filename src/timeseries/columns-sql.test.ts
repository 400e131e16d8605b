/**
 * The columnar answer built by the database (columnsSQL) says exactly what the row-by-row
 * path says, for every family Opsdeck declares (text, boolean, integer and double columns,
 * every identity shape), raw and at every rollup level; and an answer that is cut
 * still goes row by row and carries `next`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachBackend, openMigrated, refreshRollups, type MigratedDatabase } from '../../test/support/backends.ts';
import { FAMILIES } from '../modules/families.ts';
import { loadSampleData } from '../modules/mail-cluster/sample-data.ts';
import type { Database } from '../db/database.ts';
import { TimeseriesStore } from './store.ts';
import { columnsSQL, planQuery } from './query.ts';
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
      if (sql.includes('json_agg')) statements.push(sql);
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

  test('an answer cut by the row limit goes row by row and says where to continue', async () => {
    const small = new TimeseriesStore({ db: m.db, tier: m.tier, families: FAMILIES, limits: { maxSpanSeconds: 400 * 86400, maxPoints: 200_000, autoMaxPoints: 20_000, maxCells: 150 } });
    const a = JSON.parse(await text(small, 'system', '5m', ['cpuPercent'])) as { series: { time: number[] }[]; truncated: boolean; next?: string };
    assert.equal(a.truncated, true);
    assert.equal(typeof a.next, 'string');
    // 150 cells of 4 (time, nodeId, cpuPercent, samples) = 37 points.
    assert.equal(a.series.reduce((n, s) => n + s.time.length, 0), 37);
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
