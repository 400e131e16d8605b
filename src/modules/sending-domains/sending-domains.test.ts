/**
 * Sending domains on every backend: checks read a real DNS server on loopback (dnsmasq) and are
 * stored with their time; a record change shows in the flags and the history and raises the
 * domain_auth alert (through AlertsService.evaluate); a server that never answers is stored as an
 * error with the flags unchanged; the reputation figures are hand-computed from a few ingested
 * email events.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../domain/clock.ts';
import { enabledBackends, openMigrated, refreshStreamRollups, type MigratedDatabase } from '../../../test/support/backends.ts';
import { blackhole, startDnsServer, type DnsRecords, type DnsServer } from '../../../test/support/dns-server.ts';
import { ruleInputSchema } from '../alerts/conditions.ts';
import { AlertsService } from '../alerts/service.ts';
import { DomainChecker } from './checker.ts';
import { domainAuthObserver, domainAuthObservations } from './observer.ts';
import { domainReputation, healthScore, type WindowFigures } from './reputation.ts';
import { SendingDomainStore } from './service.ts';

const Z = 'mail.test';
const KEY = 'MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDwIRP/UC3SBsEmGqZ9ZJW3/DkMoGeLnQg1fWn7/zYtIxN2SnFCjxOCKG9v3b4jYfcTNh5ijSsq631uBItLa7od+v/RtdC2UzJ1lWT947qR+Rcac2gbto/NMqJ0fzfVjH4OuKhitdY9tf6mcwGjaNBcWToIMmPSPDdQPNUYckcQ2QIDAQAB';
const SENDING_IPS = ['192.0.2.10', '192.0.2.11'];

const healthy = (d: string): DnsRecords['txt'] => ({
  [d]: ['v=spf1 ip4:192.0.2.0/28 -all'],
  [`k1._domainkey.${d}`]: [`v=DKIM1; k=rsa; p=${KEY}`],
  [`_dmarc.${d}`]: [`v=DMARC1; p=quarantine; rua=mailto:reports@${d}`],
});

// Near the real time: ingest refuses events far in the future.
const NOW = Math.floor(Date.now() / 60_000) * 60_000;
const HOUR = 3_600_000;

for (const kind of enabledBackends()) {
  describe(`sending domains [${kind}]`, () => {
    let m: MigratedDatabase;
    let dns: DnsServer;
    let clock: ManualClock;
    let store: SendingDomainStore;
    let checker: DomainChecker;
    const flags = async (d: string) =>
      m.db.queryOne<{ spf: boolean; dkim: boolean; dmarc: boolean; policy: string | null; outcome: string | null; errors: number }>(
        'SELECT spf_configured AS spf, dkim_configured AS dkim, dmarc_configured AS dmarc, dmarc_policy AS policy, last_check_outcome AS outcome, consecutive_check_errors AS errors FROM sending_domains WHERE domain = $1',
        [d],
      );

    before(async () => {
      m = await openMigrated(kind);
      dns = await startDnsServer({ authoritative: [Z], txt: { ...healthy(`a.${Z}`), ...healthy(`b.${Z}`), ...healthy(`c.${Z}`) } });
      clock = new ManualClock(NOW);
      store = new SendingDomainStore({ db: m.db, clock });
      checker = new DomainChecker({ db: m.db, store, clock, resolver: { servers: [dns.server], timeoutMs: 2000, tries: 2 }, sendingIps: async () => SENDING_IPS });
    });
    after(async () => {
      await dns?.stop();
      await m?.close();
    });

    test('a check reads the records, sets the flags and is kept with its time; a record that changes shows in the next check', async () => {
      const d = `a.${Z}`;
      await store.create({ domain: d, dkimSelectors: ['k1'] });
      assert.deepEqual(await flags(d), { spf: false, dkim: false, dmarc: false, policy: null, outcome: null, errors: 0 });

      clock.set(NOW - 2 * HOUR);
      const first = await checker.check(d);
      assert.deepEqual([first.outcome, first.spf, first.dkim, first.dmarc, first.dmarcPolicy], ['ok', 'configured', 'configured', 'configured', 'quarantine']);
      assert.deepEqual(first.evidence.spf.ips.map((x) => [x.ip, x.result]), [['192.0.2.10', 'pass'], ['192.0.2.11', 'pass']]);
      assert.deepEqual(first.evidence.dmarc.rua, [`mailto:reports@${d}`]);
      assert.deepEqual(await flags(d), { spf: true, dkim: true, dmarc: true, policy: 'quarantine', outcome: 'ok', errors: 0 });

      // The SPF record stops covering .11, the DKIM key is revoked, DMARC goes to p=reject.
      await dns.update({
        authoritative: [Z],
        txt: { ...healthy(`b.${Z}`), ...healthy(`c.${Z}`), [d]: ['v=spf1 ip4:192.0.2.10 ~all'], [`k1._domainkey.${d}`]: ['v=DKIM1; p='], [`_dmarc.${d}`]: ['v=DMARC1; p=reject'] },
      });
      clock.set(NOW - HOUR);
      const second = await checker.check(d);
      assert.deepEqual([second.outcome, second.spf, second.dkim, second.dmarc, second.dmarcPolicy], ['ok', 'not_configured', 'not_configured', 'configured', 'reject']);
      assert.equal(second.evidence.spf.reason, 'does not authorise 192.0.2.11 (softfail)');
      assert.deepEqual(second.evidence.dkim.selectors.map((s) => s.state), ['revoked']);
      assert.deepEqual(await flags(d), { spf: false, dkim: false, dmarc: true, policy: 'reject', outcome: 'ok', errors: 0 });

      const history = await store.history(d, { page: 1, pageSize: 10 });
      assert.deepEqual(
        history.items.map((c) => [c.checkedAt, c.spf, c.dkim, c.dmarcPolicy]),
        [
          [new Date(NOW - HOUR).toISOString(), 'not_configured', 'not_configured', 'reject'],
          [new Date(NOW - 2 * HOUR).toISOString(), 'configured', 'configured', 'quarantine'],
        ],
      );
      assert.equal(history.total, 2);
      const got = await store.get(d);
      assert.equal(got.lastCheckedAt, new Date(NOW - HOUR).toISOString());
      assert.equal(got.lastCheck?.spf.records[0], 'v=spf1 ip4:192.0.2.10 ~all');
    });

    test('a DNS server that does not answer: the check is stored as an error, the flags keep their values, errors are counted', async () => {
      const d = `b.${Z}`;
      await store.create({ domain: d, dkimSelectors: ['k1'] });
      clock.set(NOW - 3 * HOUR);
      await checker.check(d);
      assert.deepEqual(await flags(d), { spf: true, dkim: true, dmarc: true, policy: 'quarantine', outcome: 'ok', errors: 0 });

      const hole = await blackhole();
      try {
        const deaf = new DomainChecker({ db: m.db, store, clock, resolver: { servers: [hole.server], timeoutMs: 200, tries: 1 }, sendingIps: async () => SENDING_IPS });
        clock.set(NOW - 2 * HOUR);
        const c1 = await deaf.check(d);
        clock.set(NOW - HOUR);
        const c2 = await deaf.check(d);
        assert.deepEqual([c1.outcome, c1.spf, c1.dkim, c1.dmarc, c1.dmarcPolicy], ['error', 'error', 'error', 'error', null]);
        assert.equal(c2.outcome, 'error');
        assert.deepEqual(await flags(d), { spf: true, dkim: true, dmarc: true, policy: 'quarantine', outcome: 'error', errors: 2 });
      } finally {
        await hole.stop();
      }
      const history = await store.history(d, { page: 1, pageSize: 10 });
      assert.deepEqual(history.items.map((c) => c.outcome), ['error', 'error', 'ok']);
      // The next answered check resets the count.
      clock.set(NOW);
      await checker.check(d);
      assert.equal((await flags(d))?.errors, 0);
    });

    test('domain_auth: a record change raises an alert through AlertsService.evaluate and its resolution clears it', async () => {
      const d = `c.${Z}`;
      await store.create({ domain: d, dkimSelectors: ['k1'] });
      await m.db.query(`UPDATE sending_domains SET status = 'paused' WHERE domain <> $1`, [d]);
      const rule = ruleInputSchema.parse({ name: `domain-auth-${kind}`, severity: 'warning', condition: { kind: 'domain_auth' }, noDataPolicy: 'ok' });
      const alerts = new AlertsService({ db: m.db, clock, observers: { domain_auth: domainAuthObserver } });
      const created = await alerts.createRule(rule);
      const events = () => m.db.queryMany<{ status: string; labels: Record<string, string>; message: string }>('SELECT status, labels, message FROM alert_events WHERE rule_id = $1 ORDER BY id', [created.id]);

      clock.set(NOW - 50 * 60_000);
      await checker.check(d);
      await alerts.evaluate();
      assert.deepEqual(await events(), [], 'all three configured: nothing fires');

      await dns.update({ authoritative: [Z], txt: { ...healthy(d), [`_dmarc.${d}`]: [] } });
      clock.set(NOW - 40 * 60_000);
      await checker.check(d);
      await alerts.evaluate();
      const fired = await events();
      assert.deepEqual(fired.map((e) => [e.status, e.labels.domain, e.message]), [['firing', d, `${d}: DMARC not configured`]]);

      await dns.update({ authoritative: [Z], txt: healthy(d) });
      clock.set(NOW - 30 * 60_000);
      await checker.check(d);
      await alerts.evaluate();
      assert.deepEqual((await events()).map((e) => e.status), ['resolved']);
      await m.db.query(`UPDATE sending_domains SET status = 'active'`);
    });

    test('the job checks the domains whose last check is older than the interval, never-checked first, and leaves the others', async () => {
      clock.set(NOW);
      await m.db.query('UPDATE sending_domains SET last_checked_at = $1', [new Date(NOW - 60_000)]);
      for (const d of ['j1', 'j2', 'j3']) await store.create({ domain: `${d}.${Z}` });
      await m.db.query('UPDATE sending_domains SET last_checked_at = $1 WHERE domain = $2', [new Date(NOW - 2 * HOUR), `j2.${Z}`]);
      await m.db.query('UPDATE sending_domains SET last_checked_at = $1 WHERE domain = $2', [new Date(NOW - 10 * 60_000), `j3.${Z}`]);
      assert.deepEqual(await store.due(clock.now(), HOUR, 10), [`j1.${Z}`, `j2.${Z}`]);
      const summary = await checker.runDue(HOUR);
      assert.deepEqual(summary, { due: 2, checked: 2, dnsErrors: 0, failed: 0 });
      const counts = await m.db.queryMany<{ domain: string; n: number }>(`SELECT d.domain, count(c.id)::int AS n FROM sending_domains d LEFT JOIN sending_domain_checks c ON c.domain = d.domain WHERE d.domain LIKE 'j_.%' GROUP BY d.domain ORDER BY d.domain`);
      assert.deepEqual(counts.map((r) => [r.domain, r.n]), [[`j1.${Z}`, 1], [`j2.${Z}`, 1], [`j3.${Z}`, 0]]);
      // No records at all (NXDOMAIN in the zone) is an answer: not configured, outcome ok.
      assert.deepEqual(await flags(`j1.${Z}`), { spf: false, dkim: false, dmarc: false, policy: null, outcome: 'ok', errors: 0 });
      assert.deepEqual(await store.due(clock.now(), HOUR, 10), []);
    });

    test('the domain_auth observer: required parts, the minimum DMARC policy and checks that could not read DNS', async () => {
      const base = { spf_configured: true, dkim_configured: true, dmarc_configured: true, dmarc_policy: 'none' as const, last_checked_at: new Date(NOW), consecutive_check_errors: 0 };
      const rows = [
        { ...base, domain: 'ok.example' },
        { ...base, domain: 'nospf.example', spf_configured: false },
        { ...base, domain: 'dns.example', consecutive_check_errors: 3 },
      ];
      const all = domainAuthObservations(rows, ['spf', 'dkim', 'dmarc'], 'none', 3);
      assert.deepEqual(all.map((o) => [o.series.domain, o.holds, o.value, o.message]), [
        ['ok.example', false, 'ok', 'ok.example: SPF, DKIM, DMARC configured'],
        ['nospf.example', true, 'spf', 'nospf.example: SPF not configured'],
        ['dns.example', true, 'dns_error', 'dns.example: the last 3 checks could not read DNS'],
      ]);
      const strict = domainAuthObservations(rows.slice(0, 1), ['dmarc'], 'quarantine', 3);
      assert.deepEqual(strict.map((o) => [o.holds, o.message]), [[true, 'ok.example: DMARC policy none is weaker than quarantine']]);
      const onlyDkim = domainAuthObservations(rows, ['dkim'], 'none', 5);
      assert.deepEqual(onlyDkim.map((o) => o.holds), [false, false, false]);
    });

    test('reputation: bounce, hard-bounce and pass rates of 24 h and 7 d from email events, and the §11.3 score', async () => {
      const d = `rep.${Z}`;
      await store.create({ domain: d });
      clock.set(NOW);
      const ev = (ago: number, eventType: string, extra: Record<string, unknown> = {}, fromDomain = d) => ({ timestamp: new Date(NOW - ago).toISOString(), eventType, fromDomain, mtaNode: 'mta-1', ...extra });
      const h1 = HOUR;
      const d3 = 3 * 24 * HOUR;
      const events = [
        // last 24 h
        ...[1000, 2000, 3000, 4000, 5000, 6000].map((ms, i) =>
          ev(h1 + i * 1000, 'delivered', { deliveryTimeMs: ms, dkimResult: i === 5 ? 'fail' : 'pass', spfResult: 'pass', ...(i === 5 ? {} : { dmarcResult: i === 4 ? 'fail' : 'pass' }) }),
        ),
        ev(h1, 'bounced', { bounceType: 'hard' }),
        ev(h1, 'bounced', { bounceType: 'soft' }),
        ev(h1, 'deferred'),
        ev(h1, 'rejected'),
        ev(h1, 'sent'),
        ev(h1, 'complaint'),
        ev(h1 + 1, 'sent'),
        ev(h1 + 2, 'sent'),
        // 3 days ago: in the 7-day window only
        ...[0, 1, 2, 3].map((i) => ev(d3 + i, 'delivered', { deliveryTimeMs: 20_000, dkimResult: 'pass', spfResult: i < 2 ? 'fail' : 'pass', dmarcResult: 'pass' })),
        ...[0, 1, 2, 3].map((i) => ev(d3 + i, 'bounced', { bounceType: 'hard' })),
        // outside both windows, and another domain
        ...[0, 1, 2, 3, 4].map((i) => ev(8 * 24 * HOUR + i, 'bounced', { bounceType: 'hard' })),
        ...[0, 1, 2].map((i) => ev(h1 + i, 'bounced', { bounceType: 'hard' }, `other.${Z}`)),
      ];
      await m.streams.ingest('email', events);

      const r = await domainReputation(m.db, m.streams, store, clock, d);
      const pick = (w: WindowFigures) => [w.sent, w.delivered, w.bounced, w.deferred, w.rejected, w.attempts, w.hardBounces, w.complaints];
      assert.deepEqual(pick(r.last24h), [3, 6, 2, 1, 1, 10, 1, 1]);
      assert.equal(r.last24h.complaintRate, 100 / 6, 'complaints / delivered');
      assert.equal(r.last24h.bounceRate, 20);
      assert.equal(r.last24h.hardBounceRate, 10);
      assert.equal(r.last24h.avgDeliveryMs, 3500);
      assert.equal(r.last24h.dkimPassRate, (100 * 5) / 6);
      assert.equal(r.last24h.spfPassRate, 100);
      assert.equal(r.last24h.dmarcPassRate, 80, '4 of the 5 delivered events that carry a DMARC result');

      assert.deepEqual(pick(r.last7d), [3, 10, 6, 1, 1, 18, 5, 1]);
      assert.equal(r.last7d.bounceRate, (100 * 6) / 18);
      assert.equal(r.last7d.hardBounceRate, (100 * 5) / 18);
      assert.equal(r.last7d.avgDeliveryMs, 10_100);
      assert.equal(r.last7d.dkimPassRate, 90);
      assert.equal(r.last7d.spfPassRate, 80);
      assert.equal(r.last7d.dmarcPassRate, (100 * 8) / 9);

      // 100 − 20 (bounces > 5 %) − 15 (hard > 2 %) − 5 (one spam report) − 10 (DKIM < 99 %) − 10 (DMARC < 95 %) = 40
      assert.equal(r.health.score, 40);
      assert.deepEqual(r.health.deductions.map((x) => [x.term, x.points]), [['bounce_rate_24h', 20], ['hard_bounce_rate', 15], ['spam_reports', 5], ['dkim_pass', 10], ['dmarc_pass', 10]]);
      assert.deepEqual(r.health.notEvaluated, ['any_ip_blacklisted']);
      assert.equal(r.health.blacklistedIps, null);
      assert.ok(r.problems.includes('DNS records not checked yet'));
      assert.ok(r.problems.includes('bounce rate 20.0 % in 24 h (over 5 %)'));

      // the same figures once the rollups hold the events (read from their storage, not the live view)
      await refreshStreamRollups(m, 'email');
      const stored = await domainReputation(m.db, m.streams, store, clock, d);
      assert.deepEqual([stored.last24h, stored.last7d, stored.health], [r.last24h, r.last7d, r.health]);
    });

    test('reputation: a listed sending IP the domain sent from in the last 24 h costs 15 points and is named; one it did not use, or used earlier, costs nothing', async () => {
      const d = `bl.${Z}`;
      await store.create({ domain: d });
      clock.set(NOW);
      const ev = (ago: number, sendingIp: string, fromDomain = d) => ({ timestamp: new Date(NOW - ago).toISOString(), eventType: 'delivered', fromDomain, mtaNode: 'mta-1', sendingIp, deliveryTimeMs: 800, dkimResult: 'pass', spfResult: 'pass', dmarcResult: 'pass' });
      // .21 sent this domain's mail an hour ago; .22 two days ago; .23 only another domain's
      await m.streams.ingest('email', [ev(HOUR, '192.0.2.21'), ev(HOUR, '192.0.2.21'), ev(2 * 24 * HOUR, '192.0.2.22'), ev(HOUR, '192.0.2.23', `else.${Z}`)]);
      // The test before refreshed the rollups: on the timescale tier, events below a continuous
      // aggregate's watermark count only once its refresh has run (TimescaleDB's real-time part starts there).
      await refreshStreamRollups(m, 'email');
      const listed = async () => ['192.0.2.22', '192.0.2.23', '192.0.2.21'];
      const r = await domainReputation(m.db, m.streams, store, clock, d, listed);
      assert.deepEqual(r.health.blacklistedIps, ['192.0.2.21']);
      assert.deepEqual(r.health.notEvaluated, []);
      // two deliveries, all passing: only the listing deducts
      assert.deepEqual(r.health.deductions.map((x) => [x.term, x.points, x.value]), [['any_ip_blacklisted', 15, 1]]);
      assert.equal(r.health.score, 85);
      assert.ok(r.problems.includes('sending IPs of the last 24 h on a blocklist: 192.0.2.21'), JSON.stringify(r.problems));
      const clean = await domainReputation(m.db, m.streams, store, clock, d, async () => ['192.0.2.22']);
      assert.deepEqual(clean.health.blacklistedIps, []);
      assert.equal(clean.health.score, 100);
    });
  });
}

test('the §11.3 score: a 1 % bounce rate costs 3 points; no attempts, no score; a slow average costs 10', () => {
  const w = (o: Partial<WindowFigures>): WindowFigures => ({
    from: '', to: '', sent: 0, delivered: 99, bounced: 1, deferred: 0, rejected: 0, attempts: 100, bounceRate: 1, hardBounces: 0, hardBounceRate: 0, complaints: 0, complaintRate: 0,
    avgDeliveryMs: 2000, dkimPassRate: 100, spfPassRate: 99, dmarcPassRate: 95, ...o,
  });
  assert.equal(healthScore(w({})).score, 97);
  assert.equal(healthScore(w({ avgDeliveryMs: 10_001 })).score, 87);
  assert.equal(healthScore(w({ spfPassRate: 98.9 })).score, 87);
  assert.deepEqual(healthScore(w({ dkimPassRate: null, avgDeliveryMs: null })).notEvaluated, ['any_ip_blacklisted', 'dkim_pass', 'avg_delivery_time']);
  assert.equal(healthScore(w({ complaints: 2 })).score, 87, 'two spam reports cost 10 points');
  assert.equal(healthScore(w({ attempts: 0, bounceRate: null })).score, null);
});
