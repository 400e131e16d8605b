/**
 * How cost grows with the number of nodes (docs/performance.md, "How cost grows"):
 * `node --import tsx bench/scale.ts` (or BENCH_SCALE_NODES=100,1000,10000).
 *
 * For each fleet size N, on a fresh database of a throwaway PostgreSQL server
 * (fsync on) or BENCH_DATABASE_URL:
 *   - ingest: the same number of rows (BENCH_SCALE_ROWS, default 300,000) through
 *     store.ingest in 5,000-row batches, 4 in flight — the fleet's rows of the last
 *     ticks, so more nodes means fewer ticks per node;
 *   - up to a day at 15 s for every node (N × 5,760 rows, at most BENCH_SCALE_MAX_DAY_ROWS:
 *     fewer hours for large fleets) loaded with COPY and rolled up, then the all-nodes chart
 *     of that span at 5 minutes and at 1 hour (rollups), and the latest sample of every
 *     node (what a fleet overview reads), p50 / p95 of 5 runs each.
 * Prints one line per size and writes bench/results/<time>-scale.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startPgServer, type PgServer } from '../test/support/pg-server.ts';
import { alignedEnd, rowsRange, type DataShape } from './lib/gen.ts';
import { envInt, log, percentile, round } from './lib/util.ts';
import { createServerDatabase, loadQueryDataset, openServerStore, serverCopyInto, serverDurability } from './store-bench.ts';

const SIZES = (process.env.BENCH_SCALE_NODES ?? '100,1000,10000').split(',').map(Number);
const ROWS = envInt('BENCH_SCALE_ROWS', 300_000);
const REPS = envInt('BENCH_SCALE_REPS', 5);
/** Most rows of the query data set: a day per node up to this, fewer hours for larger fleets. */
const MAX_DAY_ROWS = envInt('BENCH_SCALE_MAX_DAY_ROWS', 3_000_000);

interface SizeResult {
  nodes: number;
  ingestRowsPerSec: number;
  dayRows: number;
  spanHours: number;
  dayCopyRowsPerSec: number;
  refreshSeconds: number;
  chart5m: { points: number; p50: number; p95: number };
  chart1h: { points: number; p50: number; p95: number };
  latestPerNode: { p50: number; p95: number };
}

async function timed(reps: number, fn: () => Promise<number>): Promise<{ points: number; p50: number; p95: number }> {
  let points = 0;
  const ms: number[] = [];
  await fn(); // warm-up
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    points = await fn();
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  return { points, p50: round(percentile(ms, 50), 1), p95: round(percentile(ms, 95), 1) };
}

async function main(): Promise<void> {
  let pg: PgServer | null = null;
  const url = process.env.BENCH_DATABASE_URL ?? (pg = await startPgServer({ postgresFlags: ['-c', 'fsync=on', '-c', 'synchronous_commit=on'] })).url;
  log(`server: ${await serverDurability(url)}`);
  const results: SizeResult[] = [];
  try {
    for (const nodes of SIZES) {
      const endMs = alignedEnd();
      // ingest: ROWS rows of the fleet's last ticks
      const idb = await createServerDatabase(url, `scale${nodes}i`);
      const ist = await openServerStore(idb.url);
      let ingestRowsPerSec = 0;
      try {
        const shape: DataShape = { nodes, ticks: Math.ceil(ROWS / nodes), endMs };
        const batches: unknown[][] = [];
        for (let k = 0; k < ROWS; k += 5000) batches.push(rowsRange(shape, k, Math.min(ROWS, k + 5000)));
        const t0 = performance.now();
        let next = 0;
        await Promise.all(
          Array.from({ length: 4 }, async () => {
            while (next < batches.length) await ist.store.ingest('system', batches[next++]!);
          }),
        );
        ingestRowsPerSec = Math.round(ROWS / ((performance.now() - t0) / 1000));
      } finally {
        await ist.close();
        await idb.drop();
      }
      // a day of every node, then the fleet queries
      const qdb = await createServerDatabase(url, `scale${nodes}q`);
      const st = await openServerStore(qdb.url);
      try {
        const ticks = Math.min(5760, Math.floor(MAX_DAY_ROWS / nodes));
        const day: DataShape = { nodes, ticks, endMs };
        const loaded = await loadQueryDataset(st.db, st.store, day, serverCopyInto(qdb.url), 2);
        const from = new Date(endMs - ticks * 15_000);
        const to = new Date(endMs + 1000);
        const chart5m = await timed(REPS, async () => (await st.store.query('system', { from, to, resolution: '5m', fields: ['cpuPercent', 'ramUsedBytes'] })).points.length);
        const chart1h = await timed(REPS, async () => (await st.store.query('system', { from, to, resolution: '1h', fields: ['cpuPercent', 'ramUsedBytes'] })).points.length);
        const latest = await timed(REPS, async () =>
          (
            await st.db.queryMany(
              `SELECT DISTINCT ON (node_id) node_id, time, cpu_percent FROM metrics_system WHERE time > now() - interval '5 minutes' ORDER BY node_id, time DESC`,
            )
          ).length,
        );
        const r: SizeResult = {
          nodes,
          ingestRowsPerSec,
          dayRows: loaded.rows,
          spanHours: round((ticks * 15) / 3600, 2),
          dayCopyRowsPerSec: loaded.copyRowsPerSec,
          refreshSeconds: loaded.refreshSeconds,
          chart5m,
          chart1h,
          latestPerNode: { p50: latest.p50, p95: latest.p95 },
        };
        results.push(r);
        log(
          `${nodes} nodes: ingest ${ingestRowsPerSec} rows/s; ${round((ticks * 15) / 3600, 2)} h: ${loaded.rows} rows (COPY ${loaded.copyRowsPerSec} rows/s, rollups ${loaded.refreshSeconds} s); ` +
            `chart 5m ${chart5m.points} pts p50 ${chart5m.p50} / p95 ${chart5m.p95} ms; 1h ${chart1h.points} pts p50 ${chart1h.p50} / p95 ${chart1h.p95} ms; latest per node p50 ${latest.p50} / p95 ${latest.p95} ms`,
        );
      } finally {
        await st.close();
        await qdb.drop();
      }
    }
  } finally {
    await pg?.destroy();
  }
  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}${new Date().toISOString().replace(/[:.]/g, '-')}-scale.json`, JSON.stringify({ rows: ROWS, reps: REPS, results }, null, 2));
}

await main();
