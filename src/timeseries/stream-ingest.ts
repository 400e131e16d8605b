/**
 * Ingest of an event stream, derived from its declaration: the strict Zod
 * schema of one event (camelCase fields, `timestamp` optional), validation of
 * a whole batch before anything is written, the derived idempotency key, and
 * the one-statement insert (INSERT … SELECT FROM unnest(arrays)).
 */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { z } from 'zod';
import { InvalidError } from '../domain/errors.ts';
import { arrayLiteral, columnArrays, formatAge, isoFast, normalizeTimestamp, serverTime, type NormalizedTime } from './ingest.ts';
import { rowKey } from './store.ts';
import { STREAM_SQL_TYPES, type Stream, type StreamColumn } from './stream.ts';
import { streamIngestHorizonSeconds } from './stream-ddl.ts';

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const DEFAULT_TEXT_MAX = 256;
const DEFAULT_JSON_BYTES = 8192;

/** The Zod schema of one column's value. */
export function streamColumnSchema(c: StreamColumn): z.ZodType {
  let s: z.ZodType;
  switch (c.type) {
    case 'text': {
      if (c.values) {
        s = z.enum(c.values as [string, ...string[]]);
        break;
      }
      let t = z.string().min(1).max(c.maxLength ?? DEFAULT_TEXT_MAX);
      if (c.pattern) t = t.regex(c.pattern, c.patternRule);
      s = t;
      break;
    }
    case 'smallint':
    case 'integer':
    case 'bigint':
      s = z.number().int().min(c.min!).max(c.max!);
      break;
    case 'double':
      s = z.number().min(c.min!).max(c.max!);
      break;
    case 'boolean':
      s = z.boolean();
      break;
    case 'inet':
      s = z.string().max(45).refine((v) => isIP(v) !== 0, 'is not an IPv4 or IPv6 address');
      break;
    case 'uuid':
      s = z.string().regex(UUID, 'is not a UUID');
      break;
    case 'timestamptz':
      s = z.iso.datetime({ offset: true });
      break;
    case 'jsonb': {
      const max = c.maxJsonBytes ?? DEFAULT_JSON_BYTES;
      s = c.json!.refine((v) => Buffer.byteLength(JSON.stringify(v)) <= max, `is larger than ${max} bytes as JSON`);
      break;
    }
  }
  return s;
}

/** The strict schema of one event as the API accepts it. */
export function streamEventSchema(st: Stream): z.ZodObject {
  const shape: Record<string, z.ZodType> = { timestamp: z.iso.datetime({ offset: true }).optional() };
  for (const c of st.columns) {
    const s = streamColumnSchema(c);
    shape[c.field] = c.required ? s : s.nullable().optional();
  }
  return z.strictObject(shape);
}

const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/**
 * A per-event check compiled from the declaration for the hot path: it accepts only
 * events the Zod schema accepts (it is at least as strict); an event it refuses goes
 * to Zod, which accepts it or says what is wrong. A jsonb value is checked by its column's
 * own schema, and passes only when that schema keeps it unchanged.
 */
export function compileStreamFastCheck(st: Stream): (row: unknown) => boolean {
  const allowed = new Set(['timestamp', ...st.columns.map((c) => c.field)]);
  const checks = st.columns.map((c) => {
    const max = c.maxLength ?? DEFAULT_TEXT_MAX;
    const values = c.values ? new Set(c.values) : null;
    const pattern = c.pattern ?? null;
    let test: (v: unknown) => boolean;
    switch (c.type) {
      case 'text':
        test = (v) => typeof v === 'string' && (values ? values.has(v) : v.length >= 1 && v.length <= max && (pattern === null || pattern.test(v)));
        break;
      case 'smallint':
      case 'integer':
      case 'bigint':
        test = (v) => typeof v === 'number' && Number.isInteger(v) && v >= c.min! && v <= c.max!;
        break;
      case 'double':
        test = (v) => typeof v === 'number' && Number.isFinite(v) && v >= c.min! && v <= c.max!;
        break;
      case 'boolean':
        test = (v) => typeof v === 'boolean';
        break;
      case 'inet':
        test = (v) => typeof v === 'string' && v.length <= 45 && (IPV4.test(v) || isIP(v) !== 0);
        break;
      case 'uuid':
        test = (v) => typeof v === 'string' && UUID.test(v);
        break;
      case 'timestamptz':
        test = (v) => typeof v === 'string' && isoFast(v);
        break;
      case 'jsonb': {
        // The column's own schema (shape and size), and only a value it keeps as sent: a shape
        // that strips or fills in parts leaves the event to the whole schema, which stores its output.
        const schema = streamColumnSchema(c);
        test = (v) => {
          const r = schema.safeParse(v);
          return r.success && (r.data === v || JSON.stringify(r.data) === JSON.stringify(v));
        };
        break;
      }
    }
    return { field: c.field, required: Boolean(c.required), test };
  });
  return (row) => {
    if (typeof row !== 'object' || row === null || Array.isArray(row)) return false;
    const r = row as Record<string, unknown>;
    for (const k in r) if (!allowed.has(k)) return false;
    const ts = r.timestamp;
    if (ts !== undefined && (typeof ts !== 'string' || !isoFast(ts))) return false;
    for (const c of checks) {
      const v = r[c.field];
      if (v === undefined || v === null) {
        if (c.required) return false;
        continue;
      }
      if (!c.test(v)) return false;
    }
    return true;
  };
}

