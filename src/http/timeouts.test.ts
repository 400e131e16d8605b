/**
 * A client that stops sending is dropped: stalled headers (headers timeout), a
 * body that stops arriving (body timeout) and a body trickling in past the
 * request timeout. Real sockets against the listening server; the test timeouts
 * only guard against a hang.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { buildTestRuntime, type TestRuntime } from '../../test/support/app.ts';

/** Opens a socket, sends `head`, optionally trickles bytes; resolves with what the server sent once it closes the connection. */
function heldOpen(port: number, head: string, trickle?: { everyMs: number }): Promise<{ received: string }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    let timer: NodeJS.Timeout | undefined;
    socket.on('connect', () => {
      socket.write(head);
      if (trickle) timer = setInterval(() => socket.writable && socket.write('a'), trickle.everyMs);
    });
    socket.on('data', (d) => (received += String(d)));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearInterval(timer);
      resolve({ received });
    });
  });
}

describe('HTTP timeouts', () => {
  let rt: TestRuntime;
  let port: number;
  before(async () => {
    rt = await buildTestRuntime('pglite', { headersTimeoutMs: 1000, bodyTimeoutMs: 1000, requestTimeoutMs: 3000 });
    await rt.app.listen({ port: 0, host: '127.0.0.1' });
    port = (rt.app.server.address() as AddressInfo).port;
  });
  after(async () => {
    await rt.destroy();
  });

  const loginHead = 'POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n';

  test('headers complete, Content-Length 1000, no body: the server answers 408 and closes the connection', { timeout: 60_000 }, async () => {
    const { received } = await heldOpen(port, loginHead);
    assert.match(received, /^HTTP\/1\.1 408 /, received);
    assert.match(received, /"code":"REQUEST_TIMEOUT"/);
  });

  test('many held-open login requests are all closed', { timeout: 60_000 }, async () => {
    const all = await Promise.all(Array.from({ length: 50 }, () => heldOpen(port, loginHead)));
    assert.equal(all.length, 50);
    for (const r of all) assert.match(r.received, /^HTTP\/1\.1 408 /);
  });

  test('headers that never end: the connection is closed', { timeout: 60_000 }, async () => {
    const { received } = await heldOpen(port, 'GET /health HTTP/1.1\r\nHost: x\r\n');
    assert.match(received, /^HTTP\/1\.1 408 /, received);
  });

  test('a body trickling in slower than the request timeout allows: the connection is closed', { timeout: 60_000 }, async () => {
    // One byte every 200 ms keeps the body timeout (1 s) from firing; the 3 s request timeout ends it.
    const { received } = await heldOpen(port, loginHead, { everyMs: 200 });
    assert.match(received, /^HTTP\/1\.1 408 /, received);
  });

  test('an ordinary request on a kept-alive connection is not affected after its body arrived', { timeout: 60_000 }, async () => {
    const res = await fetch(`http://127.0.0.1:${port}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: 'wrong-password-xyz' }) });
    assert.equal(res.status, 401);
  });
});
