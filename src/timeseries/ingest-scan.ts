/**
 * A one-pass reader of a JSON array of ingest rows, compiled from a family declaration: it reads
 * the body's bytes straight into the batch's columns — number columns as Float64Arrays, the
 * values JSON.parse would read — so the common batch needs no JSON.parse and no row objects, and
 * a large one goes to the server as a binary COPY with no number → text conversion at all
 * (ADR 0031 says why the reader exists, ADR 0033 why its numbers are values, not text).
 *
 * It is a fast path, never a second judge. It accepts only what the general path
 * (JSON.parse, the compiled check, Zod, prepareBatch) accepts, and produces the same batch:
 * the same times, identities and stored values. Anything else — an escape in a string, an
 * unknown or repeated field, a nested value, a row out of the time window, malformed JSON —
 * makes it answer null, and the caller runs the general path, which stores the batch or
 * explains what is wrong. `ingest-scan.test.ts` checks both claims against the general path
 * on generated and mutated bodies.
 *
 * It reads bytes, not a decoded string: the body is never turned into text when the reader takes
 * it, and a byte is one array load where a character of a string is a dispatch on the string's
 * kind. The JSON syntax is all ASCII, so it is read byte by byte; the text of a string value is
 * decoded as UTF-8 where it has a byte past ASCII (its bytes end at a quote, which no multi-byte
 * sequence holds, so that decoding gives what decoding the whole body gives), else as Latin-1.
 */
import type { Family } from './family.ts';
import { ingestHorizonSeconds } from './ddl.ts';
import { canonicalValues, isoFast, normalizeTimestamp, serverTime, valueRange, type ColumnBatch, type LatestSample, type NormalizedTime } from './ingest.ts';

/** Reads a JSON array of rows starting at `pos` (whitespace allowed before it); null → use the general path. */
export type RowScanner = (body: Buffer, pos: number, maxRows: number, now?: number) => { batch: ColumnBatch; end: number } | null;

const enum Kind {
  Time,
  Identity,
  Text,
  Bool,
  Number,
}

interface Slot {
  field: string;
  kind: Kind;
  /** Numbers: whole numbers only (integer, bigint). */
  integer: boolean;
  min: number;
  max: number;
  /** Text: declared values, their case-insensitive spellings. */
  values: Set<string> | null;
  canon: Map<string, string> | null;
  /** Identity: the rule of the declaration. */
  maxLength: number;
  pattern: RegExp | null;
}

/** Most rows one call reads (a larger batch takes the general path). */
const MAX_ROWS = 100_000;

/** Powers of ten a double holds exactly (10^0 … 10^22). */
const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);

/**
 * The value of the number numberEnd last read, when it is a plain decimal of at most 15 digits
 * and at most 22 after the point; NaN otherwise. Such a value is exactly the correctly rounded
 * m / 10^k of two exact doubles (Clinger's fast path), i.e. what JSON.parse and PostgreSQL read.
 */
let scannedNumber = NaN;
/** Whether the number numberEnd last read has a fraction (a point). */
let scannedPoint = false;

/** The first position at or after p that is not JSON whitespace. */
export function skipWs(b: Uint8Array, p: number, n: number): number {
  while (p < n) {
    const c = b[p]!;
    if (c !== 32 && c !== 10 && c !== 13 && c !== 9) break;
    p++;
  }
  return p;
}

/** Whether the string stringEnd last found has a byte past ASCII, and a hash of its bytes. */
let stringWide = false;
let stringHash = 0;

/** The closing quote of the string opening at p; -1 when it has an escape or a control character, or does not end. */
function stringEnd(b: Uint8Array, p: number, n: number): number {
  let wide = 0;
  let h = 0;
  for (let i = p + 1; i < n; i++) {
    const c = b[i]!;
    if (c === 34) {
      stringWide = wide !== 0;
      stringHash = h;
      return i;
    }
    if (c === 92 || c < 32) return -1;
    wide |= c & 0x80;
    h = (Math.imul(h, 31) + c) | 0;
  }
  return -1;
}

/** The text of bytes [a, e) of a string without escapes: UTF-8 when `wide`, else ASCII (read as Latin-1). */
export function stringText(b: Buffer, a: number, e: number, wide: boolean): string {
  return b.toString(wide ? 'utf8' : 'latin1', a, e);
}

/** Whether bytes [p, p + word.length) are the ASCII word. */
export function bytesAre(b: Uint8Array, p: number, word: string): boolean {
  const len = word.length;
  if (p + len > b.length) return false;
  for (let i = 0; i < len; i++) if (b[p + i] !== word.charCodeAt(i)) return false;
  return true;
}

