/**
 * The access rule of every route, written down here by hand and checked from
 * the outside — never read back from the app's OpenAPI document or its
 * `config.access` declarations, so lowering a route's rule in the code makes
 * this test fail. The table must list exactly the routes the app has: a new
 * route without an entry fails, and so does an entry for a route that is gone.
 *
 * For every protected route: no, expired, unsigned (alg none) or
 * wrong-audience tokens → 401; each user role below the rule → 403 FORBIDDEN
 * and each role at or above it passes the access check; an API key without
 * the scope → 403 FORBIDDEN and one with it (or with `admin`) passes. Public
 * routes answer without credentials.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT } from 'jose';
import { buildTestRuntime, type TestRuntime } from '../support/app.ts';
import { createApiKey, loginAs } from '../support/auth.ts';
import { enabledBackends } from '../support/backends.ts';

const SECRET = new TextEncoder().encode('test-jwt-secret-0123456789abcdef0123456789');
const ROLES = ['viewer', 'operator', 'admin'] as const;
type Role = (typeof ROLES)[number];
type Scope = 'read' | 'ingest' | 'admin';
type Rule = 'public' | { role: Role; scope: Scope };

const PUBLIC = 'public' as const;
const READ = { role: 'viewer', scope: 'read' } as const;
const ADMIN = { role: 'admin', scope: 'admin' } as const;
/** Changing alerting (rules, silences, maintenance, acknowledging): operators; API keys need the admin scope. */
const OPERATOR = { role: 'operator', scope: 'admin' } as const;
const INGEST = { role: 'operator', scope: 'ingest' } as const;

