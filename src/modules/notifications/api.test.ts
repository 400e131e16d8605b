/**
 * The notification API over HTTP on the real runtime (outbound allow-list 127.0.0.0/8, every
 * log line captured at trace level): channel CRUD with sealed secrets that never come back,
 * refused addresses named by field, "send a test notification", the delivery log, and the
 * in-app server-sent-events stream (resumable, heartbeats, ends on shutdown).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { loadConfig } from '../../config.ts';
import { createLogger, createRuntime, type Runtime, type RuntimeOptions } from '../../runtime.ts';
import { enabledBackends, openDatabase, type BackendKind } from '../../../test/support/backends.ts';
import { TEST_ADMIN_PASSWORD } from '../../../test/support/app.ts';
import { loginAs } from '../../../test/support/auth.ts';
import { NoticeFeed } from './stream.ts';
import { notice, startSink, type HttpSink } from './notify-test-kit.ts';

interface LoggedRuntime {
  rt: Runtime;
  log: string[];
  url?: string;
  destroy(): Promise<void>;
}

async function loggedRuntime(kind: BackendKind, notifications: RuntimeOptions['notifications'] = {}): Promise<LoggedRuntime & { dbUrl?: string | undefined }> {
  const t = await openDatabase(kind);
  const config = loadConfig(
    {},
    {
      logLevel: 'trace',
      selfMonitor: false,
      jobs: false,
      adminPassword: TEST_ADMIN_PASSWORD,
      jwtSecret: 'test-jwt-secret-0123456789abcdef0123456789',
      secretKey: 'test-secret-key-0123456789abcdef0123456789',
      outboundAllow: ['127.0.0.0/8'],
    },
  );
  const log: string[] = [];
  const logger = createLogger(config, new Writable({ write: (c: Buffer, _e, cb) => (log.push(c.toString('utf8')), cb()) }));
  const rt = await createRuntime(config, { db: t.db, logger, notifications });
  await rt.auth.seed();
  await rt.app.ready();
  return {
    rt,
    log,
    dbUrl: t.url,
    async destroy() {
      await rt.close();
      await t.close();
    },
  };
}

const SECRETS = {
  hmac: 'whsec-this-is-the-signing-secret-42',
  auth: 'Bearer pagerduty-routing-key-0a1b2c3d',
  slack: '/services/T0SECRET/B0SECRET/xoxbSECRETpath',
  bot: '987654321:AAFsecretTELEGRAMtokenValue_0123456',
  smtp: 'smtp-password-never-shown',
  am: 'alertmanager-basic-auth-pass',
};

for (const kind of enabledBackends()) {
  describe(`notification API [${kind}]`, () => {
    let h: LoggedRuntime;
    let sink: HttpSink;
    let admin: string;
    let viewer: string;
    const call = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, auth: string, payload?: unknown) =>
      h.rt.app.inject({ method, url, headers: { authorization: auth }, ...(payload === undefined ? {} : { payload: payload as object }) });
    /** Every answer body the API gave in this file, to search for secrets. */
    const answers: string[] = [];
    const api = async (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, auth: string, payload?: unknown) => {
      const r = await call(method, url, auth, payload);
      answers.push(r.body);
      return r;
    };

    before(async () => {
      h = await loggedRuntime(kind, { stream: { pollMs: 25, heartbeatMs: 100 } });
      sink = await startSink();
      admin = await loginAs(h.rt, 'admin');
      viewer = await loginAs(h.rt, 'viewer');
    });
    after(async () => {
      await sink.close();
      await h.destroy();
    });

    test('channels: secrets are sealed, never answered (only which are set), kept on PUT unless cleared; never in a log line', async () => {
      // A peer that echoes the credential it received in its error answer.
      sink.fallback = { status: 500, body: '' };
      const hook = await api('POST', '/api/v1/notification-channels', admin, {
        name: 'pager',
        kind: 'webhook',
        config: { url: `${sink.url}/hook` },
        secrets: { hmacSecret: SECRETS.hmac, authorization: SECRETS.auth },
        groupWaitSeconds: 0,
      });
      assert.equal(hook.statusCode, 201, hook.body);
      const ch = hook.json();
      assert.deepEqual(ch.secretsSet, ['authorization', 'hmacSecret']);
      assert.deepEqual(ch.config, { url: `${sink.url}/hook`, headers: {} });
      assert.equal(ch.minSeverity, 'info');
      assert.deepEqual(ch.groupBy, ['alertname']);
      assert.deepEqual([ch.groupWaitSeconds, ch.groupIntervalSeconds, ch.repeatIntervalSeconds], [0, 300, 14400]);
      assert.equal(ch.sendResolved, true);

      const created = [
        await api('POST', '/api/v1/notification-channels', admin, { name: 'slack', kind: 'slack', secrets: { webhookUrl: `${sink.url}${SECRETS.slack}` } }),
        await api('POST', '/api/v1/notification-channels', admin, { name: 'tg', kind: 'telegram', config: { chatId: 12345, apiBaseUrl: sink.url }, secrets: { botToken: SECRETS.bot } }),
        await api('POST', '/api/v1/notification-channels', admin, {
          name: 'mail',
          kind: 'email',
          config: { host: '127.0.0.1', port: 2525, user: 'ops', from: 'a@example.org', to: ['b@example.org'] },
          secrets: { password: SECRETS.smtp },
        }),
        await api('POST', '/api/v1/notification-channels', admin, { name: 'am', kind: 'alertmanager', config: { url: sink.url, username: 'opsdeck' }, secrets: { password: SECRETS.am } }),
      ];
      for (const r of created) assert.equal(r.statusCode, 201, r.body);
      assert.deepEqual(created.map((r) => r.json().secretsSet), [['webhookUrl'], ['botToken'], ['password'], ['password']]);

      // Stored sealed: the plain values are nowhere in the table.
      const stored = await h.rt.db.queryMany<{ row: string }>('SELECT row_to_json(c)::text AS row FROM notification_channels c');
      for (const v of Object.values(SECRETS)) assert.ok(!stored.some((r) => r.row.includes(v)), `${v} is not stored in clear`);

      const list = await api('GET', '/api/v1/notification-channels', viewer);
      assert.equal(list.statusCode, 200);
      assert.equal(list.json().total, 5);
      assert.equal((await api('GET', `/api/v1/notification-channels/${ch.id}`, viewer)).json().name, 'pager');

      // PUT without secrets keeps them: the webhook still signs and authorizes.
      const put = await api('PUT', `/api/v1/notification-channels/${ch.id}`, admin, { name: 'pager-2', kind: 'webhook', config: { url: `${sink.url}/hook` }, groupWaitSeconds: 0 });
      assert.equal(put.statusCode, 200, put.body);
      assert.deepEqual(put.json().secretsSet, ['authorization', 'hmacSecret']);
      const tested = await api('POST', `/api/v1/notification-channels/${ch.id}/test`, admin);
      assert.equal(tested.statusCode, 200, tested.body);
      assert.deepEqual(tested.json(), { ok: false, peerStatus: 500, retryable: true, detail: 'HTTP 500' });
      const last = sink.requests.at(-1)!;
      assert.equal(last.headers.authorization, SECRETS.auth);
      assert.match(String(last.headers['x-opsdeck-signature']), /^v1=[0-9a-f]{64}$/);
      assert.equal(JSON.parse(last.body).alerts[0].labels.alertname, 'OpsdeckTestNotification');

      // A peer echoing the credential: what is kept and answered has it removed.
      sink.answers.push({ status: 401, body: `rejected credential ${SECRETS.auth}` });
      const echoed = await api('POST', `/api/v1/notification-channels/${ch.id}/test`, admin);
      assert.equal(echoed.json().detail, 'rejected credential [secret]');
      for (const c of created) await api('POST', `/api/v1/notification-channels/${c.json().id}/test`, admin);

      // Deliveries through the job path, failing, so error lines are logged.
      await h.rt.db.transaction((tx) => h.rt.notifications.notifier.enqueue(tx, notice(), [ch.id, ...created.map((c) => c.json().id as number)]));
      await h.rt.notifications.delivery.deliverDue();
      const log = await api('GET', `/api/v1/notifications/deliveries?channelId=${ch.id}`, viewer);
      assert.equal(log.statusCode, 200, log.body);
      assert.equal(log.json().items[0].status, 'failed');

      // Clearing a secret with null.
      const cleared = await api('PUT', `/api/v1/notification-channels/${ch.id}`, admin, { name: 'pager-2', kind: 'webhook', config: { url: `${sink.url}/hook` }, secrets: { hmacSecret: null } });
      assert.deepEqual(cleared.json().secretsSet, ['authorization']);

      const everything = answers.join('\n');
      const logged = h.log.join('');
      assert.ok(logged.includes('notification not sent'), 'the failing sends were logged');
      assert.ok(everything.includes('"secretsSet"'), 'the answers were collected');
      for (const v of Object.values(SECRETS)) {
        assert.ok(!everything.includes(v), `no API answer contains ${v}`);
        assert.ok(!logged.includes(v), `no log line contains ${v}`);
      }
    });

    test('a channel URL or host on a refused address is 400 OUTBOUND_ADDRESS_REFUSED naming the field', async () => {
      const cases: [unknown, string][] = [
        [{ name: 'meta', kind: 'webhook', config: { url: 'http://169.254.169.254/latest/meta-data/' } }, 'body.config.url'],
        [{ name: 'private', kind: 'alertmanager', config: { url: 'http://10.0.0.1:9093' } }, 'body.config.url'],
        [{ name: 'slack-internal', kind: 'slack', secrets: { webhookUrl: 'https://10.0.0.1/services/x' } }, 'body.secrets.webhookUrl'],
        [{ name: 'smtp-internal', kind: 'email', config: { host: '10.0.0.1', from: 'a@example.org', to: ['b@example.org'] } }, 'body.config.host'],
        [{ name: 'mapped', kind: 'webhook', config: { url: 'http://[::ffff:169.254.169.254]/' } }, 'body.config.url'],
      ];
      for (const [body, path] of cases) {
        const r = await call('POST', '/api/v1/notification-channels', admin, body);
        assert.equal(r.statusCode, 400, r.body);
        assert.equal(r.json().code, 'OUTBOUND_ADDRESS_REFUSED');
        assert.deepEqual(r.json().errors.map((e: { path: string }) => e.path), [path]);
      }
      // Per-kind validation names the field too.
      const bad = await call('POST', '/api/v1/notification-channels', admin, { name: 'nourl', kind: 'webhook', config: {} });
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.json().code, 'VALIDATION_FAILED');
      assert.ok(bad.json().errors.some((e: { path: string }) => e.path === 'body.config.url'), bad.body);
      const noToken = await call('POST', '/api/v1/notification-channels', admin, { name: 'tg2', kind: 'telegram', config: { chatId: 1 } });
      assert.equal(noToken.statusCode, 400);
      assert.ok(noToken.json().errors.some((e: { path: string }) => e.path === 'body.secrets.botToken'), noToken.body);
      // The kind of a channel cannot change.
      const inapp = (await call('POST', '/api/v1/notification-channels', admin, { name: 'feed-x', kind: 'inapp' })).json();
      const change = await call('PUT', `/api/v1/notification-channels/${inapp.id}`, admin, { name: 'feed-x', kind: 'webhook', config: { url: sink.url } });
      assert.equal(change.json().code, 'CHANNEL_KIND_CHANGED');
      assert.equal((await call('POST', '/api/v1/notification-channels', admin, { name: 'feed-x', kind: 'inapp' })).json().code, 'CHANNEL_NAME_TAKEN');
      assert.equal((await call('DELETE', `/api/v1/notification-channels/${inapp.id}`, admin)).statusCode, 204);
      assert.equal((await call('GET', `/api/v1/notification-channels/${inapp.id}`, viewer)).json().code, 'CHANNEL_NOT_FOUND');
    });

    test('the delivery log filters by event, channel and status', async () => {
      const a = (await call('POST', '/api/v1/notification-channels', admin, { name: 'log-a', kind: 'inapp' })).json();
      const b = (await call('POST', '/api/v1/notification-channels', admin, { name: 'log-b', kind: 'inapp', minSeverity: 'critical' })).json();
      const n1 = notice({ severity: 'warning' });
      await h.rt.db.transaction((tx) => h.rt.notifications.notifier.enqueue(tx, n1, [a.id, b.id]));
      const byEvent = (await call('GET', `/api/v1/notifications/deliveries?eventId=${n1.eventId}`, viewer)).json();
      assert.equal(byEvent.total, 2);
      assert.deepEqual(byEvent.items.map((d: { channelId: number; status: string }) => [d.channelId, d.status]).sort(), [[a.id, 'sent'], [b.id, 'muted']].sort());
      const muted = (await call('GET', `/api/v1/notifications/deliveries?eventId=${n1.eventId}&status=muted`, viewer)).json();
      assert.deepEqual(muted.items.map((d: { channelId: number }) => d.channelId), [b.id]);
      assert.equal(muted.items[0].notice.alertName, 'HighCpu');
      assert.equal((await call('GET', `/api/v1/notifications/deliveries?status=nope`, viewer)).statusCode, 400);
    });

    test('the stream of a channel that is not in-app, or does not exist, is refused before it starts', async () => {
      const hook = (await call('POST', '/api/v1/notification-channels', admin, { name: 'not-inapp', kind: 'webhook', config: { url: sink.url } })).json();
      const wrong = await call('GET', `/api/v1/notifications/stream?channelId=${hook.id}`, viewer);
      assert.equal(wrong.statusCode, 400);
      assert.equal(wrong.json().code, 'CHANNEL_NOT_INAPP');
      const missing = await call('GET', '/api/v1/notifications/stream?channelId=999999', viewer);
      assert.equal(missing.statusCode, 404);
      assert.equal(missing.json().code, 'CHANNEL_NOT_FOUND');
    });

    test('in-app stream: notices as server-sent events, resumable with Last-Event-ID, heartbeats, ended on shutdown', async () => {
      const ch = (await call('POST', '/api/v1/notification-channels', admin, { name: 'dashboard', kind: 'inapp' })).json();
      await h.rt.app.listen({ port: 0, host: '127.0.0.1' });
      const port = (h.rt.app.server.address() as AddressInfo).port;
      const open = (lastEventId?: string) =>
        new Promise<{ res: IncomingMessage; events: { id?: string; event?: string; data?: string }[]; comments: number; next: (n: number) => Promise<void>; text: () => string }>((resolve, reject) => {
          const req = request(
            { host: '127.0.0.1', port, path: `/api/v1/notifications/stream?channelId=${ch.id}`, headers: { authorization: viewer, ...(lastEventId ? { 'last-event-id': lastEventId } : {}) } },
            (res) => {
              let buf = '';
              const events: { id?: string; event?: string; data?: string }[] = [];
              let comments = 0;
              const waiters: { n: number; done: () => void }[] = [];
              res.setEncoding('utf8');
              res.on('data', (chunk: string) => {
                buf += chunk;
                let i;
                while ((i = buf.indexOf('\n\n')) >= 0) {
                  const block = buf.slice(0, i);
                  buf = buf.slice(i + 2);
                  const ev: { id?: string; event?: string; data?: string } = {};
                  for (const line of block.split('\n')) {
                    if (line.startsWith(':')) comments++;
                    else if (line.startsWith('id: ')) ev.id = line.slice(4);
                    else if (line.startsWith('event: ')) ev.event = line.slice(7);
                    else if (line.startsWith('data: ')) ev.data = line.slice(6);
                  }
                  if (ev.event) events.push(ev);
                }
                for (const w of [...waiters]) {
                  if (events.length < w.n) continue;
                  waiters.splice(waiters.indexOf(w), 1);
                  w.done();
                }
              });
              resolve({
                res,
                events,
                get comments() {
                  return comments;
                },
                next: (n) => (events.length >= n ? Promise.resolve() : new Promise<void>((done) => waiters.push({ n, done }))),
                text: () => buf,
              });
            },
          );
          req.on('error', reject);
          req.end();
        });

      const s1 = await open();
      assert.equal(s1.res.statusCode, 200);
      assert.match(String(s1.res.headers['content-type']), /^text\/event-stream/);
      assert.equal(s1.res.headers['cache-control'], 'no-store');
      const first = notice({ message: 'first' });
      await h.rt.db.transaction((tx) => h.rt.notifications.notifier.enqueue(tx, first, [ch.id]));
      await s1.next(1);
      assert.equal(s1.events[0]!.event, 'notice');
      const data = JSON.parse(s1.events[0]!.data!);
      assert.equal(data.channelId, ch.id);
      assert.equal(data.notice.message, 'first');
      assert.equal(data.notice.eventId, first.eventId);
      const resumeFrom = s1.events[0]!.id!;
      s1.res.destroy();

      const second = notice({ message: 'second' });
      await h.rt.db.transaction((tx) => h.rt.notifications.notifier.enqueue(tx, second, [ch.id]));
      const s2 = await open(resumeFrom);
      await s2.next(1);
      assert.equal(JSON.parse(s2.events[0]!.data!).notice.message, 'second', 'resumed after the last event seen: the first is not sent again');

      // Heartbeat comments keep an idle stream open (100 ms in this runtime).
      while (s2.comments === 0) await new Promise((r) => setTimeout(r, 20));
      assert.equal(s2.events.length, 1);

      // Shutdown ends the stream.
      const ended = new Promise<void>((r) => s2.res.once('end', r));
      await h.rt.close();
      await ended;
    });
  });
}

