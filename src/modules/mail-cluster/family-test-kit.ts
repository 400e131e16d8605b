/**
 * Declaration-driven lifecycle check shared by the family tests: synthetic rows built
 * from a family's declaration (types, bounds, accepted values, identity columns) go
 * through ingest → raw query → rollup queries at 5m / 1h / 1d (compared with the
 * aggregates computed here in JS from the declared `agg`) → cluster status. On the
 * postgres tier the rollups are read before and after store.refreshRollups and must
 * give the same answer.
 */
import assert from 'node:assert/strict';
import type { Queryable } from '../../db/database.ts';
import { materializedTable } from '../../timeseries/ddl.ts';
import { LEVEL_SECONDS, ROLLUP_LEVELS, camelCase, type Family, type RollupLevel } from '../../timeseries/family.ts';
import type { SeriesPoint, TimeseriesStore } from '../../timeseries/store.ts';
import { getClusterStatus } from '../cluster/status.ts';

type Value = string | number | boolean | null;
export type SyntheticRow = Record<string, Value> & { timestamp: string };

export interface SyntheticOptions {
  nodeIds: readonly string[];
  /** Values of the identity columns after node_id (e.g. { zone: ['default', 'bulk'] }). */
  extraIdentity?: Readonly<Record<string, readonly string[]>>;
  /** First timestamp (ms). */
  start: number;
  stepMs: number;
  count: number;
}

/** Cartesian product of node ids and the extra identity values: one object per series. */
export function seriesOf(f: Family, opts: Pick<SyntheticOptions, 'nodeIds' | 'extraIdentity'>): Record<string, string>[] {
  let out: Record<string, string>[] = opts.nodeIds.map((n) => ({ nodeId: n }));
  for (const id of f.identity.slice(1)) {
    const values = opts.extraIdentity?.[id];
    if (!values?.length) throw new Error(`${f.table}: values for identity column ${id} are needed`);
    out = out.flatMap((s) => values.map((v) => ({ ...s, [camelCase(id)]: v })));
  }
  return out;
}

/** A valid value of every column for row k of series s; numeric columns are null on every 11th row. */
export function syntheticValue(c: Family['columns'][number], colIndex: number, k: number, s: number): Value {
  switch (c.type) {
    case 'text':
      return c.values ? c.values[(k + s) % c.values.length]! : `v${(k + s) % 3}`;
    case 'boolean':
      return (k + s) % 3 !== 0;
    default: {
      if (k % 11 === 5) return null;
      const lo = c.min ?? 0;
      const hi = c.max ?? lo + 1000;
      const v = lo + (((k * 37 + s * 11 + colIndex * 7) % 101) / 100) * (hi - lo);
      return c.type === 'double' ? Math.round(v * 1000) / 1000 : Math.round(v);
    }
  }
}

export function syntheticRows(f: Family, opts: SyntheticOptions): SyntheticRow[] {
  const rows: SyntheticRow[] = [];
  const series = seriesOf(f, opts);
  for (let k = 0; k < opts.count; k++) {
    series.forEach((ids, s) => {
      const row: SyntheticRow = { ...ids, timestamp: new Date(opts.start + k * opts.stepMs).toISOString() };
      f.columns.forEach((c, i) => (row[c.field] = syntheticValue(c, i, k, s)));
      rows.push(row);
    });
  }
  return rows;
}

const idFields = (f: Family) => f.identity.map(camelCase);
const seriesKey = (f: Family, p: Record<string, unknown>) => idFields(f).map((i) => String(p[i])).join('|');

/** What a rollup level must answer for these rows, computed from each column's declared agg. */
export function expectedRollup(f: Family, rows: readonly SyntheticRow[], level: RollupLevel): Map<string, Record<string, Value>> {
  const width = LEVEL_SECONDS[level] * 1000;
  const groups = new Map<string, SyntheticRow[]>();
  for (const r of rows) {
    const bucket = Math.floor(Date.parse(r.timestamp) / width) * width;
    const key = `${new Date(bucket).toISOString()}|${seriesKey(f, r)}`;
    const g = groups.get(key) ?? [];
    g.push(r);
    groups.set(key, g);
  }
  const out = new Map<string, Record<string, Value>>();
  for (const [key, g] of groups) {
    const sorted = [...g].sort((a, b) => Date.parse(a.timestamp) - Date.parse(b.timestamp));
    const res: Record<string, Value> = { samples: g.length };
    for (const c of f.columns) {
      const vals = sorted.map((r) => r[c.field] ?? null);
      const nn = vals.filter((v): v is number => v !== null) as unknown as number[];
      switch (c.agg) {
        case 'avg':
          res[c.field] = nn.length ? nn.reduce((a, b) => a + b, 0) / nn.length : null;
          break;
        case 'sum':
          res[c.field] = nn.length ? nn.reduce((a, b) => a + b, 0) : null;
          break;
        case 'min':
          res[c.field] = nn.length ? Math.min(...nn) : null;
          break;
        case 'max':
          res[c.field] = nn.length ? Math.max(...nn) : null;
          break;
        case 'count':
          res[c.field] = nn.length;
          break;
        case 'last':
          res[c.field] = vals.at(-1) ?? null;
          break;
      }
    }
    out.set(key, res);
  }
  return out;
}

function assertClose(actual: unknown, expected: Value, where: string): void {
  if (typeof expected === 'number' && typeof actual === 'number') {
    assert.ok(Math.abs(actual - expected) <= 1e-9 * Math.max(1, Math.abs(expected)), `${where}: ${actual} ≠ ${expected}`);
  } else {
    assert.deepEqual(actual, expected, where);
  }
}

