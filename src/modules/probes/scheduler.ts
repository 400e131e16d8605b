/**
 * The probe scheduler: `runDueProbes(now)` claims the monitors due at `now`
 * in one short transaction, runs their probes concurrently (at most
 * `concurrency` at a time) while holding no transaction and no pooled
 * connection, then records each result in its own short transaction and
 * tells the alert sink about confirmed state changes after that commit.
 * The injected Clock decides what is due. See
 * docs/adr/0014-probes-scheduling-and-thresholds.md.
 */
import type { Logger } from 'pino';
import type { Database } from '../../db/database.ts';
import type { Clock } from '../../domain/clock.ts';
import type { ServiceAlertSink, ServiceStateChange } from '../alerts/contracts.ts';
import type { MonitorRow } from './schema.ts';
import type { HealthCheck, ProbeResult, ProbeStore } from './service.ts';

/** Runs the network probe of one monitor (probes.ts); never throws — a failure is a `down` result. */
export type ProbeExecutor = (monitor: MonitorRow, signal?: AbortSignal) => Promise<ProbeResult>;

export interface ProbeSchedulerOptions {
  db: Database;
  store: ProbeStore;
  clock: Clock;
  probe: ProbeExecutor;
  sink?: ServiceAlertSink | undefined;
  /** Probes running at once (default 16). */
  concurrency?: number;
  /** Monitors claimed per run (default 500). */
  batch?: number;
  logger?: Logger | undefined;
}

export interface ProbeRunSummary {
  due: number;
  recorded: number;
  changes: number;
  sinkFailures: number;
}

/** Runs `fn` over `items` with at most `limit` in flight; results in input order. */
export async function mapBounded<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export class ProbeScheduler {
  constructor(private readonly opts: ProbeSchedulerOptions) {}

  /** The job body: probes every monitor due at `now` and records the results. */
  async runDueProbes(now: Date = this.opts.clock.now(), signal?: AbortSignal): Promise<ProbeRunSummary> {
    if (this.opts.db.inTransaction()) throw new Error('runDueProbes must not run inside a transaction: it waits on the network');
    const due = await this.opts.store.claimDue(now, this.opts.batch ?? 500);
    const summary: ProbeRunSummary = { due: due.length, recorded: 0, changes: 0, sinkFailures: 0 };
    await mapBounded(due, this.opts.concurrency ?? 16, async (m) => {
      const r = await this.probeAndRecord(m, signal);
      if (!r) return;
      summary.recorded++;
      if (r.change) {
        summary.changes++;
        if (!(await this.tell(r.change))) summary.sinkFailures++;
      }
    });
    return summary;
  }

  /** The "test" action: probes one monitor now (enabled or not) and records the result like a scheduled run. */
  async checkNow(id: number, signal?: AbortSignal): Promise<HealthCheck> {
    const m = await this.opts.store.row(id);
    const r = await this.probeAndRecord(m, signal);
    if (!r) return Promise.reject(new Error(`monitored service ${id} disappeared while it was probed`));
    if (r.change) await this.tell(r.change);
    return r.check;
  }

  private async probeAndRecord(m: MonitorRow, signal?: AbortSignal): Promise<{ check: HealthCheck; change: ServiceStateChange | null } | null> {
    const checkedAt = this.opts.clock.now();
    // Heartbeat monitors are decided from the pings stored on their row, inside recordResult.
    const result = m.kind === 'heartbeat' ? null : await this.opts.probe(m, signal);
    // Stopped (shutdown) while waiting: the probe's failure says nothing about the service.
    if (signal?.aborted) return null;
    return this.opts.store.recordResult(m.id, result, checkedAt);
  }

  private async tell(change: ServiceStateChange): Promise<boolean> {
    if (!this.opts.sink) return true;
    try {
      await this.opts.sink.serviceStateChanged(change);
      return true;
    } catch (err) {
      this.opts.logger?.error({ err, service: change.serviceName, from: change.from, to: change.to }, 'the alert sink refused a service state change');
      return false;
    }
  }
}
