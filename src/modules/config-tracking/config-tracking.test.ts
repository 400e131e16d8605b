/**
 * Configuration tracking on real databases (every backend): the sink stores a
 * snapshot only when the masked content changed, one change event per change
 * with the diff, key paths, risk and services; secrets never reach storage;
 * any two snapshots of a file diff; concurrent collections of one file store
 * one snapshot; a HIGH-risk change raises an alert until it is processed.
 * Expected diffs, key paths and levels are written by hand.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Queryable } from '../../db/database.ts';
import { ManualClock } from '../../domain/clock.ts';
import { InvalidError } from '../../domain/errors.ts';
import { enabledBackends, openMigrated, type MigratedDatabase } from '../../../test/support/backends.ts';
import { ruleInputSchema } from '../alerts/conditions.ts';
import { AlertsService } from '../alerts/service.ts';
import type { CollectedConfigFile } from './contracts.ts';
import { configChangeObserver } from './observer.ts';
import { ConfigTracker, diffSnapshots, listChangeEvents, setProcessed } from './service.ts';

const T0 = Date.parse('2026-11-01T10:00:00Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000);

const NGINX_V1 = `http {
    server {
        listen 80;
        server_name example.org;
        root /srv/www;
    }
}
`;

for (const kind of enabledBackends()) {
  describe(`configuration tracking [${kind}]`, () => {
    let m: MigratedDatabase;
    const tracker = new ConfigTracker();
    let n = 0;
    const newNode = async () => {
      const id = `cfg-${kind}-${++n}`;
      await m.db.query('INSERT INTO nodes (id) VALUES ($1)', [id]);
      return id;
    };
    const file = (nodeId: string, filePath: string, content: string, minute: number): CollectedConfigFile => ({
      nodeId,
      filePath,
      content: Buffer.from(content),
      fileModifiedTime: at(minute - 1),
      collectedAt: at(minute),
      collectionSource: 'ssh',
      operationId: '00000000-0000-4000-8000-000000000001',
    });
    const record = (f: CollectedConfigFile) => m.db.transaction((tx) => tracker.record(tx, f));
    const snapshots = (nodeId: string) => m.db.queryMany<Record<string, unknown>>('SELECT * FROM configuration_snapshots WHERE node_id = $1 ORDER BY time', [nodeId]);
    const events = (nodeId: string) => m.db.queryMany<Record<string, unknown> & { changes_summary: Record<string, unknown> }>('SELECT * FROM configuration_change_events WHERE node_id = $1 ORDER BY time', [nodeId]);

    before(async () => {
      m = await openMigrated(kind);
    });
    after(async () => {
      await m.close();
    });

    test('first sight stores a baseline snapshot and no event; the same content again stores nothing', async () => {
      const node = await newNode();
      const first = await record(file(node, '/etc/nginx/nginx.conf', NGINX_V1, 0));
      assert.equal(first.changeType, 'created');
      assert.equal(first.changeEventId, null);
      const again = await record(file(node, '/etc/nginx/nginx.conf', NGINX_V1, 5));
      assert.deepEqual(again, { changeType: 'unchanged', snapshotId: null, changeEventId: null });
      const rows = await snapshots(node);
      assert.equal(rows.length, 1);
      assert.equal(rows[0]!.id, first.snapshotId);
      assert.equal(rows[0]!.change_type, 'created');
      assert.equal(rows[0]!.config_type, 'nginx');
      assert.equal(rows[0]!.previous_hash, null);
      assert.equal(rows[0]!.file_size_bytes, 103);
      assert.equal(rows[0]!.detection_latency_ms, 60_000);
      assert.deepEqual(rows[0]!.affected_services, ['nginx']);
      assert.equal((await events(node)).length, 0);
    });

    test('a changed nginx listen: one modified snapshot and one HIGH event with the diff lines and the key path', async () => {
      const node = await newNode();
      const s1 = await record(file(node, '/etc/nginx/nginx.conf', NGINX_V1, 0));
      const r = await record(file(node, '/etc/nginx/nginx.conf', NGINX_V1.replace('listen 80;', 'listen 8080;'), 10));
      assert.equal(r.changeType, 'modified');
      const rows = await snapshots(node);
      assert.equal(rows.length, 2);
      assert.equal(rows[1]!.previous_hash, rows[0]!.content_hash);
      assert.equal(rows[1]!.risk_level, 'HIGH');
      const evs = await events(node);
      assert.equal(evs.length, 1);
      const e = evs[0]!;
      assert.equal(e.id, r.changeEventId);
      assert.equal(e.snapshot_id, r.snapshotId);
      assert.notEqual(e.snapshot_id, s1.snapshotId);
      assert.equal(e.risk_level, 'HIGH');
      assert.equal(e.change_type, 'modified');
      assert.equal(e.config_type, 'nginx');
      assert.equal(e.confidence_score, 0.9);
      assert.equal(e.requires_restart, true);
      assert.deepEqual(e.affected_services, ['nginx']);
      assert.deepEqual(e.restart_services, ['nginx']);
      assert.equal(e.processed, false);
      const s = e.changes_summary;
      assert.deepEqual(s.lines, { added: 0, removed: 0, changed: 1 });
      assert.deepEqual(s.keyChanges, [{ key: 'http.server[server_name=example.org].listen', change: 'changed', old: '80', new: '8080' }]);
      assert.deepEqual((s.rules as { rule: string; risk: string }[]).map((x) => [x.rule, x.risk]), [['nginx-exposure', 'HIGH']]);
      assert.match((s.rules as { reason: string }[])[0]!.reason, /listen/);
      assert.deepEqual(s.restart, { required: true, action: 'reload', reason: 'nginx reads its configuration at start and on reload (nginx -s reload)' });
      assert.equal(
        s.unifiedDiff,
        [
          '--- /etc/nginx/nginx.conf\t2026-11-01T10:00:00.000Z',
          '+++ /etc/nginx/nginx.conf\t2026-11-01T10:10:00.000Z',
          '@@ -1,6 +1,6 @@',
          ' http {',
          '     server {',
          '-        listen 80;',
          '+        listen 8080;',
          '         server_name example.org;',
          '         root /srv/www;',
          '     }',
          '',
        ].join('\n'),
      );
    });

    test('ports added to a compose service: HIGH, that service affected and to be recreated', async () => {
      const node = await newNode();
      const v1 = 'services:\n  web:\n    image: nginx:1.27\n    depends_on:\n      - api\n  api:\n    image: example/api:2\n';
      const v2 = 'services:\n  web:\n    image: nginx:1.27\n    ports:\n      - "8080:80"\n    depends_on:\n      - api\n  api:\n    image: example/api:2\n';
      await record(file(node, '/srv/stack/docker-compose.yml', v1, 0));
      await record(file(node, '/srv/stack/docker-compose.yml', v2, 10));
      const [e] = await events(node);
      assert.equal(e!.config_type, 'docker-compose');
      assert.equal(e!.risk_level, 'HIGH');
      assert.deepEqual(e!.changes_summary.keyChanges, [{ key: 'services.web.ports[0]', change: 'added', new: '8080:80' }]);
      assert.deepEqual(e!.changes_summary.lines, { added: 2, removed: 0, changed: 0 });
      assert.deepEqual((e!.changes_summary.rules as { rule: string }[]).map((x) => x.rule), ['compose-ports']);
      assert.deepEqual(e!.affected_services, ['web']);
      assert.deepEqual(e!.restart_services, ['web']);
      assert.deepEqual(e!.service_dependencies, { web: ['api'] });
      assert.equal((e!.changes_summary.restart as { action: string }).action, 'recreate');
    });

    test('a comment-only change (and spacing) is LOW and needs no reload', async () => {
      const node = await newNode();
      await record(file(node, '/etc/nginx/nginx.conf', NGINX_V1, 0));
      const v2 = NGINX_V1.replace('        root /srv/www;\n', '        # static files\n        root   /srv/www;\n');
      const r = await record(file(node, '/etc/nginx/nginx.conf', v2, 10));
      assert.equal(r.changeType, 'modified');
      const [e] = await events(node);
      assert.equal(e!.risk_level, 'LOW');
      assert.deepEqual(e!.changes_summary.keyChanges, []);
      assert.deepEqual(e!.changes_summary.lines, { added: 1, removed: 0, changed: 1 });
      assert.deepEqual((e!.changes_summary.rules as { rule: string; risk: string }[]).map((x) => [x.rule, x.risk]), [['cosmetic', 'LOW']]);
      assert.equal(e!.requires_restart, false);
      assert.deepEqual(e!.restart_services, []);
    });

    test('a changed secret in .env: masked in every stored column, still detected as a change, HIGH, values hidden', async () => {
      const node = await newNode();
      await record(file(node, '/srv/app/.env', 'DB_HOST=db\nDB_PASSWORD=hunter2\n', 0));
      const r = await record(file(node, '/srv/app/.env', 'DB_HOST=db\nDB_PASSWORD=correct-horse\n', 10));
      assert.equal(r.changeType, 'modified');
      const stored = await m.db.queryMany<{ t: string }>(
        `SELECT row_to_json(s)::text AS t FROM configuration_snapshots s WHERE node_id = $1
         UNION ALL SELECT row_to_json(e)::text FROM configuration_change_events e WHERE node_id = $1`,
        [node],
      );
      assert.equal(stored.length, 3);
      for (const { t } of stored) {
        assert.ok(!t.includes('hunter2'), 'the old secret is not stored');
        assert.ok(!t.includes('correct-horse'), 'the new secret is not stored');
      }
      const [a, b] = await snapshots(node);
      assert.match(a!.raw_content as string, /^DB_HOST=db\nDB_PASSWORD=\*\*\*sha256:[0-9a-f]{8}\n$/);
      assert.match(b!.raw_content as string, /^DB_HOST=db\nDB_PASSWORD=\*\*\*sha256:[0-9a-f]{8}\n$/);
      assert.notEqual(a!.raw_content, b!.raw_content);
      assert.deepEqual(b!.parsed_data, { DB_HOST: 'db', DB_PASSWORD: (b!.raw_content as string).slice(23, -1) });
      const [e] = await events(node);
      assert.equal(e!.config_type, 'env');
      assert.equal(e!.risk_level, 'HIGH');
      assert.deepEqual(e!.changes_summary.keyChanges, [{ key: 'DB_PASSWORD', change: 'changed', masked: true }]);
      assert.deepEqual((e!.changes_summary.rules as { rule: string }[]).map((x) => x.rule), ['secret-changed']);
      assert.equal(e!.confidence_score, 0.4, 'the services using an .env file are not known');
      assert.deepEqual(e!.affected_services, []);
      assert.equal(e!.requires_restart, true);
    });

    test('the diff between snapshot 1 and 3 of a file (and back)', async () => {
      const node = await newNode();
      const s1 = await record(file(node, '/srv/app/settings.yaml', 'a: 1\nb: 2\n', 0));
      await record(file(node, '/srv/app/settings.yaml', 'a: 1\nb: 3\n', 10));
      const s3 = await record(file(node, '/srv/app/settings.yaml', 'a: 5\nb: 3\nc: x\n', 20));
      const d = await diffSnapshots(m.db, node, s1.snapshotId!, s3.snapshotId!);
      assert.equal(d.filePath, '/srv/app/settings.yaml');
      assert.equal(d.configType, 'yaml');
      assert.equal(d.identical, false);
      assert.deepEqual(d.lines, { added: 1, removed: 0, changed: 2 });
      assert.deepEqual(d.keyChanges, [
        { key: 'a', change: 'changed', old: '1', new: '5' },
        { key: 'b', change: 'changed', old: '2', new: '3' },
        { key: 'c', change: 'added', new: 'x' },
      ]);
      assert.equal(d.riskLevel, 'MEDIUM');
      assert.equal(d.unifiedDiff, '--- /srv/app/settings.yaml\t2026-11-01T10:00:00.000Z\n+++ /srv/app/settings.yaml\t2026-11-01T10:20:00.000Z\n@@ -1,2 +1,3 @@\n-a: 1\n-b: 2\n+a: 5\n+b: 3\n+c: x\n');
      const back = await diffSnapshots(m.db, node, s3.snapshotId!, s1.snapshotId!);
      assert.deepEqual(back.keyChanges, [
        { key: 'a', change: 'changed', old: '5', new: '1' },
        { key: 'b', change: 'changed', old: '3', new: '2' },
        { key: 'c', change: 'removed', old: 'x' },
      ]);
      assert.deepEqual(back.lines, { added: 0, removed: 1, changed: 2 });
    });

    test('bad input to the sink: a relative path, a .. segment, binary content, an unknown node', async () => {
      const node = await newNode();
      for (const [path, field] of [['etc/nginx/nginx.conf', 'filePath'], ['/etc/nginx/../shadow', 'filePath']] as const) {
        await assert.rejects(record(file(node, path, 'x', 0)), (e: unknown) => e instanceof InvalidError && e.code === 'CONFIG_PATH_INVALID' && e.issues[0]!.path === field);
      }
      await assert.rejects(
        record({ ...file(node, '/etc/app.bin', '', 0), content: Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x00, 0x01]) }),
        (e: unknown) => e instanceof InvalidError && e.code === 'CONFIG_FILE_BINARY',
      );
      await assert.rejects(record(file('no-such-node', '/etc/hosts', '127.0.0.1 localhost\n', 0)), { code: 'NODE_NOT_FOUND' });
      assert.equal((await snapshots(node)).length, 0);
    });

    test('two collections of the same file at once store one snapshot of a content', { skip: kind !== 'postgres' ? 'needs concurrent connections (the real PostgreSQL server)' : false }, async () => {
      const node = await newNode();
      const firsts = await Promise.all([0, 1, 2, 3].map(() => record(file(node, '/etc/nginx/nginx.conf', NGINX_V1, 0))));
      assert.deepEqual(firsts.map((r) => r.changeType).sort(), ['created', 'unchanged', 'unchanged', 'unchanged']);
      const v2 = NGINX_V1.replace('listen 80;', 'listen 8080;');
      const seconds = await Promise.all([0, 1, 2, 3].map(() => record(file(node, '/etc/nginx/nginx.conf', v2, 10))));
      assert.deepEqual(seconds.map((r) => r.changeType).sort(), ['modified', 'unchanged', 'unchanged', 'unchanged']);
      assert.equal((await snapshots(node)).length, 2);
      assert.equal((await events(node)).length, 1);
    });

    test('the config_change observer: a series per device and file while a HIGH change is unprocessed; processed → recovered', async () => {
      const node = await newNode();
      await record(file(node, '/etc/nginx/nginx.conf', NGINX_V1, 0));
      await record(file(node, '/etc/nginx/nginx.conf', NGINX_V1.replace('listen 80;', 'listen 8080;'), 10));
      await record(file(node, '/srv/app/settings.yaml', 'a: 1\n', 0));
      await record(file(node, '/srv/app/settings.yaml', 'a: 2\n', 10)); // MEDIUM: not a series of a HIGH rule
      const observe = (minRisk: string) =>
        m.db.transaction(async (tx: Queryable) => (await configChangeObserver.observe(tx, { kind: 'config_change', minRisk }, { kind: 'all', values: [] }, at(15))).filter((o) => o.nodeId === node));
      const high = (await events(node)).find((e) => e.file_path === '/etc/nginx/nginx.conf');
      const obs = await observe('HIGH');
      assert.equal(obs.length, 1);
      assert.deepEqual(obs[0]!.series, { node, file: '/etc/nginx/nginx.conf' });
      assert.equal(obs[0]!.holds, true);
      assert.equal(obs[0]!.recovered, false);
      assert.equal(obs[0]!.value, 1);
      assert.equal(obs[0]!.details.changeEventId, high!.id);
      assert.match(obs[0]!.message, /listen/);
      assert.deepEqual((await observe('MEDIUM')).map((o) => [o.series.file, o.holds]), [['/etc/nginx/nginx.conf', true], ['/srv/app/settings.yaml', true]]);
      await setProcessed(m.db, high!.id as string, true);
      assert.deepEqual((await observe('HIGH')).map((o) => [o.series.file, o.holds, o.recovered]), [['/etc/nginx/nginx.conf', false, true]]);
      const page = await listChangeEvents(m.db, { nodeId: node, processed: false }, { page: 1, pageSize: 10 });
      assert.deepEqual(page.items.map((e) => e.filePath), ['/srv/app/settings.yaml']);
    });

    test('through the alert evaluator: a HIGH change fires, marking it processed resolves', async () => {
      const node = await newNode();
      const clock = new ManualClock(at(30));
      const alerts = new AlertsService({ db: m.db, clock, observers: { config_change: configChangeObserver } });
      await m.db.query('UPDATE alert_rules SET enabled = false');
      const rule = await alerts.createRule(ruleInputSchema.parse({ name: `config-${node}`, severity: 'warning', condition: { kind: 'config_change', minRisk: 'HIGH' }, noDataPolicy: 'ok' }));
      await record(file(node, '/srv/app/.env', 'API_TOKEN=one\n', 20));
      await record(file(node, '/srv/app/.env', 'API_TOKEN=two\n', 25));
      await alerts.evaluate();
      const mine = () => m.db.queryMany<{ status: string; labels: Record<string, string> }>(`SELECT status, labels FROM alert_events WHERE rule_id = $1 AND labels->>'node' = $2 ORDER BY id`, [rule.id, node]);
      assert.deepEqual((await mine()).map((e) => [e.status, e.labels.file]), [['firing', '/srv/app/.env']]);
      const [e] = await events(node);
      await setProcessed(m.db, e!.id as string, true);
      clock.set(at(31));
      await alerts.evaluate();
      assert.deepEqual((await mine()).map((x) => x.status), ['resolved']);
    });
  });
}
