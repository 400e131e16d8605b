import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachBackend, openDatabase, openMigrated, refreshRollups, type MigratedDatabase, type TestDatabase } from '../../test/support/backends.ts';
import { testFamilyStorage } from '../../test/support/test-family.ts';
import type { Database, Queryable } from '../db/database.ts';
import { migrate } from '../db/migrator.ts';
import { defineFamily } from './family.ts';
import { familyDDL } from './ddl.ts';
import { TimeseriesStore } from './store.ts';
import { ingestRowSchema, prepareBatch } from './ingest.ts';

// A family with every column type, created from its generated DDL (not shipped).
const probe = defineFamily({
  table: 'metrics_probe_types',
  key: 'probe_types',
  title: 'Type probe',
  description: 'test family',
  identity: { node_id: { description: 'node' } },
  ...testFamilyStorage('probe_types'),
  columns: {
    flag: { type: 'boolean', unit: 'flag', agg: 'last', description: 'a boolean' },
    label: { type: 'text', unit: 'label', agg: 'last', description: 'text', values: ['a', 'b'] },
    small: { type: 'integer', unit: 'count', agg: 'max', description: 'int', min: 0, max: 1000 },
    big: { type: 'bigint', unit: 'bytes', agg: 'sum', description: 'bigint', min: 0, max: 2 ** 53 - 1 },
    real: { type: 'double', unit: 'ratio', agg: 'avg', description: 'double', min: -1e6, max: 1e6 },
    cnt: { type: 'double', unit: 'x', agg: 'count', description: 'count of non-null', min: 0, max: 1e6 },
    lo: { type: 'double', unit: 'x', agg: 'min', description: 'min', min: -1e6, max: 1e6 },
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

  test('a large batch (a binary COPY on the postgres driver) stores exactly what the INSERT of the same rows stores', async () => {
    // the store on a database whose transactions count their COPYs
    let copies = 0;
    const counted = (q: Queryable): Queryable => ({
      ...q,
      savepoint: (fn) => q.savepoint((sp) => fn(counted(sp))),
      ...(q.copyFrom ? { copyFrom: (sql: string, data: Uint8Array) => (copies++, q.copyFrom!(sql, data)) } : {}),
    });
    const db = Object.create(t.db) as Database;
    db.transaction = (fn) => t.db.transaction((tx) => fn(counted(tx)));
    const counting = new TimeseriesStore({ db, tier: store.tier, families: [probe] });

    const t0 = Math.floor(Date.now() / 1000) * 1000 - 3_000_000;
    // 600 rows per node: more than DIRECT_SKIP_ROWS, so written under a savepoint without conflict handling
    const rows = (node: string) =>
      Array.from({ length: 600 }, (_, i) => ({
        nodeId: node,
        // offsets, and fractions beyond microseconds (rounded as PostgreSQL rounds them)
        timestamp: i % 3 === 0 ? new Date(t0 + i * 1000).toISOString() : i % 3 === 1 ? `${new Date(t0 + i * 1000 + 19_800_000).toISOString().slice(0, 19)}.1234565+05:30` : new Date(t0 + i * 1000).toISOString().replace('Z', '-00:00'),
        flag: i % 4 === 0 ? null : i % 2 === 0,
        label: i % 5 === 0 ? null : i % 2 === 0 ? 'a' : 'b',
        small: i % 7 === 0 ? null : (i * 37) % 1001,
        big: [0, 1, 2 ** 32, 2 ** 53 - 1, 4_294_967_295, 123_456_789_012][i % 6],
        real: [-0, 0.1, 1e-7, -999_999.999_999, 1 / 3, 5e-324, null][i % 7],
        cnt: i,
        lo: -i / 7,
      }));
    // one large batch (COPY where the driver can) and the same rows as small batches (INSERT … ON CONFLICT)
    assert.equal((await counting.ingest('probe_types', rows('copy'))).inserted, 600);
    assert.equal(copies, t.db.driver === 'postgres' ? 1 : 0, 'the large batch went as a COPY on the postgres driver only');
    const small = rows('insert');
    for (let i = 0; i < small.length; i += 100) assert.equal((await counting.ingest('probe_types', small.slice(i, i + 100))).inserted, 100);
    assert.equal(copies, t.db.driver === 'postgres' ? 1 : 0, 'small batches are INSERTs');
    const stored = (node: string) =>
      t.db.queryMany<Record<string, string | null>>(
        `SELECT to_char(time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS t, flag::text, label, small::text, big::text, real::text, cnt::text, lo::text
         FROM metrics_probe_types WHERE node_id = $1 ORDER BY time`,
        [node],
      );
    // the same rows read by the body reader (number columns as Float64Arrays), written as one batch
    const scanned = counting.scanRows('probe_types', Buffer.from(JSON.stringify(rows('scan'))), 0, 1000);
    assert.ok(scanned, 'the body reader reads the rows');
    assert.equal(await t.db.transaction((tx) => counting.writeBatch(counted(tx), 'probe_types', scanned.batch)), 600);
    assert.equal(copies, t.db.driver === 'postgres' ? 2 : 0);
    const viaCopy = await stored('copy');
    assert.equal(viaCopy.length, 600);
    assert.deepEqual(viaCopy, await stored('insert'));
    assert.deepEqual(await stored('scan'), viaCopy);
    // spot values, written out: negative zero as 0, the largest exact bigint, a rounded 7th fractional digit, NULLs
    assert.deepEqual(viaCopy[0], { t: new Date(t0).toISOString().slice(0, 19) + '.000000', flag: null, label: null, small: null, big: '0', real: '0', cnt: '0', lo: '0' });
    assert.equal(viaCopy[3]!.big, '9007199254740991');
    assert.equal(viaCopy[1]!.t, new Date(t0 + 1000).toISOString().slice(0, 19) + '.123456');
    assert.equal(viaCopy[5]!.real, '5e-324');
    // a retry of the large batch (COPY refused: 23505) stores nothing twice
    assert.equal((await counting.ingest('probe_types', rows('copy'))).inserted, 0);
    assert.equal((await t.db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM metrics_probe_types WHERE node_id = 'copy'`))?.n, 600);
  });

  test('out-of-range and wrong-typed values are rejected with their paths', async () => {
    assert.throws(
      () =>
        store.prepare('probe_types', [
          { nodeId: 'p', flag: 'yes' },
          { nodeId: 'p', label: 'c' },
          { nodeId: 'p', small: 1.5 },
          { nodeId: 'p', small: -1 },
          { nodeId: 'p', real: 1.7e308 },
          { nodeId: 'p', small: 1001 },
          { nodeId: 'p', real: 1e6, small: 1000, lo: -1e6 },
        ]),
      (e: { issues?: { index: number; path: (string | number)[] }[] }) =>
        JSON.stringify(e.issues?.map((i) => [i.index, i.path.join('.')])) === JSON.stringify([[0, 'flag'], [1, 'label'], [2, 'small'], [3, 'small'], [4, 'real'], [5, 'small']]),
    );
  });
});

// PostgreSQL reads the fraction of a second as a double and rounds it to microseconds with
// rint() (ties to even): .0000005 → .000000, .0000015 → .000002, .0000025 → .000002.
const FRACTIONS = ['', '.5', '.123', '.123456', '.0000005', '.0000015', '.0000025', '.0000035', '.1234565', '.4999995', '.9999994999', '.9999995', '.9999999', '.00000050001', '.123456789'];

forEachBackend('timestamps with more than 6 fractional digits', (kind) => {
  let m: MigratedDatabase;
  before(async () => {
    m = await openMigrated(kind);
  });
  after(async () => {
    await m.close();
  });

  test('the time Opsdeck derives from a timestamp is the one PostgreSQL stores', async () => {
    const { microsIso, normalizeTimestamp } = await import('./ingest.ts');
    for (const offset of ['Z', '+05:30', '-11:00']) {
      for (const frac of FRACTIONS) {
        const ts = `2026-03-31T23:59:59${frac}${offset}`;
        const db = await m.db.queryOne<{ s: string }>(`SELECT to_char($1::text::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS s`, [ts]);
        const n = normalizeTimestamp(ts)!;
        assert.equal(microsIso(n.micros), db?.s, ts);
        // the text sent to PostgreSQL means the same instant
        const sent = await m.db.queryOne<{ s: string }>(`SELECT to_char($1::text::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS s`, [n.text]);
        assert.equal(sent?.s, db?.s, ts);
      }
    }
    // by hand: ties go to the even microsecond, .9999995 carries into the next day
    assert.equal(normalizeTimestamp('2026-03-31T23:59:59.0000025Z')?.text, '2026-03-31T23:59:59.000002Z');
    assert.equal(normalizeTimestamp('2026-03-31T23:59:59.9999995Z')?.text, '2026-04-01T00:00:00.000000Z');
  });

  test('…T23:59:59.9999999Z ten days ago is stored at midnight and answered from the midnight 5-minute bucket', async () => {
    const day = Math.floor(Date.now() / 86_400_000) * 86_400_000 - 10 * 86_400_000;
    const ts = `${new Date(day - 1000).toISOString().slice(0, 19)}.9999999Z`; // the last instant before `day`
    const r = await m.store.ingest('system', [{ nodeId: 'ns-day', timestamp: ts, cpuPercent: 42 }]);
    assert.equal(r.inserted, 1);
    const stored = await m.db.queryOne<{ t: Date }>(`SELECT time AS t FROM metrics_system WHERE node_id = 'ns-day'`);
    assert.equal(stored?.t.toISOString(), new Date(day).toISOString());
    const node = await m.db.queryOne<{ last_seen: Date }>(`SELECT last_seen FROM nodes WHERE id = 'ns-day'`);
    assert.equal(node?.last_seen.toISOString(), new Date(day).toISOString(), 'nodes.last_seen is the stored time');
    // a retry of the same batch is a duplicate, not an error
    assert.equal((await m.store.ingest('system', [{ nodeId: 'ns-day', timestamp: ts, cpuPercent: 42 }])).inserted, 0);
    await refreshRollups(m, 'system');
    const a = await m.store.query('system', { from: new Date(day - 600_000), to: new Date(day + 600_000), nodeIds: ['ns-day'], resolution: '5m', fields: ['cpuPercent'] });
    assert.deepEqual(
      a.points.map((p) => [p.timestamp, p.cpuPercent, p.samples]),
      [[new Date(day).toISOString(), 42, 1]],
    );
  });

  test('…:59:59.9999995Z is stored in the next hour and answered from that hour\'s first 5-minute bucket', async () => {
    const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 2 * 86_400_000;
    const ts = `${new Date(hour - 1000).toISOString().slice(0, 19)}.9999995Z`;
    assert.equal((await m.store.ingest('system', [{ nodeId: 'ns-hour', timestamp: ts, cpuPercent: 7 }])).inserted, 1);
    await refreshRollups(m, 'system');
    const a = await m.store.query('system', { from: new Date(hour - 600_000), to: new Date(hour + 600_000), nodeIds: ['ns-hour'], resolution: '5m', fields: ['cpuPercent'] });
    assert.deepEqual(
      a.points.map((p) => [p.timestamp, p.cpuPercent, p.samples]),
      [[new Date(hour).toISOString(), 7, 1]],
    );
    const raw = await m.store.query('system', { from: new Date(hour - 600_000), to: new Date(hour + 600_000), nodeIds: ['ns-hour'], resolution: 'raw', fields: ['cpuPercent'] });
    assert.deepEqual(
      raw.points.map((p) => p.timestamp),
      [new Date(hour).toISOString()],
    );
  });
});

test('the compiled fast check never accepts a row the Zod schema refuses', async () => {
  const fc = (await import('fast-check')).default;
  const { compileFastCheck, ingestRowSchema } = await import('./ingest.ts');
  const { FAMILIES } = await import('../modules/families.ts');
  const families = [probe, ...FAMILIES];
  const isoish = fc.oneof(
    fc.date({ min: new Date('1990-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString()),
    fc.tuple(fc.integer({ min: 0, max: 9999 }), fc.integer({ min: 0, max: 19 }), fc.integer({ min: 0, max: 39 }), fc.integer({ min: 0, max: 29 }), fc.integer({ min: 0, max: 69 }), fc.integer({ min: 0, max: 69 }), fc.constantFrom('Z', '+02:00', '-11:30', '+25:00', '+0200', ''), fc.constantFrom('', '.1', '.123456789', '.1234567891'))
      .map(([y, mo, d, h, mi, s, off, frac]) => `${String(y).padStart(4, '0')}-${String(mo).padStart(2, '0')}-${String(d).padStart(2, '0')}T${String(h).padStart(2, '0')}:${String(mi).padStart(2, '0')}:${String(s).padStart(2, '0')}${frac}${off}`),
    fc.string(),
  );
  const value = fc.oneof(fc.constant(undefined), fc.constant(null), fc.boolean(), fc.integer(), fc.double(), fc.string({ maxLength: 300 }), fc.constantFrom('a', 'b', 'A', 'primary', 'PRIMARY', 'SeCoNdArY', 'leader', 'master', 'MASTER', ''), fc.constant(2 ** 60), fc.constant(-1), fc.constant(1.5));
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

test('rows are accepted back to the ingest horizon (90-day raw retention less 1 day and 1 hour), older ones refused', () => {
  // The narrowest refresh window (1h: 90 days less one hour) less one day for the policies to run:
  // 88 days 23 hours before 2026-06-01T00:00Z is 2026-03-04T01:00Z.
  const now = Date.parse('2026-06-01T00:00:00Z');
  const schema = ingestRowSchema(probe);
  assert.equal(prepareBatch(probe, schema, [{ nodeId: 'p', timestamp: '2026-03-04T01:01:00Z', small: 1 }], { now }).rows, 1);
  assert.throws(
    () => prepareBatch(probe, schema, [{ nodeId: 'p', timestamp: '2026-03-04T00:59:00Z', small: 1 }], { now }),
    (e: { issues?: { index: number; path: (string | number)[]; message: string }[] }) =>
      e.issues?.length === 1 && e.issues[0]!.path.join('.') === 'timestamp' && /older than 88 days 23 hours/.test(e.issues[0]!.message),
  );
});