/** method + route (Fastify syntax) → the rule Opsdeck promises for it. */
const EXPECTED: Record<string, Rule> = {
  'GET /health': PUBLIC,
  'GET /ready': PUBLIC,
  'GET /openapi.json': PUBLIC,
  'GET /docs': PUBLIC,
  'GET /docs/*': PUBLIC,
  'GET /docs/json': PUBLIC,
  'GET /docs/yaml': PUBLIC,
  'GET /docs/static/index.html': PUBLIC,
  'GET /docs/static/swagger-initializer.js': PUBLIC,
  // The web dashboard: its index.html and hashed assets hold no data (the API calls they make carry the user's token).
  'GET /': PUBLIC,
  'GET /assets/:name': PUBLIC,
  'POST /api/v1/auth/login': PUBLIC,
  'POST /api/v1/auth/refresh': PUBLIC,
  // The heartbeat token in the path is the credential.
  'POST /api/v1/heartbeat/:token': PUBLIC,

  'GET /metrics': READ,
  'GET /api/v1/system/jobs': READ,
  'GET /api/v1/system/database': READ,
  'GET /api/v1/metrics': READ,
  'GET /api/v1/metrics/:family': READ,
  'POST /api/v1/metrics': { role: 'operator', scope: 'ingest' },
  'POST /api/v1/events/email': { role: 'operator', scope: 'ingest' },
  'GET /api/v1/events/email': READ,
  'GET /api/v1/events/email/stats': READ,
  'POST /api/v1/events/ingest': { role: 'operator', scope: 'ingest' },
  'GET /api/v1/email/stats': READ,
  'GET /api/v1/email/breakdown': READ,
  'GET /api/v1/email/bounce-analysis': READ,
  'GET /api/v1/email/trace/:messageId': READ,
  'GET /api/v1/destinations': READ,
  'GET /api/v1/destinations/mx-hosts': READ,
  'GET /api/v1/destinations/:domain': READ,
  'POST /api/v1/events/mongodb': { role: 'operator', scope: 'ingest' },
  'GET /api/v1/events/mongodb': READ,
  'GET /api/v1/events/mongodb/stats': READ,
  'POST /api/v1/events/containers': INGEST,
  'GET /api/v1/events/containers': READ,
  'GET /api/v1/events/containers/stats': READ,
  'POST /api/v1/events/drives': INGEST,
  'GET /api/v1/events/drives': READ,
  'GET /api/v1/events/drives/stats': READ,
  'GET /api/v1/events/collection_audit': READ,
  'GET /api/v1/events/device_io': READ,
  'GET /api/v1/events/device_io/stats': READ,
  'GET /api/v1/events/dnsbl': READ,
  // Sending IPs, warm-up plans and DNSBL zones: reading for viewers; changes are operators' (API keys: admin scope).
  'GET /api/v1/ips': READ,
  'POST /api/v1/ips': OPERATOR,
  'POST /api/v1/ips/range': OPERATOR,
  'POST /api/v1/ips/bulk-action': OPERATOR,
  'GET /api/v1/ips/warmup': READ,
  'GET /api/v1/ips/:ip': READ,
  'PATCH /api/v1/ips/:ip': OPERATOR,
  'DELETE /api/v1/ips/:ip': OPERATOR,
  'GET /api/v1/ips/:ip/warmup': READ,
  'PUT /api/v1/ips/:ip/warmup': OPERATOR,
  'GET /api/v1/ip-pools': READ,
  'POST /api/v1/ip-pools': OPERATOR,
  'GET /api/v1/ip-pools/:name': READ,
  'PUT /api/v1/ip-pools/:name': OPERATOR,
  'DELETE /api/v1/ip-pools/:name': OPERATOR,
  'POST /api/v1/ip-pools/assign': OPERATOR,
  'GET /api/v1/ip-pools/zonemta': READ,
  'GET /api/v1/ips/:ip/reputation': READ,
  'POST /api/v1/ips/:ip/check': OPERATOR,
  'GET /api/v1/warmup-plans': READ,
  'POST /api/v1/warmup-plans': OPERATOR,
  'GET /api/v1/warmup-plans/:id': READ,
  'PUT /api/v1/warmup-plans/:id': OPERATOR,
  'GET /api/v1/dnsbl/zones': READ,
  'POST /api/v1/dnsbl/zones': OPERATOR,
  'PUT /api/v1/dnsbl/zones/:zone': OPERATOR,
  'DELETE /api/v1/dnsbl/zones/:zone': OPERATOR,
  'GET /api/v1/dnsbl/tiers': READ,
  'PUT /api/v1/dnsbl/tiers/:tier': OPERATOR,
  'POST /api/v1/metrics/:family': { role: 'operator', scope: 'ingest' },
  'POST /api/v1/nodes': { role: 'operator', scope: 'ingest' },
  'GET /api/v1/nodes/:id/processes': READ,
  'GET /api/v1/nodes': READ,
  'GET /api/v1/nodes/:id': READ,
  'PUT /api/v1/nodes/:id': { role: 'operator', scope: 'admin' },
  // Configuration tracking: history, diffs and change events are read by viewers; marking a change processed is an operator's.
  'GET /api/v1/devices/:id/configs': READ,
  'GET /api/v1/devices/:id/configs/snapshots': READ,
  'GET /api/v1/devices/:id/configs/snapshots/:snapshotId': READ,
  'GET /api/v1/devices/:id/configs/diff': READ,
  'GET /api/v1/config-changes': READ,
  'GET /api/v1/config-changes/frequency': READ,
  'GET /api/v1/config-changes/:id': READ,
  'PUT /api/v1/config-changes/:id/processed': OPERATOR,
  'GET /api/v1/cluster/status': READ,
  'GET /api/v1/mongodb/cluster-status': READ,
  'POST /api/v1/devices': ADMIN,
  'GET /api/v1/devices': READ,
  'GET /api/v1/devices/:id': READ,
  'PATCH /api/v1/devices/:id': ADMIN,
  'DELETE /api/v1/devices/:id': ADMIN,
  'POST /api/v1/devices/:id/host-key/accept': ADMIN,
  'POST /api/v1/devices/:id/collect': OPERATOR,
  'PUT /api/v1/devices/:id/schedules': OPERATOR,
  'GET /api/v1/devices/:id/schedules': READ,
  'POST /api/v1/devices/:id/push': INGEST,
  'GET /api/v1/devices/:id/containers': READ,
  'GET /api/v1/devices/:id/io': READ,
  'GET /api/v1/devices/:id/containers/history': READ,
  'GET /api/v1/devices/:id/drives': READ,
  'GET /api/v1/devices/:id/drives/history': READ,
  'GET /api/v1/collection/audit': READ,
  'GET /api/v1/collection/performance': READ,
  'GET /api/v1/collection/analysis/collection-performance': READ,
  'GET /api/v1/collection/analysis/service-metrics': READ,
  'GET /api/v1/cache': READ,
  'POST /api/v1/cache/invalidate': OPERATOR,
  'GET /api/v1/monitors': READ,
  'GET /api/v1/monitors/:id': READ,
  'GET /api/v1/monitors/:id/checks': READ,
  'GET /api/v1/monitors/:id/uptime': READ,
  'GET /api/v1/health/overview': READ,
  // Changing what Opsdeck probes, and probing now, is configuration: operator, or an API key with the admin scope.
  'POST /api/v1/monitors': { role: 'operator', scope: 'admin' },
  'PUT /api/v1/monitors/:id': { role: 'operator', scope: 'admin' },
  'DELETE /api/v1/monitors/:id': { role: 'operator', scope: 'admin' },
  'POST /api/v1/monitors/:id/heartbeat-token': { role: 'operator', scope: 'admin' },
  'POST /api/v1/monitors/:id/check-now': { role: 'operator', scope: 'admin' },
  'GET /api/v1/domains': READ,
  'GET /api/v1/domains/:domain': READ,
  'GET /api/v1/domains/:domain/history': READ,
  'GET /api/v1/domains/:domain/reputation': READ,
  // Changing the list of sending domains, and checking one now, is configuration like monitors.
  'POST /api/v1/domains': { role: 'operator', scope: 'admin' },
  'PATCH /api/v1/domains/:domain': { role: 'operator', scope: 'admin' },
  'DELETE /api/v1/domains/:domain': { role: 'operator', scope: 'admin' },
  'POST /api/v1/domains/:domain/check': { role: 'operator', scope: 'admin' },

  'POST /api/v1/auth/logout': READ,
  'POST /api/v1/auth/password': READ,
  'GET /api/v1/auth/me': READ,
  'GET /api/v1/saved-views': READ,
  'POST /api/v1/saved-views': READ,
  'GET /api/v1/saved-views/:id': READ,
  'PUT /api/v1/saved-views/:id': READ,
  'DELETE /api/v1/saved-views/:id': READ,

  'GET /api/v1/users': ADMIN,
  'POST /api/v1/users': ADMIN,
  // Every user may reach it for their own email; who may change what is the service's rule.
  'PATCH /api/v1/users/:id': { role: 'viewer', scope: 'admin' },
  'GET /api/v1/api-keys': ADMIN,
  'POST /api/v1/api-keys': ADMIN,
  'DELETE /api/v1/api-keys/:id': ADMIN,

  'GET /api/v1/alert-rules': READ,
  'GET /api/v1/alert-rules/:id': READ,
  'POST /api/v1/alert-rules': OPERATOR,
  'PUT /api/v1/alert-rules/:id': OPERATOR,
  'DELETE /api/v1/alert-rules/:id': OPERATOR,
  'POST /api/v1/alert-rules/:id/snooze': OPERATOR,
  'POST /api/v1/alert-rules/:id/unsnooze': OPERATOR,
  'POST /api/v1/alert-rules/:id/mute': OPERATOR,
  'POST /api/v1/alert-rules/:id/unmute': OPERATOR,
  'POST /api/v1/alert-rules/:id/enable': OPERATOR,
  'POST /api/v1/alert-rules/:id/disable': OPERATOR,
  'GET /api/v1/alerts': READ,
  'GET /api/v1/alerts/:id': READ,
  'POST /api/v1/alerts/:id/acknowledge': OPERATOR,
  'POST /api/v1/alerts/:id/resolve': OPERATOR,
  'GET /api/v1/silences': READ,
  'GET /api/v1/silences/:id': READ,
  'POST /api/v1/silences': OPERATOR,
  'PUT /api/v1/silences/:id': OPERATOR,
  'DELETE /api/v1/silences/:id': OPERATOR,
  'GET /api/v1/maintenance-windows': READ,
  'GET /api/v1/maintenance-windows/:id': READ,
  'POST /api/v1/maintenance-windows': OPERATOR,
  'PUT /api/v1/maintenance-windows/:id': OPERATOR,
  'DELETE /api/v1/maintenance-windows/:id': OPERATOR,
  // Channels hold secrets: admin to change them and to send through them, viewer to read.
  'GET /api/v1/notification-channels': READ,
  'POST /api/v1/notification-channels': ADMIN,
  'GET /api/v1/notification-channels/:id': READ,
  'PUT /api/v1/notification-channels/:id': ADMIN,
  'DELETE /api/v1/notification-channels/:id': ADMIN,
  'POST /api/v1/notification-channels/:id/test': ADMIN,
  'GET /api/v1/notifications/deliveries': READ,
  'GET /api/v1/notifications/stream': READ,
  // The agent operations ledger: agents write with an ingest key, prices, tools, policies and the audit trail are admin's.
  'POST /api/v1/hosts': INGEST,
  'GET /api/v1/hosts': READ,
  'POST /api/v1/services': INGEST,
  'GET /api/v1/services': READ,
  'PATCH /api/v1/services/:id': INGEST,
  'POST /api/v1/workloads': INGEST,
  'GET /api/v1/workloads': READ,
  'GET /api/v1/workloads/:id': READ,
  'PATCH /api/v1/workloads/:id': INGEST,
  'POST /api/v1/tasks': INGEST,
  'GET /api/v1/tasks': READ,
  'GET /api/v1/tasks/:id': READ,
  'POST /api/v1/tasks/:id/runs': INGEST,
  'GET /api/v1/runs': READ,
  'GET /api/v1/runs/active': READ,
  'GET /api/v1/runs/:id': READ,
  'POST /api/v1/runs/:id/transitions': INGEST,
  'POST /api/v1/runs/:id/events': INGEST,
  'GET /api/v1/runs/:id/events': READ,
  'GET /api/v1/runs/:id/events/stream': READ,
  'POST /api/v1/runs/:id/artifacts': INGEST,
  'GET /api/v1/runs/:id/artifacts': READ,
  'GET /api/v1/artifacts/:id/content': READ,
  'POST /api/v1/runs/:id/llm-calls': INGEST,
  'POST /api/v1/runs/:id/tool-calls': INGEST,
  'GET /api/v1/usage/costs': READ,
  'GET /api/v1/usage/recent': READ,
  'GET /api/v1/pricing': READ,
  'GET /api/v1/pricing/resolve': READ,
  'POST /api/v1/pricing': ADMIN,
  'PUT /api/v1/tools/:name': ADMIN,
  'GET /api/v1/tools': READ,
  'GET /api/v1/tools/success-rate': READ,
  'GET /api/v1/tools/:name': READ,
  'GET /api/v1/tool-calls': READ,
  'GET /api/v1/tool-calls/:id': READ,
  'POST /api/v1/tool-calls/:id/result': INGEST,
  // Any user may reach it; the service requires the role the policy names, and refuses API keys (an agent never approves itself).
  'POST /api/v1/tool-calls/:id/approve': { role: 'viewer', scope: 'admin' },
  'POST /api/v1/tool-calls/:id/reject': { role: 'viewer', scope: 'admin' },
  'GET /api/v1/policies': READ,
  'POST /api/v1/policies': ADMIN,
  'PUT /api/v1/policies/:id': ADMIN,
  'DELETE /api/v1/policies/:id': ADMIN,
  'GET /api/v1/audit': ADMIN,
};

