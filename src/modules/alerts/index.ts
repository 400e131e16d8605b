/**
 * The alerts module, composed: the service (rules, evaluation, the service
 * alert sink, silences, maintenance), its routes, its jobs and the seeding of
 * the default rules. src/runtime.ts wires it; the notifications module gives the
 * AlertNotifier and the probes module the ProbeStateSource.
 */
import type { RouteModule } from '../../http/app.ts';
import type { JobDefinition } from '../../jobs/runner.ts';
import { seedDefaultRules } from './defaults.ts';
import { alertRoutes } from './routes.ts';
import { AlertsService, type AlertsOptions } from './service.ts';

export interface AlertsModuleOptions extends AlertsOptions {
  /** Resolved events older than this are deleted by the alert-events-retention job (default 30). */
  retentionDays?: number | undefined;
  /** Evaluation interval (default 30 s). */
  evaluateEveryMs?: number | undefined;
}

export interface AlertsModule {
  service: AlertsService;
  routes: RouteModule;
  jobs: JobDefinition[];
  seedDefaults(): Promise<string[]>;
}

export const DEFAULT_ALERT_RETENTION_DAYS = 30;

export function createAlertsModule(o: AlertsModuleOptions): AlertsModule {
  const service = new AlertsService(o);
  const retentionDays = o.retentionDays ?? DEFAULT_ALERT_RETENTION_DAYS;
  return {
    service,
    routes: (app) => alertRoutes(app, service),
    jobs: [
      {
        name: 'alert-evaluation',
        description: 'Evaluates every alert rule (pending → firing → resolved, notices into the notification outbox)',
        intervalMs: o.evaluateEveryMs ?? 30_000,
        run: async () => {
          const r = await service.evaluate();
          return { rules: r.rules, series: r.series, transitions: r.transitions, notices: r.notices, muted: r.muted, errors: r.errors.length };
        },
      },
      {
        name: 'alert-events-retention',
        description: `Deletes resolved alert events resolved more than ${retentionDays} days ago`,
        intervalMs: 3_600_000,
        run: async () => ({ deleted: await service.events.deleteOlderThan(retentionDays, o.clock.now()), retentionDays }),
      },
    ],
    seedDefaults: () => seedDefaultRules(o.db, service),
  };
}
