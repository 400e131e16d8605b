/**
 * The metrics API over families with and without a node column (test families of
 * test/support/node-families.ts, served next to the shipped ones).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachBackend } from '../../../test/support/backends.ts';
import { buildTestRuntime, type TestRuntime } from '../../../test/support/app.ts';
import { createApiKey } from '../../../test/support/auth.ts';
import { createNodeFamilies, NODE_TEST_FAMILIES } from '../../../test/support/node-families.ts';
import { FAMILIES } from '../families.ts';

const PROBLEM = /^application\/problem\+json/;

forEachBackend('metrics API with and without a node column', (kind) => {
  let rt: TestRuntime;
  let ingestKey: string;
  let readKey: string;
  before(async () => {
    rt = await buildTestRuntime(kind, {}, { families: [...FAMILIES, ...NODE_TEST_FAMILIES] });
    await createNodeFamilies(rt.db, rt.tier.tier);
    ingestKey = `Bearer ${await createApiKey(rt, ['ingest'])}`;
    readKey = `Bearer ${await createApiKey(rt, ['read'])}`;
  });
  after(async () => {
    await rt.destroy();
  });

  test('GET /api/v1/metrics names each family\'s node field, null for a family without one', async () => {
    const r = await rt.app.inject({ method: 'GET', url: '/api/v1/metrics', headers: { authorization: readKey } });
    assert.equal(r.statusCode, 200, r.body);
    const node = Object.fromEntries(r.json().items.map((f: { key: string; node: string | null }) => [f.key, f.node]));
    assert.equal(node.system, 'nodeId');
    assert.equal(node.zonemta, 'nodeId');
    assert.equal(node.probe_mailq, 'host');
    assert.equal(node.probe_service, null);
  });

  test('a nodeId filter on a family without a node column is 400 NODE_FILTER_UNSUPPORTED; without it the family answers', async () => {
    const t = Math.floor(Date.now() / 300_000) * 300_000 - 600_000;
    const from = new Date(t).toISOString();
    const to = new Date(t + 300_000).toISOString();
    const post = await rt.app.inject({
      method: 'POST',
      url: '/api/v1/metrics',
      headers: { authorization: ingestKey },
      payload: { type: 'probe_service', data: [{ service: 'smtp-in', address: '::1', timestamp: from, up: 1, latencyMs: 7 }] },
    });
    assert.deepEqual(post.json(), { family: 'probe_service', received: 1, inserted: 1, duplicates: 0 });
    const q = `from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&resolution=raw`;
    const refused = await rt.app.inject({ method: 'GET', url: `/api/v1/metrics/probe_service?${q}&nodeId=smtp-in`, headers: { authorization: readKey } });
    assert.equal(refused.statusCode, 400, refused.body);
    assert.match(String(refused.headers['content-type']), PROBLEM);
    assert.equal(refused.json().code, 'NODE_FILTER_UNSUPPORTED');
    const ok = await rt.app.inject({ method: 'GET', url: `/api/v1/metrics/probe_service?${q}`, headers: { authorization: readKey } });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.deepEqual(ok.json().points, [{ timestamp: from, service: 'smtp-in', address: '::1', up: 1, latencyMs: 7 }]);
    const nodes = await rt.db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM nodes WHERE id = 'smtp-in'`);
    assert.equal(nodes?.n, 0);
  });
});
