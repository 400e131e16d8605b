/**
 * Ingest schema and insert SQL derived from a family declaration.
 * One statement per batch (INSERT … SELECT FROM unnest(arrays), or a binary COPY for a large
 * batch where the driver can: write.ts), idempotent on (identity, time): a retried batch stores
 * nothing twice.
 */
import { z } from 'zod';
import { CopyBinaryWriter } from '../db/copy-binary.ts';
import { SQL_TYPES, type ColumnDecl, type ColumnType, type Family, type FamilyDecl, type IngestRow, camelCase, perDeclaration } from './family.ts';
import { ingestHorizonSeconds } from './ddl.ts';

/** '88 days 23 hours' for a number of seconds (whole hours). */
export function formatAge(seconds: number): string {
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  return [d ? `${d} days` : '', h ? `${h} hours` : ''].filter(Boolean).join(' ') || `${seconds} s`;
}


/** Accepted range of a numeric column: its declared bounds within what its SQL type holds (bigint: exact JS integers). */
export function valueRange(c: ColumnDecl): { min: number; max: number } {
  const [typeMin, typeMax] =
    c.type === 'integer' ? [-2147483648, 2147483647] : c.type === 'bigint' ? [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER] : [-Infinity, Infinity];
  return { min: Math.max(c.min ?? -Infinity, typeMin), max: Math.min(c.max ?? Infinity, typeMax) };
}

/** Case-insensitive text columns: lower-cased spelling → declared value. */
export function canonicalValues(c: ColumnDecl): Map<string, string> | null {
  return c.type === 'text' && c.values && c.caseInsensitive ? new Map(c.values.map((v) => [v.toLowerCase(), v])) : null;
}

function columnSchema(c: ColumnDecl): z.ZodType {
  switch (c.type) {
    case 'text': {
      if (!c.values) return z.string().max(256).nullable().optional();
      const e = z.enum(c.values as [string, ...string[]]);
      if (!c.caseInsensitive) return e.nullable().optional();
      // any spelling of a declared value becomes the declared one; anything else is refused by the enum
      const canon = canonicalValues(c)!;
      return z.preprocess((v) => (typeof v === 'string' ? (canon.get(v.toLowerCase()) ?? v) : v), e.nullable().optional());
    }
    case 'boolean':
      return z.boolean().nullable().optional();
    case 'double':
    case 'integer':
    case 'bigint': {
      let n = c.type === 'double' ? z.number() : z.number().int();
      const { min, max } = valueRange(c);
      if (Number.isFinite(min)) n = n.min(min);
      if (Number.isFinite(max)) n = n.max(max);
      return n.nullable().optional();
    }
  }
}

/** The strict Zod schema of one ingest row: camelCase fields, unknown fields rejected. */
export function ingestRowSchema<F extends FamilyDecl>(f: Family<F>): z.ZodType<IngestRow<F>> {
  const shape: Record<string, z.ZodType> = {
    timestamp: z.iso.datetime({ offset: true }).optional(),
  };
  f.identityFields.forEach((id, k) => {
    const r = f.identityRules[k]!;
    shape[id] = z.string().min(1).max(r.maxLength).regex(r.pattern, r.rule);
  });
  for (const c of f.columns) shape[c.field] = columnSchema(c);
  return z.strictObject(shape) as unknown as z.ZodType<IngestRow<F>>;
}


/** An accepted ISO 8601 timestamp: date and time to the second, optional fraction, Z or ±HH:MM. */
const ISO_PARTS = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/;

/** A timestamp as PostgreSQL stores it: microseconds since the epoch, and text that says exactly that. */
export interface NormalizedTime {
  micros: number;
  text: string;
}

/** `YYYY-MM-DDTHH:MM:SS.ffffffZ` of a microsecond instant. */
export function microsIso(micros: number): string {
  const ms = Math.floor(micros / 1000);
  return `${new Date(ms).toISOString().slice(0, -1)}${String(micros - ms * 1000).padStart(3, '0')}Z`;
}

/**
 * The instant PostgreSQL will store for an ISO 8601 timestamp (null when the text is not in the
 * accepted form). PostgreSQL keeps microseconds: it reads the fraction of a second as a double
 * and rounds fraction × 10^6 with rint() — ties to even, so .0000025 → .000002 and .9999995 → the
 * next second (checked against PostgreSQL 17 and PGlite). Every time Opsdeck derives from a row
 * (partition, invalidated 5-minute bucket, nodes.last_seen, group-commit row key) comes from this
 * value, and a timestamp with more than 6 fractional digits is sent to PostgreSQL in this
 * normalised form, so both sides agree on the instant.
 */
