import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { enabledBackends, forEachBackend, openMigrated, createTestDatabase, refreshRollups, type MigratedDatabase } from '../../test/support/backends.ts';
import { PostgresDatabase } from '../db/postgres-driver.ts';
import { migrate } from '../db/migrator.ts';
import { JobRunner, jobHistory } from './runner.ts';
import { storageJobs } from './storage-jobs.ts';

const DAY = 86_400_000;

forEachBackend('storage jobs', (kind) => {
  let m: MigratedDatabase;
  before(async () => {
    m = await openMigrated(kind);
  });
  after(async () => {
    await m.close();
  });

  test('the job set depends on the tier', () => {
    const names = storageJobs(m.db, m.store).map((j) => j.name).sort();
    assert.deepEqual(names, m.tier === 'postgres' ? ['partition-maintenance', 'retention', 'rollup-refresh'] : ['retention']);
  });

  test('runs are recorded with outcome, duration and details', async () => {
    const runner = new JobRunner({ db: m.db, instance: 'test-1' });
    for (const j of storageJobs(m.db, m.store)) runner.register(j);
    runner.register({ name: 'always-fails', description: 'test', intervalMs: 60_000, run: async () => Promise.reject(new Error('boom')) });
    const ok = await runner.runOnce('retention');
    assert.equal(ok.outcome, 'ok');
    const bad = await runner.runOnce('always-fails');
    assert.equal(bad.outcome, 'error');
    assert.equal(bad.error, 'boom');
    const hist = await jobHistory(m.db, { limit: 10 });
    const mine = hist.filter((h) => h.instance === 'test-1');
    assert.deepEqual(mine.map((h) => h.job).sort(), ['always-fails', 'retention']);
    assert.equal(mine.find((h) => h.job === 'always-fails')?.error, 'boom');
    assert.ok(mine.every((h) => h.duration_ms !== null && h.finished_at !== null));
  });

  test('a job with transaction: false runs under a lease, outside any transaction, one holder at a time', async () => {
    const a = new JobRunner({ db: m.db, instance: 'lease-a' });
    const b = new JobRunner({ db: m.db, instance: 'lease-b' });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    const seen: { inTransaction: boolean; busy: number }[] = [];
    const job = (blocking: boolean) => ({
      name: 'leased-test',
      description: 'test',
      intervalMs: 60_000,
      transaction: false,
      run: async () => {
        const s = m.db.poolStats();
        seen.push({ inTransaction: m.db.inTransaction(), busy: s.total - s.idle });
        if (blocking) {
          entered();
          await gate;
        }
        return { ran: true };
      },
    });
    a.register(job(true));
    b.register(job(false));
    const first = a.runOnce('leased-test');
    await inside;
    const lease = await m.db.queryOne<{ holder: string; live: boolean }>(
      `SELECT holder, expires_at > clock_timestamp() AS live FROM opsdeck_job_leases WHERE job = 'leased-test'`,
    );
    assert.match(lease?.holder ?? '', /^lease-a#/);
    assert.equal(lease?.live, true);
    assert.equal((await b.runOnce('leased-test')).outcome, 'skipped', 'the other process skips while the lease is held');
    release();
    assert.equal((await first).outcome, 'ok');
    assert.deepEqual(seen, [{ inTransaction: false, busy: 0 }], 'no transaction and no pooled connection held while the job waits');
    assert.equal((await m.db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM opsdeck_job_leases WHERE job = 'leased-test'`))?.n, 0, 'the lease is given back');
    assert.equal((await b.runOnce('leased-test')).outcome, 'ok', 'then the other process may run it');
  });

  test('a lease whose holder died expires; a live lease of another holder is respected', async () => {
    const r = new JobRunner({ db: m.db, instance: 'lease-c' });
    let runs = 0;
    r.register({ name: 'leased-expiry', description: 'test', intervalMs: 60_000, transaction: false, run: async () => void runs++ });
    await m.db.query(
      `INSERT INTO opsdeck_job_leases (job, holder, acquired_at, expires_at) VALUES ('leased-expiry', 'dead#1', now() - interval '10 minutes', now() + interval '1 hour')`,
    );
    assert.equal((await r.runOnce('leased-expiry')).outcome, 'skipped');
    assert.equal(runs, 0);
    await m.db.query(`UPDATE opsdeck_job_leases SET expires_at = now() - interval '1 second' WHERE job = 'leased-expiry'`);
    assert.equal((await r.runOnce('leased-expiry')).outcome, 'ok');
    assert.equal(runs, 1);
  });

  if (kind !== 'timescale') {
    test('postgres tier: partitions exist ahead of time and whole partitions past retention are dropped', async () => {
      const aheadName = `'metrics_system_p' || to_char((now() + interval '2 days') AT TIME ZONE 'UTC', 'YYYYMMDD') || 't0000'`;
      const ahead = async () =>
        (await m.db.queryOne<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
           WHERE i.inhparent = 'metrics_system'::regclass AND c.relname = ${aheadName}`,
        ))?.n;
      // Remove the partition two days ahead (created at migration): maintenance must create it again.
      const name = (await m.db.queryOne<{ t: string }>(`SELECT ${aheadName} AS t`))!.t;
      await m.db.exec(`DROP TABLE ${name}`);
      assert.equal(await ahead(), 0);
      assert.equal(await m.store.maintainPartitions(), 1, 'exactly the missing partition is created');
      assert.equal(await ahead(), 1, 'a partition two days ahead exists');
      assert.equal(await m.store.maintainPartitions(), 0, 'nothing left to create');
      // An old partition with rows, as if the data had aged past the 90-day retention.
      const old = new Date(Date.now() - 100 * DAY);
      await m.db.query(`SELECT opsdeck_ensure_partitions('metrics_system', $1, $2)`, [old.toISOString(), new Date(old.getTime() + 1).toISOString()]);
      await m.db.query(`INSERT INTO metrics_system (time, node_id, cpu_percent) VALUES ($1, 'old-node', 1)`, [old.toISOString()]);
      const r = await m.store.applyRetention();
      assert.equal(r.droppedPartitions.length, 1);
      assert.match(r.droppedPartitions[0]!, /^metrics_system_p/);
      const left = await m.db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM metrics_system WHERE node_id = 'old-node'`);
      assert.equal(left?.n, 0);
      // ingest into the time range of a dropped partition re-creates it
      const recent = new Date(Date.now() - 88 * DAY); // inside the ingest horizon (ingestHorizonSeconds)
      const res = await m.store.ingest('system', [{ nodeId: 'old-node', timestamp: recent.toISOString(), cpuPercent: 2 }]);
      assert.equal(res.inserted, 1);
    });

    test('postgres tier: rollup refresh processes invalidated buckets and leaves none pending', async () => {
      const now = Date.now();
      await m.store.ingest('system', [0, 1, 2, 3].map((i) => ({ nodeId: 'rj-1', timestamp: new Date(now - i * 60_000).toISOString(), cpuPercent: 10 * i })));
      const pending = await m.db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM opsdeck_rollup_invalidations WHERE family = 'metrics_system'`);
      assert.ok((pending?.n ?? 0) > 0);
      const runner = new JobRunner({ db: m.db });
      for (const j of storageJobs(m.db, m.store)) runner.register(j);
      const run = await runner.runOnce('rollup-refresh');
      assert.equal(run.outcome, 'ok');
      assert.ok(((run.details?.buckets as Record<string, number>).system ?? 0) > 0);
      const after = await m.db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM opsdeck_rollup_invalidations WHERE family = 'metrics_system'`);
      assert.equal(after?.n, 0);
      const stored = await m.db.queryOne<{ s: number }>(`SELECT sum(samples)::int AS s FROM _opsdeck_mat_system_stats_5m WHERE node_id = 'rj-1'`);
      assert.equal(stored?.s, 4);
    });

    test('postgres tier: a family whose refresh fails does not stop the other families', async () => {
      const now = Date.now();
      const bucket = Math.floor((now - 3_600_000) / 300_000) * 300_000;
      // Two values near the double maximum in one 5-minute bucket: their sum() overflows, so the
      // system family's refresh throws. Written with SQL, bypassing ingest validation, together
      // with the invalidation ingest would have logged.
      await m.db.query(`INSERT INTO metrics_system (time, node_id, net_rx_bytes_sec) VALUES ($1, 'overflow-1', 1.7e308), ($2, 'overflow-1', 1.7e308)`, [
        new Date(bucket + 10_000).toISOString(),
        new Date(bucket + 20_000).toISOString(),
      ]);
      await m.db.query(`INSERT INTO opsdeck_rollup_invalidations (family, bucket) VALUES ('metrics_system', $1)`, [new Date(bucket).toISOString()]);
      // Valid rows of two families listed after system.
      await m.store.ingest('redis', [{ nodeId: 'other-1', timestamp: new Date(bucket + 30_000).toISOString(), connectedClients: 7 }]);
      await m.store.ingest('rspamd', [{ nodeId: 'other-1', timestamp: new Date(bucket + 30_000).toISOString() }]);

      const runner = new JobRunner({ db: m.db, instance: 'refresh-isolation' });
      for (const j of storageJobs(m.db, m.store)) runner.register(j);
      const run = await runner.runOnce('rollup-refresh');
      const redis = await m.db.queryOne<{ s: number; c: number }>(
        `SELECT sum(samples)::int AS s, sum(connected_clients_sum)::int AS c FROM _opsdeck_mat_redis_stats_5m WHERE node_id = 'other-1'`,
      );
      assert.deepEqual(redis, { s: 1, c: 7 }, 'redis rollups were refreshed and committed');
      const rspamd = await m.db.queryOne<{ s: number }>(`SELECT sum(samples)::int AS s FROM _opsdeck_mat_rspamd_stats_1h WHERE node_id = 'other-1'`);
      assert.equal(rspamd?.s, 1, 'rspamd rollups were refreshed and committed');
      assert.equal(run.outcome, 'error', 'the run reports the failure');
      assert.match(run.error ?? '', /system/);
      const failed = run.details?.failed as Record<string, string> | undefined;
      assert.deepEqual(Object.keys(failed ?? {}), ['system']);
      assert.match(failed?.system ?? '', /out of range|overflow/i);
      assert.equal((run.details?.buckets as Record<string, number>).redis, 1);

      const pending = await m.db.queryMany<{ family: string; n: number }>(
        `SELECT family, count(*)::int AS n FROM opsdeck_rollup_invalidations WHERE family IN ('metrics_system', 'metrics_redis', 'metrics_rspamd') GROUP BY family`,
      );
      assert.deepEqual(pending, [{ family: 'metrics_system', n: 1 }], 'only the failed family keeps its invalidation, for the next run');
      const hist = await jobHistory(m.db, { job: 'rollup-refresh', limit: 5 });
      const recorded = hist.find((h) => h.instance === 'refresh-isolation');
      assert.equal(recorded?.outcome, 'error');
      assert.match(String((recorded?.details?.failed as Record<string, string> | undefined)?.system), /out of range|overflow/i);
      // Clean up so the failing rows do not affect later tests of this database.
      await m.db.query(`DELETE FROM metrics_system WHERE node_id = 'overflow-1'`);
      await m.db.query(`DELETE FROM opsdeck_rollup_invalidations WHERE family = 'metrics_system' AND bucket = $1`, [new Date(bucket).toISOString()]);
    });
  } else {
    test('timescale tier: policies run by TimescaleDB (run_job) materialize, compress and drop', async () => {
      const now = Date.now();
      await m.store.ingest('system', [0, 1, 2].map((i) => ({ nodeId: 'ts-job', timestamp: new Date(now - 2 * 3_600_000 - i * 60_000).toISOString(), cpuPercent: 5 })));
      // rows older than the compression (7 d) and retention (90 d) horizons, written directly
      await m.db.query(`INSERT INTO metrics_system (time, node_id, cpu_percent) VALUES ($1, 'ts-job', 1), ($2, 'ts-job', 1)`, [
        new Date(now - 8 * DAY).toISOString(),
        new Date(now - 91 * DAY).toISOString(),
      ]);
      await refreshRollups(m, 'system');
      const matChunks = await m.db.queryOne<{ n: number }>(
        `SELECT count(*)::int AS n FROM timescaledb_information.chunks WHERE hypertable_name =
           (SELECT materialization_hypertable_name FROM timescaledb_information.continuous_aggregates WHERE view_name = 'system_stats_5m')`,
      );
      assert.ok((matChunks?.n ?? 0) > 0, 'the refresh policy materialized buckets');
      const jobs = await m.db.queryMany<{ job_id: number }>(`SELECT job_id FROM timescaledb_information.jobs WHERE hypertable_name = 'metrics_system' ORDER BY job_id`);
      for (const j of jobs) await m.db.exec(`CALL run_job(${j.job_id})`);
      const chunks = await m.db.queryMany<{ range_start: Date; is_compressed: boolean }>(
        `SELECT range_start, is_compressed FROM timescaledb_information.chunks WHERE hypertable_name = 'metrics_system' ORDER BY range_start`,
      );
      assert.ok(chunks.every((c) => c.range_start.getTime() > now - 90 * DAY), 'the 91-day-old chunk was dropped');
      const week = chunks.find((c) => c.range_start.getTime() < now - 7 * DAY);
      assert.equal(week?.is_compressed, true, 'the 8-day-old chunk was compressed');
      const rows = await m.db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM metrics_system WHERE node_id = 'ts-job'`);
      assert.equal(rows?.n, 4, 'compressed rows stay readable; the expired row is gone');
    });
  }
});

