/**
 * Sending IPs over HTTP on every backend: adding one and a range (254 host
 * addresses of a /24, IPv6 by count, duplicates), keyset paging over 2,032 IPs,
 * bulk pause/resume, bad input (400 naming the field), the warm-up plans and the
 * daily gate over ingested email_events with a ManualClock, and the warm-up alert
 * kinds through the alerts service. Expected values are written by hand.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { enabledBackends, refreshStreamRollups } from '../../../test/support/backends.ts';
import { buildTestRuntime, type TestRuntime } from '../../../test/support/app.ts';
import { loginAs } from '../../../test/support/auth.ts';
import { ManualClock } from '../../domain/clock.ts';
import { AlertsService } from '../alerts/service.ts';
import { ruleInputSchema } from '../alerts/conditions.ts';
import { WarmupService, warmupBounceObserver, warmupHeldObserver } from './warmup.ts';

const hosts = (prefix: string, from = 1, to = 254) => Array.from({ length: to - from + 1 }, (_, i) => `${prefix}.${from + i}`);

for (const kind of enabledBackends()) {
  describe(`sending IPs [${kind}]`, () => {
    let rt: TestRuntime;
    let op: string;
    let viewer: string;
    // Day 0 of the warm-up story: five days ago (UTC midnight), so ingest accepts its events.
    const D0 = Math.floor(Date.now() / 86_400_000) * 86_400_000 - 5 * 86_400_000;
    const at = (days: number, hours: number, minutes = 0) => new Date(D0 + days * 86_400_000 + hours * 3_600_000 + minutes * 60_000).toISOString();
    const dayOf = (days: number) => at(days, 0).slice(0, 10);
    const clock = new ManualClock(at(0, 12));
    const req = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, authorization: string, payload?: unknown) =>
      rt.app.inject({ method, url, headers: { authorization }, ...(payload === undefined ? {} : { payload: payload as object }) });

    before(async () => {
      rt = await buildTestRuntime(kind, {}, { clock });
      op = await loginAs(rt, 'operator');
      viewer = await loginAs(rt, 'viewer');
      await rt.db.query(`INSERT INTO nodes (id, role) VALUES ('mta-01', 'zonemta-outbound'), ('mta-02', 'zonemta-outbound') ON CONFLICT DO NOTHING`);
    });
    after(async () => {
      await rt?.destroy();
    });

    test('one IP: added, read, changed, retired; a second time is 409', async () => {
      const r = await req('POST', '/api/v1/ips', op, { ip: '198.51.100.10', nodeId: 'mta-01', subnet: '198.51.100.0/24', notes: 'pool A' });
      assert.equal(r.statusCode, 201, r.body);
      const ip = r.json();
      assert.deepEqual([ip.ip, ip.ipVersion, ip.nodeId, ip.subnet, ip.status, ip.warmupDay, ip.dailyLimit, ip.blacklistCount, ip.reputationScore, ip.notes], ['198.51.100.10', 4, 'mta-01', '198.51.100.0/24', 'active', 0, null, 0, 50, 'pool A']);
      assert.equal((await req('POST', '/api/v1/ips', op, { ip: '198.51.100.10' })).json().code, 'IP_EXISTS');
      const v6 = await req('POST', '/api/v1/ips', op, { ip: '2001:DB8:0:0::10', ipVersion: 6 });
      assert.equal(v6.statusCode, 201, v6.body);
      assert.deepEqual([v6.json().ip, v6.json().ipVersion], ['2001:db8::10', 6]);
      assert.equal((await req('GET', '/api/v1/ips/2001:db8::10', viewer)).json().ip, '2001:db8::10');
      const patched = await req('PATCH', '/api/v1/ips/198.51.100.10', op, { notes: 'pool B', status: 'paused' });
      assert.deepEqual([patched.json().notes, patched.json().status, patched.json().statusReason], ['pool B', 'paused', 'set by a user']);
      const scored = await req('PATCH', '/api/v1/ips/198.51.100.10', op, { reputationScore: 90 });
      assert.equal(scored.statusCode, 400, 'the reputation score is computed by Opsdeck, not set by hand');
      const retired = await req('DELETE', '/api/v1/ips/198.51.100.10', op);
      assert.equal(retired.json().status, 'retired');
      assert.equal((await req('GET', '/api/v1/ips/198.51.100.10', viewer)).json().status, 'retired', 'retiring keeps the row');
      assert.equal((await req('GET', '/api/v1/ips/198.51.100.99', viewer)).statusCode, 404);
    });

    test('bad input is 400 naming the field', async () => {
      const cases: [string, string, unknown, string][] = [
        ['POST', '/api/v1/ips', { ip: '198.51.100.300' }, 'body.ip'],
        ['POST', '/api/v1/ips', { ip: 'mail.example.com' }, 'body.ip'],
        ['POST', '/api/v1/ips', { ip: '198.51.100.11', ipVersion: 6 }, 'body.ip'],
        ['POST', '/api/v1/ips', { ip: '198.51.100.12', nodeId: 'no-such-node' }, 'body.nodeId'],
        ['POST', '/api/v1/ips', { ip: '198.51.100.13', subnet: '203.0.113.0/24' }, 'body.subnet'],
        ['POST', '/api/v1/ips', { ip: '198.51.100.14', subnet: '2001:db8::/64' }, 'body.subnet'],
        ['POST', '/api/v1/ips/range', { cidr: '198.51.0.0/23' }, 'body.cidr'],
        ['POST', '/api/v1/ips/range', { cidr: 'not-a-range' }, 'body.cidr'],
        ['POST', '/api/v1/ips/range', { cidr: '2001:db8:9::/64' }, 'body.count'],
        ['POST', '/api/v1/ips/range', { cidr: '2001:db8:9::/64', count: 65 }, 'body.count'],
        ['POST', '/api/v1/ips/range', { cidr: '198.51.100.0/24', count: 3 }, 'body.count'],
        ['POST', '/api/v1/warmup-plans', { name: 'down', schedule: [50, 100, 90, 200] }, 'body.schedule.2'],
        ['POST', '/api/v1/dnsbl/zones', { zone: 'not a zone', tier: 'medium' }, 'body.zone'],
        ['POST', '/api/v1/dnsbl/zones', { zone: '192.0.2.1', tier: 'medium' }, 'body.zone'],
        ['POST', '/api/v1/dnsbl/zones', { zone: 'bl.example.test', tier: 'urgent' }, 'body.tier'],
        ['PUT', '/api/v1/ips/198.51.100.20/warmup', { planId: 999999 }, 'body.planId'],
        ['GET', '/api/v1/ips/198.51.100.256', undefined, 'params.ip'],
        ['GET', '/api/v1/ips?subnet=198.51.100.0/33', undefined, 'querystring.subnet'],
      ];
      assert.equal((await req('POST', '/api/v1/ips', op, { ip: '198.51.100.20' })).statusCode, 201);
      for (const [method, url, body, path] of cases) {
        const r = await req(method as 'GET' | 'POST' | 'PUT', url, op, body);
        assert.equal(r.statusCode, 400, `${method} ${url} ${JSON.stringify(body)}: ${r.body}`);
        const paths = (r.json().errors ?? []).map((e: { path: string }) => e.path);
        assert.ok(paths.includes(path), `${method} ${url} ${JSON.stringify(body)}: expected ${path} in ${JSON.stringify(paths)} (${r.json().code})`);
      }
      assert.equal((await req('POST', '/api/v1/warmup-plans', op, { name: 'down', schedule: [50, 100, 90, 200] })).json().code, 'WARMUP_SCHEDULE_DECREASES');
      assert.equal((await req('POST', '/api/v1/dnsbl/zones', op, { zone: 'not a zone', tier: 'medium' })).json().code, 'INVALID_ZONE');
    });

    test('a /24 adds its 254 host addresses, all or nothing; duplicates are 409 naming them or skipped; IPv6 by count', async () => {
      const r = await req('POST', '/api/v1/ips/range', op, { cidr: '203.0.113.77/24', nodeId: 'mta-02' });
      assert.equal(r.statusCode, 201, r.body);
      assert.equal(r.json().cidr, '203.0.113.0/24');
      assert.deepEqual(r.json().added, hosts('203.0.113'));
      const stored = await rt.db.queryOne<{ n: number; subnets: string[] }>(`SELECT count(*)::int AS n, array_agg(DISTINCT subnet::text) AS subnets FROM sending_ips WHERE ip <<= '203.0.113.0/24'`);
      assert.deepEqual([stored?.n, stored?.subnets], [254, ['203.0.113.0/24']]);

      await req('POST', '/api/v1/ips', op, { ip: '192.0.2.200' });
      const dup = await req('POST', '/api/v1/ips/range', op, { cidr: '192.0.2.192/28' });
      assert.equal(dup.statusCode, 409);
      assert.deepEqual(dup.json().existing, ['192.0.2.200']);
      assert.equal((await rt.db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM sending_ips WHERE ip <<= '192.0.2.192/28'`))?.n, 1, 'nothing of the refused range was added');
      const skipped = await req('POST', '/api/v1/ips/range', op, { cidr: '192.0.2.192/28', onConflict: 'skip' });
      assert.equal(skipped.statusCode, 201);
      assert.deepEqual(skipped.json().skipped, ['192.0.2.200']);
      assert.deepEqual(skipped.json().added, hosts('192.0.2', 193, 206).filter((a) => a !== '192.0.2.200'));

      const slash31 = await req('POST', '/api/v1/ips/range', op, { cidr: '192.0.2.240/31' });
      assert.deepEqual(slash31.json().added, ['192.0.2.240', '192.0.2.241']);
      const v6 = await req('POST', '/api/v1/ips/range', op, { cidr: '2001:db8:5::/64', count: 3 });
      assert.equal(v6.statusCode, 201, v6.body);
      assert.deepEqual(v6.json().added, ['2001:db8:5::1', '2001:db8:5::2', '2001:db8:5::3']);
    });

    test('paging over 2,032 IPs is complete, ordered and stable while IPs are added', async () => {
      for (let o = 0; o < 8; o++) assert.equal((await req('POST', '/api/v1/ips/range', op, { cidr: `198.18.${o}.0/24`, nodeId: 'mta-01' })).statusCode, 201);
      const expected = Array.from({ length: 8 }, (_, o) => hosts(`198.18.${o}`)).flat();
      assert.equal(expected.length, 2032);
      const seen: string[] = [];
      let after: string | null = null;
      let pages = 0;
      do {
        const r = await req('GET', `/api/v1/ips?subnet=198.18.0.0/21&limit=300${after ? `&after=${after}` : ''}`, viewer);
        assert.equal(r.statusCode, 200, r.body);
        const body = r.json();
        if (pages === 0) {
          assert.equal(body.total, 2032);
          // Added behind the cursor (not seen) and ahead of it (seen once) while paging.
          await req('POST', '/api/v1/ips', op, { ip: '198.18.0.0' });
          await req('POST', '/api/v1/ips', op, { ip: '198.18.7.255' });
        }
        seen.push(...body.items.map((i: { ip: string }) => i.ip));
        after = body.next;
        pages++;
      } while (after !== null && pages < 20);
      assert.equal(seen.length, 2033);
      assert.equal(pages, 7);
      assert.deepEqual(seen, [...expected, '198.18.7.255']);
      const filtered = (await req('GET', '/api/v1/ips?nodeId=mta-01&status=active&search=198.18.3.1&limit=1000', viewer)).json();
      assert.deepEqual(filtered.items.map((i: { ip: string }) => i.ip), ['198.18.3.1', ...hosts('198.18.3', 10, 19), ...hosts('198.18.3', 100, 199)]);
      assert.equal(filtered.total, 111);
    });

    test('bulk pause and resume by list and by filter', async () => {
      await req('POST', '/api/v1/ips/range', op, { cidr: '100.64.1.0/29', nodeId: 'mta-02' });
      const byList = await req('POST', '/api/v1/ips/bulk-action', op, { action: 'pause', ips: ['100.64.1.1', '100.64.1.2', '100.64.9.9'], reason: 'abuse report' });
      assert.equal(byList.statusCode, 200, byList.body);
      assert.deepEqual([byList.json().changed, byList.json().unknown], [['100.64.1.1', '100.64.1.2'], ['100.64.9.9']]);
      assert.equal((await req('GET', '/api/v1/ips/100.64.1.1', viewer)).json().statusReason, 'abuse report');
      const byFilter = await req('POST', '/api/v1/ips/bulk-action', op, { action: 'pause', filter: { subnet: '100.64.1.0/29' } });
      assert.deepEqual(byFilter.json().changed, ['100.64.1.3', '100.64.1.4', '100.64.1.5', '100.64.1.6']);
      assert.equal(byFilter.json().unchanged, 2);
      const resumed = await req('POST', '/api/v1/ips/bulk-action', op, { action: 'resume', filter: { subnet: '100.64.1.0/29', status: 'paused' } });
      assert.equal(resumed.json().changed.length, 6);
      assert.equal((await req('GET', '/api/v1/ips/100.64.1.6', viewer)).json().status, 'active');
      assert.equal((await req('POST', '/api/v1/ips/bulk-action', op, { action: 'pause' })).statusCode, 400, 'neither ips nor filter');
      assert.equal((await req('POST', '/api/v1/ips/bulk-action', viewer, { action: 'pause', ips: ['100.64.1.1'] })).statusCode, 403);
    });

    test('warm-up templates are stored as §10.3/§19.2 give them', async () => {
      const plans = (await req('GET', '/api/v1/warmup-plans', viewer)).json().items as { name: string; days: number; schedule: number[]; maxBouncePercent: number; maxComplaintPercent: number }[];
      const by = Object.fromEntries(plans.map((p) => [p.name, p]));
      assert.deepEqual([by.conservative?.days, by.moderate?.days, by.aggressive?.days], [90, 60, 30]);
      assert.deepEqual([by.moderate!.schedule[0], by.moderate!.schedule[6], by.moderate!.schedule[29], by.moderate!.schedule[59]], [50, 500, 5000, 50000]);
      assert.deepEqual([by.conservative!.schedule[0], by.conservative!.schedule[89]], [50, 50000]);
      assert.deepEqual([by.aggressive!.schedule[0], by.aggressive!.schedule[29]], [50, 50000]);
      assert.deepEqual([by.moderate!.maxBouncePercent, by.moderate!.maxComplaintPercent], [2, 0.1]);
      for (const p of plans) for (let i = 1; i < p.schedule.length; i++) assert.ok(p.schedule[i]! >= p.schedule[i - 1]!, `${p.name} day ${i + 1}`);
    });

    test('warm-up: a day advances while bounces stay under the gate, is held (and alerts) when they do not', async () => {
      clock.set(at(0, 12));
      const plan = await req('POST', '/api/v1/warmup-plans', op, { name: `three-days-${kind}`, schedule: [100, 200, 400] });
      assert.equal(plan.statusCode, 201, plan.body);
      const planId = plan.json().id;
      const good = '203.0.114.10';
      const bad = '203.0.114.11';
      const quiet = '203.0.114.12';
      for (const ip of [good, bad, quiet]) {
        const r = await req('POST', '/api/v1/ips', op, { ip, nodeId: 'mta-01', warmupPlanId: planId });
        assert.deepEqual([r.json().status, r.json().warmupDay, r.json().dailyLimit, r.json().warmupStart], ['warming', 1, 100, dayOf(0)]);
      }
      const events = (ip: string, at: string, delivered: number, bounced: number) => [
        ...Array.from({ length: delivered }, (_, i) => ({ timestamp: new Date(Date.parse(at) + i * 1000).toISOString(), eventType: 'delivered', sendingIp: ip, toDomain: 'gmail.com' })),
        ...Array.from({ length: bounced }, (_, i) => ({ timestamp: new Date(Date.parse(at) + (delivered + i) * 1000).toISOString(), eventType: 'bounced', bounceType: 'hard', sendingIp: ip, toDomain: 'gmail.com' })),
      ];
      // Day 1: 1 % and 1 % bounces (both under 2 %).
      await rt.streams.ingest('email', [...events(good, at(0, 13), 99, 1), ...events(bad, at(0, 13), 99, 1)]);
      const warmup = new WarmupService({ db: rt.db, clock });
      clock.set(at(1, 0, 30));
      assert.deepEqual(await warmup.advanceDue(), { advanced: [good, bad], held: [quiet], completed: [] });
      assert.deepEqual(await warmup.advanceDue(), { advanced: [], held: [], completed: [] }, 'once per day');
      // Day 2: the bad IP bounces 5 of 100 (5 %).
      await rt.streams.ingest('email', [...events(good, at(1, 9), 100, 0), ...events(bad, at(1, 9), 95, 5)]);
      clock.set(at(2, 0, 30));
      assert.deepEqual(await warmup.advanceDue(), { advanced: [good], held: [bad, quiet], completed: [] });
      // Sent today (after the gate ran): 7 attempts since midnight.
      await rt.streams.ingest('email', events(bad, at(2, 0, 10), 7, 0));

      const st = (await req('GET', `/api/v1/ips/${bad}/warmup`, viewer)).json();
      assert.equal(st.day, 2);
      assert.equal(st.held, true);
      assert.equal(st.todayAllowance, 200);
      assert.equal(st.sentToday, 7);
      assert.equal(st.remainingToday, 193);
      assert.match(st.heldReason, /^bounce_rate: bounce rate 5 % \(5 of 100\)/);
      assert.deepEqual([st.lastGate.attempts, st.lastGate.bounced, st.lastGate.bounceRate, st.lastGate.passed], [100, 5, 5, false]);
      assert.equal((await req('GET', `/api/v1/ips/${good}/warmup`, viewer)).json().todayAllowance, 400);
      const quietState = (await req('GET', `/api/v1/ips/${quiet}/warmup`, viewer)).json();
      assert.deepEqual([quietState.day, quietState.held], [1, true]);
      assert.match(quietState.heldReason, /^too_little_traffic/);
      const list = (await req('GET', '/api/v1/ips/warmup', viewer)).json().items.map((i: { ip: string }) => i.ip);
      assert.ok([good, bad, quiet].every((ip) => list.includes(ip)));
      await warmup.refreshDailySent();
      assert.equal((await rt.db.queryOne<{ n: number }>(`SELECT current_daily_sent AS n FROM sending_ips WHERE ip = $1`, [bad]))?.n, 7);

      const observed = await warmupHeldObserver.observe(rt.db, { kind: 'warmup_held' }, { kind: 'all', values: [] }, clock.now());
      assert.deepEqual(observed.filter((o) => [good, bad, quiet].includes(o.series.ip!)).map((o) => [o.series.ip, o.nodeId, o.holds, o.value]), [
        [good, 'mta-01', false, 3],
        [bad, 'mta-01', true, 2],
        [quiet, 'mta-01', false, 1],
      ]);
      const bounceObs = await warmupBounceObserver.observe(rt.db, { kind: 'warmup_bounce', comparison: '>', threshold: 3, windowSeconds: 86_400 }, { kind: 'all', values: [] }, clock.now());
      assert.deepEqual(bounceObs.filter((o) => [good, bad, quiet].includes(o.series.ip!)).map((o) => [o.series.ip, o.holds, o.value]), [
        [good, false, 0],
        [bad, true, 4.673],
        [quiet, false, null],
      ]);
      // The held gate and the bounce rate raise alerts through the alerts service.
      const alerts = new AlertsService({ db: rt.db, clock, observers: { warmup_held: warmupHeldObserver, warmup_bounce: warmupBounceObserver } });
      const held = await alerts.createRule(ruleInputSchema.parse({ name: `held-${kind}`, severity: 'warning', condition: { kind: 'warmup_held' } }));
      const bounce = await alerts.createRule(ruleInputSchema.parse({ name: `wb-${kind}`, severity: 'info', condition: { kind: 'warmup_bounce', comparison: '>', threshold: 3, windowSeconds: 86_400 } }));
      await alerts.evaluate();
      const firing = async (ruleId: number) => (await rt.db.queryMany<{ ip: string }>(`SELECT labels->>'ip' AS ip FROM alert_events WHERE rule_id = $1 AND status = 'firing' ORDER BY 1`, [ruleId])).map((r) => r.ip);
      assert.deepEqual(await firing(held.id), [bad], 'held for bounces fires; held for no traffic does not');
      // bad: 5 bounced of 107 attempts in the last 24 h = 4.67 % > 3 %; good: 0 %.
      assert.deepEqual(await firing(bounce.id), [bad]);

      // Day 3 clean for both: the bad IP advances again (the alert resolves), the good one completes its plan.
      await rt.streams.ingest('email', [...events(good, at(2, 9), 50, 0), ...events(bad, at(2, 9), 200, 0)]);
      clock.set(at(3, 0, 30));
      assert.deepEqual(await warmup.advanceDue(), { advanced: [bad], held: [quiet], completed: [good] });
      const done = (await req('GET', `/api/v1/ips/${good}`, viewer)).json();
      assert.deepEqual([done.status, done.dailyLimit, done.warmupDay, done.statusReason], ['active', null, 4, 'warm-up plan completed']);
      await alerts.evaluate();
      assert.deepEqual(await firing(held.id), []);
    });

    test('warm-up: complaints (feedback-loop reports) over 0.1 % of attempts hold the IP even with no bounces', async () => {
      clock.set(at(3, 12));
      const plan = await req('POST', '/api/v1/warmup-plans', op, { name: `complaints-${kind}`, schedule: [1000, 2000] });
      const ip = '203.0.114.40';
      const clean = '203.0.114.41';
      for (const x of [ip, clean]) assert.equal((await req('POST', '/api/v1/ips', op, { ip: x, nodeId: 'mta-01', warmupPlanId: plan.json().id })).statusCode, 201);
      const ev = (x: string, type: string, n: number) => Array.from({ length: n }, (_, i) => ({ timestamp: new Date(Date.parse(at(3, 13)) + i * 1000).toISOString(), eventType: type, sendingIp: x, toDomain: 'gmail.com' }));
      // 2 complaints of 1,000 attempts = 0.2 % (over 0.1 %); 1 of 2,000 = 0.05 % (under).
      await rt.streams.ingest('email', [...ev(ip, 'delivered', 1000), ...ev(ip, 'complaint', 2), ...ev(clean, 'delivered', 2000), ...ev(clean, 'complaint', 1)]);
      clock.set(at(4, 0, 30));
      const r = await new WarmupService({ db: rt.db, clock }).advanceDue();
      assert.ok(r.held.includes(ip) && !r.advanced.includes(ip), JSON.stringify(r));
      assert.ok(r.advanced.includes(clean), `${JSON.stringify(r)} ${(await req('GET', `/api/v1/ips/${clean}/warmup`, viewer)).body}`);
      const st = (await req('GET', `/api/v1/ips/${ip}/warmup`, viewer)).json();
      assert.match(st.heldReason, /complaint/);
      assert.deepEqual([st.lastGate.complaints, st.lastGate.complaintRate], [2, 0.2]);
    });
    test('reputation: bounce and complaint rates of 24 h and 7 d in whole 5-minute buckets, from the rollups before and after their refresh; an IPv6 address also counts the events naming it in sending_ip_v6 only', async () => {
      for (const ip of ['192.0.2.61', '2001:db8::61']) assert.equal((await req('POST', '/api/v1/ips', op, { ip })).statusCode, 201);
      const now = new Date(at(4, 12, 2)); // not on a bucket: the 24 h window starts at the next bucket, 3 d 12:05
      clock.set(now);
      const ev = (t: string, eventType: string, sendingIp: string, sendingIpV6?: string) => ({ timestamp: t, eventType, mtaNode: 'mta-01', fromDomain: 'rep.example', sendingIp, ...(sendingIpV6 ? { sendingIpV6 } : {}) });
      const hourAgo = new Date(now.getTime() - 3_600_000).toISOString();
      await rt.streams.ingest('email', [
        ...[1, 2, 3].map((i) => ev(new Date(now.getTime() - 3_600_000 + i * 1000).toISOString(), 'delivered', '192.0.2.61')), // distinct: an event sent twice is stored once
        ev(hourAgo, 'bounced', '192.0.2.61'),
        ev(at(3, 12, 6), 'bounced', '192.0.2.61'), // in the 24 h window's first bucket
        ev(at(3, 12, 3), 'bounced', '192.0.2.61'), // 23 h 59 min ago: before that bucket, in 7 d only
        ev(at(1, 9), 'deferred', '192.0.2.61'),
        ev(at(1, 9), 'complaint', '192.0.2.61'),
        ev(hourAgo, 'bounced', '192.0.2.62'), // another IP
        ev(hourAgo, 'delivered', '2001:db8::61'),
        ev(hourAgo, 'bounced', '192.0.2.99', '2001:db8::61'), // the IPv6 address in sending_ip_v6 only
        ev(hourAgo, 'delivered', '2001:db8::61', '2001:db8::61'), // in both: counted once
      ]);
      const rates = async (ip: string) => (await req('GET', `/api/v1/ips/${ip}/reputation`, viewer)).json().rates;
      const pick = (r: { from: string; attempts: number; bounced: number; complaints: number; bounceRate: number; complaintRate: number }) => [r.from, r.attempts, r.bounced, r.complaints, r.bounceRate, r.complaintRate];
      const expected4 = [
        [at(3, 12, 5), 5, 2, 0, 40, 0],
        [at(-3, 12, 5), 7, 3, 1, 42.857, 14.286], // attempts: 3 delivered, 3 bounced, 1 deferred; complaints per attempt
      ];
      const expected6 = [[at(3, 12, 5), 3, 1, 0, 33.333, 0]];
      const live4 = await rates('192.0.2.61');
      assert.deepEqual([pick(live4.last24h), pick(live4.last7d)], expected4);
      assert.deepEqual([pick((await rates('2001:db8::61')).last24h)], expected6);
      await refreshStreamRollups({ db: rt.db, tier: rt.tier.tier, streams: rt.streams }, 'email');
      const stored4 = await rates('192.0.2.61');
      assert.deepEqual([pick(stored4.last24h), pick(stored4.last7d)], expected4);
      assert.deepEqual([pick((await rates('2001:db8::61')).last24h)], expected6);
    });
  });
}
