/**
 * The one-pass row reader against the general path (JSON.parse, then prepareBatch), on generated
 * bodies and on mutations of them: whatever the reader accepts, the general path accepts too and
 * makes the same batch of; what it leaves alone (null) is the general path's to store or refuse.
 * Then, on every backend, that PostgreSQL reads a number's own text as the value the general path
 * sends (String of the parsed number).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachBackend, openDatabase, type TestDatabase } from '../../test/support/backends.ts';
import { testFamilyStorage } from '../../test/support/test-family.ts';
import { defineFamily, type Family } from './family.ts';
import { metricsSystem } from '../modules/system-metrics/family.ts';
import { compileFastCheck, ingestRowSchema, prepareBatch, type ColumnBatch } from './ingest.ts';
import { compileRowScanner } from './ingest-scan.ts';

const kinds = defineFamily({
  table: 'metrics_scan_kinds',
  key: 'scan_kinds',
  title: 'Scan probe',
  description: 'test family',
  identity: { node_id: { description: 'node' }, disk: { description: 'disk' } },
  ...testFamilyStorage('scan_kinds'),
  columns: {
    flag: { type: 'boolean', unit: 'flag', agg: 'last', description: 'a boolean' },
    label: { type: 'text', unit: 'label', agg: 'last', description: 'declared values', values: ['a', 'b'] },
    mode: { type: 'text', unit: 'label', agg: 'last', description: 'any spelling', values: ['Primary', 'Secondary'], caseInsensitive: true },
    note: { type: 'text', unit: 'label', agg: 'last', description: 'free text' },
    small: { type: 'integer', unit: 'count', agg: 'max', description: 'int', min: 0, max: 1000 },
    big: { type: 'bigint', unit: 'bytes', agg: 'sum', description: 'bigint', min: 0, max: 2 ** 53 - 1 },
    real: { type: 'double', unit: 'ratio', agg: 'avg', description: 'double', min: -1e12, max: 1e12 },
    pct: { type: 'double', unit: 'percent', agg: 'avg', description: 'bounded', min: 0, max: 100 },
  },
});

/** mulberry32: the same cases on every run. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NOW = Date.UTC(2026, 10, 30, 12, 0, 0);

/** Number texts of every kind the grammar allows, and some it does not. */
function numberText(r: () => number): string {
  const pick = Math.floor(r() * 14);
  const digits = (n: number) => Array.from({ length: n }, () => String(Math.floor(r() * 10))).join('');
  switch (pick) {
    case 0:
      return String(Math.floor(r() * 1000));
    case 1:
      return `${Math.floor(r() * 100)}.${digits(1 + Math.floor(r() * 3))}`;
    case 2:
      return `${1 + Math.floor(r() * 9)}${digits(Math.floor(r() * 14))}.${digits(1 + Math.floor(r() * 8))}`; // up to ~23 digits
    case 3:
      return `0.${digits(Math.floor(r() * 25) + 1)}`; // long fractions
    case 4:
      return `-${Math.floor(r() * 50)}.${digits(2)}`;
    case 5:
      return ['-0', '-0.0', '0.0', '0', '-0.000'][Math.floor(r() * 5)]!;
    case 6:
      return `${1 + Math.floor(r() * 9)}e${Math.floor(r() * 5)}`;
    case 7:
      return `${Math.floor(r() * 9)}.${digits(2)}E-${Math.floor(r() * 3)}`;
    case 8:
      return `${Math.floor(r() * 100)}.0`; // a whole number written with a fraction
    case 9:
      return `${1 + Math.floor(r() * 9)}${digits(15 + Math.floor(r() * 6))}`; // past 2^53
    case 10:
      return ['1e400', '-1e400', '1e-400', '123456789012345678901234567890'][Math.floor(r() * 4)]!;
    case 11:
      return ['01', '1.', '.5', '+1', '1e', '-', '0x10', 'NaN', 'Infinity'][Math.floor(r() * 9)]!; // not JSON
    case 12:
      return `"${Math.floor(r() * 10)}"`; // a number in a string
    default:
      return String(Math.round(r() * 1e6) / 100);
  }
}

