/**
 * Migration 0013 (the requirements' §6.1 metric columns) on a database that already
 * holds data in the old columns: stopped at migration 12, filled with rows written in
 * the old column names, rollups materialized the old way, the oldest raw hours removed
 * as retention would; then migrated. Every raw row is still there with its values
 * under the new names, the added columns are filled where the old ones allow, the
 * rollups are recomputed with the new columns, and the buckets the raw rows no longer
 * cover are kept (in place on the postgres tier, in opsdeck_rollup_archive on the
 * timescale tier). Expected values are computed here from the inserted rows.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachBackend, openDatabase, refreshRollups, type BackendKind, type TestDatabase } from '../../test/support/backends.ts';
import { FAMILIES } from '../modules/families.ts';
import { STREAMS } from '../modules/streams.ts';
import { TimeseriesStore } from '../timeseries/store.ts';
import { StreamStore } from '../timeseries/stream-store.ts';
import { migrate } from './migrator.ts';
import type { StorageTier } from './tier.ts';

const HOUR = 3_600_000;
const STEP = 15_000;
/** Start of the data: 50 hours ago on an hour boundary; the first 2 hours are later removed. */
const T0 = Math.floor((Date.now() - 50 * HOUR) / HOUR) * HOUR;
const HOURS = 4;
const KEPT_FROM = T0 + 2 * HOUR;
const NODES = ['mta-01', 'mx-02'];

interface SystemSample {
  node: string;
  t: number;
  ramUsed: number;
  ramTotal: number;
  diskUsed: number;
  diskTotal: number;
  diskRead: number;
}

function systemSamples(): SystemSample[] {
  const out: SystemSample[] = [];
  for (const [n, node] of NODES.entries()) {
    for (let t = T0; t < T0 + HOURS * HOUR; t += STEP) {
      const i = (t - T0) / STEP;
      out.push({ node, t, ramUsed: 1_000_000 + ((i * 7919) % 500_000), ramTotal: 4_000_000 + n * 1_000_000, diskUsed: 10_000 + (i % 97), diskTotal: 50_000, diskRead: 100 + ((i * 31) % 1000) + n });
    }
  }
  return out;
}

