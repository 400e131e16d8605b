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
  /** Results that could not be recorded (database errors). */
  errors: number;
}

/** While probes are in flight, how often a run looks for monitors that became due meanwhile. */
export const RECLAIM_MS = 1_000;

export class ProbeScheduler {
  constructor(private readonly opts: ProbeSchedulerOptions) {}

  /**
   * The job body: probes every monitor due at `now` and records the results.
   * While probes are in flight it looks again every RECLAIM_MS for monitors
   * that became due meanwhile and starts them too (within the concurrency
   * bound), so a probe waiting out a long timeout does not hold back the
   * others; it returns when nothing is in flight. A result that could not be
   * recorded is counted in `errors` (and logged); the others are kept.
   */
  async runDueProbes(now: Date = this.opts.clock.now(), signal?: AbortSignal): Promise<ProbeRunSummary> {
    if (this.opts.db.inTransaction()) throw new Error('runDueProbes must not run inside a transaction: it waits on the network');
    const summary: ProbeRunSummary = { due: 0, recorded: 0, changes: 0, sinkFailures: 0, errors: 0 };
    const limit = this.opts.concurrency ?? 16;
    const queue: MonitorRow[] = [];
    const inFlight = new Set<Promise<void>>();
    const launch = () => {
      while (inFlight.size < limit && queue.length > 0) {
        const m = queue.shift()!;
        const p: Promise<void> = this.probeAndRecord(m, signal)
          .then(async (r) => {
            if (!r) return;
            summary.recorded++;
            if (r.change) {
              summary.changes++;
              if (!(await this.tell(r.change))) summary.sinkFailures++;
            }
          })
          .catch((err: unknown) => {
            summary.errors++;
            this.opts.logger?.error({ err, service: m.name }, 'could not record a probe result');
          })
          .finally(() => {
            inFlight.delete(p);
            if (!signal?.aborted) launch();
          });
        inFlight.add(p);
      }
    };
    const claim = async (at: Date) => {
      const due = await this.opts.store.claimDue(at, this.opts.batch ?? 500);
      summary.due += due.length;
      queue.push(...due);
      launch();
    };
    await claim(now);
    while (inFlight.size > 0 && !signal?.aborted) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([...inFlight, new Promise<void>((r) => (timer = setTimeout(r, RECLAIM_MS)))]);
      clearTimeout(timer);
      if (inFlight.size > 0 && !signal?.aborted) await claim(this.opts.clock.now());
    }
    await Promise.allSettled([...inFlight]);
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