function timestampText(r: () => number): string | undefined {
  const t = NOW - Math.floor(r() * 3 * 86_400_000);
  const iso = new Date(t).toISOString();
  switch (Math.floor(r() * 9)) {
    case 0:
      return undefined; // the server's time
    case 1:
      return iso.replace('Z', '+02:00');
    case 2:
      return iso.replace(/\.\d+Z$/, `.${String(Math.floor(r() * 1e9)).padStart(9, '0')}Z`); // more than microseconds
    case 3:
      return iso.replace(/\.\d+Z$/, 'Z');
    case 4:
      return new Date(NOW + 2 * 3_600_000).toISOString(); // too far in the future
    case 5:
      return '2026-02-30T00:00:00Z'; // no such day
    default:
      return iso;
  }
}

/** A value a client would send for the column. */
function plainValue(f: Family, field: string, r: () => number): string {
  const c = f.columns.find((x) => x.field === field)!;
  switch (c.type) {
    case 'boolean':
      return r() < 0.5 ? 'true' : 'false';
    case 'text':
      return JSON.stringify(c.values ? c.values[Math.floor(r() * c.values.length)] : ['x', 'free text', 'ünïcødé'][Math.floor(r() * 3)]);
    case 'double':
      return r() < 0.5 ? String(Math.floor(r() * 100)) : `${Math.floor(r() * 100)}.${String(Math.floor(r() * 1000))}`;
    default:
      return String(Math.floor(r() * 100));
  }
}

/** Anything a client might send for the column, valid or not. */
function oddValue(f: Family, field: string, r: () => number): string {
  const c = f.columns.find((x) => x.field === field)!;
  if (r() < 0.15) return 'null';
  switch (c.type) {
    case 'boolean':
      return ['true', 'false', '"true"', '1', 'TRUE'][Math.floor(r() * 5)]!;
    case 'text':
      return ['"PRIMARY"', '"secondary"', '"A"', '"c"', '"quote \\" in"', '"tab\\t"', '"\\u0041"', JSON.stringify('x'.repeat(257)), '""', '5'][Math.floor(r() * 10)]!;
    default:
      return numberText(r);
  }
}

/** A JSON array of rows as a client could write it: any field order, optional fields, whitespace; now and then an odd value. */
function bodyText(f: Family, r: () => number, rows: number, odd = true): string {
  const sp = () => [' ', '', '', '\n  ', '\t'][Math.floor(r() * 5)]!;
  const nodes = ['mx-1', 'mx-2', 'db-1', 'node_07'];
  const out: string[] = [];
  for (let i = 0; i < rows; i++) {
    const parts: string[] = [];
    const ts = odd && r() < 0.1 ? timestampText(r) : new Date(NOW - Math.floor(r() * 86_400_000)).toISOString();
    if (ts !== undefined) parts.push(`"timestamp":${sp()}"${ts}"`);
    for (const id of f.identityFields) parts.push(`"${id}":${sp()}"${odd && r() < 0.01 ? 'bad node!' : nodes[Math.floor(r() * nodes.length)]}"`);
    for (const c of f.columns) if (r() < 0.85) parts.push(`"${c.field}":${sp()}${odd && r() < 0.03 ? oddValue(f, c.field, r) : plainValue(f, c.field, r)}`);
    if (r() < 0.3) parts.reverse();
    out.push(`{${sp()}${parts.join(`,${sp()}`)}${sp()}}`);
  }
  return `${sp()}[${out.join(`,${sp()}`)}]${sp()}`;
}

