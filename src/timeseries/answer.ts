/**
 * The text of a range-query answer, written as the rows arrive from the database: the
 * row form (`points`, one object per row, as always) or the columnar form (`series`, one
 * object per identity with the times once and one array per field). Both carry the same
 * rows, the same truncation and the same `next` cursor (ADR 0012).
 *
 * Nothing here holds the whole answer: rows come in batches from `Database.cursor`, text
 * leaves in chunks of about CHUNK_CHARS characters. What is held at once is one batch of
 * rows, one chunk of text, the rows of the current (series, millisecond) until the next one
 * starts (see limitRows) and, in the columnar form, the values of the current series (a
 * series' arrays can only be written once all its rows are read; the cell budget bounds it).
 */
import type { Family, Resolution } from './family.ts';
import { encodeCursor, QueryError, type QueryPlan } from './query.ts';

export const ANSWER_FORMATS = ['rows', 'columns'] as const;
export type AnswerFormat = (typeof ANSWER_FORMATS)[number];

/** Rows fetched from the database per cursor batch. */
export const CURSOR_BATCH_ROWS = 2000;
/** Characters of JSON text handed on at once (each chunk is one write to the socket). */
export const CHUNK_CHARS = 64 * 1024;

/** A row as the query SQL returns it: `t` (Date), identity columns, value columns, `samples` on rollups. */
export type QueryRow = Record<string, unknown>;

/** Where a truncated answer continues (set by limitRows once the rows are read). */
export interface Continuation {
  next?: string;
}

/** The answer's fields before its rows. */
export interface AnswerHead {
  family: string;
  resolution: Resolution;
  requestedResolution: Resolution | 'auto';
  from: string;
  to: string;
}

const timeOf = (r: QueryRow) => (r.t as Date).getTime();

/** A page that could hold only rows of one series in one millisecond (which go to the continuation): refused. */
export const sameMillisecondError = (plan: QueryPlan) =>
  new QueryError('TOO_MANY_POINTS', `more than ${plan.rowLimit} rows of one series share one millisecond; select fewer fields`, { maxPoints: plan.rowLimit });

/** The answer's fields before its rows, for a plan and the query it answers. */
export const answerHead = (family: string, plan: QueryPlan, q: { from: Date; to: Date }): AnswerHead => ({
  family,
  resolution: plan.resolution,
  requestedResolution: plan.requested,
  from: q.from.toISOString(),
  to: q.to.toISOString(),
});

/**
 * Applies the answer's row limit to rows in series-major order (the plan's SQL reads one row
 * more than the limit). When that extra row exists it is the first row not returned: `next`
 * points at its identity and millisecond, and rows of the same series in that same
 * millisecond are left to the continuation too (answer times have millisecond precision; the
 * continuation reads (identity, time) ≥ that). So the rows of the current (series,
 * millisecond) are held back until a row of another one arrives.
 */
export async function* limitRows(f: Family, plan: QueryPlan, batches: AsyncIterable<QueryRow[]>, cont: Continuation): AsyncGenerator<QueryRow[]> {
  const ids = f.identity;
  const sameKey = (a: QueryRow, b: QueryRow) => timeOf(a) === timeOf(b) && ids.every((i) => a[i] === b[i]);
  let seen = 0;
  let released = 0;
  let pending: QueryRow[] = [];
  for await (const batch of batches) {
    const out: QueryRow[] = [];
    for (const r of batch) {
      if (seen === plan.rowLimit) {
        if (pending.length > 0 && !sameKey(pending[0]!, r)) out.push(...pending);
        released += out.length;
        if (released === 0) throw sameMillisecondError(plan);
        if (out.length > 0) yield out;
        cont.next = encodeCursor({ resolution: plan.resolution, identity: ids.map((i) => String(r[i])), time: timeOf(r) });
        return;
      }
      seen++;
      if (pending.length > 0 && !sameKey(pending[0]!, r)) {
        for (const p of pending) out.push(p);
        pending = [];
      }
      pending.push(r);
    }
    released += out.length;
    if (out.length > 0) yield out;
  }
  if (pending.length > 0) yield pending;
}

/** A value as JSON text, as JSON.stringify writes it (a non-finite number is null). */
function json(v: unknown): string {
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'null';
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return JSON.stringify(v) ?? 'null';
}

/** The answer's text before its points or series: `{family, resolution, requestedResolution, from, to` (no closing brace). */
export const headText = (h: AnswerHead): string =>
  `{"family":${json(h.family)},"resolution":${json(h.resolution)},"requestedResolution":${json(h.requestedResolution)},"from":${json(h.from)},"to":${json(h.to)}`;

/** The answer's text after its points or series: `,truncated, next?}`. */
export const tailText = (cont: Continuation) => `,"truncated":${cont.next === undefined ? 'false' : `true,"next":${json(cont.next)}`}}`;

/**
 * The row form: `{family, resolution, requestedResolution, from, to, points: [{timestamp,
 * identity fields, value fields, samples?}, …], truncated, next?}` — the same text
 * JSON.stringify gives for the answer object.
 */
