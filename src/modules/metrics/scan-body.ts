/**
 * The metrics ingest body read without JSON.parse: `{"type": "<family>", "data": [rows…]}`, in
 * that order, with the rows read by the family's one-pass reader (src/timeseries/ingest-scan.ts)
 * straight into the insert's column arrays. Any other shape — another key order or key, one row
 * object instead of an array, an unknown family, escapes, anything the reader leaves to the
 * general path — answers null, and the body is parsed and validated as every other body is.
 */
import type { ColumnBatch } from '../../timeseries/ingest.ts';
import { skipWs } from '../../timeseries/ingest-scan.ts';
import type { TimeseriesStore } from '../../timeseries/store.ts';

const ws = (text: string, p: number): number => skipWs(text, p, text.length);

/** `name` (a quoted key) then `:` at p (whitespace around): the position after the colon, or -1. */
function key(text: string, p: number, name: string): number {
  if (!text.startsWith(name, p)) return -1;
  p = ws(text, p + name.length);
  return text.charCodeAt(p) === 58 ? ws(text, p + 1) : -1;
}

export interface ScannedIngest {
  type: string;
  batch: ColumnBatch;
}

export function scanIngestBody(store: TimeseriesStore, text: string, maxRows: number): ScannedIngest | null {
  let p = ws(text, 0);
  if (text.charCodeAt(p) !== 123) return null;
  p = key(text, ws(text, p + 1), '"type"');
  if (p < 0 || text.charCodeAt(p) !== 34) return null;
  const end = text.indexOf('"', p + 1);
  if (end < 0) return null;
  const type = text.slice(p + 1, end);
  // the family keys are plain words: a type with an escape or control character is for the general path
  if (type.length === 0 || type.length > 64 || !/^[A-Za-z0-9_-]+$/.test(type)) return null;
  p = ws(text, end + 1);
  if (text.charCodeAt(p) !== 44) return null;
  p = key(text, ws(text, p + 1), '"data"');
  // one row object (a single-row request) is not worth a second reader: the general path
  if (p < 0 || text.charCodeAt(p) !== 91) return null;
  const rows = store.scanRows(type, text, p, maxRows);
  if (rows === null) return null;
  p = ws(text, rows.end);
  if (text.charCodeAt(p) !== 125) return null;
  return ws(text, p + 1) === text.length ? { type, batch: rows.batch } : null;
}
