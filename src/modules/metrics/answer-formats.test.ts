import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { enabledBackends, forEachBackend } from '../../../test/support/backends.ts';
import pino from 'pino';
import { buildTestRuntime, TEST_ADMIN_PASSWORD, type TestRuntime } from '../../../test/support/app.ts';
import { openDatabase } from '../../../test/support/backends.ts';
import { loadConfig } from '../../config.ts';
import { createRuntime, type Runtime } from '../../runtime.ts';
import { createApiKey } from '../../../test/support/auth.ts';

const FIVE_MIN = 300_000;

interface Sample {
  nodeId: string;
  timestamp: string;
  cpuPercent: number;
  ramUsedBytes: number;
  nodeRole?: string;
}

/** `n` rows of one node, one per `stepMs` from `base`: cpuPercent i % 100, ramUsedBytes 1000·i. */
const samples = (nodeId: string, n: number, base: number, stepMs: number, role?: string): Sample[] =>
  Array.from({ length: n }, (_, i) => ({
    nodeId,
    timestamp: new Date(base + i * stepMs).toISOString(),
    cpuPercent: i % 100,
    ramUsedBytes: 1000 * i,
    ...(role === undefined ? {} : { nodeRole: role }),
  }));

interface ColumnsAnswer {
  series: { identity: Record<string, string>; time: number[]; fields: Record<string, unknown[]>; samples?: number[] }[];
  truncated: boolean;
  next?: string;
  resolution: string;
}

