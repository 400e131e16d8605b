import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defineFamily, type ColumnDecl } from './family.ts';
import { FAMILIES } from '../modules/families.ts';

const declWith = (columns: Record<string, ColumnDecl>) => ({
  table: 'metrics_decl_probe',
  key: 'decl_probe',
  title: 'probe',
  description: 'probe',
  identity: { node_id: { description: 'node' } },
  sampleInterval: '15 seconds',
  chunkInterval: '1 hour',
  retention: { raw: '90 days', '5m': '90 days', '1h': '365 days', '1d': '730 days' },
  compressAfter: '7 days',
  rollups: { '5m': 'decl_probe_5m', '1h': 'decl_probe_1h', '1d': 'decl_probe_daily' },
  columns,
});

test('defineFamily refuses a numeric column without a finite upper (or lower) bound', () => {
  const refused: [string, ColumnDecl][] = [
    ['no max', { type: 'double', unit: 'load', agg: 'avg', description: 'x', min: 0 }],
    ['infinite max', { type: 'double', unit: 'load', agg: 'avg', description: 'x', min: 0, max: Infinity }],
    ['NaN max', { type: 'integer', unit: 'count', agg: 'max', description: 'x', min: 0, max: Number.NaN }],
    // 1e300 is finite, but a day of samples of it summed into one rollup bucket is not
    ['max whose rollup sum overflows', { type: 'double', unit: 'x', agg: 'sum', description: 'x', min: 0, max: 1e300 }],
    ['no min', { type: 'bigint', unit: 'bytes', agg: 'sum', description: 'x', max: 1e12 }],
    ['min above max', { type: 'double', unit: 'x', agg: 'avg', description: 'x', min: 5, max: 1 }],
  ];
  for (const [what, c] of refused) {
    assert.throws(() => defineFamily(declWith({ v: c })), /metrics_decl_probe\.v/, what);
  }
  // text and boolean columns need no bounds; a bounded numeric column is accepted
  const ok = defineFamily(
    declWith({
      v: { type: 'double', unit: 'load', agg: 'avg', description: 'x', min: 0, max: 1e6 },
      t: { type: 'text', unit: 'label', agg: 'last', description: 'x' },
      b: { type: 'boolean', unit: 'flag', agg: 'last', description: 'x' },
    }),
  );
  assert.equal(ok.columns.length, 3);
});

test('every shipped numeric column has a finite range, and the familiar units have their physical ceilings', () => {
  for (const f of FAMILIES) {
    for (const c of f.columns) {
      if (c.type === 'text' || c.type === 'boolean') continue;
      assert.ok(Number.isFinite(c.min) && Number.isFinite(c.max), `${f.table}.${c.name}`);
      if (c.unit === 'percent') assert.equal(c.max, 100, `${f.table}.${c.name}`);
      if (c.unit === 'bytes/s') assert.equal(c.max, 1e12, `${f.table}.${c.name}`);
      if (c.unit === 'load') assert.equal(c.max, 1e6, `${f.table}.${c.name}`);
      if (c.unit === 'bytes') assert.equal(c.max, 2 ** 53 - 1, `${f.table}.${c.name}`);
      if (c.unit === 'flag') assert.equal(c.max, 1, `${f.table}.${c.name}`);
    }
  }
});

test('case-insensitive values need declared values that stay distinct ignoring case', () => {
  assert.throws(() => defineFamily(declWith({ r: { type: 'text', unit: 'label', agg: 'last', description: 'x', caseInsensitive: true } })), /caseInsensitive/);
  assert.throws(
    () => defineFamily(declWith({ r: { type: 'text', unit: 'label', agg: 'last', description: 'x', values: ['a', 'A'], caseInsensitive: true } })),
    /distinct/,
  );
});

test('defineFamily refuses an aggregate that does not fit the column type (the migration would fail)', () => {
  // PostgreSQL has no sum/avg of text or boolean and no min/max of boolean; text keeps last and count.
  const refused: [string, ColumnDecl][] = [
    ['boolean avg', { type: 'boolean', unit: 'flag', agg: 'avg', description: 'x' }],
    ['boolean sum', { type: 'boolean', unit: 'flag', agg: 'sum', description: 'x' }],
    ['boolean min', { type: 'boolean', unit: 'flag', agg: 'min', description: 'x' }],
    ['boolean max', { type: 'boolean', unit: 'flag', agg: 'max', description: 'x' }],
    ['text avg', { type: 'text', unit: 'label', agg: 'avg', description: 'x' }],
    ['text sum', { type: 'text', unit: 'label', agg: 'sum', description: 'x' }],
    ['text min', { type: 'text', unit: 'label', agg: 'min', description: 'x' }],
    ['text max', { type: 'text', unit: 'label', agg: 'max', description: 'x' }],
  ];
  for (const [what, c] of refused) {
    assert.throws(() => defineFamily(declWith({ v: c })), /metrics_decl_probe\.v: aggregate/, what);
  }
  const ok = defineFamily(
    declWith({
      b1: { type: 'boolean', unit: 'flag', agg: 'last', description: 'x' },
      b2: { type: 'boolean', unit: 'flag', agg: 'count', description: 'x' },
      t1: { type: 'text', unit: 'label', agg: 'last', description: 'x' },
      t2: { type: 'text', unit: 'label', agg: 'count', description: 'x' },
      n1: { type: 'integer', unit: 'count', agg: 'avg', description: 'x', min: 0, max: 10 },
      n2: { type: 'bigint', unit: 'bytes', agg: 'sum', description: 'x', min: 0, max: 10 },
      n3: { type: 'double', unit: 'x', agg: 'min', description: 'x', min: 0, max: 10 },
    }),
  );
  assert.equal(ok.columns.length, 7);
});
