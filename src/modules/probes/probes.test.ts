/**
 * Network probes against real peers on loopback (HTTP, HTTPS, TCP, TLS, DNS
 * over UDP), through the outbound guard with `127.0.0.0/8` allow-listed; the
 * N/M thresholds through a flapping HTTP server; the alert sink; SSRF
 * refusals with loopback NOT allowed; and the scheduler holding no
 * transaction while a probe waits. Time is a ManualClock.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../domain/clock.ts';
import { createOutbound } from '../../net/outbound.ts';
import { enabledBackends } from '../../../test/support/backends.ts';
import { buildTestRuntime, type TestRuntime } from '../../../test/support/app.ts';
import { loginAs } from '../../../test/support/auth.ts';
import type { ServiceAlertSink, ServiceStateChange } from '../alerts/contracts.ts';
import { createProbesModule } from './index.ts';
import { startPeers, type Peers } from './peers-test-kit.ts';
import type { MonitorInput } from './service.ts';

const DAY = 86_400_000;

/** The sink of the test: records every call. */
class RecordingSink implements ServiceAlertSink {
  readonly calls: ServiceStateChange[] = [];
  async serviceStateChanged(change: ServiceStateChange): Promise<void> {
    this.calls.push(change);
  }
  of(name: string): string[] {
    return this.calls.filter((c) => c.serviceName === name).map((c) => `${c.from ?? 'null'}→${c.to}`);
  }
}

let peers: Peers;
before(async () => {
  peers = await startPeers();
});
after(async () => {
  await peers.close();
});

