/**
 * What every ingest route does with its body before the service sees it: one
 * object or an array becomes a list of rows, bounded by OPSDECK_MAX_BATCH_ROWS;
 * and, on the compatibility endpoints, the names of the fields that were not
 * stored are bounded, counted and logged (docs/adr/0009-unknown-fields.md).
 */
import type { FastifyBaseLogger } from 'fastify';
import { z } from 'zod';
import { TooLargeError } from '../domain/errors.ts';
import type { Metrics } from './metrics.ts';

/**
 * An ingest body's rows: one object or an array. The route only shapes them; each row's fields
 * are checked by its family's or stream's own rules in the service. A loose object, because
 * `z.record` runs a key schema and a number test on every key and copies the row key by key
 * (about 4 µs more per single-row request at 25 fields).
 */
export const rowOrRows = z.union([z.looseObject({}), z.array(z.unknown())]);

/** One row or an array of rows as a list; more than `maxRows` → 413 TOO_MANY_ROWS, nothing written. */
export function batchRows(data: unknown, maxRows: number, noun = 'rows'): unknown[] {
  const rows = Array.isArray(data) ? data : [data];
  if (rows.length > maxRows) {
    throw new TooLargeError('TOO_MANY_ROWS', `a batch may carry at most ${maxRows} ${noun}; this one has ${rows.length}`, { maxRows });
  }
  return rows;
}

/** Most names an answer lists, and their longest length (names come from the client). */
const MAX_NAMES = 100;
const MAX_NAME_LENGTH = 64;

/**
 * Collects the names of fields a compatibility endpoint did not store, for one
 * request: each once, cut to 64 characters, at most 100. `report` counts them in
 * `opsdeck_ingest_ignored_fields_total{endpoint}`, logs them and returns them sorted.
 */
export class IgnoredFields {
  private readonly names = new Set<string>();

  add(names: Iterable<string>): void {
    for (const n of names) if (this.names.size < MAX_NAMES) this.names.add(n.slice(0, MAX_NAME_LENGTH));
  }

  report(metrics: Metrics, log: FastifyBaseLogger, endpoint: string): string[] {
    const list = [...this.names].sort();
    if (list.length > 0) {
      metrics.ignoredFields.inc({ endpoint }, list.length);
      log.warn({ ignoredFields: list.slice(0, 20), endpoint }, 'fields not stored');
    }
    return list;
  }
}
