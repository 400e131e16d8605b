/**
 * The alert evaluator on real databases (every backend): rows ingested through
 * the store, a ManualClock moving time, a notifier that records what it is
 * asked to queue. Expected states, values and notices are written by hand.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Database, Queryable } from '../../db/database.ts';
import { PostgresDatabase } from '../../db/postgres-driver.ts';
import { ManualClock } from '../../domain/clock.ts';
import { enabledBackends, openMigrated, type MigratedDatabase } from '../../../test/support/backends.ts';
import type { AlertNotice, AlertNotifier, ProbeStateSource, ServiceStatus } from './contracts.ts';
import { ruleInputSchema } from './conditions.ts';
import { AlertsService } from './service.ts';

class Recorder implements AlertNotifier {
  calls: { notice: AlertNotice; channels: number[] }[] = [];
  failWith: Error | null = null;
  async enqueue(tx: Queryable, notice: AlertNotice, channelIds: readonly number[]) {
    // Writes through the caller's transaction, like the outbox does: proves the same transaction is used.
    await tx.query('SELECT 1');
    if (this.failWith) throw this.failWith;
    this.calls.push({ notice, channels: [...channelIds] });
    return { queued: channelIds.length, skipped: [] };
  }
  reasons() {
    return this.calls.map((c) => `${c.notice.alertName}:${c.notice.reason}${c.notice.escalationLevel ? c.notice.escalationLevel : ''}`);
  }
}

class Probes implements ProbeStateSource {
  list: { serviceName: string; status: ServiceStatus | 'unknown'; since: Date | null; labels: Record<string, string> }[] = [];
  async states() {
    return this.list;
  }
}

const cpuRule = (over: Record<string, unknown> = {}, cond: Record<string, unknown> = {}) =>
  ruleInputSchema.parse({
    name: 'CPU test',
    severity: 'warning',
    condition: { kind: 'metric', family: 'system', column: 'cpu_percent', aggregation: 'avg', comparison: '>', threshold: 80, recoveryThreshold: 70, windowSeconds: 60, ...cond },
    forSeconds: 120,
    channels: [7],
    ...over,
  });

// Near the real time: ingest refuses rows far in the future or past the raw retention.
const START = Math.floor(Date.now() / 60_000) * 60_000 - 40 * 60_000;

for (const kind of enabledBackends()) {
  describe(`alert evaluation [${kind}]`, () => {
    let m: MigratedDatabase;
    let clock: ManualClock;
    let notifier: Recorder;
    let probes: Probes;
    let alerts: AlertsService;
    let node = 0;
    let nodeId = '';
    const at = (s: number) => new Date(START + s * 1000);
    const cpu = (id: string, value: number, sec: number) => m.store.ingest('system', [{ nodeId: id, timestamp: at(sec).toISOString(), cpuPercent: value }]);
    const events = (ruleId: number) => m.db.queryMany<{ id: number; status: string; fired_at: Date | null; muted_by: { kind: string }[]; labels: Record<string, string>; value: number | null; alert_type: string }>('SELECT * FROM alert_events WHERE rule_id = $1 ORDER BY id', [ruleId]);
    const transitions = (ruleId: number) =>
      m.db
        .queryMany<{ from_status: string | null; to_status: string }>('SELECT t.from_status, t.to_status FROM alert_event_transitions t JOIN alert_events e ON e.id = t.event_id WHERE e.rule_id = $1 ORDER BY t.id', [ruleId])
        .then((rows) => rows.map((r) => `${r.from_status ?? '-'}>${r.to_status}`));
    const evalAt = async (sec: number) => {
      clock.set(at(sec));
      return alerts.evaluate();
    };

    before(async () => {
      m = await openMigrated(kind);
    });
    after(async () => {
      await m.close();
    });
    beforeEach(async () => {
      // Each test has its own node and rules; earlier rules are disabled so they stay out of its way.
      await m.db.query('UPDATE alert_rules SET enabled = false');
      await alerts?.evaluate();
      clock = new ManualClock(START);
      notifier = new Recorder();
      probes = new Probes();
      alerts = new AlertsService({ db: m.db, clock, notifier, probes, serviceChannels: [3] });
      nodeId = `ev-${kind}-${++node}`;
    });

    test('pending until the condition held for `for`, then firing; resolves only past the recovery threshold (hysteresis)', async () => {
      const rule = await alerts.createRule(cpuRule({ name: `cpu-${nodeId}`, scope: { kind: 'node', values: [nodeId] } }));
      await cpu(nodeId, 90, -10);
      await evalAt(0);
      assert.deepEqual((await events(rule.id)).map((e) => e.status), ['pending']);
      assert.equal(notifier.calls.length, 0, 'nothing is told while pending');

      await cpu(nodeId, 90, 50);
      await evalAt(60);
      assert.deepEqual((await events(rule.id)).map((e) => e.status), ['pending'], '60 s < for 120 s');

      await cpu(nodeId, 92, 110);
      await evalAt(120);
      const [ev] = await events(rule.id);
      assert.equal(ev!.status, 'firing');
      assert.equal(ev!.fired_at?.getTime(), at(120).getTime());
      assert.equal(ev!.value, 92);
      assert.deepEqual(notifier.reasons(), [`cpu-${nodeId}:fired`]);
      assert.deepEqual(notifier.calls[0]!.channels, [7]);
      assert.equal(notifier.calls[0]!.notice.labels.node, nodeId);

      // 75: under the threshold (80) but above the recovery threshold (70): still firing.
      await cpu(nodeId, 75, 170);
      await evalAt(180);
      assert.equal((await events(rule.id))[0]!.status, 'firing');
      // Flapping around the threshold does not flap the alert.
      for (const [v, s] of [[81, 230], [79, 290], [82, 350], [78, 410]] as const) {
        await cpu(nodeId, v, s);
        await evalAt(s + 10);
      }
      assert.equal((await events(rule.id)).length, 1);
      assert.equal((await events(rule.id))[0]!.status, 'firing');
      assert.deepEqual(notifier.reasons(), [`cpu-${nodeId}:fired`], 'no new notice while it keeps firing within the repeat interval');

      await cpu(nodeId, 65, 470);
      await evalAt(480);
      assert.equal((await events(rule.id))[0]!.status, 'resolved');
      assert.deepEqual(notifier.reasons(), [`cpu-${nodeId}:fired`, `cpu-${nodeId}:resolved`]);
      assert.deepEqual(await transitions(rule.id), ['->pending', 'pending>firing', 'firing>resolved']);
    });

    test('a pending alert whose condition stops holding resolves without a notice', async () => {
      const rule = await alerts.createRule(cpuRule({ name: `cpu-${nodeId}`, scope: { kind: 'node', values: [nodeId] } }));
      await cpu(nodeId, 95, -5);
      await evalAt(0);
      await cpu(nodeId, 50, 55);
      await evalAt(60);
      assert.deepEqual(await transitions(rule.id), ['->pending', 'pending>resolved']);
      assert.equal(notifier.calls.length, 0);
    });

    test('repeat interval, escalation steps, and acknowledgement stops both', async () => {
      const rule = await alerts.createRule(
        cpuRule({ name: `cpu-${nodeId}`, scope: { kind: 'node', values: [nodeId] }, forSeconds: 0, repeatIntervalSeconds: 600, escalation: [{ afterMinutes: 15, channelIds: [8] }, { afterMinutes: 30, channelIds: [9] }] }),
      );
      const keepHot = async (sec: number) => {
        await cpu(nodeId, 99, sec - 5);
        await evalAt(sec);
      };
      await keepHot(0);
      await keepHot(300);
      await keepHot(600);
      await keepHot(900);
      assert.deepEqual(notifier.reasons(), [`cpu-${nodeId}:fired`, `cpu-${nodeId}:repeat`, `cpu-${nodeId}:escalation1`]);
      assert.deepEqual(notifier.calls[2]!.channels, [8]);
      const [ev] = await events(rule.id);
      await alerts.acknowledge(ev!.id, 'user:alice');
      await keepHot(1800);
      await keepHot(2400);
      assert.equal(notifier.calls.length, 3, 'acknowledged: no repeat, no second escalation');
      await cpu(nodeId, 10, 2455);
      await evalAt(2460);
      assert.deepEqual(notifier.reasons().at(-1), `cpu-${nodeId}:resolved`);
      assert.deepEqual(notifier.calls.at(-1)!.channels.sort(), [7, 8], 'the resolution reaches the channels of the escalation reached');
      assert.deepEqual(await transitions(rule.id), ['->firing', 'firing>acknowledged', 'acknowledged>resolved']);
    });

    test('no-data policies: ok, alerting, nodata (a DatasourceNoData alert), keep_state', async () => {
      const ids: Record<string, number> = {};
      for (const policy of ['ok', 'alerting', 'nodata', 'keep_state'] as const) {
        const n = `${nodeId}-${policy.replace('_', '-')}`;
        await cpu(n, 95, -5);
        ids[policy] = (await alerts.createRule(cpuRule({ name: `nd-${n}`, scope: { kind: 'node', values: [n] }, forSeconds: 0, noDataPolicy: policy }))).id;
      }
      await evalAt(0);
      for (const p of Object.keys(ids)) assert.deepEqual((await events(ids[p]!)).map((e) => e.status), ['firing'], p);
      // 120 s later: no row in the 60-s window, the series is still known (rows in the lookback).
      await evalAt(120);
      const state = async (p: string) => (await events(ids[p]!)).map((e) => `${e.alert_type}:${e.status}`);
      assert.deepEqual(await state('ok'), ['metric:resolved']);
      assert.deepEqual(await state('alerting'), ['metric:firing']);
      assert.deepEqual(await state('nodata'), ['metric:firing', 'nodata:firing']);
      assert.deepEqual(await state('keep_state'), ['metric:firing']);
      const nodata = (await events(ids.nodata!))[1]!;
      assert.equal(nodata.labels.alertname, 'DatasourceNoData');
      // Data returns under the threshold: the no-data alert resolves, the metric alert resolves.
      await cpu(`${nodeId}-nodata`, 10, 175);
      await evalAt(180);
      assert.deepEqual(await state('nodata'), ['metric:resolved', 'nodata:resolved']);
    });

    test('a silence mutes the notices (the event records it); once it ends the firing notice goes out', async () => {
      const rule = await alerts.createRule(cpuRule({ name: `cpu-${nodeId}`, scope: { kind: 'node', values: [nodeId] }, forSeconds: 0 }));
      clock.set(at(-60));
      const silence = await alerts.createSilence({ matchers: [{ name: 'alertname', op: '=', value: `cpu-${nodeId}` }, { name: 'node', op: '=~', value: 'ev-.*' }], endsAt: at(300).toISOString(), comment: 'deploy' }, 'user:alice');
      await cpu(nodeId, 99, -5);
      await evalAt(0);
      const [ev] = await events(rule.id);
      assert.equal(ev!.status, 'firing', 'the event is kept');
      assert.deepEqual(ev!.muted_by.map((x) => x.kind), ['silence']);
      assert.equal(notifier.calls.length, 0);
      await cpu(nodeId, 99, 295);
      await evalAt(299);
      assert.equal(notifier.calls.length, 0);
      await cpu(nodeId, 99, 305);
      await evalAt(310);
      assert.deepEqual(notifier.reasons(), [`cpu-${nodeId}:fired`]);
      assert.ok(silence.id > 0);
    });

    test('a silence whose matchers do not match mutes nothing', async () => {
      const rule = await alerts.createRule(cpuRule({ name: `cpu-${nodeId}`, scope: { kind: 'node', values: [nodeId] }, forSeconds: 0 }));
      clock.set(at(-60));
      await alerts.createSilence({ matchers: [{ name: 'alertname', op: '=', value: `cpu-${nodeId}` }, { name: 'node', op: '!~', value: 'ev-.*' }], endsAt: at(300).toISOString() }, 'user:alice');
      await cpu(nodeId, 99, -5);
      await evalAt(0);
      assert.deepEqual((await events(rule.id)).map((e) => e.muted_by.length), [0]);
      assert.equal(notifier.calls.length, 1);
    });

    test('a recurring maintenance window in a time zone mutes the node\'s alerts while in force', async () => {
      const rule = await alerts.createRule(cpuRule({ name: `cpu-${nodeId}`, scope: { kind: 'node', values: [nodeId] }, forSeconds: 0 }));
      // Daily from the local time of START in Asia/Kathmandu (UTC+05:45) for 10 minutes.
      const local = new Date(START + (5 * 60 + 45) * 60_000);
      const hhmm = `${String(local.getUTCHours()).padStart(2, '0')}:${String(local.getUTCMinutes()).padStart(2, '0')}`;
      await alerts.createWindow({ name: 'daily reboot', nodeIds: [nodeId], services: [], recurrence: 'daily', startsAt: at(-86_400 * 3).toISOString(), startTime: hhmm, durationMinutes: 10, weekdays: [], timeZone: 'Asia/Kathmandu' }, 'user:alice');
      await cpu(nodeId, 99, 295);
      await evalAt(300);
      assert.deepEqual((await events(rule.id))[0]!.muted_by.map((x) => x.kind), ['maintenance']);
      assert.equal(notifier.calls.length, 0);
      await cpu(nodeId, 99, 595);
      await evalAt(600);
      assert.deepEqual(notifier.reasons(), [`cpu-${nodeId}:fired`], 'the window ended after 10 minutes');
    });

    test('snoozed and muted rules keep their alerts and send nothing', async () => {
      const rule = await alerts.createRule(cpuRule({ name: `cpu-${nodeId}`, scope: { kind: 'node', values: [nodeId] }, forSeconds: 0 }));
      clock.set(at(0));
      await alerts.setRuleFlags(rule.id, { snoozeSeconds: 3600 });
      await cpu(nodeId, 99, -5);
      await evalAt(0);
      assert.deepEqual((await events(rule.id))[0]!.muted_by.map((x) => x.kind), ['rule_snoozed']);
      await alerts.setRuleFlags(rule.id, { snoozeSeconds: null, muted: true });
      await cpu(nodeId, 99, 55);
      await evalAt(60);
      assert.deepEqual((await events(rule.id))[0]!.muted_by.map((x) => x.kind), ['rule_snoozed', 'rule_muted']);
      assert.equal(notifier.calls.length, 0);
    });

    test('a transition whose notice cannot be queued is not written either (one transaction)', async () => {
      const rule = await alerts.createRule(cpuRule({ name: `cpu-${nodeId}`, scope: { kind: 'node', values: [nodeId] }, forSeconds: 0 }));
      await cpu(nodeId, 99, -5);
      notifier.failWith = new Error('outbox unavailable');
      const round = await evalAt(0);
      assert.deepEqual(round.errors, [{ ruleId: rule.id, error: 'outbox unavailable' }], 'the rule failed; the others of the round were not stopped');
      assert.deepEqual(await events(rule.id), []);
      assert.deepEqual(await transitions(rule.id), []);
      notifier.failWith = null;
      await evalAt(10);
      assert.deepEqual(await transitions(rule.id), ['->firing']);
      assert.equal((await alerts.getRule(rule.id)).lastEvaluation?.state, 'ok');
    });

    test('other kinds: node silence, role down, stream bounce ratio, ratio of two columns, predict_linear, probes', async () => {
      await m.store.ingest('system', [
        { nodeId: `${nodeId}-wd1`, nodeRole: 'wildduck', timestamp: at(-300).toISOString(), cpuPercent: 1 },
        { nodeId: `${nodeId}-wd2`, nodeRole: 'wildduck', timestamp: at(-200).toISOString(), cpuPercent: 1 },
      ]);
      const silent = await alerts.createRule({ ...cpuRule(), name: `silent-${nodeId}`, condition: { kind: 'node_silence', silentSeconds: 120 }, scope: { kind: 'node', values: [`${nodeId}-wd1`, `${nodeId}-wd2`] }, forSeconds: 0 });
      const roleDown = await alerts.createRule({ ...cpuRule(), name: `role-${nodeId}`, condition: { kind: 'role_down', role: 'wildduck', silentSeconds: 120 }, forSeconds: 0 });
      await m.store.ingest('redis', [
        { nodeId: `${nodeId}-r`, timestamp: at(-20).toISOString(), role: 'master', memoryUsedBytes: 900, memoryMaxBytes: 1000 },
        { nodeId: `${nodeId}-r0`, timestamp: at(-20).toISOString(), role: 'master', memoryUsedBytes: 900, memoryMaxBytes: 0 },
      ]);
      const redis = await alerts.createRule({
        ...cpuRule(),
        name: `redis-${nodeId}`,
        forSeconds: 0,
        noDataPolicy: 'ok',
        scope: { kind: 'node', values: [`${nodeId}-r`, `${nodeId}-r0`] },
        condition: { kind: 'metric', family: 'redis', column: 'memory_used_bytes', divideBy: 'memory_max_bytes', aggregation: 'last', comparison: '>', threshold: 0.8, windowSeconds: 60 },
      });
      // Disk: 50 % → 60 % over 6 hours → +40 %/day: 100 % within 30 days.
      const rows = [];
      for (let h = 6; h >= 0; h--) rows.push({ nodeId: `${nodeId}-d`, timestamp: at(-h * 3600 - 1).toISOString(), diskPercent: 60 - (h * 10) / 6 });
      await m.store.ingest('system', rows);
      const disk = await alerts.createRule({
        ...cpuRule(),
        name: `disk-${nodeId}`,
        forSeconds: 0,
        scope: { kind: 'node', values: [`${nodeId}-d`] },
        condition: { kind: 'metric', family: 'system', column: 'disk_percent', aggregation: 'predict_linear', horizonSeconds: 30 * 86_400, comparison: '>=', threshold: 100, windowSeconds: 6 * 3600 + 60 },
      });
      const mk = (type: string, n: number) => Array.from({ length: n }, (_, i) => ({ eventType: type, mtaNode: `${nodeId}-mta`, timestamp: at(-100 + i).toISOString(), toDomain: 'example.org' }));
      await m.streams.ingest('email', [...mk('delivered', 8), ...mk('bounced', 2), ...mk('received', 5)]);
      const bounce = await alerts.createRule({
        ...cpuRule(),
        name: `bounce-${nodeId}`,
        forSeconds: 0,
        scope: { kind: 'node', values: [`${nodeId}-mta`] },
        condition: { kind: 'stream', stream: 'email', measure: 'ratio', match: { column: 'event_type', values: ['bounced'] }, of: { column: 'event_type', values: ['delivered', 'bounced'] }, per: 'node', minEvents: 5, comparison: '>', threshold: 15, windowSeconds: 300 },
      });
      probes.list = [
        { serviceName: `${nodeId}-smtp`, status: 'down', since: at(-30), labels: { port: '25' } },
        { serviceName: `${nodeId}-imap`, status: 'healthy', since: at(-30), labels: { port: '993' } },
      ];
      const probe = await alerts.createRule({ ...cpuRule(), name: `probe-${nodeId}`, forSeconds: 0, scope: { kind: 'service', values: [`${nodeId}-smtp`, `${nodeId}-imap`] }, condition: { kind: 'probe', statuses: ['down'], match: {} } });
      const later = await alerts.createRule({ ...cpuRule(), name: `cert-${nodeId}`, forSeconds: 0, noDataPolicy: 'alerting', condition: { kind: 'cert_expiry', withinDays: 7 } });
      await evalAt(0);
      const firing = async (id: number) => (await events(id)).filter((e) => e.status === 'firing').map((e) => Object.entries(e.labels).filter(([k]) => ['node', 'role', 'service'].includes(k)).map(([k, v]) => `${k}=${v}`).join(','));
      assert.deepEqual(await firing(silent.id), [`node=${nodeId}-wd1`, `node=${nodeId}-wd2`]);
      assert.ok((await firing(roleDown.id)).includes('role=wildduck'));
      assert.deepEqual(await firing(redis.id), [`node=${nodeId}-r`], 'maxmemory 0 (no limit) is left out');
      assert.equal((await events(redis.id))[0]!.value, 0.9);
      assert.deepEqual(await firing(disk.id), [`node=${nodeId}-d`]);
      const d = (await events(disk.id))[0]!;
      assert.ok(d.value! > 1000 && d.value! < 1400, `predicted ${d.value} % (60 + 40 × 30 = 1260)`);
      assert.deepEqual(await firing(bounce.id), [`node=${nodeId}-mta`]);
      assert.equal((await events(bounce.id))[0]!.value, 20, '2 bounced of 10 delivered or bounced; received left out');
      assert.deepEqual(await firing(probe.id), [`service=${nodeId}-smtp`]);
      assert.deepEqual(await events(later.id), [], 'a kind whose data does not exist yet opens nothing, whatever its policy');
      const laterRule = await alerts.getRule(later.id);
      assert.equal(laterRule.lastEvaluation?.state, 'no_data_yet');
      assert.match(String(laterRule.lastEvaluation?.message), /probe_tls_checks does not exist/);
    });

    test('service alert sink: down opens, recovery resolves, a new down within the dedup window is recorded without a notice', async () => {
      const svc = `svc-${nodeId}`;
      const change = (from: ServiceStatus | null, to: ServiceStatus, sec: number) => {
        clock.set(at(sec));
        return alerts.serviceStateChanged({ serviceName: svc, from, to, at: at(sec), message: `${to}`, details: { sec }, labels: { port: '25' } });
      };
      await change(null, 'down', 0);
      await change('down', 'down', 30);
      await change('down', 'healthy', 60);
      await change('healthy', 'down', 180);
      await change('down', 'degraded', 240);
      await change('degraded', 'healthy', 300);
      await change('healthy', 'down', 1500);
      const rows = await m.db.queryMany<{ alert_type: string; status: string; muted_by: { kind: string }[] }>('SELECT alert_type, status, muted_by FROM alert_events WHERE service_name = $1 ORDER BY id', [svc]);
      assert.deepEqual(rows.map((r) => `${r.alert_type}:${r.status}:${r.muted_by.map((x) => x.kind).join('+')}`), [
        'service_down:resolved:',
        'service_down:resolved:dedup',
        'service_degraded:resolved:',
        'service_down:firing:',
      ]);
      assert.deepEqual(
        notifier.calls.map((c) => `${c.notice.labels.alertname}:${c.notice.reason}`),
        ['ServiceDown:fired', 'ServiceDown:resolved', 'ServiceDown:resolved', 'ServiceDegraded:fired', 'ServiceDegraded:resolved', 'ServiceDown:fired'],
      );
      assert.deepEqual(notifier.calls[0]!.channels, [3]);
      const recent = await alerts.events.findRecentByService(svc, 'service_down', 10, at(1500));
      assert.equal(recent?.status, 'firing');
      assert.equal((await alerts.events.latestByService(svc))?.alertType, 'service_down');
    });

    test('a service alert muted by a silence is told once the silence ends, then repeated while firing (the evaluation round)', async () => {
      const svc = `muted-${nodeId}`;
      clock.set(at(-10));
      await alerts.createSilence({ matchers: [{ name: 'service', op: '=', value: svc }], endsAt: at(300).toISOString() }, 'user:alice');
      clock.set(at(0));
      await alerts.serviceStateChanged({ serviceName: svc, from: null, to: 'down', at: at(0), message: 'refused', details: {}, labels: {} });
      await evalAt(100);
      assert.equal(notifier.calls.length, 0);
      await evalAt(301);
      await evalAt(400);
      await evalAt(301 + 1800);
      assert.deepEqual(notifier.calls.map((c) => `${c.notice.serviceName}:${c.notice.reason}:${c.channels.join(',')}`), [`${svc}:fired:3`, `${svc}:repeat:3`]);
    });

    test('retention deletes resolved events older than N days, never open ones', async () => {
      const svc = `ret-${nodeId}`;
      clock.set(at(0));
      await alerts.serviceStateChanged({ serviceName: svc, from: null, to: 'down', at: at(0), message: '', details: {}, labels: {} });
      await alerts.serviceStateChanged({ serviceName: svc, from: 'down', to: 'healthy', at: at(10), message: '', details: {}, labels: {} });
      await alerts.serviceStateChanged({ serviceName: svc, from: 'healthy', to: 'down', at: at(20), message: '', details: {}, labels: {} });
      assert.equal(await alerts.events.deleteOlderThan(30, new Date(START + 29 * 86_400_000)), 0);
      const n = await alerts.events.deleteOlderThan(30, new Date(START + 31 * 86_400_000));
      assert.ok(n >= 1);
      assert.deepEqual((await alerts.events.findAll({ service: svc })).map((e) => e.status), ['firing']);
    });

    test('alert_events has row-level security enabled and forced, and Opsdeck\'s own queries still work', async () => {
      const r = await m.db.queryOne<{ relrowsecurity: boolean; relforcerowsecurity: boolean; policies: number }>(
        `SELECT c.relrowsecurity, c.relforcerowsecurity, (SELECT count(*)::int FROM pg_policy p WHERE p.polrelid = c.oid) AS policies FROM pg_class c WHERE c.relname = 'alert_events'`,
      );
      assert.deepEqual(r, { relrowsecurity: true, relforcerowsecurity: true, policies: 1 });
      const svc = `rls-${nodeId}`;
      clock.set(at(0));
      await alerts.serviceStateChanged({ serviceName: svc, from: null, to: 'down', at: at(0), message: 'x', details: {}, labels: {} });
      assert.equal((await alerts.events.findAll({ service: svc })).length, 1);
      // Another role granted SELECT sees no row: no policy lets it.
      const role = `alerts_reader_${Math.random().toString(36).slice(2, 10)}`;
      await m.db.exec(`CREATE ROLE ${role}; GRANT SELECT ON alert_events TO ${role}`);
      try {
        const seen = await m.db.transaction(async (tx) => {
          await tx.query(`SET LOCAL ROLE ${role}`);
          return (await tx.queryOne<{ n: number }>('SELECT count(*)::int AS n FROM alert_events'))?.n;
        });
        assert.equal(seen, 0);
        assert.ok(((await m.db.queryOne<{ n: number }>('SELECT count(*)::int AS n FROM alert_events'))?.n ?? 0) > 0, 'Opsdeck\'s own role sees the rows');
      } finally {
        await m.db.exec(`REVOKE ALL ON alert_events FROM ${role}; DROP ROLE ${role}`);
      }
    });

    const secondConnection = async (): Promise<{ db: Database; close: () => Promise<void> }> => {
      if (kind === 'postgres' && m.url) {
        const db = new PostgresDatabase({ url: m.url });
        return { db, close: () => db.close() };
      }
      return { db: m.db, close: async () => {} };
    };

    test('a restart in the middle of `for`: a new process on the same database carries on', async () => {
      const rule = await alerts.createRule(cpuRule({ name: `cpu-${nodeId}`, scope: { kind: 'node', values: [nodeId] } }));
      await cpu(nodeId, 90, -5);
      await evalAt(0);
      const other = await secondConnection();
      try {
        const clock2 = new ManualClock(at(125));
        const notifier2 = new Recorder();
        const restarted = new AlertsService({ db: other.db, clock: clock2, notifier: notifier2 });
        await cpu(nodeId, 90, 120);
        await restarted.evaluate();
        assert.deepEqual(await transitions(rule.id), ['->pending', 'pending>firing']);
        assert.deepEqual(notifier2.reasons(), [`cpu-${nodeId}:fired`]);
      } finally {
        await other.close();
      }
    });

    test('two processes evaluating at once write one set of transitions and queue each notice once', async () => {
      const rule = await alerts.createRule(cpuRule({ name: `cpu-${nodeId}`, scope: { kind: 'node', values: [nodeId] }, forSeconds: 0 }));
      await cpu(nodeId, 99, -5);
      const other = await secondConnection();
      try {
        clock.set(at(0));
        const notifier2 = new Recorder();
        const b = new AlertsService({ db: other.db, clock, notifier: notifier2 });
        await Promise.all([alerts.evaluate(), b.evaluate(), alerts.evaluate(), b.evaluate()]);
        assert.deepEqual(await transitions(rule.id), ['->firing']);
        assert.equal(notifier.calls.length + notifier2.calls.length, 1);
      } finally {
        await other.close();
      }
    });

    test('a kind another module owns is evaluated by the observer that module gives, inside the round\'s transaction; without one it stays "no data yet"', async () => {
      const rule = await alerts.createRule(
        ruleInputSchema.parse({ name: `dnsbl-${nodeId}`, severity: 'critical', condition: { kind: 'dnsbl_listed', lists: 'critical' }, noDataPolicy: 'alerting', channels: [7] }),
      );
      await evalAt(0);
      assert.deepEqual(await events(rule.id), [], 'no observer: no event, even with noDataPolicy alerting');

      let listed = true;
      const seen: { kind: string; scope: string; inTx: boolean }[] = [];
      const observed = new AlertsService({
        db: m.db,
        clock,
        notifier,
        observers: {
          dnsbl_listed: {
            async observe(db, condition, scope) {
              // A query through the given handle works: it is the round's transaction.
              const r = await db.queryOne<{ n: number }>('SELECT count(*)::int AS n FROM alert_rules WHERE id = $1', [rule.id]);
              seen.push({ kind: condition.kind, scope: scope.kind, inTx: r?.n === 1 });
              return [{ series: { ip: '192.0.2.7', zone: 'zen.spamhaus.org' }, nodeId, serviceName: null, holds: listed, recovered: !listed, value: listed ? '127.0.0.2' : null, message: listed ? '192.0.2.7 listed on zen.spamhaus.org' : 'clean', details: {} }];
            },
          },
        },
      });
      clock.set(at(30));
      await observed.evaluate();
      const fired = await events(rule.id);
      assert.deepEqual(fired.map((e) => [e.status, e.labels.ip, e.labels.zone]), [['firing', '192.0.2.7', 'zen.spamhaus.org']]);
      assert.deepEqual(seen, [{ kind: 'dnsbl_listed', scope: 'all', inTx: true }]);
      assert.deepEqual(notifier.reasons(), [`dnsbl-${nodeId}:fired`]);

      listed = false;
      clock.set(at(60));
      await observed.evaluate();
      assert.deepEqual((await events(rule.id)).map((e) => e.status), ['resolved']);
    });
  });
}
