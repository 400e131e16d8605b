/**
 * Fault suite item 6: request bodies meant to exhaust the server — a 200 MiB
 * body (streamed, with and without Content-Length), gzip/deflate bombs (1 GiB
 * of zeros in ~1 MiB), 100,000 rows in one batch, JSON nested a million levels
 * deep — get 413 or 400 problem+json (each request's 30 s client timeout only
 * guards against a hang; speed belongs in the bench), store nothing, and the server's
 * memory stays flat: it never holds more than the body limit (10 MiB).
 *
 * The server runs in this process (real HTTP on a loopback port) so its RSS is
 * measurable; the client streams its bodies and builds each payload before the
 * baseline is taken.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createDeflate, createGzip } from 'node:zlib';
import type { Runtime } from '../../src/runtime.ts';
import { createTestDatabase } from '../support/backends.ts';
import { createApiKey, loginAs } from '../support/auth.ts';
import { assertProblem, httpRequest, ingestBody, skipUnlessServer, startRuntime, storedRows, type HttpResult } from './support.ts';

const MiB = 1024 * 1024;
/** Largest RSS growth over the baseline tolerated while a hostile body is handled (the body limit is 10 MiB). */
const RSS_MARGIN = 120 * MiB;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** `total` bytes of `fill`, produced lazily in 64 KiB chunks (never held in memory). */
function lazyBytes(total: number, fill = 0x20, chunk = 64 * 1024): Readable {
  const buf = Buffer.alloc(chunk, fill);
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= total) {
        this.push(null);
        return;
      }
      const n = Math.min(chunk, total - sent);
      sent += n;
      this.push(n === chunk ? buf : buf.subarray(0, n));
    },
  });
}

async function compress(kind: 'gzip' | 'deflate', total: number): Promise<Buffer> {
  const z = kind === 'gzip' ? createGzip({ level: 9 }) : createDeflate({ level: 9 });
  const out: Buffer[] = [];
  z.on('data', (c: Buffer) => out.push(c));
  const done = new Promise<void>((resolve, reject) => {
    z.on('end', resolve);
    z.on('error', reject);
  });
  lazyBytes(total, 0x30, MiB).pipe(z);
  await done;
  return Buffer.concat(out);
}

/** Runs `fn` while sampling this process's RSS; returns its result and the peak RSS seen. */
async function withPeakRss<T>(fn: () => Promise<T>): Promise<{ value: T; peak: number }> {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 5);
  try {
    const value = await fn();
    peak = Math.max(peak, process.memoryUsage().rss);
    return { value, peak };
  } finally {
    clearInterval(timer);
  }
}

