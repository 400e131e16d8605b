/**
 * The DNSBL checker on every backend, against a real DNS server on loopback
 * (dnsmasq): a round records listings, clean answers and errors (a Spamhaus
 * refusal code, a server that never answers) in dnsbl_listings and the
 * blacklist_checks stream, keeps blacklist_count / last_blacklist_check current,
 * pauses an IP listed on a critical zone (and only then), checks PTRs
 * (forward-confirmed), raises and resolves the dnsbl_listed / dnsbl_node_ips
 * alerts, and answers the reputation overview. Zones are edited through the API.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { enabledBackends } from '../../../test/support/backends.ts';
import { buildTestRuntime, type TestRuntime } from '../../../test/support/app.ts';
import { createApiKey, loginAs } from '../../../test/support/auth.ts';
import { blackhole, startDnsServer, type DnsRecords, type DnsServer } from '../../../test/support/dns-server.ts';
import { ManualClock } from '../../domain/clock.ts';
import { AlertsService } from '../alerts/service.ts';
import { ruleInputSchema } from '../alerts/conditions.ts';
import { refreshScores } from '../sending-ips/reputation.ts';
import { dnsblQueryName, DnsblResolver } from './lookup.ts';
import { DnsblService, dnsblListedObserver, dnsblNodeIpsObserver } from './service.ts';

const NODE = 'mta-dnsbl';
const records = (listed7: boolean): DnsRecords => ({
  authoritative: ['crit.bl.test', 'med.bl.test', 'v6.bl.test', 'example.test', '2.0.192.in-addr.arpa'],
  a: {
    ...(listed7 ? { '7.2.0.192.crit.bl.test': ['127.0.0.2'] } : {}),
    '9.2.0.192.med.bl.test': ['127.0.0.3'],
    '54.2.0.192.crit.bl.test': ['127.255.255.254'],
    [dnsblQueryName('2001:db8::25', 'v6.bl.test')]: ['127.0.0.4'],
    'mail7.example.test': ['192.0.2.7'],
  },
  txt: listed7 ? { '7.2.0.192.crit.bl.test': ['listed: spam trap hits, see https://crit.bl.test/lookup'] } : {},
  ptr: { '9.2.0.192.in-addr.arpa': 'wrong.example.test' },
});

for (const kind of enabledBackends()) {
  describe(`DNSBL checker [${kind}]`, () => {
    let rt: TestRuntime;
    let dns: DnsServer;
    let op: string;
    let viewer: string;
    let svc: DnsblService;
    const T0 = Math.floor(Date.now() / 60_000) * 60_000 - 3600_000;
    const clock = new ManualClock(T0);
    const req = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, authorization: string, payload?: unknown) =>
      rt.app.inject({ method, url, headers: { authorization }, ...(payload === undefined ? {} : { payload: payload as object }) });
    const ip = async (a: string) => (await req('GET', `/api/v1/ips/${a}`, viewer)).json();
    const checks = (a: string, zone: string) =>
      rt.db.queryMany<{ listed: boolean | null; response: string | null; reason: string | null; error: string | null; tier: string; node_id: string | null }>(
        'SELECT listed, response, reason, error, tier, node_id FROM blacklist_checks WHERE ip = $1::inet AND blacklist = $2 ORDER BY time',
        [a, zone],
      );

    before(async () => {
      dns = await startDnsServer(records(true));
      rt = await buildTestRuntime(kind, { dnsblResolvers: [dns.server], dnsblTimeoutMs: 2000 }, { clock });
      op = await loginAs(rt, 'operator');
      viewer = await loginAs(rt, 'viewer');
      svc = new DnsblService({ db: rt.db, clock, streams: rt.streams, resolver: new DnsblResolver({ servers: [dns.server], timeoutMs: 2000, tries: 2 }) });
      await rt.db.query(`INSERT INTO nodes (id, role) VALUES ($1, 'zonemta-outbound') ON CONFLICT DO NOTHING`, [NODE]);
      // The seeded zones are real lists the loopback server does not serve: set them aside.
      await rt.db.query('UPDATE dnsbl_zones SET enabled = false');
      for (const [zone, tier, ipv6] of [['crit.bl.test', 'critical', false], ['med.bl.test', 'medium', false], ['v6.bl.test', 'high', true]] as const) {
        const r = await req('POST', '/api/v1/dnsbl/zones', op, { zone, tier, ipv6, delistUrl: `https://${zone}/remove` });
        assert.equal(r.statusCode, 201, r.body);
      }
      for (const a of ['192.0.2.7', '192.0.2.9', '192.0.2.54', '2001:db8::25']) assert.equal((await req('POST', '/api/v1/ips', op, { ip: a, nodeId: NODE })).statusCode, 201);
    });
    after(async () => {
      await rt?.destroy();
      await dns?.stop();
    });

    test('DNSBL results and the collection audit are records of Opsdeck\'s own work: no client can write them through the events API, every reader can read them', async () => {
      const key = `Bearer ${await createApiKey(rt, ['ingest', 'read'])}`;
      const forged = { timestamp: new Date(T0).toISOString(), ip: '192.0.2.7', ipVersion: 4, blacklist: 'crit.bl.test', listed: false };
      for (const stream of ['dnsbl', 'collection_audit']) {
        const w = await req('POST', `/api/v1/events/${stream}`, key, forged);
        assert.equal(w.statusCode, 404, `POST /api/v1/events/${stream}: ${w.body}`);
        const r = await req('GET', `/api/v1/events/${stream}?from=${new Date(T0 - 3600_000).toISOString()}&to=${new Date(T0 + 3600_000).toISOString()}`, viewer);
        assert.equal(r.statusCode, 200, r.body);
      }
      // Streams that clients do send still take events.
      assert.notEqual((await req('POST', '/api/v1/events/email', key, [])).statusCode, 404);
    });

    test('zones: seeded with their tiers, editable, a name that is not a host name is refused', async () => {
      const zones = (await req('GET', '/api/v1/dnsbl/zones', viewer)).json().items as { zone: string; tier: string; delistUrl: string | null }[];
      const tierOf = Object.fromEntries(zones.map((z) => [z.zone, z.tier]));
      assert.ok(zones.length >= 29, `${zones.length} zones`);
      assert.deepEqual(
        ['zen.spamhaus.org', 'b.barracudacentral.org', 'bl.spamcop.net', 'dnsbl.sorbs.net', 'cbl.abuseat.org', 'psbl.surriel.com', 'dnsbl-1.uceprotect.net', 'dyna.spamrats.com'].map((z) => tierOf[z]),
        ['critical', 'critical', 'critical', 'high', 'high', 'high', 'medium', 'medium'],
      );
      assert.ok(zones.every((z) => z.delistUrl !== null));
      const tiers = (await req('GET', '/api/v1/dnsbl/tiers', viewer)).json().items;
      assert.deepEqual(tiers.map((t: { tier: string; checkIntervalSeconds: number; autoResponse: string }) => [t.tier, t.checkIntervalSeconds, t.autoResponse]), [
        ['critical', 60, 'pause'],
        ['high', 300, 'alert'],
        ['medium', 900, 'alert'],
        ['low', 3600, 'alert'],
      ]);
      const added = await req('POST', '/api/v1/dnsbl/zones', op, { zone: 'Extra.BL.test.', tier: 'low' });
      assert.equal(added.json().zone, 'extra.bl.test');
      assert.equal((await req('POST', '/api/v1/dnsbl/zones', op, { zone: 'extra.bl.test', tier: 'low' })).statusCode, 409);
      const put = await req('PUT', '/api/v1/dnsbl/zones/extra.bl.test', op, { tier: 'high', enabled: false });
      assert.deepEqual([put.json().tier, put.json().enabled], ['high', false]);
      assert.equal((await req('DELETE', '/api/v1/dnsbl/zones/extra.bl.test', op)).statusCode, 204);
      assert.equal((await req('PUT', '/api/v1/dnsbl/zones/extra.bl.test', op, { tier: 'high' })).statusCode, 404);
    });

    test('a round: listed, clean, a refusal code and IPv6; counts, auto-pause, PTR, alerts, reputation; delisting; a silent server', async () => {
      clock.set(T0);
      const r1 = await svc.runRound();
      // 3 IPv4 addresses × 3 zones + the IPv6 address × the IPv6 zone.
      assert.deepEqual([r1.checked, r1.listed, r1.clean, r1.errors], [10, 3, 6, 1]);
      assert.deepEqual(r1.paused, ['192.0.2.7']);

      const seven = await ip('192.0.2.7');
      assert.deepEqual([seven.status, seven.blacklistCount, seven.lastBlacklistCheck], ['paused', 1, new Date(T0).toISOString()]);
      assert.equal(seven.statusReason, 'auto-response: listed on crit.bl.test (critical tier): listed: spam trap hits, see https://crit.bl.test/lookup');
      assert.deepEqual([seven.ptrRecord, seven.ptrConfirmed], ['mail7.example.test', true]);
      const nine = await ip('192.0.2.9');
      assert.deepEqual([nine.status, nine.blacklistCount], ['active', 1], 'a medium listing only alerts');
      assert.deepEqual([nine.ptrRecord, nine.ptrConfirmed], ['wrong.example.test', false]);
      const refused = await ip('192.0.2.54');
      assert.deepEqual([refused.status, refused.blacklistCount, refused.ptrRecord, refused.ptrConfirmed], ['active', 0, null, false], 'a Spamhaus refusal is not a listing');
      assert.deepEqual([(await ip('2001:db8::25')).blacklistCount, (await ip('2001:db8::25')).status], [1, 'active']);

      assert.deepEqual(await checks('192.0.2.7', 'crit.bl.test'), [{ listed: true, response: '127.0.0.2', reason: 'listed: spam trap hits, see https://crit.bl.test/lookup', error: null, tier: 'critical', node_id: NODE }]);
      assert.deepEqual((await checks('192.0.2.7', 'med.bl.test')).map((c) => [c.listed, c.response, c.error]), [[false, null, null]]);
      const err = await checks('192.0.2.54', 'crit.bl.test');
      assert.deepEqual(err.map((c) => [c.listed, c.response]), [[null, '127.255.255.254']]);
      assert.match(err[0]!.error!, /public or open resolver/);
      // The history through the stream's API, filtered by IP.
      const hist = await req('GET', `/api/v1/events/dnsbl?from=${new Date(T0 - 60_000).toISOString()}&to=${new Date(T0 + 60_000).toISOString()}&ip=192.0.2.54`, viewer);
      assert.equal(hist.statusCode, 200, hist.body);
      assert.deepEqual(hist.json().items.map((c: { blacklist: string; listed: boolean | null }) => [c.blacklist, c.listed]).sort(), [['crit.bl.test', null], ['med.bl.test', false], ['v6.bl.test', false]]);

      const rep = (await req('GET', '/api/v1/ips/192.0.2.7/reputation', viewer)).json();
      assert.equal(rep.verdict, 'bad');
      assert.deepEqual(rep.listings.map((l: { zone: string; tier: string; since: string; reason: string; delistUrl: string }) => [l.zone, l.tier, l.since, l.reason, l.delistUrl]), [
        ['crit.bl.test', 'critical', new Date(T0).toISOString(), 'listed: spam trap hits, see https://crit.bl.test/lookup', 'https://crit.bl.test/remove'],
      ]);
      assert.deepEqual([rep.dnsbl.zones, rep.dnsbl.clean, rep.dnsbl.listed, rep.ptr.confirmed], [3, 2, 1, true]);
      assert.deepEqual([rep.rates.last24h.attempts, rep.rates.last24h.bounceRate], [0, null]);
      const rep54 = (await req('GET', '/api/v1/ips/192.0.2.54/reputation', viewer)).json();
      assert.equal(rep54.verdict, 'attention');
      assert.deepEqual(rep54.listings, []);
      assert.deepEqual(rep54.dnsbl.errors.map((e: { zone: string }) => e.zone), ['crit.bl.test']);
      assert.ok(rep54.reasons.includes('no PTR record'), JSON.stringify(rep54.reasons));
      // Scores: a critical listing costs 40, a medium one 10, a PTR that is missing or does not point back 10;
      // no mail sent yet, so the rate terms are not evaluated.
      assert.deepEqual(rep.score, { score: 60, deductions: [{ term: 'listed_critical', points: 40, value: 1 }], notEvaluated: ['bounce_rate_24h', 'complaint_rate_24h'] });
      assert.deepEqual(rep54.score.deductions, [{ term: 'ptr', points: 10, value: 'false' }]);
      assert.equal((await ip('192.0.2.9')).reputationScore, 50, 'not scored yet: the column default');
      assert.deepEqual(await refreshScores(rt.db, clock.now()), { scored: 4, updated: 4 });
      assert.deepEqual(
        await Promise.all(['192.0.2.7', '192.0.2.9', '192.0.2.54'].map(async (a) => (await ip(a)).reputationScore)),
        [60, 80, 90],
        'critical listing − 40; medium listing and a PTR that points elsewhere − 10 each; no PTR − 10',
      );
      assert.deepEqual(await refreshScores(rt.db, clock.now()), { scored: 4, updated: 0 }, 'unchanged scores are not written again');

      const alerts = new AlertsService({ db: rt.db, clock, observers: { dnsbl_listed: dnsblListedObserver, dnsbl_node_ips: dnsblNodeIpsObserver } });
      const critical = await alerts.createRule(ruleInputSchema.parse({ name: `bl-crit-${kind}`, severity: 'critical', condition: { kind: 'dnsbl_listed', lists: 'critical' } }));
      const any = await alerts.createRule(ruleInputSchema.parse({ name: `bl-any-${kind}`, severity: 'warning', condition: { kind: 'dnsbl_listed', lists: 'any' } }));
      const perNode = await alerts.createRule(ruleInputSchema.parse({ name: `bl-node-${kind}`, severity: 'critical', condition: { kind: 'dnsbl_node_ips', comparison: '>', threshold: 2 } }));
      const firing = async (ruleId: number) => (await rt.db.queryMany<{ l: string }>(`SELECT concat_ws('|', labels->>'ip', labels->>'zone', labels->>'node') AS l FROM alert_events WHERE rule_id = $1 AND status = 'firing' ORDER BY 1`, [ruleId])).map((r) => r.l);
      await alerts.evaluate();
      assert.deepEqual(await firing(critical.id), ['192.0.2.7|crit.bl.test']);
      assert.deepEqual(await firing(any.id), ['192.0.2.7|crit.bl.test', '192.0.2.9|med.bl.test', '2001:db8::25|v6.bl.test']);
      assert.deepEqual(await firing(perNode.id), [NODE]);
      // The observers themselves.
      const scope = { kind: 'all', values: [] as string[] };
      const pick = (o: { series: Record<string, string>; nodeId: string | null; holds: boolean | null; value: unknown }[]) => o.map((x) => [x.series, x.nodeId, x.holds, x.value]);
      assert.deepEqual(pick(await dnsblListedObserver.observe(rt.db, { kind: 'dnsbl_listed', lists: 'critical' }, scope, clock.now())), [[{ ip: '192.0.2.7', zone: 'crit.bl.test' }, NODE, true, '127.0.0.2']]);
      assert.deepEqual(pick(await dnsblNodeIpsObserver.observe(rt.db, { kind: 'dnsbl_node_ips', comparison: '>', threshold: 2 }, scope, clock.now())), [[{ node: NODE }, NODE, true, 3]]);

      assert.equal((await svc.runRound()).checked, 0, 'nothing is due again before its tier interval');

      // Delisted: after 61 s only the critical zone is due again.
      await dns.update(records(false));
      clock.set(T0 + 61_000);
      const r2 = await svc.runRound();
      assert.deepEqual([r2.checked, r2.listed, r2.clean, r2.errors], [3, 0, 2, 1]);
      assert.deepEqual(r2.delisted, [{ ip: '192.0.2.7', zone: 'crit.bl.test' }]);
      const after7 = await ip('192.0.2.7');
      assert.deepEqual([after7.blacklistCount, after7.status], [0, 'paused'], 'a delisting does not resume the IP: an operator does');
      await alerts.evaluate();
      assert.deepEqual(await firing(critical.id), []);
      assert.deepEqual((await rt.db.queryMany<{ status: string }>('SELECT status FROM alert_events WHERE rule_id = $1', [critical.id])).map((e) => e.status), ['resolved']);
      assert.deepEqual(await firing(perNode.id), [], '2 listed IPs is not more than 2');
      assert.deepEqual(pick(await dnsblListedObserver.observe(rt.db, { kind: 'dnsbl_listed', lists: 'critical' }, scope, clock.now())), [
        [{}, null, false, 0],
        [{ ip: '192.0.2.7', zone: 'crit.bl.test' }, NODE, false, null],
      ], 'nothing listed on a critical zone: one clean series, and the pair delisted today observed clean');

      // On demand, through the API and the runtime's resolver: every zone of the IP now.
      const now = await req('POST', '/api/v1/ips/192.0.2.9/check', op);
      assert.equal(now.statusCode, 200, now.body);
      assert.deepEqual([now.json().checked, now.json().listed, now.json().clean], [3, 1, 2]);

      // A resolver that never answers: errors, and the last known listing stays.
      const hole = await blackhole();
      try {
        const silent = new DnsblService({ db: rt.db, clock, streams: rt.streams, resolver: new DnsblResolver({ servers: [hole.server], timeoutMs: 200, tries: 1 }), concurrency: 10 });
        clock.set(T0 + 3600_000);
        const r3 = await silent.runRound();
        assert.deepEqual([r3.checked, r3.listed, r3.clean, r3.errors], [10, 0, 0, 10]);
      } finally {
        await hole.stop();
      }
      assert.equal((await ip('192.0.2.9')).blacklistCount, 1);
      const last = (await checks('192.0.2.9', 'med.bl.test')).at(-1)!;
      assert.equal(last.listed, null);
      assert.match(last.error!, /no answer within 200 ms/);
      const state = await rt.db.queryOne<{ listed: boolean; last_status: string }>(`SELECT listed, last_status FROM dnsbl_listings WHERE ip = '192.0.2.9' AND zone = 'med.bl.test'`);
      assert.deepEqual(state, { listed: true, last_status: 'error' });

      // A round stopped before its queries (the job's lease lost, shutdown) records nothing for the pairs it did not check.
      clock.set(T0 + 2 * 3600_000);
      const before = await rt.db.queryOne<{ n: number }>('SELECT count(*)::int AS n FROM blacklist_checks');
      const stopped = await svc.runRound({ signal: AbortSignal.abort() });
      assert.deepEqual([stopped.checked, stopped.errors, stopped.ptrChecked], [0, 0, 0]);
      assert.equal((await rt.db.queryOne<{ n: number }>('SELECT count(*)::int AS n FROM blacklist_checks'))?.n, before?.n);
      assert.equal((await svc.runRound()).checked, 10, 'the pairs are still due');
    });
  });
}