export async function* rowsText(f: Family, plan: QueryPlan, head: AnswerHead, rows: AsyncIterable<QueryRow[]>, cont: Continuation): AsyncGenerator<string> {
  const cols = [
    ...f.identity.map((c, k) => [c, `,${json(f.identityFields[k])}:`] as const),
    ...plan.columns.map((c) => [c.name, `,${json(c.field)}:`] as const),
    ...(plan.resolution === 'raw' ? [] : [['samples', ',"samples":'] as const]),
  ];
  yield `${headText(head)},"points":[`;
  let first = true;
  for await (const batch of rows) {
    let s = '';
    for (const r of batch) {
      s += `${first ? '' : ','}{"timestamp":"${(r.t as Date).toISOString()}"`;
      first = false;
      for (const [col, key] of cols) s += key + json(r[col]);
      s += '}';
    }
    yield s;
  }
  yield `]${tailText(cont)}`;
}

/** Values per piece of a series' array: pieces are handed on between them. */
const PIECE_VALUES = 8192;

function* arrayText(values: readonly unknown[], numeric: boolean): Generator<string> {
  if (values.length === 0) {
    yield '[]';
    return;
  }
  for (let i = 0; i < values.length; i += PIECE_VALUES) {
    let s = i === 0 ? '[' : ',';
    const end = Math.min(values.length, i + PIECE_VALUES);
    if (numeric) {
      for (let k = i; k < end; k++) s += (k === i ? '' : ',') + String(values[k]);
    } else {
      for (let k = i; k < end; k++) s += (k === i ? '' : ',') + json(values[k]);
    }
    yield end === values.length ? `${s}]` : s;
  }
}

/**
 * The columnar form: `{family, resolution, requestedResolution, from, to, series: [{identity:
 * {field: value, …}, time: [epoch ms, …], fields: {field: [value, …], …}, samples?: […]}, …],
 * truncated, next?}`. One entry per identity (the rows come series-major), its arrays aligned
 * index by index with `time`; `samples` (rollups only) beside `time`. A series that a
 * truncation splits continues, with the same identity, at the start of the next answer.
 */
export async function* columnsText(f: Family, plan: QueryPlan, head: AnswerHead, rows: AsyncIterable<QueryRow[]>, cont: Continuation): AsyncGenerator<string> {
  const ids = f.identity;
  const rollup = plan.resolution !== 'raw';
  yield `${headText(head)},"series":[`;
  let current: QueryRow | null = null;
  let time: number[] = [];
  let values: unknown[][] = plan.columns.map(() => []);
  let samples: number[] = [];
  let count = 0;
  function* series(): Generator<string> {
    const r = current!;
    yield `${count++ === 0 ? '' : ','}{"identity":{${ids.map((c, k) => `${json(f.identityFields[k])}:${json(r[c])}`).join(',')}},"time":`;
    yield* arrayText(time, true);
    yield ',"fields":{';
    for (let k = 0; k < plan.columns.length; k++) {
      yield `${k === 0 ? '' : ','}${json(plan.columns[k]!.field)}:`;
      yield* arrayText(values[k]!, false);
    }
    yield '}';
    if (rollup) {
      yield ',"samples":';
      yield* arrayText(samples, false);
    }
    yield '}';
  }
  for await (const batch of rows) {
    for (const r of batch) {
      if (current === null || !ids.every((i) => r[i] === current![i])) {
        if (current !== null) yield* series();
        current = r;
        time = [];
        values = plan.columns.map(() => []);
        samples = [];
      }
      time.push(timeOf(r));
      for (let k = 0; k < plan.columns.length; k++) values[k]!.push(r[plan.columns[k]!.name]);
      if (rollup) samples.push(r.samples as number);
    }
  }
  if (current !== null) yield* series();
  yield `]${tailText(cont)}`;
}

/**
 * The most characters a chunk joins: under V8's regular object size (~128 KiB), above which a
 * string is allocated in fresh pages (~20 times the cost per byte here).
 */
const MAX_JOINED_CHARS = 96 * 1024;

/**
 * Joins pieces of text into chunks of at least `chunkChars` characters (the last one may be
 * shorter), without joining past MAX_JOINED_CHARS: a piece that would is passed on as it is,
 * after the pieces before it.
 */
export async function* chunked(pieces: AsyncIterable<string>, chunkChars = CHUNK_CHARS): AsyncGenerator<string> {
  const maxChars = Math.max(chunkChars, MAX_JOINED_CHARS);
  let parts: string[] = [];
  let size = 0;
  for await (const p of pieces) {
    if (size > 0 && size + p.length > maxChars) {
      yield parts.join('');
      parts = [];
      size = 0;
    }
    parts.push(p);
    size += p.length;
    if (size >= chunkChars) {
      yield parts.length === 1 ? parts[0]! : parts.join('');
      parts = [];
      size = 0;
    }
  }
  if (size > 0) yield parts.join('');
}

/** The chunks of an answer; `return()` ends it early (and its cursor), whether or not it was read yet. */
export interface AnswerText extends AsyncIterableIterator<string> {
  return(): Promise<IteratorResult<string>>;
}

/**
 * Starts an answer: runs it up to its first chunk, so that every refusal the query can meet
 * before then (validation, database errors, the first batches) is thrown here, before
 * anything is sent; the returned iterator yields that chunk, then the rest. `return()` —
 * also before the first `next()` — ends the underlying generators and so the cursor.
 */
export async function primed(chunks: AsyncGenerator<string>): Promise<AnswerText> {
  let held: IteratorResult<string> | null = await chunks.next();
  const it: AnswerText = {
    next: async () => {
      if (held === null) return chunks.next();
      const r = held;
      held = null;
      return r;
    },
    return: async () => {
      held = null;
      return chunks.return(undefined);
    },
    [Symbol.asyncIterator]: () => it,
  };
  return it;
}