export function normalizeTimestamp(ts: string): NormalizedTime | null {
  const m = ISO_PARTS.exec(ts);
  if (!m) return null;
  const frac = m[2];
  if (frac === undefined || frac.length <= 3) {
    // whole milliseconds: Date.parse reads them exactly
    const ms = Date.parse(ts);
    return Number.isFinite(ms) ? { micros: ms * 1000, text: ts } : null;
  }
  const seconds = Date.parse(m[1]! + m[3]!);
  if (!Number.isFinite(seconds)) return null;
  const x = Number(`0.${frac}`) * 1e6;
  let us = Math.round(x);
  if (us - x === 0.5 && us % 2 !== 0) us -= 1; // rint(): ties to even
  const micros = seconds * 1000 + us;
  // up to 6 digits PostgreSQL stores exactly what the text says: send it as it came
  return { micros, text: frac.length <= 6 ? ts : microsIso(micros) };
}

/** The common ISO 8601 form `YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)`; anything else goes to Zod to decide. */
const ISO_FAST = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:Z|[+-](\d{2}):(\d{2}))$/;

/** A real calendar date and time of day in the common ISO form (no 24:00, no leap seconds, no Feb 30). */
export function isoFast(ts: string): boolean {
  const m = ISO_FAST.exec(ts);
  if (!m) return false;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  if (mo < 1 || mo > 12 || d < 1 || (d > 28 && d > new Date(Date.UTC(y, mo, 0)).getUTCDate())) return false;
  if (Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6]) > 59) return false;
  return m[7] === undefined || (Number(m[7]) <= 23 && Number(m[8]) <= 59);
}

/**
 * A row check compiled from the declaration for the hot path. It accepts only
 * rows the Zod schema accepts (it is at least as strict); a row it refuses is
 * handed to Zod, which either accepts it or explains what is wrong.
 */
export function compileFastCheck(f: Family): (row: unknown) => boolean {
  const allowed = new Set(['timestamp', ...f.identityFields, ...f.columns.map((c) => c.field)]);
  const ids = f.identityFields.map((field, k) => ({ field, ...f.identityRules[k]! }));
  const cols = f.columns.map((c) => ({
    field: c.field,
    type: c.type,
    ...valueRange(c),
    values: c.values ? new Set(c.values) : null,
    canon: canonicalValues(c),
  }));
  // Per identity column, values seen valid recently (a batch repeats the same few node ids).
  // One set per column: columns may have different rules.
  const goodIds = ids.map(() => new Set<string>());
  return (row) => {
    if (typeof row !== 'object' || row === null || Array.isArray(row)) return false;
    const r = row as Record<string, unknown>;
    for (const k in r) if (!allowed.has(k)) return false;
    const ts = r.timestamp;
    if (ts !== undefined && (typeof ts !== 'string' || !isoFast(ts))) return false;
    for (let k = 0; k < ids.length; k++) {
      const id = ids[k]!;
      const v = r[id.field];
      if (typeof v !== 'string') return false;
      const good = goodIds[k]!;
      if (good.has(v)) continue;
      if (v.length === 0 || v.length > id.maxLength || !id.pattern.test(v)) return false;
      if (good.size >= 10_000) good.clear();
      good.add(v);
    }
    for (const c of cols) {
      const v = r[c.field];
      if (v === undefined || v === null) continue;
      if (c.type === 'text') {
        if (typeof v !== 'string') return false;
        if (c.canon ? !c.canon.has(v.toLowerCase()) : c.values ? !c.values.has(v) : v.length > 256) return false;
      } else if (c.type === 'boolean') {
        if (typeof v !== 'boolean') return false;
      } else {
        if (typeof v !== 'number' || !Number.isFinite(v) || v < c.min || v > c.max) return false;
        if (c.type !== 'double' && !Number.isInteger(v)) return false;
      }
    }
    return true;
  };
}

export interface RowIssue {
  index: number;
  path: (string | number)[];
  message: string;
}

export class IngestValidationError extends Error {
  readonly code = 'VALIDATION_FAILED';
  constructor(readonly issues: RowIssue[]) {
    const first = issues[0];
    super(
      first
        ? `row ${first.index}: ${first.path.join('.') || '(row)'}: ${first.message}${issues.length > 1 ? ` (and ${issues.length - 1} more)` : ''}`
        : 'invalid rows',
    );
    this.name = 'IngestValidationError';
  }
}