/** Validated events as column arrays, ready for the insert. */
export interface EventBatch {
  rows: number;
  /** time (ISO text PostgreSQL stores exactly), then one array per column in declaration order. */
  arrays: unknown[][];
  /** Stored time of each event in microseconds. */
  micros: number[];
  /** Row key of each event: time µs and idempotency key values (rowKey of store.ts, as for families). */
  keys: string[];
  minTime: number;
  maxTime: number;
}

/** A UUID (version 8, RFC 9562) from the SHA-256 of an event's time and values: the same event gets the same id. */
export function derivedUuid(micros: number, values: readonly unknown[]): string {
  const h = createHash('sha256').update(`${micros}\u0000${JSON.stringify(values)}`).digest('hex');
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}


export interface StreamValidateOptions {
  now?: number;
  /** Events further in the future are refused (seconds, default 3600). */
  maxFutureSeconds?: number;
  maxIssues?: number;
}

/**
 * Validates every event of a batch (throws InvalidError naming `<index>.<field>`
 * for each bad one, nothing returned so nothing written), normalises values
 * (lower-cased columns, derived key) and returns the column arrays.
 */
export function prepareEvents(
  st: Stream,
  schema: z.ZodObject,
  input: readonly unknown[],
  opts: StreamValidateOptions = {},
  fast: (row: unknown) => boolean = compileStreamFastCheck(st),
): EventBatch {
  const now = opts.now ?? Date.now();
  const maxFuture = now + (opts.maxFutureSeconds ?? 3600) * 1000;
  const horizon = streamIngestHorizonSeconds(st);
  const oldest = now - horizon * 1000;
  const maxIssues = opts.maxIssues ?? 20;
  const issues: { path: string; message: string }[] = [];
  const cols = st.columns;
  const arrays = columnArrays(cols.length + 1, input.length);
  const micros = new Array<number>(input.length);
  const keys = new Array<string>(input.length);
  const keyIdx = st.decl.idempotencyKey.map((k) => cols.findIndex((c) => c.name === k));
  const derivedIdx = st.decl.derivedKey === undefined ? -1 : cols.findIndex((c) => c.name === st.decl.derivedKey);
  let minTime = Infinity;
  let maxTime = -Infinity;
  let nowTime: NormalizedTime | null = null; // the server's time, for events without one (made when first needed)
  for (let i = 0; i < input.length; i++) {
    let row: Record<string, unknown>;
    if (fast(input[i])) row = input[i] as Record<string, unknown>;
    else {
      const parsed = schema.safeParse(input[i]);
      if (!parsed.success) {
        for (const issue of parsed.error.issues) {
          if (issues.length < maxIssues) issues.push({ path: [i, ...issue.path.map(String)].join('.'), message: issue.message });
        }
        continue;
      }
      row = parsed.data as Record<string, unknown>;
    }
    const time = row.timestamp === undefined ? (nowTime ??= serverTime(now)) : normalizeTimestamp(row.timestamp as string);
    if (time === null) {
      if (issues.length < maxIssues) issues.push({ path: `${i}.timestamp`, message: 'is not an ISO 8601 date-time with Z or ±HH:MM' });
      continue;
    }
    const t = Math.floor(time.micros / 1000);
    if (t > maxFuture || t < oldest) {
      if (issues.length < maxIssues) {
        issues.push({
          path: `${i}.timestamp`,
          message:
            t > maxFuture
              ? `is more than ${opts.maxFutureSeconds ?? 3600} s in the future`
              : `is older than ${formatAge(horizon)}, the oldest ${st.table} accepts (raw retention ${st.decl.retention}, less the time its rollups need to include the event)`,
        });
      }
      continue;
    }
    if (issues.length) continue;
    arrays[0]![i] = time.text;
    micros[i] = time.micros;
    let derived: number[] | undefined;
    for (let k = 0; k < cols.length; k++) {
      const c = cols[k]!;
      let v = row[c.field];
      if ((v === undefined || v === null) && c.derive) {
        v = c.derive.fn(row);
        if (v !== null) (derived ??= []).push(k);
      }
      if (v === undefined || v === null) v = null;
      else if (c.lowercase) v = (v as string).toLowerCase();
      else if (c.type === 'jsonb') v = JSON.stringify(v);
      else if (c.type === 'boolean') v = v ? 't' : 'f';
      else if (c.type === 'uuid') v = (v as string).toLowerCase();
      arrays[k + 1]![i] = v;
    }
    if (derivedIdx >= 0 && arrays[derivedIdx + 1]![i] === null) {
      // what the sender sent: a column Opsdeck derived is left out, so adding a derived
      // column does not change the id of an event sent again
      const values = cols.flatMap((c, k) => (c.derive && (derived?.includes(k) || arrays[k + 1]![i] === null) ? [] : [arrays[k + 1]![i]]));
      arrays[derivedIdx + 1]![i] = derivedUuid(time.micros, values);
    }
    keys[i] = rowKey(time.micros, keyIdx.map((k) => arrays[k + 1]![i]));
    if (t < minTime) minTime = t;
    if (t > maxTime) maxTime = t;
  }
  if (issues.length) {
    const first = issues[0]!;
    throw new InvalidError('VALIDATION_FAILED', `event ${first.path}: ${first.message}${issues.length > 1 ? ` (and ${issues.length - 1} more)` : ''}`, issues);
  }
  return { rows: input.length, arrays, micros, keys, minTime, maxTime };
}

