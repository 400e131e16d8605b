import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { forEachBackend } from '../../../test/support/backends.ts';
import { buildTestRuntime, type TestRuntime } from '../../../test/support/app.ts';
import { createApiKey, loginAs } from '../../../test/support/auth.ts';
import { scanIngestBody } from './scan-body.ts';

const PROBLEM = /^application\/problem\+json/;

forEachBackend('metrics API', (kind) => {
  let rt: TestRuntime;
  let ingestKey: string;
  let readKey: string;
  let viewer: string;
  before(async () => {
    rt = await buildTestRuntime(kind, { maxBatchRows: 500 });
    ingestKey = `Bearer ${await createApiKey(rt, ['ingest'])}`;
    readKey = `Bearer ${await createApiKey(rt, ['read'])}`;
    viewer = await loginAs(rt, 'viewer');
  });
  after(async () => {
    await rt.destroy();
  });

  const rows = (node: string, n: number, base = Date.now() - 60 * 60_000) =>
    Array.from({ length: n }, (_, i) => ({ nodeId: node, timestamp: new Date(base + i * 15_000).toISOString(), cpuPercent: i % 100, ramUsedBytes: 1000 * i }));
  const count = async (node: string) => (await rt.db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM metrics_system WHERE node_id = $1`, [node]))?.n;

  test('POST stores a batch, says how many rows; a retry stores nothing twice', async () => {
    const body = { type: 'system', data: rows('api-1', 40) };
    const r1 = await rt.app.inject({ method: 'POST', url: '/api/v1/metrics', headers: { authorization: ingestKey }, payload: body });
    assert.equal(r1.statusCode, 200, r1.body);
    assert.deepEqual(r1.json(), { family: 'system', received: 40, inserted: 40, duplicates: 0 });
    const r2 = await rt.app.inject({ method: 'POST', url: '/api/v1/metrics', headers: { authorization: ingestKey }, payload: body });
    assert.deepEqual(r2.json(), { family: 'system', received: 40, inserted: 0, duplicates: 40 });
    assert.equal(await count('api-1'), 40);
  });

  test('numbers as clients write them store the same values whether the body is read in one pass or parsed', async () => {
    const at = new Date(Date.now() - 10 * 60_000).toISOString();
    // 12.50, an exponent, a negative zero, a whole number with a fraction in an integer column, 17 significant digits
    const row = (node: string) =>
      `{"timestamp":"${at}","nodeId":"${node}","cpuPercent":12.50,"load1m":1e1,"cpuIowaitPercent":-0,"tcpEstablished":7.0,"ramUsedBytes":12345678901234,"nodeRole":"host","diskPercent":0.30000000000000004,"load5m":1.2345678901234567}`;
    const fast = `{"type":"system","data":[${row('scan-fast')}]}`;
    const parsed = `{"data":[${row('scan-parsed')}],"type":"system"}`; // another key order: the general parser
    assert.notEqual(scanIngestBody(rt.store, Buffer.from(fast), 500), null, 'read in one pass');
    assert.equal(scanIngestBody(rt.store, Buffer.from(parsed), 500), null, 'left to JSON.parse');
    for (const other of [
      `{"type":"system","data":[${row('x')}],"more":1}`, // a key after data
      `{"type":"system","data":[${row('x')}]} x`, // text after the body (invalid JSON: 400 from the parser)
      `{"type":"sys\\u0074em","data":[${row('x')}]}`, // an escape in the type
      `{"type":"system","data":${row('x')}}`, // one row object
      `{"type":"nosuchfamily","data":[${row('x')}]}`, // 404 from the general path
    ]) {
      assert.equal(scanIngestBody(rt.store, Buffer.from(other), 500), null, other);
    }
    for (const payload of [fast, parsed]) {
      const r = await rt.app.inject({ method: 'POST', url: '/api/v1/metrics', headers: { authorization: ingestKey, 'content-type': 'application/json' }, payload });
      assert.deepEqual(r.json(), { family: 'system', received: 1, inserted: 1, duplicates: 0 });
    }
    const stored = await rt.db.queryMany<Record<string, string>>(
      `SELECT node_id, cpu_percent::text AS cpu, load_1m::text AS load, cpu_iowait_percent::text AS iowait, tcp_established::text AS tcp,
              ram_used_bytes::text AS ram, disk_percent = 0.30000000000000004::float8 AS disk, load_5m = 1.2345678901234567::float8 AS load5, node_role AS role
         FROM metrics_system WHERE node_id IN ('scan-fast', 'scan-parsed') ORDER BY node_id`,
    );
    const expected = { cpu: '12.5', load: '10', iowait: '0', tcp: '7', ram: '12345678901234', disk: true, load5: true, role: 'host' };
    assert.deepEqual(stored, [
      { node_id: 'scan-fast', ...expected },
      { node_id: 'scan-parsed', ...expected },
    ]);
  });

  test('a single object is accepted and timestamp defaults to server time', async () => {
    const t0 = Date.now();
    const r = await rt.app.inject({ method: 'POST', url: '/api/v1/metrics', headers: { authorization: ingestKey }, payload: { type: 'system', data: { nodeId: 'api-single', cpuPercent: 3 } } });
    assert.equal(r.json().inserted, 1);
    const row = await rt.db.queryOne<{ time: Date }>(`SELECT time FROM metrics_system WHERE node_id = 'api-single'`);
    assert.ok(Math.abs(row!.time.getTime() - t0) < 5_000);
  });

  test('an invalid row: 400 with row index and field path, nothing of the batch written', async () => {
    const data = rows('api-bad', 10);
    (data[7] as Record<string, unknown>).cpuPercent = 'high';
    (data[8] as Record<string, unknown>).bogus = 1;
    const r = await rt.app.inject({ method: 'POST', url: '/api/v1/metrics', headers: { authorization: ingestKey }, payload: { type: 'system', data } });
    assert.equal(r.statusCode, 400);
    assert.match(String(r.headers['content-type']), PROBLEM);
    const p = r.json();
    assert.equal(p.code, 'VALIDATION_FAILED');
    assert.ok(p.requestId);
    assert.deepEqual(p.errors.map((e: { path: string }) => e.path), ['data.7.cpuPercent', 'data.8']);
    assert.equal(await count('api-bad'), 0);
  });

  test('a value above the ceiling of its column: 400 with the field path, nothing stored, rollups stay answerable', async () => {
    // two huge doubles in one 5-minute bucket would overflow the bucket's sum for good
    const base = Math.floor(Date.now() / 300_000) * 300_000 - 600_000;
    const data = [0, 1].map((i) => ({ nodeId: 'api-huge', timestamp: new Date(base + i * 15_000).toISOString(), load1m: 1.7e308 }));
    const r = await rt.app.inject({ method: 'POST', url: '/api/v1/metrics', headers: { authorization: ingestKey }, payload: { type: 'system', data } });
    assert.equal(r.statusCode, 400, r.body);
    assert.equal(r.json().code, 'VALIDATION_FAILED');
    assert.deepEqual(r.json().errors.map((e: { path: string }) => e.path), ['data.0.load1m', 'data.1.load1m']);
    assert.equal(await count('api-huge'), 0);
    // the ceilings: load 10^6, percent 100, bytes/s 10^12
    const over = [{ load1m: 1e6 + 1 }, { cpuPercent: 100.5 }, { netRxBytesSec: 1.5e12 }];
    const r2 = await rt.app.inject({
      method: 'POST',
      url: '/api/v1/metrics',
      headers: { authorization: ingestKey },
      payload: { type: 'system', data: over.map((v, i) => ({ nodeId: 'api-huge', timestamp: new Date(base + i * 15_000).toISOString(), ...v })) },
    });
    assert.equal(r2.statusCode, 400, r2.body);
    assert.deepEqual(r2.json().errors.map((e: { path: string }) => e.path), ['data.0.load1m', 'data.1.cpuPercent', 'data.2.netRxBytesSec']);
    // values at the ceilings are stored, and a 5-minute answer over them is a number
    const at = [0, 1].map((i) => ({ nodeId: 'api-ceiling', timestamp: new Date(base + i * 15_000).toISOString(), load1m: 1e6, cpuPercent: 100, netRxBytesSec: 1e12 }));
    const ok = await rt.app.inject({ method: 'POST', url: '/api/v1/metrics', headers: { authorization: ingestKey }, payload: { type: 'system', data: at } });
    assert.equal(ok.statusCode, 200, ok.body);
    await rt.store.refreshRollups('system');
    const q = await rt.app.inject({
      method: 'GET',
      url: `/api/v1/metrics/system?nodeId=api-ceiling&resolution=5m&fields=load1m,netRxBytesSec&from=${new Date(base).toISOString()}&to=${new Date(base + 300_000).toISOString()}`,
      headers: { authorization: readKey },
    });
    assert.equal(q.statusCode, 200, q.body);
    assert.deepEqual(
      q.json().points.map((p: { load1m: number; netRxBytesSec: number }) => [p.load1m, p.netRxBytesSec]),
      [[1e6, 1e12]],
    );
  });

  test('unknown family → 404 listing the known ones', async () => {
    const r = await rt.app.inject({ method: 'POST', url: '/api/v1/metrics', headers: { authorization: ingestKey }, payload: { type: 'nosuch', data: [] } });
    assert.equal(r.statusCode, 404);
    assert.equal(r.json().code, 'UNKNOWN_FAMILY');
    assert.ok(r.json().known.includes('system'));
  });

  test('over the row limit → 413; wrong content type → 415; gzip bodies accepted', async () => {
    const big = await rt.app.inject({ method: 'POST', url: '/api/v1/metrics', headers: { authorization: ingestKey }, payload: { type: 'system', data: rows('api-big', 501) } });
    assert.equal(big.statusCode, 413);
    assert.equal(big.json().code, 'TOO_MANY_ROWS');
    assert.equal(await count('api-big'), 0);
    const text = await rt.app.inject({ method: 'POST', url: '/api/v1/metrics', headers: { authorization: ingestKey, 'content-type': 'text/plain' }, payload: 'hello' });
    assert.equal(text.statusCode, 415);
    assert.match(String(text.headers['content-type']), PROBLEM);
    const gz = gzipSync(JSON.stringify({ type: 'system', data: rows('api-gz', 20) }));
    const z = await rt.app.inject({ method: 'POST', url: '/api/v1/metrics', headers: { authorization: ingestKey, 'content-type': 'application/json', 'content-encoding': 'gzip' }, payload: gz });
    assert.equal(z.statusCode, 200, z.body);
    assert.equal(z.json().inserted, 20);
  });

  test('the body limit applies after decompression', async () => {
    const small = await buildTestRuntime(kind, { bodyLimitBytes: 64 * 1024 });
    try {
      const key = `Bearer ${await createApiKey(small, ['ingest'])}`;
      const payload = gzipSync(JSON.stringify({ type: 'system', data: [{ nodeId: 'x', nodeRole: 'a'.repeat(200) }], pad: ' '.repeat(1_000_000) }));
      assert.ok(payload.length < 64 * 1024);
      const r = await small.app.inject({ method: 'POST', url: '/api/v1/metrics', headers: { authorization: key, 'content-type': 'application/json', 'content-encoding': 'gzip' }, payload });
      assert.equal(r.statusCode, 413);
      assert.equal(r.json().code, 'PAYLOAD_TOO_LARGE');
    } finally {
      await small.destroy();
    }
  });

  test('GET returns camelCase rows with the resolution used', async () => {
    const from = new Date(Date.now() - 2 * 3_600_000).toISOString();
    const r = await rt.app.inject({ method: 'GET', url: `/api/v1/metrics/system?nodeId=api-1&from=${from}&fields=cpuPercent,ramUsedBytes`, headers: { authorization: readKey } });
    assert.equal(r.statusCode, 200, r.body);
    const a = r.json();
    assert.equal(a.resolution, 'raw');
    assert.equal(a.points.length, 40);
    assert.deepEqual(Object.keys(a.points[0]).sort(), ['cpuPercent', 'nodeId', 'ramUsedBytes', 'timestamp']);
    const five = await rt.app.inject({ method: 'GET', url: `/api/v1/metrics/system?nodeId=api-1&from=${from}&resolution=5m`, headers: { authorization: viewer } });
    assert.equal(five.json().resolution, '5m');
    assert.equal(five.json().points.reduce((s: number, p: { samples: number }) => s + p.samples, 0), 40);
  });

  test('a truncated answer gives `next`; the same query with cursor=next continues it', async () => {
    // the 40 rows of api-1 (first test) fit in one answer
    const from = new Date(Date.now() - 2 * 3_600_000).toISOString();
    const base = `/api/v1/metrics/system?nodeId=api-1&from=${from}&fields=cpuPercent&resolution=raw`;
    const all = await rt.app.inject({ method: 'GET', url: base, headers: { authorization: readKey } });
    assert.equal(all.json().truncated, false);
    assert.equal(all.json().next, undefined);
    assert.equal(all.json().points.length, 40);
    const bad = await rt.app.inject({ method: 'GET', url: `${base}&cursor=bm9wZQ`, headers: { authorization: readKey } });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().code, 'INVALID_CURSOR');
    const small = await buildTestRuntime(kind, { queryMaxPoints: 100 });
    try {
      const key = `Bearer ${await createApiKey(small, ['ingest', 'read'])}`;
      const t0 = Date.now() - 60 * 60_000;
      // 250 rows in 250 ms: far denser than the 15-s sampling the family declares
      const data = Array.from({ length: 250 }, (_, i) => ({ nodeId: 'api-page', timestamp: new Date(t0 + i).toISOString(), cpuPercent: i % 100 }));
      assert.equal((await small.app.inject({ method: 'POST', url: '/api/v1/metrics', headers: { authorization: key }, payload: { type: 'system', data } })).statusCode, 200);
      const url = `/api/v1/metrics/system?nodeId=api-page&from=${new Date(t0).toISOString()}&to=${new Date(t0 + 1000).toISOString()}&fields=cpuPercent&resolution=raw`;
      const sizes: number[] = [];
      let cursor: string | undefined;
      do {
        const r = await small.app.inject({ method: 'GET', url: cursor ? `${url}&cursor=${cursor}` : url, headers: { authorization: key } });
        assert.equal(r.statusCode, 200, r.body);
        sizes.push(r.json().points.length);
        cursor = r.json().next;
      } while (cursor && sizes.length < 10);
      assert.deepEqual(sizes, [100, 100, 50]);
    } finally {
      await small.destroy();
    }
  });

  test('bad query parameters → 400 with the parameter path', async () => {
    const cases = [
      ['from=yesterday', 'querystring.from'],
      ['resolution=2m', 'querystring.resolution'],
      [`fields=${encodeURIComponent("cpu'; DROP TABLE nodes;--")}`, 'querystring.fields'],
      [`nodeId=${encodeURIComponent('a b')}`, 'querystring.nodeId'],
    ] as const;
    for (const [qs, path] of cases) {
      const r = await rt.app.inject({ method: 'GET', url: `/api/v1/metrics/system?${qs}`, headers: { authorization: readKey } });
      assert.equal(r.statusCode, 400, qs);
      assert.equal(r.json().code, 'VALIDATION_FAILED', qs);
      assert.ok(r.json().errors.some((e: { path: string }) => e.path.startsWith(path)), `${qs}: ${r.body}`);
    }
    const unknownField = await rt.app.inject({ method: 'GET', url: '/api/v1/metrics/system?fields=nope', headers: { authorization: readKey } });
    assert.equal(unknownField.json().code, 'UNKNOWN_FIELD');
    const range = await rt.app.inject({ method: 'GET', url: '/api/v1/metrics/system?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z', headers: { authorization: readKey } });
    assert.equal(range.statusCode, 400);
    assert.equal(range.json().code, 'INVALID_TIME_RANGE');
    const fam = await rt.app.inject({ method: 'GET', url: '/api/v1/metrics/nosuch', headers: { authorization: readKey } });
    assert.equal(fam.statusCode, 404);
  });

  test('access: no credential 401, read key cannot ingest 403, viewer cannot ingest 403', async () => {
    const none = await rt.app.inject({ method: 'POST', url: '/api/v1/metrics', payload: { type: 'system', data: [] } });
    assert.equal(none.statusCode, 401);
    assert.match(String(none.headers['content-type']), PROBLEM);
    const read = await rt.app.inject({ method: 'POST', url: '/api/v1/metrics', headers: { authorization: readKey }, payload: { type: 'system', data: [] } });
    assert.equal(read.statusCode, 403);
    const v = await rt.app.inject({ method: 'POST', url: '/api/v1/metrics', headers: { authorization: viewer }, payload: { type: 'system', data: [] } });
    assert.equal(v.statusCode, 403);
    const ingestRead = await rt.app.inject({ method: 'GET', url: '/api/v1/metrics/system', headers: { authorization: ingestKey } });
    assert.equal(ingestRead.statusCode, 403);
  });

  test('GET /api/v1/metrics lists the families and fields from their declarations', async () => {
    const r = await rt.app.inject({ method: 'GET', url: '/api/v1/metrics', headers: { authorization: readKey } });
    const sys = r.json().items.find((f: { key: string }) => f.key === 'system');
    assert.equal(sys.table, 'metrics_system');
    assert.ok(sys.fields.some((f: { field: string; unit: string }) => f.field === 'cpuPercent' && f.unit === 'percent'));
  });
});