forEachBackend('migration 0013 on a database holding data', (kind: BackendKind) => {
  let t: TestDatabase;
  let tier: StorageTier;
  const samples = systemSamples();
  const countsBefore = new Map<string, number>();
  const old1hBefore = new Map<string, number>();

  before(async () => {
    t = await openDatabase(kind);
    tier = (await migrate(t.db, { target: 12 })).tier.tier;
    const db = t.db;
    if (tier === 'postgres') {
      for (const table of ['metrics_system', 'metrics_redis', 'metrics_zonemta', 'metrics_rspamd', 'metrics_mongodb']) {
        await db.query(`SELECT opsdeck_ensure_partitions($1, $2::timestamptz, $3::timestamptz)`, [table, new Date(T0 - 2 * HOUR).toISOString(), new Date().toISOString()]);
      }
    }
    await db.query(`INSERT INTO nodes (id) SELECT unnest($1::text[])`, [NODES]);
    await db.query(
      `INSERT INTO metrics_system (time, node_id, node_role, ram_used_bytes, ram_total_bytes, disk_used_bytes, disk_total_bytes, disk_read_bytes_per_sec, net_tx_bytes_per_sec)
       SELECT to_timestamp(t / 1000.0), node, 'zonemta', ru, rt, du, dt, dr, dr * 2 FROM jsonb_to_recordset($1::text::jsonb) AS x(node text, t bigint, ru bigint, rt bigint, du bigint, dt bigint, dr double precision)`,
      [JSON.stringify(samples.map((s) => ({ node: s.node, t: s.t, ru: s.ramUsed, rt: s.ramTotal, du: s.diskUsed, dt: s.diskTotal, dr: s.diskRead })))],
    );
    // one row per hour for the other families, in their old column names
    for (let h = 0; h < HOURS; h++) {
      const at = new Date(T0 + h * HOUR + 60_000).toISOString();
      await db.query(`INSERT INTO metrics_redis (time, node_id, used_memory_bytes, maxmemory_bytes, keyspace_hits, keyspace_misses) VALUES ($1, 'mx-02', $2, $3, $4, $5)`, [at, 1000 + h, 9000, 30 + h, 10]);
      await db.query(`INSERT INTO metrics_zonemta (time, node_id, zone, queue_queued, queue_deferred, queue_sending, delivered) VALUES ($1, 'mta-01', 'default', $2, $3, $4, $5)`, [at, 10 + h, 5, 2, 100 + h]);
      await db.query(`INSERT INTO metrics_rspamd (time, node_id, scanned, action_reject, action_greylist) VALUES ($1, 'mx-02', $2, $3, $4)`, [at, 50 + h, 3 + h, 7]);
      await db.query(`INSERT INTO metrics_mongodb (time, node_id, role, ops_insert) VALUES ($1, 'mx-02', 'primary', $2)`, [at, 5 + h]);
    }
    // materialize the old rollups
    if (tier === 'timescale') {
      for (const rel of ['system_stats_5m', 'system_stats_1h', 'system_stats_daily']) await db.exec(`CALL refresh_continuous_aggregate('${rel}', NULL, NULL)`);
    } else {
      for (const level of ['5m', '1h', 'daily']) {
        await db.query(`INSERT INTO opsdeck_rollup_invalidations (family, bucket) SELECT 'metrics_system', date_bin('5 minutes', time, timestamptz '2000-01-03') FROM metrics_system GROUP BY 2`);
        await db.exec(`INSERT INTO _opsdeck_mat_system_stats_${level} SELECT * FROM system_stats_${level}`);
        await db.exec(`DELETE FROM opsdeck_rollup_invalidations`);
      }
    }
    for (const r of await db.queryMany<{ node_id: string; bucket: Date; s: number }>(`SELECT node_id, bucket, disk_read_bytes_per_sec_sum AS s FROM system_stats_1h`)) {
      old1hBefore.set(`${r.node_id}@${r.bucket.getTime()}`, r.s);
    }
    // retention removes the two oldest hours of raw rows
    await db.query(`DELETE FROM metrics_system WHERE time < $1`, [new Date(KEPT_FROM).toISOString()]);
    for (const table of ['metrics_system', 'metrics_redis', 'metrics_zonemta', 'metrics_rspamd', 'metrics_mongodb']) {
      countsBefore.set(table, (await db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`))!.n);
    }
    const r = await migrate(t.db);
    assert.deepEqual(
      r.applied.map((a) => a.version),
      [...Array(r.currentVersion - 12).keys()].map((i) => 13 + i),
    );
  });
  after(async () => {
    await t.close();
  });

  const kept = () => samples.filter((s) => s.t >= KEPT_FROM);

  test('no raw row is lost', async () => {
    for (const [table, n] of countsBefore) {
      assert.equal((await t.db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`))!.n, n, table);
    }
    assert.equal(countsBefore.get('metrics_system'), kept().length);
  });

  test('renamed columns keep their values; added columns are filled from the old ones', async () => {
    const rows = await t.db.queryMany<{ node_id: string; t: string; dr: number; tx: number; rp: number; dp: number; df: string; rx_err: string | null }>(
      `SELECT node_id, (extract(epoch FROM time) * 1000)::bigint::text AS t, disk_read_bytes_sec AS dr, net_tx_bytes_sec AS tx, ram_percent AS rp, disk_percent AS dp, disk_free_bytes::text AS df, net_rx_errors::text AS rx_err FROM metrics_system`,
    );
    const byKey = new Map(rows.map((r) => [`${r.node_id}@${r.t}`, r]));
    for (const s of kept()) {
      const r = byKey.get(`${s.node}@${s.t}`);
      assert.ok(r, `${s.node} ${new Date(s.t).toISOString()}`);
      assert.equal(r.dr, s.diskRead);
      assert.equal(r.tx, s.diskRead * 2);
      assert.ok(Math.abs(r.rp - (100 * s.ramUsed) / s.ramTotal) < 1e-9);
      assert.ok(Math.abs(r.dp - (100 * s.diskUsed) / s.diskTotal) < 1e-9);
      assert.equal(r.df, String(s.diskTotal - s.diskUsed));
      assert.equal(r.rx_err, null, 'nothing to fill net errors from');
    }
    const redis = await t.db.queryMany<{ m: string; x: string; hr: number }>(`SELECT memory_used_bytes::text AS m, memory_max_bytes::text AS x, hit_rate AS hr FROM metrics_redis ORDER BY time`);
    assert.deepEqual(
      redis.map((r) => [r.m, r.x, Math.round(r.hr * 1e6) / 1e6]),
      [0, 1, 2, 3].map((h) => [String(1000 + h), '9000', Math.round(((100 * (30 + h)) / (40 + h)) * 1e6) / 1e6]),
    );
    const zm = await t.db.queryMany<{ q: number; a: number; d: string }>(`SELECT queue_size AS q, active_deliveries AS a, delivered::text AS d FROM metrics_zonemta ORDER BY time`);
    assert.deepEqual(
      zm.map((r) => [r.q, r.a, r.d]),
      [0, 1, 2, 3].map((h) => [10 + h + 5 + 2, 10 + h + 2, String(100 + h)]),
    );
    const rs = await t.db.queryMany<{ s: string; r: string; g: string; lh: string | null }>(`SELECT scanned::text AS s, rejected::text AS r, greylist::text AS g, learned_ham::text AS lh FROM metrics_rspamd ORDER BY time`);
    assert.deepEqual(
      rs.map((r) => [r.s, r.r, r.g, r.lh]),
      [0, 1, 2, 3].map((h) => [String(50 + h), String(3 + h), '7', null]),
    );
  });

  test('rollups are recomputed with the new columns', async () => {
    const m = { db: t.db, tier, store: new TimeseriesStore({ db: t.db, tier, families: FAMILIES }), streams: new StreamStore({ db: t.db, tier, streams: STREAMS }) };
    await refreshRollups({ ...t, ...m }, 'system');
    for (const node of NODES) {
      for (let h = 2; h < HOURS; h++) {
        const from = T0 + h * HOUR;
        const inHour = kept().filter((s) => s.node === node && s.t >= from && s.t < from + HOUR);
        const r = await t.db.queryOne<{ samples: string; rp_sum: number; rp_count: string; dr_sum: number; df_min: string }>(
          `SELECT samples::text, ram_percent_sum AS rp_sum, ram_percent_count::text AS rp_count, disk_read_bytes_sec_sum AS dr_sum, disk_free_bytes_min::text AS df_min FROM system_stats_1h WHERE node_id = $1 AND bucket = $2`,
          [node, new Date(from).toISOString()],
        );
        assert.ok(r, `${node} hour ${h}`);
        assert.equal(r.samples, String(inHour.length));
        assert.equal(r.rp_count, String(inHour.length));
        assert.ok(Math.abs(r.rp_sum - inHour.reduce((a, s) => a + (100 * s.ramUsed) / s.ramTotal, 0)) < 1e-6);
        assert.equal(r.dr_sum, inHour.reduce((a, s) => a + s.diskRead, 0));
        assert.equal(r.df_min, String(Math.min(...inHour.map((s) => s.diskTotal - s.diskUsed))));
      }
    }
  });

  test('buckets the raw rows no longer cover are kept', async () => {
    for (const node of NODES) {
      for (let h = 0; h < 2; h++) {
        const from = T0 + h * HOUR;
        const expected = samples.filter((s) => s.node === node && s.t >= from && s.t < from + HOUR).reduce((a, s) => a + s.diskRead, 0);
        assert.equal(old1hBefore.get(`${node}@${from}`), expected, 'materialized before the migration');
        if (tier === 'postgres') {
          // kept in place, under the new column names
          const r = await t.db.queryOne<{ s: number }>(`SELECT disk_read_bytes_sec_sum AS s FROM system_stats_1h WHERE node_id = $1 AND bucket = $2`, [node, new Date(from).toISOString()]);
          assert.equal(r?.s, expected);
        } else {
          const r = await t.db.queryOne<{ s: number }>(
            `SELECT (row->>'disk_read_bytes_per_sec_sum')::float8 AS s FROM opsdeck_rollup_archive WHERE relation = 'system_stats_1h' AND row->>'node_id' = $1 AND bucket = $2`,
            [node, new Date(from).toISOString()],
          );
          assert.equal(r?.s, expected);
        }
      }
    }
  });
});