for (const kind of enabledBackends()) {
  describe(`probes [${kind}]`, () => {
    let rt: TestRuntime;
    let operator: string;
    const clock = new ManualClock('2026-03-01T00:00:00Z');
    const sink = new RecordingSink();
    let n = 0;
    const name = (what: string) => `${what}-${++n}`;

    before(async () => {
      rt = await buildTestRuntime(kind, { outboundAllow: ['127.0.0.0/8'] }, { clock, serviceAlertSink: sink });
      operator = await loginAs(rt, 'operator');
    });
    after(async () => {
      await rt.destroy();
    });

    const create = async (input: MonitorInput) => rt.probes.store.create(input);
    const checkNow = async (id: number) => {
      const r = await rt.app.inject({ method: 'POST', url: `/api/v1/monitors/${id}/check-now`, headers: { authorization: operator } });
      assert.equal(r.statusCode, 200, r.body);
      return r.json() as { status: string; latencyMs: number | null; errorMessage: string | null; probeDetails: Record<string, unknown> };
    };

    test('http: accepted status, keyword and JSON path decide healthy or down', async () => {
      const ok = await create({ name: name('http-ok'), kind: 'http', target: peers.http.url('/ok'), bodyKeyword: 'UP' });
      const c = await checkNow(ok.id);
      assert.equal(c.status, 'healthy', c.errorMessage ?? '');
      assert.equal(c.probeDetails.statusCode, 200);
      assert.ok(typeof c.latencyMs === 'number' && c.latencyMs >= 0);

      const missing = await create({ name: name('http-keyword'), kind: 'http', target: peers.http.url('/ok'), bodyKeyword: 'DEGRADED' });
      const m = await checkNow(missing.id);
      assert.equal(m.status, 'down');
      assert.match(m.errorMessage ?? '', /does not contain "DEGRADED"/);

      const s503 = await create({ name: name('http-503'), kind: 'http', target: peers.http.url('/status/503') });
      const s = await checkNow(s503.id);
      assert.equal(s.status, 'down');
      assert.match(s.errorMessage ?? '', /HTTP status 503, expected 200-299/);

      const accepted = await create({ name: name('http-404-ok'), kind: 'http', target: peers.http.url('/status/404'), acceptedStatuses: '200-299,404' });
      assert.equal((await checkNow(accepted.id)).status, 'healthy');

      const json = await create({ name: name('http-json'), kind: 'http', target: peers.http.url('/json'), jsonPath: '$.checks[0].state', jsonValue: 'ok' });
      assert.equal((await checkNow(json.id)).status, 'healthy');
      const jsonNum = await create({ name: name('http-json-num'), kind: 'http', target: peers.http.url('/json'), jsonPath: '$.count', jsonValue: '3' });
      assert.equal((await checkNow(jsonNum.id)).status, 'healthy');
      const jsonBad = await create({ name: name('http-json-bad'), kind: 'http', target: peers.http.url('/json'), jsonPath: '$.status', jsonValue: 'DOWN' });
      const jb = await checkNow(jsonBad.id);
      assert.equal(jb.status, 'down');
      assert.equal(jb.errorMessage, '$.status is "UP", expected "DOWN"');
    });

    test('http: a slow answer is degraded when it takes longer than degradedAboveMs', async () => {
      // The peer waits 400 ms before answering: the latency is at least that, whatever the machine's load.
      const slow = await create({ name: name('http-slow'), kind: 'http', target: peers.http.url('/slow'), degradedAboveMs: 200 });
      const c = await checkNow(slow.id);
      assert.equal(c.status, 'degraded');
      assert.ok((c.latencyMs ?? 0) >= 400, `latency ${c.latencyMs}`);
      assert.match(c.errorMessage ?? '', /above the 200 ms expected/);
    });

    test('http: the body is capped; a keyword after the cap is not found', async () => {
      const big = await create({ name: name('http-big'), kind: 'http', target: peers.http.url('/big'), bodyKeyword: 'NEEDLE' });
      const c = await checkNow(big.id);
      assert.equal(c.status, 'down');
      assert.equal(c.probeDetails.bodyTruncated, true);
      assert.equal(c.probeDetails.bodyBytes, 1024 * 1024);
    });

    test('flapping up/down: the failure (3) and success (2) thresholds decide the confirmed state and the alert sink hears each change once', async () => {
      peers.http.flap.status = 200;
      const m = await create({ name: name('flappy'), kind: 'http', target: peers.http.url('/flap'), intervalSeconds: 10, timeoutMs: 5000 });
      const step = async (status: number) => {
        peers.http.flap.status = status;
        const s = await rt.probes.scheduler.runDueProbes(clock.now());
        assert.ok(s.recorded >= 1);
        clock.advance(10_000);
        return (await rt.probes.store.get(m.id)).state.status;
      };
      const seen = [];
      for (const st of [200, 500, 500, 200, 500, 200, 500, 500, 500, 200, 500, 200, 200]) seen.push(await step(st));
      assert.deepEqual(seen, ['healthy', 'healthy', 'healthy', 'healthy', 'healthy', 'healthy', 'healthy', 'healthy', 'down', 'down', 'down', 'down', 'healthy']);
      assert.deepEqual(sink.of(m.name), ['null→healthy', 'healthy→down', 'down→healthy']);
      const down = sink.calls.find((c) => c.serviceName === m.name && c.to === 'down')!;
      assert.match(down.message, /HTTP status 500/);
      assert.equal(down.details.statusCode, 500);
      await rt.probes.store.remove(m.id);
    });

    test('tcp: an open port is healthy, a closed one down', async () => {
      const before = peers.tcp.connections;
      const open = await create({ name: name('tcp-open'), kind: 'tcp', target: `127.0.0.1:${peers.tcp.port}` });
      assert.equal((await checkNow(open.id)).status, 'healthy');
      assert.equal(peers.tcp.connections, before + 1);
      const closed = await create({ name: name('tcp-closed'), kind: 'tcp', target: `127.0.0.1:${peers.tcp.closedPort}` });
      const c = await checkNow(closed.id);
      assert.equal(c.status, 'down');
      assert.ok(c.errorMessage, 'the error says why');
    });

    test('dns: A, TXT and MX answers of a real DNS server over UDP, compared with the expected answer', async () => {
      const server = `127.0.0.1:${peers.dns.port}`;
      const a = await create({ name: name('dns-a'), kind: 'dns', target: 'app.test', dnsRecordType: 'A', dnsExpected: '192.0.2.11', dnsServer: server });
      const ca = await checkNow(a.id);
      assert.equal(ca.status, 'healthy', ca.errorMessage ?? '');
      assert.deepEqual(ca.probeDetails.answers, ['192.0.2.10', '192.0.2.11']);
      const aWrong = await create({ name: name('dns-a-wrong'), kind: 'dns', target: 'app.test', dnsRecordType: 'A', dnsExpected: '192.0.2.99', dnsServer: server });
      const cw = await checkNow(aWrong.id);
      assert.equal(cw.status, 'down');
      assert.match(cw.errorMessage ?? '', /expected "192\.0\.2\.99"/);
      const txt = await create({ name: name('dns-txt'), kind: 'dns', target: 'app.test', dnsRecordType: 'TXT', dnsExpected: 'v=spf1 -all', dnsServer: server });
      assert.equal((await checkNow(txt.id)).status, 'healthy');
      const mx = await create({ name: name('dns-mx'), kind: 'dns', target: 'app.test', dnsRecordType: 'MX', dnsExpected: '10 mail.app.test', dnsServer: server });
      const cm = await checkNow(mx.id);
      assert.equal(cm.status, 'healthy', cm.errorMessage ?? '');
      assert.deepEqual(cm.probeDetails.answers, ['10 mail.app.test']);
      const nx = await create({ name: name('dns-nx'), kind: 'dns', target: 'nothing.test', dnsRecordType: 'A', dnsServer: server });
      const cn = await checkNow(nx.id);
      assert.equal(cn.status, 'down');
      assert.match(cn.errorMessage ?? '', /nothing\.test does not exist/);
    });

    test('tls: handshake and the days left of a self-signed certificate with a known expiry', async () => {
      const target = `127.0.0.1:${peers.tls.port}`;
      const validTo = peers.tls.validTo.getTime();
      // Verification on: a self-signed certificate is refused.
      const strict = await create({ name: name('tls-strict'), kind: 'tls', target });
      const cs = await checkNow(strict.id);
      assert.equal(cs.status, 'down');
      assert.match(cs.errorMessage ?? '', /self.signed/i);

      const m = await create({ name: name('tls-days'), kind: 'tls', target, tlsAllowSelfSigned: true, certMinDays: 14 });
      clock.set(validTo - 20 * DAY - 3_600_000); // 20 days and an hour before expiry
      let c = await checkNow(m.id);
      assert.equal(c.status, 'healthy', c.errorMessage ?? '');
      assert.equal((c.probeDetails.certificate as { daysLeft: number }).daysLeft, 20);
      clock.set(validTo - 10 * DAY - 3_600_000);
      c = await checkNow(m.id);
      assert.equal(c.status, 'degraded');
      assert.equal((c.probeDetails.certificate as { daysLeft: number }).daysLeft, 10);
      assert.match(c.errorMessage ?? '', /expires in 10 days.*fewer than the 14 expected/);
      clock.set(validTo + DAY);
      c = await checkNow(m.id);
      assert.equal(c.status, 'down');
      assert.match(c.errorMessage ?? '', /expired/);
      clock.set(validTo - 20 * DAY);
    });

    test('https http probe: the certificate days are checked too', async () => {
      const validTo = peers.tls.validTo.getTime();
      const m = await create({ name: name('https-days'), kind: 'http', target: peers.https.url('/ok'), tlsAllowSelfSigned: true, certMinDays: 14 });
      clock.set(validTo - 5 * DAY - 3_600_000);
      const c = await checkNow(m.id);
      assert.equal(c.status, 'degraded');
      assert.equal((c.probeDetails.certificate as { daysLeft: number }).daysLeft, 5);
      clock.set(validTo - 20 * DAY);
    });

    test('the scheduler holds no transaction and no row lock while a probe waits on the network', async () => {
      const m = await create({ name: name('held'), kind: 'http', target: peers.http.url('/hold'), timeoutMs: 60_000, intervalSeconds: 60 });
      // Only this monitor is probed in this run.
      await rt.db.query("UPDATE monitors SET enabled = false WHERE id <> $1", [m.id]);
      const arrived = peers.http.held.next();
      const run = rt.probes.scheduler.runDueProbes(clock.now());
      const release = await arrived;
      // While the peer holds its answer: the monitor row can be locked and changed by another transaction at once.
      const updated = await Promise.race([
        rt.db.transaction(async (tx) => tx.queryOne<{ id: number }>("UPDATE monitors SET labels = '{\"probe\":\"waiting\"}' WHERE id = $1 RETURNING id", [m.id])),
        new Promise<'blocked'>((r) => setTimeout(() => r('blocked'), 30_000).unref()),
      ]);
      assert.deepEqual(updated, { id: m.id });
      release();
      const s = await run;
      assert.equal(s.recorded, 1);
      assert.equal((await rt.probes.store.get(m.id)).state.status, 'healthy');
      await rt.db.query('UPDATE monitors SET enabled = true');
      await rt.probes.store.remove(m.id);
    });

    test('a run stopped while its probes wait (shutdown) records no check for them', async () => {
      const m = await create({ name: name('stopped'), kind: 'http', target: peers.http.url('/hold'), timeoutMs: 60_000, intervalSeconds: 60 });
      await rt.db.query('UPDATE monitors SET enabled = false WHERE id <> $1', [m.id]);
      const stop = new AbortController();
      const arrived = peers.http.held.next();
      const run = rt.probes.scheduler.runDueProbes(clock.now(), stop.signal);
      const release = await arrived;
      stop.abort();
      const s = await run;
      release();
      assert.deepEqual({ due: s.due, recorded: s.recorded }, { due: 1, recorded: 0 });
      const rows = await rt.db.queryMany('SELECT status FROM service_health_checks WHERE service_name = $1', [m.name]);
      assert.deepEqual(rows, [], 'an aborted probe says nothing about the service');
      assert.equal((await rt.probes.store.get(m.id)).state.status, 'unknown');
      await rt.db.query('UPDATE monitors SET enabled = true');
      await rt.probes.store.remove(m.id);
    });

    test('a slow probe does not hold back monitors that become due while it waits', async () => {
      const slow = await create({ name: name('slow-held'), kind: 'http', target: peers.http.url('/hold'), timeoutMs: 60_000, intervalSeconds: 60 });
      const quick = await create({ name: name('quick'), kind: 'tcp', target: `127.0.0.1:${peers.tcp.port}`, intervalSeconds: 10 });
      await rt.db.query('UPDATE monitors SET enabled = (id IN ($1, $2))', [slow.id, quick.id]);
      await rt.db.query('UPDATE monitors SET next_due_at = $2 WHERE id = $1', [quick.id, new Date(clock.now().getTime() + 30_000).toISOString()]);
      const arrived = peers.http.held.next();
      const run = rt.probes.scheduler.runDueProbes(clock.now());
      const release = await arrived;
      clock.advance(30_000);
      // Waits (guarded against a hang) until the quick monitor has been probed, while the slow one still waits.
      const guard = Date.now() + 30_000;
      let quickChecked = false;
      while (!quickChecked && Date.now() < guard) {
        await new Promise((r) => setTimeout(r, 50));
        quickChecked = (await rt.probes.store.get(quick.id)).state.status === 'healthy';
      }
      assert.ok(quickChecked, 'the quick monitor was probed while the slow probe waited');
      assert.equal((await rt.probes.store.get(slow.id)).state.status, 'unknown', 'the slow probe is still waiting');
      release();
      const s = await run;
      assert.deepEqual({ due: s.due, recorded: s.recorded }, { due: 2, recorded: 2 });
      await rt.db.query('UPDATE monitors SET enabled = true');
      await rt.probes.store.remove(slow.id);
      await rt.probes.store.remove(quick.id);
    });

    describe('SSRF: with loopback NOT allow-listed (only 127.0.0.2)', () => {
      const probesWith = () => createProbesModule({ db: rt.db, clock, outbound: createOutbound({ allow: ['127.0.0.2/32'] }) });

      test('a target on 169.254.169.254 or 10.0.0.1 is refused: the check is down with the refusal, no connection', async () => {
        const p = probesWith();
        for (const [target, reason] of [
          ['http://169.254.169.254/latest/meta-data/', /link-local/],
          ['http://10.0.0.1/', /private/],
        ] as const) {
          const m = await p.store.create({ name: name('ssrf'), kind: 'http', target });
          const c = await p.scheduler.checkNow(m.id);
          assert.equal(c.status, 'down');
          assert.match(c.errorMessage ?? '', reason);
          assert.match(c.errorMessage ?? '', /OPSDECK_OUTBOUND_ALLOW/);
          assert.equal(c.probeDetails?.refused, true);
          assert.equal(c.latencyMs, null);
        }
        const tcp = await p.store.create({ name: name('ssrf-tcp'), kind: 'tcp', target: `127.0.0.1:${peers.tcp.port}` });
        const before = peers.tcp.connections;
        const c = await p.scheduler.checkNow(tcp.id);
        assert.equal(c.status, 'down');
        assert.match(c.errorMessage ?? '', /loopback/);
        assert.equal(peers.tcp.connections, before, 'no connection reached the listener');
        const dns = await p.store.create({ name: name('ssrf-dns'), kind: 'dns', target: 'app.test', dnsRecordType: 'A', dnsServer: `127.0.0.1:${peers.dns.port}` });
        const q = peers.dns.queries;
        const cd = await p.scheduler.checkNow(dns.id);
        assert.equal(cd.status, 'down');
        assert.match(cd.errorMessage ?? '', /loopback/);
        assert.equal(peers.dns.queries, q, 'the DNS server was not asked');
      });

      test('a redirect to 127.0.0.1 is refused: down with the refusal, the loopback server sees no request', async () => {
        const p = probesWith();
        const m = await p.store.create({ name: name('ssrf-redirect'), kind: 'http', target: peers.redirector.url('/go') });
        const seen = peers.http.requests.length;
        const c = await p.scheduler.checkNow(m.id);
        assert.equal(c.status, 'down');
        assert.match(c.errorMessage ?? '', /127\.0\.0\.1.*loopback/);
        assert.equal(peers.http.requests.length, seen, 'the redirect target received nothing');
      });
    });
  });
}
