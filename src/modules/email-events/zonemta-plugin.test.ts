/**
 * The mail-cluster system's ZoneMTA plugin, pointed at a running Opsdeck: its
 * exact requests, replayed over HTTP on loopback. The fixtures follow
 * tinovn/tinomail-monitor packages/tino-zonemta-delivery-tracker/index.js at
 * commit 6515c5da (hooks sender:delivered, sender:responseError, queue:bounce;
 * batches of up to 50; `time`; `x-api-key`; Content-Type application/json), and
 * the requirements' §5.8 event schema (snake_case) for the second form.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachBackend } from '../../../test/support/backends.ts';
import { buildTestRuntime, type TestRuntime } from '../../../test/support/app.ts';
import { createApiKey } from '../../../test/support/auth.ts';
import { fromPluginEvent } from './zonemta-plugin.ts';

test('plugin events map to email_events fields (addresses split, ZoneMTA categories mapped, unknown fields dropped)', () => {
  const m = fromPluginEvent({ time: '2026-01-01T00:00:00.000Z', eventType: 'bounced', queueId: 17, fromAddress: 'Alice.B@Shop.Example', toAddress: 'x@gmail.com', bounceCategory: 'recipient', foo: 1 });
  assert.deepEqual(m, {
    event: {
      timestamp: '2026-01-01T00:00:00.000Z',
      eventType: 'bounced',
      queueId: '17',
      fromAddress: 'Alice.B@Shop.Example',
      toAddress: 'x@gmail.com',
      bounceCategory: 'user_unknown',
      fromUser: 'Alice.B',
      fromDomain: 'Shop.Example',
      toDomain: 'gmail.com',
    },
    ignored: ['foo'],
  });
  assert.equal((fromPluginEvent({ bounceCategory: 'capacity' }).event as { bounceCategory: string }).bounceCategory, 'mailbox_full');
  assert.equal((fromPluginEvent({ bounceCategory: 'blacklist' }).event as { bounceCategory: string }).bounceCategory, 'blacklist');
  assert.deepEqual(fromPluginEvent({ sender_ip: '192.0.2.1', message_size_bytes: 10, event_id: 'e' }).event, { sendingIp: '192.0.2.1', messageSize: 10, eventId: 'e' });
  assert.deepEqual(fromPluginEvent({ timestamp: 'a', time: 'b' }).event, { timestamp: 'a' }, 'the native name wins over its alias');
});

forEachBackend('the ZoneMTA plugin posting to Opsdeck', (kind) => {
  let rt: TestRuntime;
  let base: string;
  let ingestKey: string;
  let readKey: string;
  const now = Date.now();
  const iso = (msAgo: number) => new Date(now - msAgo).toISOString();

  /** The request the plugin's sendEvents() makes. */
  async function send(events: unknown[], apiKey: string | null = ingestKey) {
    const body = JSON.stringify(events);
    const headers: Record<string, string> = { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)) };
    if (apiKey !== null) headers['x-api-key'] = apiKey;
    const res = await fetch(`${base}/api/v1/events/ingest`, { method: 'POST', headers, body });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  // sender:delivered
  const delivered = (i: number) => ({
    time: iso(60_000 + i * 1000),
    eventType: 'delivered',
    queueId: `18f3a${i.toString(16)}c0000`,
    messageId: `<${i}.abc+x@shop.example>`,
    fromAddress: 'news@shop.example',
    toAddress: `user${i}@gmail.com`,
    toDomain: 'gmail.com',
    mtaNode: 'mta-03',
    mxHost: 'gmail-smtp-in.l.google.com',
    statusCode: 250,
    statusMessage: '250 2.0.0 OK  1700000000 a1-20020a05600c000000b0040d00000000si123.456 - gsmtp',
    deliveryTimeMs: 400 + i,
  });
  // sender:responseError, 4xx → deferred (soft)
  const deferred = (i: number) => ({
    time: iso(30_000 + i * 1000),
    eventType: 'deferred',
    queueId: `18f3b${i}`,
    messageId: `<d${i}@shop.example>`,
    fromAddress: 'news@shop.example',
    toAddress: `u${i}@yahoo.com`,
    toDomain: 'yahoo.com',
    mtaNode: 'mta-03',
    mxHost: 'mta7.am0.yahoodns.net',
    statusCode: 421,
    statusMessage: '421 4.7.0 [TSS04] Messages from 192.0.2.15 temporarily deferred due to unexpected volume or user complaints',
    bounceType: 'soft',
    bounceMessage: 'Messages from 192.0.2.15 temporarily deferred',
  });
  // queue:bounce (no status code, ZoneMTA category)
  const bounced = (i: number) => ({
    time: iso(10_000 + i * 1000),
    eventType: 'bounced',
    queueId: `18f3c${i}`,
    messageId: `<b${i}@shop.example>`,
    fromAddress: 'news@shop.example',
    toAddress: `gone${i}@outlook.com`,
    toDomain: 'outlook.com',
    mtaNode: 'mta-03',
    bounceType: 'hard',
    bounceCategory: 'recipient',
    bounceMessage: '550 5.5.0 Requested action not taken: mailbox unavailable',
  });

  before(async () => {
    rt = await buildTestRuntime(kind);
    await rt.app.listen({ host: '127.0.0.1', port: 0 });
    const addr = rt.app.server.address();
    base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    ingestKey = await createApiKey(rt, ['ingest']);
    readKey = await createApiKey(rt, ['read']);
  });
  after(async () => {
    await rt.destroy();
  });

  test('a batch of 50 from the three hooks is stored, column by column; the same batch again stores nothing', async () => {
    const batch = [...Array.from({ length: 40 }, (_, i) => delivered(i)), ...Array.from({ length: 6 }, (_, i) => deferred(i)), ...Array.from({ length: 4 }, (_, i) => bounced(i))];
    const a = await send(batch);
    assert.equal(a.status, 200, JSON.stringify(a.body));
    assert.deepEqual(a.body, { stream: 'email', received: 50, inserted: 50, duplicates: 0, ignoredFields: [] });
    const b = await send(batch);
    assert.deepEqual(b.body, { stream: 'email', received: 50, inserted: 0, duplicates: 50, ignoredFields: [] }, 'a retried batch (the plugin has no event ids) is not stored twice');
    const row = await rt.db.queryOne<Record<string, unknown>>(
      `SELECT event_type, queue_id, message_id, from_address, from_user, from_domain, to_address, to_domain, mta_node, mx_host, status_code, status_message, delivery_time_ms, bounce_type
       FROM email_events WHERE message_id = '<7.abc+x@shop.example>'`,
    );
    assert.deepEqual(row, {
      event_type: 'delivered',
      queue_id: '18f3a7c0000',
      message_id: '<7.abc+x@shop.example>',
      from_address: 'news@shop.example',
      from_user: 'news',
      from_domain: 'shop.example',
      to_address: 'user7@gmail.com',
      to_domain: 'gmail.com',
      mta_node: 'mta-03',
      mx_host: 'gmail-smtp-in.l.google.com',
      status_code: 250,
      status_message: '250 2.0.0 OK  1700000000 a1-20020a05600c000000b0040d00000000si123.456 - gsmtp',
      delivery_time_ms: 407,
      bounce_type: null,
    });
    const bounce = await rt.db.queryOne<Record<string, unknown>>(`SELECT event_type, bounce_type, bounce_category, status_code FROM email_events WHERE message_id = '<b2@shop.example>'`);
    assert.deepEqual(bounce, { event_type: 'bounced', bounce_type: 'hard', bounce_category: 'user_unknown', status_code: null });
    const counts = await rt.db.queryMany<{ event_type: string; n: number }>(`SELECT event_type, count(*)::int AS n FROM email_events GROUP BY 1 ORDER BY 1`);
    assert.deepEqual(counts, [{ event_type: 'bounced', n: 4 }, { event_type: 'deferred', n: 6 }, { event_type: 'delivered', n: 40 }]);
  });

  test('a batch of one; the plugin\'s `time` is the event time', async () => {
    const e = { ...delivered(100), time: '2026-11-29T10:30:15.123Z' };
    if (Date.parse(e.time) < now - 80 * 86_400_000) throw new Error('fixture too old for the ingest horizon');
    const r = await send([e]);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const row = await rt.db.queryOne<{ t: Date }>(`SELECT time AS t FROM email_events WHERE message_id = $1`, [e.messageId]);
    assert.equal(row?.t.toISOString(), '2026-11-29T10:30:15.123Z');
  });

  test('one invalid event refuses the whole batch with its index and field; nothing stored', async () => {
    const before = (await rt.db.queryOne<{ n: number }>('SELECT count(*)::int AS n FROM email_events'))!.n;
    const batch = [delivered(200), delivered(201), { ...delivered(202), statusCode: 999 }, delivered(203)];
    const r = await send(batch);
    assert.equal(r.status, 400);
    assert.equal(r.body.code, 'VALIDATION_FAILED');
    assert.deepEqual((r.body.errors as { path: string }[]).map((e) => e.path), ['body.2.statusCode']);
    assert.equal((await rt.db.queryOne<{ n: number }>('SELECT count(*)::int AS n FROM email_events'))!.n, before);
  });

  test('a field email_events does not have is not stored and is named in the answer and counted in /metrics', async () => {
    const r = await send([{ ...delivered(300), attempt: 2, zone: 'default' }]);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body.ignoredFields, ['attempt', 'zone']);
    assert.equal(r.body.inserted, 1);
    const metrics = await fetch(`${base}/metrics`, { headers: { 'x-api-key': readKey } });
    assert.match(await metrics.text(), /opsdeck_ingest_ignored_fields_total\{endpoint="events_ingest"\} 2/);
  });

  test('the requirements\' §5.8 event in snake_case is stored', async () => {
    const e = {
      event_id: '6f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f',
      timestamp: iso(5_000),
      event_type: 'delivered',
      message_id: '<prd@company.vn>',
      queue_id: 'zone-mta-queue-id',
      from_address: 'user@company.vn',
      from_user: 'user',
      from_domain: 'company.vn',
      sender_ip: '103.21.58.15',
      to_address: 'recipient@gmail.com',
      to_domain: 'gmail.com',
      mta_node: 'mta-03',
      sending_ip_v6: '2001:db8:3::15',
      mx_host: 'alt1.gmail-smtp-in.l.google.com',
      status_code: 250,
      status_message: '2.0.0 OK',
      delivery_time_ms: 1250,
      queue_time_ms: 340,
      total_time_ms: 1590,
      message_size_bytes: 15234,
      has_attachment: true,
      attachment_count: 2,
      subject_hash: 'a1b2c3d4',
      dkim_result: 'pass',
      spf_result: 'pass',
      dmarc_result: 'pass',
      spam_score: 3.2,
      spam_action: 'no_action',
      spam_symbols: ['DKIM_SIGNED', 'SPF_ALLOW', 'BAYES_HAM'],
    };
    const r = await send([e]);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const row = await rt.db.queryOne<Record<string, unknown>>(
      `SELECT event_id::text AS event_id, host(sending_ip) AS sending_ip, host(sending_ip_v6) AS sending_ip_v6, message_size, has_attachment, attachment_count, spam_score, spam_symbols, total_time_ms FROM email_events WHERE message_id = '<prd@company.vn>'`,
    );
    assert.deepEqual(row, {
      event_id: '6f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f',
      sending_ip: '103.21.58.15',
      sending_ip_v6: '2001:db8:3::15',
      message_size: 15234,
      has_attachment: true,
      attachment_count: 2,
      spam_score: 3.2,
      spam_symbols: ['DKIM_SIGNED', 'SPF_ALLOW', 'BAYES_HAM'],
      total_time_ms: 1590,
    });
  });

  test('the agent\'s zone-queue watcher (same endpoint): a message deferred for days carries days of delivery time', async () => {
    // packages/agent/src/collectors/zonemta-email-event-collector.ts (commit 097ef48): SENT → delivered,
    // deliveryTimeMs = last − first attempt, bounceType soft on deferrals
    const e = {
      time: iso(2_000),
      eventType: 'delivered',
      queueId: '18f3d0000000a',
      fromAddress: 'billing@bank.example',
      toAddress: 'slow@mail.example',
      toDomain: 'mail.example',
      mtaNode: 'mta-01',
      mxHost: 'mx.mail.example',
      statusCode: 250,
      statusMessage: '250 2.0.0 Ok: queued as 4Zx',
      deliveryTimeMs: 3 * 86_400_000 + 12_345,
    };
    const r = await send([e]);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const row = await rt.db.queryOne<{ d: number }>(`SELECT delivery_time_ms AS d FROM email_events WHERE queue_id = '18f3d0000000a'`);
    assert.equal(row?.d, 259_212_345);
  });

  test('keys: a read-only key is refused (403), a wrong or malformed one is 401, none is 401', async () => {
    assert.equal((await send([delivered(400)], readKey)).status, 403);
    assert.equal((await send([delivered(401)], 'odk_not-a-real-key')).status, 401);
    const malformed = await send([delivered(402)], 'eyJhbGciOi.not.an-api-key');
    assert.equal(malformed.status, 401);
    assert.equal(malformed.body.code, 'INVALID_API_KEY');
    assert.equal((await send([delivered(403)], null)).status, 401);
    const stored = await rt.db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM email_events WHERE message_id LIKE '<40_.abc+x@shop.example>'`);
    assert.equal(stored!.n, 0);
  });
});
