/**
 * The probes module: monitored services, their probes and checks, heartbeats,
 * uptime and the health overview. src/runtime.ts composes it with the
 * database, a Clock, the outbound guard and (optionally) the alerts module's
 * ServiceAlertSink; it gives back the routes, the jobs and the
 * ProbeStateSource for alert rules.
 */
import type { Logger } from 'pino';
import type { Database } from '../../db/database.ts';
import type { Clock } from '../../domain/clock.ts';
import type { RouteModule } from '../../http/app.ts';
import { JobFailedError, type JobDefinition } from '../../jobs/runner.ts';
import type { Outbound } from '../../net/outbound.ts';
import type { ProbeStateSource, ServiceAlertSink } from '../alerts/contracts.ts';
import { createProbeExecutor } from './probes.ts';
import { probeRoutes } from './routes.ts';
import { ProbeScheduler, type ProbeExecutor } from './scheduler.ts';
import { CHECK_RETENTION_DAYS, ProbeStore } from './service.ts';

export interface ProbesModule {
  store: ProbeStore;
  scheduler: ProbeScheduler;
  /** Current confirmed states, for the alert rules. */
  states: ProbeStateSource;
  routes: RouteModule;
  /** `probes` (every 5 s, under a lease, outside any transaction) and `probe-check-retention` (hourly). */
  jobs: JobDefinition[];
}

export interface ProbesModuleOptions {
  db: Database;
  clock: Clock;
  outbound: Outbound;
  sink?: ServiceAlertSink | undefined;
  logger?: Logger | undefined;
  /** Replaces the network probes (never used by Opsdeck itself; for tests of scheduling alone). */
  probe?: ProbeExecutor;
  concurrency?: number;
}

/** How often the scheduler looks for due monitors (the shortest interval is 10 s). */
export const PROBE_TICK_MS = 5_000;

export function createProbesModule(o: ProbesModuleOptions): ProbesModule {
  const store = new ProbeStore({ db: o.db, clock: o.clock });
  const scheduler = new ProbeScheduler({
    db: o.db,
    store,
    clock: o.clock,
    probe: o.probe ?? createProbeExecutor(o.outbound, o.clock),
    sink: o.sink,
    logger: o.logger,
    ...(o.concurrency ? { concurrency: o.concurrency } : {}),
  });
  const jobs: JobDefinition[] = [
    {
      name: 'probes',
      description: 'Probes the monitored services that are due and records their checks and state changes',
      intervalMs: PROBE_TICK_MS,
      transaction: false,
      run: async ({ signal }) => {
        const summary = await scheduler.runDueProbes(o.clock.now(), signal);
        if (summary.errors > 0) throw new JobFailedError(`${summary.errors} probe results could not be recorded`, { ...summary });
        return { ...summary };
      },
    },
    {
      name: 'probe-check-retention',
      description: `Deletes service health checks older than ${CHECK_RETENTION_DAYS} days, in batches`,
      intervalMs: 3_600_000,
      // Each batch is its own statement and commit: no transaction over a day of deletes.
      transaction: false,
      run: async () => ({ deleted: await store.deleteOlderThan(CHECK_RETENTION_DAYS) }),
    },
  ];
  return { store, scheduler, states: store, routes: (app, deps) => probeRoutes(app, deps, store, scheduler), jobs };
}
