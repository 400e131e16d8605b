/**
 * The configuration-tracking API over HTTP on the real runtime: history per
 * device and file, a snapshot's masked content, the diff of any two snapshots,
 * change events with their filters, marking processed (operators), the change
 * frequency, and bad input (400 naming the field, 404 for unknown ids).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { enabledBackends } from '../../../test/support/backends.ts';
import { buildTestRuntime, type TestRuntime } from '../../../test/support/app.ts';
import { loginAs } from '../../../test/support/auth.ts';
import { ConfigTracker } from './service.ts';

const T0 = Date.parse('2026-11-01T10:00:00Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000);
const NODE = 'web-1';
const COMPOSE = '/srv/stack/compose.yaml';
const MISSING = '00000000-0000-4000-8000-0000000000ff';

for (const kind of enabledBackends()) {
  describe(`configuration tracking API [${kind}]`, () => {
    let rt: TestRuntime;
    let viewer: string;
    let operator: string;
    const ids: string[] = [];
    let otherFile = '';
    const get = (url: string, auth = viewer) => rt.app.inject({ method: 'GET', url, headers: { authorization: auth } });

    before(async () => {
      rt = await buildTestRuntime(kind);
      viewer = await loginAs(rt, 'viewer');
      operator = await loginAs(rt, 'operator');
      await rt.db.query('INSERT INTO nodes (id) VALUES ($1)', [NODE]);
      const tracker = new ConfigTracker();
      const put = (path: string, content: string, minute: number) =>
        rt.db.transaction((tx) =>
          tracker.record(tx, { nodeId: NODE, filePath: path, content: Buffer.from(content), fileModifiedTime: null, collectedAt: at(minute), collectionSource: 'push', operationId: MISSING }),
        );
      const versions = [
        'services:\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: hunter2\n',
        'services:\n  db:\n    image: postgres:17\n    environment:\n      POSTGRES_PASSWORD: hunter2\n',
        'services:\n  db:\n    image: postgres:17\n    environment:\n      POSTGRES_PASSWORD: hunter2\n    ports:\n      - "5432:5432"\n',
      ];
      for (const [i, v] of versions.entries()) ids.push((await put(COMPOSE, v, i * 10)).snapshotId!);
      otherFile = (await put('/etc/ssh/sshd_config', 'PermitRootLogin no\n', 5)).snapshotId!;
    });
    after(async () => {
      await rt.destroy();
    });

    test('the tracked files and the history of one file, newest first, paged', async () => {
      const files = await get(`/api/v1/devices/${NODE}/configs`);
      assert.equal(files.statusCode, 200, files.body);
      assert.deepEqual(
        files.json().items.map((f: { filePath: string; snapshots: number; changes: number; riskLevel: string }) => [f.filePath, f.snapshots, f.changes, f.riskLevel]),
        [[COMPOSE, 3, 2, 'HIGH'], ['/etc/ssh/sshd_config', 1, 0, 'LOW']],
      );
      const page1 = await get(`/api/v1/devices/${NODE}/configs/snapshots?path=${encodeURIComponent(COMPOSE)}&pageSize=2`);
      assert.equal(page1.statusCode, 200, page1.body);
      const body = page1.json();
      assert.equal(body.total, 3);
      assert.equal(body.totalPages, 2);
      assert.deepEqual(body.items.map((s: { id: string; changeType: string; riskLevel: string }) => [s.id, s.changeType, s.riskLevel]), [[ids[2], 'modified', 'HIGH'], [ids[1], 'modified', 'MEDIUM']]);
      assert.equal(body.items[0].previousHash, body.items[1].contentHash);
      assert.equal(body.items[0].rawContent, undefined, 'lists leave the content out');
    });

    test('one snapshot: content and parsed data with the secret masked', async () => {
      const r = await get(`/api/v1/devices/${NODE}/configs/snapshots/${ids[0]}`);
      assert.equal(r.statusCode, 200, r.body);
      const s = r.json();
      assert.equal(s.configType, 'docker-compose');
      assert.ok(!r.body.includes('hunter2'));
      assert.match(s.rawContent, /^ {6}POSTGRES_PASSWORD: "\*\*\*sha256:[0-9a-f]{8}"$/m);
      assert.match(s.parsedData.services.db.environment.POSTGRES_PASSWORD, /^\*\*\*sha256:[0-9a-f]{8}$/);
      assert.equal(s.parsedData.services.db.image, 'postgres:16');
    });

    test('the diff between snapshot 1 and 3: unified diff, key changes, HIGH for the published port', async () => {
      const r = await get(`/api/v1/devices/${NODE}/configs/diff?from=${ids[0]}&to=${ids[2]}`);
      assert.equal(r.statusCode, 200, r.body);
      const d = r.json();
      assert.deepEqual(d.keyChanges, [
        { key: 'services.db.image', change: 'changed', old: 'postgres:16', new: 'postgres:17' },
        { key: 'services.db.ports[0]', change: 'added', new: '5432:5432' },
      ]);
      assert.deepEqual(d.lines, { added: 2, removed: 0, changed: 1 });
      assert.equal(d.riskLevel, 'HIGH');
      assert.deepEqual(d.rules.map((x: { rule: string }) => x.rule), ['compose-ports']);
      assert.ok(d.unifiedDiff.includes('\n-    image: postgres:16\n+    image: postgres:17\n'), d.unifiedDiff);
      assert.ok(d.unifiedDiff.includes('\n+    ports:\n+      - "5432:5432"\n'), d.unifiedDiff);
    });

    test('change events: filters, one event, marking processed (operators only)', async () => {
      const high = await get(`/api/v1/config-changes?nodeId=${NODE}&riskLevel=HIGH`);
      assert.equal(high.statusCode, 200, high.body);
      assert.equal(high.json().total, 1);
      const ev = high.json().items[0];
      assert.equal(ev.snapshotId, ids[2]);
      assert.equal(ev.processed, false);
      assert.equal((await get(`/api/v1/config-changes?nodeId=${NODE}&minRisk=MEDIUM`)).json().total, 2);
      assert.equal((await get(`/api/v1/config-changes?from=${at(15).toISOString()}&to=${at(25).toISOString()}`)).json().total, 1);
      assert.equal((await get(`/api/v1/config-changes/${ev.id}`)).json().riskLevel, 'HIGH');

      const denied = await rt.app.inject({ method: 'PUT', url: `/api/v1/config-changes/${ev.id}/processed`, headers: { authorization: viewer }, payload: {} });
      assert.equal(denied.statusCode, 403);
      const done = await rt.app.inject({ method: 'PUT', url: `/api/v1/config-changes/${ev.id}/processed`, headers: { authorization: operator }, payload: {} });
      assert.equal(done.statusCode, 200, done.body);
      assert.equal(done.json().processed, true);
      assert.deepEqual((await get(`/api/v1/config-changes?nodeId=${NODE}&processed=false`)).json().items.map((e: { snapshotId: string }) => e.snapshotId), [ids[1]]);
    });

    test('change frequency per device and file', async () => {
      const r = await get(`/api/v1/config-changes/frequency?from=${at(0).toISOString()}&to=${at(24 * 60).toISOString()}`);
      assert.equal(r.statusCode, 200, r.body);
      assert.equal(r.json().days, 1);
      const mine = r.json().items.filter((i: { nodeId: string }) => i.nodeId === NODE);
      assert.deepEqual(
        mine.map((i: Record<string, unknown>) => [i.filePath, i.configType, i.changes, i.highRisk, i.firstChange, i.lastChange, i.changesPerDay]),
        [[COMPOSE, 'docker-compose', 2, 1, at(10).toISOString(), at(20).toISOString(), 2]],
      );
    });

    test('the runtime wires the default rule and the observer: a HIGH change fires "Config Change High Risk", marking it processed over HTTP resolves it', async () => {
      const node = 'web-alerting';
      await rt.db.query('INSERT INTO nodes (id) VALUES ($1)', [node]);
      const put = (content: string, minute: number) =>
        rt.db.transaction((tx) =>
          rt.configTracking.sink.record(tx, { nodeId: node, filePath: '/etc/ssh/sshd_config', content: Buffer.from(content), fileModifiedTime: null, collectedAt: at(minute), collectionSource: 'ssh', operationId: MISSING }),
        );
      await put('PermitRootLogin no\n', 0);
      const changed = await put('PermitRootLogin yes\n', 10);
      const alerts = () =>
        rt.db.queryMany<{ status: string; labels: Record<string, string> }>(
          `SELECT e.status, e.labels FROM alert_events e JOIN alert_rules r ON r.id = e.rule_id WHERE r.name = 'Config Change High Risk' AND e.labels->>'node' = $1 ORDER BY e.id`,
          [node],
        );
      await rt.alerts.service.evaluate();
      assert.deepEqual((await alerts()).map((a) => [a.status, a.labels.file]), [['firing', '/etc/ssh/sshd_config']]);
      const done = await rt.app.inject({ method: 'PUT', url: `/api/v1/config-changes/${changed.changeEventId}/processed`, headers: { authorization: operator }, payload: { processed: true } });
      assert.equal(done.statusCode, 200, done.body);
      await rt.alerts.service.evaluate();
      assert.deepEqual((await alerts()).map((a) => a.status), ['resolved']);
    });

    test('bad input: 400 naming the field; snapshots of different files 400; unknown ids 404', async () => {
      const cases: [string, string][] = [
        [`/api/v1/devices/${NODE}/configs/snapshots?path=etc/nginx/nginx.conf`, 'querystring.path'],
        [`/api/v1/devices/${NODE}/configs/snapshots?path=/etc/nginx/../shadow`, 'querystring.path'],
        [`/api/v1/config-changes?path=relative.conf`, 'querystring.path'],
        [`/api/v1/devices/${NODE}/configs/diff?from=${ids[0]}&to=nope`, 'querystring.to'],
        [`/api/v1/config-changes?riskLevel=SEVERE`, 'querystring.riskLevel'],
        [`/api/v1/devices/${NODE}/configs/snapshots/not-a-uuid`, 'params.snapshotId'],
      ];
      for (const [url, path] of cases) {
        const r = await get(url);
        assert.equal(r.statusCode, 400, `${url}: ${r.body}`);
        assert.ok(r.json().errors.some((e: { path: string }) => e.path === path), `${url}: ${JSON.stringify(r.json().errors)}`);
      }
      for (const url of [`/api/v1/config-changes?from=${at(10).toISOString()}&to=${at(5).toISOString()}`, `/api/v1/config-changes/frequency?from=${at(10).toISOString()}&to=${at(10).toISOString()}`]) {
        const r = await get(url);
        assert.equal(r.statusCode, 400, `${url}: ${r.body}`);
        assert.equal(r.json().code, 'INVALID_TIME_RANGE');
      }
      const mixed = await get(`/api/v1/devices/${NODE}/configs/diff?from=${ids[0]}&to=${otherFile}`);
      assert.equal(mixed.statusCode, 400, mixed.body);
      assert.equal(mixed.json().code, 'CONFIG_DIFF_DIFFERENT_FILES');

      const notFound: [string, string][] = [
        [`/api/v1/devices/${NODE}/configs/snapshots/${MISSING}`, 'CONFIG_SNAPSHOT_NOT_FOUND'],
        [`/api/v1/devices/${NODE}/configs/diff?from=${ids[0]}&to=${MISSING}`, 'CONFIG_SNAPSHOT_NOT_FOUND'],
        [`/api/v1/devices/no-such-device/configs`, 'NODE_NOT_FOUND'],
        [`/api/v1/devices/no-such-device/configs/snapshots/${ids[0]}`, 'NODE_NOT_FOUND'],
        [`/api/v1/config-changes/${MISSING}`, 'CONFIG_CHANGE_NOT_FOUND'],
      ];
      for (const [url, code] of notFound) {
        const r = await get(url);
        assert.equal(r.statusCode, 404, `${url}: ${r.body}`);
        assert.equal(r.json().code, code);
      }
      const put = await rt.app.inject({ method: 'PUT', url: `/api/v1/config-changes/${MISSING}/processed`, headers: { authorization: operator }, payload: {} });
      assert.equal(put.statusCode, 404);
    });
  });
}
