/**
 * Collection schedules: one row per (device, data type) with its interval and next due
 * time. `runDue()` claims what is due in one short statement (moving next_due_at on, so
 * another process does not take it too), groups it by device and collects at most
 * `concurrency` devices at once, holding no transaction while it waits on them.
 */
import type { Logger } from 'pino';
import type { Database } from '../../db/database.ts';
import type { Clock } from '../../domain/clock.ts';
import type { Collector } from './collector.ts';
import type { DataType } from './streams.ts';

export interface ScheduleRunSummary {
  due: number;
  devices: number;
  operations: number;
  failed: number;
  errors: number;
}

export class CollectionScheduler {
  constructor(private readonly o: { db: Database; collector: Collector; clock: Clock; concurrency: number; logger?: Logger | undefined; batch?: number }) {}

  async runDue(signal?: AbortSignal): Promise<ScheduleRunSummary> {
    if (this.o.db.inTransaction()) throw new Error('runDue must not run inside a transaction: it waits on the network');
    const now = this.o.clock.now();
    const claimed = await this.o.db.queryMany<{ node_id: string; data_type: DataType }>(
      `UPDATE device_collection_schedules s SET next_due_at = $1::timestamptz + make_interval(secs => s.interval_seconds), last_run_at = $1
       WHERE (s.node_id, s.data_type) IN (
         SELECT c.node_id, c.data_type FROM device_collection_schedules c JOIN device_ssh_targets t ON t.node_id = c.node_id
         WHERE c.enabled AND t.enabled AND c.next_due_at <= $1 ORDER BY c.next_due_at LIMIT $2 FOR UPDATE OF c SKIP LOCKED)
       RETURNING s.node_id, s.data_type`,
      [now, this.o.batch ?? 500],
    );
    const byDevice = new Map<string, DataType[]>();
    for (const c of claimed) byDevice.set(c.node_id, [...(byDevice.get(c.node_id) ?? []), c.data_type]);
    const summary: ScheduleRunSummary = { due: claimed.length, devices: byDevice.size, operations: 0, failed: 0, errors: 0 };
    const queue = [...byDevice.entries()];
    const worker = async () => {
      while (queue.length > 0 && !signal?.aborted) {
        const [nodeId, types] = queue.shift()!;
        try {
          const results = await this.o.collector.collect(nodeId, { dataTypes: types, source: 'schedule' });
          summary.operations += results.length;
          summary.failed += results.filter((r) => r.status === 'failed').length;
        } catch (err) {
          summary.errors++;
          this.o.logger?.error({ err, nodeId }, 'home-lab collection could not run');
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, this.o.concurrency) }, worker));
    return summary;
  }
}