/** The end of the JSON number at p (its grammar exactly), its value in scannedNumber; -1 when there is none. */
function numberEnd(b: Uint8Array, p: number): number {
  const negative = b[p]! === 45;
  if (negative) p++;
  let c = b[p]!;
  let m = 0;
  let digits = 0;
  let fraction = 0;
  if (c === 48) p++;
  else if (c >= 49 && c <= 57) {
    do {
      m = m * 10 + (c - 48);
      digits++;
      c = b[++p]!;
    } while (c >= 48 && c <= 57);
  } else return -1;
  if (b[p]! === 46) {
    c = b[++p]!;
    if (!(c >= 48 && c <= 57)) return -1;
    do {
      m = m * 10 + (c - 48);
      if (m !== 0) digits++;
      fraction++;
      c = b[++p]!;
    } while (c >= 48 && c <= 57);
  }
  scannedNumber = digits <= 15 && fraction <= 22 ? (negative ? -m : m) / POW10[fraction]! : NaN;
  scannedPoint = fraction > 0;
  c = b[p]!;
  if (c === 101 || c === 69) {
    scannedNumber = NaN;
    c = b[++p]!;
    if (c === 43 || c === 45) c = b[++p]!;
    if (!(c >= 48 && c <= 57)) return -1;
    do c = b[++p]!;
    while (c >= 48 && c <= 57);
  }
  return p;
}

