/**
 * The outbox and the delivery job against real HTTP peers on 127.0.0.1, with time moved by a
 * ManualClock: signed webhooks, retries with backoff, dead letters, grouping, refusal of an
 * address at send time, muting, idempotent enqueue, lease takeover and two runners.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { enabledBackends, openMigrated, type MigratedDatabase } from '../../../test/support/backends.ts';
import { SecretBox } from '../../crypto/secrets.ts';
import { ManualClock } from '../../domain/clock.ts';
import { PostgresDatabase } from '../../db/postgres-driver.ts';
import { createOutbound, type OutboundAddress } from '../../net/outbound.ts';
import type { AlertNotice } from '../alerts/contracts.ts';
import { createNotificationsModule, type NotificationsModule } from './index.ts';
import { notice, startSink, type HttpSink } from './notify-test-kit.ts';
import type { Database } from '../../db/database.ts';
import { JobRunner } from '../../jobs/runner.ts';

const T0 = '2026-01-01T00:00:00Z';

for (const kind of enabledBackends()) {
  describe(`notification delivery [${kind}]`, () => {
    let m: MigratedDatabase;
    let sink: HttpSink;
    const box = new SecretBox(randomBytes(32));
    /** Test DNS: names the tests make up, resolved to what each test says. */
    const dns = new Map<string, string>();
    const resolver = async (host: string): Promise<OutboundAddress[]> => {
      const a = dns.get(host);
      if (!a) throw Object.assign(new Error(`no such host ${host}`), { code: 'ENOTFOUND' });
      return [{ address: a, family: 4 }];
    };
    const outbound = createOutbound({ allow: ['127.0.0.0/8'], resolver });
    const make = (clock: ManualClock, db: Database = m.db, maxAttempts = 5) =>
      createNotificationsModule({ db, sealer: box, outbound, clock, random: () => 0, delivery: { maxAttempts, retryBaseMs: 10_000, retryMaxMs: 3_600_000 } });
    const enqueue = (mod: NotificationsModule, n: AlertNotice, ids: number[], db: Database = m.db) => db.transaction((tx) => mod.notifier.enqueue(tx, n, ids));
    const deliveries = (channelId: number) =>
      m.db.queryMany<{ id: number; status: string; attempts: number; next_attempt_at: Date; last_error: string | null; response_status: number | null; sent_at: Date | null }>(
        'SELECT id, status, attempts, next_attempt_at, last_error, response_status, sent_at FROM notification_deliveries WHERE channel_id = $1 ORDER BY id',
        [channelId],
      );
    let n = 0;
    const webhook = async (mod: NotificationsModule, extra: Partial<Parameters<NotificationsModule['channels']['create']>[0]> = {}) =>
      mod.channels.create({ name: `hook-${n++}`, kind: 'webhook', config: { url: `${sink.url}/hook` }, groupWaitSeconds: 0, ...extra });

    before(async () => {
      m = await openMigrated(kind);
    });
    after(async () => {
      await m.close();
    });
    afterEach(async () => {
      await sink?.close();
    });

    test('a webhook is signed: the receiver checks X-Opsdeck-Signature with HMAC-SHA256(secret, timestamp.body)', async () => {
      sink = await startSink();
      const clock = new ManualClock(T0);
      const mod = make(clock);
      const secret = 'whsec-0123456789abcdef';
      const ch = await webhook(mod, { secrets: { hmacSecret: secret }, config: { url: `${sink.url}/hook`, headers: { 'X-Team': 'ops' } } });
      const nt = notice();
      assert.deepEqual(await enqueue(mod, nt, [ch.id]), { queued: 1, skipped: [] });
      const r = await mod.delivery.deliverDue();
      assert.equal(r.sent, 1);
      assert.equal(sink.requests.length, 1);
      const req = sink.requests[0]!;
      assert.equal(req.method, 'POST');
      assert.equal(req.url, '/hook');
      assert.equal(req.headers['content-type'], 'application/json');
      assert.equal(req.headers['x-team'], 'ops');
      // The timestamp is the clock's, in Unix seconds.
      assert.equal(req.headers['x-opsdeck-timestamp'], String(Date.parse(T0) / 1000));
      const expected = 'v1=' + createHmac('sha256', secret).update(`${req.headers['x-opsdeck-timestamp']}.${req.body}`).digest('hex');
      assert.equal(req.headers['x-opsdeck-signature'], expected);
      // A body changed in transit no longer matches.
      const tampered = 'v1=' + createHmac('sha256', secret).update(`${req.headers['x-opsdeck-timestamp']}.${req.body.replace('mx1', 'mx2')}`).digest('hex');
      assert.notEqual(req.headers['x-opsdeck-signature'], tampered);
      const body = JSON.parse(req.body);
      assert.equal(body.version, '1');
      assert.equal(body.status, 'firing');
      assert.equal(body.receiver, ch.name);
      assert.deepEqual(body.groupLabels, { alertname: 'HighCpu' });
      assert.deepEqual(body.commonLabels, { alertname: 'HighCpu', severity: 'critical', node: 'mx1' });
      assert.equal(body.alerts.length, 1);
      assert.deepEqual(body.alerts[0].labels, { alertname: 'HighCpu', severity: 'critical', node: 'mx1' });
      assert.deepEqual(body.alerts[0].annotations, { summary: 'CPU above 90% for 5 minutes', value: '97.5' });
      assert.equal(body.alerts[0].startsAt, '2026-01-01T00:00:00.000Z');
      assert.equal(body.alerts[0].endsAt, null);
      assert.equal(body.alerts[0].eventId, nt.eventId);
      const [d] = await deliveries(ch.id);
      assert.equal(d!.status, 'sent');
      assert.equal(d!.response_status, 200);
      assert.equal(d!.sent_at!.toISOString(), '2026-01-01T00:00:00.000Z');
    });

    test('500 twice then 200: three attempts, each retry after the backoff (10 s, then 20 s; jitter pinned to its lower half)', async () => {
      sink = await startSink();
      sink.answers.push({ status: 500, body: 'boom' }, { status: 500, body: 'boom again' });
      const clock = new ManualClock(T0);
      const mod = make(clock);
      const ch = await webhook(mod);
      await enqueue(mod, notice(), [ch.id]);

      assert.equal((await mod.delivery.deliverDue()).failed, 1);
      let [d] = await deliveries(ch.id);
      assert.equal(d!.status, 'failed');
      assert.equal(d!.attempts, 1);
      assert.equal(d!.response_status, 500);
      assert.equal(d!.last_error, 'boom');
      // base 10 s × 2^0, jitter 0 → half of it.
      assert.equal(d!.next_attempt_at.toISOString(), '2026-01-01T00:00:05.000Z');
      clock.advance(4_999);
      assert.equal((await mod.delivery.deliverDue()).claimed, 0, 'not before the backoff');
      clock.advance(1);
      assert.equal((await mod.delivery.deliverDue()).failed, 1);
      [d] = await deliveries(ch.id);
      assert.equal(d!.attempts, 2);
      // base × 2^1, half of it: 10 s after the second attempt.
      assert.equal(d!.next_attempt_at.toISOString(), '2026-01-01T00:00:15.000Z');
      clock.set('2026-01-01T00:00:15Z');
      assert.equal((await mod.delivery.deliverDue()).sent, 1);
      [d] = await deliveries(ch.id);
      assert.equal(d!.status, 'sent');
      assert.equal(d!.attempts, 3);
      assert.equal(d!.last_error, null);
      assert.equal(sink.requests.length, 3);
    });

    test('429 with Retry-After: the next attempt waits at least that long', async () => {
      sink = await startSink();
      sink.answers.push({ status: 429, body: 'slow down', headers: { 'retry-after': '120' } });
      const clock = new ManualClock(T0);
      const mod = make(clock);
      const ch = await webhook(mod);
      await enqueue(mod, notice(), [ch.id]);
      await mod.delivery.deliverDue();
      const [d] = await deliveries(ch.id);
      assert.equal(d!.status, 'failed');
      assert.equal(d!.response_status, 429);
      assert.equal(d!.next_attempt_at.toISOString(), '2026-01-01T00:02:00.000Z', 'Retry-After (120 s) beats the 5 s backoff');
    });

    test('the jitter keeps each delay within [d/2, d] and the cap', () => {
      const lo = createNotificationsModule({ db: m.db, sealer: box, outbound, random: () => 0, delivery: { retryBaseMs: 1000, retryMaxMs: 60_000 } }).delivery;
      const hi = createNotificationsModule({ db: m.db, sealer: box, outbound, random: () => 0.999999, delivery: { retryBaseMs: 1000, retryMaxMs: 60_000 } }).delivery;
      assert.deepEqual([1, 2, 3, 4].map((a) => lo.backoffMs(a)), [500, 1000, 2000, 4000]);
      assert.deepEqual([1, 2, 3, 4].map((a) => hi.backoffMs(a)), [1000, 2000, 4000, 8000]);
      assert.equal(lo.backoffMs(30), 30_000);
      assert.equal(hi.backoffMs(30), 60_000);
    });

    test('dead after the configured number of attempts; a 4xx answer is dead at once', async () => {
      sink = await startSink({ status: 503, body: 'unavailable' });
      const clock = new ManualClock(T0);
      const mod = make(clock, m.db, 3);
      const ch = await webhook(mod);
      await enqueue(mod, notice(), [ch.id]);
      for (let i = 0; i < 3; i++) {
        await mod.delivery.deliverDue();
        clock.advance(3_600_000);
      }
      let [d] = await deliveries(ch.id);
      assert.equal(d!.status, 'dead');
      assert.equal(d!.attempts, 3);
      assert.equal((await mod.delivery.deliverDue()).claimed, 0, 'a dead delivery is not tried again');
      assert.equal(sink.requests.length, 3);

      sink.fallback = { status: 400, body: 'bad payload' };
      const ch2 = await webhook(mod);
      await enqueue(mod, notice(), [ch2.id]);
      await mod.delivery.deliverDue();
      [d] = await deliveries(ch2.id);
      assert.equal(d!.status, 'dead');
      assert.equal(d!.attempts, 1);
      assert.equal(d!.response_status, 400);
    });

    test('grouping: three notices within group wait go out as one message; a later one waits for group interval', async () => {
      sink = await startSink();
      const clock = new ManualClock(T0);
      const mod = make(clock);
      const ch = await webhook(mod, { groupWaitSeconds: 30, groupIntervalSeconds: 300 });
      for (const node of ['mx1', 'mx2', 'mx3']) {
        await enqueue(mod, notice({ labels: { alertname: 'HighCpu', severity: 'critical', node } }), [ch.id]);
        clock.advance(5_000);
      }
      // A notice of another group (another alertname) is its own message.
      await enqueue(mod, notice({ alertName: 'DiskFull', labels: { alertname: 'DiskFull', severity: 'critical', node: 'mx1' } }), [ch.id]);
      clock.set('2026-01-01T00:00:29.999Z');
      assert.equal((await mod.delivery.deliverDue()).claimed, 0, 'nothing before group wait has passed');
      clock.set('2026-01-01T00:00:30Z');
      const r1 = await mod.delivery.deliverDue();
      assert.equal(r1.claimed, 3);
      assert.equal(r1.messages, 1);
      assert.equal(sink.requests.length, 1);
      const first = JSON.parse(sink.requests[0]!.body);
      assert.deepEqual(first.alerts.map((a: { labels: { node: string } }) => a.labels.node).sort(), ['mx1', 'mx2', 'mx3']);
      assert.equal(first.title, '[FIRING:3] HighCpu');
      // The DiskFull group arrived at 15 s: its group wait ends at 45 s.
      clock.set('2026-01-01T00:00:45Z');
      assert.equal((await mod.delivery.deliverDue()).messages, 1);
      assert.equal(JSON.parse(sink.requests[1]!.body).groupLabels.alertname, 'DiskFull');

      // A fourth HighCpu notice after the message waits until group interval after it (30 s + 300 s).
      clock.set('2026-01-01T00:01:00Z');
      await enqueue(mod, notice({ labels: { alertname: 'HighCpu', severity: 'critical', node: 'mx4' } }), [ch.id]);
      clock.set('2026-01-01T00:05:29.999Z');
      assert.equal((await mod.delivery.deliverDue()).claimed, 0);
      clock.set('2026-01-01T00:05:30Z');
      assert.equal((await mod.delivery.deliverDue()).sent, 1);
      assert.equal(sink.requests.length, 3);
    });

    test('an address refused at send time (the name now resolves to 169.254.169.254) is dead, never contacted', async () => {
      sink = await startSink();
      const clock = new ManualClock(T0);
      const mod = make(clock);
      dns.set('hooks.example.test', '127.0.0.1');
      const ch = await webhook(mod, { config: { url: `http://hooks.example.test:${sink.port}/hook` } });
      await enqueue(mod, notice(), [ch.id]);
      dns.set('hooks.example.test', '169.254.169.254');
      await mod.delivery.deliverDue();
      const [d] = await deliveries(ch.id);
      assert.equal(d!.status, 'dead');
      assert.match(d!.last_error!, /169\.254\.169\.254\) is a link-local/);
      assert.equal(sink.requests.length, 0);
    });

    test('muted: below the minimum severity, resolved on a channel without sendResolved, a repeat within the repeat interval; a retried enqueue is stored once', async () => {
      sink = await startSink();
      const clock = new ManualClock(T0);
      const mod = make(clock);
      const ch = await webhook(mod, { minSeverity: 'warning', sendResolved: false, repeatIntervalSeconds: 3600 });
      const fired = notice({ severity: 'critical' });
      assert.deepEqual(await enqueue(mod, fired, [ch.id, 999_999]), { queued: 1, skipped: [999_999] });
      assert.deepEqual(await enqueue(mod, fired, [ch.id]), { queued: 0, skipped: [] }, 'the same (event, reason, level, channel) again adds nothing');
      assert.deepEqual(await enqueue(mod, notice({ severity: 'info' }), [ch.id]), { queued: 0, skipped: [] });
      await mod.delivery.deliverDue();
      clock.advance(60_000);
      assert.deepEqual(await enqueue(mod, { ...fired, reason: 'repeat' }, [ch.id]), { queued: 0, skipped: [] });
      assert.deepEqual(await enqueue(mod, { ...fired, status: 'resolved', reason: 'resolved', endsAt: clock.now() }, [ch.id]), { queued: 0, skipped: [] });
      clock.advance(3_600_000);
      assert.deepEqual(await enqueue(mod, { ...fired, eventId: fired.eventId + 100_000, reason: 'repeat' }, [ch.id]), { queued: 1, skipped: [] }, 'a repeat after the interval goes out');
      const rows = await deliveries(ch.id);
      assert.deepEqual(rows.map((r) => r.status), ['sent', 'muted', 'muted', 'muted', 'pending']);
      assert.match(rows[1]!.last_error!, /below the channel's minimum/);
      assert.match(rows[2]!.last_error!, /repeat interval/);
      assert.match(rows[3]!.last_error!, /resolved/);
      // A disabled channel is skipped and said so.
      const off = await webhook(mod, { enabled: false });
      assert.deepEqual(await enqueue(mod, notice(), [off.id]), { queued: 0, skipped: [off.id] });
    });

    test('repeats of one alert event: each repeat after the last was sent is stored; one still waiting absorbs a duplicate', async () => {
      sink = await startSink();
      const clock = new ManualClock(T0);
      const mod = make(clock);
      // The alerts module repeats an event with the same event id every repeat interval.
      const ch = await webhook(mod, { repeatIntervalSeconds: 600, groupIntervalSeconds: 0 });
      const fired = notice();
      await enqueue(mod, fired, [ch.id]);
      await mod.delivery.deliverDue();
      for (let i = 1; i <= 2; i++) {
        clock.advance(600_000);
        assert.deepEqual(await enqueue(mod, { ...fired, reason: 'repeat' }, [ch.id]), { queued: 1, skipped: [] }, `repeat ${i} is stored`);
        assert.deepEqual(await enqueue(mod, { ...fired, reason: 'repeat' }, [ch.id]), { queued: 0, skipped: [] }, `repeat ${i} enqueued twice is stored once`);
        await mod.delivery.deliverDue();
      }
      const rows = await deliveries(ch.id);
      assert.deepEqual(rows.map((r) => r.status), ['sent', 'sent', 'sent']);
      assert.equal(sink.requests.length, 3);
      assert.deepEqual(sink.requests.map((r) => JSON.parse(r.body).alerts[0].reason), ['fired', 'repeat', 'repeat']);
    });

    test("a sender that crashed mid-send: its rows come back when the lease runs out", async () => {
      sink = await startSink();
      const clock = new ManualClock(T0);
      const mod = make(clock);
      const ch = await webhook(mod);
      await enqueue(mod, notice(), [ch.id]);
      // What a crashed process leaves behind: claimed, never finished.
      await m.db.query(`UPDATE notification_deliveries SET status = 'sending', attempts = 1, lease_until = $2::timestamptz WHERE channel_id = $1`, [ch.id, '2026-01-01T00:05:00Z']);
      assert.equal((await mod.delivery.deliverDue()).claimed, 0, 'not while the lease holds');
      clock.set('2026-01-01T00:05:00Z');
      assert.equal((await mod.delivery.deliverDue()).sent, 1);
      const [d] = await deliveries(ch.id);
      assert.equal(d!.status, 'sent');
      assert.equal(d!.attempts, 2);
    });

    test('the notification-delivery job runs under the job runner (lease, no transaction) and sends what is due', async () => {
      sink = await startSink();
      const clock = new ManualClock(T0);
      const mod = make(clock);
      const ch = await webhook(mod);
      await enqueue(mod, notice(), [ch.id]);
      const runner = new JobRunner({ db: m.db });
      runner.register(mod.job);
      const run = await runner.runOnce('notification-delivery');
      assert.equal(run.outcome, 'ok', run.error ?? '');
      assert.equal(run.details?.sent, 1);
      assert.equal(sink.requests.length, 1);
      await runner.stop();
    });

    test('shutting down mid-run: claimed deliveries not yet sent are handed back as they were', async () => {
      sink = await startSink();
      const clock = new ManualClock(T0);
      const mod = make(clock);
      const ch = await webhook(mod, { groupBy: ['node'] });
      for (const node of ['a', 'b', 'c']) await enqueue(mod, notice({ labels: { alertname: 'HighCpu', severity: 'critical', node } }), [ch.id]);
      const stop = new AbortController();
      // The first message is on its way (the peer holds its answer) when the shutdown comes.
      let release!: () => void;
      sink.gate = new Promise<void>((r) => (release = r));
      const arrived = sink.nextRequest();
      const running = mod.delivery.deliverDue(stop.signal);
      await arrived;
      stop.abort();
      release();
      const r = await running;
      assert.equal(r.claimed, 3);
      const rows = await deliveries(ch.id);
      assert.deepEqual(rows.map((d) => [d.status, d.attempts]), [['sent', 1], ['pending', 0], ['pending', 0]], 'the message in flight finishes; the others are handed back, their attempt not counted');
      assert.equal(sink.requests.length, 1);
      // The next run sends them.
      await mod.delivery.deliverDue();
      assert.equal(sink.requests.length, 3);
    });

    test('a channel whose secrets no longer open (another key) fails its own deliveries and stops no other; re-entering them on PUT repairs it', async () => {
      sink = await startSink();
      const clock = new ManualClock(T0);
      const mod = make(clock);
      const broken = await webhook(mod, { secrets: { hmacSecret: 'whsec-sealed-with-the-old-key' } });
      const fine = await webhook(mod);
      // Sealed under a key this process does not have.
      const other = new SecretBox(randomBytes(32)).seal('{"hmacSecret":"whsec-sealed-with-the-old-key"}', `notification_channels.secrets:${broken.name}`);
      await m.db.query('UPDATE notification_channels SET secrets_sealed = $2 WHERE id = $1', [broken.id, other]);
      await enqueue(mod, notice(), [broken.id, fine.id]);
      const r = await mod.delivery.deliverDue();
      assert.equal(r.sent, 1);
      const [d] = await deliveries(broken.id);
      assert.equal(d!.status, 'failed');
      assert.match(d!.last_error!, /secret/i);
      assert.equal((await deliveries(fine.id))[0]!.status, 'sent');
      // The admin enters the secret again.
      const repaired = await mod.channels.replace(broken.id, { name: broken.name, kind: 'webhook', config: broken.config, secrets: { hmacSecret: 'whsec-entered-again-0001' }, groupWaitSeconds: 0 });
      assert.deepEqual(repaired.secretsSet, ['hmacSecret']);
      assert.equal((await mod.channels.withSecrets(broken.id)).secrets.hmacSecret, 'whsec-entered-again-0001');
    });

    test('two delivery runners on one database: each delivery is sent once', async () => {
      sink = await startSink();
      sink.delayMs = 20;
      const clock = new ManualClock(T0);
      // A second process: its own connection pool on the server backend.
      const other = kind === 'postgres' ? new PostgresDatabase({ url: m.url! }) : m.db;
      try {
        const a = make(clock);
        const b = make(clock, other);
        const ch = await webhook(a, { groupBy: ['node'] });
        const N = 24;
        for (let i = 0; i < N; i++) await enqueue(a, notice({ labels: { alertname: 'HighCpu', severity: 'critical', node: `n${i}` } }), [ch.id]);
        a.delivery.settings.batchSize = 5;
        b.delivery.settings.batchSize = 5;
        let rounds = 0;
        while ((await m.db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM notification_deliveries WHERE channel_id = $1 AND status <> 'sent'`, [ch.id]))!.n > 0) {
          assert.ok(rounds++ < 20, 'every delivery is sent within 20 rounds');
          await Promise.all([a.delivery.deliverDue(), b.delivery.deliverDue()]);
        }
        const nodes = sink.requests.map((r) => JSON.parse(r.body).alerts[0].labels.node as string);
        assert.equal(nodes.length, N, 'one request per delivery');
        assert.equal(new Set(nodes).size, N, 'no delivery sent twice');
      } finally {
        if (other !== m.db) await other.close();
      }
    });
  });
}
