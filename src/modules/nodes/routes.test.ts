import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { forEachBackend } from '../../../test/support/backends.ts';
import { buildTestRuntime, type TestRuntime } from '../../../test/support/app.ts';
import { createApiKey, loginAs } from '../../../test/support/auth.ts';

forEachBackend('nodes and system API', (kind) => {
  let rt: TestRuntime;
  let read: string;
  before(async () => {
    rt = await buildTestRuntime(kind);
    read = `Bearer ${await createApiKey(rt, ['read'])}`;
    const now = Date.now();
    await rt.store.ingest('system', [
      { nodeId: 'fresh-1', timestamp: new Date(now - 5_000).toISOString(), nodeRole: 'redis', cpuPercent: 1 },
      { nodeId: 'stale-1', timestamp: new Date(now - 10 * 60_000).toISOString(), nodeRole: 'mongodb', cpuPercent: 1 },
    ]);
  });
  after(async () => {
    await rt.destroy();
  });

  test('GET /api/v1/nodes pages the inventory with last_seen and health', async () => {
    const r = await rt.app.inject({ method: 'GET', url: '/api/v1/nodes?pageSize=1', headers: { authorization: read } });
    assert.equal(r.statusCode, 200, r.body);
    const p = r.json();
    assert.equal(p.total, 2);
    assert.equal(p.totalPages, 2);
    assert.equal(p.items.length, 1);
    assert.equal(p.items[0].id, 'fresh-1');
    assert.equal(p.items[0].health, 'ok');
    assert.equal(p.items[0].role, 'redis');
    const stale = await rt.app.inject({ method: 'GET', url: '/api/v1/nodes/stale-1', headers: { authorization: read } });
    assert.equal(stale.json().health, 'stale', 'stale after 3 missed 15 s intervals');
    const filtered = await rt.app.inject({ method: 'GET', url: '/api/v1/nodes?health=stale', headers: { authorization: read } });
    assert.deepEqual(filtered.json().items.map((n: { id: string }) => n.id), ['stale-1']);
    const missing = await rt.app.inject({ method: 'GET', url: '/api/v1/nodes/nope', headers: { authorization: read } });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().code, 'NODE_NOT_FOUND');
  });

  test('PUT /api/v1/nodes/{id} registers descriptive fields (operator)', async () => {
    const op = await loginAs(rt, 'operator');
    const r = await rt.app.inject({ method: 'PUT', url: '/api/v1/nodes/fresh-1', headers: { authorization: op }, payload: { hostname: 'redis-1.lan', addresses: { lan: '192.0.2.10' }, labels: { rack: 'a' } } });
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(r.json().hostname, 'redis-1.lan');
    assert.equal(r.json().role, 'redis', 'role kept');
    const viewer = await loginAs(rt, 'viewer');
    const denied = await rt.app.inject({ method: 'PUT', url: '/api/v1/nodes/fresh-1', headers: { authorization: viewer }, payload: { hostname: 'x' } });
    assert.equal(denied.statusCode, 403);
  });

  test('PUT /api/v1/nodes/{id}: labels and addresses are bounded (keys, key and value length, total size) → 400 with the field path', async () => {
    const op = await loginAs(rt, 'operator');
    const put = (payload: Record<string, unknown>) => rt.app.inject({ method: 'PUT', url: '/api/v1/nodes/bounded-1', headers: { authorization: op }, payload });
    const many = (n: number, value = 'v') => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, value]));
    const refused: [string, Record<string, unknown>, string][] = [
      ['65 labels', { labels: many(65) }, 'body.labels'],
      ['a 129-character label key', { labels: { ['k'.repeat(129)]: 'v' } }, 'body.labels'],
      ['an empty label key', { labels: { '': 'v' } }, 'body.labels'],
      ['a 256-character label value', { labels: { rack: 'v'.repeat(256) } }, 'body.labels.rack'],
      ['labels over 16 KiB in all', { labels: many(64, 'x'.repeat(255)) }, 'body.labels'],
      ['65 addresses', { addresses: many(65) }, 'body.addresses'],
      ['an 8.5 MB label map', { labels: many(30_000, 'x'.repeat(255)) }, 'body.labels'],
    ];
    for (const [what, payload, path] of refused) {
      const r = await put(payload);
      assert.equal(r.statusCode, 400, `${what}: ${r.body.slice(0, 300)}`);
      assert.equal(r.json().code, 'VALIDATION_FAILED', what);
      assert.ok(
        r.json().errors.some((e: { path: string }) => e.path === path || e.path.startsWith(`${path}.`)),
        `${what}: ${JSON.stringify(r.json().errors.slice(0, 3))}`,
      );
    }
    const atLimits = await put({ labels: { ...many(63, 'x'.repeat(200)), ['k'.repeat(128)]: 'y'.repeat(255) }, addresses: { lan: '192.0.2.1' } });
    assert.equal(atLimits.statusCode, 200, atLimits.body.slice(0, 300));
    assert.equal(Object.keys(atLimits.json().labels).length, 64);
  });

  test('/health and /ready are public; /ready reports tier and migration version', async () => {
    assert.equal((await rt.app.inject({ url: '/health' })).json().status, 'ok');
    const ready = await rt.app.inject({ url: '/ready' });
    assert.equal(ready.statusCode, 200);
    assert.equal(ready.json().tier, rt.tier.tier);
    assert.ok(ready.json().migrationVersion >= 2);
  });

  test('/metrics needs a read credential and speaks the Prometheus text format', async () => {
    assert.equal((await rt.app.inject({ url: '/metrics' })).statusCode, 401);
    const r = await rt.app.inject({ url: '/metrics', headers: { authorization: read } });
    assert.equal(r.statusCode, 200);
    assert.match(String(r.headers['content-type']), /^text\/plain/);
    assert.match(r.body, /opsdeck_http_requests_total\{route="\/api\/v1\/nodes",method="GET",status="200"\} \d+/);
    assert.match(r.body, /opsdeck_db_pool_connections\{state="total"\} \d+/);
    assert.match(r.body, /# TYPE opsdeck_http_request_duration_seconds histogram/);
  });

  test('/metrics passes promtool check metrics (Prometheus naming lint)', async (t) => {
    const r = await rt.app.inject({ url: '/metrics', headers: { authorization: read } });
    assert.equal(r.statusCode, 200);
    const probe = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
    if (probe.error) {
      // CI installs promtool (.ci/run); only a local run without it may skip.
      assert.ok(!process.env.CI, `promtool is required when CI is set: ${probe.error.message}`);
      t.skip('promtool is not installed (Debian package prometheus); CI installs it');
      return;
    }
    const check = spawnSync('promtool', ['check', 'metrics'], { input: r.body, encoding: 'utf8', timeout: 60_000 });
    assert.equal(check.status, 0, `promtool check metrics: ${check.stdout}${check.stderr}`);
    // The process gauges prom-client names *_total, under their documented names.
    for (const name of ['opsdeck_process_nodejs_active_handles_all', 'opsdeck_process_nodejs_active_requests_all', 'opsdeck_process_nodejs_active_resources_all']) {
      assert.match(r.body, new RegExp(`^# TYPE ${name} gauge$`, 'm'), name);
    }
  });

  test('/api/v1/system/database and /api/v1/system/jobs report storage and job runs', async () => {
    const run = await rt.jobs.runOnce('retention');
    assert.equal(run.outcome, 'ok');
    const db = await rt.app.inject({ url: '/api/v1/system/database', headers: { authorization: read } });
    assert.equal(db.statusCode, 200, db.body);
    const rep = db.json();
    assert.equal(rep.tier, rt.tier.tier);
    const sys = rep.tables.find((t: { table: string }) => t.table === 'metrics_system');
    assert.equal(sys.kind, rt.tier.tier === 'timescale' ? 'hypertable' : 'partitioned');
    assert.ok(sys.chunks >= 1);
    assert.deepEqual(sys.rollups.map((r: { relation: string }) => r.relation).sort(), ['system_stats_1h', 'system_stats_5m', 'system_stats_daily']);
    assert.ok(rep.jobs.some((j: { name: string; lastOutcome: string }) => j.name === 'retention' && j.lastOutcome === 'ok'));
    const jobs = await rt.app.inject({ url: '/api/v1/system/jobs?job=retention', headers: { authorization: read } });
    assert.equal(jobs.json().runs[0].outcome, 'ok');
    assert.ok(jobs.json().jobs.some((j: { name: string }) => j.name === 'retention'));
  });

  test('OpenAPI lists every route with its schemas and access rule', async () => {
    const doc = (await rt.app.inject({ url: '/openapi.json' })).json();
    // Every registered route (printRoutes' tree, children indented under their prefix) is documented.
    const stack: string[] = [];
    const registered: string[] = [];
    for (const line of rt.app.printRoutes({ commonPrefix: false }).split('\n')) {
      const at = line.indexOf('── ');
      if (at < 0) continue;
      const depth = (at - 1) / 4;
      const [segment, methods] = line.slice(at + 3).split(' (');
      stack.length = depth;
      stack[depth] = segment!;
      if (!methods) continue;
      const url = stack.join('');
      // the API docs, and the dashboard's page and assets (src/web): not API routes
      if (url.startsWith('/docs') || url === '/openapi.json' || url === '/' || url.startsWith('/assets/')) continue;
      for (const m of methods.replace(')', '').split(', ')) if (m !== 'HEAD') registered.push(`${m} ${url.replace(/:(\w+)/g, '{$1}')}`);
    }
    assert.ok(registered.includes('PUT /api/v1/nodes/{id}') && registered.includes('GET /metrics'), registered.join('\n'));
    for (const r of registered) {
      const [m, p] = r.split(' ');
      assert.ok(doc.paths[p!]?.[m!.toLowerCase()], `OpenAPI documents ${r}`);
    }
    for (const p of ['/api/v1/metrics', '/api/v1/metrics/{family}', '/api/v1/nodes', '/api/v1/nodes/{id}', '/health', '/ready', '/metrics', '/api/v1/system/jobs', '/api/v1/system/database']) {
      assert.ok(doc.paths[p], `OpenAPI documents ${p}`);
    }
    const post = doc.paths['/api/v1/metrics'].post;
    assert.ok(post.requestBody.content['application/json'].schema);
    assert.deepEqual(post.security, [{ bearer: [] }, { apiKey: [] }]);
    assert.match(post.description, /scope `ingest`/);
    assert.ok(post.responses['400'] && post.responses['503']);
    const docs = await rt.app.inject({ url: '/docs' });
    assert.ok([200, 302].includes(docs.statusCode));
  });

  test('unknown routes answer problem+json 404', async () => {
    const r = await rt.app.inject({ url: '/api/v1/nope' });
    assert.equal(r.statusCode, 404);
    assert.equal(r.json().code, 'NOT_FOUND');
  });
});
