/**
 * The SPF, DKIM and DMARC checks against a real DNS server on loopback (dnsmasq,
 * test/support/dns-server.ts) serving hand-written records; a blackhole for the timeout
 * case. Expected results are written by hand from RFC 7208 / 6376 / 7489.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { blackhole, startDnsServer, type DnsServer } from '../../../test/support/dns-server.ts';
import { checkDkim, checkDmarc, checkDomainDns, checkSpf, createDnsLookup, evaluateSpf, type DnsLookup } from './dns-check.ts';

const Z = 'opsdeck.test';
const KEY = 'MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDwIRP/UC3SBsEmGqZ9ZJW3/DkMoGeLnQg1fWn7/zYtIxN2SnFCjxOCKG9v3b4jYfcTNh5ijSsq631uBItLa7od+v/RtdC2UzJ1lWT947qR+Rcac2gbto/NMqJ0fzfVjH4OuKhitdY9tf6mcwGjaNBcWToIMmPSPDdQPNUYckcQ2QIDAQAB';
const IPS = ['192.0.2.10', '198.51.100.7', '203.0.113.5'];

const records = {
  authoritative: [Z, 'brand.co.uk', 'solo.co.uk'],
  a: { [`relay.chain.${Z}`]: ['198.51.100.7'] },
  txt: {
    [`good.${Z}`]: ['v=spf1 ip4:192.0.2.0/24 ip4:198.51.100.7 ip4:203.0.113.0/28 ip6:2001:db8::/32 -all', 'site-verification=abc123'],
    [`partial.${Z}`]: ['v=spf1 ip4:192.0.2.10 ~all'],
    [`chain.${Z}`]: [`v=spf1 include:_spf.chain.${Z} a -all`],
    [`_spf.chain.${Z}`]: [`v=spf1 ip4:192.0.2.10 include:_spf2.chain.${Z} ~all`],
    [`_spf2.chain.${Z}`]: [`v=spf1 a:relay.chain.${Z}/32 -all`],
    [`redirect.${Z}`]: [`v=spf1 redirect=good.${Z}`],
    [`two.${Z}`]: ['v=spf1 ip4:192.0.2.10 -all', 'v=spf1 include:_spf.example.com ~all'],
    [`nospf.${Z}`]: ['hello world'],
    [`limit.${Z}`]: [`v=spf1 ${Array.from({ length: 11 }, (_, i) => `a:h${i + 1}.${Z}`).join(' ')} -all`],
    [`badsyntax.${Z}`]: ['v=spf1 ip4:192.0.2.300 -all'],
    [`s1._domainkey.good.${Z}`]: [`v=DKIM1; k=rsa; p=${KEY}`],
    [`s2._domainkey.good.${Z}`]: ['v=DKIM1; k=rsa; p='],
    [`_dmarc.good.${Z}`]: [`v=DMARC1; p=reject; sp=quarantine; pct=50; rua=mailto:dmarc@good.${Z}`],
    [`_dmarc.partial.${Z}`]: ['v=DMARC1; p=none'],
    [`_dmarc.two.${Z}`]: ['v=DMARC1; p=reject', 'v=DMARC1; p=none'],
    // An organisational domain under a two-label public suffix, with a subdomain policy.
    ['_dmarc.brand.co.uk']: ['v=DMARC1; p=reject; sp=quarantine; rua=mailto:d@brand.co.uk'],
    ['_dmarc.own.brand.co.uk']: ['v=DMARC1; p=none'],
    ['_dmarc.solo.co.uk']: ['v=DMARC1; p=quarantine'],
  },
};

describe('sending-domain DNS checks (real DNS server on loopback)', () => {
  let dns: DnsServer;
  const lookup = () => createDnsLookup({ servers: [dns.server], timeoutMs: 2000, tries: 2 });

  before(async () => {
    dns = await startDnsServer(records);
  });
  after(async () => {
    await dns?.stop();
  });

  test('SPF present and covering every sending IP: configured, each IP pass, the -all qualifier, other TXT records ignored', async () => {
    const spf = await checkSpf(lookup(), `good.${Z}`, IPS);
    assert.equal(spf.state, 'configured');
    assert.deepEqual(spf.records, ['v=spf1 ip4:192.0.2.0/24 ip4:198.51.100.7 ip4:203.0.113.0/28 ip6:2001:db8::/32 -all']);
    assert.equal(spf.all, '-all');
    assert.deepEqual(spf.ips.map((x) => [x.ip, x.result, x.lookups]), [
      ['192.0.2.10', 'pass', 0],
      ['198.51.100.7', 'pass', 0],
      ['203.0.113.5', 'pass', 0],
    ]);
    assert.equal((await evaluateSpf(lookup(), '2001:db8::25', `good.${Z}`)).result, 'pass');
    assert.equal((await evaluateSpf(lookup(), '2001:db9::25', `good.${Z}`)).result, 'fail');
    assert.equal((await evaluateSpf(lookup(), '203.0.113.16', `good.${Z}`)).result, 'fail', '/28 ends at .15');
  });

  test('SPF present but not covering some IPs: not configured, naming the IPs and their results', async () => {
    const spf = await checkSpf(lookup(), `partial.${Z}`, IPS);
    assert.equal(spf.state, 'not_configured');
    assert.equal(spf.all, '~all');
    assert.deepEqual(spf.ips.map((x) => [x.ip, x.result]), [
      ['192.0.2.10', 'pass'],
      ['198.51.100.7', 'softfail'],
      ['203.0.113.5', 'softfail'],
    ]);
    assert.equal(spf.reason, 'does not authorise 198.51.100.7 (softfail), 203.0.113.5 (softfail)');
  });

  test('an include chain is followed: include → include → a:host, neutral/softfail includes do not match, lookups counted', async () => {
    const spf = await checkSpf(lookup(), `chain.${Z}`, IPS);
    // 192.0.2.10: include (1) → ip4 in _spf.chain matches.
    // 198.51.100.7: include (1) → include (2) → a:relay (3) matches → pass inside, so both includes match.
    // 203.0.113.5: include (1) → include (2) → a:relay (3) no, -all → fail; _spf ~all → softfail (no match outside);
    //              a (4: chain has no A record) no; -all → fail.
    assert.deepEqual(spf.ips.map((x) => [x.ip, x.result, x.lookups]), [
      ['192.0.2.10', 'pass', 1],
      ['198.51.100.7', 'pass', 3],
      ['203.0.113.5', 'fail', 4],
    ]);
    assert.equal(spf.state, 'not_configured');
    const covered = await checkSpf(lookup(), `chain.${Z}`, ['192.0.2.10', '198.51.100.7']);
    assert.equal(covered.state, 'configured');
  });

  test('redirect= is followed when no mechanism matched; the record has no all of its own', async () => {
    const spf = await checkSpf(lookup(), `redirect.${Z}`, ['192.0.2.10', '203.0.113.99']);
    assert.equal(spf.all, null);
    assert.deepEqual(spf.ips.map((x) => [x.ip, x.result, x.lookups]), [
      ['192.0.2.10', 'pass', 1],
      ['203.0.113.99', 'fail', 1],
    ]);
  });

  test('two SPF records are an error of the domain (RFC 7208 §4.5 permerror): not configured, both records shown', async () => {
    const spf = await checkSpf(lookup(), `two.${Z}`, IPS);
    assert.equal(spf.state, 'not_configured');
    assert.equal(spf.records.length, 2);
    assert.match(spf.reason, /^2 SPF records: a permerror/);
    assert.deepEqual(spf.ips, [], 'nothing evaluated');
    assert.equal((await evaluateSpf(lookup(), '192.0.2.10', `two.${Z}`)).result, 'permerror');
  });

  test('no SPF record, a syntax error, more than 10 DNS lookups', async () => {
    const none = await checkSpf(lookup(), `nospf.${Z}`, IPS);
    assert.deepEqual([none.state, none.reason, none.records], ['not_configured', 'no SPF record (TXT v=spf1)', []]);
    const nx = await checkSpf(lookup(), `nothing-here.${Z}`, IPS);
    assert.equal(nx.state, 'not_configured', 'NXDOMAIN is an answer: no record');
    const bad = await checkSpf(lookup(), `badsyntax.${Z}`, IPS);
    assert.equal(bad.state, 'not_configured');
    assert.match(bad.reason, /^invalid SPF record: bad address in ip4:192\.0\.2\.300/);
    const limit = await evaluateSpf(lookup(), '192.0.2.10', `limit.${Z}`);
    assert.equal(limit.result, 'permerror');
    assert.equal(limit.lookups, 11);
    assert.match(limit.detail, /more than 10 DNS lookups \(at a:h11\.opsdeck\.test\)/);
  });

  test('DKIM: a key per selector is configured; an empty p= is revoked; no record is missing', async () => {
    const ok = await checkDkim(lookup(), `good.${Z}`, ['s1']);
    assert.equal(ok.state, 'configured');
    assert.deepEqual(ok.selectors, [{ selector: 's1', name: `s1._domainkey.good.${Z}`, state: 'configured', record: `v=DKIM1; k=rsa; p=${KEY}`, keyType: 'rsa' }]);
    const mixed = await checkDkim(lookup(), `good.${Z}`, ['s1', 's2', 's3']);
    assert.equal(mixed.state, 'not_configured');
    assert.deepEqual(mixed.selectors.map((s) => [s.selector, s.state]), [
      ['s1', 'configured'],
      ['s2', 'revoked'],
      ['s3', 'missing'],
    ]);
    assert.equal(mixed.reason, 's2: revoked, s3: missing');
    const none = await checkDkim(lookup(), `good.${Z}`, []);
    assert.deepEqual([none.state, none.reason], ['not_configured', 'no DKIM selectors configured for this domain']);
  });

  test('DMARC: the policy, subdomain policy, pct and report address are read; none; missing; two records', async () => {
    const good = await checkDmarc(lookup(), `good.${Z}`);
    assert.deepEqual(
      { state: good.state, policy: good.policy, sp: good.subdomainPolicy, pct: good.pct, rua: good.rua },
      { state: 'configured', policy: 'reject', sp: 'quarantine', pct: 50, rua: [`mailto:dmarc@good.${Z}`] },
    );
    const none = await checkDmarc(lookup(), `partial.${Z}`);
    assert.deepEqual([none.state, none.policy, none.subdomainPolicy, none.pct, none.rua], ['configured', 'none', 'none', 100, []]);
    const missing = await checkDmarc(lookup(), `nospf.${Z}`);
    assert.deepEqual([missing.state, missing.policy], ['not_configured', null]);
    const two = await checkDmarc(lookup(), `two.${Z}`);
    assert.equal(two.state, 'not_configured');
    assert.match(two.reason, /^2 DMARC records/);
  });

  test('DMARC: a subdomain without a record takes its organisational domain\'s sp (or p), found by the Public Suffix List; its own record wins', async () => {
    const sub = await checkDmarc(lookup(), 'mail.brand.co.uk');
    assert.deepEqual(
      { state: sub.state, source: sub.source, org: sub.organizationalDomain, policy: sub.policy, sp: sub.subdomainPolicy, records: sub.records },
      { state: 'configured', source: 'organizational', org: 'brand.co.uk', policy: 'quarantine', sp: 'quarantine', records: ['v=DMARC1; p=reject; sp=quarantine; rua=mailto:d@brand.co.uk'] },
    );
    assert.match(sub.reason, /inherited from brand\.co\.uk/);
    const deep = await checkDmarc(lookup(), 'a.b.brand.co.uk');
    assert.deepEqual([deep.state, deep.policy, deep.organizationalDomain], ['configured', 'quarantine', 'brand.co.uk'], 'the organisational domain, not the parent');
    const own = await checkDmarc(lookup(), 'own.brand.co.uk');
    assert.deepEqual([own.state, own.source, own.policy], ['configured', 'domain', 'none']);
    const org = await checkDmarc(lookup(), 'brand.co.uk');
    assert.deepEqual([org.state, org.source, org.organizationalDomain, org.policy], ['configured', 'domain', null, 'reject']);
    const noSp = await checkDmarc(lookup(), 'news.solo.co.uk');
    assert.deepEqual([noSp.state, noSp.policy], ['configured', 'quarantine'], 'without sp the organisational p applies');
    const none = await checkDmarc(lookup(), `nospf.${Z}`);
    assert.deepEqual([none.state, none.organizationalDomain], ['not_configured', Z]);
    assert.equal(none.reason, `no DMARC record (TXT v=DMARC1 at _dmarc.nospf.${Z} or at the organisational domain's _dmarc.${Z})`);
    const two = await checkDmarc(lookup(), `x.two.${Z}`);
    assert.equal(two.state, 'not_configured', 'no record at x.two and none at the organisational domain');
  });

  test('a DNS server that never answers: every part is an error, never configured or not configured', async () => {
    const hole = await blackhole();
    try {
      const dead = createDnsLookup({ servers: [hole.server], timeoutMs: 200, tries: 1 });
      const ev = await checkDomainDns(dead, `good.${Z}`, ['s1'], IPS);
      assert.deepEqual([ev.spf.state, ev.dkim.state, ev.dmarc.state], ['error', 'error', 'error']);
      assert.match(ev.spf.error ?? '', /TXT good\.opsdeck\.test: no answer \(ETIMEOUT\)/);
      assert.deepEqual(ev.dkim.selectors.map((s) => s.state), ['error']);
      assert.ok(hole.queries() > 0, 'the checker did ask the server');
    } finally {
      await hole.stop();
    }
  });
});

test('mx mechanisms resolve the MX hosts (with CIDR lengths) and an MX list over 10 names is a permerror (fixed lookup)', async () => {
  const fixed = (txt: Record<string, string[]>, a: Record<string, string[]>, mx: Record<string, string[]>): DnsLookup => ({
    txt: async (n) => txt[n] ?? [],
    a: async (n) => a[n] ?? [],
    aaaa: async () => [],
    mx: async (n) => (mx[n] ?? []).map((exchange, i) => ({ exchange, priority: 10 * (i + 1) })),
  });
  const dns = fixed(
    { 'm.test': ['v=spf1 mx/24 -all'], 'big.test': ['v=spf1 mx -all'] },
    { 'mx1.m.test': ['192.0.2.1'], 'mx2.m.test': ['198.51.100.1'] },
    { 'm.test': ['mx1.m.test', 'mx2.m.test'], 'big.test': Array.from({ length: 11 }, (_, i) => `mx${i}.big.test`) },
  );
  assert.equal((await evaluateSpf(dns, '198.51.100.200', 'm.test')).result, 'pass', 'second MX host, /24');
  assert.equal((await evaluateSpf(dns, '203.0.113.1', 'm.test')).result, 'fail');
  assert.equal((await evaluateSpf(dns, '192.0.2.1', 'big.test')).result, 'permerror');
});

test('ptr, exists and macros are not evaluated (unknown, never pass or fail); an include without an SPF record is a permerror', async () => {
  const txt: Record<string, string[]> = {
    'p.test': ['v=spf1 ip4:192.0.2.1 ptr -all'],
    'e.test': ['v=spf1 exists:%{i}.allow.e.test -all'],
    'i.test': ['v=spf1 include:nospf.test -all'],
    'nospf.test': ['just text'],
  };
  const dns: DnsLookup = { txt: async (n) => txt[n] ?? [], a: async () => [], aaaa: async () => [], mx: async () => [] };
  assert.equal((await evaluateSpf(dns, '192.0.2.1', 'p.test')).result, 'pass', 'matched before ptr');
  const ptr = await evaluateSpf(dns, '192.0.2.2', 'p.test');
  assert.deepEqual([ptr.result, ptr.detail], ['unknown', 'ptr is not evaluated']);
  assert.equal((await evaluateSpf(dns, '192.0.2.2', 'e.test')).result, 'unknown');
  const spf = await checkSpf(dns, 'p.test', ['192.0.2.1', '192.0.2.2']);
  assert.deepEqual([spf.state, spf.reason], ['not_configured', 'does not authorise 192.0.2.2 (unknown)']);
  const inc = await evaluateSpf(dns, '192.0.2.1', 'i.test');
  assert.deepEqual([inc.result, inc.detail], ['permerror', 'include:nospf.test: nospf.test has no SPF record']);
});
