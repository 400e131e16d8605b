import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, enabledBackends, forEachBackend, openDatabase, type TestDatabase } from '../../test/support/backends.ts';
import { DatabaseQueryError } from './database.ts';
import { PostgresDatabase } from './postgres-driver.ts';

forEachBackend('Database.cursor', (kind) => {
  let t: TestDatabase;
  before(async () => {
    t = await openDatabase(kind);
  });
  after(async () => {
    await t.close();
  });

  test('hands out every row, in order, in batches of at most the batch size', async () => {
    const batches: number[][] = [];
    for await (const b of t.db.cursor<{ g: number }>('SELECT g FROM generate_series(1, $1::int) g ORDER BY g', [2500], 1000)) batches.push(b.map((r) => r.g));
    assert.deepEqual(batches.map((b) => b.length), [1000, 1000, 500]);
    assert.deepEqual(batches.flat(), Array.from({ length: 2500 }, (_, i) => i + 1));
  });

  test('an SQL error surfaces from the loop as DatabaseQueryError with its SQLSTATE', async () => {
    const read = async () => {
      for await (const _ of t.db.cursor('SELECT 1 / (g - 3) FROM generate_series(1, 5) g', [], 1)) void _;
    };
    await assert.rejects(read(), (e: unknown) => e instanceof DatabaseQueryError && e.sqlState === '22012');
  });

  test('leaving the loop early leaves the database usable, also inside a transaction', async () => {
    let seen = 0;
    for await (const b of t.db.cursor('SELECT g FROM generate_series(1, 100000) g', [], 100)) {
      seen += b.length;
      if (seen >= 300) break;
    }
    assert.equal(seen, 300);
    assert.deepEqual(await t.db.queryOne('SELECT 41 + 1 AS n'), { n: 42 });
    const inTx = await t.db.transaction(async () => {
      const rows: number[] = [];
      for await (const b of t.db.cursor<{ g: number }>('SELECT g FROM generate_series(1, 5) g', [], 2)) rows.push(b.length);
      return rows;
    });
    assert.deepEqual(inTx, [2, 2, 1]);
  });
});

describe('Database.cursor on the postgres driver', { skip: !enabledBackends().includes('postgres') && 'needs the postgres backend (a PostgreSQL server)' }, () => {
  let url: string;
  let drop: () => Promise<void>;
  before(async () => {
    ({ url, drop } = await createTestDatabase());
  });
  after(async () => {
    await drop();
  });

  test('an early exit closes the portal and frees the connection: a pool of one serves the next query', async () => {
    const db = new PostgresDatabase({ url, max: 1, poolWaitMs: 10_000 });
    try {
      for await (const b of db.cursor('SELECT g FROM generate_series(1, 1000000) g', [], 1000)) {
        assert.equal(b.length, 1000);
        break;
      }
      assert.deepEqual(await db.queryOne('SELECT 2 AS n'), { n: 2 });
      const open = await db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE 'SELECT g FROM generate_series(1, 1000000)%' AND state = 'active'`);
      assert.equal(open?.n, 0);
    } finally {
      await db.close();
    }
  });

  test('a cursor plans its statement with its values each time: it is not kept prepared, as a query with parameters is', async () => {
    const db = new PostgresDatabase({ url, max: 1 });
    try {
      const viaCursor = 'SELECT g FROM generate_series(1, $1::int) g';
      const viaQuery = 'SELECT g FROM generate_series(2, $1::int) g';
      for (let i = 0; i < 6; i++) {
        for await (const b of db.cursor<{ g: number }>(viaCursor, [3], 10)) assert.deepEqual(b.map((r) => r.g), [1, 2, 3]);
        assert.equal((await db.queryMany(viaQuery, [3])).length, 2);
      }
      const kept = await db.queryMany<{ statement: string }>(`SELECT statement FROM pg_prepared_statements WHERE statement IN ($1, $2)`, [viaCursor, viaQuery]);
      assert.deepEqual(kept.map((k) => k.statement), [viaQuery]);
    } finally {
      await db.close();
    }
  });

  test("the statement timeout counts while a reader holds the portal: a stalled reader loses the connection's statement", async () => {
    const db = new PostgresDatabase({ url, statementTimeoutMs: 500 });
    try {
      let batches = 0;
      const read = async () => {
        for await (const _ of db.cursor('SELECT g FROM generate_series(1, 100000) g', [], 1000)) {
          void _;
          // the reader stalls after its first batch for four times the timeout
          if (++batches === 1) await new Promise((r) => setTimeout(r, 2000));
        }
      };
      await assert.rejects(read(), (e: unknown) => e instanceof DatabaseQueryError && e.sqlState === '57014');
      assert.equal(batches, 1);
      assert.deepEqual(await db.queryOne('SELECT 3 AS n'), { n: 3 });
    } finally {
      await db.close();
    }
  });
});
