/**
 * The GELF receiver with real UDP datagrams (and TCP frames) on a loopback port, on every
 * backend: the messages ZoneMTA's zonemta-wildduck plugin and Haraka's wildduck plugin emit,
 * plain, zlib-deflated (the `gelf` package of WildDuck/ZoneMTA), gzip-compressed (Haraka's
 * haraka-plugin-gelf), chunked and sent out of order, a lost chunk (dropped after the
 * timeout, counted, nothing stored), a re-sent message (stored once), garbage and oversize
 * input (counted, nothing stored), events that are not deliveries (counted, ignored), and
 * the batching (at most N rows per write).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import { deflateSync, gzipSync } from 'node:zlib';
import { enabledBackends, forEachBackend } from '../../../test/support/backends.ts';
import { buildTestRuntime, type TestRuntime } from '../../../test/support/app.ts';
import type { StreamStore } from '../../timeseries/stream-store.ts';
import { GelfReceiver } from './receiver.ts';

const T0 = Math.floor(Date.now() / 1000) - 3600; // an hour ago, in GELF's seconds

/** A delivery as zonemta-wildduck's log:entry hook logs ZoneMTA's ACCEPTED (index.js). */
function accepted(n: number, more: Record<string, unknown> = {}) {
  return {
    version: '1.1',
    host: 'mta-1',
    short_message: `MTA [ACCEPTED] 18f3c1a2b4d00${n}.001`,
    timestamp: T0 + n,
    facility: 'mta',
    _component: 'mta',
    _queue_id: `18f3c1a2b4d00${n}`,
    _queue_id_seq: '001',
    _from: 'news@Shop.example',
    _to: 'alice@gmail.com',
    _mail_action: 'accepted',
    _message_id: `<m${n}@shop.example>`,
    _zone: 'default',
    _mx: 'gmail-smtp-in.l.google.com',
    _mx_host: '142.250.102.27',
    _local_ip: '192.0.2.10',
    _response: '250 2.0.0 OK  1764500000 a1si1234567wrb.12 - gsmtp',
    ...more,
  };
}

const json = (m: object) => Buffer.from(JSON.stringify(m));

/** GELF chunks of a payload: magic, 8-byte id, sequence number, count. */
function chunks(payload: Buffer, size: number): Buffer[] {
  const id = randomBytes(8);
  const n = Math.ceil(payload.length / size);
  return Array.from({ length: n }, (_, i) => Buffer.concat([Buffer.from([0x1e, 0x0f]), id, Buffer.from([i, n]), payload.subarray(i * size, (i + 1) * size)]));
}