/** Column-major arrays ready for the UNNEST insert. */
export interface ColumnBatch {
  rows: number;
  /** Arrays in insert order: time (ISO 8601 text PostgreSQL stores exactly), identity…, columns…. */
  arrays: unknown[][];
  /** Time of each row as PostgreSQL stores it: microseconds since the epoch (see normalizeTimestamp). */
  micros: number[];
  /** Earliest and latest row time, milliseconds (the microsecond time rounded down). */
  minTime: number;
  maxTime: number;
  /**
   * Per node (value of the family's node column): latest time (ms, and its exact text) and
   * role, when the family has a role column. Empty for a family without a node column.
   */
  latestByNode: Map<string, LatestSample>;
  /**
   * The body reader's columns (ingest-scan.ts), in the order of `arrays`: a number column as a
   * Float64Array of its values (NaN: NULL; a stored value is always finite), any other as its
   * array. `arrays` is then made from them when first read; the writers read these.
   */
  read?: readonly BatchColumn[];
}

/** A column of a batch: its values by row, or a number column's values with NaN for NULL. */
export type BatchColumn = readonly unknown[] | Float64Array;

/** The columns the writers read: the body reader's when it made the batch, else `arrays`. */
export function batchColumns(batch: ColumnBatch): readonly BatchColumn[] {
  return batch.read ?? batch.arrays;
}

export interface LatestSample {
  /** Milliseconds (rounded down). */
  time: number;
  micros: number;
  /** The exact time as ISO 8601 text. */
  at: string;
  role: string | null;
}

export interface ValidateOptions {
  now?: number;
  /** Rows further in the future than this are rejected (seconds). */
  maxFutureSeconds?: number;
  maxIssues?: number;
}

/** `n` column arrays of `length` slots (a loop: Array.from with a callback costs µs per request). */
export function columnArrays(n: number, length: number): unknown[][] {
  const arrays = new Array<unknown[]>(n);
  for (let k = 0; k < n; k++) arrays[k] = new Array<unknown>(length);
  return arrays;
}

/** The time given to a row sent without one. */
export function serverTime(now: number): NormalizedTime {
  return { micros: now * 1000, text: new Date(now).toISOString() };
}

interface RowPlan {
  /** Case-insensitive text columns: index → lower-cased spelling → declared value. */
  canon: (Map<string, string> | null)[];
  /** Index in the batch's arrays of the role column, or -1. */
  roleArray: number;
}

/** What prepareBatch reads of a family on every call, derived once per family. */
const rowPlan = perDeclaration((f: Family): RowPlan => {
  const roleField = f.decl.roleColumn ? camelCase(f.decl.roleColumn) : null;
  const roleArray = roleField ? 1 + f.identityFields.length + f.columns.findIndex((c) => c.field === roleField) : -1;
  return { canon: f.columns.map(canonicalValues), roleArray };
});

/**
 * Validates raw JSON rows and turns them into column arrays. Throws
 * IngestValidationError listing every bad row (index + field path); nothing is
 * returned, so nothing is written, unless all rows are valid.
 */