/** Concatenates prepared batches (group commit). */
export function mergeEventBatches(batches: readonly EventBatch[]): EventBatch {
  const n = batches[0]!.arrays.length;
  const arrays = columnArrays(n, 0);
  const micros: number[] = [];
  const keys: string[] = [];
  let minTime = Infinity;
  let maxTime = -Infinity;
  let rows = 0;
  for (const b of batches) {
    for (let c = 0; c < n; c++) for (let i = 0; i < b.rows; i++) arrays[c]!.push(b.arrays[c]![i]);
    for (let i = 0; i < b.rows; i++) {
      micros.push(b.micros[i]!);
      keys.push(b.keys[i]!);
    }
    minTime = Math.min(minTime, b.minTime);
    maxTime = Math.max(maxTime, b.maxTime);
    rows += b.rows;
  }
  return { rows, arrays, micros, keys, minTime, maxTime };
}

/** Column names in insert order (the COPY benchmark uses the same order). */
export function streamInsertColumns(st: Stream): string[] {
  return ['time', ...st.columns.map((c) => c.name)];
}

/** INSERT … SELECT FROM unnest(…), returning the key of each new event. `skip`: ON CONFLICT DO NOTHING. */
export function streamInsertSQL(st: Stream, skip: boolean): string {
  const types = ['timestamptz', ...st.columns.map((c) => STREAM_SQL_TYPES[c.type])];
  const args = types.map((t, i) => `$${i + 1}::text::${t}[]`).join(', ');
  const key = [...st.decl.idempotencyKey, 'time'].join(', ');
  return (
    `INSERT INTO ${st.table} (${streamInsertColumns(st).join(', ')})\nSELECT * FROM unnest(${args})` +
    (skip ? `\nON CONFLICT (${key}) DO NOTHING` : '') +
    `\nRETURNING (extract(epoch FROM time) * 1000000)::bigint AS time_us, ${st.decl.idempotencyKey.join(', ')}`
  );
}

const UNQUOTED = new Set(['smallint', 'integer', 'bigint', 'double', 'boolean']);

/** The insert parameters of a prepared batch. */
export function streamArrayLiterals(st: Stream, batch: EventBatch): string[] {
  const quoted = [false, ...st.columns.map((c) => !UNQUOTED.has(c.type))];
  return batch.arrays.map((col, i) => arrayLiteral(col, quoted[i]!));
}
