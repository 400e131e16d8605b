/**
 * postgres tier: a rollup view reads only its stored buckets while the rollup has no
 * pending invalidation — the branches that compute buckets live from the raw rows are
 * gated off and never run (no scan, no parallel workers) — and computes the invalidated
 * buckets live again as soon as a row arrives.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { enabledBackends, EXPECTED_TIER, openMigrated, refreshRollups, type MigratedDatabase } from '../../test/support/backends.ts';

interface PlanNode {
  'Node Type': string;
  'Join Type'?: string;
  'Relation Name'?: string;
  'Actual Loops'?: number;
  Plans?: PlanNode[];
}

/** Loops of every scan of a relation whose name starts with `prefix` (partitions of a raw table included). */
function scansOf(plan: PlanNode, prefix: string): number[] {
  const out: number[] = [];
  const walk = (n: PlanNode) => {
    if (n['Relation Name']?.startsWith(prefix)) out.push(n['Actual Loops'] ?? 0);
    for (const c of n.Plans ?? []) walk(c);
  };
  walk(plan);
  return out;
}

/** The nodes that ran (at least one loop), as "type" or "type/join type". */
function executed(plan: PlanNode): string[] {
  const out: string[] = [];
  const walk = (n: PlanNode) => {
    if ((n['Actual Loops'] ?? 0) > 0) out.push(n['Join Type'] ? `${n['Node Type']}/${n['Join Type']}` : n['Node Type']);
    for (const c of n.Plans ?? []) walk(c);
  };
  walk(plan);
  return out;
}

// the postgres-tier backends only: on the timescale tier rollups are continuous aggregates, not these views
for (const kind of enabledBackends().filter((k) => EXPECTED_TIER[k] === 'postgres')) describe(`rollup views skip the live branches when nothing is pending [${kind}]`, () => {
  let m: MigratedDatabase;
  const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3 * 3_600_000;
  before(async () => {
    m = await openMigrated(kind);
  });
  after(async () => {
    await m.close();
  });

  test('no pending invalidation: the raw table is never scanned; a new row is read live at once', async () => {
    const rows = Array.from({ length: 40 }, (_, i) => ({ nodeId: 'gate-1', timestamp: new Date(hour + i * 15_000).toISOString(), cpuPercent: 10 }));
    await m.store.ingest('system', rows);
    await refreshRollups(m, 'system');
    assert.equal((await m.db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM opsdeck_rollup_invalidations`))!.n, 0);
    const explain = async () => {
      const r = await m.db.queryOne<{ 'QUERY PLAN': { Plan: PlanNode }[] }>(
        `EXPLAIN (ANALYZE, FORMAT JSON) SELECT bucket, cpu_percent_sum, cpu_percent_count FROM system_stats_5m WHERE node_id = 'gate-1' AND bucket >= $1`,
        [new Date(hour).toISOString()],
      );
      return r!['QUERY PLAN'][0]!.Plan;
    };
    const quiet = await explain();
    const rawScans = scansOf(quiet, 'metrics_system');
    assert.deepEqual([...new Set(rawScans)], [0], 'no scan of metrics_system ran');
    // neither the per-row anti-join against the invalidations, nor the live aggregation, nor parallel workers
    const ran = executed(quiet);
    assert.deepEqual(
      ran.filter((n) => n.endsWith('/Anti') || n.startsWith('Aggregate') || n.startsWith('Gather')),
      [],
      `executed: ${ran.join(', ')}`,
    );
    assert.ok(scansOf(quiet, '_opsdeck_mat_system_stats_5m').some((l) => l > 0), 'the stored buckets were read');

    // one more sample in the first bucket: invalidated, computed live
    await m.store.ingest('system', [{ nodeId: 'gate-1', timestamp: new Date(hour + 5_000).toISOString(), cpuPercent: 70 }]);
    const busy = await explain();
    assert.ok(scansOf(busy, 'metrics_system').some((l) => l > 0), 'the raw rows are read for the invalidated bucket');
    const first = await m.db.queryOne<{ s: number; c: string }>(`SELECT cpu_percent_sum AS s, cpu_percent_count::text AS c FROM system_stats_5m WHERE node_id = 'gate-1' AND bucket = $1`, [
      new Date(hour).toISOString(),
    ]);
    // 20 samples of 10 in the first 5 minutes, plus the new 70
    assert.deepEqual(first, { s: 270, c: '21' });
  });
});
