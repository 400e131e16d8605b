/**
 * The API key cache: agents sharing a key find its entry expired together and share one
 * read; a revocation made while a read is in flight is not undone by that read.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { forEachBackend } from '../../../test/support/backends.ts';
import { buildTestRuntime, type TestRuntime } from '../../../test/support/app.ts';
import { createApiKey } from '../../../test/support/auth.ts';
import type { Database } from '../../db/database.ts';
import { ApiKeyStore } from './api-keys.ts';

/** The runtime's database, counting the key reads that go through it. */
function countingKeyReads(db: Database): { db: Database; reads: () => number; gate: (p: Promise<void> | null) => void } {
  let reads = 0;
  let hold: Promise<void> | null = null;
  const counting = Object.create(db) as Database;
  counting.queryOne = async <T>(sql: string, params?: readonly unknown[]) => {
    const row = await db.queryOne<T>(sql, params);
    if (/FROM api_keys k/.test(sql)) {
      reads++;
      if (hold) await hold; // the answer is read; its arrival is held
    }
    return row;
  };
  return { db: counting, reads: () => reads, gate: (p) => (hold = p) };
}

forEachBackend('API key cache', (kind) => {
  let rt: TestRuntime;
  before(async () => {
    rt = await buildTestRuntime(kind);
  });
  after(() => rt.destroy());

  test('requests that find the key uncached together share one read', async () => {
    const key = await createApiKey(rt, ['ingest']);
    const spy = countingKeyReads(rt.db);
    const store = new ApiKeyStore(spy.db, pino({ level: 'silent' }));
    const principals = await Promise.all(Array.from({ length: 50 }, () => store.authenticate(key)));
    assert.equal(spy.reads(), 1);
    assert.ok(principals.every((p) => p.kind === 'apiKey' && p.scopes.join() === 'ingest'));
    await store.authenticate(key);
    assert.equal(spy.reads(), 1, 'then cached');
  });

  test('a revocation made while a read is in flight: the next request reads again and is refused', async () => {
    const key = await createApiKey(rt, ['ingest']);
    const spy = countingKeyReads(rt.db);
    const store = new ApiKeyStore(spy.db, pino({ level: 'silent' }));
    let release!: () => void;
    spy.gate(new Promise<void>((r) => (release = r)));
    const inFlight = store.authenticate(key); // reads the row while the key is valid; the answer is held
    while (spy.reads() === 0) await new Promise((r) => setTimeout(r, 5));
    const id = (await rt.db.queryOne<{ id: number }>('SELECT id FROM api_keys WHERE prefix = $1', [key.split('_')[1]]))!.id;
    await store.revoke(id);
    spy.gate(null);
    release();
    await inFlight; // read before the revocation: that request is let through
    await assert.rejects(store.authenticate(key), (e: Error & { code?: string }) => e.code === 'API_KEY_REVOKED');
    assert.equal(spy.reads(), 2, 'the read that predates the revocation was not cached');
  });
});