/** A concrete URL for a route: ids that do not exist, so nothing is changed by a request that passes. */
const concrete = (route: string) =>
  route
    .replace(':family', 'system')
    .replace(/:id\b/, '999999')
    .replace(':domain', 'no-such-domain.example')
    .replace('*', 'no-such-file')
    // A stream that passes the check would never end: name a channel that does not exist (404 after the check).
    .replace(/\/notifications\/stream$/, '/notifications/stream?channelId=999999');

/**
 * Every route of the app from Fastify's route tree (printRoutes), as
 * `METHOD /path`; HEAD (added by Fastify for each GET) is left out.
 */
function appRoutes(tree: string): string[] {
  const out: string[] = [];
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const m = /^((?:│ {3}| {4})*)(?:├── |└── )(\S+) \(([A-Z, ]+)\)$/.exec(line);
    if (!m) continue;
    const depth = m[1]!.length / 4;
    stack.length = depth;
    const parent = stack.join('');
    const path = `${parent}${m[2]!.startsWith('/') || parent === '' ? '' : '/'}${m[2]!}`;
    stack.push(m[2]!.startsWith('/') ? m[2]! : `/${m[2]!}`);
    // Under the dashboard's root route `/` every path would start with `//`.
    for (const method of m[3]!.split(', ')) if (method !== 'HEAD') out.push(`${method} ${path.replace(/\/{2,}/g, '/')}`);
  }
  return out.sort();
}