export function compileRowScanner(f: Family, opts: { maxFutureSeconds?: number } = {}): RowScanner {
  const slots: Slot[] = [];
  const base = { integer: false, min: -Infinity, max: Infinity, values: null, canon: null, maxLength: 0, pattern: null };
  slots.push({ ...base, field: 'timestamp', kind: Kind.Time });
  f.identityFields.forEach((field, k) => {
    const r = f.identityRules[k]!;
    slots.push({ ...base, field, kind: Kind.Identity, maxLength: r.maxLength, pattern: r.pattern });
  });
  // slot index = index in the batch's arrays: time, identities, columns
  for (const c of f.columns) {
    if (c.type === 'text') slots.push({ ...base, field: c.field, kind: Kind.Text, values: c.values ? new Set(c.values) : null, canon: canonicalValues(c) });
    else if (c.type === 'boolean') slots.push({ ...base, field: c.field, kind: Kind.Bool });
    else slots.push({ ...base, field: c.field, kind: Kind.Number, integer: c.type !== 'double', ...valueRange(c) });
  }
  const bySlotName = new Map(slots.map((s, i) => [s.field, i]));
  // Each field name with its closing quote, as the little-endian 32-bit words of its bytes and
  // the bytes after the last whole word: compared a word at a time.
  const names = slots.map((s) => {
    const bytes = Buffer.from(`${s.field}"`, 'utf8');
    const whole = bytes.length >> 2;
    return { length: bytes.length, words: Int32Array.from({ length: whole }, (_, w) => bytes.readInt32LE(w * 4)), tail: bytes.subarray(whole * 4) };
  });
  const nSlots = slots.length;
  const nodeSlot = f.nodeField === null ? -1 : bySlotName.get(f.nodeField)!;
  const roleSlot = f.decl.roleColumn ? (bySlotName.get(f.columns.find((c) => c.name === f.decl.roleColumn)!.field) ?? -1) : -1;
  const horizon = ingestHorizonSeconds(f);
  const maxFutureMs = (opts.maxFutureSeconds ?? 3600) * 1000;
  // Identity values seen valid recently (a batch repeats the same few node ids), as the compiled check keeps them.
  const goodIds = slots.map(() => new Set<string>());
  // The field order of the previous row: rows of one sender list their fields in one order.
  const order: number[] = [];
  // The ASCII string values read recently, by a hash of their bytes: a batch repeats the same
  // times, node ids and labels, so most values are found here, with no string made and their
  // hash (for the Sets and Maps below) computed once.
  const strings = new Map<number, string>();
  const known = (b: Buffer, a: number, e: number, hash: number): string => {
    const key = (hash ^ Math.imul(e - a, 0x9e3779b1)) | 0;
    const s = strings.get(key);
    if (s !== undefined && s.length === e - a && bytesAre(b, a, s)) return s;
    const made = stringText(b, a, e, false);
    if (strings.size >= 4096) strings.clear();
    strings.set(key, made);
    return made;
  };
  // Per number column, each row's value (NaN: NULL), copied out at the end of a call. Reused by
  // every call (the reader is synchronous); they grow to the largest batch read, so an idle
  // process keeps only what its senders need.
  let capacity = 0;
  const values: Float64Array[] = slots.map(() => new Float64Array(0));
  const grow = (rows: number) => {
    const next = Math.min(Math.max(capacity * 2, 256, rows), MAX_ROWS);
    for (let k = 0; k < nSlots; k++) {
      if (slots[k]!.kind !== Kind.Number) continue;
      const v = new Float64Array(next);
      v.set(values[k]!);
      values[k] = v;
    }
    capacity = next;
  };

  return (b, start, maxRows, nowArg) => {
    const now = nowArg ?? Date.now();
    const maxTime = now + maxFutureMs;
    const oldest = now - horizon * 1000;
    let nowTime: NormalizedTime | null = null; // the server's time, for rows without one (made when first needed)
    const n = b.length;
    const view = new DataView(b.buffer, b.byteOffset, n);
    // Number columns go into `values` (no JS value per number), the others into arrays.
    const arrays: (unknown[] | null)[] = slots.map((s) => (s.kind === Kind.Number ? null : []));
    const micros: number[] = [];
    const latestByNode = new Map<string, LatestSample>();
    let minT = Infinity;
    let maxT = -Infinity;
    // per row: the raw value of each slot (undefined = absent), and the row that set it
    const vals = new Array<unknown>(nSlots);
    // numbers: where the row's value is, and the value numberEnd computed (NaN: not a plain decimal it
    // could compute exactly, or a fraction in a whole-number column: the general path's text then)
    const numStart = new Int32Array(nSlots);
    const numEnd = new Int32Array(nSlots);
    const nums = new Float64Array(nSlots);
    const seen = new Int32Array(nSlots);
    let lastTs = '';
    let lastTime: NormalizedTime | null = null;
    let p = start;
    let c = 0;
    let e = 0;
    p = skipWs(b, p, n);
    if (b[p]! !== 91) return null;
    p = skipWs(b, p + 1, n);
    if (b[p]! === 93) return null; // an empty batch: the general path answers it
    let row = 0;
    for (;;) {
      // ---- one row object ----
      if (row >= maxRows || row >= MAX_ROWS) return null;
      if (row >= capacity) grow(row + 1);
      if (b[p]! !== 123) return null;
      p = skipWs(b, p + 1, n);
      const stamp = row + 1;
      if (b[p]! !== 125) {
        for (let ordinal = 0; ; ordinal++) {
          if (b[p]! !== 34) return null;
          // the field name: the previous row's field at this place, else a lookup
          let slot = order[ordinal] ?? -1;
          if (slot >= 0) {
            const name = names[slot]!;
            const q = p + 1;
            let same = q + name.length <= n;
            if (same) {
              const words = name.words;
              const nw = words.length;
              for (let w = 0; w < nw; w++) {
                if (view.getInt32(q + 4 * w, true) !== words[w]) {
                  same = false;
                  break;
                }
              }
              const tail = name.tail;
              const at = q + 4 * nw;
              for (let i = 0; same && i < tail.length; i++) same = b[at + i] === tail[i];
            }
            if (same) p = q + name.length;
            else slot = -1;
          }
          if (slot < 0) {
            e = stringEnd(b, p, n);
            if (e < 0) return null;
            const name = stringText(b, p + 1, e, stringWide);
            p = e + 1;
            const found = bySlotName.get(name);
            if (found === undefined) return null;
            slot = found;
            order[ordinal] = slot;
          }
          if (seen[slot] === stamp) return null; // a repeated field: JSON.parse keeps the last, leave it to it
          seen[slot] = stamp;
          p = skipWs(b, p, n);
          if (b[p]! !== 58) return null;
          p = skipWs(b, p + 1, n);
          c = b[p]!;
          const s = slots[slot]!;
          if (c === 110) {
            // null: absent for every column; refused for time and identities by the general path
            if (!bytesAre(b, p, 'null') || s.kind === Kind.Time || s.kind === Kind.Identity) return null;
            p += 4;
            vals[slot] = null;
          } else if (s.kind === Kind.Number) {
            e = numberEnd(b, p);
            if (e < 0) return null;
            vals[slot] = undefined;
            numStart[slot] = p;
            numEnd[slot] = e;
            nums[slot] = s.integer && scannedPoint ? NaN : scannedNumber;
            p = e;
          } else if (s.kind === Kind.Bool) {
            if (c === 116 && bytesAre(b, p, 'true')) {
              p += 4;
              vals[slot] = 't';
            } else if (c === 102 && bytesAre(b, p, 'false')) {
              p += 5;
              vals[slot] = 'f';
            } else return null;
          } else {
            if (c !== 34) return null;
            e = stringEnd(b, p, n);
            if (e < 0) return null;
            vals[slot] = stringWide ? stringText(b, p + 1, e, true) : known(b, p + 1, e, stringHash);
            p = e + 1;
          }
          p = skipWs(b, p, n);
          c = b[p]!;
          if (c === 44) {
            p = skipWs(b, p + 1, n);
            continue;
          }
          if (c === 125) break;
          return null;
        }
      }
      p++;

      // ---- the row's checks and values, as prepareBatch and the compiled check make them ----
      let time: NormalizedTime | null;
      if (seen[0] !== stamp) time = nowTime ??= serverTime(now);
      else {
        const ts = vals[0] as string;
        if (ts === lastTs && lastTime !== null) time = lastTime;
        else {
          time = isoFast(ts) ? normalizeTimestamp(ts) : null;
          if (time === null) return null;
          lastTs = ts;
          lastTime = time;
        }
      }
      const t = Math.floor(time.micros / 1000);
      if (t > maxTime || t < oldest) return null;
      arrays[0]!.push(time.text);
      micros.push(time.micros);
      if (t < minT) minT = t;
      if (t > maxT) maxT = t;
      for (let k = 1; k < nSlots; k++) {
        const s = slots[k]!;
        if (s.kind === Kind.Number) {
          if (seen[k] !== stamp || vals[k] === null) {
            values[k]![row] = NaN;
            continue;
          }
          const fastValue = nums[k]!;
          // the value JSON.parse reads: numberEnd's when it could compute it exactly, else Number() of the text
          const x = Number.isNaN(fastValue) ? Number(stringText(b, numStart[k]!, numEnd[k]!, false)) : fastValue;
          if (!Number.isFinite(x) || x < s.min || x > s.max) return null;
          if (s.integer && !Number.isInteger(x)) return null;
          values[k]![row] = x;
          continue;
        }
        const out = arrays[k]!;
        if (seen[k] !== stamp) {
          if (s.kind === Kind.Identity) return null; // required
          out.push(null);
          continue;
        }
        const v = vals[k];
        if (v === null) {
          out.push(null);
          continue;
        }
        switch (s.kind) {
          case Kind.Identity: {
            const id = v as string;
            const good = goodIds[k]!;
            if (!good.has(id)) {
              if (id.length === 0 || id.length > s.maxLength || !s.pattern!.test(id)) return null;
              if (good.size >= 10_000) good.clear();
              good.add(id);
            }
            out.push(id);
            break;
          }
          case Kind.Text: {
            const v0 = v as string;
            let value = v0;
            if (s.canon) {
              const canonical = s.canon.get(v0.toLowerCase());
              if (canonical === undefined) return null;
              value = canonical;
            } else if (s.values ? !s.values.has(v0) : v0.length > 256) return null;
            out.push(value);
            break;
          }
          case Kind.Bool:
            out.push(v);
            break;
        }
      }
      if (nodeSlot >= 0) {
        const node = vals[nodeSlot] as string;
        const prev = latestByNode.get(node);
        if (!prev || time.micros >= prev.micros) {
          const roleArr = roleSlot < 0 ? null : arrays[roleSlot]!;
          latestByNode.set(node, { time: t, micros: time.micros, at: time.text, role: roleArr === null ? null : ((roleArr[row] as string | null) ?? null) });
        }
      }
      row++;
      p = skipWs(b, p, n);
      c = b[p]!;
      if (c === 44) {
        p = skipWs(b, p + 1, n);
        continue;
      }
      if (c === 93) {
        p++;
        break;
      }
      return null;
    }
    const rows = row;
    const read = arrays.map((a, k) => a ?? values[k]!.slice(0, rows));
    // `arrays` (number columns as numbers and nulls) only when asked: a group commit merging small batches
    let all: unknown[][] | null = null;
    const batch = { rows, micros, minTime: minT, maxTime: maxT, latestByNode, read } as unknown as ColumnBatch;
    Object.defineProperty(batch, 'arrays', {
      enumerable: true,
      get: () => (all ??= read.map((col) => (col instanceof Float64Array ? Array.from(col, (x) => (Number.isNaN(x) ? null : x)) : (col as unknown[])))),
    });
    return { batch, end: p };
  };
}
