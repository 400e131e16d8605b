/**
 * The OpenAPI document the server serves passes a standard linter: Redocly's
 * recommended ruleset (redocly.yaml at the repository root; any rule configured
 * out there carries its reason). Operation ids are stable and unique.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildTestRuntime, type TestRuntime } from '../support/app.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

type Operation = { operationId?: string; security?: unknown[] };
let rt: TestRuntime;
let doc: { paths: Record<string, Record<string, Operation>>; servers?: unknown[]; info: { license?: { name: string } } };
before(async () => {
  rt = await buildTestRuntime('pglite');
  doc = (await rt.app.inject({ url: '/openapi.json' })).json();
});
after(async () => {
  await rt.destroy();
});

test('the OpenAPI document passes redocly lint with the recommended ruleset', { timeout: 180_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'opsdeck-openapi-'));
  try {
    const file = join(dir, 'openapi.json');
    writeFileSync(file, JSON.stringify(doc));
    const r = spawnSync(join(ROOT, 'node_modules/.bin/redocly'), ['lint', '--config', join(ROOT, 'redocly.yaml'), '--format', 'stylish', file], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 170_000,
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', CI: 'true' },
    });
    assert.equal(r.error, undefined, String(r.error));
    const out = `${r.stdout}${r.stderr}`;
    assert.equal(r.status, 0, out);
    // Problems are listed as "line:col  error|warning  rule  message"; warnings count too.
    assert.doesNotMatch(out, /^\s*\d+:\d+\s+(error|warning)\s/m, out);
    assert.doesNotMatch(out, /\d+ warnings?\b/, out);
    assert.match(out, /Your API description is valid/, out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every operation has a unique operationId derived from method and path', () => {
  const ids: string[] = [];
  for (const ops of Object.values(doc.paths)) for (const op of Object.values(ops)) ids.push(op.operationId ?? '(none)');
  assert.ok(!ids.includes('(none)'), ids.join(', '));
  assert.equal(new Set(ids).size, ids.length, `duplicates in ${ids.join(', ')}`);
  assert.equal(doc.paths['/api/v1/nodes/{id}']!.get!.operationId, 'getApiV1NodesById');
  assert.equal(doc.paths['/api/v1/nodes/{id}']!.put!.operationId, 'putApiV1NodesById');
  assert.equal(doc.paths['/api/v1/metrics']!.post!.operationId, 'postApiV1Metrics');
  assert.equal(doc.paths['/metrics']!.get!.operationId, 'getMetrics');
  assert.equal(doc.paths['/api/v1/mongodb/cluster-status']!.get!.operationId, 'getApiV1MongodbClusterStatus');
});

test('public operations declare that they need no credential; the document names its server and licence', () => {
  assert.deepEqual(doc.paths['/health']!.get!.security, []);
  assert.deepEqual(doc.paths['/api/v1/auth/login']!.post!.security, []);
  assert.deepEqual(doc.paths['/api/v1/nodes']!.get!.security, [{ bearer: [] }, { apiKey: [] }]);
  assert.ok(Array.isArray(doc.servers) && doc.servers.length > 0);
  assert.equal(doc.info.license?.name, 'MIT');
});