export function prepareBatch(
  f: Family,
  schema: z.ZodType,
  input: readonly unknown[],
  opts: ValidateOptions = {},
  fast: (row: unknown) => boolean = compileFastCheck(f),
): ColumnBatch {
  const now = opts.now ?? Date.now();
  const maxFuture = now + (opts.maxFutureSeconds ?? 3600) * 1000;
  // Older rows could miss a rollup's refresh window before retention drops them (ddl.ts).
  const horizon = ingestHorizonSeconds(f);
  const oldest = now - horizon * 1000;
  const maxIssues = opts.maxIssues ?? 20;
  const issues: RowIssue[] = [];
  const nCols = 1 + f.identity.length + f.columns.length;
  const arrays = columnArrays(nCols, input.length);
  const idFields = f.identityFields;
  const micros = new Array<number>(input.length);
  const latestByNode = new Map<string, LatestSample>();
  const { canon, roleArray } = rowPlan(f);
  const nodeField = f.nodeField;
  let minTime = Infinity;
  let maxTime = -Infinity;
  let nowTime: NormalizedTime | null = null; // the server's time, for rows without one (made when first needed)
  for (let i = 0; i < input.length; i++) {
    let row: Record<string, unknown>;
    if (fast(input[i])) row = input[i] as Record<string, unknown>;
    else {
      const parsed = schema.safeParse(input[i]);
      if (!parsed.success) {
        for (const issue of parsed.error.issues) {
          if (issues.length < maxIssues) issues.push({ index: i, path: issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p)), message: issue.message });
        }
        continue;
      }
      row = parsed.data as Record<string, unknown>;
    }
    const time = row.timestamp === undefined ? (nowTime ??= serverTime(now)) : normalizeTimestamp(row.timestamp as string);
    if (time === null) {
      // both checks accept only the form normalizeTimestamp reads; kept as a guard
      if (issues.length < maxIssues) issues.push({ index: i, path: ['timestamp'], message: 'is not an ISO 8601 date-time with Z or ±HH:MM' });
      continue;
    }
    const t = Math.floor(time.micros / 1000);
    if (t > maxFuture || t < oldest) {
      if (issues.length < maxIssues) {
        issues.push({
          index: i,
          path: ['timestamp'],
          message: t > maxFuture ? `is more than ${opts.maxFutureSeconds ?? 3600} s in the future` : `is older than ${formatAge(horizon)}, the oldest this family accepts (raw retention ${f.decl.retention.raw}, less the time its rollups need to include the row)`,
        });
      }
      continue;
    }
    if (issues.length) continue;
    // ISO 8601 text PostgreSQL stores exactly (offsets kept; more than 6 fractional digits rounded as PostgreSQL would).
    arrays[0]![i] = time.text;
    micros[i] = time.micros;
    for (let k = 0; k < idFields.length; k++) arrays[1 + k]![i] = row[idFields[k]!];
    for (let k = 0; k < f.columns.length; k++) {
      let v = row[f.columns[k]!.field];
      const c = canon[k];
      if (c && typeof v === 'string') v = c.get(v.toLowerCase()) ?? v;
      // booleans travel as t/f in the array literal (see arrayLiterals)
      arrays[1 + idFields.length + k]![i] = v === undefined || v === null ? null : typeof v === 'boolean' ? (v ? 't' : 'f') : v;
    }
    if (t < minTime) minTime = t;
    if (t > maxTime) maxTime = t;
    if (nodeField === null) continue;
    const node = row[nodeField] as string;
    const prev = latestByNode.get(node);
    if (!prev || time.micros >= prev.micros) {
      latestByNode.set(node, { time: t, micros: time.micros, at: time.text, role: roleArray < 0 ? null : ((arrays[roleArray]![i] as string | null) ?? null) });
    }
  }
  if (issues.length) throw new IngestValidationError(issues);
  return { rows: input.length, arrays, micros, minTime, maxTime, latestByNode };
}

/**
 * INSERT … SELECT FROM unnest(…) for the family: one statement per batch. Each
 * column travels as one PostgreSQL array literal in a text parameter (built by
 * arrayLiterals), which is much cheaper than a driver's generic array encoding.
 * `onConflict`: skip rows whose (identity, time) exists (retried batches); the
 * plain form is tried first and is cheaper for the server.
 */
export function insertSQL(f: Family, onConflict = true): string {
  const cols = ['time', ...f.identity, ...f.columns.map((c) => c.name)];
  const types = ['timestamptz', ...f.identity.map(() => 'text'), ...f.columns.map((c) => SQL_TYPES[c.type])];
  const args = types.map((t, i) => `$${i + 1}::text::${t}[]`).join(', ');
  const conflict = onConflict ? `\nON CONFLICT (${[...f.identity, 'time'].join(', ')}) DO NOTHING` : '';
  return `INSERT INTO ${f.table} (${cols.join(', ')})\nSELECT * FROM unnest(${args})${conflict}`;
}

/** `{a,b,NULL}` array literal of one column; text values are quoted and escaped. */
export function arrayLiteral(values: readonly unknown[], quote: boolean): string {
  // Numbers (or their text) with no NULL: the engine's join writes them as String() does.
  if (!quote && !values.includes(null) && !values.includes(undefined)) return `{${values.join(',')}}`;
  // Texts with nothing to escape and no NULL (node ids, roles): one join, no string per element.
  if (quote && values.length > 0 && values.every(plainText)) return `{"${values.join('","')}"}`;
  const parts = new Array<string>(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) parts[i] = 'NULL';
    else if (quote) parts[i] = `"${String(v).replace(/[\\"]/g, (m) => `\\${m}`)}"`;
    else parts[i] = String(v);
  }
  return `{${parts.join(',')}}`;
}

