/**
 * The outbound guard against server-side request forgery, against real
 * servers on loopback: what is refused (and that no connection is made),
 * what the allow-list opens, redirects checked hop by hop, the address pinned
 * between check and connect, the body cap, and TLS certificate details.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createOutbound, embeddedIPv4, OutboundFailedError, OutboundRefusedError, refusedRange } from './outbound.ts';

function listen(server: Server | ReturnType<typeof createTcpServer>, host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve) => server.listen(0, host, () => resolve((server.address() as AddressInfo).port)));
}

describe('address ranges', () => {
  test('internal ranges are refused and named; public addresses pass', () => {
    const cases: [string, string | null][] = [
      ['169.254.169.254', 'link-local (cloud metadata)'],
      ['127.0.0.1', 'loopback'],
      ['127.5.6.7', 'loopback'],
      ['10.0.0.1', 'private'],
      ['172.16.0.1', 'private'],
      ['172.31.255.255', 'private'],
      ['192.168.1.1', 'private'],
      ['100.64.0.1', 'carrier-grade NAT'],
      ['0.0.0.0', 'unspecified ("this network")'],
      ['224.0.0.1', 'multicast'],
      ['255.255.255.255', 'reserved'],
      ['::1', 'loopback'],
      ['::', 'unspecified'],
      ['fd00::1', 'unique-local (private)'],
      ['fe80::1', 'link-local'],
      ['ff02::1', 'multicast'],
      ['::ffff:127.0.0.1', 'loopback'],
      ['::ffff:169.254.169.254', 'link-local (cloud metadata)'],
      ['64:ff9b::a00:1', 'private'],
      ['2002:7f00:1::', 'loopback'],
      ['8.8.8.8', null],
      ['172.32.0.1', null],
      ['1.1.1.1', null],
      ['2606:4700:4700::1111', null],
      ['::ffff:8.8.8.8', null],
    ];
    for (const [addr, reason] of cases) assert.equal(refusedRange(addr), reason, addr);
  });

  test('IPv4 inside IPv6 is found in mapped, NAT64 and 6to4 forms', () => {
    assert.equal(embeddedIPv4('::ffff:10.1.2.3'), '10.1.2.3');
    assert.equal(embeddedIPv4('::ffff:a01:203'), '10.1.2.3');
    assert.equal(embeddedIPv4('64:ff9b::7f00:1'), '127.0.0.1');
    assert.equal(embeddedIPv4('2002:a9fe:a9fe::1'), '169.254.169.254');
    assert.equal(embeddedIPv4('2001:db8::1'), null);
  });
});

describe('outbound requests', () => {
  let server: Server;
  let port: number;
  let hits = 0;
  let other: Server;
  let otherPort: number;
  let otherHits = 0;

  before(async () => {
    server = createServer((req, res) => {
      hits++;
      if (req.url === '/redirect-other') {
        res.writeHead(302, { location: `http://127.0.0.2:${otherPort}/` }).end();
      } else if (req.url === '/redirect-self') {
        res.writeHead(301, { location: '/final' }).end();
      } else if (req.url === '/redirect-metadata') {
        res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
      } else if (req.url === '/loop') {
        res.writeHead(302, { location: '/loop' }).end();
      } else if (req.url === '/big') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('x'.repeat(100_000));
      } else if (req.url === '/host') {
        res.writeHead(200).end(req.headers.host);
      } else {
        res.writeHead(200, { 'content-type': 'text/plain' }).end(`ok ${req.url}`);
      }
    });
    port = await listen(server);
    other = createServer((_req, res) => {
      otherHits++;
      res.end('other');
    });
    otherPort = await listen(other, '127.0.0.2');
  });
  after(() => {
    server.close();
    other.close();
  });

  test('loopback is refused without the allow-list, and nothing is connected', async () => {
    const out = createOutbound();
    const before = hits;
    await assert.rejects(out.fetch(`http://127.0.0.1:${port}/`), (err: unknown) => {
      assert.ok(err instanceof OutboundRefusedError);
      assert.equal(err.code, 'OUTBOUND_ADDRESS_REFUSED');
      assert.equal(err.reason, 'loopback');
      return true;
    });
    assert.equal(hits, before);
  });

  test('the cloud metadata address and private ranges are refused before connecting', async () => {
    const out = createOutbound({ allow: ['127.0.0.0/8'] });
    for (const url of ['http://169.254.169.254/latest/meta-data/', 'http://10.0.0.1/', 'http://[fd00::1]/', 'http://[::ffff:169.254.169.254]/', 'http://0xa9fea9fe/']) {
      await assert.rejects(out.fetch(url, { timeoutMs: 2000 }), OutboundRefusedError, url);
    }
  });

  test('the allow-list opens exactly its ranges', async () => {
    const out = createOutbound({ allow: ['127.0.0.1/32'] });
    const r = await out.fetch(`http://127.0.0.1:${port}/hello`);
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'ok /hello');
    assert.equal(r.address, '127.0.0.1');
    assert.equal(out.checkAddress('127.0.0.2')?.reason, 'loopback');
    assert.equal(out.checkAddress('127.0.0.1'), null);
  });

  test('a name is refused when any of its addresses is internal', async () => {
    const out = createOutbound({ resolver: async () => [{ address: '93.184.216.34', family: 4 }, { address: '10.0.0.7', family: 4 }] });
    const refused = await out.check('mixed.example');
    assert.ok(refused);
    assert.equal(refused.address, '10.0.0.7');
    assert.equal(refused.host, 'mixed.example');
  });

  test('redirects are followed and each hop is checked', async () => {
    const out = createOutbound({ allow: ['127.0.0.1/32'] });
    const ok = await out.fetch(`http://127.0.0.1:${port}/redirect-self`);
    assert.equal(ok.status, 200);
    assert.equal(ok.body.toString(), 'ok /final');
    assert.deepEqual(ok.redirects, [`http://127.0.0.1:${port}/final`]);

    const before = otherHits;
    await assert.rejects(out.fetch(`http://127.0.0.1:${port}/redirect-other`), (err: unknown) => err instanceof OutboundRefusedError && err.address === '127.0.0.2');
    assert.equal(otherHits, before, 'the refused hop was not contacted');
    await assert.rejects(out.fetch(`http://127.0.0.1:${port}/redirect-metadata`), OutboundRefusedError);
    await assert.rejects(out.fetch(`http://127.0.0.1:${port}/loop`, { maxRedirects: 3 }), (err: unknown) => err instanceof OutboundFailedError && err.code === 'TOO_MANY_REDIRECTS');

    const manual = await out.fetch(`http://127.0.0.1:${port}/redirect-metadata`, { maxRedirects: 0 });
    assert.equal(manual.status, 302);
  });

  test('the address checked is the address connected: a DNS answer that changes afterwards does not move the connection', async () => {
    let calls = 0;
    // First answer: the allowed test server; every later answer: the metadata service.
    const resolver = async () => (calls++ === 0 ? [{ address: '127.0.0.1', family: 4 as const }] : [{ address: '169.254.169.254', family: 4 as const }]);
    const out = createOutbound({ allow: ['127.0.0.1/32'], resolver });
    const r = await out.fetch(`http://rebind.test:${port}/host`);
    assert.equal(r.status, 200);
    assert.equal(r.address, '127.0.0.1');
    assert.equal(r.body.toString(), `rebind.test:${port}`, 'the Host header keeps the name');
    assert.equal(calls, 1, 'one resolution per connection');
    // The next request resolves again and is refused.
    await assert.rejects(out.fetch(`http://rebind.test:${port}/host`), OutboundRefusedError);
  });

  test('the body is capped and the rest not read', async () => {
    const out = createOutbound({ allow: ['127.0.0.1'] });
    const r = await out.fetch(`http://127.0.0.1:${port}/big`, { maxBodyBytes: 1000 });
    assert.equal(r.body.length, 1000);
    assert.equal(r.truncated, true);
    const whole = await out.fetch(`http://127.0.0.1:${port}/big`, { maxBodyBytes: 200_000 });
    assert.equal(whole.body.length, 100_000);
    assert.equal(whole.truncated, false);
  });

  test('a port nobody listens on fails with CONNECT_FAILED; a silent peer with TIMEOUT', async () => {
    const out = createOutbound({ allow: ['127.0.0.1'] });
    const probe = createTcpServer();
    const closedPort = await listen(probe);
    await new Promise((r) => probe.close(r));
    await assert.rejects(out.fetch(`http://127.0.0.1:${closedPort}/`), (err: unknown) => err instanceof OutboundFailedError && err.code === 'CONNECT_FAILED');
    const silent = createTcpServer(() => undefined);
    const silentPort = await listen(silent);
    try {
      await assert.rejects(out.fetch(`http://127.0.0.1:${silentPort}/`, { timeoutMs: 300 }), (err: unknown) => err instanceof OutboundFailedError && err.code === 'TIMEOUT');
      await assert.rejects(out.connect('127.0.0.1', closedPort, { timeoutMs: 2000 }), (err: unknown) => err instanceof OutboundFailedError && err.code === 'CONNECT_FAILED');
      const c = await out.connect('127.0.0.1', silentPort);
      assert.equal(c.address, '127.0.0.1');
      c.socket.destroy();
      await assert.rejects(createOutbound().connect('127.0.0.1', silentPort), OutboundRefusedError);
    } finally {
      silent.close();
    }
  });
});

describe('TLS', () => {
  let dir: string;
  let cert: string;
  let port: number;
  let server: ReturnType<typeof createHttpsServer>;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'opsdeck-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '20', '-subj', '/CN=probe.test', '-addext', 'subjectAltName=DNS:probe.test'], { stdio: 'ignore' });
    cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
    server = createHttpsServer({ key: readFileSync(join(dir, 'key.pem')), cert }, (_req, res) => res.end('secure'));
    port = await listen(server as unknown as Server);
  });
  after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a self-signed certificate fails verification unless the caller accepts it, and its dates are read', async () => {
    const out = createOutbound({ allow: ['127.0.0.1'], resolver: async () => [{ address: '127.0.0.1', family: 4 }] });
    await assert.rejects(out.fetch(`https://probe.test:${port}/`), (err: unknown) => err instanceof OutboundFailedError && err.code === 'TLS_FAILED');
    const r = await out.fetch(`https://probe.test:${port}/`, { tls: { rejectUnauthorized: false } });
    assert.equal(r.body.toString(), 'secure');
    assert.ok(r.certificate);
    assert.equal(r.certificate.authorized, false);
    const daysLeft = (r.certificate.validTo.getTime() - Date.now()) / 86_400_000;
    assert.ok(daysLeft > 19 && daysLeft <= 20, `about 20 days left, got ${daysLeft}`);
    assert.match(r.certificate.subject, /CN=probe\.test/);

    const trusted = await out.fetch(`https://probe.test:${port}/`, { tls: { ca: cert } });
    assert.equal(trusted.certificate?.authorized, true);
    const c = await out.connect('probe.test', port, { tls: { ca: cert } });
    assert.equal(c.certificate?.authorized, true);
    assert.ok(c.timings.tls !== null);
    c.socket.destroy();
    await assert.rejects(out.connect('127.0.0.1', port, { tls: { ca: cert } }), (err: unknown) => err instanceof OutboundFailedError && err.code === 'TLS_FAILED');
  });
});
