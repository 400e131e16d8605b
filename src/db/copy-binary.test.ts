import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachBackend, openDatabase, type TestDatabase } from '../../test/support/backends.ts';
import { CopyBinaryWriter } from './copy-binary.ts';
import { DatabaseQueryError, type Queryable } from './database.ts';

/** Rows (id int4, big int8, x float8, at timestamptz, ok bool, name text) in binary COPY form; undefined → NULL. */
function copyRows(rows: readonly (readonly [number, number?, number?, number?, boolean?, string?])[]): Uint8Array {
  const w = new CopyBinaryWriter(16);
  for (const [id, big, x, at, ok, name] of rows) {
    w.row(6);
    w.int4(id);
    if (big === undefined) w.null();
    else w.int8(big);
    if (x === undefined) w.null();
    else w.float8(x);
    if (at === undefined) w.null();
    else w.timestamptz(at);
    if (ok === undefined) w.null();
    else w.bool(ok);
    if (name === undefined) w.null();
    else w.text(name);
  }
  return w.finish();
}

const COPY = 'COPY copy_items (id, big, x, at, ok, name) FROM STDIN (FORMAT binary)';

forEachBackend('binary COPY (Queryable.copyFrom)', (kind) => {
  let t: TestDatabase;
  before(async () => {
    t = await openDatabase(kind);
    await t.db.exec('CREATE TABLE copy_items (id int PRIMARY KEY, big bigint, x double precision, at timestamptz, ok boolean, name text)');
  });
  after(async () => {
    await t.close();
  });

  /** Runs fn with the transaction's copyFrom (the postgres driver); PGlite has none. */
  const withCopy = <T>(fn: (tx: Queryable & { copyFrom: NonNullable<Queryable['copyFrom']> }) => Promise<T>) =>
    t.db.transaction(async (tx) => {
      assert.ok(tx.copyFrom, 'the transaction offers copyFrom');
      return fn(tx as Queryable & { copyFrom: NonNullable<Queryable['copyFrom']> });
    });

  test('which drivers offer it: the postgres driver does, PGlite does not (writers then use INSERT)', async () => {
    const offered = await t.db.transaction(async (tx) => tx.copyFrom !== undefined);
    assert.equal(offered, t.db.driver === 'postgres');
  });

  // the rest needs COPY FROM STDIN: the postgres driver's (the server and the embedded default)
  if (kind !== 'postgres') return;

  test('every binary form is stored as the value it stands for', async () => {
    // 2026-11-30T12:34:56.789012Z in microseconds since 1970
    const at = Date.UTC(2026, 10, 30, 12, 34, 56, 789) * 1000 + 12;
    await withCopy((tx) =>
      tx.copyFrom(
        COPY,
        copyRows([
          [1, 2 ** 53 - 1, 0.1, at, true, 'mx-1'],
          [2, -(2 ** 53 - 1), -0, at - 1, false, 'ünïcødé ✓'],
          [3, -1, 1e-310, 0, undefined, ''],
          [4, 4_294_967_296, -1.7976931348623157e308],
          [-2_147_483_648, 2_147_483_647],
        ]),
      ),
    );
    const rows = await t.db.queryMany<Record<string, string | null>>(
      `SELECT id::text, big::text, x::text, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS at, ok::text, name FROM copy_items ORDER BY id`,
    );
    assert.deepEqual(rows, [
      { id: '-2147483648', big: '2147483647', x: null, at: null, ok: null, name: null },
      { id: '1', big: '9007199254740991', x: '0.1', at: '2026-11-30T12:34:56.789012', ok: 'true', name: 'mx-1' },
      // negative zero is written as zero, as its text "0" would be stored
      { id: '2', big: '-9007199254740991', x: '0', at: '2026-11-30T12:34:56.789011', ok: 'false', name: 'ünïcødé ✓' },
      { id: '3', big: '-1', x: '1e-310', at: '1970-01-01T00:00:00.000000', ok: null, name: '' },
      { id: '4', big: '4294967296', x: '-1.7976931348623157e+308', at: null, ok: null, name: null },
    ]);
  });

  test(
    'a row the server refuses after the data ended (duplicate key) fails the savepoint with its SQLSTATE; the transaction goes on',
    { timeout: 20_000 },
    async () => {
      // postgres.js 3.4.9 loses this error and never settles the writable (porsager/postgres#1173): without the
      // driver's watch on the statement this test times out instead of failing fast
      const err = await withCopy(async (tx) => {
        const e = await tx.savepoint((sp) => sp.copyFrom!(COPY, copyRows([[100], [1]]))).then(
          () => null,
          (x: unknown) => x,
        );
        await tx.query('INSERT INTO copy_items (id) VALUES (101)');
        return e;
      });
      assert.ok(err instanceof DatabaseQueryError, `a DatabaseQueryError, not ${String(err)}`);
      assert.equal(err.sqlState, '23505');
      const ids = await t.db.queryMany<{ id: number }>('SELECT id FROM copy_items WHERE id >= 100 ORDER BY id');
      assert.deepEqual(ids, [{ id: 101 }], 'nothing of the refused COPY, the statement after it committed');
    },
  );

  test('malformed data and an unknown table fail with their SQLSTATE; the pool stays usable', { timeout: 20_000 }, async () => {
    const bad = Buffer.concat([Buffer.from(copyRows([[200]]).subarray(0, 25)), Buffer.from([0xff, 0xff])]);
    await assert.rejects(
      withCopy((tx) => tx.copyFrom(COPY, bad)),
      (e: unknown) => e instanceof DatabaseQueryError && e.sqlState === '22P04',
    );
    await assert.rejects(
      withCopy((tx) => tx.copyFrom('COPY no_such_table (id) FROM STDIN (FORMAT binary)', copyRows([[201]]))),
      (e: unknown) => e instanceof DatabaseQueryError && e.sqlState === '42P01',
    );
    // every connection of the pool answers (none left in an aborted transaction)
    const answers = await Promise.all(Array.from({ length: 8 }, () => t.db.queryOne<{ n: number }>('SELECT count(*)::int AS n FROM copy_items WHERE id >= 200')));
    assert.deepEqual(
      answers.map((a) => a?.n),
      Array(8).fill(0),
    );
  });
});
