/**
 * The access rule of every route, checked from the outside: each non-public
 * route in the OpenAPI document refuses a missing, expired, unsigned (alg none)
 * or wrong-audience token with 401, and a too-weak role or API-key scope with 403.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT } from 'jose';
import { buildTestRuntime, type TestRuntime } from '../support/app.ts';
import { createApiKey, loginAs } from '../support/auth.ts';
import { enabledBackends } from '../support/backends.ts';

const SECRET = new TextEncoder().encode('test-jwt-secret-0123456789abcdef0123456789');
const ROLE_RANK = { viewer: 0, operator: 1, admin: 2 } as const;

interface Route {
  method: string;
  url: string;
  role: keyof typeof ROLE_RANK;
  scope: 'read' | 'ingest' | 'admin';
}

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

let rt: TestRuntime;
let routes: Route[] = [];
const kind = enabledBackends().includes('postgres') ? 'postgres' : (enabledBackends()[0] ?? 'pglite');

before(async () => {
  rt = await buildTestRuntime(kind);
  const doc = rt.app.swagger() as { paths: Record<string, Record<string, { description?: string }>> };
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const m = /Requires a user with role ≥ (\w+) or an API key with scope `(\w+)`/.exec(op.description ?? '');
      if (!m) continue;
      routes.push({ method: method.toUpperCase(), url: path.replace(/\{[^}]+\}/g, '1'), role: m[1] as Route['role'], scope: m[2] as Route['scope'] });
    }
  }
  routes = routes.sort((a, b) => (a.url + a.method).localeCompare(b.url + b.method));
});
after(async () => {
  await rt.destroy();
});

test('there are protected routes to check', () => {
  assert.ok(routes.length >= 20, `found ${routes.length}`);
});

test('no, expired, unsigned or foreign-audience tokens: 401 problem+json on every protected route', async () => {
  const now = Math.floor(Date.now() / 1000);
  const admin = await rt.db.queryOne<{ id: number; password_changed_at: Date }>(`SELECT id, password_changed_at FROM dashboard_users WHERE username = 'admin'`);
  const claims = { role: 'admin', pwt: admin!.password_changed_at.getTime() };
  const expired = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuer('opsdeck').setAudience('opsdeck-api').setSubject(String(admin!.id)).setIssuedAt(now - 3600).setExpirationTime(now - 60).sign(SECRET);
  const foreignAud = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuer('opsdeck').setAudience('someone-else').setSubject(String(admin!.id)).setIssuedAt(now).setExpirationTime(now + 600).sign(SECRET);
  const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...claims, iss: 'opsdeck', aud: 'opsdeck-api', sub: String(admin!.id), iat: now, exp: now + 600 })}.`;
  for (const r of routes) {
    for (const [label, header] of [
      ['none', undefined],
      ['expired', `Bearer ${expired}`],
      ['alg none', `Bearer ${unsigned}`],
      ['wrong audience', `Bearer ${foreignAud}`],
    ] as const) {
      const res = await rt.app.inject({ method: r.method as 'GET', url: r.url, headers: header ? { authorization: header } : {} });
      assert.equal(res.statusCode, 401, `${r.method} ${r.url} with ${label} token`);
      assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
      assert.ok(res.json().code, `${r.method} ${r.url}: problem code`);
    }
  }
});

test('a role below the route rule, or an API key without its scope: 403', async () => {
  const viewer = await loginAs(rt, 'viewer');
  const operator = await loginAs(rt, 'operator');
  const keys = { read: `Bearer ${await createApiKey(rt, ['read'])}`, ingest: `Bearer ${await createApiKey(rt, ['ingest'])}` };
  let checked = 0;
  for (const r of routes) {
    for (const [role, header] of [
      ['viewer', viewer],
      ['operator', operator],
    ] as const) {
      if (ROLE_RANK[role] >= ROLE_RANK[r.role]) continue;
      const res = await rt.app.inject({ method: r.method as 'GET', url: r.url, headers: { authorization: header } });
      assert.equal(res.statusCode, 403, `${r.method} ${r.url} as ${role}`);
      assert.equal(res.json().code, 'FORBIDDEN');
      checked++;
    }
    for (const scope of ['read', 'ingest'] as const) {
      if (scope === r.scope) continue;
      const res = await rt.app.inject({ method: r.method as 'GET', url: r.url, headers: { authorization: keys[scope] } });
      assert.ok([403].includes(res.statusCode), `${r.method} ${r.url} with a ${scope} key: ${res.statusCode}`);
      checked++;
    }
  }
  assert.ok(checked > routes.length);
});
