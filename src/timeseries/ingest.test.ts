import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachBackend, openDatabase, type TestDatabase } from '../../test/support/backends.ts';
import { migrate } from '../db/migrator.ts';
import { defineFamily } from './family.ts';
import { familyDDL } from './ddl.ts';
import { TimeseriesStore } from './store.ts';

// A family with every column type, created from its generated DDL (not shipped).
const probe = defineFamily({
  table: 'metrics_probe_types',
  key: 'probe_types',
  title: 'Type probe',
  description: 'test family',
  identity: { node_id: { description: 'node' } },
  sampleInterval: '15 seconds',
  chunkInterval: '1 hour',
  retention: { raw: '90 days', '5m': '90 days', '1h': '365 days', '1d': '730 days' },
  compressAfter: '7 days',
  rollups: { '5m': 'probe_types_5m', '1h': 'probe_types_1h', '1d': 'probe_types_daily' },
  columns: {
    flag: { type: 'boolean', unit: 'flag', agg: 'last', description: 'a boolean' },
    label: { type: 'text', unit: 'label', agg: 'last', description: 'text', values: ['a', 'b'] },
    small: { type: 'integer', unit: 'count', agg: 'max', description: 'int', min: 0 },
    big: { type: 'bigint', unit: 'bytes', agg: 'sum', description: 'bigint' },
    real: { type: 'double', unit: 'ratio', agg: 'avg', description: 'double' },
    cnt: { type: 'double', unit: 'x', agg: 'count', description: 'count of non-null' },
    lo: { type: 'double', unit: 'x', agg: 'min', description: 'min' },
  },
});

forEachBackend('every column type through ingest, rollups and queries', (kind) => {
  let t: TestDatabase;
  let store: TimeseriesStore;
  before(async () => {
    t = await openDatabase(kind);
    const r = await migrate(t.db);
    await t.db.exec(familyDDL(probe, r.tier.tier));
    store = new TimeseriesStore({ db: t.db, tier: r.tier.tier, families: [probe] });
  });
  after(async () => {
    await t.close();
  });

  test('booleans (first value null or not), text enums, integers, bigints and doubles round-trip', async () => {
    const t0 = Math.floor(Date.now() / 300_000) * 300_000 - 600_000;
    const rows = [
      { nodeId: 'p', timestamp: new Date(t0).toISOString(), flag: null, label: 'a', small: 1, big: 2 ** 40, real: 0.5, cnt: 1, lo: 3 },
      { nodeId: 'p', timestamp: new Date(t0 + 15_000).toISOString(), flag: true, label: 'b', small: 7, big: 1, real: 1.5, cnt: null, lo: -2 },
      { nodeId: 'p', timestamp: new Date(t0 + 30_000).toISOString(), flag: false, real: null, cnt: 5 },
    ];
    assert.equal((await store.ingest('probe_types', rows)).inserted, 3);
    const raw = await store.query('probe_types', { from: new Date(t0), to: new Date(t0 + 60_000), resolution: 'raw' });
    assert.deepEqual(
      raw.points.map((p) => [p.flag, p.label, p.small, p.big]),
      [
        [null, 'a', 1, 2 ** 40],
        [true, 'b', 7, 1],
        [false, null, null, null],
      ],
    );
    const agg = await store.query('probe_types', { from: new Date(t0), to: new Date(t0 + 60_000), resolution: '5m' });
    assert.equal(agg.points.length, 1);
    const p = agg.points[0]!;
    assert.equal(p.flag, false, 'last');
    assert.equal(p.small, 7, 'max');
    assert.equal(p.big, 2 ** 40 + 1, 'sum');
    assert.equal(p.real, 1, 'avg of non-null values');
    assert.equal(p.cnt, 2, 'count of non-null');
    assert.equal(p.lo, -2, 'min');
    assert.equal(p.samples, 3);
  });

  test('out-of-range and wrong-typed values are rejected with their paths', async () => {
    assert.throws(
      () => store.prepare('probe_types', [{ nodeId: 'p', flag: 'yes' }, { nodeId: 'p', label: 'c' }, { nodeId: 'p', small: 1.5 }, { nodeId: 'p', small: -1 }]),
      (e: { issues?: { index: number; path: (string | number)[] }[] }) =>
        JSON.stringify(e.issues?.map((i) => [i.index, i.path.join('.')])) === JSON.stringify([[0, 'flag'], [1, 'label'], [2, 'small'], [3, 'small']]),
    );
  });
});

test('the compiled fast check never accepts a row the Zod schema refuses', async () => {
  const fc = (await import('fast-check')).default;
  const { compileFastCheck, ingestRowSchema } = await import('./ingest.ts');
  const { FAMILIES } = await import('./registry.ts');
  const families = [probe, ...FAMILIES];
  const isoish = fc.oneof(
    fc.date({ min: new Date('1990-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString()),
    fc.tuple(fc.integer({ min: 0, max: 9999 }), fc.integer({ min: 0, max: 19 }), fc.integer({ min: 0, max: 39 }), fc.integer({ min: 0, max: 29 }), fc.integer({ min: 0, max: 69 }), fc.integer({ min: 0, max: 69 }), fc.constantFrom('Z', '+02:00', '-11:30', '+25:00', '+0200', ''), fc.constantFrom('', '.1', '.123456789', '.1234567891'))
      .map(([y, mo, d, h, mi, s, off, frac]) => `${String(y).padStart(4, '0')}-${String(mo).padStart(2, '0')}-${String(d).padStart(2, '0')}T${String(h).padStart(2, '0')}:${String(mi).padStart(2, '0')}:${String(s).padStart(2, '0')}${frac}${off}`),
    fc.string(),
  );
  const value = fc.oneof(fc.constant(undefined), fc.constant(null), fc.boolean(), fc.integer(), fc.double(), fc.string({ maxLength: 300 }), fc.constantFrom('a', 'b', 'primary', 'master', ''), fc.constant(2 ** 60), fc.constant(-1), fc.constant(1.5));
  for (const f of families) {
    const fast = compileFastCheck(f);
    const schema = ingestRowSchema(f);
    const fields = ['timestamp', ...f.identityFields, ...f.columns.map((c) => c.field), 'extra'];
    const row = fc.record(Object.fromEntries(fields.map((k) => [k, k === 'timestamp' ? fc.option(isoish, { nil: undefined }) : k === 'nodeId' || k === 'zone' ? fc.oneof(fc.constantFrom('n-1', 'mx.example:1', ''), fc.string()) : value])), {
      requiredKeys: [...f.identityFields],
    });
    fc.assert(
      fc.property(row, (r) => {
        if (fast(r)) assert.ok(schema.safeParse(r).success, `${f.table}: fast check accepted ${JSON.stringify(r)}`);
      }),
      { numRuns: 3000 },
    );
  }
});