describe('fault: hostile request bodies', { skip: skipUnlessServer }, () => {
  let rt: Runtime;
  let url: string;
  let drop: () => Promise<void>;
  let base: string;
  let key: string;
  let admin: string;
  let gzipBomb: Buffer;
  let deflateBomb: Buffer;
  let hundredThousandRows: string;
  let baseline: number;
  const peaks: Record<string, number> = {};

  before(async () => {
    const t = await createTestDatabase();
    url = t.url;
    drop = t.drop;
    rt = await startRuntime(url);
    base = await rt.app.listen({ port: 0, host: '127.0.0.1' });
    key = `Bearer ${await createApiKey(rt, ['ingest', 'read'])}`;
    admin = await loginAs(rt, 'admin');
    // Payloads are built before the baseline so the client's own memory is not counted.
    gzipBomb = await compress('gzip', 1024 * MiB);
    deflateBomb = await compress('deflate', 256 * MiB);
    hundredThousandRows = JSON.stringify({ type: 'system', data: Array.from({ length: 100_000 }, (_, i) => ({ nodeId: 'bulk', cpuPercent: i % 100 })) });
    // Warm up the whole path once, then measure.
    const warm = await httpRequest(base, { method: 'POST', path: '/api/v1/metrics', headers: { authorization: key, 'content-type': 'application/json' }, body: ingestBody('warm-up', 10) });
    assert.equal(warm.statusCode, 200, warm.body);
    gc();
    baseline = process.memoryUsage().rss;
  });
  after(async () => {
    await rt?.close();
    await drop?.();
  });

  const post = (path: string, headers: Record<string, string>, body: string | Buffer | Readable) =>
    httpRequest(base, { method: 'POST', path, headers: { 'content-type': 'application/json', ...headers }, body, timeoutMs: 30_000 });

  async function hostile(name: string, run: () => Promise<HttpResult>, status: number, code: string | RegExp): Promise<HttpResult> {
    gc();
    const { value: res, peak } = await withPeakRss(run);
    peaks[name] = peak - baseline;
    assertProblem(res, status, code);
    assert.ok(peak - baseline < RSS_MARGIN, `${name}: RSS grew by ${Math.round((peak - baseline) / MiB)} MiB`);
    return res;
  }

  test('200 MiB body with Content-Length → 413 before it is read', async () => {
    await hostile(
      '200 MiB content-length',
      () => post('/api/v1/metrics', { authorization: key, 'content-length': String(200 * MiB) }, lazyBytes(200 * MiB)),
      413,
      'PAYLOAD_TOO_LARGE',
    );
  });

  test('200 MiB chunked body → 413 once the limit is passed, and the client gets the answer (not a reset)', async () => {
    // Before the fix the server reset the connection with bytes unread: Node's client saw EPIPE, never the 413.
    await hostile('200 MiB chunked', () => post('/api/v1/metrics', { authorization: key }, lazyBytes(200 * MiB)), 413, 'PAYLOAD_TOO_LARGE');
  });

  test('200 MiB chunked body without credentials → 401 delivered, body not read', async () => {
    await hostile('200 MiB unauthenticated', () => post('/api/v1/metrics', {}, lazyBytes(200 * MiB)), 401, 'UNAUTHENTICATED');
  });

  test('gzip bomb (1 GiB of zeros, ~1 MiB compressed) → 413: decompression stops at the limit', async () => {
    assert.ok(gzipBomb.length < 2 * MiB, `bomb is ${gzipBomb.length} bytes`);
    await hostile('gzip bomb', () => post('/api/v1/metrics', { authorization: key, 'content-encoding': 'gzip' }, gzipBomb), 413, 'PAYLOAD_TOO_LARGE');
  });

  test('deflate bomb (256 MiB of zeros) → 413', async () => {
    await hostile('deflate bomb', () => post('/api/v1/metrics', { authorization: key, 'content-encoding': 'deflate' }, deflateBomb), 413, 'PAYLOAD_TOO_LARGE');
  });

  test('corrupt gzip → 400, unknown content-encoding → 415', async () => {
    await hostile('corrupt gzip', () => post('/api/v1/metrics', { authorization: key, 'content-encoding': 'gzip' }, Buffer.from('definitely not gzip')), 400, 'MALFORMED_REQUEST');
    await hostile('br encoding', () => post('/api/v1/metrics', { authorization: key, 'content-encoding': 'br' }, Buffer.from('{}')), 415, 'UNSUPPORTED_CONTENT_ENCODING');
  });

  test('100,000 rows in one batch → 413 TOO_MANY_ROWS, nothing stored', async () => {
    const res = await hostile('100k rows', () => post('/api/v1/metrics', { authorization: key }, hundredThousandRows), 413, 'TOO_MANY_ROWS');
    assert.equal((JSON.parse(res.body) as { maxRows: number }).maxRows, rt.config.maxBatchRows);
  });

  test('deeply nested JSON → 400 on every route that takes a body, never a 500', async () => {
    const deepArrays = (d: number) => '['.repeat(d) + ']'.repeat(d);
    const deepObjects = (d: number) => '{"a":'.repeat(d) + '1' + '}'.repeat(d);
    const deepProto = (d: number) => '{"a":'.repeat(d) + '{"__proto__":{"polluted":true}}' + '}'.repeat(d);
    for (const depth of [1_000, 100_000, 1_000_000]) {
      for (const [shape, inner] of [
        ['arrays', deepArrays(depth)],
        ['objects', deepObjects(depth)],
        ['__proto__', deepProto(depth)],
      ] as const) {
        await hostile(`metrics ${shape} ${depth}`, () => post('/api/v1/metrics', { authorization: key }, `{"type":"system","data":${inner}}`), 400, /^(JSON_TOO_DEEP|MALFORMED_REQUEST)$/);
        // Saved views take free-form JSON (was a 500: JSON.stringify overflowed its stack at ~10,000 levels).
        await hostile(`saved view ${shape} ${depth}`, () => post('/api/v1/saved-views', { authorization: admin }, `{"name":"deep","config":{"x":${inner}}}`), 400, /^(JSON_TOO_DEEP|MALFORMED_REQUEST)$/);
        await hostile(
          `node labels ${shape} ${depth}`,
          () => httpRequest(base, { method: 'PUT', path: '/api/v1/nodes/deep-node', headers: { authorization: admin, 'content-type': 'application/json' }, body: `{"labels":${inner}}` }),
          400,
          /^(JSON_TOO_DEEP|MALFORMED_REQUEST)$/,
        );
      }
    }
    assert.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype pollution');
    // Reasonable nesting is still accepted.
    const ok = await post('/api/v1/saved-views', { authorization: admin }, JSON.stringify({ name: 'nested but fine', config: JSON.parse('{"a":'.repeat(100) + '1' + '}'.repeat(100)) as object }));
    assert.equal(ok.statusCode, 201, ok.body);
  });

  test('afterwards: nothing of the hostile bodies was stored, the server still serves, and its memory is back near the baseline', async () => {
    const stored = await storedRows(url);
    assert.deepEqual([...stored.byNode.keys()], ['warm-up']);
    const res = await post('/api/v1/metrics', { authorization: key }, ingestBody('after-hostile', 50));
    assert.equal(res.statusCode, 200, res.body);
    gc();
    const growth = process.memoryUsage().rss - baseline;
    assert.ok(growth < RSS_MARGIN, `RSS after all hostile bodies: +${Math.round(growth / MiB)} MiB`);
    const worst = Object.entries(peaks).sort((a, b) => b[1] - a[1])[0];
    assert.ok(worst && worst[1] < RSS_MARGIN, `largest peak: ${worst?.[0]} +${Math.round((worst?.[1] ?? 0) / MiB)} MiB`);
  });
});