forEachBackend('GELF receiver', (kind) => {
  let rt: TestRuntime;
  let rx: GelfReceiver;
  let port: number;
  let now = Date.now();
  const client = createSocket('udp4');

  const send = (b: Buffer) => new Promise<void>((resolve, reject) => client.send(b, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
  /** Waits until the receiver has seen `n` more messages or chunks (a hang guard only). */
  async function settle(before: number, n: number, what: (s: ReturnType<GelfReceiver['stats']>) => number) {
    for (let i = 0; i < 1000 && what(rx.stats()) < before + n; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(what(rx.stats()), before + n, 'the receiver saw the datagrams');
  }
  const total = (s: ReturnType<GelfReceiver['stats']>) => s.stored + s.duplicate + s.ignored + s.invalid + s.garbage + s.oversize + s.incomplete + s.overflow + s.refused + s.failed + pendingRows();
  let pendingRows = () => 0;
  const rows = (messageId: string) =>
    rt.db.queryMany<Record<string, unknown>>(
      `SELECT event_type, mta_node, queue_id, from_address, from_domain, to_address, to_domain, mx_host, host(sending_ip) AS sending_ip, status_code, status_message, bounce_type, bounce_category,
              (extract(epoch FROM time))::int AS t FROM email_events WHERE message_id = $1 ORDER BY time`,
      [messageId],
    );

  before(async () => {
    rt = await buildTestRuntime(kind);
    rx = new GelfReceiver({ streams: rt.streams, host: '127.0.0.1', port: 0, flushMs: 60_000, chunkTimeoutMs: 5000, maxMessageBytes: 256 * 1024, registry: rt.metrics.registry, now: () => now });
    port = (await rx.start()).udpPort;
    // rows waiting in the buffer count as seen
    pendingRows = () => (rx as unknown as { buffer: unknown[] }).buffer.length;
  });
  after(async () => {
    client.close();
    await rx.stop();
    await rt.destroy();
  });

  test('plain, zlib and gzip messages of ZoneMTA become email events with their SMTP replies', async () => {
    const before = total(rx.stats());
    await send(json(accepted(1)));
    await send(deflateSync(json(accepted(2, { _mail_action: 'deferred', short_message: 'MTA [DEFERRED] 18f3c1a2b4d002.001', _bounce_category: 'rate', _bounce_count: 1, _response: '421 4.7.28 Our system has detected an unusual rate of unsolicited mail' }))));
    await send(gzipSync(json(accepted(3, { _mail_action: 'bounced', short_message: 'MTA [REJECTED] 18f3c1a2b4d003.001', _bounce_category: 'recipient', _response: '550 5.1.1 The email account that you tried to reach does not exist' }))));
    await settle(before, 3, total);
    await rx.flush();
    assert.deepEqual(await rows('<m1@shop.example>'), [
      {
        event_type: 'delivered',
        mta_node: 'mta-1',
        queue_id: '18f3c1a2b4d001.001',
        from_address: 'news@Shop.example',
        from_domain: 'shop.example',
        to_address: 'alice@gmail.com',
        to_domain: 'gmail.com',
        mx_host: 'gmail-smtp-in.l.google.com',
        sending_ip: '192.0.2.10',
        status_code: 250,
        status_message: '250 2.0.0 OK  1764500000 a1si1234567wrb.12 - gsmtp',
        bounce_type: null,
        bounce_category: null,
        t: T0 + 1,
      },
    ]);
    const [deferred] = await rows('<m2@shop.example>');
    assert.deepEqual([deferred!.event_type, deferred!.status_code, deferred!.bounce_type, deferred!.bounce_category], ['deferred', 421, 'soft', 'rate_limit']);
    const [bounced] = await rows('<m3@shop.example>');
    assert.deepEqual([bounced!.event_type, bounced!.status_code, bounced!.bounce_type, bounced!.bounce_category], ['bounced', 550, 'hard', 'user_unknown']);
  });

  test('a chunked message sent out of order is reassembled and stored', async () => {
    const before = rx.stats();
    // hardly compressible padding in a field email_events does not keep: several chunks of 1,400 bytes
    const big = deflateSync(json(accepted(4, { _header_from_value: randomBytes(4000).toString('hex') })));
    const parts = chunks(big, 1400);
    assert.ok(parts.length >= 3, `${parts.length} chunks`);
    for (const part of [...parts].reverse()) await send(part); // last chunk first
    await settle(before.chunks, parts.length, (s) => s.chunks);
    await rx.flush();
    assert.equal((await rows('<m4@shop.example>')).length, 1);
    assert.equal(rx.stats().stored, before.stored + 1);
  });

  test('a lost chunk: the message is dropped after the timeout, counted, and nothing is stored', async () => {
    const before = rx.stats();
    const parts = chunks(deflateSync(json(accepted(5, { _header_from_value: randomBytes(2000).toString('hex') }))), 1000);
    assert.ok(parts.length >= 3);
    for (const p of parts.slice(0, -1)) await send(p); // the last chunk never comes
    await settle(before.chunks, parts.length - 1, (s) => s.chunks);
    rx.sweep();
    assert.equal(rx.stats().incomplete, before.incomplete, 'not dropped before the timeout');
    now += 5001;
    rx.sweep();
    assert.equal(rx.stats().incomplete, before.incomplete + 1);
    await send(parts.at(-1)!); // the straggler alone is a new, incomplete message
    await settle(before.chunks, parts.length, (s) => s.chunks);
    await rx.flush();
    assert.deepEqual(await rows('<m5@shop.example>'), []);
  });

  test('a message sent twice is stored once, in the same batch or in the next one', async () => {
    const before = rx.stats();
    const m = json(accepted(6));
    await send(m);
    await send(m);
    await settle(total(before), 2, total);
    await rx.flush();
    await send(deflateSync(m));
    await settle(total(before), 3, total);
    await rx.flush();
    assert.equal((await rows('<m6@shop.example>')).length, 1);
    const s = rx.stats();
    assert.deepEqual([s.stored - before.stored, s.duplicate - before.duplicate], [1, 2]);
  });

  test('garbage, oversize and non-delivery messages are counted and store nothing', async () => {
    const before = rx.stats();
    const count = async () => (await rt.db.queryOne<{ n: number }>('SELECT count(*)::int AS n FROM email_events'))!.n;
    const stored = await count();
    await send(Buffer.from('this is not GELF'));
    await send(Buffer.from([0x78, 0x9c, 1, 2, 3, 4, 5])); // a zlib header, then nonsense
    await send(Buffer.from([0x1e, 0x0f, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0x7b])); // a chunk of a 0-chunk message
    await send(json([accepted(7)])); // JSON, but not an object
    await send(deflateSync(Buffer.alloc(1024 * 1024, 0x20))); // 1 MiB of blanks: beyond the 256 KiB limit once inflated
    await send(gzipSync(Buffer.concat([Buffer.from('{"a":"'), Buffer.alloc(300 * 1024, 0x61), Buffer.from('"}')])));
    // WildDuck's IMAP log and ZoneMTA's queue housekeeping are not delivery events
    await send(json({ version: '1.1', host: 'imap-1', short_message: 'WILDDUCK [FETCH]', timestamp: T0, _mail_action: 'fetch', _user: '65a0c0ffee' }));
    await send(json(accepted(8, { _mail_action: 'dropped', short_message: 'MTA [DELETED] 18f3c1a2b4d008.001' })));
    // a delivery event email_events refuses (a node id with a blank)
    await send(json(accepted(9, { host: 'not a node id' })));
    await settle(total(before), 9, total);
    await rx.flush();
    const s = rx.stats();
    assert.deepEqual(
      [s.garbage - before.garbage, s.oversize - before.oversize, s.ignored - before.ignored, s.invalid - before.invalid, s.stored - before.stored],
      [4, 2, 2, 1, 0],
    );
    assert.equal(await count(), stored);
    const metrics = await rt.metrics.registry.metrics();
    assert.match(metrics, new RegExp(`opsdeck_gelf_messages_total\\{outcome="garbage"\\} ${s.garbage}\\b`));
    assert.match(metrics, new RegExp(`opsdeck_gelf_messages_total\\{outcome="incomplete"\\} ${s.incomplete}\\b`));
  });

  test('Haraka (haraka-plugin-wildduck): a stored message is received, a refused recipient rejected; over TCP, null-delimited', async () => {
    const before = rx.stats();
    const haraka = (n: number, more: Record<string, unknown>) => ({
      version: '1.1',
      host: 'mx-1',
      short_message: `MX [PROCESS] 6A1B2C3D-${n}.1`,
      timestamp: T0 + 100 + n,
      _queue_id: `6A1B2C3D-${n}.1`,
      _message_id: `h${n}@sender.example`,
      _from: 'bob@sender.example',
      _spam_score: 1.5,
      _spam_action: 'no action',
      ...more,
    });
    const stored = json(haraka(1, { _mail_action: 'process', _stored: 'yes', _to: 'carol@shop.example' }));
    const denied = json(haraka(2, { _mail_action: 'deny', short_message: 'MX [DENY:bob@sender.example] 6A1B2C3D-2.1', _to: 'nobody@shop.example' }));
    const tcpPort = port;
    const sock = connect(tcpPort, '127.0.0.1');
    await new Promise<void>((r) => sock.once('connect', () => r()));
    // one frame split across two writes, the second frame in the same write as the end of the first
    sock.write(stored.subarray(0, 20));
    await new Promise((r) => setTimeout(r, 20));
    sock.write(Buffer.concat([stored.subarray(20), Buffer.from([0]), denied, Buffer.from([0])]));
    await settle(total(before), 2, total);
    sock.end();
    await rx.flush();
    const [r1] = await rows('<h1@sender.example>');
    assert.deepEqual([r1!.event_type, r1!.mta_node, r1!.to_domain, r1!.from_domain], ['received', 'mx-1', 'shop.example', 'sender.example']);
    const [r2] = await rows('<h2@sender.example>');
    assert.equal(r2!.event_type, 'rejected');
  });

  test('events are written in batches of at most batchRows, one ingest call each', async () => {
    const calls: number[] = [];
    const spy = { prepare: rt.streams.prepare.bind(rt.streams), ingest: (key: string, ev: readonly unknown[]) => (calls.push(ev.length), rt.streams.ingest(key, ev)) } as unknown as StreamStore;
    const small = new GelfReceiver({ streams: spy, host: '127.0.0.1', port: 0, tcp: false, batchRows: 4, flushMs: 60_000 });
    const p = (await small.start()).udpPort;
    for (let i = 0; i < 10; i++) await new Promise<void>((r) => client.send(json(accepted(100 + i)), p, '127.0.0.1', () => r()));
    const buffered = () => (small as unknown as { buffer: unknown[] }).buffer.length;
    for (let i = 0; i < 1000 && !(calls.length === 2 && buffered() === 2); i++) await new Promise((r) => setTimeout(r, 10));
    await small.stop();
    assert.deepEqual(calls, [4, 4, 2], 'two full batches, the rest written at stop');
    assert.equal(small.stats().stored, 10);
  });
});

test('OPSDECK_GELF_PORT starts the receiver with the runtime; events are written within the flush interval', async (t) => {
  if (!enabledBackends().includes('postgres')) return t.skip('the wiring is backend-independent; runs with the postgres backend');
  // a free port number for UDP and TCP
  const probe = createSocket('udp4');
  await new Promise<void>((r) => probe.bind(0, '127.0.0.1', () => r()));
  const free = probe.address().port;
  await new Promise<void>((r) => probe.close(() => r()));
  const rt = await buildTestRuntime('postgres', { gelfPort: free, gelfHost: '127.0.0.1', gelfAllow: ['127.0.0.0/8'] });
  try {
    const client = createSocket('udp4');
    await new Promise<void>((r) => client.send(deflateSync(json(accepted(50))), free, '127.0.0.1', () => r()));
    client.close();
    const count = async () => (await rt.db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM email_events WHERE message_id = '<m50@shop.example>'`))!.n;
    // written by the 1 s flush timer; the loop only guards against a hang
    for (let i = 0; i < 300 && (await count()) === 0; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(await count(), 1);
    assert.match(await rt.metrics.registry.metrics(), /opsdeck_gelf_messages_total\{outcome="stored"\} 1\b/);
  } finally {
    await rt.destroy();
  }
});

test('a source outside OPSDECK_GELF_ALLOW is refused and counted', async (t) => {
  if (!enabledBackends().includes('postgres')) return t.skip('backend-independent; runs with the postgres backend');
  const rt = await buildTestRuntime('postgres');
  const rx = new GelfReceiver({ streams: rt.streams, host: '127.0.0.1', port: 0, tcp: false, allow: ['192.0.2.0/24'] });
  try {
    const p = (await rx.start()).udpPort;
    const client = createSocket('udp4');
    await new Promise<void>((r) => client.send(json(accepted(51)), p, '127.0.0.1', () => r()));
    client.close();
    for (let i = 0; i < 500 && rx.stats().refused === 0; i++) await new Promise((r) => setTimeout(r, 10));
    await rx.stop();
    assert.deepEqual([rx.stats().refused, rx.stats().stored], [1, 0]);
  } finally {
    await rt.destroy();
  }
});

test('a TCP connection that sends nothing is closed after the idle time', async (t) => {
  if (!enabledBackends().includes('postgres')) return t.skip('backend-independent; runs with the postgres backend');
  const rt = await buildTestRuntime('postgres');
  const rx = new GelfReceiver({ streams: rt.streams, host: '127.0.0.1', port: 0, tcpIdleMs: 200 });
  try {
    const { tcpPort } = await rx.start();
    const sock = connect(tcpPort!, '127.0.0.1');
    // the server ends the connection; the 30 s timer only guards against a hang
    const closed = await new Promise<boolean>((resolve) => {
      const guard = setTimeout(() => resolve(false), 30_000);
      sock.once('close', () => {
        clearTimeout(guard);
        resolve(true);
      });
      sock.on('error', () => undefined);
    });
    assert.equal(closed, true);
  } finally {
    await rx.stop();
    await rt.destroy();
  }
});
