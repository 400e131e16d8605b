/**
 * A metric query on the postgres tier reads the family's rollup storage tables while nothing
 * of the family is pending (its statements name `_opsdeck_mat_…` and plan no live branch),
 * and the views' branches again as soon as a row is pending, whose value it then answers at
 * once. On the timescale tier it reads the continuous aggregates' views. The answers are the
 * values written here (12 samples of 10 and 30 in an hour: mean 20, then 21 with a 32).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachBackend, openMigrated, refreshRollups, type BackendKind, type MigratedDatabase } from '../../test/support/backends.ts';
import type { Database } from '../db/database.ts';
import { FAMILIES } from '../modules/families.ts';
import { TimeseriesStore } from './store.ts';

const HOUR = 3_600_000;

forEachBackend('metric queries read rollup storage tables when nothing is pending', (kind: BackendKind) => {
  let m: MigratedDatabase;
  const statements: string[] = [];
  let store: TimeseriesStore;
  const hour = Math.floor(Date.now() / HOUR) * HOUR - 3 * HOUR;

  before(async () => {
    m = await openMigrated(kind);
    // the same database, every statement's text recorded
    const spy = new Proxy(m.db, {
      get(target, prop) {
        const v = Reflect.get(target, prop, target) as unknown;
        if (typeof v !== 'function') return v;
        const fn = v as (...a: unknown[]) => unknown;
        if (prop === 'query' || prop === 'queryOne' || prop === 'queryMany' || prop === 'cursor') {
          return (sql: string, ...rest: unknown[]) => {
            statements.push(sql);
            return fn.call(target, sql, ...rest);
          };
        }
        return fn.bind(target);
      },
    }) as Database;
    store = new TimeseriesStore({ db: spy, tier: m.tier, families: FAMILIES });
    const rows = Array.from({ length: 12 }, (_, i) => ({ nodeId: 'src-1', timestamp: new Date(hour + i * 300_000).toISOString(), cpuPercent: i % 2 ? 30 : 10 }));
    await m.store.ingest('system', rows);
    await refreshRollups(m, 'system');
  });
  after(async () => {
    await m.close();
  });

  const ask = async () => {
    statements.length = 0;
    const a = await store.query('system', { from: new Date(hour), to: new Date(hour + HOUR), nodeIds: ['src-1'], resolution: '1h', fields: ['cpuPercent'] });
    return a.points.map((p) => [p.timestamp, p.cpuPercent, p.samples]);
  };
  const liveBranch = () => statements.some((s) => /date_bin\(INTERVAL/.test(s) && /opsdeck_rollup_invalidations i/.test(s));
  const storage = () => statements.some((s) => s.includes('_opsdeck_mat_system_stats_1h'));
  const views = () => statements.some((s) => /FROM system_stats_1h\b/.test(s));

  test('nothing pending: the storage tables, no live branch (postgres tier); the views (timescale)', async () => {
    assert.deepEqual(await ask(), [[new Date(hour).toISOString(), 20, 12]]);
    if (m.tier === 'timescale') {
      assert.ok(views(), statements.join('\n---\n'));
      assert.ok(!storage());
      return;
    }
    assert.ok(storage(), statements.join('\n---\n'));
    assert.ok(!liveBranch(), statements.join('\n---\n'));
  });

  test('a row pending: the views’ branches, and its value at once (postgres tier)', async () => {
    await m.store.ingest('system', [{ nodeId: 'src-1', timestamp: new Date(hour + 12 * 300_000 - 1000).toISOString(), cpuPercent: 32 }]);
    // TimescaleDB answers a late row into a materialized bucket after its refresh (docs/schema.md)
    if (m.tier === 'timescale') await refreshRollups(m, 'system');
    // 13 samples: 6 × 10 + 6 × 30 + 32 = 272
    const got = await ask();
    assert.equal(got.length, 1);
    assert.equal(got[0]![2], 13);
    assert.ok(Math.abs((got[0]![1] as number) - 272 / 13) < 1e-9);
    if (m.tier === 'postgres') {
      assert.ok(liveBranch(), statements.join('\n---\n'));
      assert.ok(!statements.some((s) => /FROM _opsdeck_mat_system_stats_1h\s/.test(s) && !/opsdeck_rollup_invalidations/.test(s)));
    }
  });
});
