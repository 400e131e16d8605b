import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachBackend, openMigrated, type MigratedDatabase } from '../../test/support/backends.ts';
import { WriteCoalescer } from './coalescer.ts';

forEachBackend('group commit of small batches', (kind) => {
  let m: MigratedDatabase;
  before(async () => {
    m = await openMigrated(kind);
  });
  after(async () => {
    await m.close();
  });

  test('concurrent single-row requests share transactions; each learns its own inserted count', async () => {
    const writer = new WriteCoalescer(m.store, { maxInFlight: 1 });
    const t = Date.now() - 60_000;
    let commits = 0;
    const realTx = m.db.transaction.bind(m.db);
    m.db.transaction = ((fn: Parameters<typeof realTx>[0]) => {
      commits++;
      return realTx(fn);
    }) as typeof m.db.transaction;
    try {
      const rows = Array.from({ length: 60 }, (_, i) => ({ nodeId: `gc-${i % 6}`, timestamp: new Date(t + Math.floor(i / 6) * 1000).toISOString(), cpuPercent: i }));
      // request 60 repeats request 0's row: a duplicate inside one group
      const requests = [...rows, rows[0]!].map((r) => writer.write('system', m.store.prepare('system', [r])));
      const counts = await Promise.all(requests);
      assert.equal(counts.slice(0, 60).reduce((a, b) => a + b, 0), 60);
      assert.equal(counts[60], 0, 'the repeated row is a duplicate');
      assert.ok(commits < 30, `61 requests used ${commits} transactions`);
      const stored = await m.db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM metrics_system WHERE node_id LIKE 'gc-%'`);
      assert.equal(stored?.n, 60);
    } finally {
      m.db.transaction = realTx;
    }
  });

  test('rows that differ only in microseconds: every concurrent request gets its exact count', async () => {
    const writer = new WriteCoalescer(m.store, { maxInFlight: 1 });
    // one millisecond, ten rows of one node: .000001 … .000010 after it
    const ms = new Date(Math.floor(Date.now() / 1000) * 1000 - 90_000).toISOString().slice(0, 23);
    const ts = (i: number) => `${ms}${String(i).padStart(3, '0')}Z`;
    const send = (rows: { nodeId: string; timestamp: string; cpuPercent: number }[]) => writer.write('system', m.store.prepare('system', rows));
    const rowsOf = (is: number[]) => is.map((i) => ({ nodeId: 'gc-us', timestamp: ts(i), cpuPercent: i }));
    // ten concurrent requests, one new row each; the 11th and 12th repeat rows of the 1st and 5th
    const first = await Promise.all([...[1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((i) => send(rowsOf([i]))), send(rowsOf([1])), send(rowsOf([5]))]);
    assert.deepEqual(first, [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0]);
    // concurrent two-row requests, each with one stored row and one new row
    const second = await Promise.all([send(rowsOf([1, 11])), send(rowsOf([12, 2])), send(rowsOf([3, 13])), send(rowsOf([14, 15]))]);
    assert.deepEqual(second, [1, 1, 1, 2]);
    const stored = await m.db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM metrics_system WHERE node_id = 'gc-us'`);
    assert.equal(stored?.n, 15);
  });

  test('a database error fails every member of the group and stores none of it', async () => {
    const writer = new WriteCoalescer(m.store, { maxInFlight: 1 });
    const t = Date.now() - 120_000;
    const realTx = m.db.transaction.bind(m.db);
    let calls = 0;
    m.db.transaction = (async (fn: Parameters<typeof realTx>[0]) =>
      realTx(async (tx) => {
        const r = await fn(tx);
        if (++calls === 2) await tx.query('SELECT 1/0'); // the second group fails after writing
        return r;
      })) as typeof m.db.transaction;
    try {
      const first = writer.write('system', m.store.prepare('system', [{ nodeId: 'gcf-0', timestamp: new Date(t).toISOString() }]));
      await new Promise((r) => setImmediate(r));
      const group = [1, 2, 3].map((i) => writer.write('system', m.store.prepare('system', [{ nodeId: `gcf-${i}`, timestamp: new Date(t).toISOString() }])));
      assert.equal(await first, 1);
      const results = await Promise.allSettled(group);
      assert.ok(results.every((r) => r.status === 'rejected'));
      const stored = await m.db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM metrics_system WHERE node_id LIKE 'gcf-%'`);
      assert.equal(stored?.n, 1);
    } finally {
      m.db.transaction = realTx;
    }
  });
});

forEachBackend('node inventory under repeated batches', (kind) => {
  test('a failed transaction does not leave the node registration skipped', async () => {
    const m = await openMigrated(kind);
    try {
      const t = Date.now() - 30_000;
      const realTx = m.db.transaction.bind(m.db);
      m.db.transaction = (async (fn: Parameters<typeof realTx>[0]) =>
        realTx(async (tx) => {
          await fn(tx);
          await tx.query('SELECT 1/0'); // fails after writing: nothing commits
        })) as typeof m.db.transaction;
      await assert.rejects(m.store.ingest('system', [{ nodeId: 'nt-1', timestamp: new Date(t).toISOString(), nodeRole: 'redis' }]));
      m.db.transaction = realTx;
      // the next sample, 1 s later, must still register the node
      await m.store.ingest('system', [{ nodeId: 'nt-1', timestamp: new Date(t + 1000).toISOString(), nodeRole: 'redis' }]);
      const n = await m.db.queryOne<{ role: string; last_seen: Date }>(`SELECT role, last_seen FROM nodes WHERE id = 'nt-1'`);
      assert.equal(n?.role, 'redis');
      assert.equal(n?.last_seen.getTime(), t + 1000);
      // within the throttle window last_seen is not rewritten, a role change is
      await m.store.ingest('system', [{ nodeId: 'nt-1', timestamp: new Date(t + 2000).toISOString(), nodeRole: 'redis' }]);
      assert.equal((await m.db.queryOne<{ last_seen: Date }>(`SELECT last_seen FROM nodes WHERE id = 'nt-1'`))?.last_seen.getTime(), t + 1000);
      await m.store.ingest('system', [{ nodeId: 'nt-1', timestamp: new Date(t + 3000).toISOString(), nodeRole: 'mongodb' }]);
      assert.equal((await m.db.queryOne<{ role: string }>(`SELECT role FROM nodes WHERE id = 'nt-1'`))?.role, 'mongodb');
      await m.store.ingest('system', [{ nodeId: 'nt-1', timestamp: new Date(t + 9000).toISOString(), nodeRole: 'mongodb' }]);
      assert.equal((await m.db.queryOne<{ last_seen: Date }>(`SELECT last_seen FROM nodes WHERE id = 'nt-1'`))?.last_seen.getTime(), t + 9000);
    } finally {
      await m.close();
    }
  });
});
