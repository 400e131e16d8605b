/**
 * /api/v1/domains through the real runtime (every backend), its resolver pointed at a DNS server
 * on loopback: add (a domain that is not a host name → 400 naming the field), list with filters and
 * paging, get, update, check now, history, reputation, delete.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestRuntime, type TestRuntime } from '../../../test/support/app.ts';
import { loginAs } from '../../../test/support/auth.ts';
import { enabledBackends } from '../../../test/support/backends.ts';
import { startDnsServer, type DnsServer } from '../../../test/support/dns-server.ts';

const Z = 'api.test';

for (const kind of enabledBackends()) {
  describe(`sending domains API [${kind}]`, () => {
    let rt: TestRuntime;
    let dns: DnsServer;
    let operator: string;
    let viewer: string;
    const req = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, authorization: string, payload?: unknown) =>
      rt.app.inject({ method, url, headers: { authorization }, ...(payload === undefined ? {} : { payload: payload as object }) });

    before(async () => {
      dns = await startDnsServer({
        authoritative: [Z],
        txt: { [`one.${Z}`]: ['v=spf1 -all'], [`_dmarc.one.${Z}`]: ['v=DMARC1; p=reject'], [`sel1._domainkey.one.${Z}`]: ['v=DKIM1; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDw'] },
      });
      rt = await buildTestRuntime(kind, { domainCheckDnsServers: [dns.server], domainCheckDnsTimeoutMs: 2000, domainCheckDnsTries: 2 });
      operator = await loginAs(rt, 'operator');
      viewer = await loginAs(rt, 'viewer');
    });
    after(async () => {
      await rt?.destroy();
      await dns?.stop();
    });

    test('a domain that is not a host name, a bad selector or a negative limit: 400 naming the field', async () => {
      const cases: [unknown, string][] = [
        [{ domain: 'not a domain' }, 'body.domain'],
        [{ domain: 'localhost' }, 'body.domain'],
        [{ domain: '192.0.2.1' }, 'body.domain'],
        [{ domain: '-bad.example.com' }, 'body.domain'],
        [{ domain: `${'a'.repeat(64)}.example.com` }, 'body.domain'],
        [{ domain: 'exämple.com' }, 'body.domain'],
        [{ domain: 'ok.example.com', dkimSelectors: ['has space'] }, 'body.dkimSelectors.0'],
        [{ domain: 'ok.example.com', dailyLimit: -1 }, 'body.dailyLimit'],
        [{ domain: 'ok.example.com', status: 'gone' }, 'body.status'],
      ];
      for (const [body, path] of cases) {
        const res = await req('POST', '/api/v1/domains', operator, body);
        assert.equal(res.statusCode, 400, `${JSON.stringify(body)}: ${res.body}`);
        const problem = res.json() as { code: string; errors: { path: string }[] };
        assert.equal(problem.code, 'VALIDATION_FAILED');
        assert.deepEqual(problem.errors.map((e) => e.path), [path], JSON.stringify(body));
      }
      assert.equal((await req('GET', '/api/v1/domains/not_a_domain', viewer)).statusCode, 400);
    });

    test('add, list with filters and paging, get, update, delete; a viewer cannot add', async () => {
      assert.equal((await req('POST', '/api/v1/domains', viewer, { domain: `x.${Z}` })).statusCode, 403);
      const created = await req('POST', '/api/v1/domains', operator, { domain: `Shop.${Z}.`, dkimSelectors: ['s2024'], dailyLimit: 5000 });
      assert.equal(created.statusCode, 201, created.body);
      assert.deepEqual(
        (({ domain, status, dailyLimit, dkimSelectors, spfConfigured, lastCheckedAt, lastCheck }) => ({ domain, status, dailyLimit, dkimSelectors, spfConfigured, lastCheckedAt, lastCheck }))(created.json()),
        { domain: `shop.${Z}`, status: 'active', dailyLimit: 5000, dkimSelectors: ['s2024'], spfConfigured: false, lastCheckedAt: null, lastCheck: null },
      );
      const dup = await req('POST', '/api/v1/domains', operator, { domain: `shop.${Z}` });
      assert.deepEqual([dup.statusCode, dup.json().code], [409, 'DOMAIN_EXISTS']);
      for (const d of ['news', 'bank']) assert.equal((await req('POST', '/api/v1/domains', operator, { domain: `${d}.${Z}`, status: 'paused' })).statusCode, 201);

      const page1 = (await req('GET', '/api/v1/domains?pageSize=2', viewer)).json();
      assert.deepEqual([page1.items.map((d: { domain: string }) => d.domain), page1.total, page1.totalPages], [[`bank.${Z}`, `news.${Z}`], 3, 2]);
      const paused = (await req('GET', '/api/v1/domains?status=paused&search=NEW', viewer)).json();
      assert.deepEqual(paused.items.map((d: { domain: string }) => d.domain), [`news.${Z}`]);
      assert.equal((await req('GET', '/api/v1/domains?spfConfigured=true', viewer)).json().total, 0);

      const patched = await req('PATCH', `/api/v1/domains/shop.${Z}`, operator, { status: 'blocked', dailyLimit: null, dkimSelectors: ['a', 'b'] });
      assert.equal(patched.statusCode, 200, patched.body);
      assert.deepEqual([patched.json().status, patched.json().dailyLimit, patched.json().dkimSelectors], ['blocked', null, ['a', 'b']]);
      assert.equal((await req('GET', `/api/v1/domains/SHOP.${Z}`, viewer)).json().status, 'blocked');

      assert.equal((await req('DELETE', `/api/v1/domains/bank.${Z}`, operator)).statusCode, 204);
      const gone = await req('GET', `/api/v1/domains/bank.${Z}`, viewer);
      assert.deepEqual([gone.statusCode, gone.json().code], [404, 'DOMAIN_NOT_FOUND']);
      assert.equal((await req('DELETE', `/api/v1/domains/bank.${Z}`, operator)).statusCode, 404);
    });

    test('check now reads DNS and stores the check; the history and the reputation show it', async () => {
      assert.equal((await req('POST', '/api/v1/domains', operator, { domain: `one.${Z}`, dkimSelectors: ['sel1'] })).statusCode, 201);
      assert.equal((await req('POST', `/api/v1/domains/one.${Z}/check`, viewer)).statusCode, 403);
      const checked = await req('POST', `/api/v1/domains/one.${Z}/check`, operator);
      assert.equal(checked.statusCode, 200, checked.body);
      const c = checked.json();
      // No sending IPs are wired in the runtime yet: SPF is judged on the record alone.
      assert.deepEqual([c.outcome, c.spf, c.dkim, c.dmarc, c.dmarcPolicy, c.evidence.spf.all], ['ok', 'configured', 'configured', 'configured', 'reject', '-all']);
      assert.equal((await req('POST', `/api/v1/domains/none.${Z}/check`, operator)).statusCode, 404);

      const history = (await req('GET', `/api/v1/domains/one.${Z}/history`, viewer)).json();
      assert.deepEqual([history.total, history.items[0].id, history.items[0].evidence.dmarc.records], [1, c.id, ['v=DMARC1; p=reject']]);

      const rep = await req('GET', `/api/v1/domains/one.${Z}/reputation`, viewer);
      assert.equal(rep.statusCode, 200, rep.body);
      const r = rep.json();
      assert.deepEqual([r.authentication.spfConfigured, r.authentication.dmarcPolicy, r.last24h.attempts, r.health.score, r.problems], [true, 'reject', 0, null, []]);
    });

    test('reputation through the runtime: a listed sending IP the domain sent from costs the any_ip_blacklisted points', async () => {
      assert.equal((await req('POST', '/api/v1/domains', operator, { domain: `listed.${Z}` })).statusCode, 201);
      assert.equal((await req('POST', '/api/v1/ips', operator, { ip: '192.0.2.77' })).statusCode, 201);
      // listed at its last DNSBL check (the checker's own result, set here directly)
      await rt.db.query(`UPDATE sending_ips SET blacklist_count = 2 WHERE ip = '192.0.2.77'`);
      const at = new Date(Date.now() - 3_600_000).toISOString();
      const sent = await req('POST', '/api/v1/events/email', operator, [
        { timestamp: at, eventType: 'delivered', fromDomain: `listed.${Z}`, sendingIp: '192.0.2.77', mtaNode: 'mta-1', deliveryTimeMs: 900, dkimResult: 'pass', spfResult: 'pass', dmarcResult: 'pass' },
      ]);
      assert.equal(sent.statusCode, 200, sent.body);
      const r = (await req('GET', `/api/v1/domains/listed.${Z}/reputation`, viewer)).json();
      assert.deepEqual(r.health.blacklistedIps, ['192.0.2.77']);
      assert.deepEqual([r.health.score, r.health.deductions], [85, [{ term: 'any_ip_blacklisted', points: 15, value: 1 }]]);
    });
  });
}