forEachBackend('metrics answer formats', (kind) => {
  let rt: TestRuntime;
  let key: string;
  // an aligned base two hours back, so the rows fill whole 5-minute buckets
  const base = Math.floor((Date.now() - 2 * 3_600_000) / FIVE_MIN) * FIVE_MIN;
  const a = samples('fmt-a', 40, base, 15_000, 'mx');
  const b = samples('fmt-b', 30, base + 1000, 10_000, 'db');
  const from = new Date(base).toISOString();
  const to = new Date(base + 2 * FIVE_MIN).toISOString();

  before(async () => {
    rt = await buildTestRuntime(kind);
    key = `Bearer ${await createApiKey(rt, ['ingest', 'read'])}`;
    for (const data of [a, b]) {
      const r = await rt.app.inject({ method: 'POST', url: '/api/v1/metrics', headers: { authorization: key }, payload: { type: 'system', data } });
      assert.equal(r.statusCode, 200, r.body);
    }
  });
  after(async () => {
    await rt.destroy();
  });

  const get = (qs: string) => rt.app.inject({ method: 'GET', url: `/api/v1/metrics/system?${qs}`, headers: { authorization: key } });

  test('a client that accepts gzip gets the same answer gzip-compressed as it streams; one that does not (or refuses it with q=0) gets it plain', async () => {
    const url = `/api/v1/metrics/system?nodeId=fmt-a,fmt-b&from=${from}&to=${to}&resolution=raw&fields=cpuPercent&format=columns`;
    const plain = await rt.app.inject({ method: 'GET', url, headers: { authorization: key } });
    const zipped = await rt.app.inject({ method: 'GET', url, headers: { authorization: key, 'accept-encoding': 'br;q=1, gzip;q=0.8' } });
    const refused = await rt.app.inject({ method: 'GET', url, headers: { authorization: key, 'accept-encoding': 'gzip;q=0, deflate' } });
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(zipped.headers['content-encoding'], 'gzip');
    assert.equal(zipped.headers.vary, 'accept-encoding');
    assert.equal(refused.headers['content-encoding'], undefined);
    // 70 rows of two nodes, written out by hand above: the same JSON either way
    const unzipped = gunzipSync(zipped.rawPayload).toString('utf8');
    assert.equal(unzipped, plain.body);
    assert.deepEqual((JSON.parse(unzipped) as ColumnsAnswer).series.map((x) => x.time.length), [40, 30]);
    assert.equal(refused.body, plain.body);
  });

  test('format=columns carries the numbers of the row form: times once per series, one array per field', async () => {
    const qs = `nodeId=fmt-a,fmt-b&from=${from}&to=${to}&resolution=raw&fields=cpuPercent,ramUsedBytes,nodeRole`;
    const rows = await get(qs);
    const cols = await get(`${qs}&format=columns`);
    assert.equal(rows.statusCode, 200, rows.body);
    assert.equal(cols.statusCode, 200, cols.body);
    const expected = [a, b].map((s) => ({
      identity: { nodeId: s[0]!.nodeId },
      time: s.map((x) => Date.parse(x.timestamp)),
      fields: { nodeRole: s.map((x) => x.nodeRole), cpuPercent: s.map((x) => x.cpuPercent), ramUsedBytes: s.map((x) => x.ramUsedBytes) },
    }));
    const c = cols.json() as ColumnsAnswer;
    assert.equal(c.resolution, 'raw');
    assert.equal(c.truncated, false);
    assert.equal(c.next, undefined);
    assert.deepEqual(c.series, expected);
    assert.deepEqual(
      rows.json().points,
      [...a, ...b].map((x) => ({ timestamp: x.timestamp, nodeId: x.nodeId, nodeRole: x.nodeRole, cpuPercent: x.cpuPercent, ramUsedBytes: x.ramUsedBytes })),
    );
    assert.equal(rows.json().truncated, false);
  });

  test('format=columns on a rollup: bucket times, field values and samples per bucket', async () => {
    // fmt-a: cpuPercent 0..19 in the first bucket, 20..39 in the second
    const r = await get(`nodeId=fmt-a&from=${from}&to=${to}&resolution=5m&fields=cpuPercent&format=columns`);
    assert.equal(r.statusCode, 200, r.body);
    const c = r.json() as ColumnsAnswer;
    assert.equal(c.resolution, '5m');
    assert.deepEqual(c.series, [{ identity: { nodeId: 'fmt-a' }, time: [base, base + FIVE_MIN], fields: { cpuPercent: [9.5, 29.5] }, samples: [20, 20] }]);
    const rows = await get(`nodeId=fmt-a&from=${from}&to=${to}&resolution=5m&fields=cpuPercent`);
    assert.deepEqual(rows.json().points, [
      { timestamp: new Date(base).toISOString(), nodeId: 'fmt-a', cpuPercent: 9.5, samples: 20 },
      { timestamp: new Date(base + FIVE_MIN).toISOString(), nodeId: 'fmt-a', cpuPercent: 29.5, samples: 20 },
    ]);
  });

  test('an unknown format is a 400 naming the parameter', async () => {
    const r = await get(`from=${from}&to=${to}&format=csv`);
    assert.equal(r.statusCode, 400);
    assert.equal(r.json().code, 'VALIDATION_FAILED');
    assert.ok(r.json().errors.some((e: { path: string }) => e.path.startsWith('querystring.format')), r.body);
  });

  test('a streamed answer of several cursor batches and chunks is complete JSON with every row, in both forms', async () => {
    // 4500 rows with every field: more than two cursor batches (2000 rows) and far more than one 64 KiB chunk of text
    const t0 = base + 3 * FIVE_MIN;
    const big = samples('fmt-big', 4500, t0, 1000);
    for (let i = 0; i < big.length; i += 1500) await rt.store.ingest('system', big.slice(i, i + 1500));
    await rt.app.listen({ port: 0, host: '127.0.0.1' });
    const port = (rt.app.server.address() as AddressInfo).port;
    const qs = `nodeId=fmt-big&from=${new Date(t0).toISOString()}&to=${new Date(t0 + 4500_000).toISOString()}&resolution=raw`;
    for (const format of ['rows', 'columns']) {
      const res = await fetch(`http://127.0.0.1:${port}/api/v1/metrics/system?${qs}&format=${format}`, { headers: { authorization: key } });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('transfer-encoding'), 'chunked', 'written as it is read, without a Content-Length');
      assert.equal(res.headers.get('content-length'), null);
      assert.match(String(res.headers.get('content-type')), /^application\/json/);
      const text = await res.text();
      assert.ok(text.length > 4 * 64 * 1024, `${format}: ${text.length} characters`);
      const body = JSON.parse(text) as { points?: Record<string, unknown>[] } & Partial<ColumnsAnswer>;
      assert.equal(body.truncated, false);
      if (format === 'rows') {
        assert.equal(body.points!.length, 4500);
        assert.deepEqual(
          body.points!.map((p) => [p.timestamp, p.cpuPercent, p.ramUsedBytes, p.load1m]),
          big.map((x) => [x.timestamp, x.cpuPercent, x.ramUsedBytes, null]),
        );
      } else {
        assert.equal(body.series!.length, 1);
        const s = body.series![0]!;
        assert.deepEqual(s.identity, { nodeId: 'fmt-big' });
        assert.deepEqual(s.time, big.map((x) => Date.parse(x.timestamp)));
        assert.deepEqual(s.fields.cpuPercent, big.map((x) => x.cpuPercent));
        assert.deepEqual(s.fields.ramUsedBytes, big.map((x) => x.ramUsedBytes));
        assert.deepEqual(s.fields.load1m, big.map(() => null));
      }
    }
  });
});

