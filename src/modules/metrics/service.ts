/**
 * Metrics ingest: the whole batch is validated first (nothing is written unless
 * every row is valid), then written through the group-commit writer, which
 * answers only after the transaction holding these rows has committed.
 */
import type { WriteCoalescer } from '../../timeseries/coalescer.ts';
import type { ColumnBatch } from '../../timeseries/ingest.ts';
import type { IngestResult, TimeseriesStore } from '../../timeseries/store.ts';

export interface IngestDeps {
  store: TimeseriesStore;
  writer: WriteCoalescer;
  /** Counts stored rows per family (the Prometheus counter of src/http/metrics.ts in the app). */
  metrics: { rowsIngested: { inc(labels: { family: string }, value: number): void } };
}

export async function ingestMetrics(deps: IngestDeps, family: string, rows: readonly unknown[]): Promise<IngestResult> {
  return ingestBatch(deps, family, deps.store.prepare(family, rows));
}

/** A batch already validated and in columns (prepare, or the body reader of scan-body.ts). */
export async function ingestBatch(deps: IngestDeps, family: string, batch: ColumnBatch): Promise<IngestResult> {
  const inserted = await deps.writer.write(family, batch);
  const key = deps.store.family(family).key;
  deps.metrics.rowsIngested.inc({ family: key }, inserted);
  return { family: key, received: batch.rows, inserted, duplicates: batch.rows - inserted };
}
