/**
 * Access control over HTTP (app.inject on the real runtime and database).
 * Runs on postgres and pglite only: auth is tier-independent (the timescale
 * tier differs only in the metrics tables), so the timescale backend would test
 * the same SQL again; schema.test.ts still checks the DDL on every backend.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeJwt, decodeProtectedHeader, SignJWT } from 'jose';
import type { LightMyRequestResponse } from 'fastify';
import { enabledBackends, openMigrated } from '../../../test/support/backends.ts';
import { buildTestRuntime, TEST_ADMIN_PASSWORD, type TestRuntime } from '../../../test/support/app.ts';
import { createApiKey, createTestUser, login, loginAs, TEST_USER_PASSWORD } from '../../../test/support/auth.ts';
import { loadConfig } from '../../config.ts';
import { createAuthModule } from './index.ts';
import { loadJwtSecret } from './tokens.ts';
import pino from 'pino';

const backends = enabledBackends().filter((k) => k !== 'timescale');

function assertProblem(res: LightMyRequestResponse, status: number, code: string): Record<string, unknown> {
  assert.equal(res.statusCode, status, res.body);
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
  const body = res.json() as Record<string, unknown>;
  assert.equal(body.code, code, res.body);
  assert.equal(body.status, status);
  assert.equal(typeof body.requestId, 'string');
  assert.ok((body.requestId as string).length > 0);
  assert.equal(typeof body.detail, 'string');
  return body;
}

for (const kind of backends) {
  describe(`auth HTTP API [${kind}]`, () => {
    let rt: TestRuntime;
    let admin: string;
    const secret = () => new TextEncoder().encode(rt.config.jwtSecret!);
    const get = (url: string, authorization?: string) => rt.app.inject({ method: 'GET', url, headers: authorization ? { authorization } : {} });
    const post = (url: string, payload: unknown, authorization?: string, remoteAddress?: string) =>
      rt.app.inject({ method: 'POST', url, payload: payload as object, headers: authorization ? { authorization } : {}, ...(remoteAddress ? { remoteAddress } : {}) });
    const patch = (url: string, payload: unknown, authorization: string) => rt.app.inject({ method: 'PATCH', url, payload: payload as object, headers: { authorization } });

    before(async () => {
      rt = await buildTestRuntime(kind);
      admin = await loginAs(rt, 'admin');
    });
    after(async () => {
      await rt.destroy();
    });

    test('seed created admin once; seeding again changes nothing', async () => {
      assert.deepEqual(await rt.auth.seed(), { createdAdmin: false, generatedPassword: null });
      const res = await post('/api/v1/auth/login', { username: 'admin', password: TEST_ADMIN_PASSWORD });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().user.role, 'admin');
      assert.equal(res.json().user.mustChangePassword, false);
    });

    test('login returns a pinned-algorithm JWT with iss, aud, sub, role and exp, plus a refresh token', async () => {
      const id = await createTestUser(rt, 'Login.User', 'operator');
      const res = await post('/api/v1/auth/login', { username: 'login.user', password: TEST_USER_PASSWORD });
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json();
      assert.equal(body.tokenType, 'Bearer');
      assert.equal(body.expiresIn, rt.config.accessTokenTtlSeconds);
      assert.match(body.refreshToken, /^odr_[A-Za-z0-9_-]{43}$/);
      assert.deepEqual(Object.keys(body.user).sort(), ['createdAt', 'disabled', 'email', 'id', 'lastLoginAt', 'mustChangePassword', 'passwordChangedAt', 'role', 'telegramId', 'updatedAt', 'username']);
      assert.equal(body.user.username, 'login.user', 'stored in canonical form');
      assert.ok(body.user.lastLoginAt);
      assert.deepEqual(decodeProtectedHeader(body.accessToken), { alg: 'HS256', typ: 'JWT' });
      const claims = decodeJwt(body.accessToken);
      assert.equal(claims.iss, 'opsdeck');
      assert.equal(claims.aud, 'opsdeck-api');
      assert.equal(claims.sub, String(id));
      assert.equal(claims.role, 'operator');
      assert.equal(claims.exp! - claims.iat!, rt.config.accessTokenTtlSeconds);
      const me = await get('/api/v1/auth/me', `Bearer ${body.accessToken}`);
      assert.equal(me.statusCode, 200);
      assert.equal(me.json().id, id);
      const stored = await rt.db.queryOne<{ password_hash: string }>('SELECT password_hash FROM dashboard_users WHERE id = $1', [id]);
      assert.match(stored!.password_hash, /^\$argon2id\$v=19\$m=19456,p=1,t=2\$/);
    });

    test('unknown user, wrong password and disabled user get the same 401 problem', async () => {
      const disabledId = await createTestUser(rt, 'disabled-login', 'viewer');
      await rt.db.query('UPDATE dashboard_users SET disabled = true WHERE id = $1', [disabledId]);
      await createTestUser(rt, 'wrong-pw', 'viewer');
      const answers = [
        await post('/api/v1/auth/login', { username: 'no-such-user', password: 'whatever-password' }, undefined, '10.1.0.1'),
        await post('/api/v1/auth/login', { username: 'wrong-pw', password: 'not-the-password' }, undefined, '10.1.0.1'),
        await post('/api/v1/auth/login', { username: 'disabled-login', password: TEST_USER_PASSWORD }, undefined, '10.1.0.1'),
      ];
      const shapes = answers.map((res) => {
        const b = assertProblem(res, 401, 'INVALID_CREDENTIALS');
        return { keys: Object.keys(b).sort(), detail: b.detail, title: b.title, type: b.type };
      });
      assert.deepEqual(shapes[0], shapes[1]);
      assert.deepEqual(shapes[1], shapes[2]);
    });

    // That an unknown user costs the same password work (a verification against the dummy hash) is
    // tested structurally in hardening.test.ts with a counting verifier; speed belongs to the bench.

    test('failed logins are rate-limited per (username, client) pair (429 + Retry-After), before any password check', async () => {
      await createTestUser(rt, 'limited-user', 'viewer');
      for (let i = 0; i < 10; i++) {
        const res = await post('/api/v1/auth/login', { username: 'limited-user', password: `wrong-${i}-password` }, undefined, '10.2.0.1');
        assertProblem(res, 401, 'INVALID_CREDENTIALS');
      }
      // Even the right password is refused now from this client, in any letter case.
      const res = await post('/api/v1/auth/login', { username: 'LIMITED-USER', password: TEST_USER_PASSWORD }, undefined, '10.2.0.1');
      const body = assertProblem(res, 429, 'RATE_LIMITED');
      const retry = Number(res.headers['retry-after']);
      assert.ok(Number.isInteger(retry) && retry > 0 && retry <= 15 * 60, `retry-after ${res.headers['retry-after']}`);
      assert.equal(body.retryAfterSeconds, retry);
      // Another user from the same client, and the same user from another client, are unaffected.
      assert.equal((await post('/api/v1/auth/login', { username: 'test-admin', password: TEST_USER_PASSWORD }, undefined, '10.2.0.1')).statusCode, 200);
      assert.equal((await post('/api/v1/auth/login', { username: 'limited-user', password: TEST_USER_PASSWORD }, undefined, '10.2.1.1')).statusCode, 200);
    });

    test('failed logins are rate-limited per client IP over all usernames', async () => {
      const ip = '10.3.0.1';
      for (let i = 0; i < 50; i++) {
        assertProblem(await post('/api/v1/auth/login', { username: `ip-user-${i}`, password: 'wrong-password-x' }, undefined, ip), 401, 'INVALID_CREDENTIALS');
      }
      const blocked = await post('/api/v1/auth/login', { username: 'test-admin', password: TEST_USER_PASSWORD }, undefined, ip);
      assertProblem(blocked, 429, 'RATE_LIMITED');
      assert.ok(Number(blocked.headers['retry-after']) > 0);
      assert.equal((await post('/api/v1/auth/login', { username: 'test-admin', password: TEST_USER_PASSWORD }, undefined, '10.3.0.2')).statusCode, 200);
    });

    test('refresh rotates the token; replaying a used one revokes the whole session', async () => {
      await createTestUser(rt, 'refresher', 'viewer');
      const first = await login(rt, 'refresher');
      const r1 = await post('/api/v1/auth/refresh', { refreshToken: first.refreshToken });
      assert.equal(r1.statusCode, 200, r1.body);
      const second = r1.json();
      assert.notEqual(second.refreshToken, first.refreshToken);
      assert.equal((await get('/api/v1/auth/me', `Bearer ${second.accessToken}`)).statusCode, 200);
      // Replay of the rotated token → reuse detected, family revoked.
      assertProblem(await post('/api/v1/auth/refresh', { refreshToken: first.refreshToken }), 401, 'REFRESH_TOKEN_REUSED');
      assertProblem(await post('/api/v1/auth/refresh', { refreshToken: second.refreshToken }), 401, 'INVALID_REFRESH_TOKEN');
      // Other sessions of the same user are untouched.
      const other = await login(rt, 'refresher');
      assert.equal((await post('/api/v1/auth/refresh', { refreshToken: other.refreshToken })).statusCode, 200);
      assertProblem(await post('/api/v1/auth/refresh', { refreshToken: 'odr_not-a-token' }), 401, 'INVALID_REFRESH_TOKEN');
    });

    test('an expired refresh token is refused', async () => {
      await createTestUser(rt, 'refresh-expiry', 'viewer');
      const s = await login(rt, 'refresh-expiry');
      await rt.db.query(`UPDATE refresh_tokens SET expires_at = now() - interval '1 second' WHERE user_id = $1`, [s.user.id]);
      assertProblem(await post('/api/v1/auth/refresh', { refreshToken: s.refreshToken }), 401, 'INVALID_REFRESH_TOKEN');
    });

    test('logout revokes the refresh token; allSessions revokes every session', async () => {
      await createTestUser(rt, 'leaver', 'viewer');
      const a = await login(rt, 'leaver');
      const b = await login(rt, 'leaver');
      assertProblem(await post('/api/v1/auth/logout', { refreshToken: a.refreshToken }), 401, 'UNAUTHENTICATED');
      const out = await post('/api/v1/auth/logout', { refreshToken: a.refreshToken }, a.authorization);
      assert.equal(out.statusCode, 204);
      assert.equal(out.body, '');
      assertProblem(await post('/api/v1/auth/refresh', { refreshToken: a.refreshToken }), 401, 'INVALID_REFRESH_TOKEN');
      const c = await login(rt, 'leaver');
      assert.equal((await post('/api/v1/auth/logout', { allSessions: true }, c.authorization)).statusCode, 204);
      assertProblem(await post('/api/v1/auth/refresh', { refreshToken: b.refreshToken }), 401, 'INVALID_REFRESH_TOKEN');
      assertProblem(await post('/api/v1/auth/refresh', { refreshToken: c.refreshToken }), 401, 'INVALID_REFRESH_TOKEN');
      // Someone else's refresh token is not touched by my logout.
      await createTestUser(rt, 'bystander', 'viewer');
      const other = await login(rt, 'bystander');
      assert.equal((await post('/api/v1/auth/logout', { refreshToken: other.refreshToken }, (await login(rt, 'leaver')).authorization)).statusCode, 204);
      assert.equal((await post('/api/v1/auth/refresh', { refreshToken: other.refreshToken })).statusCode, 200);
    });

    test('password change: checks the current one, enforces 12 chars, ends other sessions, clears must_change_password', async () => {
      const id = await createTestUser(rt, 'changer', 'viewer');
      await rt.db.query('UPDATE dashboard_users SET must_change_password = true WHERE id = $1', [id]);
      const s = await login(rt, 'changer');
      assert.equal(s.user.role, 'viewer');
      assertProblem(await post('/api/v1/auth/password', { currentPassword: 'wrong-password!', newPassword: 'a-brand-new-password' }, s.authorization), 403, 'INVALID_CURRENT_PASSWORD');
      const short = assertProblem(await post('/api/v1/auth/password', { currentPassword: TEST_USER_PASSWORD, newPassword: 'short' }, s.authorization), 400, 'VALIDATION_FAILED');
      assert.equal((short.errors as { path: string }[])[0]?.path, 'body.newPassword');
      assertProblem(await post('/api/v1/auth/password', { currentPassword: TEST_USER_PASSWORD, newPassword: TEST_USER_PASSWORD }, s.authorization), 400, 'PASSWORD_UNCHANGED');
      const ok = await post('/api/v1/auth/password', { currentPassword: TEST_USER_PASSWORD, newPassword: 'a-brand-new-password' }, s.authorization);
      assert.equal(ok.statusCode, 200, ok.body);
      assert.equal(ok.json().user.mustChangePassword, false);
      // The old access token and refresh token are dead; the new ones work.
      assertProblem(await get('/api/v1/auth/me', s.authorization), 401, 'TOKEN_REVOKED');
      assertProblem(await post('/api/v1/auth/refresh', { refreshToken: s.refreshToken }), 401, 'INVALID_REFRESH_TOKEN');
      assert.equal((await get('/api/v1/auth/me', `Bearer ${ok.json().accessToken}`)).statusCode, 200);
      assert.equal((await post('/api/v1/auth/refresh', { refreshToken: ok.json().refreshToken })).statusCode, 200);
      assertProblem(await post('/api/v1/auth/login', { username: 'changer', password: TEST_USER_PASSWORD }, undefined, '10.4.0.1'), 401, 'INVALID_CREDENTIALS');
      assert.equal((await login(rt, 'changer', 'a-brand-new-password')).user.id, id);
    });

    test('bad access tokens get 401: missing, malformed, expired, alg none, wrong audience/issuer, tampered, other algorithm', async () => {
      const id = await createTestUser(rt, 'token-target', 'admin');
      const tv = (await rt.db.queryOne<{ v: number }>('SELECT token_version AS v FROM dashboard_users WHERE id = $1', [id]))!.v;
      const now = Math.floor(Date.now() / 1000);
      const make = (o: { iss?: string; aud?: string; exp?: number; alg?: string; sub?: string } = {}) =>
        new SignJWT({ role: 'admin', tv })
          .setProtectedHeader({ alg: o.alg ?? 'HS256' })
          .setIssuer(o.iss ?? 'opsdeck')
          .setAudience(o.aud ?? 'opsdeck-api')
          .setSubject(o.sub ?? String(id))
          .setIssuedAt(now - 60)
          .setExpirationTime(o.exp ?? now + 600)
          .sign(secret());
      const good = await make();
      assert.equal((await get('/api/v1/users', `Bearer ${good}`)).statusCode, 200, 'control: a well-formed token works');

      const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
      const payload = decodeJwt(good);
      const algNone = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(payload)}.`;
      const [h, p, sig] = good.split('.') as [string, string, string];
      const tamperedSig = `${h}.${p}.${sig.slice(0, -2)}${sig.endsWith('AA') ? 'BB' : 'AA'}`;
      const tamperedPayload = `${h}.${b64({ ...payload, role: 'admin', sub: '1' })}.${sig}`;

      assertProblem(await get('/api/v1/users'), 401, 'UNAUTHENTICATED');
      assert.match(String((await get('/api/v1/users')).headers['www-authenticate']), /^Bearer/);
      assertProblem(await get('/api/v1/users', 'Basic YWRtaW46YWRtaW4='), 401, 'INVALID_AUTHORIZATION');
      assertProblem(await get('/api/v1/users', 'Bearer not.a.jwt'), 401, 'INVALID_TOKEN');
      assertProblem(await get('/api/v1/users', `Bearer ${await make({ exp: now - 30 })}`), 401, 'TOKEN_EXPIRED');
      assertProblem(await get('/api/v1/users', `Bearer ${algNone}`), 401, 'INVALID_TOKEN');
      assertProblem(await get('/api/v1/users', `Bearer ${await make({ aud: 'someone-else' })}`), 401, 'INVALID_TOKEN');
      assertProblem(await get('/api/v1/users', `Bearer ${await make({ iss: 'evil' })}`), 401, 'INVALID_TOKEN');
      assertProblem(await get('/api/v1/users', `Bearer ${tamperedSig}`), 401, 'INVALID_TOKEN');
      assertProblem(await get('/api/v1/users', `Bearer ${tamperedPayload}`), 401, 'INVALID_TOKEN');
      assertProblem(await get('/api/v1/users', `Bearer ${await make({ alg: 'HS512' })}`), 401, 'INVALID_TOKEN');
      assertProblem(await get('/api/v1/users', `Bearer ${await make({ sub: '999999' })}`), 401, 'INVALID_TOKEN');
      const other = new SignJWT({ role: 'admin', tv }).setProtectedHeader({ alg: 'HS256' }).setIssuer('opsdeck').setAudience('opsdeck-api').setSubject(String(id)).setIssuedAt().setExpirationTime('5m');
      assertProblem(await get('/api/v1/users', `Bearer ${await other.sign(new TextEncoder().encode('another-secret-of-at-least-32-chars!!'))}`), 401, 'INVALID_TOKEN');
    });

    test('roles: a viewer gets 403 on admin and operator routes', async () => {
      const viewer = await loginAs(rt, 'viewer');
      assert.equal((await get('/api/v1/nodes', viewer)).statusCode, 200);
      assertProblem(await get('/api/v1/users', viewer), 403, 'FORBIDDEN');
      assertProblem(await post('/api/v1/api-keys', { name: 'x', scopes: ['read'] }, viewer), 403, 'FORBIDDEN');
      assertProblem(await rt.app.inject({ method: 'PUT', url: '/api/v1/nodes/n1', payload: { role: 'x' }, headers: { authorization: viewer } }), 403, 'FORBIDDEN');
    });

    test('users cannot raise their own role; non-admins may only edit their own email', async () => {
      const operator = await loginAs(rt, 'operator');
      const me = (await get('/api/v1/auth/me', operator)).json();
      assertProblem(await patch(`/api/v1/users/${me.id}`, { role: 'admin' }, operator), 403, 'CANNOT_RAISE_OWN_ROLE');
      assertProblem(await patch(`/api/v1/users/${me.id}`, { disabled: true }, operator), 403, 'FORBIDDEN');
      const viewerId = await createTestUser(rt, 'test-viewer', 'viewer');
      assertProblem(await patch(`/api/v1/users/${viewerId}`, { email: 'x@example.com' }, operator), 403, 'FORBIDDEN');
      const ok = await patch(`/api/v1/users/${me.id}`, { email: 'op@example.com' }, operator);
      assert.equal(ok.statusCode, 200, ok.body);
      assert.equal(ok.json().email, 'op@example.com');
      assert.equal(ok.json().role, 'operator');
      assert.equal((await get('/api/v1/auth/me', operator)).json().role, 'operator');
    });

    test('admin user management: create, list (paged), duplicate names, change role, disable; last admin protected', async () => {
      const created = await post('/api/v1/users', { username: 'NewPerson', password: 'new-person-password', role: 'viewer', email: 'np@example.com' }, admin);
      assert.equal(created.statusCode, 201, created.body);
      assert.equal(created.json().mustChangePassword, true);
      assert.equal(created.json().email, 'np@example.com');
      const id = created.json().id as number;
      assertProblem(await post('/api/v1/users', { username: 'newperson', password: 'new-person-password', role: 'viewer' }, admin), 409, 'USERNAME_TAKEN');
      assertProblem(await post('/api/v1/users', { username: 'x y', password: 'short', role: 'root' }, admin), 400, 'VALIDATION_FAILED');

      const list = await get('/api/v1/users?page=1&pageSize=2', admin);
      assert.equal(list.statusCode, 200);
      const page = list.json();
      assert.deepEqual(Object.keys(page).sort(), ['items', 'page', 'pageSize', 'total', 'totalPages']);
      assert.equal(page.items.length, 2);
      assert.equal(page.totalPages, Math.ceil(page.total / 2));
      assert.ok(!JSON.stringify(page).includes('argon2'), 'no password hashes in lists');
      const viewers = (await get('/api/v1/users?role=viewer&pageSize=500', admin)).json();
      assert.ok(viewers.items.every((u: { role: string }) => u.role === 'viewer'));

      const np = await login(rt, 'NewPerson', 'new-person-password');
      const promoted = await patch(`/api/v1/users/${id}`, { role: 'operator' }, admin);
      assert.equal(promoted.json().role, 'operator');
      // A role change ends the access tokens issued before it; the session refreshes into the new role.
      assertProblem(await get('/api/v1/auth/me', np.authorization), 401, 'TOKEN_REVOKED');
      const np2 = (await post('/api/v1/auth/refresh', { refreshToken: np.refreshToken })).json();
      assert.equal((await get('/api/v1/auth/me', `Bearer ${np2.accessToken}`)).json().role, 'operator');
      // Disabling ends the user's sessions at once.
      assert.equal((await patch(`/api/v1/users/${id}`, { disabled: true }, admin)).json().disabled, true);
      assertProblem(await get('/api/v1/auth/me', `Bearer ${np2.accessToken}`), 401, 'INVALID_TOKEN');
      assertProblem(await post('/api/v1/auth/refresh', { refreshToken: np2.refreshToken }), 401, 'INVALID_REFRESH_TOKEN');
      assertProblem(await post('/api/v1/auth/login', { username: 'NewPerson', password: 'new-person-password' }, undefined, '10.5.0.1'), 401, 'INVALID_CREDENTIALS');
      assertProblem(await patch('/api/v1/users/999999', { role: 'viewer' }, admin), 404, 'USER_NOT_FOUND');

      // The last active admin cannot be demoted or disabled.
      await rt.db.query(`UPDATE dashboard_users SET role = 'operator' WHERE role = 'admin' AND username NOT IN ('admin', 'test-admin')`);
      const adminId = (await rt.db.queryOne<{ id: number }>(`SELECT id FROM dashboard_users WHERE username = 'admin'`))!.id;
      const testAdminId = (await rt.db.queryOne<{ id: number }>(`SELECT id FROM dashboard_users WHERE username = 'test-admin'`))!.id;
      assert.equal((await patch(`/api/v1/users/${adminId}`, { role: 'viewer' }, admin)).statusCode, 200, 'another admin remains');
      assertProblem(await patch(`/api/v1/users/${testAdminId}`, { role: 'operator' }, admin), 409, 'LAST_ADMIN');
      assertProblem(await patch(`/api/v1/users/${testAdminId}`, { disabled: true }, admin), 409, 'LAST_ADMIN');
      assert.equal((await patch(`/api/v1/users/${adminId}`, { role: 'admin' }, admin)).statusCode, 200);
    });

    test('API keys: shown once, used as Bearer, scopes enforced, revocation and expiry → 401, last_used_at recorded', async () => {
      const created = await post('/api/v1/api-keys', { name: 'reader', scopes: ['read'] }, admin);
      assert.equal(created.statusCode, 201, created.body);
      const { key, prefix, id, status } = created.json();
      assert.match(key, /^odk_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
      assert.ok(key.startsWith(`odk_${prefix}_`));
      assert.equal(status, 'active');
      const listed = (await get('/api/v1/api-keys', admin)).json();
      const row = listed.items.find((k: { id: number }) => k.id === id);
      assert.ok(row && row.lastUsedAt === null);
      assert.ok(!JSON.stringify(listed).includes(key.slice(-43)), 'the secret is never listed');
      assert.equal(row.key, undefined);

      const read = `Bearer ${key}`;
      assert.equal((await get('/api/v1/nodes', read)).statusCode, 200);
      const used = (await get('/api/v1/api-keys', admin)).json().items.find((k: { id: number }) => k.id === id);
      assert.ok(used.lastUsedAt, 'last_used_at recorded');
      assertProblem(await get('/api/v1/users', read), 403, 'FORBIDDEN');
      assertProblem(await get('/api/v1/auth/me', read), 403, 'USER_TOKEN_REQUIRED');

      const ingest = `Bearer ${await createApiKey(rt, ['ingest'])}`;
      assertProblem(await get('/api/v1/nodes', ingest), 403, 'FORBIDDEN');
      const adminKey = `Bearer ${await createApiKey(rt, ['admin'])}`;
      assert.equal((await get('/api/v1/nodes', adminKey)).statusCode, 200, 'scope admin implies read');

      assertProblem(await get('/api/v1/nodes', `Bearer ${key.slice(0, -4)}AAAA`), 401, 'INVALID_API_KEY');
      assertProblem(await get('/api/v1/nodes', 'Bearer odk_zzzzzzzzzzzz_nope'), 401, 'INVALID_API_KEY');

      assert.equal((await rt.app.inject({ method: 'DELETE', url: `/api/v1/api-keys/${id}`, headers: { authorization: admin } })).statusCode, 204);
      assertProblem(await get('/api/v1/nodes', read), 401, 'API_KEY_REVOKED');
      assertProblem(await rt.app.inject({ method: 'DELETE', url: '/api/v1/api-keys/999999', headers: { authorization: admin } }), 404, 'API_KEY_NOT_FOUND');
      assert.equal((await get('/api/v1/api-keys', admin)).json().items.some((k: { id: number }) => k.id === id), false, 'revoked keys hidden by default');
      assert.equal((await get('/api/v1/api-keys?includeInactive=true', admin)).json().items.find((k: { id: number }) => k.id === id).status, 'revoked');

      // expiry is checked on every request, also while the key row is cached
      const expiring = await createApiKey(rt, ['read'], { expiresAt: new Date(Date.now() + 1_500) });
      assert.equal((await get('/api/v1/nodes', `Bearer ${expiring}`)).statusCode, 200);
      await new Promise((r) => setTimeout(r, 1_600));
      assertProblem(await get('/api/v1/nodes', `Bearer ${expiring}`), 401, 'API_KEY_EXPIRED');

      assertProblem(await post('/api/v1/api-keys', { name: 'past', scopes: ['read'], expiresAt: '2000-01-01T00:00:00Z' }, admin), 400, 'VALIDATION_FAILED');
      assertProblem(await post('/api/v1/api-keys', { name: 'bad', scopes: ['root'] }, admin), 400, 'VALIDATION_FAILED');
      assertProblem(await post('/api/v1/api-keys', { name: 'none', scopes: [] }, admin), 400, 'VALIDATION_FAILED');
      assertProblem(await post('/api/v1/api-keys', { name: 'x', scopes: ['read'] }, `Bearer ${await createApiKey(rt, ['read', 'ingest'])}`), 403, 'FORBIDDEN');
    });

    test('the JWT secret is generated once and kept in opsdeck_settings when not configured', async () => {
      const a = await loadJwtSecret(rt.db, undefined);
      const b = await loadJwtSecret(rt.db, undefined);
      assert.equal(a, b);
      assert.equal(Buffer.from(a, 'base64url').length, 48);
      const row = await rt.db.queryOne<{ value: string }>(`SELECT value FROM opsdeck_settings WHERE key = 'jwt_secret'`);
      assert.equal(row?.value, a);
      assert.equal(await loadJwtSecret(rt.db, 'configured-secret-configured-secret'), 'configured-secret-configured-secret');
    });

    test('every auth route is in the OpenAPI document with tags, summary and schemas', async () => {
      const doc = (await get('/openapi.json')).json() as { paths: Record<string, Record<string, { tags?: string[]; summary?: string; responses?: object }>> };
      const expected = [
        ['post', '/api/v1/auth/login'],
        ['post', '/api/v1/auth/refresh'],
        ['post', '/api/v1/auth/logout'],
        ['post', '/api/v1/auth/password'],
        ['get', '/api/v1/auth/me'],
        ['get', '/api/v1/users'],
        ['post', '/api/v1/users'],
        ['patch', '/api/v1/users/{id}'],
        ['get', '/api/v1/api-keys'],
        ['post', '/api/v1/api-keys'],
        ['delete', '/api/v1/api-keys/{id}'],
        ['get', '/api/v1/saved-views'],
        ['post', '/api/v1/saved-views'],
        ['get', '/api/v1/saved-views/{id}'],
        ['put', '/api/v1/saved-views/{id}'],
        ['delete', '/api/v1/saved-views/{id}'],
      ] as const;
      for (const [method, path] of expected) {
        const op = doc.paths[path]?.[method];
        assert.ok(op, `${method.toUpperCase()} ${path} documented`);
        assert.ok(op.tags?.length && op.summary, `${method.toUpperCase()} ${path} has tags and summary`);
        assert.ok(op.responses && Object.keys(op.responses).length > 1);
      }
    });
  });

  describe(`first-run seed [${kind}]`, () => {
    test('without OPSDECK_ADMIN_PASSWORD: a random password, returned once, must be changed', async () => {
      const m = await openMigrated(kind);
      try {
        const config = loadConfig({}, { logLevel: 'silent', selfMonitor: false, jobs: false, adminPassword: undefined, jwtSecret: undefined });
        const auth = await createAuthModule({ db: m.db, config, logger: pino({ level: 'silent' }) });
        const first = await auth.seed();
        assert.equal(first.createdAdmin, true);
        assert.match(first.generatedPassword ?? '', /^[A-Za-z0-9]{20}$/);
        assert.deepEqual(await auth.seed(), { createdAdmin: false, generatedPassword: null });
        const row = await m.db.queryOne<{ role: string; must_change_password: boolean }>(`SELECT role, must_change_password FROM dashboard_users WHERE username = 'admin'`);
        assert.deepEqual(row, { role: 'admin', must_change_password: true });
        const session = await auth.services.sessions.login('admin', first.generatedPassword!, '127.0.0.1');
        assert.equal(session.user.mustChangePassword, true);
        // The generated JWT secret was stored, and a second module on the same database verifies its tokens.
        const again = await createAuthModule({ db: m.db, config, logger: pino({ level: 'silent' }) });
        const p = await again.authenticator.authenticate(`Bearer ${session.accessToken}`);
        assert.equal(p?.kind, 'user');
      } finally {
        await m.close();
      }
    });
  });
}