/** Compares a rollup answer with the expected buckets: same buckets, same values. */
export function assertRollup(f: Family, points: readonly SeriesPoint[], expected: Map<string, Record<string, Value>>, level: string): void {
  assert.equal(points.length, expected.size, `${f.key} ${level}: number of buckets`);
  for (const p of points) {
    const key = `${p.timestamp}|${seriesKey(f, p)}`;
    const e = expected.get(key);
    assert.ok(e, `${f.key} ${level}: unexpected bucket ${key}`);
    for (const [field, v] of Object.entries(e)) assertClose(p[field], v, `${f.key} ${level} ${key} ${field}`);
  }
}

export interface LifecycleContext {
  db: Queryable;
  tier: 'timescale' | 'postgres';
  store: TimeseriesStore;
}

/**
 * Runs the whole lifecycle for one family and returns the rows it ingested. Rows span
 * two whole UTC days (a 1d bucket each) ending at the start of today, every 15 minutes.
 */
export async function checkFamilyLifecycle(
  m: LifecycleContext,
  f: Family,
  opts: { nodeIds: readonly string[]; extraIdentity?: Readonly<Record<string, readonly string[]>>; families: readonly Family[] },
): Promise<SyntheticRow[]> {
  const day = 86_400_000;
  const start = Math.floor(Date.now() / day) * day - 2 * day;
  const stepMs = 15 * 60_000;
  const count = (2 * day) / stepMs;
  const rows = syntheticRows(f, { ...opts, start, stepMs, count });
  const from = new Date(start);
  const to = new Date(start + 2 * day);
  const series = seriesOf(f, opts).length;

  // ingest: everything once; a retry stores nothing twice
  const first = await m.store.ingest(f.key, rows);
  assert.deepEqual(first, { family: f.key, received: rows.length, inserted: rows.length, duplicates: 0 });
  assert.equal((await m.store.ingest(f.key, rows.slice(0, 10))).inserted, 0);

  // raw: every row back, same fields as ingest
  const raw = await m.store.query(f.key, { from, to, nodeIds: opts.nodeIds, resolution: 'raw' });
  assert.equal(raw.resolution, 'raw');
  assert.equal(raw.points.length, rows.length);
  const ingestFields = ['timestamp', ...idFields(f), ...f.columns.map((c) => c.field)].sort();
  for (const p of raw.points) assert.deepEqual(Object.keys(p).sort(), ingestFields);
  const byKey = new Map(rows.map((r) => [`${r.timestamp}|${seriesKey(f, r)}`, r]));
  for (const p of raw.points) {
    const r = byKey.get(`${p.timestamp}|${seriesKey(f, p)}`);
    assert.ok(r, `raw point ${p.timestamp} not ingested`);
    for (const field of ingestFields) assertClose(p[field], r[field] ?? null, `${f.key} raw ${p.timestamp} ${field}`);
  }

  // rollups at each level, the same before and after a refresh on the postgres tier
  const answers: Record<string, SeriesPoint[]> = {};
  for (const level of ROLLUP_LEVELS) {
    const res = await m.store.query(f.key, { from, to, nodeIds: opts.nodeIds, resolution: level });
    assert.equal(res.resolution, level);
    assertRollup(f, res.points, expectedRollup(f, rows, level), level);
    answers[level] = res.points;
  }
  assert.equal(answers['1d']!.length, 2 * series);
  if (m.tier === 'postgres') {
    const refreshed = await m.store.refreshRollups(f.key);
    assert.ok(refreshed.buckets > 0, 'the refresh processed the invalidated buckets');
    for (const level of ROLLUP_LEVELS) {
      const res = await m.store.query(f.key, { from, to, nodeIds: opts.nodeIds, resolution: level });
      assert.deepEqual(res.points, answers[level], `${f.key} ${level}: same answer after refresh`);
    }
    const stored = await m.db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM ${materializedTable(f, '1d')} WHERE node_id = ANY($1::text[])`, [[...opts.nodeIds]]);
    assert.equal(stored?.n, 2 * series, 'the daily buckets are materialized');
  }

  // cluster status: the latest row of every series under its node
  const last = start + (count - 1) * stepMs;
  const status = await getClusterStatus(m.db, opts.families, { now: new Date(last + 5_000), nodeIds: opts.nodeIds });
  assert.equal(status.nodes.length, opts.nodeIds.length);
  for (const node of status.nodes) {
    assert.equal(node.health, 'ok', `${node.id} is fresh 5 s after its last row`);
    assert.equal(node.lastSeen, new Date(last).toISOString());
    const latest = node.families[f.key];
    assert.ok(latest, `${node.id} lists ${f.key}`);
    const expected = rows.filter((r) => r.nodeId === node.id && Date.parse(r.timestamp) === last);
    assert.equal(latest.length, expected.length);
    for (const p of latest) {
      assert.deepEqual(Object.keys(p).sort(), ingestFields);
      const r = expected.find((e) => seriesKey(f, e) === seriesKey(f, p))!;
      for (const field of ingestFields) assertClose(p[field], r[field] ?? null, `${f.key} latest ${field}`);
    }
  }
  const later = await getClusterStatus(m.db, opts.families, { now: new Date(last + 60_000), nodeIds: opts.nodeIds });
  assert.ok(later.nodes.every((n) => n.health === 'stale'), 'stale 60 s after the last row (3 × 15 s)');
  return rows;
}