let rt: TestRuntime;
const kind = enabledBackends().includes('postgres') ? 'postgres' : (enabledBackends()[0] ?? 'pglite');
const entries = Object.entries(EXPECTED).map(([key, rule]) => {
  const [method, route] = key.split(' ') as [string, string];
  return { key, method, route, url: concrete(route), rule };
});
const protectedRoutes = entries.filter((e): e is typeof e & { rule: Exclude<Rule, 'public'> } => e.rule !== PUBLIC);

const send = (method: string, url: string, authorization?: string) =>
  rt.app.inject({ method: method as 'GET', url, headers: authorization ? { authorization } : {} });

before(async () => {
  rt = await buildTestRuntime(kind);
});
after(async () => {
  await rt.destroy();
});

test('the table lists exactly the routes of the app', () => {
  const actual = appRoutes(rt.app.printRoutes({ commonPrefix: false }));
  assert.ok(actual.length >= 30, `parsed ${actual.length} routes from the route tree`);
  const expected = Object.keys(EXPECTED).sort();
  assert.deepEqual(
    actual.filter((r) => !expected.includes(r)),
    [],
    'routes of the app without an access entry in this test',
  );
  assert.deepEqual(
    expected.filter((r) => !actual.includes(r)),
    [],
    'entries in this test for routes the app no longer has',
  );
});

