import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachBackend, openMigrated, type MigratedDatabase } from '../../../test/support/backends.ts';
import { camelCase } from '../../timeseries/family.ts';
import { FAMILIES } from '../families.ts';
import { getClusterStatus, latestSQL } from './status.ts';

const NOW = Math.floor(Date.now() / 1000) * 1000 - 5 * 60_000;
const ago = (s: number) => new Date(NOW - s * 1000).toISOString();

test('the latest-row query is generated from each declaration', () => {
  for (const f of FAMILIES) {
    const sql = latestSQL(f);
    assert.match(sql, new RegExp(`FROM ${f.table} t`));
    for (const c of f.columns) assert.ok(sql.includes(`t.${c.name}`), `${f.table}.${c.name}`);
    if (f.identity.length > 1) assert.match(sql, /DISTINCT ON \(t\.zone\)/);
    else assert.match(sql, /\(t\.node_id, t\.time\) > \(n\.id, \$1\)[\s\S]*ORDER BY t\.node_id DESC, t\.time DESC\s+LIMIT 1/);
  }
});

forEachBackend('cluster status', (kind) => {
  let m: MigratedDatabase;
  before(async () => {
    m = await openMigrated(kind);
  });
  after(async () => {
    await m.close();
  });

  test('every node with role, last_seen, health and the latest figures of each family it reports', async () => {
    // cs-db: system + mongodb; cs-mta: system + zonemta (two zones); cs-cache: redis only;
    // cs-new: registered, never reported; cs-slow: reports every 5 min, last 10 min ago
    await m.store.ingest('system', [
      { nodeId: 'cs-db', timestamp: ago(75), nodeRole: 'mongodb', cpuPercent: 10 },
      { nodeId: 'cs-db', timestamp: ago(15), nodeRole: 'mongodb', cpuPercent: 42.5 },
      { nodeId: 'cs-mta', timestamp: ago(100), nodeRole: 'zonemta', cpuPercent: 7 },
    ]);
    await m.store.ingest('mongodb', [
      { nodeId: 'cs-db', timestamp: ago(30), role: 'secondary', replLagSeconds: 3 },
      { nodeId: 'cs-db', timestamp: ago(10), role: 'primary', replLagSeconds: 0, opsInsert: 77 },
    ]);
    await m.store.ingest('zonemta', [
      { nodeId: 'cs-mta', zone: 'default', timestamp: ago(120), delivered: 1 },
      { nodeId: 'cs-mta', zone: 'default', timestamp: ago(60), delivered: 5, queueDeferred: 12 },
      { nodeId: 'cs-mta', zone: 'bulk', timestamp: ago(90), delivered: 500 },
    ]);
    await m.store.ingest('redis', [{ nodeId: 'cs-cache', timestamp: ago(20), role: 'master', memoryUsedBytes: 1e9 }]);
    await m.db.query(
      `INSERT INTO nodes (id, hostname, role, labels, last_seen, expected_interval_seconds) VALUES
         ('cs-new', 'new.example.net', 'rspamd', '{}', NULL, NULL),
         ('cs-slow', 'slow.example.net', 'host', '{"site": "lab"}', $1, 300)`,
      [ago(600)],
    );

    const ids = ['cs-db', 'cs-mta', 'cs-cache', 'cs-new', 'cs-slow'];
    const s = await getClusterStatus(m.db, FAMILIES, { now: new Date(NOW), nodeIds: ids });
    assert.deepEqual(
      s.nodes.map((n) => [n.id, n.role, n.health, n.lastSeen]),
      [
        ['cs-cache', null, 'ok', ago(20)],
        ['cs-db', 'mongodb', 'ok', ago(10)],
        ['cs-mta', 'zonemta', 'stale', ago(60)],
        ['cs-new', 'rspamd', 'unknown', null],
        ['cs-slow', 'host', 'ok', ago(600)],
      ],
    );
    assert.deepEqual(s.summary, { total: 5, ok: 3, stale: 1, unknown: 1, byRole: { unknown: 1, mongodb: 1, zonemta: 1, rspamd: 1, host: 1 } });
    const n = Object.fromEntries(s.nodes.map((x) => [x.id, x]));
    assert.equal(n['cs-slow']!.hostname, 'slow.example.net');
    assert.deepEqual(n['cs-slow']!.labels, { site: 'lab' });
    assert.equal(n['cs-slow']!.status, 'active');
    assert.equal(n['cs-slow']!.ageSeconds, 600);
    assert.equal(n['cs-db']!.expectedIntervalSeconds, 15);

    assert.deepEqual(Object.keys(n['cs-db']!.families).sort(), ['mongodb', 'system']);
    assert.equal(n['cs-db']!.families.system![0]!.cpuPercent, 42.5);
    assert.equal(n['cs-db']!.families.mongodb![0]!.role, 'primary');
    assert.equal(n['cs-db']!.families.mongodb![0]!.opsInsert, 77);
    assert.equal(n['cs-db']!.families.mongodb![0]!.timestamp, ago(10));
    assert.deepEqual(
      n['cs-mta']!.families.zonemta!.map((p) => [p.zone, p.timestamp, p.delivered, p.queueDeferred]),
      [
        ['bulk', ago(90), 500, null],
        ['default', ago(60), 5, 12],
      ],
    );
    assert.deepEqual(Object.keys(n['cs-cache']!.families), ['redis']);
    assert.deepEqual(n['cs-new']!.families, {});
    assert.deepEqual(n['cs-slow']!.families, {});

    // the fields are the family's ingest fields, derived from the declaration
    for (const f of FAMILIES) {
      for (const node of s.nodes) {
        for (const p of node.families[f.key] ?? []) {
          assert.deepEqual(Object.keys(p).sort(), ['timestamp', ...f.identity.map(camelCase), ...f.columns.map((c) => c.field)].sort(), f.key);
        }
      }
    }
  });

  test('`now` and the lookback window bound what counts as latest', async () => {
    await m.store.ingest('system', [
      { nodeId: 'cw-1', timestamp: ago(7200), cpuPercent: 1 },
      { nodeId: 'cw-1', timestamp: ago(3600), cpuPercent: 2 },
      { nodeId: 'cw-1', timestamp: ago(-60), cpuPercent: 3 },
    ]);
    const s = await getClusterStatus(m.db, FAMILIES, { now: new Date(NOW), nodeIds: ['cw-1'] });
    assert.equal(s.nodes[0]!.families.system![0]!.cpuPercent, 2, 'the row after `now` is not the latest');
    const narrow = await getClusterStatus(m.db, FAMILIES, { now: new Date(NOW), nodeIds: ['cw-1'], lookbackSeconds: 1800 });
    assert.deepEqual(narrow.nodes[0]!.families, {}, 'nothing within the last 30 minutes');
    const onlySystem = await getClusterStatus(
      m.db,
      FAMILIES.filter((f) => f.key !== 'system'),
      { now: new Date(NOW), nodeIds: ['cw-1'] },
    );
    assert.deepEqual(onlySystem.nodes[0]!.families, {}, 'only the families passed in are read');
  });
});