forEachBackend('metrics answer paging in both formats', (kind) => {
  let rt: TestRuntime;
  let key: string;
  const t0 = Math.floor((Date.now() - 3_600_000) / 1000) * 1000;
  // pg-a: 150 rows 1 ms apart, except that rows 98..102 share the millisecond t0+98 (200 µs apart);
  // pg-b: 100 rows 1 ms apart
  const micro = (ms: number, us: number) => `${new Date(ms).toISOString().slice(0, 23)}${String(us).padStart(3, '0')}Z`;
  const pa = Array.from({ length: 150 }, (_, i) => {
    const ms = i >= 98 && i <= 102 ? t0 + 98 : t0 + i;
    return { nodeId: 'pg-a', timestamp: micro(ms, i >= 98 && i <= 102 ? (i - 98) * 200 : 0), ms, cpuPercent: i % 100, ramUsedBytes: 1000 * i };
  });
  const pb = Array.from({ length: 100 }, (_, i) => ({ nodeId: 'pg-b', timestamp: micro(t0 + i, 0), ms: t0 + i, cpuPercent: i, ramUsedBytes: 7 * i }));

  before(async () => {
    rt = await buildTestRuntime(kind, { queryMaxPoints: 100 });
    key = `Bearer ${await createApiKey(rt, ['ingest', 'read'])}`;
    for (const rows of [pa, pb]) {
      const data = rows.map(({ ms: _ms, ...r }) => r);
      const r = await rt.app.inject({ method: 'POST', url: '/api/v1/metrics', headers: { authorization: key }, payload: { type: 'system', data } });
      assert.equal(r.statusCode, 200, r.body);
    }
  });
  after(async () => {
    await rt.destroy();
  });

  test('`next` pages the same rows in both forms; a series split by a page continues in the next one', async () => {
    const url = `/api/v1/metrics/system?nodeId=pg-a,pg-b&from=${new Date(t0).toISOString()}&to=${new Date(t0 + 1000).toISOString()}&fields=cpuPercent,ramUsedBytes&resolution=raw`;
    const page = async (format: string, cursor: string | undefined) => {
      const r = await rt.app.inject({ method: 'GET', url: `${url}&format=${format}${cursor ? `&cursor=${cursor}` : ''}`, headers: { authorization: key } });
      assert.equal(r.statusCode, 200, r.body);
      return r.json();
    };
    // rows form
    const rowPages: { timestamp: string; nodeId: string; cpuPercent: number; ramUsedBytes: number }[][] = [];
    const rowNexts: (string | undefined)[] = [];
    let cursor: string | undefined;
    do {
      const p = await page('rows', cursor);
      assert.equal(p.truncated, p.next !== undefined);
      rowPages.push(p.points);
      rowNexts.push(p.next);
      cursor = p.next;
    } while (cursor && rowPages.length < 10);
    // 100 rows a page; the first page stops before the three rows of pg-a in the millisecond of its 101st row
    assert.deepEqual(rowPages.map((p) => p.length), [98, 100, 52]);
    const all = [...pa, ...pb];
    assert.deepEqual(
      rowPages.flat(),
      all.map((x) => ({ timestamp: new Date(x.ms).toISOString(), nodeId: x.nodeId, cpuPercent: x.cpuPercent, ramUsedBytes: x.ramUsedBytes })),
    );
    // columns form: the same pages, the same cursors
    const colPages: ColumnsAnswer[] = [];
    cursor = undefined;
    do {
      const p = (await page('columns', cursor)) as ColumnsAnswer;
      colPages.push(p);
      cursor = p.next;
    } while (cursor && colPages.length < 10);
    assert.deepEqual(colPages.map((p) => p.next), rowNexts);
    assert.deepEqual(
      colPages.map((p) => p.series.map((s) => [s.identity.nodeId, s.time.length])),
      [[['pg-a', 98]], [['pg-a', 52], ['pg-b', 48]], [['pg-b', 52]]],
    );
    // the series joined across pages are the ingested rows
    const joined = new Map<string, { time: number[]; cpu: unknown[]; ram: unknown[] }>();
    for (const p of colPages) {
      for (const s of p.series) {
        const j = joined.get(s.identity.nodeId!) ?? { time: [], cpu: [], ram: [] };
        j.time.push(...s.time);
        j.cpu.push(...s.fields.cpuPercent!);
        j.ram.push(...s.fields.ramUsedBytes!);
        joined.set(s.identity.nodeId!, j);
      }
    }
    for (const rows of [pa, pb]) {
      assert.deepEqual(joined.get(rows[0]!.nodeId), { time: rows.map((x) => x.ms), cpu: rows.map((x) => x.cpuPercent), ram: rows.map((x) => x.ramUsedBytes) });
    }
    // a cursor of one form continues the other
    const mixed = (await page('columns', rowNexts[0])) as ColumnsAnswer;
    assert.deepEqual(mixed.series.map((s) => s.time.length), [52, 48]);
  });
});