if (enabledBackends().includes('postgres')) {
  test('two runners sharing a database: one runs a job, the other records skipped', async () => {
    const { url, drop } = await createTestDatabase();
    const a = new PostgresDatabase({ url });
    const b = new PostgresDatabase({ url });
    try {
      await migrate(a);
      let concurrent = 0;
      let maxConcurrent = 0;
      const slowJob = {
        name: 'slow',
        description: 'test',
        intervalMs: 60_000,
        run: async () => {
          concurrent++;
          maxConcurrent = Math.max(maxConcurrent, concurrent);
          await new Promise((r) => setTimeout(r, 300));
          concurrent--;
        },
      };
      const r1 = new JobRunner({ db: a, instance: 'one' }).register(slowJob);
      const r2 = new JobRunner({ db: b, instance: 'two' }).register(slowJob);
      const [x, y] = await Promise.all([r1.runOnce('slow'), r2.runOnce('slow')]);
      assert.deepEqual([x.outcome, y.outcome].sort(), ['ok', 'skipped']);
      assert.equal(maxConcurrent, 1);
    } finally {
      await a.close();
      await b.close();
      await drop();
    }
  });
}

test('stop() waits for the run in flight', async () => {
  const m = await openMigrated(enabledBackends()[0] ?? 'pglite');
  try {
    let finished = false;
    const runner = new JobRunner({ db: m.db });
    runner.register({
      name: 'slowish',
      description: 'test',
      intervalMs: 60_000,
      initialDelayMs: 0,
      run: async () => {
        await new Promise((r) => setTimeout(r, 200));
        finished = true;
      },
    });
    runner.start();
    await new Promise((r) => setTimeout(r, 50));
    await runner.stop();
    assert.equal(finished, true);
  } finally {
    await m.close();
  }
});

