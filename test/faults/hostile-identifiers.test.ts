/**
 * Fault suite item 8: hostile identifiers — quotes, semicolons, SQL fragments,
 * NUL, Unicode (astral, RTL override, zero-width), prototype names, very long
 * strings — in family names, `fields=`, `nodeId`, time and resolution
 * parameters, list filters and unknown sort/filter parameters, path ids and
 * JSON bodies. Every answer is below 500; every rejection is problem+json with
 * a code and no SQL error text; nothing is dropped or leaked; accepted odd
 * strings round-trip unchanged.
 *
 * In-process (app.inject) on the test server, plus a real socket for what
 * only Node's HTTP parser and the router see (malformed percent-encoding,
 * oversized request lines and headers).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { LightMyRequestResponse } from 'fastify';
import { buildTestRuntime, TEST_ADMIN_PASSWORD, type TestRuntime } from '../support/app.ts';
import { createApiKey, loginAs } from '../support/auth.ts';
import { assertProblem, BASE_TIME, httpRequest, ingestBody, skipUnlessServer, systemRows } from './support.ts';

/** Texts of PostgreSQL or driver errors: never in an answer. */
const SQL_ERROR =
  /syntax error at or near|does not exist|invalid input syntax|unterminated quoted|SQLSTATE|invalid byte sequence|unsupported Unicode escape|violates .* constraint|stack depth|target lists can have|DatabaseQueryError|PostgresError/i;

const HOSTILE: readonly string[] = [
  "'",
  '"',
  ';',
  "' OR '1'='1",
  "'; DROP TABLE nodes; --",
  '") OR 1=1 --',
  '$1',
  '$$; DROP TABLE metrics_system; $$',
  '\\',
  '%',
  '_',
  '*',
  '../../etc/passwd',
  '<script>alert(1)</script>',
  '${jndi:ldap://x/a}',
  'NULL',
  'a\u0000b',
  'système',
  '𝔘𝔫𝔦𝔠𝔬𝔡𝔢🙂',
  'abc\u202Edef',
  'zero\u200Bwidth',
  'a'.repeat(10_000),
  'a,b,c',
  ' ',
  'constructor',
  '__proto__',
  'toString',
  'hasOwnProperty',
  'prototype',
  'cpu_percent',
];

const enc = encodeURIComponent;

/** The node-id rule, written here by hand (not read from the code): letters, digits and . _ : @ -, first a letter or digit, 1-128 characters. */
const validNodeId = (s: string) => /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/.test(s);
/** The answer a nodeId= list should get: 200 when every comma-separated item is a valid id (a blank list means every node), else 400. */
const nodeIdListStatus = (h: string) => (h.split(',').map((x) => x.trim()).filter(Boolean).every(validNodeId) ? 200 : 400);
/** A short free-text filter (role=, job=: at most 64 characters) is 200 unless too long or holding NUL. */
const textFilterStatus = (h: string) => (h.length > 64 || h.includes('\u0000') ? 400 : 200);

