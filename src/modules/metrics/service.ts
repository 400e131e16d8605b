/**
 * Metrics ingest: the whole batch is validated first (nothing is written unless
 * every row is valid), then written through the group-commit writer, which
 * answers only after the transaction holding these rows has committed.
 */
import type { AppDeps } from '../../http/app.ts';
import type { IngestResult } from '../../timeseries/store.ts';

export async function ingestMetrics(deps: Pick<AppDeps, 'store' | 'writer' | 'metrics'>, family: string, rows: readonly unknown[]): Promise<IngestResult> {
  const batch = deps.store.prepare(family, rows);
  const inserted = await deps.writer.write(family, batch);
  const key = deps.store.family(family).key;
  deps.metrics.rowsIngested.inc({ family: key }, inserted);
  return { family: key, received: rows.length, inserted, duplicates: rows.length - inserted };
}
