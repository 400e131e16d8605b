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

  test('a small group is one statement: its rows, their rollup invalidations and the node rows, without a transaction', async () => {
    const writer = new WriteCoalescer(m.store, { maxInFlight: 1 });
    // a minute boundary two minutes ago: every row below falls into its 5-minute bucket or the one before
    const t = Math.floor(Date.now() / 60_000) * 60_000 - 120_000;
    const invalidations = async () => (await m.db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM opsdeck_rollup_invalidations WHERE family = 'metrics_system'`))!.n;
    const send = (node: string, at: number) => writer.write('system', m.store.prepare('system', [{ nodeId: node, nodeRole: 'web', timestamp: new Date(at).toISOString(), cpuPercent: 1 }]));
    // the first write of the range creates its partitions (postgres tier) in a transaction
    assert.equal(await send('one-0', t), 1);
    let transactions = 0;
    const realTx = m.db.transaction.bind(m.db);
    m.db.transaction = ((fn: Parameters<typeof realTx>[0]) => {
      transactions++;
      return realTx(fn);
    }) as typeof m.db.transaction;
    try {
      const before = await invalidations();
      const counts = await Promise.all([send('one-1', t + 1000), send('one-2', t + 2000), send('one-3', t + 3000), send('one-1', t + 1000)]);
      assert.deepEqual(counts, [1, 1, 1, 0], 'the repeated row is counted once, for the first request that sent it');
      assert.equal(transactions, 0, 'known partitions: no transaction');
      const nodes = await m.db.queryMany<{ id: string; role: string; last_seen: Date }>(`SELECT id, role, last_seen FROM nodes WHERE id IN ('one-1', 'one-2', 'one-3') ORDER BY id`);
      assert.deepEqual(
        nodes.map((n) => [n.id, n.role, n.last_seen.getTime()]),
        [
          ['one-1', 'web', t + 1000],
          ['one-2', 'web', t + 2000],
          ['one-3', 'web', t + 3000],
        ],
      );
      const after = await invalidations();
      // postgres tier: one invalidation row per 5-minute bucket of the group (t and t+3 s share one); TimescaleDB keeps its own
      assert.equal(after - before, m.tier === 'postgres' ? 1 : 0);
      // a group of rows already stored: nothing new, so no invalidation
      assert.deepEqual(await Promise.all([send('one-2', t + 2000), send('one-3', t + 3000)]), [0, 0]);
      assert.equal(await invalidations(), after);
      assert.equal(transactions, 0);
    } finally {
      m.db.transaction = realTx;
    }
  });

  test('a database error fails every member of the group and stores none of it: rows, invalidations, node rows', async () => {
    const writer = new WriteCoalescer(m.store, { maxInFlight: 1 });
    const t = Date.now() - 120_000;
    const send = (i: number) => writer.write('system', m.store.prepare('system', [{ nodeId: `gcf-${i}`, timestamp: new Date(t).toISOString() }]));
    const invalidations = async () => (await m.db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM opsdeck_rollup_invalidations WHERE family = 'metrics_system'`))!.n;
    assert.equal(await send(0), 1);
    // the database refuses the group's last row after it wrote the others
    await m.db.query(`CREATE FUNCTION gcf_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.node_id = 'gcf-3' THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$`);
    await m.db.query(`CREATE TRIGGER gcf_refuse BEFORE INSERT ON metrics_system FOR EACH ROW EXECUTE FUNCTION gcf_refuse()`);
    try {
      const before = await invalidations();
      const results = await Promise.allSettled([1, 2, 3].map(send));
      assert.deepEqual(
        results.map((r) => r.status),
        ['rejected', 'rejected', 'rejected'],
      );
      const stored = await m.db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM metrics_system WHERE node_id LIKE 'gcf-%'`);
      assert.equal(stored?.n, 1);
      assert.equal(await invalidations(), before);
      const nodes = await m.db.queryMany<{ id: string }>(`SELECT id FROM nodes WHERE id LIKE 'gcf-%' ORDER BY id`);
      assert.deepEqual(nodes.map((n) => n.id), ['gcf-0']);
    } finally {
      await m.db.query('DROP TRIGGER gcf_refuse ON metrics_system');
      await m.db.query('DROP FUNCTION gcf_refuse()');
    }
    // the failed group's nodes are registered by their next rows (the process did not keep them as written)
    assert.equal(await send(1), 1);
    assert.deepEqual((await m.db.queryMany<{ id: string }>(`SELECT id FROM nodes WHERE id LIKE 'gcf-%' ORDER BY id`)).map((n) => n.id), ['gcf-0', 'gcf-1']);
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
