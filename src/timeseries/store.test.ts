import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachBackend, openMigrated, EXPECTED_TIER, type MigratedDatabase } from '../../test/support/backends.ts';
import { IngestValidationError } from './ingest.ts';
import { QueryError } from './query.ts';

function sampleRows(now: number, nodes: string[], count: number, stepMs = 15_000) {
  const rows: Record<string, unknown>[] = [];
  for (let i = 0; i < count; i++) {
    for (const n of nodes) {
      rows.push({ nodeId: n, timestamp: new Date(now - i * stepMs).toISOString(), nodeRole: 'host', cpuPercent: (i * 7) % 100, ramUsedBytes: 1_000_000 + i, ramTotalBytes: 8_000_000, load1m: i / 10, tcpEstablished: i % 50 });
    }
  }
  return rows;
}

forEachBackend('time-series store', (kind) => {
  let m: MigratedDatabase;
  before(async () => {
    m = await openMigrated(kind);
  });
  after(async () => {
    await m.close();
  });

  test('migrates onto the expected storage tier', () => {
    assert.equal(m.tier, EXPECTED_TIER[kind]);
  });

  test('ingest stores a batch once; a retried batch stores nothing twice', async () => {
    const now = Date.now();
    const rows = sampleRows(now, ['ts-a', 'ts-b'], 40);
    const first = await m.store.ingest('system', rows);
    assert.deepEqual(first, { family: 'system', received: 80, inserted: 80, duplicates: 0 });
    const again = await m.store.ingest('system', rows);
    assert.equal(again.inserted, 0);
    const c = await m.db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM metrics_system WHERE node_id IN ('ts-a','ts-b')`);
    assert.equal(c?.n, 80);
  });

  test('a large batch (tried without conflict handling first) that partly overlaps stored rows stores only the new ones', async () => {
    // 3 × 200 = 600 rows: above the size written with ON CONFLICT at once (DIRECT_SKIP_ROWS, 500).
    const now = Date.now() - 7_200_000;
    const rows = sampleRows(now, ['big-a', 'big-b', 'big-c'], 200);
    assert.deepEqual(await m.store.ingest('system', rows.slice(0, 450)), { family: 'system', received: 450, inserted: 450, duplicates: 0 });
    assert.deepEqual(await m.store.ingest('system', rows), { family: 'system', received: 600, inserted: 150, duplicates: 450 });
    const c = await m.db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM metrics_system WHERE node_id IN ('big-a','big-b','big-c')`);
    assert.equal(c?.n, 600);
  });

  test('an invalid row rejects the whole batch with row index and field path', async () => {
    const now = Date.now();
    const rows = sampleRows(now - 3_600_000, ['ts-bad'], 5);
    rows[3] = { ...rows[3], cpuPercent: 140 };
    await assert.rejects(
      () => m.store.ingest('system', rows),
      (err: unknown) => {
        assert.ok(err instanceof IngestValidationError);
        assert.equal(err.issues[0]?.index, 3);
        assert.deepEqual(err.issues[0]?.path, ['cpuPercent']);
        return true;
      },
    );
    const c = await m.db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM metrics_system WHERE node_id = 'ts-bad'`);
    assert.equal(c?.n, 0);
  });

  test('unknown family and bad ranges are typed errors', async () => {
    await assert.rejects(() => m.store.query('nope', { from: new Date(0), to: new Date(1) }), (e: unknown) => e instanceof QueryError && e.code === 'UNKNOWN_FAMILY');
    const now = new Date();
    await assert.rejects(() => m.store.query('system', { from: now, to: now }), (e: unknown) => e instanceof QueryError && e.code === 'INVALID_TIME_RANGE');
    await assert.rejects(
      () => m.store.query('system', { from: new Date(now.getTime() - 500 * 86400_000), to: now }),
      (e: unknown) => e instanceof QueryError && e.code === 'SPAN_TOO_LARGE',
    );
  });
});