test('public routes answer without credentials', async () => {
  for (const e of entries.filter((x) => x.rule === PUBLIC)) {
    const res = await send(e.method, e.url);
    assert.ok(res.statusCode !== 401 && res.statusCode !== 403, `${e.key}: ${res.statusCode}`);
  }
});

test('no, expired, unsigned or foreign-audience tokens: 401 problem+json on every protected route', async () => {
  const now = Math.floor(Date.now() / 1000);
  const admin = await rt.db.queryOne<{ id: number; token_version: number }>(`SELECT id, token_version FROM dashboard_users WHERE username = 'admin'`);
  const claims = { role: 'admin', tv: admin!.token_version };
  const sign = (aud: string, iat: number, exp: number) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuer('opsdeck').setAudience(aud).setSubject(String(admin!.id)).setIssuedAt(iat).setExpirationTime(exp).sign(SECRET);
  const valid = await sign('opsdeck-api', now, now + 600);
  assert.equal((await send('GET', '/api/v1/users', `Bearer ${valid}`)).statusCode, 200, 'control: a valid token of the same shape works');
  const expired = await sign('opsdeck-api', now - 3600, now - 60);
  const foreignAud = await sign('someone-else', now, now + 600);
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...claims, iss: 'opsdeck', aud: 'opsdeck-api', sub: String(admin!.id), iat: now, exp: now + 600 })}.`;
  for (const e of protectedRoutes) {
    for (const [label, header] of [
      ['none', undefined],
      ['expired', `Bearer ${expired}`],
      ['alg none', `Bearer ${unsigned}`],
      ['wrong audience', `Bearer ${foreignAud}`],
    ] as const) {
      const res = await send(e.method, e.url, header);
      assert.equal(res.statusCode, 401, `${e.key} with ${label} token`);
      assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
      assert.ok(res.json().code, `${e.key}: problem code`);
    }
  }
});

test('user roles: below the rule 403 FORBIDDEN, at or above it past the access check', async () => {
  const tokens = Object.fromEntries(await Promise.all(ROLES.map(async (r) => [r, await loginAs(rt, r)] as const))) as Record<Role, string>;
  for (const e of protectedRoutes) {
    for (const role of ROLES) {
      const res = await send(e.method, e.url, tokens[role]);
      if (ROLES.indexOf(role) < ROLES.indexOf(e.rule.role)) {
        assert.equal(res.statusCode, 403, `${e.key} as ${role} must be refused`);
        assert.equal(res.json().code, 'FORBIDDEN', `${e.key} as ${role}`);
      } else {
        assert.ok(res.statusCode !== 401 && !(res.statusCode === 403 && res.json().code === 'FORBIDDEN'), `${e.key} as ${role} must pass the access check: ${res.statusCode}`);
      }
    }
  }
});

test('API keys: without the scope 403 FORBIDDEN, with it (or admin) past the access check', async () => {
  const keys: Record<Scope, string> = {
    read: `Bearer ${await createApiKey(rt, ['read'])}`,
    ingest: `Bearer ${await createApiKey(rt, ['ingest'])}`,
    admin: `Bearer ${await createApiKey(rt, ['admin'])}`,
  };
  for (const e of protectedRoutes) {
    for (const scope of ['read', 'ingest', 'admin'] as const) {
      const res = await send(e.method, e.url, keys[scope]);
      if (scope === 'admin' || scope === e.rule.scope) {
        // Routes acting on "my" account answer 403 USER_TOKEN_REQUIRED after the access check.
        assert.ok(res.statusCode !== 401 && !(res.statusCode === 403 && res.json().code === 'FORBIDDEN'), `${e.key} with a ${scope} key must pass the access check: ${res.statusCode}`);
      } else {
        assert.equal(res.statusCode, 403, `${e.key} with a ${scope} key must be refused`);
        assert.equal(res.json().code, 'FORBIDDEN', `${e.key} with a ${scope} key`);
      }
    }
  }
});