/** Changes that keep or break the JSON, or only the rules. */
function mutate(text: string, r: () => number): string {
  const at = Math.floor(r() * text.length);
  switch (Math.floor(r() * 9)) {
    case 0:
      return text.slice(0, at) + text.slice(at + 1); // a character dropped
    case 1:
      return text.slice(0, at) + '{}[],:"\\ 0e-'[Math.floor(r() * 13)] + text.slice(at); // one added
    case 2:
      return text.replace('"nodeId"', '"nodeId","nodeId"'); // broken, or a repeated field
    case 3:
      return text.replace(/\{/, '{"unknownField":1,');
    case 4:
      return text.replace(/:\s*(-?\d[\d.eE+-]*)/, ': [$1]'); // a nested value
    case 5:
      return text.replace(/"nodeId":\s*"[^"]*"/, '"nodeId":null');
    case 6:
      return text.replace(/"(mx|db)-/, '"\\u006dx-'); // an escape the general path reads
    case 7:
      return text.replace(/\]\s*$/, ',]');
    default:
      return text.replace(/"timestamp":\s*"[^"]*"/, '"timestamp":12345');
  }
}

type General = { ok: true; batch: ColumnBatch } | { ok: false };

function general(f: Family, text: string, maxRows: number): General {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { ok: false };
  }
  if (!Array.isArray(parsed) || parsed.length === 0 || parsed.length > maxRows) return { ok: false };
  try {
    return { ok: true, batch: prepareBatch(f, ingestRowSchema(f), parsed, { now: NOW }, compileFastCheck(f)) };
  } catch {
    return { ok: false };
  }
}

/**
 * The batch as the writers see it, numbers compared by value: an integer column must hold whole
 * numbers (digits only in String()), a negative zero is told apart from zero.
 */
function asStored(f: Family, b: ColumnBatch): unknown {
  const kind = ['time', ...f.identity.map(() => 'id'), ...f.columns.map((c) => c.type)];
  const stored = (k: number, v: unknown): unknown => {
    if (v === null || v === undefined) return null;
    const text = String(v);
    if (kind[k] === 'double') {
      const x = Number(text);
      return Object.is(x, -0) ? '-0' : String(x);
    }
    if (kind[k] === 'integer' || kind[k] === 'bigint') return /^-?\d+$/.test(text) ? String(Number(text)) : `not an integer: ${text}`;
    return v;
  };
  return {
    rows: b.rows,
    arrays: b.arrays.map((col, k) => Array.from({ length: b.rows }, (_, i) => stored(k, col[i]))),
    micros: b.micros,
    minTime: b.minTime,
    maxTime: b.maxTime,
    latestByNode: [...b.latestByNode.entries()].sort(),
  };
}

for (const f of [kinds, metricsSystem as unknown as Family]) {
  test(`${f.key}: every body the reader accepts, the general path accepts and makes the same batch of`, () => {
    const r = prng(f === kinds ? 7 : 11);
    const scan = compileRowScanner(f);
    let scanned = 0;
    let leftAlone = 0;
    let refused = 0;
    for (let n = 0; n < 3000; n++) {
      const base = bodyText(f, r, 1 + Math.floor(r() * 5));
      const text = n % 3 === 0 ? mutate(base, r) : base;
      const g = general(f, text, 5);
      const s = scan(Buffer.from(text), 0, 5, NOW);
      if (s !== null) {
        scanned++;
        assert.equal(g.ok, true, `the reader accepted what the general path refuses:\n${text}`);
        assert.equal(s.end, Buffer.byteLength(text.trimEnd()), 'the reader ends after the array (a byte offset)');
        assert.deepEqual(asStored(f, s.batch), asStored(f, (g as { batch: ColumnBatch }).batch), `different batch for:\n${text}`);
      } else if (g.ok) {
        leftAlone++;
        // the reader leaves a valid batch alone only for an escape in a string or a repeated field
        assert.ok(/\\/.test(text) || /"(\w+)":[^{}]*"\1":/.test(text), `a valid body left to the general path:\n${text}`);
      } else refused++;
    }
    // the generated bodies exercise every way
    assert.ok(scanned > 500, `reader accepted ${scanned} bodies`);
    assert.ok(leftAlone > 20, `${leftAlone} valid bodies left to the general path`);
    assert.ok(refused > 500, `${refused} bodies refused`);
  });
}