describe('fault: hostile identifiers and parameters', { skip: skipUnlessServer }, () => {
  let rt: TestRuntime;
  let admin: string;
  let key: string;
  let ip = 0;
  const seen = { total: 0, byStatus: new Map<number, number>() };

  before(async () => {
    rt = await buildTestRuntime('postgres');
    admin = await loginAs(rt, 'admin');
    key = `Bearer ${await createApiKey(rt, ['ingest', 'read', 'admin'])}`;
    const seeded = await rt.app.inject({ method: 'POST', url: '/api/v1/metrics', headers: { authorization: key }, payload: JSON.parse(ingestBody('seed-node', 20)) as object });
    assert.equal(seeded.statusCode, 200, seeded.body);
  });
  after(async () => {
    await rt?.destroy();
  });

  /** Checks one answer: never 5xx, status allowed, rejections are clean problem+json. */
  function check(res: LightMyRequestResponse, allowed: number[], what: string): void {
    seen.total++;
    seen.byStatus.set(res.statusCode, (seen.byStatus.get(res.statusCode) ?? 0) + 1);
    assert.ok(res.statusCode < 500, `${what} → ${res.statusCode}: ${res.body.slice(0, 400)}`);
    assert.ok(allowed.includes(res.statusCode), `${what} → ${res.statusCode} (allowed ${allowed.join('/')}): ${res.body.slice(0, 400)}`);
    assert.doesNotMatch(res.body, SQL_ERROR, `${what}: SQL error text in the answer`);
    if (res.statusCode >= 400) assertProblem(res, res.statusCode);
  }

  const get = (url: string, authorization = admin) => rt.app.inject({ method: 'GET', url, headers: { authorization } });
  const send = (method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload: unknown, authorization = admin) =>
    rt.app.inject({ method, url, headers: { authorization, 'content-type': 'application/json' }, payload: JSON.stringify(payload), remoteAddress: `10.9.${Math.floor(++ip / 250)}.${ip % 250}` });
  const range = `from=${enc(new Date(BASE_TIME - 60_000).toISOString())}&to=${enc(new Date(BASE_TIME + 3_600_000).toISOString())}`;

  test('family names in the path → 400, 404 UNKNOWN_FAMILY or 414 (too long), never SQL', async () => {
    for (const h of HOSTILE) {
      const res = await get(`/api/v1/metrics/${enc(h)}?${range}`);
      check(res, [400, 404, 414], `family ${JSON.stringify(h.slice(0, 40))}`);
      if (res.statusCode === 404) {
        const p = res.json() as { code: string; known?: unknown };
        assert.ok(['UNKNOWN_FAMILY', 'NOT_FOUND'].includes(p.code), res.body);
      }
    }
  });

  test('fields=, resolution=, from=/to=, points= → 400; nodeId= → 400 unless every item is a valid node id (then nothing of other nodes)', async () => {
    for (const h of HOSTILE) {
      const e = enc(h);
      // (A blank field list means the default: every field.)
      const fieldsAllowed = h.trim() === '' ? [200] : [400];
      check(await get(`/api/v1/metrics/system?${range}&fields=${e}`), fieldsAllowed, `fields=${h.slice(0, 40)}`);
      check(await get(`/api/v1/metrics/system?${range}&fields=cpuPercent,${e}`), fieldsAllowed, `fields=cpuPercent,${h.slice(0, 40)}`);
      check(await get(`/api/v1/metrics/system?${range}&resolution=${e}`), [400], `resolution=${h.slice(0, 40)}`);
      check(await get(`/api/v1/metrics/system?from=${e}`), [400], `from=${h.slice(0, 40)}`);
      check(await get(`/api/v1/metrics/system?to=${e}`), [400], `to=${h.slice(0, 40)}`);
      check(await get(`/api/v1/metrics/system?${range}&points=${e}`), [400], `points=${h.slice(0, 40)}`);
      const byNode = await get(`/api/v1/metrics/system?${range}&resolution=raw&nodeId=${e}`);
      check(byNode, [nodeIdListStatus(h)], `nodeId=${h.slice(0, 40)}`);
      // A blank list means every node (the default); anything else that is accepted matches no stored node.
      if (byNode.statusCode === 200 && h.trim() !== '') assert.deepEqual((byNode.json() as { points: unknown[] }).points, [], `nodeId=${h}: no rows of other nodes`);
      // Sort/filter parameters the API does not have are ignored, not interpreted.
      const extra = await get(`/api/v1/metrics/system?${range}&resolution=raw&nodeId=seed-node&sort=${e}&order=${e}&filter=${e}&where=${e}`);
      // (NUL is refused wherever it is: 400 INVALID_CHARACTER.)
      check(extra, h.includes('\u0000') ? [400] : [200], `unknown sort/filter=${h.slice(0, 40)}`);
      if (extra.statusCode === 200) assert.equal((extra.json() as { points: unknown[] }).points.length, 20);
    }
    // Odd but valid combinations.
    for (const q of [
      'fields=cpuPercent,cpuPercent,cpuPercent',
      `fields=${'cpuPercent,'.repeat(400)}`,
      `nodeId=${Array.from({ length: 300 }, (_, i) => `n${i}`).join(',')}`,
      'nodeId=seed-node&nodeId=seed-node',
      'resolution=raw&points=1',
    ]) {
      check(await get(`/api/v1/metrics/system?${range}&${q}`), [200], q.slice(0, 60));
    }
    for (const q of [
      'from=2024-01-01T00:00:00Z&from=2024-01-02T00:00:00Z',
      'from=0001-01-01T00:00:00Z&to=9999-12-31T23:59:59Z',
      'from=2024-01-02T00:00:00Z&to=2024-01-01T00:00:00Z',
      `from=${enc('+275760-09-13T00:00:00Z')}`,
      'from=2024-13-45T99:99:99Z',
      'from=now()',
      'from=-infinity',
      'points=1e309',
      'points=-1',
      'points=0x10',
      'points=NaN',
      'points=99999999999999999999',
      'resolution=RAW',
      'fields=',
      'fields=,,,',
    ]) {
      check(await get(`/api/v1/metrics/system?${q}`), [200, 400], q);
    }
  });

  test('list filters, path ids and unknown sort parameters of the other routes', async () => {
    for (const h of HOSTILE) {
      const e = enc(h);
      const t = h.slice(0, 40);
      check(await get(`/api/v1/nodes?role=${e}&sort=${e}&order=${e}`), [textFilterStatus(h)], `nodes role=${t}`);
      check(await get(`/api/v1/nodes?health=${e}`), [400], `nodes health=${t}`);
      check(await get(`/api/v1/nodes?page=${e}&pageSize=${e}`), [400], `nodes page=${t}`);
      check(await get(`/api/v1/nodes/${e}`), [400, 404, 414], `node ${t}`);
      check(await get(`/api/v1/users?role=${e}`), [400], `users role=${t}`);
      check(await get(`/api/v1/users?disabled=${e}`), [400], `users disabled=${t}`);
      check(await get(`/api/v1/system/jobs?job=${e}&limit=5`), [textFilterStatus(h)], `jobs job=${t}`);
      check(await get(`/api/v1/system/jobs?limit=${e}`), [400], `jobs limit=${t}`);
      check(await get(`/api/v1/saved-views/${e}`), [400, 404, 414], `saved view ${t}`);
      check(await get(`/api/v1/api-keys?includeInactive=${e}`), [400], `api-keys includeInactive=${t}`);
      check(await send('DELETE', `/api/v1/api-keys/${e}`, undefined), [400, 404, 414], `delete api key ${t}`);
      check(await send('PATCH', `/api/v1/users/${e}`, { role: h }), [400, 404, 414], `patch user ${t}`);
    }
    // A node id of the maximum length (128) is reachable by every route (the router used to cap parameters at 100 → 414).
    const longId = `n${'x'.repeat(127)}`;
    check(await send('PUT', `/api/v1/nodes/${longId}`, { role: 'host' }), [200], 'PUT 128-char node id');
    check(await get(`/api/v1/nodes/${longId}`), [200], 'GET 128-char node id');
    check(await get(`/api/v1/nodes/${longId}x`), [400], 'GET 129-char node id');
    check(await get(`/api/v1/nodes/${'x'.repeat(5000)}`), [400, 414], 'GET 5000-char node id');
  });

  test('hostile strings in JSON bodies: metric type, node id, field names, text values, names and credentials', async () => {
    const row = systemRows('body-node', 1)[0]!;
    for (const h of HOSTILE) {
      const t = h.slice(0, 40);
      check(await send('POST', '/api/v1/metrics', { type: h, data: row }, key), [400, 404], `metrics type ${t}`);
      const asNode = await send('POST', '/api/v1/metrics', { type: 'system', data: { ...row, nodeId: h } }, key);
      check(asNode, [validNodeId(h) ? 200 : 400], `metrics nodeId ${t}`);
      check(await send('POST', '/api/v1/metrics', { type: 'system', data: { ...row, [h]: 1 } }, key), [400], `metrics field name ${t}`);
      check(await send('PUT', `/api/v1/nodes/hostile-body-node`, { hostname: h.slice(0, 255), role: h.slice(0, 64), labels: { [h.slice(0, 100)]: h.slice(0, 255) } }), [200, 400], `node fields ${t}`);
      check(await send('POST', '/api/v1/auth/login', { username: h, password: h }, ''), [400, 401, 429], `login ${t}`);
      check(await send('POST', '/api/v1/saved-views', { name: h, config: { [h.slice(0, 100)]: h } }), [201, 400, 409], `saved view ${t}`);
      check(await send('POST', '/api/v1/api-keys', { name: h, scopes: [h] }), [400], `api key ${t}`);
      check(await send('POST', '/api/v1/users', { username: h, password: 'long-enough-password-1', role: h }), [400], `user ${t}`);
    }
    // Prototype pollution attempts are refused, not merged.
    for (const raw of ['{"type":"system","data":{"nodeId":"p","__proto__":{"isAdmin":true}}}', '{"type":"system","data":{"nodeId":"p","constructor":{"prototype":{"isAdmin":true}}}}']) {
      const res = await rt.app.inject({ method: 'POST', url: '/api/v1/metrics', headers: { authorization: key, 'content-type': 'application/json' }, payload: raw });
      check(res, [400], raw);
    }
    assert.equal(({} as Record<string, unknown>).isAdmin, undefined);
  });

  test('odd but valid text round-trips exactly (Unicode, quotes, RTL override, zero-width)', async () => {
    const odd = ["O'Brien; DROP TABLE nodes; --", '𝔘𝔫𝔦𝔠𝔬𝔡𝔢🙂', 'abc\u202Edef', 'zero\u200Bwidth', '\\"$1%_*'];
    for (const [i, text] of odd.entries()) {
      const at = new Date(BASE_TIME + (i + 1) * 15_000).toISOString();
      const res = await send('POST', '/api/v1/metrics', { type: 'system', data: { timestamp: at, nodeId: 'roundtrip', nodeRole: text, cpuPercent: 1 } }, key);
      check(res, [200], `store ${JSON.stringify(text)}`);
      const back = await get(`/api/v1/metrics/system?resolution=raw&nodeId=roundtrip&fields=nodeRole&from=${enc(at)}&to=${enc(new Date(Date.parse(at) + 1000).toISOString())}`);
      check(back, [200], 'read back');
      assert.deepEqual(
        (back.json() as { points: { nodeRole: string }[] }).points.map((p) => p.nodeRole),
        [text],
      );
      const node = await send('PUT', `/api/v1/nodes/roundtrip`, { hostname: text, labels: { [text]: text } });
      check(node, [200], 'node round trip');
      assert.equal((node.json() as { hostname: string }).hostname, text);
      assert.deepEqual((node.json() as { labels: Record<string, string> }).labels, { [text]: text });
    }
  });

  test('client-chosen names that are Object.prototype members (roles, labels, node ids) do not break lists or aggregates', async () => {
    // GET /api/v1/cluster/status counted roles in an object literal: role "toString" made it a 500 for everyone.
    const names = ['toString', 'constructor', 'valueOf', 'hasOwnProperty', '__proto__', 'isPrototypeOf'];
    for (const [i, name] of names.entries()) {
      check(await send('PUT', `/api/v1/nodes/proto-node-${i}`, { role: name }), [200], `PUT role ${name}`);
      // A "__proto__" key is refused by the JSON parser (prototype poisoning); the others are plain labels.
      check(await send('PUT', `/api/v1/nodes/proto-node-${i}`, { labels: { [name]: name } }), name === '__proto__' ? [400] : [200], `PUT label ${name}`);
    }
    const viaIngest = await send('POST', '/api/v1/metrics', { type: 'system', data: { nodeId: 'constructor', nodeRole: 'toString', cpuPercent: 1 } }, key);
    check(viaIngest, [200], 'ingest with nodeId constructor, nodeRole toString');
    for (const url of ['/api/v1/cluster/status', '/api/v1/mongodb/cluster-status', '/api/v1/nodes?pageSize=500', '/api/v1/nodes/constructor', '/api/v1/nodes?role=toString']) {
      check(await get(url), [200], url);
    }
    const summary = (await get('/api/v1/cluster/status')).json() as { summary: { total: number; byRole: Record<string, number> } };
    for (const name of ['toString', 'constructor', 'valueOf', 'hasOwnProperty', 'isPrototypeOf']) assert.equal(typeof summary.summary.byRole[name], 'number', `byRole.${name}`);
    assert.equal(summary.summary.byRole.toString, 2);
    assert.equal((await get('/api/v1/nodes?role=toString')).json().total, 2);
  });

  test('over a real socket: malformed percent-encoding, oversized request line and headers, garbage → problem+json', async () => {
    const base = await rt.app.listen({ port: 0, host: '127.0.0.1' });
    const port = (rt.app.server.address() as net.AddressInfo).port;
    {
      const cases: [string, number[]][] = [
        [`/api/v1/metrics/sys%ZZtem?${range}`, [400]],
        [`/api/v1/nodes/%E0%A4%A`, [400]],
        [`/api/v1/metrics/system?${range}&fields=%E0%A4%A`, [400]],
        [`/api/v1/metrics/system?${range}&nodeId=%`, [400]],
        [`/api/v1/metrics/system?${range}&fields=${'a'.repeat(100_000)}`, [414, 431]],
        [`/api/v1/nodes/${'x'.repeat(2000)}`, [400, 414]],
      ];
      for (const [path, allowed] of cases) {
        const res = await httpRequest(base, { path, headers: { authorization: admin } });
        assert.ok(allowed.includes(res.statusCode), `${path.slice(0, 80)} → ${res.statusCode}: ${res.body.slice(0, 300)}`);
        assertProblem(res, res.statusCode);
      }
      const bigHeader = await httpRequest(base, { path: '/api/v1/nodes', headers: { authorization: admin, 'x-hostile': 'h'.repeat(64 * 1024) } });
      assertProblem(bigHeader, 431, 'HEADERS_TOO_LARGE');
      for (const raw of ['GARBAGE\r\n\r\n', 'GET /api/v1/nodes HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n', 'GET /\u0000 HTTP/1.1\r\n\r\n']) {
        const out = await new Promise<string>((resolve) => {
          const s = net.connect(port, '127.0.0.1');
          let got = '';
          s.on('data', (d: Buffer) => (got += d.toString()));
          s.on('error', () => resolve(got));
          s.on('close', () => resolve(got));
          s.setTimeout(3000, () => s.destroy());
          s.write(raw);
        });
        assert.match(out, /^HTTP\/1\.1 400 /, JSON.stringify(raw));
        assert.match(out, /content-type: application\/problem\+json/i, out);
        assert.match(out, /"code":"MALFORMED_REQUEST"/, out);
      }
    }
  });

  test('afterwards: every table is intact, the seed rows are all there, and the admin still logs in', async () => {
    for (const table of ['nodes', 'metrics_system', 'dashboard_users', 'api_keys', 'saved_views', 'opsdeck_job_runs', 'opsdeck_settings']) {
      const r = await rt.db.queryOne<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [table]);
      assert.equal(r?.t, table, `${table} still exists`);
    }
    const seed = await rt.db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM metrics_system WHERE node_id = 'seed-node'`);
    assert.equal(seed?.n, 20);
    const login = await send('POST', '/api/v1/auth/login', { username: 'admin', password: TEST_ADMIN_PASSWORD }, '');
    check(login, [200], 'admin login');
    assert.ok(seen.total > 600, `${seen.total} hostile requests checked`);
    assert.equal([...seen.byStatus.keys()].filter((s) => s >= 500).length, 0);
  });
});
