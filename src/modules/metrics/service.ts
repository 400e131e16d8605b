/** Metrics ingest: validation + one transaction per batch, counted in the Prometheus metrics. */
import type { AppDeps } from '../../http/app.ts';
import type { IngestResult } from '../../timeseries/store.ts';

export async function ingestMetrics(deps: Pick<AppDeps, 'store' | 'metrics'>, family: string, rows: readonly unknown[]): Promise<IngestResult> {
  const result = await deps.store.ingest(family, rows);
  deps.metrics.rowsIngested.inc({ family: result.family }, result.inserted);
  return result;
}