/** A string that goes between double quotes in an array literal as it is. */
function plainText(v: unknown): boolean {
  return typeof v === 'string' && !v.includes('"') && !v.includes('\\');
}

/**
 * Which insert parameters quote their elements, in column order of insertSQL: identities and text
 * columns do; time, numbers and booleans travel unquoted. The one rule for every writer of the literals.
 */
export function quotedColumns(f: Family): boolean[] {
  return [false, ...f.identity.map(() => true), ...f.columns.map((c) => c.type === 'text')];
}

/** The insert parameters of a prepared batch (column order of insertSQL). */
export function arrayLiterals(f: Family, batch: ColumnBatch): readonly string[] {
  const quoted = quotedColumns(f);
  return batchColumns(batch).map((col, i) => (col instanceof Float64Array ? numberLiteral(col) : arrayLiteral(col, quoted[i]!)));
}

/** `{1.5,NULL,…}` of a number column read by the body reader (NaN: NULL), each value as String() writes it. */
function numberLiteral(values: Float64Array): string {
  const parts = new Array<string>(values.length);
  for (let i = 0; i < values.length; i++) {
    const x = values[i]!;
    parts[i] = Number.isNaN(x) ? 'NULL' : String(x);
  }
  return `{${parts.join(',')}}`;
}

const enum CopyKind {
  Text,
  Double,
  Integer,
  Bigint,
  Boolean,
}

/** A family's binary COPY: its statement and each column's binary form, derived once. */
const copyPlan = perDeclaration((f: Family) => ({
  sql: `COPY ${f.table} (${insertColumns(f).join(', ')}) FROM STDIN (FORMAT binary)`,
  // after the time: identities are text, then the columns by type
  kinds: [...f.identity.map(() => CopyKind.Text), ...f.columns.map((c) => COPY_KINDS[c.type])],
}));

const COPY_KINDS: Record<ColumnType, CopyKind> = {
  text: CopyKind.Text,
  double: CopyKind.Double,
  integer: CopyKind.Integer,
  bigint: CopyKind.Bigint,
  boolean: CopyKind.Boolean,
};

/** `COPY <table> (<insertColumns>) FROM STDIN (FORMAT binary)` of the family. */
export function copySQL(f: Family): string {
  return copyPlan(f).sql;
}

/**
 * A prepared batch in PostgreSQL's binary COPY format (src/db/copy-binary.ts), columns in the
 * order of insertColumns: the time from `micros` (the instant PostgreSQL stores), every other
 * value as its type's binary form. The server stores the same values as from the array literals:
 * a number's literal is its own text or String() of it, and PostgreSQL reads either back to the
 * same double, which is what is sent here (negative zero as zero, as "0" would store it).
 */
export function copyData(f: Family, batch: ColumnBatch): Uint8Array {
  const { kinds } = copyPlan(f);
  const cols = batchColumns(batch);
  const rows = batch.rows;
  const fields = 1 + kinds.length;
  const w = new CopyBinaryWriter(rows * (2 + 16 * fields) + 64);
  // the body reader's number columns apart from the arrays: each read site then sees one kind of column
  const typed = cols.map((c) => (c instanceof Float64Array ? c : null));
  const plain = cols.map((c) => (c instanceof Float64Array ? null : c));
  for (let i = 0; i < rows; i++) {
    w.row(fields);
    w.timestamptz(batch.micros[i]!);
    for (let k = 0; k < kinds.length; k++) {
      const kind = kinds[k]!;
      const values = typed[k + 1];
      if (values) {
        const x = values[i]!;
        if (Number.isNaN(x)) w.null();
        else if (kind === CopyKind.Double) w.float8(x);
        else if (kind === CopyKind.Bigint) w.int8(x);
        else w.int4(x);
        continue;
      }
      const v = plain[k + 1]![i];
      if (v === null || v === undefined) w.null();
      else if (kind === CopyKind.Double) w.float8(v as number);
      else if (kind === CopyKind.Text) w.text(v as string);
      else if (kind === CopyKind.Bigint) w.int8(v as number);
      else if (kind === CopyKind.Integer) w.int4(v as number);
      else w.bool(v === 't' || v === true);
    }
  }
  return w.finish();
}

/** Column names in insert order (the COPY benchmark uses the same order). */
export function insertColumns(f: Family): string[] {
  return ['time', ...f.identity, ...f.columns.map((c) => c.name)];
}
