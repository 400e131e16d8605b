/**
 * Monitored services over HTTP and in the store: CRUD with its access rules
 * and validation, heartbeats on time and late, the check list (filters,
 * default limit, pages), uptime and latency percentiles, the overview,
 * 30-day retention, row-level security on the checks, and counters that
 * survive a restart. Time is a ManualClock.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import * as net from 'node:net';
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { ManualClock } from '../../domain/clock.ts';
import { loadConfig } from '../../config.ts';
import { createRuntime } from '../../runtime.ts';
import { enabledBackends, openDatabase } from '../../../test/support/backends.ts';
import { buildTestRuntime, type TestRuntime } from '../../../test/support/app.ts';
import { loginAs } from '../../../test/support/auth.ts';
import type { ServiceAlertSink, ServiceStateChange } from '../alerts/contracts.ts';
import { ProbeStore } from './service.ts';

class RecordingSink implements ServiceAlertSink {
  readonly calls: ServiceStateChange[] = [];
  async serviceStateChanged(change: ServiceStateChange): Promise<void> {
    this.calls.push(change);
  }
  of(name: string): string[] {
    return this.calls.filter((c) => c.serviceName === name).map((c) => `${c.from ?? 'null'}→${c.to}`);
  }
}

test('the probes module reaches the network only through src/net/outbound.ts', () => {
  const dir = new URL('.', import.meta.url);
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.endsWith('-test-kit.ts'));
  assert.ok(files.includes('probes.ts'));
  for (const f of files) {
    const src = readFileSync(new URL(f, dir), 'utf8');
    for (const banned of [/from 'node:(net|tls|http|https|dgram|dns|dns\/promises)'/, /(?<![.\w])fetch\(/, /\bnet\.connect\b/, /\bdns\.lookup\b/, /\bdgram\b/]) {
      if (f === 'targets.ts' && banned.source.includes('node:(net')) {
        // targets.ts uses node:net's isIP only (no connection).
        assert.deepEqual([...src.matchAll(/import \{([^}]*)\} from 'node:net'/g)].map((m) => m[1]!.trim()), ['isIP']);
        continue;
      }
      assert.ok(!banned.test(src), `${f} must not use ${banned.source}`);
    }
  }
});

for (const kind of enabledBackends()) {
  describe(`monitors [${kind}]`, () => {
    let rt: TestRuntime;
    let operator: string;
    let viewer: string;
    const clock = new ManualClock('2026-06-01T12:00:00Z');
    const sink = new RecordingSink();
    let n = 0;
    const uniq = (what: string) => `${what}-${++n}`;
    const req = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, authorization: string | null, payload?: unknown) =>
      rt.app.inject({ method, url, headers: authorization ? { authorization } : {}, ...(payload === undefined ? {} : { payload: payload as object }) });

    before(async () => {
      rt = await buildTestRuntime(kind, { outboundAllow: ['127.0.0.0/8'] }, { clock, serviceAlertSink: sink });
      operator = await loginAs(rt, 'operator');
      viewer = await loginAs(rt, 'viewer');
    });
    after(async () => {
      await rt.destroy();
    });

    test('an operator creates, reads, lists, replaces and deletes a monitored service; a viewer only reads', async () => {
      const name = uniq('web');
      const body = { name, kind: 'http', target: 'https://example.com/health', intervalSeconds: 30, labels: { team: 'ops' }, bodyKeyword: 'ok' };
      assert.equal((await req('POST', '/api/v1/monitors', viewer, body)).statusCode, 403);
      const created = await req('POST', '/api/v1/monitors', operator, body);
      assert.equal(created.statusCode, 201, created.body);
      const m = created.json();
      assert.equal(m.name, name);
      assert.equal(m.kind, 'http');
      assert.equal(m.intervalSeconds, 30);
      assert.equal(m.timeoutMs, 10000);
      assert.equal(m.acceptedStatuses, '200-299');
      assert.equal(m.failureThreshold, 3);
      assert.equal(m.successThreshold, 2);
      assert.deepEqual(m.labels, { team: 'ops' });
      assert.equal(m.state.status, 'unknown');
      assert.equal(m.heartbeatToken, undefined);
      assert.deepEqual((await req('GET', `/api/v1/monitors/${m.id}`, viewer)).json(), m);
      const list = (await req('GET', '/api/v1/monitors?kind=http&pageSize=500', viewer)).json();
      assert.ok(list.items.some((x: { id: number }) => x.id === m.id));

      assert.equal((await req('POST', '/api/v1/monitors', operator, body)).json().code, 'MONITOR_NAME_TAKEN');
      await rt.probes.store.createCheck({ serviceName: name, status: 'healthy', latencyMs: 42 });
      const put = await req('PUT', `/api/v1/monitors/${m.id}`, operator, { ...body, name: `${name}-2`, failureThreshold: 5 });
      assert.equal(put.statusCode, 200, put.body);
      assert.equal(put.json().name, `${name}-2`);
      assert.equal(put.json().failureThreshold, 5);
      const renamedChecks = (await req('GET', `/api/v1/monitors/${m.id}/checks`, viewer)).json();
      assert.deepEqual(renamedChecks.items.map((x: { serviceName: string; latencyMs: number }) => [x.serviceName, x.latencyMs]), [[`${name}-2`, 42]], 'a rename keeps the checks');
      assert.equal((await req('PUT', `/api/v1/monitors/${m.id}`, viewer, body)).statusCode, 403);
      assert.equal((await req('DELETE', `/api/v1/monitors/${m.id}`, viewer)).statusCode, 403);
      assert.equal((await req('DELETE', `/api/v1/monitors/${m.id}`, operator)).statusCode, 204);
      const gone = await req('GET', `/api/v1/monitors/${m.id}`, viewer);
      assert.equal(gone.statusCode, 404);
      assert.equal(gone.json().code, 'MONITOR_NOT_FOUND');
      const left = await rt.db.queryOne<{ n: number }>('SELECT count(*)::int AS n FROM service_health_checks WHERE service_name IN ($1, $2)', [name, `${name}-2`]);
      assert.equal(left?.n, 0, 'deleting a monitor deletes its checks');
    });

    test('a target that is not one for its kind, or an interval under 10 s, is 400 naming the field', async () => {
      const bad = async (body: Record<string, unknown>) => {
        const r = await req('POST', '/api/v1/monitors', operator, { name: uniq('bad'), ...body });
        assert.equal(r.statusCode, 400, r.body);
        return { code: r.json().code as string, paths: (r.json().errors as { path: string }[]).map((e) => e.path) };
      };
      assert.deepEqual(await bad({ kind: 'http', target: 'example.com/health' }), { code: 'MONITOR_INVALID', paths: ['body.target'] });
      assert.deepEqual(await bad({ kind: 'http', target: 'ftp://example.com/' }), { code: 'MONITOR_INVALID', paths: ['body.target'] });
      assert.deepEqual(await bad({ kind: 'tcp', target: 'db.example.com' }), { code: 'MONITOR_INVALID', paths: ['body.target'] });
      assert.deepEqual(await bad({ kind: 'tcp', target: 'db.example.com:99999' }), { code: 'MONITOR_INVALID', paths: ['body.target'] });
      assert.deepEqual(await bad({ kind: 'tls', target: 'https://example.com' }), { code: 'MONITOR_INVALID', paths: ['body.target'] });
      assert.deepEqual(await bad({ kind: 'dns', target: 'http://x', dnsRecordType: 'A', dnsServer: '1.1.1.1' }), { code: 'MONITOR_INVALID', paths: ['body.target'] });
      assert.deepEqual(await bad({ kind: 'dns', target: 'example.com' }), { code: 'MONITOR_INVALID', paths: ['body.dnsRecordType', 'body.dnsServer'] });
      assert.deepEqual(await bad({ kind: 'http' }), { code: 'MONITOR_INVALID', paths: ['body.target'] });
      assert.deepEqual(await bad({ kind: 'http', target: 'https://example.com/', jsonPath: '$.status' }), { code: 'MONITOR_INVALID', paths: ['body.jsonValue'] });
      assert.deepEqual(await bad({ kind: 'http', target: 'https://example.com/', intervalSeconds: 9 }), { code: 'VALIDATION_FAILED', paths: ['body.intervalSeconds'] });
      assert.deepEqual(await bad({ kind: 'http', target: 'https://example.com/', intervalSeconds: 10, timeoutMs: 20_000 }), { code: 'MONITOR_INVALID', paths: ['body.timeoutMs'] });
      assert.deepEqual(await bad({ kind: 'smtp', target: 'mail.example.com:25' }), { code: 'VALIDATION_FAILED', paths: ['body.kind'] });
      // The database refuses what the API refuses.
      await assert.rejects(rt.db.query("INSERT INTO monitors (name, kind, target, interval_seconds) VALUES ('x', 'http', 'https://e.com', 5)"));
      await assert.rejects(rt.db.query("INSERT INTO monitors (name, kind, target) VALUES ('y', 'smtp', 'e.com:25')"));
    });

    test('heartbeat: token shown once; pings on time keep it healthy, a late one makes it down, the next ping brings it back', async () => {
      const name = uniq('backup-job');
      const created = await req('POST', '/api/v1/monitors', operator, { name, kind: 'heartbeat', intervalSeconds: 60, heartbeatGraceSeconds: 30 });
      assert.equal(created.statusCode, 201, created.body);
      const m = created.json();
      assert.match(m.heartbeatToken, /^hb_[A-Za-z0-9_-]{43}$/);
      assert.equal(m.failureThreshold, 1);
      assert.equal((await req('GET', `/api/v1/monitors/${m.id}`, operator)).json().heartbeatToken, undefined);
      const stored = await rt.db.queryOne<{ h: string }>('SELECT heartbeat_token_hash AS h FROM monitors WHERE id = $1', [m.id]);
      assert.notEqual(stored?.h, m.heartbeatToken, 'only a hash is stored');
      const t0 = clock.now().getTime();
      const at = (s: number) => clock.set(t0 + s * 1000);
      const ping = (token: string) => req('POST', `/api/v1/heartbeat/${token}`, null);
      const status = async () => (await rt.probes.store.get(m.id)).state.status;

      await rt.probes.scheduler.runDueProbes(clock.now());
      assert.equal(await status(), 'unknown', 'not looked at before its first window ends');
      at(50);
      const p = await ping(m.heartbeatToken);
      assert.equal(p.statusCode, 200, p.body);
      assert.deepEqual(p.json(), { serviceName: name, receivedAt: new Date(t0 + 50_000).toISOString() });
      await rt.probes.scheduler.runDueProbes(clock.now());
      assert.equal(await status(), 'healthy');
      at(100);
      await ping(m.heartbeatToken);
      at(141);
      await rt.probes.scheduler.runDueProbes(clock.now());
      assert.equal(await status(), 'healthy', '41 s after the last ping: within 60 + 30 s');
      at(191);
      await rt.probes.scheduler.runDueProbes(clock.now());
      assert.equal(await status(), 'down', '91 s after the last ping: late');
      const checks = (await req('GET', `/api/v1/monitors/${m.id}/checks?status=down`, viewer)).json();
      assert.equal(checks.items[0].errorMessage, 'no heartbeat for 91 s (window 90 s)');
      at(200);
      await ping(m.heartbeatToken);
      await rt.probes.scheduler.runDueProbes(clock.now());
      assert.equal(await status(), 'healthy');
      assert.deepEqual(sink.of(name), ['null→healthy', 'healthy→down', 'down→healthy']);

      const rotated = await req('POST', `/api/v1/monitors/${m.id}/heartbeat-token`, operator);
      assert.equal(rotated.statusCode, 200);
      const fresh = rotated.json().heartbeatToken as string;
      assert.notEqual(fresh, m.heartbeatToken);
      assert.equal((await ping(m.heartbeatToken)).json().code, 'HEARTBEAT_NOT_FOUND');
      assert.equal((await ping(fresh)).statusCode, 200);
      assert.equal((await ping('hb_not-a-token')).statusCode, 404);
      // Turned into an http monitor and back: the old token does not work again; the answer carries a new one.
      const asHttp = await req('PUT', `/api/v1/monitors/${m.id}`, operator, { name, kind: 'http', target: 'https://example.com/' });
      assert.equal(asHttp.json().heartbeatToken, undefined);
      const back = (await req('PUT', `/api/v1/monitors/${m.id}`, operator, { name, kind: 'heartbeat', intervalSeconds: 60 })).json();
      assert.match(back.heartbeatToken, /^hb_/);
      assert.equal((await ping(fresh)).statusCode, 404);
      assert.equal((await ping(back.heartbeatToken)).statusCode, 200);
      const web = (await req('POST', '/api/v1/monitors', operator, { name: uniq('web'), kind: 'http', target: 'https://example.com/' })).json();
      assert.equal((await req('POST', `/api/v1/monitors/${web.id}/heartbeat-token`, operator)).json().code, 'MONITOR_NOT_HEARTBEAT');
    });

    test('heartbeat tokens cannot be guessed at speed: 30 unknown tokens from one address, then 429 with Retry-After before any lookup; other addresses unaffected', async () => {
      const created = await req('POST', '/api/v1/monitors', operator, { name: uniq('hb-limit'), kind: 'heartbeat', intervalSeconds: 60 });
      const token = created.json().heartbeatToken as string;
      const from = (addr: string, t: string) => rt.app.inject({ method: 'POST', url: `/api/v1/heartbeat/${t}`, remoteAddress: addr });
      const guesser = `10.77.${kind.length}.${Math.floor(Math.random() * 250) + 1}`;
      for (let i = 0; i < 30; i++) assert.equal((await from(guesser, `hb_guess${i}`)).statusCode, 404, `guess ${i + 1}`);
      const limited = await from(guesser, 'hb_guess30');
      assert.equal(limited.statusCode, 429, limited.body);
      assert.equal(limited.json().code, 'HEARTBEAT_RATE_LIMITED');
      assert.ok(Number(limited.headers['retry-after']) >= 1, 'Retry-After in seconds');
      assert.equal((await from(guesser, token)).statusCode, 429, 'refused before the token is looked at, even a real one');
      assert.equal((await from('10.78.0.1', token)).statusCode, 200, 'another address is not limited');
      // The window slides: 10 minutes later the address may try again.
      clock.set(clock.now().getTime() + 10 * 60_000 + 1000);
      assert.equal((await from(guesser, token)).statusCode, 200);
    });

    test('the check list: filters by status and checked_at range, 100 by default, pages with next', async () => {
      const name = uniq('listed');
      const m = (await req('POST', '/api/v1/monitors', operator, { name, kind: 'http', target: 'https://example.com/', enabled: false })).json();
      const c = new ManualClock('2026-05-01T00:00:00Z');
      const store = new ProbeStore({ db: rt.db, clock: c });
      for (let i = 0; i < 105; i++) {
        await store.createCheck({ serviceName: name, status: i % 10 === 0 ? 'down' : 'healthy', latencyMs: i });
        c.advance(60_000);
      }
      const first = (await req('GET', `/api/v1/monitors/${m.id}/checks`, viewer)).json();
      assert.equal(first.items.length, 100);
      assert.equal(first.items[0].latencyMs, 104, 'newest first');
      const second = (await req('GET', `/api/v1/monitors/${m.id}/checks?cursor=${first.next}`, viewer)).json();
      assert.deepEqual(second.items.map((x: { latencyMs: number }) => x.latencyMs), [4, 3, 2, 1, 0]);
      assert.equal(second.next, null);
      const down = (await req('GET', `/api/v1/monitors/${m.id}/checks?status=down&limit=500`, viewer)).json();
      assert.deepEqual(down.items.map((x: { latencyMs: number }) => x.latencyMs), [100, 90, 80, 70, 60, 50, 40, 30, 20, 10, 0]);
      const ranged = (await req('GET', `/api/v1/monitors/${m.id}/checks?from=2026-05-01T00:10:00Z&to=2026-05-01T00:13:00Z`, viewer)).json();
      assert.deepEqual(ranged.items.map((x: { latencyMs: number }) => x.latencyMs), [12, 11, 10]);
      assert.equal((await req('GET', `/api/v1/monitors/${m.id}/checks?cursor=bogus`, viewer)).json().code, 'INVALID_CURSOR');
      // A forged cursor whose time is beyond any timestamp is refused too, not a database error.
      const forged = Buffer.from('9999999999999999999:00000000-0000-0000-0000-000000000000').toString('base64url');
      const f = await req('GET', `/api/v1/monitors/${m.id}/checks?cursor=${forged}`, viewer);
      assert.equal(f.statusCode, 400, f.body);
      assert.equal(f.json().code, 'INVALID_CURSOR');
      const notUuid = Buffer.from(`1:${'-'.repeat(36)}`).toString('base64url');
      assert.equal((await req('GET', `/api/v1/monitors/${m.id}/checks?cursor=${notUuid}`, viewer)).statusCode, 400);
      const latest = await store.latestByService(name);
      assert.equal(latest?.latencyMs, 104);
      assert.equal(latest?.checkedAt, '2026-05-01T01:44:00.000Z');
      // Latest by when the probe ran (checked_at), not by when it was stored.
      const ranLater = new Date(c.now().getTime() - 10_000);
      await store.createCheck({ serviceName: name, status: 'degraded', latencyMs: 500, checkedAt: ranLater });
      c.advance(1000);
      await store.createCheck({ serviceName: name, status: 'down', latencyMs: 501, checkedAt: new Date(c.now().getTime() - 100_000) });
      assert.equal((await store.latestByService(name))?.latencyMs, 500);
      await assert.rejects(store.createCheck({ serviceName: name, status: 'healthy', checkedAt: new Date(c.now().getTime() + 1) }), /checkedAt/);
      await assert.rejects(store.createCheck({ serviceName: name, status: 'healthy', checkedAt: new Date(c.now().getTime() - 6 * 60_000) }), /checkedAt/);
      await assert.rejects(store.createCheck({ serviceName: '', status: 'healthy' }), /serviceName/);
      await assert.rejects(store.createCheck({ serviceName: name, status: 'sideways' as never }), /status/);
    });

    test('uptime and latency percentiles over a range (nearest rank over the checks not down)', async () => {
      const name = uniq('measured');
      const m = (await req('POST', '/api/v1/monitors', operator, { name, kind: 'http', target: 'https://example.com/', enabled: false })).json();
      const c = new ManualClock('2026-05-02T00:00:00Z');
      const store = new ProbeStore({ db: rt.db, clock: c });
      const checks: [string, number][] = [
        ['healthy', 10], ['healthy', 20], ['healthy', 30], ['degraded', 40], ['healthy', 50],
        ['healthy', 60], ['healthy', 70], ['healthy', 80], ['healthy', 90], ['down', 5000], ['healthy', 100],
      ];
      for (const [status, latencyMs] of checks) {
        await store.createCheck({ serviceName: name, status: status as 'healthy', latencyMs });
        c.advance(60_000);
      }
      // One check outside the range.
      c.set('2026-05-02T02:00:00Z');
      await store.createCheck({ serviceName: name, status: 'down', latencyMs: 1 });
      const r = await req('GET', `/api/v1/monitors/${m.id}/uptime?from=2026-05-02T00:00:00Z&to=2026-05-02T01:00:00Z`, viewer);
      assert.equal(r.statusCode, 200, r.body);
      assert.deepEqual(r.json(), {
        serviceName: name,
        from: '2026-05-02T00:00:00.000Z',
        to: '2026-05-02T01:00:00.000Z',
        checks: 11,
        healthy: 9,
        degraded: 1,
        down: 1,
        uptimePercent: 90.909,
        latencyMs: { avg: 55, p50: 50, p95: 100, p99: 100 },
      });
      const empty = (await req('GET', `/api/v1/monitors/${m.id}/uptime?from=2026-04-01T00:00:00Z&to=2026-04-02T00:00:00Z`, viewer)).json();
      assert.equal(empty.checks, 0);
      assert.equal(empty.uptimePercent, null);
      assert.equal(empty.latencyMs.p50, null);
      assert.equal((await req('GET', `/api/v1/monitors/${m.id}/uptime?from=2026-05-02T01:00:00Z&to=2026-05-02T00:00:00Z`, viewer)).json().code, 'INVALID_RANGE');
    });

    test('the overview: confirmed state, uptime over 24 h, 7 d and 30 d, the latest check', async () => {
      const name = uniq('overviewed');
      const m = (await req('POST', '/api/v1/monitors', operator, { name, kind: 'http', target: 'https://example.com/', enabled: false, labels: { tier: 'web' } })).json();
      const now = clock.now().getTime();
      const c = new ManualClock(now);
      const store = new ProbeStore({ db: rt.db, clock: c });
      for (const [agoMs, status] of [[10 * 86_400_000, 'down'], [2 * 86_400_000, 'down'], [3_600_000, 'healthy'], [0, 'degraded']] as const) {
        c.set(now - agoMs);
        await store.createCheck({ serviceName: name, status, latencyMs: 7 });
      }
      const o = await req('GET', '/api/v1/health/overview', viewer);
      assert.equal(o.statusCode, 200, o.body);
      const e = o.json().items.find((x: { name: string }) => x.name === name);
      assert.deepEqual({ ...e, lastCheck: { status: e.lastCheck.status, checkedAt: e.lastCheck.checkedAt } }, {
        id: m.id,
        name,
        kind: 'http',
        enabled: false,
        labels: { tier: 'web' },
        status: 'unknown',
        since: null,
        uptime: { h24: 100, d7: 66.667, d30: 50 },
        lastCheck: { status: 'degraded', checkedAt: new Date(now).toISOString() },
      });
      // ProbeStateSource lists enabled monitors with their confirmed state.
      await rt.db.query("UPDATE monitors SET enabled = true, status = 'down', status_since = $2 WHERE id = $1", [m.id, new Date(now).toISOString()]);
      const st = (await rt.probes.states.states()).find((s) => s.serviceName === name);
      assert.deepEqual(st, { serviceName: name, status: 'down', since: new Date(now), labels: { tier: 'web' }, channelIds: [] });
      await rt.db.query('UPDATE monitors SET enabled = false WHERE id = $1', [m.id]);
    });

    test('retention deletes only the checks stored more than 30 days ago', async () => {
      const name = uniq('retained');
      const c = new ManualClock('2026-01-01T00:00:00Z');
      const store = new ProbeStore({ db: rt.db, clock: c });
      await store.createCheck({ serviceName: name, status: 'healthy', latencyMs: 1 }); // 00:00
      c.set('2026-01-01T00:02:00Z');
      await store.createCheck({ serviceName: name, status: 'healthy', latencyMs: 2 }); // 00:02
      c.set('2026-01-31T00:01:00Z'); // 30 days after 00:01
      const deleted = await store.deleteOlderThan(30);
      assert.equal(deleted, 1);
      const left = await rt.db.queryMany<{ latency_ms: number }>('SELECT latency_ms FROM service_health_checks WHERE service_name = $1', [name]);
      assert.deepEqual(left, [{ latency_ms: 2 }]);
    });

    test('row-level security is enabled on the checks: another role with SELECT sees no rows, Opsdeck sees them', async () => {
      const name = uniq('rls');
      await rt.probes.store.createCheck({ serviceName: name, status: 'healthy' });
      const flags = await rt.db.queryOne<{ rls: boolean }>("SELECT relrowsecurity AS rls FROM pg_class WHERE oid = 'service_health_checks'::regclass");
      assert.equal(flags?.rls, true);
      const role = `probe_reader_${randomBytes(4).toString('hex')}`;
      await rt.db.exec(`CREATE ROLE ${role} NOLOGIN; GRANT SELECT ON service_health_checks TO ${role}`);
      try {
        const asReader = await rt.db.transaction(async (tx) => {
          await tx.exec(`SET LOCAL ROLE ${role}`);
          return tx.queryOne<{ n: number }>('SELECT count(*)::int AS n FROM service_health_checks WHERE service_name = $1', [name]);
        });
        assert.equal(asReader?.n, 0);
        const asOpsdeck = await rt.db.queryOne<{ n: number }>('SELECT count(*)::int AS n FROM service_health_checks WHERE service_name = $1', [name]);
        assert.equal(asOpsdeck?.n, 1);
      } finally {
        await rt.db.exec(`REVOKE ALL ON service_health_checks FROM ${role}; DROP ROLE ${role}`);
      }
    });
  });

  test(`a new runtime on the same database keeps the state and counters [${kind}]`, async () => {
    const listener = net.createServer((s) => s.end());
    await new Promise<void>((r) => listener.listen(0, '127.0.0.1', () => r()));
    const port = (listener.address() as net.AddressInfo).port;
    const t = await openDatabase(kind);
    const clock = new ManualClock('2026-07-01T00:00:00Z');
    const config = loadConfig({}, { logLevel: 'silent', selfMonitor: false, jobs: false, adminPassword: 'test-root-password-123', jwtSecret: 'test-jwt-secret-0123456789abcdef0123456789', secretKey: 'test-secret-key-0123456789abcdef0123456789', outboundAllow: ['127.0.0.0/8'] });
    const logger = pino({ level: 'silent' });
    try {
      const sinkA = new RecordingSink();
      const a = await createRuntime(config, { db: t.db, clock, logger, serviceAlertSink: sinkA });
      const m = await a.probes.store.create({ name: 'db-port', kind: 'tcp', target: `127.0.0.1:${port}`, intervalSeconds: 10, timeoutMs: 5000 });
      await a.probes.scheduler.runDueProbes(clock.now());
      await new Promise<void>((r) => listener.close(() => r()));
      for (let i = 0; i < 2; i++) {
        clock.advance(10_000);
        await a.probes.scheduler.runDueProbes(clock.now());
      }
      assert.deepEqual(sinkA.of('db-port'), ['null→healthy']);
      await a.close();

      const sinkB = new RecordingSink();
      const b = await createRuntime(config, { db: t.db, clock, logger, serviceAlertSink: sinkB });
      const kept = (await b.probes.store.get(m.id)).state;
      assert.equal(kept.status, 'healthy');
      assert.equal(kept.consecutiveFailures, 2);
      clock.advance(10_000);
      await b.probes.scheduler.runDueProbes(clock.now());
      assert.deepEqual(sinkB.of('db-port'), ['healthy→down'], 'the third failure, counted across the restart, confirms down');
      await b.close();
    } finally {
      listener.close();
      await t.close();
    }
  });
}
