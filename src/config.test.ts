import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from './config.ts';

test('OPSDECK_TRUST_PROXY: off by default; true, a hop count or a list of addresses/CIDR ranges', () => {
  assert.equal(loadConfig({}).trustProxy, false);
  assert.equal(loadConfig({ OPSDECK_TRUST_PROXY: 'false' }).trustProxy, false);
  assert.equal(loadConfig({ OPSDECK_TRUST_PROXY: 'true' }).trustProxy, true);
  assert.deepEqual(loadConfig({ OPSDECK_TRUST_PROXY: '127.0.0.1, 10.0.0.0/8,fd00::/8' }).trustProxy, ['127.0.0.1', '10.0.0.0/8', 'fd00::/8']);
  const hops = loadConfig({ OPSDECK_TRUST_PROXY: '2' }).trustProxy;
  assert.equal(typeof hops, 'function');
  const trust = hops as (address: string, hop: number) => boolean;
  assert.deepEqual([0, 1, 2].map((hop) => trust('192.0.2.1', hop)), [true, true, false], 'the two closest hops are trusted');
  for (const bad of ['proxy.example.com', '10.0.0.0/33', '1.2.3', 'yes please']) {
    assert.throws(() => loadConfig({ OPSDECK_TRUST_PROXY: bad }), (e: unknown) => e instanceof ConfigError && /OPSDECK_TRUST_PROXY/.test(e.message), bad);
  }
});

test('OPSDECK_DOMAIN_DNS_SERVERS: unset is the system resolvers; ip, ipv4:port and [ipv6]:port; anything else names the variable', () => {
  assert.deepEqual(loadConfig({}).domainCheckDnsServers, []);
  assert.deepEqual(loadConfig({ OPSDECK_DOMAIN_DNS_SERVERS: '10.0.0.53, 127.0.0.1:5353,[::1]:53,2001:db8::53' }).domainCheckDnsServers, ['10.0.0.53', '127.0.0.1:5353', '[::1]:53', '2001:db8::53']);
  for (const bad of ['dns.example.com', '10.0.0.1:0', '10.0.0.1:70000', '[10.0.0.1]:53', '::1:53x', '1.2.3']) {
    assert.throws(() => loadConfig({ OPSDECK_DOMAIN_DNS_SERVERS: bad }), (e: unknown) => e instanceof ConfigError && /OPSDECK_DOMAIN_DNS_SERVERS/.test(e.message), bad);
  }
});
