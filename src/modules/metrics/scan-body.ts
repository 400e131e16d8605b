/**
 * The metrics ingest body read without JSON.parse: `{"type": "<family>", "data": [rows…]}`, in
 * that order, with the rows read by the family's one-pass reader (src/timeseries/ingest-scan.ts)
 * straight from the body's bytes into the insert's column arrays. Any other shape — another key
 * order or key, one row object instead of an array, an unknown family, escapes, anything the
 * reader leaves to the general path — answers null, and the body is parsed and validated as every
 * other body is.
 */
import type { ColumnBatch } from '../../timeseries/ingest.ts';
import { bytesAre, skipWs, stringText } from '../../timeseries/ingest-scan.ts';
import type { TimeseriesStore } from '../../timeseries/store.ts';

const ws = (b: Buffer, p: number): number => skipWs(b, p, b.length);

/** `name` (a quoted key) then `:` at p (whitespace around): the position after the colon, or -1. */
function key(b: Buffer, p: number, name: string): number {
  if (!bytesAre(b, p, name)) return -1;
  p = ws(b, p + name.length);
  return b[p] === 58 ? ws(b, p + 1) : -1;
}

export interface ScannedIngest {
  type: string;
  batch: ColumnBatch;
}

export function scanIngestBody(store: TimeseriesStore, body: Buffer, maxRows: number): ScannedIngest | null {
  let p = ws(body, 0);
  if (body[p] !== 123) return null;
  p = key(body, ws(body, p + 1), '"type"');
  if (p < 0 || body[p] !== 34) return null;
  const end = body.indexOf(34, p + 1);
  // the family keys are plain words: a type with an escape, a control character or a byte past ASCII is for the general path
  if (end < 0 || end === p + 1 || end - p - 1 > 64) return null;
  const type = stringText(body, p + 1, end, false);
  if (!/^[A-Za-z0-9_-]+$/.test(type)) return null;
  p = ws(body, end + 1);
  if (body[p] !== 44) return null;
  p = key(body, ws(body, p + 1), '"data"');
  // one row object (a single-row request) is not worth a second reader: the general path
  if (p < 0 || body[p] !== 91) return null;
  const rows = store.scanRows(type, body, p, maxRows);
  if (rows === null) return null;
  p = ws(body, rows.end);
  if (body[p] !== 125) return null;
  return ws(body, p + 1) === body.length ? { type, batch: rows.batch } : null;
}
