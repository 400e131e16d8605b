/** Prometheus metrics of the process: HTTP, ingest, jobs, database pool. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Database } from '../db/database.ts';

export class Metrics {
  readonly registry = new Registry();
  readonly httpRequests = new Counter({ name: 'opsdeck_http_requests_total', help: 'HTTP requests by route, method and status', labelNames: ['route', 'method', 'status'] as const, registers: [this.registry] });
  readonly httpDuration = new Histogram({
    name: 'opsdeck_http_request_duration_seconds',
    help: 'HTTP request duration by route',
    labelNames: ['route', 'method'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly rowsIngested = new Counter({ name: 'opsdeck_rows_ingested_total', help: 'Rows stored by family (duplicates excluded)', labelNames: ['family'] as const, registers: [this.registry] });
  readonly ignoredFields = new Counter({
    name: 'opsdeck_ingest_ignored_fields_total',
    help: 'Distinct unknown field names dropped per request by the compatibility ingest endpoints',
    labelNames: ['endpoint'] as const,
    registers: [this.registry],
  });
  readonly jobRuns = new Counter({ name: 'opsdeck_job_runs_total', help: 'Job runs by job and outcome', labelNames: ['job', 'outcome'] as const, registers: [this.registry] });
  readonly jobFailures = new Counter({ name: 'opsdeck_job_failures_total', help: 'Failed job runs by job', labelNames: ['job'] as const, registers: [this.registry] });

  constructor(db: Database, options: { defaultMetrics?: boolean } = {}) {
    const pool = new Gauge({ name: 'opsdeck_db_pool_connections', help: 'Database pool connections by state', labelNames: ['state'] as const, registers: [this.registry], collect() {
      const s = db.poolStats();
      this.set({ state: 'total' }, s.total);
      this.set({ state: 'idle' }, s.idle);
      this.set({ state: 'waiting' }, s.waiting);
    } });
    void pool;
    if (options.defaultMetrics !== false) {
      collectDefaultMetrics({ register: this.registry, prefix: 'opsdeck_process_' });
      renameTotalGauges(this.registry);
    }
  }
}

/**
 * prom-client names three of its default gauges `nodejs_active_{handles,requests,resources}_total`
 * (the sum over the per-type gauges of the same name without the suffix); `_total` is reserved
 * for counters and promtool check metrics fails on it. They are exposed as
 * opsdeck_process_nodejs_active_handles_all, …_requests_all and …_resources_all.
 */
function renameTotalGauges(registry: Registry): void {
  for (const metric of registry.getMetricsAsArray()) {
    const m = metric as unknown as { name: string };
    if (!(metric instanceof Gauge) || !m.name.endsWith('_total')) continue;
    registry.removeSingleMetric(m.name);
    m.name = `${m.name.slice(0, -'_total'.length)}_all`;
    registry.registerMetric(metric);
  }
}
