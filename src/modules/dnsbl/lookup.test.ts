/**
 * The DNSBL query against a real DNS server (dnsmasq on loopback): the
 * accuracy cases — listed with its TXT reason, clean (NXDOMAIN), each Spamhaus
 * "query refused" code, an odd answer, a server that never answers, IPv6
 * nibbles — and the pure pieces (query names, answer classification, zone names).
 * No database: the same on every backend.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { blackhole, startDnsServer, type DnsServer } from '../../../test/support/dns-server.ts';
import { loadConfig } from '../../config.ts';
import { classifyAnswers, dnsblQueryName, DnsblResolver, expandIPv6, isHostname } from './lookup.ts';

describe('DNSBL query names and answers', () => {
  test('IPv4 octets and IPv6 nibbles are reversed under the zone', () => {
    assert.equal(dnsblQueryName('192.0.2.7', 'zen.spamhaus.org'), '7.2.0.192.zen.spamhaus.org');
    assert.equal(expandIPv6('2001:db8::1'), '20010db8000000000000000000000001');
    assert.equal(expandIPv6('::ffff:192.0.2.1'), '00000000000000000000ffffc0000201');
    assert.equal(
      dnsblQueryName('2001:db8:1:2::abcd', 'bl.test'),
      'd.c.b.a.0.0.0.0.0.0.0.0.0.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.bl.test',
    );
    assert.throws(() => dnsblQueryName('192.0.2.300', 'bl.test'), /not an IP address/);
  });

  test('127.0.0.2–255 is listed; Spamhaus refusal codes and odd answers are errors, never listings', () => {
    assert.deepEqual(classifyAnswers([]), { status: 'clean', error: null });
    assert.equal(classifyAnswers(['127.0.0.2']).status, 'listed');
    assert.equal(classifyAnswers(['127.0.0.4', '127.0.0.11']).status, 'listed');
    for (const code of ['127.255.255.252', '127.255.255.254', '127.255.255.255']) {
      const c = classifyAnswers([code]);
      assert.equal(c.status, 'error', code);
      assert.match(c.error!, /Spamhaus refused the query/);
    }
    assert.match(classifyAnswers(['127.255.255.254']).error!, /public or open resolver/);
    assert.equal(classifyAnswers(['127.0.0.2', '127.255.255.255']).status, 'error', 'a refusal among listings is still an error');
    assert.equal(classifyAnswers(['127.0.0.1']).status, 'error');
    assert.equal(classifyAnswers(['127.0.1.2']).status, 'error');
    assert.equal(classifyAnswers(['192.0.2.1']).status, 'error');
  });

  test('OPSDECK_DNSBL_RESOLVERS takes ip, ip:port and [v6]:port; anything else stops the start', () => {
    assert.deepEqual(loadConfig({ OPSDECK_DNSBL_RESOLVERS: '10.0.0.53, 127.0.0.1:5353,[::1]:53,::1' }).dnsblResolvers, ['10.0.0.53', '127.0.0.1:5353', '[::1]:53', '::1']);
    assert.deepEqual(loadConfig({}).dnsblResolvers, []);
    for (const bad of ['dns.google', '127.0.0.1:0', '127.0.0.1:70000', '[::1]', '8.8.8.8:53:1']) assert.throws(() => loadConfig({ OPSDECK_DNSBL_RESOLVERS: bad }), /OPSDECK_DNSBL_RESOLVERS|dnsblResolvers|resolver/i, bad);
  });

  test('a zone must be a host name', () => {
    assert.ok(isHostname('zen.spamhaus.org'));
    assert.ok(isHostname('dnsbl-1.uceprotect.net'));
    for (const bad of ['zen', 'zen..org', '-a.org', 'a-.org', 'a b.org', 'http://zen.org', '192.0.2.1', 'x'.repeat(64) + '.org', '*.org']) assert.equal(isHostname(bad), false, bad);
  });
});

describe('DNSBL queries against a loopback DNS server', () => {
  let dns: DnsServer;
  let r: DnsblResolver;
  before(async () => {
    // A DNSBL answers A records for IPv6 query names too.
    dns = await startDnsServer({
      authoritative: ['zen.test', 'bl6.test'],
      a: {
        '7.2.0.192.zen.test': ['127.0.0.2'],
        '8.2.0.192.zen.test': ['127.0.0.4'],
        '52.2.0.192.zen.test': ['127.255.255.252'],
        '54.2.0.192.zen.test': ['127.255.255.254'],
        '55.2.0.192.zen.test': ['127.255.255.255'],
        '99.2.0.192.zen.test': ['10.1.2.3'],
        [dnsblQueryName('2001:db8::25', 'bl6.test')]: ['127.0.0.3'],
      },
      txt: { '7.2.0.192.zen.test': ['Listed by SBL, see https://check.spamhaus.org/sbl/query/SBL1'] },
    });
    r = new DnsblResolver({ servers: [dns.server], timeoutMs: 3000, tries: 2 });
  });
  after(async () => {
    await dns?.stop();
  });

  test('listed: the A answer and the TXT reason', async () => {
    const x = await r.check('192.0.2.7', 'zen.test');
    assert.equal(x.status, 'listed');
    assert.equal(x.response, '127.0.0.2');
    assert.equal(x.reason, 'Listed by SBL, see https://check.spamhaus.org/sbl/query/SBL1');
    assert.equal(x.error, null);
    const y = await r.check('192.0.2.8', 'zen.test');
    assert.deepEqual([y.status, y.response, y.reason], ['listed', '127.0.0.4', null]);
  });

  test('clean: NXDOMAIN', async () => {
    const x = await r.check('192.0.2.9', 'zen.test');
    assert.deepEqual([x.status, x.response, x.reason, x.error], ['clean', null, null, null]);
  });

  for (const [last, words] of [['52', /typing error/], ['54', /public or open resolver/], ['55', /excessive number of queries/]] as const) {
    test(`Spamhaus 127.255.255.${Number(last) + 200} is an error, not a listing`, async () => {
      const x = await r.check(`192.0.2.${last}`, 'zen.test');
      assert.equal(x.status, 'error');
      assert.equal(x.response, `127.255.255.${Number(last) + 200}`);
      assert.match(x.error!, words);
    });
  }

  test('an answer outside 127.0.0.x is an error', async () => {
    const x = await r.check('192.0.2.99', 'zen.test');
    assert.deepEqual([x.status, x.response], ['error', '10.1.2.3']);
  });

  test('IPv6: the nibble name is asked', async () => {
    const x = await r.check('2001:db8::25', 'bl6.test');
    assert.deepEqual([x.status, x.response], ['listed', '127.0.0.3']);
    assert.equal((await r.check('2001:db8::26', 'bl6.test')).status, 'clean');
  });

  test('a server that never answers is an error (timeout), never clean or listed', async () => {
    const hole = await blackhole();
    try {
      const slow = new DnsblResolver({ servers: [hole.server], timeoutMs: 300, tries: 1 });
      const x = await slow.check('192.0.2.7', 'zen.test');
      assert.equal(x.status, 'error');
      assert.match(x.error!, /no answer within 300 ms/);
      assert.ok(hole.queries() >= 1);
    } finally {
      await hole.stop();
    }
  });
});
