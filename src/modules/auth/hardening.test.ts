/**
 * Access-control hardening over HTTP: login limits per (username, client) with
 * a per-IP ceiling and a trusted proxy, canonical usernames, API keys bounded by
 * their creator, token versions, password rules, the forced password change,
 * canonical path ids, future `iat`, and logout without a body.
 * Runs on postgres and pglite only (auth is tier-independent).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT } from 'jose';
import type { LightMyRequestResponse } from 'fastify';
import { enabledBackends, openMigrated } from '../../../test/support/backends.ts';
import { buildTestRuntime, type TestRuntime } from '../../../test/support/app.ts';
import { createTestUser, login, TEST_USER_PASSWORD } from '../../../test/support/auth.ts';
import { loadConfig } from '../../config.ts';
import { createAuthModule } from './index.ts';
import pino from 'pino';

const backends = enabledBackends().filter((k) => k !== 'timescale');

function problem(res: LightMyRequestResponse, status: number, code: string): Record<string, unknown> {
  assert.equal(res.statusCode, status, res.body);
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
  const body = res.json() as Record<string, unknown>;
  assert.equal(body.code, code, res.body);
  return body;
}

for (const kind of backends) {
  describe(`auth hardening [${kind}]`, () => {
    let rt: TestRuntime;
    let admin: string;
    const inject = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, o: { payload?: unknown; auth?: string; ip?: string; headers?: Record<string, string> } = {}) =>
      rt.app.inject({
        method,
        url,
        headers: { ...(o.auth ? { authorization: o.auth } : {}), ...(o.headers ?? {}) },
        ...(o.payload === undefined ? {} : { payload: o.payload as object }),
        ...(o.ip ? { remoteAddress: o.ip } : {}),
      });
    const loginReq = (username: string, password: string, ip: string, headers?: Record<string, string>) =>
      inject('POST', '/api/v1/auth/login', { payload: { username, password }, ip, ...(headers ? { headers } : {}) });

    before(async () => {
      rt = await buildTestRuntime(kind);
      await createTestUser(rt, 'hardening-admin', 'admin');
      admin = (await login(rt, 'hardening-admin')).authorization;
    });
    after(async () => {
      await rt.destroy();
    });

    // ---- login limits ------------------------------------------------------

    test("ten wrong passwords from one client do not lock the account for another client", async () => {
      await createTestUser(rt, 'lock-target', 'admin');
      for (let i = 0; i < 10; i++) problem(await loginReq('lock-target', `wrong-password-${i}`, '10.20.0.1'), 401, 'INVALID_CREDENTIALS');
      // The guessing client is limited for this username …
      problem(await loginReq('lock-target', TEST_USER_PASSWORD, '10.20.0.1'), 429, 'RATE_LIMITED');
      // … the owner, from elsewhere, still logs in.
      assert.equal((await loginReq('lock-target', TEST_USER_PASSWORD, '10.20.0.2')).statusCode, 200);
    });

    test('a locked pair answers the same for an existing and an unknown username', async () => {
      await createTestUser(rt, 'pair-known', 'viewer');
      for (let i = 0; i < 10; i++) {
        problem(await loginReq('pair-known', `wrong-password-${i}`, '10.21.0.1'), 401, 'INVALID_CREDENTIALS');
        problem(await loginReq('pair-unknown', `wrong-password-${i}`, '10.21.0.1'), 401, 'INVALID_CREDENTIALS');
      }
      const a = problem(await loginReq('pair-known', TEST_USER_PASSWORD, '10.21.0.1'), 429, 'RATE_LIMITED');
      const b = problem(await loginReq('pair-unknown', TEST_USER_PASSWORD, '10.21.0.1'), 429, 'RATE_LIMITED');
      assert.deepEqual(Object.keys(a).sort(), Object.keys(b).sort());
      const shape = (d: unknown) => String(d).replace(/[0-9]+/g, 'N');
      assert.equal(shape(a.detail), shape(b.detail));
    });

    test('usernames have one canonical form: look-alikes are refused at creation and login', async () => {
      await createTestUser(rt, 'viewer2', 'viewer');
      for (let i = 0; i < 10; i++) problem(await loginReq('viewer2', `wrong-password-${i}`, '10.22.0.1'), 401, 'INVALID_CREDENTIALS');
      problem(await loginReq('viewer2', TEST_USER_PASSWORD, '10.22.0.1'), 429, 'RATE_LIMITED');
      // U+0130 (capital I with dot): lower-cases to "i" + U+0307, which is not the account viewer2.
      const lookalike = await loginReq('v\u0130ewer2', TEST_USER_PASSWORD, '10.22.0.1');
      assert.notEqual(lookalike.statusCode, 200, lookalike.body);
      // Full-width letters are the same name after NFKC: the same limit applies.
      problem(await loginReq('\uFF56iewer2', TEST_USER_PASSWORD, '10.22.0.1'), 429, 'RATE_LIMITED');
      // Letter case is not part of the name.
      const upper = await loginReq('VIEWER2', TEST_USER_PASSWORD, '10.22.0.9');
      assert.equal(upper.statusCode, 200, upper.body);
      assert.equal(upper.json().user.username, 'viewer2');
      const created = await inject('POST', '/api/v1/users', { auth: admin, payload: { username: 'v\u0130ewer3', password: 'a-long-enough-secret', role: 'viewer' } });
      const body = problem(created, 400, 'VALIDATION_FAILED');
      assert.equal((body.errors as { path: string }[])[0]?.path, 'body.username');
      const mixed = await inject('POST', '/api/v1/users', { auth: admin, payload: { username: 'Mixed.Case', password: 'a-long-enough-secret', role: 'viewer' } });
      assert.equal(mixed.statusCode, 201, mixed.body);
      assert.equal(mixed.json().username, 'mixed.case');
    });

    test('the per-IP ceiling still stops one address guessing many usernames', async () => {
      for (let i = 0; i < 50; i++) problem(await loginReq(`spray-${i}`, 'wrong-password-x', '10.23.0.1'), 401, 'INVALID_CREDENTIALS');
      problem(await loginReq('hardening-admin', TEST_USER_PASSWORD, '10.23.0.1'), 429, 'RATE_LIMITED');
      assert.equal((await loginReq('hardening-admin', TEST_USER_PASSWORD, '10.23.0.2')).statusCode, 200);
    });

    test('without a trusted proxy, X-Forwarded-For is ignored', async () => {
      for (let i = 0; i < 10; i++) {
        problem(await loginReq('xff-user', `wrong-password-${i}`, '10.24.0.1', { 'x-forwarded-for': `192.0.2.${i}` }), 401, 'INVALID_CREDENTIALS');
      }
      problem(await loginReq('xff-user', 'wrong-password-z', '10.24.0.1', { 'x-forwarded-for': '192.0.2.99' }), 429, 'RATE_LIMITED');
    });

    // ---- API keys act for their creator ------------------------------------

    test("an API key stops working while its creator is disabled and never exceeds the creator's role", async () => {
      const makerId = await createTestUser(rt, 'key-maker', 'admin');
      const maker = (await login(rt, 'key-maker')).authorization;
      const created = await inject('POST', '/api/v1/api-keys', { auth: maker, payload: { name: 'maker key', scopes: ['admin'] } });
      assert.equal(created.statusCode, 201, created.body);
      const key = `Bearer ${created.json().key}`;
      assert.equal(created.json().createdBy, makerId);
      assert.equal((await inject('GET', '/api/v1/users', { auth: key })).statusCode, 200, 'control: the key works');

      assert.equal((await inject('PATCH', `/api/v1/users/${makerId}`, { auth: admin, payload: { disabled: true, role: 'viewer' } })).statusCode, 200);
      problem(await inject('GET', '/api/v1/nodes', { auth: key }), 401, 'API_KEY_OWNER_DISABLED');
      problem(await inject('PATCH', `/api/v1/users/${makerId}`, { auth: key, payload: { disabled: false, role: 'admin' } }), 401, 'API_KEY_OWNER_DISABLED');
      const row = await rt.db.queryOne<{ role: string; disabled: boolean }>('SELECT role, disabled FROM dashboard_users WHERE id = $1', [makerId]);
      assert.deepEqual(row, { role: 'viewer', disabled: true });

      // Re-enabled as a viewer: the admin key now reads only.
      assert.equal((await inject('PATCH', `/api/v1/users/${makerId}`, { auth: admin, payload: { disabled: false } })).statusCode, 200);
      assert.equal((await inject('GET', '/api/v1/nodes', { auth: key })).statusCode, 200);
      problem(await inject('PATCH', `/api/v1/users/${makerId}`, { auth: key, payload: { role: 'admin' } }), 403, 'FORBIDDEN');
      problem(await inject('GET', '/api/v1/users', { auth: key }), 403, 'FORBIDDEN');
      problem(await inject('POST', '/api/v1/metrics', { auth: key, payload: { family: 'system', data: [] } }), 403, 'FORBIDDEN');
      // As an operator: read and ingest, still no admin.
      assert.equal((await inject('PATCH', `/api/v1/users/${makerId}`, { auth: admin, payload: { role: 'operator' } })).statusCode, 200);
      assert.notEqual((await inject('POST', '/api/v1/metrics', { auth: key, payload: { family: 'system', data: [] } })).statusCode, 403);
      problem(await inject('GET', '/api/v1/api-keys', { auth: key }), 403, 'FORBIDDEN');
    });

    test('a key created with an API key belongs to the user behind that key', async () => {
      const ownerId = await createTestUser(rt, 'key-owner', 'admin');
      const owner = (await login(rt, 'key-owner')).authorization;
      const first = (await inject('POST', '/api/v1/api-keys', { auth: owner, payload: { name: 'first', scopes: ['admin'] } })).json();
      const second = await inject('POST', '/api/v1/api-keys', { auth: `Bearer ${first.key}`, payload: { name: 'second', scopes: ['read'] } });
      assert.equal(second.statusCode, 201, second.body);
      assert.equal(second.json().createdBy, ownerId);
      assert.equal((await inject('PATCH', `/api/v1/users/${ownerId}`, { auth: admin, payload: { disabled: true } })).statusCode, 200);
      problem(await inject('GET', '/api/v1/nodes', { auth: `Bearer ${second.json().key}` }), 401, 'API_KEY_OWNER_DISABLED');
    });

    // ---- token versions ----------------------------------------------------

    test('access tokens issued before a disable, a role change or a password change stay dead', async () => {
      const id = await createTestUser(rt, 'versioned', 'operator');
      const before = await login(rt, 'versioned');
      assert.equal((await inject('GET', '/api/v1/auth/me', { auth: before.authorization })).statusCode, 200);
      await inject('PATCH', `/api/v1/users/${id}`, { auth: admin, payload: { disabled: true } });
      await inject('PATCH', `/api/v1/users/${id}`, { auth: admin, payload: { disabled: false } });
      problem(await inject('GET', '/api/v1/auth/me', { auth: before.authorization }), 401, 'TOKEN_REVOKED');

      const second = await login(rt, 'versioned');
      await inject('PATCH', `/api/v1/users/${id}`, { auth: admin, payload: { role: 'viewer' } });
      problem(await inject('GET', '/api/v1/auth/me', { auth: second.authorization }), 401, 'TOKEN_REVOKED');
      // The session itself survives a role change: a refresh gives a token with the new role.
      const refreshed = await inject('POST', '/api/v1/auth/refresh', { payload: { refreshToken: second.refreshToken } });
      assert.equal(refreshed.statusCode, 200, refreshed.body);
      assert.equal((await inject('GET', '/api/v1/auth/me', { auth: `Bearer ${refreshed.json().accessToken}` })).json().role, 'viewer');
      // An email change is not a reason to end sessions.
      const third = await login(rt, 'versioned');
      await inject('PATCH', `/api/v1/users/${id}`, { auth: admin, payload: { email: 'v@example.com' } });
      assert.equal((await inject('GET', '/api/v1/auth/me', { auth: third.authorization })).statusCode, 200);
    });

    test('a token whose iat lies in the future is refused', async () => {
      const id = await createTestUser(rt, 'future-iat', 'viewer');
      const good = await login(rt, 'future-iat');
      const claims = JSON.parse(Buffer.from(good.accessToken.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
      const now = Math.floor(Date.now() / 1000);
      const sign = (iat: number) =>
        new SignJWT({ ...claims, iat: undefined, exp: undefined, jti: undefined })
          .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
          .setIssuer('opsdeck')
          .setAudience('opsdeck-api')
          .setSubject(String(id))
          .setIssuedAt(iat)
          .setExpirationTime(iat + 600)
          .sign(new TextEncoder().encode(rt.config.jwtSecret!));
      assert.equal((await inject('GET', '/api/v1/auth/me', { auth: `Bearer ${await sign(now + 30)}` })).statusCode, 200, 'within the clock skew');
      problem(await inject('GET', '/api/v1/auth/me', { auth: `Bearer ${await sign(now + 3600)}` }), 401, 'INVALID_TOKEN');
    });

    test('logout without a body (no content type, or an empty JSON body) is accepted', async () => {
      await createTestUser(rt, 'bodyless', 'viewer');
      const s = await login(rt, 'bodyless');
      const res = await inject('POST', '/api/v1/auth/logout', { auth: s.authorization });
      assert.equal(res.statusCode, 204, res.body);
      // An empty body sent with a JSON content type is the same.
      const empty = await rt.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: { authorization: s.authorization, 'content-type': 'application/json' }, payload: '' });
      assert.equal(empty.statusCode, 204, empty.body);
    });

    // ---- password rules and the forced change --------------------------------

    test('one password rule for creation and change: length, whitespace, username, common passwords', async () => {
      const create = (username: string, password: string) => inject('POST', '/api/v1/users', { auth: admin, payload: { username, password, role: 'viewer' } });
      problem(await create('bob12', 'bob12bob12bob12'), 400, 'PASSWORD_TOO_WEAK');
      problem(await create('bob13', 'xxBOB13xx-long'), 400, 'PASSWORD_TOO_WEAK');
      problem(await create('bob14', ' '.repeat(12)), 400, 'PASSWORD_TOO_WEAK');
      problem(await create('bob15', '\t \u00a0\u2003'.repeat(4)), 400, 'PASSWORD_TOO_WEAK');
      problem(await create('bob16', 'password1234'), 400, 'PASSWORD_TOO_WEAK');
      problem(await create('bob17', 'QWERTYUIOP12'), 400, 'PASSWORD_TOO_WEAK');
      problem(await create('bob18', 'short-one'), 400, 'VALIDATION_FAILED');
      assert.equal((await create('bob19', 'correct horse battery')).statusCode, 201);

      await createTestUser(rt, 'changer2', 'viewer');
      const s = await login(rt, 'changer2');
      const change = (newPassword: string) => inject('POST', '/api/v1/auth/password', { auth: s.authorization, payload: { currentPassword: TEST_USER_PASSWORD, newPassword } });
      problem(await change(' '.repeat(14)), 400, 'PASSWORD_TOO_WEAK');
      problem(await change('iloveyou1234'), 400, 'PASSWORD_TOO_WEAK');
      problem(await change('my-CHANGER2-secret'), 400, 'PASSWORD_TOO_WEAK');
    });

    test('a user who must change the password can only change it, log out and read themselves', async () => {
      const created = await inject('POST', '/api/v1/users', { auth: admin, payload: { username: 'forced-change', password: 'initial-secret-value', role: 'operator' } });
      assert.equal(created.json().mustChangePassword, true);
      const s = await login(rt, 'forced-change', 'initial-secret-value');
      problem(await inject('GET', '/api/v1/nodes', { auth: s.authorization }), 403, 'PASSWORD_CHANGE_REQUIRED');
      problem(await inject('GET', '/api/v1/saved-views', { auth: s.authorization }), 403, 'PASSWORD_CHANGE_REQUIRED');
      problem(await inject('PATCH', `/api/v1/users/${created.json().id}`, { auth: s.authorization, payload: { email: 'x@example.com' } }), 403, 'PASSWORD_CHANGE_REQUIRED');
      assert.equal((await inject('GET', '/api/v1/auth/me', { auth: s.authorization })).statusCode, 200);
      const changed = await inject('POST', '/api/v1/auth/password', { auth: s.authorization, payload: { currentPassword: 'initial-secret-value', newPassword: 'my-own-new-secret' } });
      assert.equal(changed.statusCode, 200, changed.body);
      const fresh = `Bearer ${changed.json().accessToken}`;
      assert.equal((await inject('GET', '/api/v1/nodes', { auth: fresh })).statusCode, 200);
      assert.equal((await inject('POST', '/api/v1/auth/logout', { auth: fresh, payload: {} })).statusCode, 204);
    });

    // ---- path ids ----------------------------------------------------------

    test('path ids accept only the canonical decimal form', async () => {
      const created = (await inject('POST', '/api/v1/api-keys', { auth: admin, payload: { name: 'id-probe', scopes: ['read'] } })).json();
      const id = created.id as number;
      for (const bad of [`0x${id.toString(16)}`, `${id}e0`, `0${id}`, `+${id}`, `${id}.0`, `%20${id}`, '0', '-1', '99999999999999999999']) {
        const res = await inject('DELETE', `/api/v1/api-keys/${bad}`, { auth: admin });
        const body = problem(res, 400, 'VALIDATION_FAILED');
        assert.equal((body.errors as { path: string }[])[0]?.path, 'params.id', bad);
      }
      for (const url of ['/api/v1/saved-views/1e0', '/api/v1/saved-views/0x1']) {
        problem(await inject('GET', url, { auth: admin }), 400, 'VALIDATION_FAILED');
      }
      problem(await inject('PATCH', '/api/v1/users/1e0', { auth: admin, payload: { email: null } }), 400, 'VALIDATION_FAILED');
      const listed = (await inject('GET', '/api/v1/api-keys', { auth: admin })).json();
      assert.equal(listed.items.find((k: { id: number }) => k.id === id)?.status, 'active', 'none of the variants revoked the key');
      assert.equal((await inject('DELETE', `/api/v1/api-keys/${id}`, { auth: admin })).statusCode, 204);
    });
  });

  describe(`login limits behind a trusted proxy [${kind}]`, () => {
    let rt: TestRuntime;
    before(async () => {
      rt = await buildTestRuntime(kind, { trustProxy: ['10.9.0.1'] });
    });
    after(async () => {
      await rt.destroy();
    });

    test('failures of many clients behind the proxy do not block another client', async () => {
      await createTestUser(rt, 'proxied', 'viewer');
      const viaProxy = (username: string, password: string, client: string, proxy = '10.9.0.1') =>
        rt.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username, password }, remoteAddress: proxy, headers: { 'x-forwarded-for': client } });
      for (let i = 0; i < 60; i++) problem(await viaProxy(`someone-${i}`, 'wrong-password-x', `198.51.100.${i}`), 401, 'INVALID_CREDENTIALS');
      assert.equal((await viaProxy('proxied', TEST_USER_PASSWORD, '203.0.113.7')).statusCode, 200);
      // Each forwarded client has its own ceiling …
      for (let i = 0; i < 50; i++) await viaProxy(`spray-${i}`, 'wrong-password-x', '198.51.100.200');
      problem(await viaProxy('proxied', TEST_USER_PASSWORD, '198.51.100.200'), 429, 'RATE_LIMITED');
      // … and X-Forwarded-For from an untrusted peer is ignored.
      for (let i = 0; i < 10; i++) await viaProxy('proxied', `wrong-password-${i}`, `198.51.100.${100 + i}`, '10.9.9.9');
      problem(await viaProxy('proxied', TEST_USER_PASSWORD, '203.0.113.8', '10.9.9.9'), 429, 'RATE_LIMITED');
    });
  });

  describe(`login work and first admin [${kind}]`, () => {
    test('an unknown user, a disabled user and a wrong password each cost one password verification', async () => {
      const m = await openMigrated(kind);
      try {
        const config = loadConfig({}, { logLevel: 'silent', selfMonitor: false, jobs: false, adminPassword: 'first-root-secret-value', jwtSecret: 'x'.repeat(40) });
        const verified: string[] = [];
        const auth = await createAuthModule({
          db: m.db,
          config,
          logger: pino({ level: 'silent' }),
          options: { verifyPassword: async (hash, _password) => (verified.push(hash), false) },
        });
        await auth.seed();
        const adminHash = (await m.db.queryOne<{ h: string }>(`SELECT password_hash AS h FROM dashboard_users WHERE username = 'admin'`))!.h;
        await auth.services.users.create({ username: 'off-user', password: 'quiet-harbour-value', role: 'viewer' });
        await m.db.query(`UPDATE dashboard_users SET disabled = true WHERE username = 'off-user'`);
        const offHash = (await m.db.queryOne<{ h: string }>(`SELECT password_hash AS h FROM dashboard_users WHERE username = 'off-user'`))!.h;
        const attempt = (u: string, ip: string) => assert.rejects(auth.services.sessions.login(u, 'some-password-guess', ip), (e: { code?: string }) => e.code === 'INVALID_CREDENTIALS');
        await attempt('nobody-here', '10.1.1.1');
        await attempt('v\u0130ewer2', '10.1.1.2');
        await attempt('admin', '10.1.1.3');
        await attempt('off-user', '10.1.1.4');
        assert.equal(verified.length, 4, 'one verification per attempt');
        assert.notEqual(verified[0], adminHash);
        assert.equal(verified[0], verified[1], 'unknown users are checked against the dummy hash');
        assert.match(verified[0]!, /^\$argon2id\$/);
        assert.equal(verified[2], adminHash);
        assert.equal(verified[3], offHash);
      } finally {
        await m.close();
      }
    });

    test('the first admin password must pass the password rule', async () => {
      const m = await openMigrated(kind);
      try {
        for (const weak of ['my-admin-password', 'passwordpassword', ' '.repeat(16)]) {
          const config = loadConfig({}, { logLevel: 'silent', selfMonitor: false, jobs: false, adminPassword: weak, jwtSecret: 'x'.repeat(40) });
          const auth = await createAuthModule({ db: m.db, config, logger: pino({ level: 'silent' }) });
          await assert.rejects(auth.seed(), /OPSDECK_ADMIN_PASSWORD/);
          assert.equal(await auth.services.users.count(), 0);
        }
      } finally {
        await m.close();
      }
    });
  });
}
