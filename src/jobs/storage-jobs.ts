/**
 * Storage maintenance jobs. On the postgres tier Opsdeck keeps partitions,
 * rollups and retention itself; on the timescale tier TimescaleDB's own job
 * scheduler runs the equivalent policies, and only the job-history cleanup is ours.
 */
import type { Database } from '../db/database.ts';
import type { TimeseriesStore } from '../timeseries/store.ts';
import type { StreamStore } from '../timeseries/stream-store.ts';
import { JobFailedError, type JobDefinition } from './runner.ts';

export function storageJobs(db: Database, store: TimeseriesStore, opts: { refreshBatchRows?: number; streams?: StreamStore } = {}): JobDefinition[] {
  const jobs: JobDefinition[] = [];
  const streams = opts.streams;
  if (streams) store.onPartitionsDropped.push(() => streams.partitionsDropped());
  if (store.tier === 'postgres') {
    jobs.push(
      {
        name: 'partition-maintenance',
        description: 'Creates the native partitions of every time-series table ahead of time',
        intervalMs: 60 * 60_000,
        initialDelayMs: 0,
        run: async () => ({ created: await store.maintainPartitions() }),
      },
      {
        name: 'rollup-refresh',
        description: 'Recomputes the 5m/1h/1d rollup buckets that received rows (late rows included)',
        intervalMs: 60_000,
        run: async () => {
          // Drain the backlog (bounded in time): queries read pending buckets from raw rows,
          // so a backlog that outlives one run makes every rollup query slower.
          // Each family is refreshed under its own savepoint: one whose refresh fails never
          // stops the others; the run is recorded (and logged by the runner) as failed, with
          // each failed family's error in its details, and the others' work is committed.
          const out: Record<string, number> = {};
          const failed: Record<string, string> = {};
          const deadline = Date.now() + 30_000;
          for (const f of store.families()) {
            let buckets = 0;
            try {
              for (;;) {
                const r = await store.refreshRollups(f.key, opts.refreshBatchRows);
                buckets += r.buckets;
                if (!r.more || Date.now() > deadline) break;
              }
            } catch (err) {
              failed[f.key] = err instanceof Error ? err.message : String(err);
            }
            out[f.key] = buckets;
          }
          // Event-stream rollups: each on its own schedule (refreshEvery since its last refresh).
          if (streams) {
            const r = await streams.refreshDue({ deadline });
            Object.assign(out, r.buckets);
            Object.assign(failed, r.failed);
          }
          const details = Object.keys(failed).length ? { buckets: out, failed } : { buckets: out };
          if (Object.keys(failed).length) {
            throw new JobFailedError(`rollup refresh failed for ${Object.keys(failed).join(', ')}`, details);
          }
          return details;
        },
      },
    );
  }
  jobs.push({
    name: 'retention',
    description: 'Drops raw partitions and rollup buckets past retention (postgres tier) and job history older than 14 days',
    intervalMs: 60 * 60_000,
    run: async () => {
      const r = store.tier === 'postgres' ? await store.applyRetention() : { droppedPartitions: [], deletedRollupRows: 0 };
      const h = await db.query(`DELETE FROM opsdeck_job_runs WHERE started_at < now() - interval '14 days'`);
      return { ...r, deletedJobRuns: h.rowCount };
    },
  });
  return jobs;
}
