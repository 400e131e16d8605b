import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import pino from 'pino';
import { forEachBackend, openDatabase, createTestDatabase, type TestDatabase } from '../../test/support/backends.ts';
import { DatabaseQueryError, DatabaseUnavailableError, classifyError } from './database.ts';
import { PostgresDatabase } from './postgres-driver.ts';

forEachBackend('database layer', (kind) => {
  let t: TestDatabase;
  before(async () => {
    t = await openDatabase(kind);
    await t.db.exec('CREATE TABLE items (id int PRIMARY KEY, name text)');
  });
  after(async () => {
    await t.close();
  });

  test('query, queryOne and queryMany return rows; int8 and numeric are numbers', async () => {
    await t.db.query('INSERT INTO items VALUES ($1, $2), ($3, $4)', [1, 'a', 2, 'b']);
    assert.deepEqual(await t.db.queryMany('SELECT id, name FROM items ORDER BY id'), [
      { id: 1, name: 'a' },
      { id: 2, name: 'b' },
    ]);
    assert.deepEqual(await t.db.queryOne('SELECT count(*) AS n, 1.5::numeric AS x FROM items'), { n: 2, x: 1.5 });
    assert.equal(await t.db.queryOne('SELECT 1 WHERE false'), null);
    const r = await t.db.query('UPDATE items SET name = name');
    assert.equal(r.rowCount, 2);
  });

  test('a failing transaction rolls back everything, nested calls included', async () => {
    await assert.rejects(
      t.db.transaction(async (tx) => {
        await tx.query('INSERT INTO items VALUES (10, $1)', ['x']);
        // a nested transaction and a call on the root database both join the outer transaction
        await t.db.transaction(async (inner) => inner.query('INSERT INTO items VALUES (11, $1)', ['y']));
        await t.db.query('INSERT INTO items VALUES (12, $1)', ['z']);
        assert.equal(t.db.inTransaction(), true);
        await tx.query('INSERT INTO items VALUES (10, $1)', ['dup']);
      }),
      (e: unknown) => e instanceof DatabaseQueryError && e.sqlState === '23505',
    );
    assert.equal((await t.db.queryOne<{ n: number }>('SELECT count(*)::int AS n FROM items WHERE id >= 10'))?.n, 0);
    assert.equal(t.db.inTransaction(), false);
  });

  test('a committed transaction returns its value and keeps its rows', async () => {
    const v = await t.db.transaction(async (tx) => {
      await tx.query('INSERT INTO items VALUES (20, $1)', ['kept']);
      return t.db.transaction(async () => 'inner-value');
    });
    assert.equal(v, 'inner-value');
    assert.equal((await t.db.queryOne<{ name: string }>('SELECT name FROM items WHERE id = 20'))?.name, 'kept');
  });

  test('overlapping transactions: one that ends while another waits leaves the other inside its own transaction', async () => {
    // Between transactions the async-context storage is switched off (database.ts): switching it
    // off when the first one ends must not take the second one's transaction from it.
    let releaseB!: () => void;
    const bWaits = new Promise<void>((r) => (releaseB = r));
    let aDone!: () => void;
    const aEnded = new Promise<void>((r) => (aDone = r));
    const b = t.db.transaction(async (tx) => {
      await tx.query('INSERT INTO items VALUES (30, $1)', ['b-first']);
      await bWaits;
      // a root call made after A committed still joins B, and B's rows roll back with it
      await t.db.query('INSERT INTO items VALUES (31, $1)', ['b-second']);
      assert.equal(t.db.inTransaction(), true);
      throw new Error('roll B back');
    });
    // PGlite has one connection: A queues behind B there, so it runs after B on that backend
    const a = t.db.transaction(async (tx) => tx.query('INSERT INTO items VALUES (32, $1)', ['a'])).then(() => aDone());
    if (t.db.driver === 'pglite') releaseB();
    else {
      await aEnded;
      releaseB();
    }
    await assert.rejects(b, /roll B back/);
    await a;
    assert.equal(t.db.inTransaction(), false);
    assert.deepEqual(await t.db.queryMany('SELECT id FROM items WHERE id BETWEEN 30 AND 32 ORDER BY id'), [{ id: 32 }]);
    // and the next transaction finds its own store again
    await t.db.transaction(async () => {
      assert.equal(t.db.inTransaction(), true);
      await t.db.query('INSERT INTO items VALUES (33, $1)', ['c']);
    });
    assert.equal((await t.db.queryOne<{ n: number }>('SELECT count(*)::int AS n FROM items WHERE id = 33'))?.n, 1);
  });

  test('healthCheck and poolStats', async () => {
    assert.equal(await t.db.healthCheck(), true);
    const s = t.db.poolStats();
    assert.ok(s.total >= s.idle && s.waiting >= 0);
  });

  test('SQL errors carry their SQLSTATE', async () => {
    await assert.rejects(t.db.query('SELECT * FROM no_such_table'), (e: unknown) => e instanceof DatabaseQueryError && e.sqlState === '42P01');
  });

  test('queries slower than the threshold are logged at WARN', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _e, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const logger = pino({ level: 'warn' }, sink);
    // The slow query sleeps past the threshold (a lower bound that always holds); the threshold is
    // generous so that SELECT 1 stays under it on a busy machine.
    const slow = await openDatabase(kind, { logger, slowQueryMs: 1000 });
    await slow.db.query('SELECT pg_sleep(1.1)');
    await slow.db.query('SELECT 1 AS fast');
    await slow.close();
    assert.ok(lines.some((l) => l.includes('"level":40') && l.includes('slow query') && l.includes('pg_sleep')), lines.join('\n'));
    assert.ok(!lines.some((l) => l.includes('fast')), 'fast queries are not logged');
  });
});

