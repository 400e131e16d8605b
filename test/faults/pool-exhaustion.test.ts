/**
 * Fault suite item 3: every connection of the pool is held (open transactions) →
 * requests that need the database get 503 DATABASE_UNAVAILABLE with
 * Retry-After once the configured pool wait (poolWaitMs) has passed — not a
 * hang — and are served again as soon as connections are free.
 *
 * Runs on the test server (this test does not stop it), on a fresh database
 * with a runtime of its own pool: poolMax 2, poolWaitMs 300.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Runtime } from '../../src/runtime.ts';
import { createTestDatabase } from '../support/backends.ts';
import { createApiKey, loginAs } from '../support/auth.ts';
import { assertRetryable503, BASE_TIME, ingestBody, skipUnlessServer, startRuntime } from './support.ts';

const POOL_WAIT_MS = 300;

describe('fault: every pool connection is busy', { skip: skipUnlessServer }, () => {
  let rt: Runtime;
  let drop: () => Promise<void>;
  let admin: string;
  let key: string;

  before(async () => {
    const t = await createTestDatabase();
    drop = t.drop;
    rt = await startRuntime(t.url, { poolMax: 2, poolWaitMs: POOL_WAIT_MS });
    admin = await loginAs(rt, 'admin');
    key = `Bearer ${await createApiKey(rt, ['ingest', 'read'])}`;
  });
  after(async () => {
    await rt?.close();
    await drop?.();
  });

  const requests = () => [
    { name: 'ingest (API key)', run: () => rt.app.inject({ method: 'POST', url: '/api/v1/metrics', headers: { authorization: key, 'content-type': 'application/json' }, payload: ingestBody('pool-node', 5) }) },
    { name: 'query (user token)', run: () => rt.app.inject({ url: `/api/v1/metrics/system?from=${new Date(BASE_TIME).toISOString()}&to=${new Date(BASE_TIME + 60_000).toISOString()}`, headers: { authorization: admin } }) },
    { name: 'nodes', run: () => rt.app.inject({ url: '/api/v1/nodes', headers: { authorization: admin } }) },
    { name: 'ready', run: () => rt.app.inject({ url: '/ready' }) },
  ];

  /**
   * Holds both pool connections in transactions that end only when `release()` is called;
   * resolves once both are taken. While held, the only way a request can be answered is the
   * pool wait limit (without it, requests would hang until the test's timeout).
   */
  async function holdPool(): Promise<{ release: () => Promise<void> }> {
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    let taken = 0;
    const held = Promise.all(
      [1, 2].map(() =>
        rt.db.transaction(async (tx) => {
          await tx.query('SELECT 1');
          taken++;
          await gate;
        }),
      ),
    );
    while (taken < 2) await new Promise((r) => setTimeout(r, 5));
    return {
      release: async () => {
        open();
        await held;
      },
    };
  }

  test('new requests get 503 + Retry-After after the pool wait, not a hang; then they are served again', { timeout: 60_000 }, async () => {
    // Healthy first.
    for (const r of requests()) assert.equal((await r.run()).statusCode, 200, r.name);

    const pool = await holdPool();
    let released = false;
    const answers = await Promise.all(
      [...requests(), ...requests(), ...requests()].map(async (r) => ({ name: r.name, res: await r.run(), whileHeld: !released })),
    );
    for (const a of answers) {
      // /ready too: it reports the database as unavailable the same way.
      assertRetryable503(a.res, 'DATABASE_UNAVAILABLE');
      assert.ok(a.whileHeld, `${a.name}: answered while the pool was still held (the wait limit, not a freed connection)`);
    }
    assert.equal(rt.db.poolStats().waiting, 0, 'no waiter left behind');
    // Liveness does not need the database.
    assert.equal((await rt.app.inject({ url: '/health' })).statusCode, 200);

    released = true;
    await pool.release();
    for (const r of requests()) {
      const res = await r.run();
      assert.equal(res.statusCode, 200, `${r.name} after the pool is free: ${res.body}`);
    }
    assert.deepEqual(rt.db.poolStats(), { total: 2, idle: 2, waiting: 0 });
  });

  test('a refused batch is not stored; the retry after the pool frees stores it once', { timeout: 60_000 }, async () => {
    const body = ingestBody('pool-retry', 20, BASE_TIME + 3_600_000);
    const post = () => rt.app.inject({ method: 'POST', url: '/api/v1/metrics', headers: { authorization: key, 'content-type': 'application/json' }, payload: body });
    const pool = await holdPool();
    assertRetryable503(await post(), 'DATABASE_UNAVAILABLE');
    await pool.release();
    const n = await rt.db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM metrics_system WHERE node_id = 'pool-retry'`);
    assert.equal(n?.n, 0);
    const ok = await post();
    assert.equal(ok.statusCode, 200, ok.body);
    assert.deepEqual(ok.json(), { family: 'system', received: 20, inserted: 20, duplicates: 0 });
  });
});
