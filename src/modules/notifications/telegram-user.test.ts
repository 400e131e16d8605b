/**
 * A Telegram channel may name a dashboard user instead of a chat: messages then go to the
 * Telegram id that user set on themselves (dashboard_users.telegram_id). Until the user has
 * one, sending through the channel is refused with a clear code.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestRuntime, type TestRuntime } from '../../../test/support/app.ts';
import { loginAs } from '../../../test/support/auth.ts';
import { enabledBackends } from '../../../test/support/backends.ts';
import { startSink, type HttpSink } from './notify-test-kit.ts';

const kind = enabledBackends().includes('postgres') ? 'postgres' : (enabledBackends()[0] ?? 'pglite');
const BOT = '123456:telegram-user-channel-token-abcdef';
let rt: TestRuntime;
let sink: HttpSink;

before(async () => {
  sink = await startSink({ status: 200, body: '{"ok":true,"result":{}}' });
  rt = await buildTestRuntime(kind, { outboundAllow: ['127.0.0.0/8'] });
});
after(async () => {
  await rt?.destroy();
  await sink?.close();
});

test(`a Telegram channel that names a user sends to the user's Telegram id [${kind}]`, async () => {
  const admin = await loginAs(rt, 'admin');
  const operator = await loginAs(rt, 'operator');
  const bad = await rt.app.inject({ method: 'POST', url: '/api/v1/notification-channels', headers: { authorization: admin }, payload: { name: 'tg-none', kind: 'telegram', config: { apiBaseUrl: sink.url }, secrets: { botToken: BOT } } });
  assert.equal(bad.statusCode, 400, 'neither chatId nor username');
  const ch = await rt.app.inject({
    method: 'POST',
    url: '/api/v1/notification-channels',
    headers: { authorization: admin },
    payload: { name: 'tg-operator', kind: 'telegram', config: { username: 'test-operator', apiBaseUrl: sink.url }, secrets: { botToken: BOT } },
  });
  assert.equal(ch.statusCode, 201, ch.body);
  const id = ch.json<{ id: number }>().id;

  const unlinked = await rt.app.inject({ method: 'POST', url: `/api/v1/notification-channels/${id}/test`, headers: { authorization: admin } });
  assert.equal(unlinked.statusCode, 503, unlinked.body);
  assert.equal(unlinked.json<{ code: string }>().code, 'TELEGRAM_USER_UNLINKED');
  assert.equal(sink.requests.length, 0);

  // The operator sets their own Telegram id.
  const me = (await rt.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { authorization: operator } })).json<{ id: number; telegramId: number | null }>();
  assert.equal(me.telegramId, null);
  const set = await rt.app.inject({ method: 'PATCH', url: `/api/v1/users/${me.id}`, headers: { authorization: operator }, payload: { telegramId: 987654321 } });
  assert.equal(set.statusCode, 200, set.body);
  assert.equal(set.json<{ telegramId: number }>().telegramId, 987654321);

  const sent = await rt.app.inject({ method: 'POST', url: `/api/v1/notification-channels/${id}/test`, headers: { authorization: admin } });
  assert.ok(sent.statusCode < 300, sent.body);
  assert.equal(sink.requests.length, 1);
  assert.equal(sink.requests[0]!.url, `/bot${BOT}/sendMessage`);
  assert.equal(JSON.parse(sink.requests[0]!.body).chat_id, 987654321);
});