test('classifyError maps connection failures to DatabaseUnavailableError', () => {
  assert.ok(classifyError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })) instanceof DatabaseUnavailableError);
  assert.ok(classifyError(Object.assign(new Error('terminating connection'), { code: '57P01' })) instanceof DatabaseUnavailableError);
  assert.ok(classifyError(Object.assign(new Error('dup'), { code: '23505' })) instanceof DatabaseQueryError);
});

test('classifyError: a Unix socket that is not there (the embedded server stopped) is unavailable, not a query error', () => {
  const err = Object.assign(new Error('connect ENOENT /data/postgres/run/.s.PGSQL.5432'), { code: 'ENOENT' });
  assert.ok(classifyError(err) instanceof DatabaseUnavailableError);
});

if (process.env.TEST_BACKENDS === undefined || process.env.TEST_BACKENDS.includes('postgres')) {
  test('postgres driver: terminated connections are replaced on the next query', async () => {
    const { url, drop } = await createTestDatabase();
    const db = new PostgresDatabase({ url, max: 4 });
    try {
      await Promise.all([1, 2, 3].map(() => db.query('SELECT pg_sleep(0.05)')));
      const admin = new PostgresDatabase({ url, max: 1, applicationName: 'admin' });
      const killed = await admin.queryOne<{ n: number }>(
        `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = 'opsdeck' AND datname = current_database()`,
      );
      await admin.close();
      assert.ok((killed?.n ?? 0) >= 1);
      // the pool may report the dead connection once; afterwards it reconnects by itself
      let ok = false;
      for (let i = 0; i < 5 && !ok; i++) ok = await db.healthCheck();
      assert.equal(ok, true);
      assert.equal((await db.queryOne<{ v: number }>('SELECT 41 + 1 AS v'))?.v, 42);
    } finally {
      await db.close();
      await drop();
    }
  });

  test('postgres driver: renewConnections serves from new connections, lets running work finish and ends the old ones', { timeout: 60_000 }, async () => {
    const { url, drop } = await createTestDatabase();
    const db = new PostgresDatabase({ url, max: 4, applicationName: 'renew-test' });
    const admin = new PostgresDatabase({ url, max: 1, applicationName: 'admin' });
    try {
      const before = new Set((await Promise.all([1, 2].map(() => db.queryOne<{ pid: number }>('SELECT pg_backend_pid() AS pid, pg_sleep(0.05)')))).map((r) => r!.pid));
      // A statement still running when the connections are renewed finishes with its answer.
      const running = db.queryOne<{ v: number }>('SELECT 7 AS v FROM pg_sleep(0.3)');
      await new Promise((r) => setTimeout(r, 50));
      await db.renewConnections();
      assert.equal((await running)?.v, 7);
      const after = (await db.queryOne<{ pid: number }>('SELECT pg_backend_pid() AS pid'))!.pid;
      assert.equal(before.has(after), false, 'the next query runs on a connection opened after the renewal');
      const alive = await admin.queryMany<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE application_name = 'renew-test' AND datname = current_database()`);
      assert.deepEqual(alive.map((r) => r.pid).filter((p) => before.has(p)), [], 'the connections from before the renewal are closed');
    } finally {
      await admin.close();
      await db.close();
      await drop();
    }
  });

  test('postgres driver: after a burst, steady one-at-a-time work keeps one connection and the others close when idle', { timeout: 60_000 }, async () => {
    const { url, drop } = await createTestDatabase();
    const db = new PostgresDatabase({ url, max: 4, idleTimeoutSec: 1, applicationName: 'shrink-test' });
    const admin = new PostgresDatabase({ url, max: 1, applicationName: 'admin' });
    const open = async () => (await admin.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'shrink-test' AND datname = current_database()`))!.n;
    try {
      // A burst: four statements at once take four connections.
      await Promise.all([1, 2, 3, 4].map(() => db.query('SELECT pg_sleep(0.1)')));
      assert.equal(await open(), 4);
      // Then one statement every 200 ms for 3 s: each connection handed out in turn would be
      // idle 800 ms at most and never reach the 1 s idle timeout.
      for (let i = 0; i < 15; i++) {
        await db.query('SELECT 1');
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.equal(await open(), 1);
      // The pool still grows for the next burst.
      const pids = await Promise.all([1, 2, 3].map(() => db.queryOne<{ pid: number }>('SELECT pg_backend_pid() AS pid, pg_sleep(0.1)')));
      assert.equal(new Set(pids.map((r) => r!.pid)).size, 3);
    } finally {
      await admin.close();
      await db.close();
      await drop();
    }
  });

  test('postgres driver: a busy pool answers DatabaseUnavailableError after the configured wait, not a hang', { timeout: 60_000 }, async () => {
    const { url, drop } = await createTestDatabase();
    const db = new PostgresDatabase({ url, max: 2, poolWaitMs: 200 });
    try {
      // Both connections are held by transactions that end only when the gate opens: the third
      // query can only be answered by the wait limit (a pool without one would hang until the
      // test's timeout), and it is refused while the gate is still closed.
      let open!: () => void;
      const gate = new Promise<void>((r) => (open = r));
      let held = 0;
      const busy = [1, 2].map(() =>
        db.transaction(async (tx) => {
          await tx.query('SELECT 1');
          held++;
          await gate;
        }),
      );
      while (held < 2) await new Promise((r) => setTimeout(r, 10));
      let gateOpened = false;
      await assert.rejects(db.query('SELECT 1'), (e: unknown) => e instanceof DatabaseUnavailableError && !gateOpened);
      assert.equal(db.poolStats().waiting, 0);
      gateOpened = true;
      open();
      await Promise.all(busy);
      assert.equal((await db.queryOne<{ v: number }>('SELECT 2 AS v'))?.v, 2, 'the pool serves again once connections are free');
    } finally {
      await db.close();
      await drop();
    }
  });

  test('postgres driver: statement timeout cancels long queries', async () => {
    const { url, drop } = await createTestDatabase();
    const db = new PostgresDatabase({ url, statementTimeoutMs: 100 });
    try {
      await assert.rejects(db.query('SELECT pg_sleep(2)'), (e: unknown) => e instanceof DatabaseQueryError && e.sqlState === '57014');
    } finally {
      await db.close();
      await drop();
    }
  });
}
