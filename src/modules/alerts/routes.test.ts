/**
 * The alerting API over HTTP on the real runtime: rule validation against the
 * declarations (400 naming the field), acknowledging and resolving (409 on a
 * resolved alert), silences, maintenance windows, and the default rules
 * seeded once by name.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../domain/clock.ts';
import { enabledBackends } from '../../../test/support/backends.ts';
import { buildTestRuntime, type TestRuntime } from '../../../test/support/app.ts';
import { loginAs } from '../../../test/support/auth.ts';
import { seedDefaultRules } from './defaults.ts';

/** The 23 templates of §17.1 of the mail-cluster requirements, by hand, and Opsdeck's own defaults (the modules' rules, after the template they belong next to). */
const TEMPLATES: [string, string][] = [
  ['Node Down', 'critical'],
  ['MongoDB No Primary', 'critical'],
  ['MongoDB Repl Lag', 'critical'],
  ['IP Blacklisted (Critical)', 'critical'],
  ['Multiple IPs Blacklisted', 'critical'],
  ['High Bounce Rate', 'critical'],
  ['Very High Bounce Rate', 'critical'],
  ['Queue Backlog', 'critical'],
  ['Disk Full', 'critical'],
  ['All WildDuck Down', 'critical'],
  ['IP Blacklisted (Any)', 'warning'],
  ['Bounce Rate Elevated', 'warning'],
  ['CPU High', 'warning'],
  ['RAM High', 'warning'],
  ['Disk Low', 'warning'],
  ['SMTP Port Down', 'warning'],
  ['IMAP Down', 'warning'],
  ['Redis Memory High', 'warning'],
  ['User Abuse Detected', 'warning'],
  ['Config Change High Risk', 'warning'],
  ['Cert Expiring', 'warning'],
  ['Disk Growth Fast', 'info'],
  ['MongoDB Disk Growing', 'info'],
  ['Warmup IP Held', 'warning'],
  ['Warmup IP High Bounce', 'info'],
  ['Sending Domain Authentication', 'warning'],
  ['Device Host Key Changed', 'critical'],
  ['Device Collection Failed', 'warning'],
  ['Drive SMART Failing', 'critical'],
  ['Drive Reallocated Sectors Rising', 'warning'],
  ['Drive Pending Sectors Rising', 'warning'],
  ['Drive Temperature High', 'warning'],
];

const START = Math.floor(Date.now() / 60_000) * 60_000 - 20 * 60_000;