const postgresTierBackend = enabledBackends().find((k) => k !== 'timescale');

test('rollup-refresh drains a backlog larger than one refresh batch', { skip: postgresTierBackend ? false : 'needs a postgres-tier backend (postgres or pglite in TEST_BACKENDS)' }, async () => {
  const m = await openMigrated(postgresTierBackend!);
  try {
    const now = Date.now();
    // 30 single-row batches → 30 invalidation rows; refresh batches of 7 rows need 5 passes
    for (let i = 0; i < 30; i++) await m.store.ingest('system', [{ nodeId: 'drain', timestamp: new Date(now - i * 310_000).toISOString(), cpuPercent: 1 }]);
    const first = await m.store.refreshRollups('system', 7);
    assert.deepEqual([first.buckets, first.more], [7, true]);
    const runner = new JobRunner({ db: m.db });
    for (const j of storageJobs(m.db, m.store, { refreshBatchRows: 7 })) runner.register(j);
    const run = await runner.runOnce('rollup-refresh');
    assert.equal(run.outcome, 'ok');
    assert.equal((run.details?.buckets as Record<string, number>).system, 23, 'four passes of at most 7 rows');
    const left = await m.db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM opsdeck_rollup_invalidations`);
    assert.equal(left?.n, 0);
  } finally {
    await m.close();
  }
});
