/**
 * The home-lab module (docs/homelab.md, ADR 0022): devices with SSH targets, the collector,
 * its schedule job, the API and the alert observers. src/runtime.ts composes it with the
 * database, stores, SecretBox, Clock and (when configuration tracking is wired) its
 * ConfigFileSink.
 */
import type { Logger } from 'pino';
import type { Database } from '../../db/database.ts';
import type { SecretBox } from '../../crypto/secrets.ts';
import type { Clock } from '../../domain/clock.ts';
import type { RouteModule } from '../../http/app.ts';
import { JobFailedError, type JobDefinition } from '../../jobs/runner.ts';
import type { StreamStore } from '../../timeseries/stream-store.ts';
import type { TimeseriesStore } from '../../timeseries/store.ts';
import type { ConditionObserver } from '../alerts/contracts.ts';
import type { ConfigFileSink } from '../config-tracking/contracts.ts';
import { homelabObservers } from './alerts.ts';
import { Collector } from './collector.ts';
import { DeviceRegistry } from './devices.ts';
import { HomelabQueries } from './queries.ts';
import { homelabRoutes } from './routes.ts';
import { CollectionScheduler } from './scheduler.ts';
import { SshPool, type SshPoolOptions } from './ssh.ts';

export interface HomelabModule {
  registry: DeviceRegistry;
  collector: Collector;
  queries: HomelabQueries;
  scheduler: CollectionScheduler;
  pool: SshPool;
  routes: RouteModule;
  /** `homelab-collection` (every 10 s, under a lease, outside any transaction). */
  jobs: JobDefinition[];
  /** Alert condition kinds whose data this module owns. */
  observers: Record<string, ConditionObserver>;
  close(): void;
}

export interface HomelabModuleOptions {
  db: Database;
  store: TimeseriesStore;
  streams: StreamStore;
  secrets: SecretBox;
  clock: Clock;
  sink?: ConfigFileSink | undefined;
  logger?: Logger | undefined;
  ssh?: SshPoolOptions;
  /** Devices collected at once by the schedule job (default 4). */
  concurrency?: number;
}

export const COLLECTION_TICK_MS = 10_000;

export function createHomelabModule(o: HomelabModuleOptions): HomelabModule {
  const registry = new DeviceRegistry({ db: o.db, secrets: o.secrets, clock: o.clock });
  const pool = new SshPool(o.ssh);
  const collector = new Collector({ db: o.db, store: o.store, streams: o.streams, registry, pool, clock: o.clock, sink: o.sink, logger: o.logger });
  const queries = new HomelabQueries({ db: o.db, clock: o.clock });
  const scheduler = new CollectionScheduler({ db: o.db, collector, clock: o.clock, concurrency: o.concurrency ?? 4, logger: o.logger });
  const jobs: JobDefinition[] = [
    {
      name: 'homelab-collection',
      description: 'Collects the home-lab devices and data types that are due (over SSH, outside any transaction)',
      intervalMs: COLLECTION_TICK_MS,
      transaction: false,
      run: async ({ signal }) => {
        const summary = await scheduler.runDue(signal);
        if (summary.errors > 0) throw new JobFailedError(`${summary.errors} device collections could not run`, { ...summary });
        return { ...summary };
      },
    },
  ];
  return {
    registry,
    collector,
    queries,
    scheduler,
    pool,
    routes: (app, deps) => homelabRoutes(app, deps, { registry, collector, queries }),
    jobs,
    observers: homelabObservers(),
    close: () => pool.closeAll(),
  };
}
