/**
 * The loopback DNS server the DNS-check tests stand on answers as a real zone
 * does: records it holds, NXDOMAIN for names of its zones it does not hold,
 * PTR for the addresses of its A/AAAA records, new records after update().
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Resolver } from 'node:dns/promises';
import { blackhole, startDnsServer, type DnsServer } from './dns-server.ts';

let dns: DnsServer;
const resolver = new Resolver({ timeout: 2000, tries: 2 });

before(async () => {
  dns = await startDnsServer({
    authoritative: ['bl.test', 'example.test'],
    a: { '2.0.0.127.bl.test': ['127.0.0.2'], 'mail.example.test': ['192.0.2.7'] },
    aaaa: { 'mail.example.test': ['2001:db8::7'] },
    txt: { '2.0.0.127.bl.test': ['listed: see https://bl.test/lookup'], 'example.test': ['v=spf1 ip4:192.0.2.0/24 -all'] },
  });
  resolver.setServers([dns.server]);
});
after(async () => {
  await dns?.stop();
});

const code = async (p: Promise<unknown>) => p.then(() => 'answer', (e: { code?: string }) => e.code);

test('answers the records it holds, NXDOMAIN for other names of its zones, PTR for its addresses', async () => {
  assert.deepEqual(await resolver.resolve4('2.0.0.127.bl.test'), ['127.0.0.2']);
  assert.deepEqual(await resolver.resolveTxt('2.0.0.127.bl.test'), [['listed: see https://bl.test/lookup']]);
  assert.deepEqual(await resolver.resolveTxt('example.test'), [['v=spf1 ip4:192.0.2.0/24 -all']]);
  assert.deepEqual(await resolver.resolve6('mail.example.test'), ['2001:db8::7']);
  assert.equal(await code(resolver.resolve4('3.0.0.127.bl.test')), 'ENOTFOUND', 'NXDOMAIN');
  assert.deepEqual(await resolver.reverse('192.0.2.7'), ['mail.example.test']);
  assert.deepEqual(await resolver.reverse('2001:db8::7'), ['mail.example.test']);
});

test('update() serves new records on the same port; a blackhole never answers', async () => {
  await dns.update({ authoritative: ['bl.test'], a: { '3.0.0.127.bl.test': ['127.0.0.3'] } });
  assert.deepEqual(await resolver.resolve4('3.0.0.127.bl.test'), ['127.0.0.3']);
  assert.equal(await code(resolver.resolve4('2.0.0.127.bl.test')), 'ENOTFOUND');
  const hole = await blackhole();
  try {
    const r = new Resolver({ timeout: 300, tries: 1 });
    r.setServers([hole.server]);
    assert.equal(await code(r.resolve4('2.0.0.127.bl.test')), 'ETIMEOUT');
    assert.ok(hole.queries() >= 1, 'the query reached the port');
  } finally {
    await hole.stop();
  }
});
