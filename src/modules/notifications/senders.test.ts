/**
 * Each sender against a real peer on 127.0.0.1: an SMTP server (smtp-server) receiving the
 * email, HTTP sinks checking the request shapes Slack's incoming webhooks and Telegram's
 * sendMessage take (written here from their documentation), and a real Alertmanager showing the
 * alert in its own API, then resolving it. The senders do not depend on the storage backend,
 * so this file runs on one (the first enabled); delivery.test.ts covers the outbox on each.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { enabledBackends, openMigrated, type MigratedDatabase } from '../../../test/support/backends.ts';
import { SecretBox } from '../../crypto/secrets.ts';
import { ManualClock } from '../../domain/clock.ts';
import { createOutbound } from '../../net/outbound.ts';
import type { AlertNotice } from '../alerts/contracts.ts';
import { createNotificationsModule, type NotificationsModule } from './index.ts';
import { notice, startSink, type HttpSink } from './notify-test-kit.ts';

const kind = enabledBackends()[0];
const ALERTMANAGER = '/usr/bin/prometheus-alertmanager';

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

if (kind) {
  describe(`notification senders [${kind}]`, () => {
    let m: MigratedDatabase;
    let mod: NotificationsModule;
    let sink: HttpSink | undefined;
    const clock = new ManualClock(new Date());
    const enqueue = (n: AlertNotice, ids: number[]) => m.db.transaction((tx) => mod.notifier.enqueue(tx, n, ids));
    const delivery = (channelId: number) =>
      m.db.queryOne<{ status: string; last_error: string | null; response_status: number | null }>(
        'SELECT status, last_error, response_status FROM notification_deliveries WHERE channel_id = $1 ORDER BY id DESC LIMIT 1',
        [channelId],
      );

    before(async () => {
      m = await openMigrated(kind);
      mod = createNotificationsModule({ db: m.db, sealer: new SecretBox(randomBytes(32)), outbound: createOutbound({ allow: ['127.0.0.0/8'] }), clock, random: () => 0 });
    });
    after(async () => {
      await m.close();
    });
    afterEach(async () => {
      await sink?.close();
      sink = undefined;
    });

    test('email: a real SMTP server receives the message, with login, subject [FIRING:n] and text + HTML bodies', async () => {
      const received: { from: string; to: string[]; raw: string; user: string | undefined }[] = [];
      const auths: { user: string; pass: string }[] = [];
      const smtp = new SMTPServer({
        disabledCommands: ['STARTTLS'],
        allowInsecureAuth: true,
        authMethods: ['PLAIN', 'LOGIN'],
        onAuth(auth, _session, cb) {
          auths.push({ user: auth.username ?? '', pass: auth.password ?? '' });
          if (auth.username === 'opsdeck' && auth.password === 'smtp-pass-123') cb(null, { user: 'opsdeck' });
          else cb(new Error('535 bad credentials'));
        },
        onData(stream, session, cb) {
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('end', () => {
            received.push({
              from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
              to: session.envelope.rcptTo.map((r) => r.address),
              raw: Buffer.concat(chunks).toString('utf8'),
              user: session.user as string | undefined,
            });
            cb();
          });
        },
      });
      await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', r));
      const port = (smtp.server.address() as AddressInfo).port;
      try {
        const ch = await mod.channels.create({
          name: 'mail',
          kind: 'email',
          config: { host: '127.0.0.1', port, secure: false, user: 'opsdeck', from: 'opsdeck@example.org', to: ['oncall@example.org', 'lead@example.org'] },
          secrets: { password: 'smtp-pass-123' },
          groupWaitSeconds: 0,
        });
        await enqueue(notice({ labels: { alertname: 'HighCpu', severity: 'critical', node: 'mx1' } }), [ch.id]);
        await enqueue(notice({ labels: { alertname: 'HighCpu', severity: 'critical', node: 'mx2' }, message: 'CPU <b>97%</b> & rising' }), [ch.id]);
        const r = await mod.delivery.deliverDue();
        assert.equal(r.messages, 1, (await delivery(ch.id))?.last_error ?? '');
        assert.equal(r.sent, 2);
        assert.equal(received.length, 1);
        const mail = received[0]!;
        assert.deepEqual(auths, [{ user: 'opsdeck', pass: 'smtp-pass-123' }]);
        assert.equal(mail.user, 'opsdeck');
        assert.equal(mail.from, 'opsdeck@example.org');
        assert.deepEqual(mail.to, ['oncall@example.org', 'lead@example.org']);
        // Quoted-printable soft line breaks undone, so lines can be matched.
        const raw = mail.raw.replace(/=\r\n/g, '').replaceAll('=3D', '=');
        assert.match(raw, /^Subject: \[FIRING:2\] HighCpu$/m);
        assert.match(raw, /Content-Type: text\/plain/);
        assert.match(raw, /Content-Type: text\/html/);
        assert.match(raw, /FIRING HighCpu \(node=mx1, severity=critical\) since 2026-01-01T00:00:00.000Z: CPU above 90% for 5 minutes/);
        // In the HTML part the message is escaped (quoted-printable turns = into =3D).
        assert.match(raw, /CPU &lt;b&gt;97%&lt;\/b&gt; &amp; rising/);
        assert.equal((await delivery(ch.id))!.status, 'sent');
        assert.equal((await delivery(ch.id))!.response_status, 250);
      } finally {
        await new Promise<void>((r) => smtp.close(() => r()));
      }
    });

    test('email: an SMTP host on a refused address (10.0.0.1) is refused when the channel is saved', async () => {
      await assert.rejects(
        () => mod.channels.create({ name: 'mail-internal', kind: 'email', config: { host: '10.0.0.1', port: 25, from: 'a@example.org', to: ['b@example.org'] } }),
        (err: { code?: string; issues?: { path: string }[] }) => err.code === 'OUTBOUND_ADDRESS_REFUSED' && err.issues?.[0]?.path === 'config.host',
      );
    });

    test('Slack: an incoming-webhook JSON body (text, and an attachment coloured by severity holding mrkdwn blocks)', async () => {
      sink = await startSink({ status: 200, body: 'ok' });
      const ch = await mod.channels.create({ name: 'slack', kind: 'slack', config: {}, secrets: { webhookUrl: `${sink.url}/services/T000/B000/XXXXXXXX` }, groupWaitSeconds: 0, groupIntervalSeconds: 0 });
      await enqueue(notice({ severity: 'warning', labels: { alertname: 'QueueGrowing', severity: 'warning', node: 'mx1' }, alertName: 'QueueGrowing', message: 'queue <deferred> & growing' }), [ch.id]);
      await mod.delivery.deliverDue();
      assert.equal((await delivery(ch.id))!.status, 'sent');
      const req = sink.requests[0]!;
      assert.equal(req.method, 'POST');
      assert.equal(req.url, '/services/T000/B000/XXXXXXXX');
      assert.equal(req.headers['content-type'], 'application/json');
      const body = JSON.parse(req.body);
      assert.equal(body.text, '[FIRING:1] QueueGrowing');
      assert.equal(body.attachments.length, 1);
      const att = body.attachments[0];
      assert.equal(att.color, '#ECB22E', 'warning is amber');
      assert.equal(att.fallback, '[FIRING:1] QueueGrowing');
      assert.equal(att.blocks[0].type, 'header');
      assert.equal(att.blocks[0].text.type, 'plain_text');
      assert.equal(att.blocks[1].type, 'section');
      assert.equal(att.blocks[1].text.type, 'mrkdwn');
      // Slack mrkdwn: &, < and > escaped as HTML entities.
      assert.match(att.blocks[1].text.text, /queue &lt;deferred&gt; &amp; growing/);
      for (const b of att.blocks) assert.ok(['header', 'section', 'context'].includes(b.type));

      // Slack's answer to a bad webhook (410 channel_is_archived) is kept and the delivery is dead.
      sink.fallback = { status: 410, body: 'channel_is_archived' };
      await enqueue(notice({ status: 'resolved', reason: 'resolved', severity: 'warning', endsAt: clock.now() }), [ch.id]);
      await mod.delivery.deliverDue();
      const d = await delivery(ch.id);
      assert.equal(d!.status, 'dead');
      assert.equal(d!.last_error, 'channel_is_archived');
      const resolved = JSON.parse(sink.requests[1]!.body);
      assert.equal(resolved.attachments[0].color, '#2EB67D', 'resolved is green');
    });

    test('Telegram: sendMessage with chat_id, HTML parse mode and escaped text; a refusal keeps what Telegram said', async () => {
      sink = await startSink({ status: 200, body: '{"ok":true,"result":{"message_id":42,"chat":{"id":-1001234567890}}}' });
      const token = '123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw';
      const ch = await mod.channels.create({
        name: 'telegram',
        kind: 'telegram',
        config: { chatId: '-1001234567890', apiBaseUrl: sink.url },
        secrets: { botToken: token },
        groupWaitSeconds: 0,
        groupIntervalSeconds: 0,
      });
      await enqueue(notice({ message: 'load <high> & "rising"' }), [ch.id]);
      await mod.delivery.deliverDue();
      assert.equal((await delivery(ch.id))!.status, 'sent');
      const req = sink.requests[0]!;
      assert.equal(req.method, 'POST');
      assert.equal(req.url, `/bot${token}/sendMessage`);
      assert.equal(req.headers['content-type'], 'application/json');
      const body = JSON.parse(req.body);
      assert.equal(body.chat_id, '-1001234567890');
      assert.equal(body.parse_mode, 'HTML');
      assert.equal(body.disable_web_page_preview, true);
      assert.ok(body.text.startsWith('<b>[FIRING:1] HighCpu</b>'), body.text);
      assert.ok(body.text.includes('load &lt;high&gt; &amp; "rising"'), body.text);
      assert.ok(body.text.length <= 4096);

      // Flood control: 429 with parameters.retry_after → tried again after it.
      sink.answers.push({ status: 429, body: '{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 37","parameters":{"retry_after":37}}' });
      await enqueue(notice(), [ch.id]);
      const before = clock.now().getTime();
      await mod.delivery.deliverDue();
      const limited = await m.db.queryOne<{ status: string; next_attempt_at: Date; last_error: string }>(
        'SELECT status, next_attempt_at, last_error FROM notification_deliveries WHERE channel_id = $1 ORDER BY id DESC LIMIT 1',
        [ch.id],
      );
      assert.equal(limited!.status, 'failed');
      assert.equal(limited!.last_error, 'Too Many Requests: retry after 37');
      assert.equal(limited!.next_attempt_at.getTime(), before + 37_000);
      clock.advance(37_000);
      await mod.delivery.deliverDue();

      // Telegram's refusal: {"ok":false,…} with a 400 → dead, its description kept.
      sink.fallback = { status: 400, body: '{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}' };
      await enqueue(notice(), [ch.id]);
      await mod.delivery.deliverDue();
      const d = await delivery(ch.id);
      assert.equal(d!.status, 'dead');
      assert.equal(d!.last_error, 'Bad Request: chat not found');
    });

    test('Alertmanager: firing alerts are posted again every repost interval until resolved, then posted with endsAt', async () => {
      sink = await startSink({ status: 200, body: '' });
      const ch = await mod.channels.create({ name: 'am-sink', kind: 'alertmanager', config: { url: sink.url, repostIntervalSeconds: 60 }, groupWaitSeconds: 0 });
      const fired = notice({ startsAt: clock.now() });
      await enqueue(fired, [ch.id]);
      await mod.delivery.deliverDue();
      assert.equal(sink.requests.length, 1);
      assert.equal(sink.requests[0]!.url, '/api/v2/alerts');
      const posted = JSON.parse(sink.requests[0]!.body);
      assert.deepEqual(posted, [
        {
          labels: { alertname: 'HighCpu', severity: 'critical', node: 'mx1' },
          annotations: { summary: 'CPU above 90% for 5 minutes', value: '97.5' },
          startsAt: fired.startsAt.toISOString(),
        },
      ]);
      clock.advance(59_000);
      assert.equal((await mod.delivery.deliverDue()).reposted, 0);
      clock.advance(1_000);
      assert.equal((await mod.delivery.deliverDue()).reposted, 1);
      assert.deepEqual(JSON.parse(sink.requests[1]!.body), posted);
      clock.advance(10_000);
      const endsAt = clock.now();
      await enqueue({ ...fired, status: 'resolved', reason: 'resolved', endsAt }, [ch.id]);
      await mod.delivery.deliverDue();
      assert.equal(sink.requests.length, 3);
      assert.deepEqual(JSON.parse(sink.requests[2]!.body), [{ ...posted[0], endsAt: endsAt.toISOString() }]);
      clock.advance(3_600_000);
      assert.equal((await mod.delivery.deliverDue()).reposted, 0, 'a resolved alert is not posted again');
      assert.equal(sink.requests.length, 3);
    });

    test('Alertmanager: a real Alertmanager shows the alert in GET /api/v2/alerts, then drops it once resolved', async (t) => {
      if (!existsSync(ALERTMANAGER)) {
        t.skip(`${ALERTMANAGER} is not installed (Debian package prometheus-alertmanager)`);
        return;
      }
      const dir = mkdtempSync(join(tmpdir(), 'opsdeck-am-'));
      writeFileSync(join(dir, 'am.yml'), 'route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n');
      const port = await freePort();
      const am: ChildProcess = spawn(
        ALERTMANAGER,
        [`--config.file=${join(dir, 'am.yml')}`, `--storage.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address='],
        { stdio: 'ignore' },
      );
      const base = `http://127.0.0.1:${port}`;
      try {
        for (let i = 0; ; i++) {
          const ok = await fetch(`${base}/-/ready`).then((r) => r.ok, () => false);
          if (ok) break;
          assert.ok(i < 300, 'Alertmanager is ready within 30 s');
          await new Promise((r) => setTimeout(r, 100));
        }
        const ch = await mod.channels.create({ name: 'alertmanager', kind: 'alertmanager', config: { url: base }, groupWaitSeconds: 0 });
        // Alertmanager judges firing/resolved by its own clock: real times here.
        clock.set(new Date());
        const fired = notice({ startsAt: new Date(Date.now() - 60_000), fingerprint: 'am-real' });
        await enqueue(fired, [ch.id]);
        await mod.delivery.deliverDue();
        assert.equal((await delivery(ch.id))!.status, 'sent', (await delivery(ch.id))!.last_error ?? '');
        const alerts = (await (await fetch(`${base}/api/v2/alerts`)).json()) as { labels: Record<string, string>; annotations: Record<string, string>; status: { state: string }; startsAt: string }[];
        const mine = alerts.filter((a) => a.labels.alertname === 'HighCpu' && a.labels.node === 'mx1');
        assert.equal(mine.length, 1, JSON.stringify(alerts));
        assert.equal(mine[0]!.status.state, 'active');
        assert.equal(mine[0]!.labels.severity, 'critical');
        assert.equal(mine[0]!.annotations.summary, 'CPU above 90% for 5 minutes');
        assert.equal(Date.parse(mine[0]!.startsAt), fired.startsAt.getTime());

        clock.set(new Date());
        await enqueue({ ...fired, status: 'resolved', reason: 'resolved', endsAt: new Date(Date.now() - 1000) }, [ch.id]);
        await mod.delivery.deliverDue();
        assert.equal((await delivery(ch.id))!.status, 'sent');
        const after = (await (await fetch(`${base}/api/v2/alerts`)).json()) as { labels: Record<string, string> }[];
        assert.deepEqual(after.filter((a) => a.labels.alertname === 'HighCpu' && a.labels.node === 'mx1'), [], 'resolved: no longer an active alert');
      } finally {
        am.kill('SIGTERM');
        await new Promise((r) => am.once('exit', r));
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
