/**
 * Two Opsdeck processes on one database (two runtimes with their own
 * connection pools, as two processes would have): events appended through
 * one, concurrently through both, reach a stream served by the other in
 * order and without gaps, and the stream ends when the other finishes the
 * run. Needs a database server: postgres backend only.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { loadConfig } from '../../config.ts';
import { PostgresDatabase } from '../../db/postgres-driver.ts';
import { createRuntime, type Runtime } from '../../runtime.ts';
import { enabledBackends, openDatabase, type TestDatabase } from '../../../test/support/backends.ts';
import { createApiKey, loginAs } from '../../../test/support/auth.ts';

const enabled = enabledBackends().includes('postgres');
let t: TestDatabase;
let a: Runtime;
let b: Runtime;

const config = () =>
  loadConfig({}, { logLevel: 'silent', selfMonitor: false, jobs: false, adminPassword: 'test-root-password-123', jwtSecret: 'test-jwt-secret-0123456789abcdef0123456789', secretKey: 'test-secret-key-0123456789abcdef0123456789' });

before(async () => {
  if (!enabled) return;
  t = await openDatabase('postgres');
  a = await createRuntime(config(), { db: t.db, logger: pino({ level: 'silent' }) });
  await a.auth.seed();
  b = await createRuntime(config(), { db: new PostgresDatabase({ url: t.url! }), logger: pino({ level: 'silent' }) });
  await a.app.listen({ port: 0, host: '127.0.0.1' });
  await b.app.ready();
});
after(async () => {
  if (!enabled) return;
  await b.close();
  await b.db.close();
  await a.close();
  await t.close();
});

test('a stream served by one process sees every event another process appends, in order, and ends when that one finishes the run', { timeout: 90_000 }, async (ctx) => {
  if (!enabled) return ctx.skip('needs the postgres backend (two connection pools on one server database)');
  const agent = `Bearer ${await createApiKey(a, ['ingest'])}`;
  const viewer = await loginAs(a, 'viewer');
  const post = (rt: Runtime, url: string, payload: object) => rt.app.inject({ method: 'POST', url, headers: { authorization: agent }, payload });
  const task = (await post(b, '/api/v1/tasks', { title: 'shared', prompt: 'p' })).json();
  const run = (await post(b, `/api/v1/tasks/${task.id}/runs`, { agent: 'x' })).json();
  assert.equal((await post(b, `/api/v1/runs/${run.id}/transitions`, { to: 'running' })).statusCode, 200);

  const port = (a.app.server.address() as AddressInfo).port;
  const res = await fetch(`http://127.0.0.1:${port}/api/v1/runs/${run.id}/events/stream`, { headers: { authorization: viewer } });
  const body = res.text();
  // 2 × 10 single-event appends through both processes at once, then the finish through b.
  const appends = Array.from({ length: 10 }, (_, i) => [
    post(a, `/api/v1/runs/${run.id}/events`, { items: [{ kind: 'log', message: `a${i}` }] }),
    post(b, `/api/v1/runs/${run.id}/events`, { items: [{ kind: 'log', message: `b${i}` }] }),
  ]).flat();
  assert.deepEqual([...new Set((await Promise.all(appends)).map((r) => r.statusCode))], [201]);
  assert.equal((await post(b, `/api/v1/runs/${run.id}/transitions`, { to: 'succeeded' })).statusCode, 200);

  const text = await body;
  const seqs = [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
  // queued, running, 20 logs, succeeded: 23 events numbered 1…23.
  assert.deepEqual(seqs, Array.from({ length: 23 }, (_, i) => i + 1));
  const messages = [...text.matchAll(/"message":"([ab]\d)"/g)].map((m) => m[1]).sort();
  assert.deepEqual(messages, [...Array.from({ length: 10 }, (_, i) => `a${i}`), ...Array.from({ length: 10 }, (_, i) => `b${i}`)].sort());
});