for (const kind of enabledBackends().filter((k) => k !== 'timescale')) {
  describe(`alerting API [${kind}]`, () => {
    let rt: TestRuntime;
    let operator: string;
    let viewer: string;
    const clock = new ManualClock(START);
    const req = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, authorization: string, payload?: unknown) =>
      rt.app.inject({ method, url, headers: { authorization }, ...(payload === undefined ? {} : { payload: payload as object }) });
    const rule = (over: Record<string, unknown> = {}, cond: Record<string, unknown> = {}) => ({
      name: 'Load high',
      severity: 'warning',
      condition: { kind: 'metric', family: 'system', column: 'load_1m', aggregation: 'avg', comparison: '>', threshold: 8, windowSeconds: 120, ...cond },
      ...over,
    });

    before(async () => {
      rt = await buildTestRuntime(kind, { alertRetentionDays: 7 }, { alerts: { clock } });
      operator = await loginAs(rt, 'operator');
      viewer = await loginAs(rt, 'viewer');
    });
    after(async () => {
      await rt.destroy();
    });

    test('the 32 default rules are seeded with their names and severities; seeding again changes nothing', async () => {
      const list = (await req('GET', '/api/v1/alert-rules?pageSize=100', viewer)).json();
      assert.deepEqual(
        list.items.filter((r: { isDefault: boolean }) => r.isDefault).map((r: { name: string; severity: string }) => [r.name, r.severity]),
        TEMPLATES,
      );
      const before = (await req('GET', '/api/v1/alert-rules?pageSize=100', viewer)).json().items;
      assert.deepEqual(await seedDefaultRules(rt.db, rt.alerts.service), []);
      assert.deepEqual((await req('GET', '/api/v1/alert-rules?pageSize=100', viewer)).json().items, before);
    });

    test('an edited default keeps its edit and a deleted default stays deleted when seeding runs again', async () => {
      const items = (await req('GET', '/api/v1/alert-rules?pageSize=100', viewer)).json().items as { id: number; name: string; condition: Record<string, unknown> }[];
      const cpu = items.find((r) => r.name === 'CPU High')!;
      const full = (await req('GET', `/api/v1/alert-rules/${cpu.id}`, viewer)).json();
      const { id: _i, muted: _m, snoozedUntil: _s, isDefault: _d, lastEvaluatedAt: _l, lastEvaluation: _e, createdAt: _c, updatedAt: _u, ...input } = full;
      const put = await req('PUT', `/api/v1/alert-rules/${cpu.id}`, operator, { ...input, condition: { ...full.condition, threshold: 95, recoveryThreshold: 90 } });
      assert.equal(put.statusCode, 200, put.body);
      const ram = items.find((r) => r.name === 'RAM High')!;
      assert.equal((await req('DELETE', `/api/v1/alert-rules/${ram.id}`, operator)).statusCode, 204);
      assert.deepEqual(await seedDefaultRules(rt.db, rt.alerts.service), []);
      assert.equal((await req('GET', `/api/v1/alert-rules/${cpu.id}`, viewer)).json().condition.threshold, 95);
      const names = ((await req('GET', '/api/v1/alert-rules?pageSize=100', viewer)).json().items as { name: string }[]).map((r) => r.name);
      assert.ok(!names.includes('RAM High'));
    });

    test('bad rules: 400 naming the field', async () => {
      const cases: [Record<string, unknown>, string][] = [
        [rule({}, { family: 'nope' }), 'body.condition.family'],
        [rule({}, { column: 'no_such_column' }), 'body.condition.column'],
        [rule({}, { column: 'node_role', aggregation: 'last', comparison: '>', threshold: 'x' }), 'body.condition.comparison'],
        [rule({}, { threshold: 'high' }), 'body.condition.threshold'],
        [rule({}, { recoveryThreshold: 9 }), 'body.condition.recoveryThreshold'],
        [rule({}, { aggregation: 'predict_linear' }), 'body.condition.horizonSeconds'],
        [rule({}, { divideBy: 'node_role' }), 'body.condition.divideBy'],
        [rule({}, { comparison: '=~' }), 'body.condition.comparison'],
        [rule({}, { windowSeconds: 5 }), 'body.condition.windowSeconds'],
        [rule({ condition: { kind: 'stream', stream: 'email', measure: 'ratio', match: { column: 'event_type', values: ['exploded'] }, comparison: '>', threshold: 5, windowSeconds: 300 } }), 'body.condition.match.values.0'],
        [rule({ condition: { kind: 'stream', stream: 'email', measure: 'ratio', match: { column: 'spam_score', values: ['1'] }, comparison: '>', threshold: 5, windowSeconds: 300 } }), 'body.condition.match.column'],
        [rule({ scope: { kind: 'service', values: ['smtp'] } }), 'body.scope.kind'],
        [rule({ severity: 'urgent' }), 'body.severity'],
        [rule({ escalation: [{ afterMinutes: 30, channelIds: [1] }, { afterMinutes: 15, channelIds: [2] }] }), 'body.escalation.1.afterMinutes'],
      ];
      for (const [body, path] of cases) {
        const res = await req('POST', '/api/v1/alert-rules', operator, body);
        assert.equal(res.statusCode, 400, `${path}: ${res.body}`);
        const paths = (res.json().errors as { path: string }[]).map((e) => e.path);
        assert.ok(paths.includes(path), `${path} in ${JSON.stringify(paths)}`);
      }
      assert.equal((await rt.db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM alert_rules WHERE name = 'Load high'`))?.n, 0, 'nothing was stored');
    });

    test('create, read, snooze, mute, disable and delete a rule; a viewer may read but not change', async () => {
      const created = await req('POST', '/api/v1/alert-rules', operator, rule({ name: 'Load very high', channels: [1, 2], labels: { team: 'ops' } }));
      assert.equal(created.statusCode, 201, created.body);
      const r = created.json();
      assert.equal(r.forSeconds, 0);
      assert.equal(r.noDataPolicy, 'nodata');
      assert.equal(r.repeatIntervalSeconds, 1800);
      assert.deepEqual(r.scope, { kind: 'all', values: [] });
      assert.equal((await req('POST', '/api/v1/alert-rules', operator, rule({ name: 'Load very high' }))).json().code, 'ALERT_RULE_NAME_TAKEN');
      assert.equal((await req('POST', '/api/v1/alert-rules', viewer, rule({ name: 'x' }))).statusCode, 403);
      clock.set(START);
      const snoozed = (await req('POST', `/api/v1/alert-rules/${r.id}/snooze`, operator, { duration: '4h' })).json();
      assert.equal(snoozed.snoozedUntil, new Date(START + 4 * 3600_000).toISOString());
      assert.equal((await req('POST', `/api/v1/alert-rules/${r.id}/snooze`, operator, { duration: '2h' })).statusCode, 400);
      assert.equal((await req('POST', `/api/v1/alert-rules/${r.id}/unsnooze`, operator)).json().snoozedUntil, null);
      assert.equal((await req('POST', `/api/v1/alert-rules/${r.id}/mute`, operator)).json().muted, true);
      assert.equal((await req('POST', `/api/v1/alert-rules/${r.id}/unmute`, operator)).json().muted, false);
      assert.equal((await req('POST', `/api/v1/alert-rules/${r.id}/disable`, operator)).json().enabled, false);
      assert.equal((await req('DELETE', `/api/v1/alert-rules/${r.id}`, operator)).statusCode, 204);
      assert.equal((await req('GET', `/api/v1/alert-rules/${r.id}`, viewer)).json().code, 'ALERT_RULE_NOT_FOUND');
    });

    test('alerts: list with filters, one with its transitions, acknowledge, resolve; acknowledging a resolved alert is 409 ALERT_ALREADY_RESOLVED', async () => {
      clock.set(START + 60_000);
      await rt.alerts.service.serviceStateChanged({ serviceName: 'api-smtp', from: null, to: 'down', at: new Date(START + 60_000), message: 'connection refused', details: {}, labels: {} });
      const list = (await req('GET', '/api/v1/alerts?status=firing,acknowledged&service=api-smtp', viewer)).json();
      assert.equal(list.total, 1);
      const id = list.items[0].id;
      assert.equal(list.items[0].severity, 'critical');
      assert.equal((await req('GET', '/api/v1/alerts?status=bogus', viewer)).statusCode, 400);
      assert.equal((await req('POST', `/api/v1/alerts/${id}/acknowledge`, viewer)).statusCode, 403);
      const acked = await req('POST', `/api/v1/alerts/${id}/acknowledge`, operator);
      assert.equal(acked.statusCode, 200, acked.body);
      assert.equal(acked.json().status, 'acknowledged');
      assert.equal(acked.json().acknowledgedBy, 'user:test-operator');
      const resolved = (await req('POST', `/api/v1/alerts/${id}/resolve`, operator)).json();
      assert.equal(resolved.status, 'resolved');
      assert.deepEqual(
        resolved.transitions.map((t: { from: string | null; to: string; actor: string }) => `${t.from ?? '-'}>${t.to} ${t.actor}`),
        ['->firing probe', 'firing>acknowledged user:test-operator', 'acknowledged>resolved user:test-operator'],
      );
      const again = await req('POST', `/api/v1/alerts/${id}/acknowledge`, operator);
      assert.equal(again.statusCode, 409);
      assert.equal(again.json().code, 'ALERT_ALREADY_RESOLVED');
      assert.match(String(again.headers['content-type']), /^application\/problem\+json/);
      assert.equal((await req('POST', `/api/v1/alerts/${id}/resolve`, operator)).json().code, 'ALERT_ALREADY_RESOLVED');
      assert.equal((await req('GET', '/api/v1/alerts/999999', viewer)).json().code, 'ALERT_NOT_FOUND');
    });

    test('silences and maintenance windows: CRUD and validation', async () => {
      clock.set(START);
      const bad = await req('POST', '/api/v1/silences', operator, { matchers: [{ name: 'node', op: '=~', value: '(' }], endsAt: new Date(START + 3600_000).toISOString() });
      assert.equal(bad.statusCode, 400);
      assert.deepEqual((bad.json().errors as { path: string }[]).map((e) => e.path), ['body.matchers.0.value']);
      const backwards = await req('POST', '/api/v1/silences', operator, { matchers: [{ name: 'node', op: '=', value: 'a' }], endsAt: new Date(START - 60_000).toISOString() });
      assert.deepEqual((backwards.json().errors as { path: string }[]).map((e) => e.path), ['body.endsAt']);
      const s = await req('POST', '/api/v1/silences', operator, { matchers: [{ name: 'node', op: '=', value: 'mx1' }], endsAt: new Date(START + 3600_000).toISOString(), comment: 'disk swap' });
      assert.equal(s.statusCode, 201, s.body);
      assert.equal(s.json().createdBy, 'user:test-operator');
      assert.equal(s.json().startsAt, new Date(START).toISOString());
      assert.equal((await req('GET', '/api/v1/silences?active=true', viewer)).json().total, 1);
      assert.equal((await req('DELETE', `/api/v1/silences/${s.json().id}`, operator)).statusCode, 204);

      const w = { name: 'Sunday patching', nodeIds: ['mx1'], recurrence: 'weekly', startsAt: new Date(START).toISOString(), startTime: '02:00', durationMinutes: 120, weekdays: [0], timeZone: 'Europe/Berlin' };
      assert.deepEqual(((await req('POST', '/api/v1/maintenance-windows', operator, { ...w, timeZone: 'Mars/Olympus' })).json().errors as { path: string }[]).map((e) => e.path), ['body.timeZone']);
      assert.deepEqual(((await req('POST', '/api/v1/maintenance-windows', operator, { ...w, weekdays: [] })).json().errors as { path: string }[]).map((e) => e.path), ['body.weekdays']);
      const created = await req('POST', '/api/v1/maintenance-windows', operator, w);
      assert.equal(created.statusCode, 201, created.body);
      assert.equal((await req('PUT', `/api/v1/maintenance-windows/${created.json().id}`, operator, { ...w, name: 'Sunday patch' })).json().name, 'Sunday patch');
      assert.equal((await req('GET', `/api/v1/maintenance-windows/${created.json().id}`, viewer)).json().timeZone, 'Europe/Berlin');
      assert.equal((await req('DELETE', `/api/v1/maintenance-windows/${created.json().id}`, operator)).statusCode, 204);
    });

    test('the alert-evaluation job runs a round through the job runner and records it', async () => {
      clock.set(START + 120_000);
      const run = await rt.jobs.runOnce('alert-evaluation');
      assert.equal(run.outcome, 'ok', run.error ?? '');
      assert.equal(run.details?.errors, 0);
      const rules = (await rt.db.queryOne<{ n: number }>('SELECT count(*)::int AS n FROM alert_rules'))!.n;
      assert.equal(run.details?.rules, rules);
      assert.equal((await req('GET', '/api/v1/alerts?ruleId=0x1', viewer)).statusCode, 400, 'ids in canonical decimal form only');
      const cpu = ((await req('GET', '/api/v1/alert-rules?pageSize=100', viewer)).json().items as { name: string; lastEvaluatedAt: string | null }[]).find((r) => r.name === 'Node Down');
      assert.equal(cpu?.lastEvaluatedAt, new Date(START + 120_000).toISOString(), 'evaluated at the clock\'s time');
    });

    test('the retention job deletes resolved alerts after OPSDECK_ALERT_RETENTION_DAYS (7 here), open ones never', async () => {
      const t = (days: number) => new Date(START + 600_000 + days * 86_400_000);
      clock.set(t(0));
      await rt.alerts.service.serviceStateChanged({ serviceName: 'ret-a', from: null, to: 'down', at: t(0), message: '', details: {}, labels: {} });
      await rt.alerts.service.serviceStateChanged({ serviceName: 'ret-a', from: 'down', to: 'healthy', at: t(0), message: '', details: {}, labels: {} });
      await rt.alerts.service.serviceStateChanged({ serviceName: 'ret-b', from: null, to: 'down', at: t(0), message: '', details: {}, labels: {} });
      const status = async (svc: string) => (await rt.alerts.service.events.findAll({ service: svc })).map((e) => e.status);
      clock.set(t(6.9));
      await rt.jobs.runOnce('alert-events-retention');
      assert.deepEqual(await status('ret-a'), ['resolved']);
      clock.set(t(7.1));
      const run = await rt.jobs.runOnce('alert-events-retention');
      assert.equal(run.outcome, 'ok');
      assert.equal(run.details?.retentionDays, 7);
      assert.deepEqual(await status('ret-a'), []);
      assert.deepEqual(await status('ret-b'), ['firing']);
    });
  });
}