test('the logger censors credential fields wherever a log object carries them', () => {
  const lines: string[] = [];
  const logger = createLogger({ logLevel: 'info' }, new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString('utf8')), cb()) }));
  logger.info(
    { channel: { name: 'pager', secrets: { hmacSecret: SECRETS.hmac }, config: { password: SECRETS.smtp } }, botToken: SECRETS.bot, req: { headers: { authorization: SECRETS.auth } } },
    'a careless line',
  );
  const line = JSON.parse(lines.join(''));
  assert.equal(line.channel.name, 'pager');
  assert.equal(line.channel.secrets, '[redacted]');
  assert.equal(line.channel.config.password, '[redacted]');
  assert.equal(line.botToken, '[redacted]');
  assert.equal(line.req.headers.authorization, '[redacted]');
});

describe('in-app feed ordering across transactions [postgres]', () => {
  test('a notice whose transaction began first and committed last is not skipped', async (t) => {
    if (!enabledBackends().includes('postgres')) {
      t.skip('needs two connections at once: the postgres backend is not enabled');
      return;
    }
    const h = await loggedRuntime('postgres');
    let release: () => void = () => undefined;
    let a: Promise<void> = Promise.resolve();
    try {
      const admin = await loginAs(h.rt, 'admin');
      const ch = (await h.rt.app.inject({ method: 'POST', url: '/api/v1/notification-channels', headers: { authorization: admin }, payload: { name: 'feed', kind: 'inapp' } })).json();
      const feed = new NoticeFeed(h.rt.db);
      const start = await feed.head();
      const held = new Promise<void>((r) => (release = r));
      let began!: () => void;
      const begun = new Promise<void>((r) => (began = r));
      // A: enqueues first (smaller id, smaller transaction id) and stays open.
      a = h.rt.db.transaction(async (tx) => {
        await h.rt.notifications.notifier.enqueue(tx, notice({ message: 'A' }), [ch.id]);
        began();
        await held;
      });
      await begun;
      // B: enqueues later and commits first.
      await h.rt.db.transaction((tx) => h.rt.notifications.notifier.enqueue(tx, notice({ message: 'B' }), [ch.id]));
      const committed = await h.rt.db.queryMany<{ id: number }>('SELECT id FROM notification_deliveries WHERE channel_id = $1', [ch.id]);
      assert.equal(committed.length, 1, 'B is committed and visible');
      assert.deepEqual(await feed.after(start), [], 'B is held back while A, older, is in flight');
      release();
      await a;
      assert.deepEqual((await feed.after(start)).map((n) => n.notice.message), ['A', 'B']);
    } finally {
      release();
      await a.catch(() => undefined);
      await h.destroy();
    }
  });

  test('a transaction open in another database of the same server does not hold the feed back', async (t) => {
    if (!enabledBackends().includes('postgres')) {
      t.skip('needs a server with two databases: the postgres backend is not enabled');
      return;
    }
    const h = await loggedRuntime('postgres');
    const other = await openDatabase('postgres');
    let release: () => void = () => undefined;
    let held: Promise<void> = Promise.resolve();
    try {
      const admin = await loginAs(h.rt, 'admin');
      const ch = (await h.rt.app.inject({ method: 'POST', url: '/api/v1/notification-channels', headers: { authorization: admin }, payload: { name: 'feed-2', kind: 'inapp' } })).json();
      const feed = new NoticeFeed(h.rt.db);
      const start = await feed.head();
      const wait = new Promise<void>((r) => (release = r));
      let began!: () => void;
      const begun = new Promise<void>((r) => (began = r));
      // Another database on the same server: a transaction that has a transaction id and stays open.
      held = other.db.transaction(async (tx) => {
        await tx.query('SELECT pg_current_xact_id()');
        began();
        await wait;
      });
      await begun;
      await h.rt.db.transaction((tx) => h.rt.notifications.notifier.enqueue(tx, notice({ message: 'C' }), [ch.id]));
      assert.deepEqual((await feed.after(start)).map((n) => n.notice.message), ['C']);
    } finally {
      release();
      await held.catch(() => undefined);
      await other.close();
      await h.destroy();
    }
  });
});