test('a batch larger than any read before: the same batch as the general path (the reader grows its buffers while reading)', () => {
  const r = prng(5);
  const scan = compileRowScanner(kinds);
  for (const rows of [3, 700, 3000]) {
    const text = bodyText(kinds, r, rows, false);
    const g = general(kinds, text, 10_000);
    const s = scan(Buffer.from(text), 0, 10_000, NOW);
    assert.ok(g.ok && s !== null, `${rows} rows: both paths read it`);
    assert.deepEqual(asStored(kinds, s.batch), asStored(kinds, g.batch), `${rows} rows`);
  }
});

test('the reader: what it leaves to the general path, one case each', () => {
  const scan = compileRowScanner(kinds);
  const row = (extra: string) => `[{"timestamp":"2026-11-30T11:00:00Z","nodeId":"mx-1","disk":"sda"${extra}}]`;
  assert.notEqual(scan(Buffer.from(row(',"real":1.5')), 0, 10, NOW), null, 'the plain row is read');
  for (const [why, text] of [
    ['an escape in a string', row(',"note":"a\\"b"')],
    ['a repeated field', row(',"real":1,"real":2')],
    ['an unknown field', row(',"other":1')],
    ['a nested value', row(',"real":[1]')],
    ['a number past the column maximum', row(',"pct":100.5')],
    ['a fraction in an integer column', row(',"small":1.5')],
    ['an undeclared value', row(',"label":"c"')],
    ['a string for a number', row(',"real":"1"')],
    ['more rows than allowed', `[${Array(11).fill(row('').slice(1, -1)).join(',')}]`],
    ['an empty batch', '[]'],
    ['one row, not an array', row('').slice(1, -1)],
  ] as const) {
    assert.equal(scan(Buffer.from(text), 0, 10, NOW), null, why);
  }
  // values as the general path holds them: the declared spelling, t/f, the number JSON.parse reads
  const s = scan(Buffer.from(row(',"mode":"primary","flag":true,"small":7.0,"real":-0,"big":12,"pct":1e1')), 0, 10, NOW)!;
  const col = (field: string) => s.batch.arrays[1 + kinds.identity.length + kinds.columns.findIndex((c) => c.field === field)]![0];
  assert.deepEqual([col('mode'), col('flag'), col('small'), col('real'), col('big'), col('pct')], ['Primary', 't', 7, -0, 12, 10]);
  // the writers read the number columns as Float64Arrays, NaN for an absent value
  const read = s.batch.read!;
  const at = (field: string) => read[1 + kinds.identity.length + kinds.columns.findIndex((c) => c.field === field)]!;
  assert.ok(at('real') instanceof Float64Array && at('big') instanceof Float64Array);
  assert.ok(Number.isNaN(scan(Buffer.from(row(',"real":null')), 0, 10, NOW)!.batch.read![1 + kinds.identity.length + kinds.columns.findIndex((c) => c.field === 'real')]![0]));
});

