/**
 * The audit trail of every mutating API call: each one writes one entry in the same
 * transaction as its change (who, what, target, from where, a summary without secrets); a
 * refused request leaves neither change nor entry; an entry that cannot be written undoes
 * the change and the client gets no 2xx. The routes that are not audited by the request
 * (telemetry ingest, sign-in sessions, pings, "test" actions) or that audit themselves (the
 * agent ledger) are listed here by hand: a new mutating route is audited unless it is
 * added to one of these lists.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AuditSink } from '../../src/domain/audit.ts';
import { buildTestRuntime, TEST_ADMIN_PASSWORD, type TestRuntime } from '../support/app.ts';
import { createApiKey, loginAs } from '../support/auth.ts';
import { enabledBackends } from '../support/backends.ts';

/** Mutating routes whose requests write no entry of their own, and why. */
const NOT_AUDITED: Record<string, string> = {
  'POST /api/v1/auth/login': 'a sign-in, not a change (failed attempts are rate-limited, not audited)',
  'POST /api/v1/auth/refresh': 'a token refresh',
  'POST /api/v1/auth/logout': 'ends the caller’s own session',
  'POST /api/v1/heartbeat/:token': 'a monitored job’s ping',
  'POST /api/v1/metrics': 'telemetry ingest',
  'POST /api/v1/metrics/:family': 'telemetry ingest',
  'POST /api/v1/events/email': 'telemetry ingest (the ZoneMTA plugin)',
  'POST /api/v1/events/:stream': 'telemetry ingest',
  'POST /api/v1/monitors/:id/check-now': 'a probe run now, recorded like a scheduled one',
  'POST /api/v1/domains/:domain/check': 'a DNS check run now (no transaction may be held while it waits on DNS), recorded like a scheduled one',
  'POST /api/v1/ips/:ip/check': 'a DNSBL and PTR check now, recorded like a scheduled one (it waits on DNS outside any transaction)',
  'POST /api/v1/notification-channels/:id/test': 'a test message, nothing changes',
  'POST /api/v1/devices/:id/collect': 'a collection run now, recorded in data_collection_audit like a scheduled one',
  'POST /api/v1/devices/:id/push': 'telemetry ingest (a device pushing its outputs; recorded in data_collection_audit as push)',
};
/** Route prefixes whose module writes its own, more precise entries. */
const SELF_AUDITED_PREFIXES = ['/api/v1/hosts', '/api/v1/services', '/api/v1/workloads', '/api/v1/tasks', '/api/v1/runs', '/api/v1/tools', '/api/v1/tool-calls', '/api/v1/policies', '/api/v1/pricing'];

const kind = enabledBackends().includes('postgres') ? 'postgres' : (enabledBackends()[0] ?? 'pglite');

interface Entry {
  actor_kind: string;
  actor_name: string | null;
  action: string;
  target_type: string;
  target_id: string | null;
  ip: string | null;
  request_id: string | null;
  summary: Record<string, unknown>;
}