const POSTGRES = enabledBackends().includes('postgres');

describe('a client that goes away mid-answer stops the query [postgres]', { skip: !POSTGRES && 'needs the postgres backend: pg_stat_activity of a PostgreSQL server' }, () => {
  let rt: TestRuntime;
  let key: string;
  const t0 = Math.floor((Date.now() - 10 * 3_600_000) / 1000) * 1000;

  before(async () => {
    rt = await buildTestRuntime('postgres');
    key = `Bearer ${await createApiKey(rt, ['read'])}`;
    // 25,000 rows with every field: the answer is cut at the cell budget (20,000 rows, ~10 MB of JSON),
    // more than the socket buffers take in, so the server waits for a client that stops reading
    const rows = samples('dc-1', 25_000, t0, 1000);
    for (let i = 0; i < rows.length; i += 5000) await rt.store.ingest('system', rows.slice(i, i + 5000));
    await rt.app.listen({ port: 0, host: '127.0.0.1' });
  });
  after(async () => {
    await rt.destroy();
  });

  /** Backends of this database running the range query (a suspended portal stays `active`). */
  const running = async () =>
    (
      await rt.db.queryOne<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'active' AND query LIKE 'SELECT time AS t,%FROM metrics_system%'`,
      )
    )?.n;

  const until = async (what: string, ok: () => Promise<boolean>, ms: number) => {
    const deadline = Date.now() + ms;
    while (!(await ok())) {
      if (Date.now() > deadline) assert.fail(`${what} within ${ms} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  for (const encoding of ['identity', 'gzip'] as const) test(`closing the socket after the first bytes ends the statement on the server (${encoding})`, async () => {
    const port = (rt.app.server.address() as AddressInfo).port;
    const path = `/api/v1/metrics/system?nodeId=dc-1&from=${new Date(t0).toISOString()}&to=${new Date(t0 + 25_000_000).toISOString()}&resolution=raw`;
    const req = request({ host: '127.0.0.1', port, path, headers: { authorization: key, 'accept-encoding': encoding } });
    const firstBytes = new Promise<void>((resolve, reject) => {
      req.on('response', (res) => {
        assert.equal(res.statusCode, 200);
        assert.equal(res.headers['content-encoding'], encoding === 'gzip' ? 'gzip' : undefined);
        res.once('data', () => {
          res.pause();
          resolve();
        });
      });
      req.on('error', reject);
    });
    req.end();
    await firstBytes;
    // the answer is under way and the client no longer reads: the statement is still open on the server
    await until('the range query shows in pg_stat_activity', async () => (await running()) === 1, 20_000);
    req.destroy();
    await until('the range query is gone from pg_stat_activity after the disconnect', async () => (await running()) === 0, 20_000);
    // the connection went back to the pool: the next answer is complete
    const again = await rt.app.inject({ method: 'GET', url: `${path}&fields=cpuPercent`, headers: { authorization: key } });
    assert.equal(again.statusCode, 200);
    assert.equal(again.json().points.length, 25_000);
  });
});

describe('an error after the first bytes ends the answer early [postgres]', { skip: !POSTGRES && 'needs the postgres backend: a server-side statement timeout' }, () => {
  let rt: Runtime;
  let close: () => Promise<void>;
  let key: string;
  const t0 = Math.floor((Date.now() - 10 * 3_600_000) / 1000) * 1000;

  before(async () => {
    // a statement timeout of 1 s, which counts while a suspended cursor waits for the client
    const t = await openDatabase('postgres', { statementTimeoutMs: 1000 });
    const config = loadConfig({}, { logLevel: 'silent', selfMonitor: false, jobs: false, adminPassword: TEST_ADMIN_PASSWORD, jwtSecret: 'test-jwt-secret-0123456789abcdef0123456789' });
    rt = await createRuntime(config, { db: t.db, logger: pino({ level: 'silent' }) });
    await rt.auth.seed();
    await rt.app.ready();
    close = async () => {
      await rt.close();
      await t.close();
    };
    key = `Bearer ${await createApiKey(rt, ['ingest', 'read'])}`;
    const rows = samples('err-1', 25_000, t0, 1000);
    for (let i = 0; i < rows.length; i += 5000) await rt.store.ingest('system', rows.slice(i, i + 5000));
    await rt.app.listen({ port: 0, host: '127.0.0.1' });
  });
  after(async () => {
    await close();
  });

  test('a client that stalls past the statement timeout gets a chunked body cut short: not complete JSON, not a silent end', async () => {
    const port = (rt.app.server.address() as AddressInfo).port;
    const path = `/api/v1/metrics/system?nodeId=err-1&from=${new Date(t0).toISOString()}&to=${new Date(t0 + 25_000_000).toISOString()}&resolution=raw`;
    const outcome = await new Promise<{ status: number | undefined; complete: boolean; text: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, headers: { authorization: key } });
      req.on('error', reject);
      req.on('response', (res) => {
        const parts: Buffer[] = [];
        res.once('data', (c: Buffer) => {
          parts.push(c);
          // stop reading for three times the statement timeout, then read on
          res.pause();
          setTimeout(() => {
            res.on('data', (d: Buffer) => parts.push(d));
            res.resume();
          }, 3000);
        });
        const done = () => resolve({ status: res.statusCode, complete: res.complete, text: Buffer.concat(parts).toString('utf8') });
        res.on('end', done);
        res.on('error', done);
        res.on('close', done);
      });
      req.end();
    });
    assert.equal(outcome.status, 200);
    assert.equal(outcome.complete, false, 'the chunked response ends without its last chunk');
    assert.ok(outcome.text.startsWith('{"family":"system"'), outcome.text.slice(0, 100));
    assert.throws(() => JSON.parse(outcome.text), SyntaxError);
    // the server is fine and answers the next query
    const again = await rt.app.inject({ method: 'GET', url: `${path}&fields=cpuPercent`, headers: { authorization: key } });
    assert.equal(again.statusCode, 200);
    assert.equal(again.json().points.length, 25_000);
  });
});