test('the reader reads bytes: UTF-8 text, invalid bytes, every cut-off prefix, values with the same hash', () => {
  const scan = compileRowScanner(kinds);
  const row = (node: string, note: string) => `{"timestamp":"2026-11-30T11:00:00Z","nodeId":"${node}","disk":"sda","note":"${note}","real":1.5}`;
  const same = (body: Buffer, why: string) => {
    const s = scan(body, 0, 10, NOW);
    assert.ok(s !== null, `${why}: read`);
    // the HTTP layer decodes a body that is not all ASCII as UTF-8 (invalid bytes become U+FFFD)
    const g = general(kinds, body.toString('utf8'), 10);
    assert.ok(g.ok, why);
    assert.deepEqual(asStored(kinds, s.batch), asStored(kinds, g.batch), why);
    return s.batch;
  };
  const note = (b: ColumnBatch, i: number) => b.arrays[1 + kinds.identity.length + kinds.columns.findIndex((c) => c.field === 'note')]![i];
  assert.equal(note(same(Buffer.from(`[${row('mx-1', 'ünïcødé €')}]`), 'multi-byte characters'), 0), 'ünïcødé €');
  // bytes that are not UTF-8: a lone continuation byte, a cut sequence before the closing quote, a Latin-1 é
  const withBytes = (node: string, bytes: number[]) => {
    const [before, after] = row(node, '@').split('@');
    return Buffer.concat([Buffer.from(before!), Buffer.from(bytes), Buffer.from(after!)]);
  };
  const bad = Buffer.concat([Buffer.from('['), withBytes('mx-1', [0x61, 0x80, 0x41, 0xe2, 0x82]), Buffer.from(','), withBytes('mx-2', [0x63, 0x61, 0x66, 0xe9]), Buffer.from(']')]);
  const b = same(bad, 'invalid UTF-8');
  assert.equal(note(b, 0), 'a\ufffdA\ufffd');
  assert.equal(note(b, 1), 'caf\ufffd');
  // "Aa" and "BB" have the same hash of their bytes (31·65 + 97 = 31·66 + 66): still two values
  const twins = same(Buffer.from(`[${row('Aa-1', 'Aa')},${row('BB-1', 'BB')},${row('Aa-1', 'BB')},${row('BB-1', 'Aa')}]`), 'values with one hash');
  assert.deepEqual([0, 1, 2, 3].map((i) => [twins.arrays[1]![i], note(twins, i)]), [['Aa-1', 'Aa'], ['BB-1', 'BB'], ['Aa-1', 'BB'], ['BB-1', 'Aa']]);
  // every prefix of a body is refused (no row is half-read, nothing reads past the end)
  const whole = Buffer.from(`[${row('mx-1', 'x')},${row('mx-2', 'ü')}]`);
  for (let cut = 0; cut < whole.length; cut++) assert.equal(scan(whole.subarray(0, cut), 0, 10, NOW), null, `cut at ${cut}`);
  // a body that starts past offset 0 of its memory (a slice of a larger buffer) reads the same
  const inside = Buffer.concat([Buffer.from('xyz'), whole]).subarray(3);
  assert.deepEqual(asStored(kinds, scan(inside, 0, 10, NOW)!.batch), asStored(kinds, scan(Buffer.from(whole), 0, 10, NOW)!.batch));
});

forEachBackend('PostgreSQL reads a plain decimal as the value JavaScript parses it to', (kind) => {
  let t: TestDatabase;
  before(async () => {
    t = await openDatabase(kind);
  });
  after(async () => {
    await t?.close();
  });

  test('float8 and bigint of the same numbers, written as sent and as String(Number(text))', async () => {
    const r = prng(3);
    const texts: string[] = ['0.1', '0.30000000000000004', '123456789012345.6', '0.000000000000000000001', '999999999999999', '-12.5'];
    for (let i = 0; i < 2000; i++) {
      const int = String(Math.floor(r() * 10 ** Math.floor(r() * 16)));
      const frac = Array.from({ length: 1 + Math.floor(r() * 15) }, () => String(Math.floor(r() * 10))).join('');
      texts.push(`${r() < 0.2 ? '-' : ''}${int}.${frac}`);
    }
    const verbatim = `{${texts.join(',')}}`;
    const general = `{${texts.map((x) => String(Number(x))).join(',')}}`;
    const rows = await t.db.query<{ same: boolean; n: number }>(
      `SELECT count(*)::int AS n, bool_and(a = b) AS same FROM unnest($1::text::float8[], $2::text::float8[]) AS u(a, b)`,
      [verbatim, general],
    );
    assert.deepEqual(rows.rows[0], { n: texts.length, same: true });
    const ints = ['0', '7', '9007199254740991', '-42', '123456789012345'];
    const res = await t.db.query<{ same: boolean }>(`SELECT bool_and(a = b) AS same FROM unnest($1::text::bigint[], $2::text::bigint[]) AS u(a, b)`, [
      `{${ints.join(',')}}`,
      `{${ints.map((x) => String(Number(x))).join(',')}}`,
    ]);
    assert.equal(res.rows[0]!.same, true);
  });
});
