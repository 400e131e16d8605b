/**
 * The request-body budget: the reservation rules, first come first served, a body
 * larger than the budget runs alone, and over real HTTP a request that finds no room
 * within the queue time gets 503 BUSY with Retry-After and is never processed — and
 * gets in once the body holding the budget has been answered.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { BodyBudget, bodyReservation } from './body-budget.ts';
import { buildTestRuntime, type TestRuntime } from '../../test/support/app.ts';
import { createApiKey } from '../../test/support/auth.ts';

const MiB = 1024 * 1024;

describe('BodyBudget', () => {
  test('a reservation is Content-Length, 8× it when compressed, the body limit without a length, never above the limit', () => {
    const limit = 10 * MiB;
    assert.equal(bodyReservation({ 'content-length': '1000' }, limit), 1000);
    assert.equal(bodyReservation({ 'content-length': '1000', 'content-encoding': 'gzip' }, limit), 8000);
    assert.equal(bodyReservation({ 'content-length': '1000', 'content-encoding': 'identity' }, limit), 1000);
    assert.equal(bodyReservation({ 'content-length': String(4 * MiB), 'content-encoding': 'gzip' }, limit), limit);
    assert.equal(bodyReservation({ 'transfer-encoding': 'chunked' }, limit), limit);
    assert.equal(bodyReservation({}, limit), 0);
    assert.equal(bodyReservation({ 'content-length': '0' }, limit), 0);
  });

  test('requests beyond the budget wait in arrival order and enter as room is returned', async () => {
    const b = new BodyBudget(100, 5_000);
    const r1 = await b.acquire(60);
    assert.ok(r1);
    const order: string[] = [];
    const p2 = b.acquire(50).then((r) => (order.push('second'), r));
    // Small enough to fit beside the first, but it arrived after one that waits: it waits too.
    const p3 = b.acquire(30).then((r) => (order.push('third'), r));
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(order, []);
    assert.deepEqual(b.stats(), { usedBytes: 60, requests: 1, waiting: 2 });
    r1();
    r1(); // a second release changes nothing
    const [r2, r3] = await Promise.all([p2, p3]);
    assert.deepEqual(order, ['second', 'third']);
    assert.deepEqual(b.stats(), { usedBytes: 80, requests: 2, waiting: 0 });
    r2!();
    r3!();
    assert.deepEqual(b.stats(), { usedBytes: 0, requests: 0, waiting: 0 });
  });

  test('a body larger than the whole budget runs alone; a waiter that times out gets null and lets the next in', async () => {
    const b = new BodyBudget(100, 50);
    const big = await b.acquire(500);
    assert.ok(big, 'nothing else in flight: the oversized body runs');
    assert.equal(await b.acquire(1), null, 'while it runs, nothing fits');
    big();
    const small = await b.acquire(40);
    assert.ok(small);
    // The head of the queue (90) does not fit beside 40 and times out; the one behind it (50) fits and enters.
    const head = b.acquire(90);
    const next = b.acquire(50);
    assert.equal(await head, null);
    const n = await next;
    assert.ok(n);
    assert.deepEqual(b.stats(), { usedBytes: 90, requests: 2, waiting: 0 });
  });
});

/** Sends `head` and the first `part` bytes of a body, keeps the socket open; `finish` sends the rest. */
function partialRequest(port: number, head: string, body: string, part: number): { answer: Promise<string>; finish: () => void } {
  const socket = connect(port, '127.0.0.1');
  let received = '';
  socket.on('connect', () => socket.write(head + body.slice(0, part)));
  socket.on('data', (d) => (received += String(d)));
  socket.on('error', () => {});
  const answer = new Promise<string>((resolve) => {
    socket.on('data', () => {
      if (/\r\n\r\n[\s\S]*\}$/.test(received)) resolve(received);
    });
    socket.on('close', () => resolve(received));
  });
  return { answer, finish: () => socket.write(body.slice(part)) };
}

describe('request-body budget over HTTP', () => {
  let rt: TestRuntime;
  let port: number;
  let key: string;
  before(async () => {
    rt = await buildTestRuntime('pglite', { bodyBudgetBytes: MiB, bodyQueueMs: 300 });
    await rt.app.listen({ port: 0, host: '127.0.0.1' });
    port = (rt.app.server.address() as AddressInfo).port;
    key = await createApiKey(rt, ['ingest']);
  });
  after(async () => {
    await rt.destroy();
  });

  const ingestHead = (length: number) =>
    `POST /api/v1/metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\nConnection: close\r\n\r\n`;

  test('a body that finds no room gets 503 BUSY with Retry-After; after the holder is answered the next one is processed', { timeout: 60_000 }, async () => {
    // 700 KiB of an (invalid) batch: it holds 700 KiB of the 1 MiB budget while its body arrives.
    const holderBody = JSON.stringify({ type: 'system', data: 'x'.repeat(700 * 1024) });
    const holder = partialRequest(port, ingestHead(Buffer.byteLength(holderBody)), holderBody, 1000);
    await new Promise((r) => setTimeout(r, 100));

    // A valid batch of 4,000 rows (~400 KiB): more than the 324 KiB left.
    const t0 = Date.parse('2026-11-01T00:00:00Z');
    const rows = Array.from({ length: 4000 }, (_, i) => ({ nodeId: 'budget-node', timestamp: new Date(t0 + i * 15_000).toISOString(), cpuPercent: i % 100, ramUsedBytes: 1_000_000 + i }));
    const other = JSON.stringify({ type: 'system', data: rows });
    assert.ok(Buffer.byteLength(other) > 330 * 1024, `batch of ${Buffer.byteLength(other)} bytes`);
    const post = () =>
      fetch(`http://127.0.0.1:${port}/api/v1/metrics`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: other });
    const stored = async () => (await rt.db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM metrics_system WHERE node_id = 'budget-node'`))?.n;
    const refused = await post();
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get('retry-after'), '1');
    assert.match(String(refused.headers.get('content-type')), /^application\/problem\+json/);
    assert.equal(((await refused.json()) as { code: string }).code, 'BUSY');
    assert.equal(await stored(), 0, 'a refused batch stores nothing');

    holder.finish();
    const held = await holder.answer;
    assert.match(held, /^HTTP\/1\.1 400 /, 'the holder itself is processed (and refused as invalid), not turned away');

    const admitted = await post();
    assert.equal(admitted.status, 200, await admitted.text());
    assert.equal(await stored(), 4000);
  });

  test('a client without a credential never takes part in the budget', { timeout: 60_000 }, async () => {
    const body = JSON.stringify({ username: 'admin', password: 'p'.repeat(900 * 1024) });
    const slow = partialRequest(port, `POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`, body, 100);
    await new Promise((r) => setTimeout(r, 100));
    const res = await fetch(`http://127.0.0.1:${port}/api/v1/metrics`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'system', data: Array.from({ length: 9000 }, (_, i) => ({ nodeId: 'budget-node-2', timestamp: new Date(Date.parse('2026-11-01T00:00:00Z') + i * 15_000).toISOString(), cpuPercent: 2, ramUsedBytes: 1_000_000 + i })) }),
    });
    assert.equal(res.status, 200, 'the slow unauthenticated body holds no budget');
    slow.finish();
    await slow.answer;
  });
});