describe(`audit of mutating requests [${kind}]`, () => {
  let rt: TestRuntime;
  before(async () => {
    rt = await buildTestRuntime(kind);
  });
  after(async () => {
    await rt.destroy();
  });

  const entries = (action: string) => rt.db.queryMany<Entry>('SELECT actor_kind, actor_name, action, target_type, target_id, host(ip) AS ip, request_id, summary FROM audit_entries WHERE action = $1 ORDER BY id', [action]);

  test('every mutating route is audited by its request, by its module, or listed here with a reason', () => {
    const modes = rt.state.auditModes();
    assert.ok(modes.length > 50, `found ${modes.length} mutating routes`);
    const wrong: string[] = [];
    for (const { route, mode } of modes) {
      const path = route.split(' ')[1]!;
      const expected = route in NOT_AUDITED || (route.startsWith('POST /api/v1/events/') && route !== 'POST /api/v1/events/email' && NOT_AUDITED['POST /api/v1/events/:stream'])
        ? 'off'
        : SELF_AUDITED_PREFIXES.some((p) => path === p || path.startsWith(`${p}/`))
          ? 'self'
          : 'request';
      if (mode !== expected) wrong.push(`${route}: ${mode}, expected ${expected}`);
    }
    assert.deepEqual(wrong, []);
    for (const r of Object.keys(NOT_AUDITED).filter((k) => !k.includes(':stream'))) assert.ok(modes.some((m) => m.route === r), `${r} is still a route`);
  });

  test('a change writes one entry: who, what, which, from where', async () => {
    const operator = await loginAs(rt, 'operator');
    const res = await rt.app.inject({
      method: 'POST',
      url: '/api/v1/silences',
      headers: { authorization: operator },
      payload: { matchers: [{ name: 'service', op: '=', value: 'web' }], startsAt: new Date().toISOString(), endsAt: new Date(Date.now() + 3_600_000).toISOString(), comment: 'deploy' },
    });
    assert.equal(res.statusCode, 201, res.body);
    const id = String(res.json<{ id: number }>().id);
    const [e, ...more] = await entries('silences.create');
    assert.equal(more.length, 0);
    assert.equal(e!.actor_kind, 'user');
    assert.equal(e!.actor_name, 'test-operator');
    assert.equal(e!.target_type, 'silences');
    assert.equal(e!.target_id, id);
    assert.equal(e!.ip, '127.0.0.1');
    assert.equal(e!.request_id, res.headers['x-request-id'] ?? e!.request_id);
    assert.equal((e!.summary.body as { comment: string }).comment, 'deploy');

    const del = await rt.app.inject({ method: 'DELETE', url: `/api/v1/silences/${id}`, headers: { authorization: operator } });
    assert.ok(del.statusCode < 300, del.body);
    const [d] = await entries('silences.delete');
    assert.equal(d!.target_id, id);
  });

  test('an API key is named as the actor', async () => {
    const key = await createApiKey(rt, ['read', 'ingest'], { name: 'agent-7' });
    const res = await rt.app.inject({ method: 'POST', url: '/api/v1/nodes', headers: { authorization: `Bearer ${key}` }, payload: { nodeId: 'audited-node', hostname: 'audited' } });
    assert.ok(res.statusCode < 300, res.body);
    const [e] = await entries('nodes.create');
    assert.equal(e!.actor_kind, 'api_key');
    assert.equal(e!.actor_name, 'agent-7');
  });

  test('secrets in a request never reach the trail', async () => {
    const admin = await loginAs(rt, 'admin');
    const botToken = '123456:telegram-bot-token-that-must-not-leak';
    const ch = await rt.app.inject({
      method: 'POST',
      url: '/api/v1/notification-channels',
      headers: { authorization: admin },
      payload: { name: 'audited-tg', kind: 'telegram', config: { chatId: 42 }, secrets: { botToken } },
    });
    assert.equal(ch.statusCode, 201, ch.body);
    const user = await rt.app.inject({ method: 'POST', url: '/api/v1/users', headers: { authorization: admin }, payload: { username: 'audited-user', password: 'a-long-user-password-123', role: 'viewer' } });
    assert.equal(user.statusCode, 201, user.body);
    const all = await rt.db.queryMany<{ t: string }>('SELECT summary::text AS t FROM audit_entries');
    const text = all.map((r) => r.t).join('\n');
    assert.ok(!text.includes(botToken), 'the bot token is not in the trail');
    assert.ok(!text.includes('a-long-user-password-123'), 'the password is not in the trail');
    assert.ok(!text.includes(TEST_ADMIN_PASSWORD));
    assert.equal((await entries('notification-channels.create')).length, 1);
    assert.equal((await entries('users.create')).length, 1);
  });

  test('a refused request changes nothing and leaves no entry', async () => {
    const operator = await loginAs(rt, 'operator');
    const before = (await rt.db.queryOne<{ n: number }>('SELECT count(*)::int AS n FROM audit_entries'))!.n;
    const bad = await rt.app.inject({ method: 'POST', url: '/api/v1/alert-rules', headers: { authorization: operator }, payload: { name: 'x', severity: 'loud' } });
    assert.equal(bad.statusCode, 400);
    const missing = await rt.app.inject({ method: 'POST', url: '/api/v1/alerts/999999/acknowledge', headers: { authorization: operator }, payload: {} });
    assert.equal(missing.statusCode, 404);
    assert.equal((await rt.db.queryOne<{ n: number }>('SELECT count(*)::int AS n FROM audit_entries'))!.n, before);
  });

  test('telemetry ingest writes no entry', async () => {
    const key = await createApiKey(rt, ['ingest']);
    const before = (await rt.db.queryOne<{ n: number }>('SELECT count(*)::int AS n FROM audit_entries'))!.n;
    const res = await rt.app.inject({
      method: 'POST',
      url: '/api/v1/metrics/system',
      headers: { authorization: `Bearer ${key}` },
      payload: [{ nodeId: 'audited-node', timestamp: new Date().toISOString(), cpuPercent: 5 }],
    });
    assert.ok(res.statusCode < 300, res.body);
    assert.equal((await rt.db.queryOne<{ n: number }>('SELECT count(*)::int AS n FROM audit_entries'))!.n, before);
  });
});

describe(`an audit entry that cannot be written [${kind}]`, () => {
  let rt: TestRuntime;
  const failing: AuditSink = {
    record: async (_tx, e) => {
      if (e.action === 'saved-views.create') throw new Error('audit trail unavailable');
    },
  };
  before(async () => {
    rt = await buildTestRuntime(kind, {}, { audit: failing });
  });
  after(async () => {
    await rt.destroy();
  });

  test('undoes the change, and the client gets no 2xx even when the handler sent its answer first', async () => {
    const viewer = await loginAs(rt, 'viewer');
    // The saved-views route answers with reply.code(201).send(…) inside the transaction.
    const res = await rt.app.inject({ method: 'POST', url: '/api/v1/saved-views', headers: { authorization: viewer }, payload: { name: 'lost', config: {} } });
    assert.ok(res.statusCode >= 500, `${res.statusCode} ${res.body}`);
    assert.match(String(res.headers['content-type']), /application\/problem\+json/, res.body);
    assert.equal((await rt.db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM saved_views WHERE name = 'lost'`))!.n, 0);
  });
});
