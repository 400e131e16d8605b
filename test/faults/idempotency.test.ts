/**
 * Fault suite item 7: retries never store a row twice.
 *  - the same batch posted twice → the second answers inserted 0 / duplicates N
 *    (small batches go through group commit, large ones straight to a transaction);
 *  - the same batch posted several times at once (one commit group) → stored once;
 *  - the connection is cut after the request was sent, so the client never sees
 *    the answer to a batch that was committed; the retry stores nothing twice;
 *  - all or nothing: one bad row refuses the whole batch.
 * Real HTTP on a loopback port, so the connection can really be cut.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { gzipSync } from 'node:zlib';
import type { Runtime } from '../../src/runtime.ts';
import { createTestDatabase } from '../support/backends.ts';
import { createApiKey } from '../support/auth.ts';
import { assertProblem, BASE_TIME, httpRequest, ingestBody, skipUnlessServer, sleep, startRuntime, storedRows, systemRows } from './support.ts';

describe('fault: retried and duplicated batches', { skip: skipUnlessServer }, () => {
  let rt: Runtime;
  let url: string;
  let drop: () => Promise<void>;
  let base: string;
  let port: number;
  let key: string;

  before(async () => {
    const t = await createTestDatabase();
    url = t.url;
    drop = t.drop;
    rt = await startRuntime(url);
    base = await rt.app.listen({ port: 0, host: '127.0.0.1' });
    port = (rt.app.server.address() as net.AddressInfo).port;
    key = `Bearer ${await createApiKey(rt, ['ingest', 'read'])}`;
  });
  after(async () => {
    await rt?.close();
    await drop?.();
  });

  const post = async (body: string | Buffer, headers: Record<string, string> = {}) => {
    const res = await httpRequest(base, { method: 'POST', path: '/api/v1/metrics', headers: { authorization: key, 'content-type': 'application/json', ...headers }, body });
    return { status: res.statusCode, body: res.body, json: () => JSON.parse(res.body) as { inserted: number; duplicates: number; received: number } };
  };
  const rowsOf = async (nodeId: string) => (await storedRows(url)).byNode.get(nodeId) ?? 0;

  for (const [label, n] of [
    ['small batch (group commit)', 100],
    ['large batch (own transaction)', 2000],
  ] as const) {
    test(`${label}: the same batch twice → inserted ${n}, then inserted 0 / duplicates ${n}`, async () => {
      const body = ingestBody(`twice-${n}`, n);
      const first = await post(body);
      assert.equal(first.status, 200, first.body);
      assert.deepEqual(first.json(), { family: 'system', received: n, inserted: n, duplicates: 0 });
      const second = await post(body);
      assert.equal(second.status, 200, second.body);
      assert.deepEqual(second.json(), { family: 'system', received: n, inserted: 0, duplicates: n });
      // The same rows gzip-encoded are the same rows.
      const third = await post(gzipSync(body), { 'content-encoding': 'gzip' });
      assert.deepEqual(third.json(), { family: 'system', received: n, inserted: 0, duplicates: n });
      assert.equal(await rowsOf(`twice-${n}`), n);
    });
  }

  test('a batch overlapping a stored one stores only the new rows', async () => {
    await post(ingestBody('overlap', 60));
    // Rows 30..89: 30 already stored, 30 new.
    const res = await post(JSON.stringify({ type: 'system', data: systemRows('overlap', 60, BASE_TIME + 30 * 15_000) }));
    assert.deepEqual(res.json(), { family: 'system', received: 60, inserted: 30, duplicates: 30 });
    assert.equal(await rowsOf('overlap'), 90);
  });

  test('the same batch posted 6 times at once (one commit group) is stored once; the answers add up', async () => {
    const body = ingestBody('concurrent-dup', 50);
    const answers = await Promise.all(Array.from({ length: 6 }, () => post(body)));
    for (const a of answers) assert.equal(a.status, 200, a.body);
    assert.equal(answers.reduce((s, a) => s + a.json().inserted, 0), 50);
    assert.equal(answers.reduce((s, a) => s + a.json().duplicates, 0), 5 * 50);
    assert.equal(await rowsOf('concurrent-dup'), 50);
  });

  /**
   * Sends a whole request on a raw socket and never reads the answer. The
   * connection is cut by `cut()`: right away, or once the test has seen the
   * batch committed — the answer to a committed batch is then lost.
   */
  async function sendUnanswered(body: string): Promise<{ cut(): void }> {
    const sock = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('error', reject);
    });
    sock.on('error', () => {});
    sock.pause(); // nothing the server answers is read
    const head = `POST /api/v1/metrics HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: ${key}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
    await new Promise<void>((resolve) => sock.write(head + body, () => resolve()));
    return { cut: () => sock.destroy() };
  }

  async function waitForRows(nodeId: string, n: number, timeoutMs = 15_000): Promise<number> {
    const t0 = Date.now();
    let got = 0;
    while (Date.now() - t0 < timeoutMs) {
      got = await rowsOf(nodeId);
      if (got >= n) return got;
      await sleep(20);
    }
    return got;
  }

  for (const [label, n] of [
    ['small batch', 200],
    ['10,000-row batch', 10_000],
  ] as const) {
    test(`${label}: connection cut after the commit, before the answer was read → the retry answers inserted 0 / duplicates ${n}`, { timeout: 60_000 }, async () => {
      const nodeId = `cut-after-commit-${n}`;
      const body = ingestBody(nodeId, n);
      const conn = await sendUnanswered(body);
      assert.equal(await waitForRows(nodeId, n), n, 'the batch was committed');
      conn.cut();
      const retry = await post(body);
      assert.equal(retry.status, 200, retry.body);
      assert.deepEqual(retry.json(), { family: 'system', received: n, inserted: 0, duplicates: n });
      const stored = await storedRows(url);
      assert.equal(stored.byNode.get(nodeId), n);
      assert.equal(stored.distinct, stored.total, 'no (node, time) twice anywhere');
    });

    test(`${label}: connection cut right after sending, retried at once (the first may or may not commit, may still run) → each row once`, { timeout: 60_000 }, async () => {
      const nodeId = `cut-at-once-${n}`;
      const body = ingestBody(nodeId, n);
      (await sendUnanswered(body)).cut();
      const retry = await post(body);
      assert.equal(retry.status, 200, retry.body);
      const r = retry.json();
      assert.equal(r.inserted + r.duplicates, n);
      assert.equal(await waitForRows(nodeId, n), n);
      await sleep(300); // a late first attempt must not add anything either
      assert.equal(await rowsOf(nodeId), n);
      const again = await post(body);
      assert.deepEqual(again.json(), { family: 'system', received: n, inserted: 0, duplicates: n });
    });
  }

  test('all or nothing: one bad row refuses the batch with its index and field path; nothing is stored', async () => {
    const rows = systemRows('all-or-nothing', 40);
    rows[37] = { ...rows[37], cpuPercent: 250 };
    const res = await httpRequest(base, {
      method: 'POST',
      path: '/api/v1/metrics',
      headers: { authorization: key, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'system', data: rows }),
    });
    const problem = assertProblem(res, 400, 'VALIDATION_FAILED');
    assert.deepEqual((problem.errors as { index: number; path: string }[]).map((e) => [e.index, e.path]), [[37, 'data.37.cpuPercent']]);
    assert.equal(await rowsOf('all-or-nothing'), 0);
  });
});
