/**
 * Saved views over HTTP. Runs on postgres and pglite only: saved views are
 * tier-independent (the timescale tier changes only the metrics tables).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { enabledBackends } from '../../../test/support/backends.ts';
import { buildTestRuntime, type TestRuntime } from '../../../test/support/app.ts';
import { createApiKey, createTestUser, login } from '../../../test/support/auth.ts';
import { DatabaseQueryError } from '../../db/database.ts';

const backends = enabledBackends().filter((k) => k !== 'timescale');

for (const kind of backends) {
  describe(`saved views [${kind}]`, () => {
    let rt: TestRuntime;
    let alice: string;
    let bob: string;
    const req = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, authorization: string, payload?: unknown) =>
      rt.app.inject({ method, url, headers: { authorization }, ...(payload === undefined ? {} : { payload: payload as object }) });

    before(async () => {
      rt = await buildTestRuntime(kind);
      await createTestUser(rt, 'alice', 'viewer');
      await createTestUser(rt, 'bob', 'viewer');
      alice = (await login(rt, 'alice')).authorization;
      bob = (await login(rt, 'bob')).authorization;
    });
    after(async () => {
      await rt.destroy();
    });

    test('a viewer creates, reads, lists, replaces and deletes their own views', async () => {
      const created = await req('POST', '/api/v1/saved-views', alice, { name: 'Overview', config: { panels: [{ family: 'system', fields: ['cpuPercent'] }], range: '24h' } });
      assert.equal(created.statusCode, 201, created.body);
      const v = created.json();
      assert.equal(v.name, 'Overview');
      assert.equal(v.isDefault, false);
      assert.deepEqual(v.config, { panels: [{ family: 'system', fields: ['cpuPercent'] }], range: '24h' });

      const stored = await rt.db.queryOne<{ t: string }>('SELECT jsonb_typeof(config) AS t FROM saved_views WHERE id = $1', [v.id]);
      assert.equal(stored?.t, 'object', 'config is stored as a JSON object, not a JSON string');
      assert.deepEqual((await req('GET', `/api/v1/saved-views/${v.id}`, alice)).json(), v);
      const list = (await req('GET', '/api/v1/saved-views', alice)).json();
      assert.deepEqual(Object.keys(list).sort(), ['items', 'page', 'pageSize', 'total', 'totalPages']);
      assert.equal(list.total, 1);

      const replaced = await req('PUT', `/api/v1/saved-views/${v.id}`, alice, { name: 'Overview 2', config: { range: '7d' } });
      assert.equal(replaced.statusCode, 200, replaced.body);
      assert.equal(replaced.json().name, 'Overview 2');
      assert.deepEqual(replaced.json().config, { range: '7d' });
      assert.equal(replaced.json().createdAt, v.createdAt);

      const del = await req('DELETE', `/api/v1/saved-views/${v.id}`, alice);
      assert.equal(del.statusCode, 204);
      assert.equal((await req('GET', `/api/v1/saved-views/${v.id}`, alice)).statusCode, 404);
      assert.equal((await req('DELETE', `/api/v1/saved-views/${v.id}`, alice)).json().code, 'SAVED_VIEW_NOT_FOUND');
    });

    test('at most one default: setting a new default unsets the previous one', async () => {
      const a = (await req('POST', '/api/v1/saved-views', alice, { name: 'D1', config: {}, isDefault: true })).json();
      const b = (await req('POST', '/api/v1/saved-views', alice, { name: 'D2', config: {}, isDefault: true })).json();
      assert.equal(b.isDefault, true);
      assert.equal((await req('GET', `/api/v1/saved-views/${a.id}`, alice)).json().isDefault, false);
      const c = (await req('POST', '/api/v1/saved-views', alice, { name: 'D3', config: {} })).json();
      const put = await req('PUT', `/api/v1/saved-views/${c.id}`, alice, { name: 'D3', config: { x: 1 }, isDefault: true });
      assert.equal(put.json().isDefault, true);
      const defaults = (await req('GET', '/api/v1/saved-views?pageSize=100', alice)).json().items.filter((v: { isDefault: boolean }) => v.isDefault);
      assert.deepEqual(defaults.map((v: { id: number }) => v.id), [c.id]);
      // Re-saving the default as default keeps it.
      assert.equal((await req('PUT', `/api/v1/saved-views/${c.id}`, alice, { name: 'D3', config: {}, isDefault: true })).json().isDefault, true);
      // The database enforces it too: the partial unique index, not just any error.
      await assert.rejects(
        () => rt.db.query('UPDATE saved_views SET is_default = true WHERE id = $1', [a.id]),
        (err: unknown) => err instanceof DatabaseQueryError && err.sqlState === '23505' && /saved_views_one_default_idx/.test(err.message),
      );
      // Concurrent default switches by one user end with exactly one default.
      const ids = [a.id, b.id, c.id];
      const results = await Promise.all(ids.map((id, i) => req('PUT', `/api/v1/saved-views/${id}`, alice, { name: `D${i + 1}`, config: {}, isDefault: true })));
      assert.ok(results.every((r) => r.statusCode === 200), results.map((r) => r.body).join('\n'));
      const n = await rt.db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM saved_views s JOIN dashboard_users u ON u.id = s.user_id WHERE u.username = 'alice' AND s.is_default`);
      assert.equal(n?.n, 1);
    });

    test("views are private: another user's view is 404, and defaults are per user", async () => {
      const mine = (await req('POST', '/api/v1/saved-views', bob, { name: 'Bob default', config: {}, isDefault: true })).json();
      const hers = (await req('GET', '/api/v1/saved-views?pageSize=100', alice)).json();
      assert.ok(hers.items.length > 0);
      assert.ok(hers.items.every((v: { id: number }) => v.id !== mine.id));
      assert.ok(hers.items.some((v: { isDefault: boolean }) => v.isDefault), "alice's default untouched by bob's");
      const aliceView = hers.items[0].id as number;
      assert.equal((await req('GET', `/api/v1/saved-views/${aliceView}`, bob)).json().code, 'SAVED_VIEW_NOT_FOUND');
      assert.equal((await req('PUT', `/api/v1/saved-views/${aliceView}`, bob, { name: 'stolen', config: {} })).statusCode, 404);
      assert.equal((await req('DELETE', `/api/v1/saved-views/${aliceView}`, bob)).statusCode, 404);
      assert.equal((await req('GET', `/api/v1/saved-views/${aliceView}`, alice)).statusCode, 200);
      // The same name may exist once per user.
      assert.equal((await req('POST', '/api/v1/saved-views', bob, { name: 'D1', config: {} })).statusCode, 201);
    });

    test('duplicate names → 409, invalid bodies → 400, API keys → 403, no token → 401', async () => {
      await req('POST', '/api/v1/saved-views', alice, { name: 'Dup', config: {} });
      const dup = await req('POST', '/api/v1/saved-views', alice, { name: 'Dup', config: {} });
      assert.equal(dup.statusCode, 409);
      assert.match(String(dup.headers['content-type']), /^application\/problem\+json/);
      assert.equal(dup.json().code, 'SAVED_VIEW_NAME_TAKEN');
      const other = (await req('POST', '/api/v1/saved-views', alice, { name: 'Other', config: {} })).json();
      assert.equal((await req('PUT', `/api/v1/saved-views/${other.id}`, alice, { name: 'Dup', config: {} })).json().code, 'SAVED_VIEW_NAME_TAKEN');

      for (const body of [{ name: '', config: {} }, { name: 'x', config: [1, 2] }, { name: 'x' }, { name: 'x', config: {}, owner: 3 }]) {
        const r = await req('POST', '/api/v1/saved-views', alice, body);
        assert.equal(r.statusCode, 400, JSON.stringify(body));
        assert.equal(r.json().code, 'VALIDATION_FAILED');
      }
      // Config size: 64 KiB of JSON. '{"blob":"…"}' is 11 bytes plus the string.
      const fits = await req('POST', '/api/v1/saved-views', alice, { name: 'fits', config: { blob: 'x'.repeat(64 * 1024 - 11) } });
      assert.equal(fits.statusCode, 201, fits.body.slice(0, 300));
      const big = await req('POST', '/api/v1/saved-views', alice, { name: 'big', config: { blob: 'x'.repeat(64 * 1024 - 10) } });
      assert.equal(big.statusCode, 413, big.body.slice(0, 300));
      assert.match(String(big.headers['content-type']), /^application\/problem\+json/);
      assert.equal(big.json().code, 'SAVED_VIEW_TOO_LARGE');
      const bigPut = await req('PUT', `/api/v1/saved-views/${other.id}`, alice, { name: 'Other', config: { blob: 'x'.repeat(240 * 1024) } });
      assert.equal(bigPut.json().code, 'SAVED_VIEW_TOO_LARGE');
      assert.equal(bigPut.statusCode, 413);
      assert.equal((await req('GET', '/api/v1/saved-views/abc', alice)).statusCode, 400);

      const key = await createApiKey(rt, ['admin']);
      const viaKey = await req('GET', '/api/v1/saved-views', `Bearer ${key}`);
      assert.equal(viaKey.statusCode, 403);
      assert.equal(viaKey.json().code, 'USER_TOKEN_REQUIRED');
      const anon = await rt.app.inject({ method: 'GET', url: '/api/v1/saved-views' });
      assert.equal(anon.statusCode, 401);
    });

    test('one user keeps at most 100 views: the next one is 409 SAVED_VIEW_LIMIT', async () => {
      await createTestUser(rt, 'collector', 'viewer');
      const auth = (await login(rt, 'collector')).authorization;
      const made = await Promise.all(Array.from({ length: 100 }, (_, i) => req('POST', '/api/v1/saved-views', auth, { name: `v${i}`, config: { i } })));
      assert.deepEqual([...new Set(made.map((r) => r.statusCode))], [201]);
      const over = await req('POST', '/api/v1/saved-views', auth, { name: 'one too many', config: {} });
      assert.equal(over.statusCode, 409, over.body);
      assert.equal(over.json().code, 'SAVED_VIEW_LIMIT');
      assert.equal((await req('GET', '/api/v1/saved-views', auth)).json().total, 100);
      // Replacing one is still allowed, and deleting one frees a place.
      const first = made[0]!.json();
      assert.equal((await req('PUT', `/api/v1/saved-views/${first.id}`, auth, { name: 'v0', config: { changed: true } })).statusCode, 200);
      assert.equal((await req('DELETE', `/api/v1/saved-views/${first.id}`, auth)).statusCode, 204);
      assert.equal((await req('POST', '/api/v1/saved-views', auth, { name: 'fits again', config: {} })).statusCode, 201);
      // Another user is not affected.
      assert.equal((await req('POST', '/api/v1/saved-views', bob, { name: 'bob still can', config: {} })).statusCode, 201);
    });

    test('deleting a user deletes their views (ON DELETE CASCADE)', async () => {
      const id = await createTestUser(rt, 'temp-user', 'viewer');
      const auth = (await login(rt, 'temp-user')).authorization;
      assert.equal((await req('POST', '/api/v1/saved-views', auth, { name: 'gone soon', config: {} })).statusCode, 201);
      await rt.db.query('DELETE FROM dashboard_users WHERE id = $1', [id]);
      const n = await rt.db.queryOne<{ n: number }>('SELECT count(*)::int AS n FROM saved_views WHERE user_id = $1', [id]);
      assert.equal(n?.n, 0);
    });
  });
}
