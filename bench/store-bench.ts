/**
 * Store-level benchmarks (issue 2 item 9 and the physical limit of issue 5 item 1):
 * raw COPY vs the family's insert path, validation vs database write, and a
 * 30-day chart query from rollups vs from raw rows. No HTTP here.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import postgres from 'postgres';
import type { Database } from '../src/db/database.ts';
import { migrate } from '../src/db/migrator.ts';
import { connectDatabase, type EmbeddedPostgresDatabase } from '../src/db/connect.ts';
import { connectionTarget, PostgresDatabase } from '../src/db/postgres-driver.ts';
import { metricsSystem } from '../src/modules/system-metrics/family.ts';
import { BUCKET_ORIGIN } from '../src/timeseries/family.ts';
import { arrayLiterals, copyData, copySQL, insertSQL, type ColumnBatch } from '../src/timeseries/ingest.ts';
import { planQuery } from '../src/timeseries/query.ts';
import { FAMILIES } from '../src/modules/families.ts';
import { TimeseriesStore } from '../src/timeseries/store.ts';
import { emailEvents } from '../src/modules/email-events/stream.ts';
import { rollupStorage } from '../src/timeseries/stream-ddl.ts';
import { StreamStore } from '../src/timeseries/stream-store.ts';
import { EMAIL_COPY_SQL, emailCopyText, emailEventsRange, firstEventTime, type EmailShape } from './lib/email-gen.ts';
import { COPY_SQL, STEP_MS, copyChunks, firstTime, rowsRange, type DataShape, type SystemRow } from './lib/gen.ts';
import { profiled, type ProfileSummary } from './lib/profile.ts';
import { PgCpuMeter, log, nodeCpuSince, round, runPool, summarize, type LatencySummary } from './lib/util.ts';

const TABLE = metricsSystem.table;

// ---------------------------------------------------------------- databases

/** Creates an empty database on a PostgreSQL server; returns its URL and a dropper. */
export async function createServerDatabase(serverUrl: string, label: string): Promise<{ url: string; name: string; drop: () => Promise<void> }> {
  const name = `opsdeck_bench_${label}_${randomBytes(3).toString('hex')}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    name,
    drop: async () => {
      const a = postgres(serverUrl, { max: 1, onnotice: () => {} });
      await a.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    },
  };
}

export async function serverVersion(url: string): Promise<string> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const [r] = await sql.unsafe<{ v: string }[]>('SELECT version() AS v');
    return r?.v ?? 'unknown';
  } finally {
    await sql.end();
  }
}

/** The durability settings a server runs with, as one line for the bench output. */
export async function serverDurability(url: string): Promise<string> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const rows = await sql.unsafe<{ name: string; setting: string }[]>(
      `SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes', 'wal_level', 'shared_buffers') ORDER BY name`,
    );
    return rows.map((r) => `${r.name}=${r.setting}`).join(', ');
  } finally {
    await sql.end();
  }
}

export interface OpenStore {
  db: Database;
  store: TimeseriesStore;
  close(): Promise<void>;
}

export async function openServerStore(url: string): Promise<OpenStore> {
  const db = new PostgresDatabase({ url, max: 20 });
  const r = await migrate(db);
  const store = new TimeseriesStore({ db, tier: r.tier.tier, families: FAMILIES, limits: { maxPoints: 20_000_000, autoMaxPoints: 20_000_000, maxSpanSeconds: 400 * 86400, maxCells: Number.MAX_SAFE_INTEGER } });
  return { db, store, close: () => db.close() };
}

export interface EmbeddedHandle extends OpenStore {
  /** URL of the embedded server (its Unix socket), for COPY. */
  url: string;
  dir: string;
}

/**
 * The embedded default as `npm start` runs it: a PostgreSQL server started by Opsdeck's
 * launcher in a fresh data folder (Unix socket, shared_buffers 32 MB, fsync on), migrated.
 * Closing the handle stops the server; the folder stays until removeDir.
 */
export async function openEmbeddedStore(dir = mkdtempSync(join(tmpdir(), 'opsdeck-bench-embedded-'))): Promise<EmbeddedHandle> {
  const db = (await connectDatabase({ dataDir: dir, embedded: 'postgres', poolMax: 20 })) as EmbeddedPostgresDatabase;
  const r = await migrate(db);
  const store = new TimeseriesStore({ db, tier: r.tier.tier, families: FAMILIES, limits: { maxPoints: 20_000_000, autoMaxPoints: 20_000_000, maxSpanSeconds: 400 * 86400, maxCells: Number.MAX_SAFE_INTEGER } });
  return { db, store, url: db.server.url, dir, close: () => db.close() };
}

/** Removes a bench data folder and, as root, the embedded cluster it recorded outside it (postgres.location). */
/** A postgres.js client for a URL, the embedded server's socket form (`?host=/folder`) included. */
function sqlFor(url: string, max = 1): postgres.Sql {
  const t = connectionTarget(url);
  return postgres(t.url, { max, onnotice: () => {}, ...(t.host ? { host: t.host, port: t.port } : {}) });
}

export const removeDir = (dir: string) => {
  const note = join(dir, 'postgres.location');
  if (existsSync(note)) {
    const home = readFileSync(note, 'utf8').trim();
    if (home) rmSync(home, { recursive: true, force: true });
  }
  rmSync(dir, { recursive: true, force: true });
};

async function ensurePartitions(db: Database, s: DataShape): Promise<void> {
  await db.query('SELECT opsdeck_ensure_partitions($1, $2, $3)', [TABLE, new Date(firstTime(s)).toISOString(), new Date(s.endMs + STEP_MS).toISOString()]);
}

async function countRows(db: Database): Promise<number> {
  const r = await db.queryOne<{ n: number }>(`SELECT count(*)::bigint AS n FROM ${TABLE}`);
  return Number(r?.n ?? 0);
}

async function backendPid(db: Database): Promise<number> {
  return (await db.queryOne<{ pid: number }>('SELECT pg_backend_pid() AS pid'))!.pid;
}

// ---------------------------------------------------------------- A.2 raw COPY

export interface CopyResult {
  rows: number;
  streams: number;
  seconds: number;
  rowsPerSec: number;
  pgCpuSeconds: number | null;
  storedRows: number;
}

/** Raw COPY of pre-encoded text chunks into a fresh migrated database (partitions created beforehand, not timed). */
export async function copyServer(serverUrl: string, shape: DataShape, chunks: readonly Buffer[], rows: number, streams = 1): Promise<CopyResult> {
  const target = await createServerDatabase(serverUrl, `copy${streams}`);
  const st = await openServerStore(target.url);
  try {
    await ensurePartitions(st.db, shape);
    const meter = new PgCpuMeter(await backendPid(st.db));
    const sql = postgres(target.url, { max: streams, onnotice: () => {} });
    // Open the connections before the clock starts.
    await Promise.all(Array.from({ length: streams }, () => sql.unsafe('SELECT 1')));
    const before = meter.available ? meter.snapshot() : null;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: streams }, async (_, s) => {
        const mine = chunks.filter((_c, i) => i % streams === s);
        const w = await sql.unsafe(COPY_SQL).writable();
        await pipeline(Readable.from(mine), w);
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    const pgCpu = before ? PgCpuMeter.delta(before, meter.snapshot()) : null;
    await sql.end();
    const storedRows = await countRows(st.db);
    return { rows, streams, seconds: round(seconds, 2), rowsPerSec: Math.round(rows / seconds), pgCpuSeconds: pgCpu, storedRows };
  } finally {
    await st.close();
    await target.drop();
  }
}

/** Raw COPY, one stream, into the embedded default (a fresh embedded server, migrated; partitions made beforehand). */
export async function copyEmbedded(shape: DataShape, chunks: readonly Buffer[], rows: number): Promise<CopyResult> {
  const h = await openEmbeddedStore();
  try {
    await ensurePartitions(h.db, shape);
    const sql = sqlFor(h.url);
    await sql.unsafe('SELECT 1');
    const t0 = performance.now();
    const w = await sql.unsafe(COPY_SQL).writable();
    await pipeline(Readable.from(chunks), w);
    const seconds = (performance.now() - t0) / 1000;
    await sql.end();
    return { rows, streams: 1, seconds: round(seconds, 2), rowsPerSec: Math.round(rows / seconds), pgCpuSeconds: null, storedRows: await countRows(h.db) };
  } finally {
    await h.close();
    removeDir(h.dir);
  }
}

// ---------------------------------------------------------------- A.3 insert path

export interface InsertPathResult {
  rows: number;
  batchRows: number;
  inFlight: number;
  /** store.prepare alone, all batches one after another (one thread). */
  validate: { seconds: number; rowsPerSec: number; msPerBatch: number };
  /** writeBatch of already-prepared batches in transactions, `inFlight` at a time, fresh database. */
  write: { seconds: number; rowsPerSec: number; batchMs: LatencySummary; nodeCpuSeconds: number; pgCpuSeconds: number | null; storedRows: number };
  /** store.ingest (validate + write), `inFlight` at a time, fresh database: the real insert path. */
  full: { seconds: number; rowsPerSec: number; batchMs: LatencySummary; nodeCpuSeconds: number; pgCpuSeconds: number | null; storedRows: number };
  /** BENCH_CPU_PROF=1: where this process spent its CPU in each phase. */
  profiles?: { write: ProfileSummary | null; full: ProfileSummary | null };
}

function batchesOf(rows: readonly SystemRow[], size: number): SystemRow[][] {
  const out: SystemRow[][] = [];
  for (let i = 0; i < rows.length; i += size) out.push(rows.slice(i, i + size) as SystemRow[]);
  return out;
}

type StoreOpener = () => Promise<OpenStore & { drop?: () => Promise<void> }>;

async function timedWrite(
  open: StoreOpener,
  count: number,
  inFlight: number,
  run: (st: OpenStore, i: number) => Promise<unknown>,
  local: boolean,
  profileFile: string | null = null,
  setup?: (st: OpenStore) => Promise<void>,
): Promise<{ seconds: number; durations: number[]; nodeCpuSeconds: number; pgCpuSeconds: number | null; storedRows: number; profile: ProfileSummary | null }> {
  const st = await open();
  await setup?.(st);
  try {
    const meter = local ? new PgCpuMeter(await backendPid(st.db)) : null;
    // Warm the pool so connection set-up is not timed.
    await Promise.all(Array.from({ length: inFlight }, () => st.db.transaction((tx) => tx.query('SELECT 1'))));
    const before = meter?.available ? meter.snapshot() : null;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const { value: durations, profile } = await profiled(profileFile, () => runPool(count, inFlight, (i) => run(st, i)));
    const seconds = (performance.now() - t0) / 1000;
    const nodeCpuSeconds = nodeCpuSince(cpu0);
    const pgCpuSeconds = before && meter ? PgCpuMeter.delta(before, meter.snapshot()) : null;
    return { seconds, durations, nodeCpuSeconds, pgCpuSeconds, storedRows: await countRows(st.db), profile };
  } finally {
    await st.close();
    await st.drop?.();
  }
}

export async function insertPath(
  open: StoreOpener,
  rows: readonly SystemRow[],
  batchRows: number,
  inFlight: number,
  local: boolean,
  profilePrefix: string | null = null,
): Promise<InsertPathResult> {
  const batches = batchesOf(rows, batchRows);
  const now = Date.now();

  // 1. Validation alone (store.prepare: Zod parse + column arrays), on a store that is never written to.
  const probe = await open();
  let prepared: ColumnBatch[];
  let vSeconds: number;
  try {
    probe.store.prepare('system', batches[0]!, { now }); // warm-up (JIT), not timed
    const t0 = performance.now();
    prepared = batches.map((b) => probe.store.prepare('system', b, { now }));
    vSeconds = (performance.now() - t0) / 1000;
  } finally {
    await probe.close();
    await probe.drop?.();
  }
  log(`  validation: ${Math.round(rows.length / vSeconds)} rows/s`);

  // 2. Database write alone: prepared batches through writeBatch in one transaction each.
  const w = await timedWrite(
    open,
    prepared.length,
    inFlight,
    (st, i) => st.db.transaction((tx) => st.store.writeBatch(tx, 'system', prepared[i]!)),
    local,
    profilePrefix && `${profilePrefix}-write.cpuprofile`,
  );
  log(`  write only: ${Math.round(rows.length / w.seconds)} rows/s`);
  prepared = [];

  // 3. The whole path: store.ingest (validate + write in one transaction).
  const f = await timedWrite(open, batches.length, inFlight, (st, i) => st.store.ingest('system', batches[i]!), local, profilePrefix && `${profilePrefix}-full.cpuprofile`);
  log(`  store.ingest: ${Math.round(rows.length / f.seconds)} rows/s`);

  return {
    rows: rows.length,
    batchRows,
    inFlight,
    validate: { seconds: round(vSeconds, 2), rowsPerSec: Math.round(rows.length / vSeconds), msPerBatch: round((vSeconds * 1000) / batches.length, 2) },
    write: {
      seconds: round(w.seconds, 2),
      rowsPerSec: Math.round(rows.length / w.seconds),
      batchMs: summarize(w.durations),
      nodeCpuSeconds: w.nodeCpuSeconds,
      pgCpuSeconds: w.pgCpuSeconds,
      storedRows: w.storedRows,
    },
    full: {
      seconds: round(f.seconds, 2),
      rowsPerSec: Math.round(rows.length / f.seconds),
      batchMs: summarize(f.durations),
      nodeCpuSeconds: f.nodeCpuSeconds,
      pgCpuSeconds: f.pgCpuSeconds,
      storedRows: f.storedRows,
    },
    ...(profilePrefix ? { profiles: { write: w.profile, full: f.profile } } : {}),
  };
}

// ---------------------------------------------------------------- A.3 breakdown (BENCH_BREAKDOWN=1)

export interface BreakdownStep {
  step: string;
  rowsPerSec: number;
  seconds: number;
  nodeCpuSeconds: number;
  pgCpuSeconds: number | null;
  batchMs: LatencySummary;
}

/**
 * Where the database write time goes: the same prepared batches written by
 * successively more of writeBatch's statements, each into a fresh database with
 * the partitions created beforehand.
 */
export async function insertBreakdown(open: StoreOpener, rows: readonly SystemRow[], batchRows: number, inFlight: number, local: boolean): Promise<BreakdownStep[]> {
  const now = Date.now();
  const probe = await open();
  let prepared: ColumnBatch[];
  try {
    prepared = batchesOf(rows, batchRows).map((b) => probe.store.prepare('system', b, { now }));
  } finally {
    await probe.close();
    await probe.drop?.();
  }
  const minTime = Math.min(...prepared.map((b) => b.minTime));
  const maxTime = Math.max(...prepared.map((b) => b.maxTime));
  const setup = async (st: OpenStore) => {
    await st.db.query('SELECT opsdeck_ensure_partitions($1, $2, $3)', [TABLE, new Date(minTime).toISOString(), new Date(maxTime + 1).toISOString()]);
  };
  const withConflict = insertSQL(metricsSystem, true);
  const plain = insertSQL(metricsSystem, false);
  const params = prepared.map((b) => arrayLiterals(metricsSystem, b));
  const copies = prepared.map((b) => copyData(metricsSystem, b));
  const steps: [string, (st: OpenStore, i: number) => Promise<unknown>][] = [
    ['INSERT … SELECT unnest($1..$20) (no ON CONFLICT)', (st, i) => st.db.transaction((tx) => tx.query(plain, params[i]!))],
    ['ON CONFLICT DO NOTHING instead', (st, i) => st.db.transaction((tx) => tx.query(withConflict, params[i]!))],
    // the postgres driver only (PGlite has no COPY FROM STDIN)
    ...(probe.db.driver === 'postgres'
      ? ([['binary COPY instead (what writeBatch sends for a large batch)', (st, i) => st.db.transaction((tx) => tx.copyFrom!(copySQL(metricsSystem), copies[i]!))]] as [string, (st: OpenStore, i: number) => Promise<unknown>][])
      : []),
    ['store.writeBatch: its write (a binary COPY on the postgres driver) + invalidations + nodes upsert', (st, i) => st.db.transaction((tx) => st.store.writeBatch(tx, 'system', prepared[i]!))],
  ];
  const out: BreakdownStep[] = [];
  for (const [step, run] of steps) {
    const r = await timedWrite(open, prepared.length, inFlight, run, local, null, setup);
    out.push({ step, rowsPerSec: Math.round(rows.length / r.seconds), seconds: round(r.seconds, 2), nodeCpuSeconds: r.nodeCpuSeconds, pgCpuSeconds: r.pgCpuSeconds, batchMs: summarize(r.durations) });
    log(`  ${step}: ${out.at(-1)!.rowsPerSec} rows/s (node CPU ${r.nodeCpuSeconds} s, PostgreSQL CPU ${r.pgCpuSeconds ?? '?'} s)`);
  }
  return out;
}

export const serverOpener = (serverUrl: string): StoreOpener => async () => {
  const t = await createServerDatabase(serverUrl, 'ins');
  const st = await openServerStore(t.url);
  return { ...st, drop: t.drop };
};

export const embeddedOpener = (): StoreOpener => async () => {
  const h = await openEmbeddedStore();
  return { db: h.db, store: h.store, close: h.close, drop: async () => removeDir(h.dir) };
};

// ---------------------------------------------------------------- A.4 chart query data set

export interface LoadResult {
  nodes: number;
  days: number;
  rows: number;
  copySeconds: number;
  copyRowsPerSec: number;
  refreshSeconds: number;
  refreshRuns: number;
  refreshedBuckets: number;
  tableSize: string;
}

/**
 * Loads `shape` with COPY (generated on the fly, `streams` connections), records
 * the rollup invalidations and node inventory the insert path would have written,
 * then runs refreshRollups until nothing is pending.
 */
export async function loadQueryDataset(db: Database, store: TimeseriesStore, shape: DataShape, copyInto: (chunks: Iterable<Buffer>, stream: number) => Promise<void>, streams: number): Promise<LoadResult> {
  const rows = shape.nodes * shape.ticks;
  await ensurePartitions(db, shape);
  const t0 = performance.now();
  const per = Math.ceil(shape.ticks / streams);
  await Promise.all(
    Array.from({ length: streams }, (_, s) => {
      const ticks = Math.max(0, Math.min(per, shape.ticks - s * per));
      const sub: DataShape = { ...shape, ticks, endMs: firstTime(shape) + (s * per + ticks - 1) * STEP_MS };
      return ticks > 0 ? copyInto(copyChunks(sub, 10_000), s) : Promise.resolve();
    }),
  );
  const copySeconds = (performance.now() - t0) / 1000;
  log(`  loaded ${rows} rows in ${round(copySeconds)} s (${Math.round(rows / copySeconds)} rows/s)`);
  // What writeBatch records for these rows: one invalidation per 5-minute bucket, and the node inventory.
  await db.query(
    `INSERT INTO opsdeck_rollup_invalidations (family, bucket)
     SELECT $1, b FROM generate_series(date_bin('5 minutes', $2::timestamptz, timestamptz '${BUCKET_ORIGIN}'), $3::timestamptz, interval '5 minutes') AS b`,
    [TABLE, new Date(firstTime(shape)).toISOString(), new Date(shape.endMs).toISOString()],
  );
  await store.ingest('system', rowsRange(shape, rows - shape.nodes, rows)); // last tick again: 0 new rows, updates nodes.last_seen
  await db.exec(`ANALYZE ${TABLE}`);
  const r0 = performance.now();
  let runs = 0;
  let buckets = 0;
  for (;;) {
    const r = await store.refreshRollups('system');
    if (r.buckets === 0) break;
    runs++;
    buckets += r.buckets;
    log(`  refreshRollups: ${r.buckets} buckets (${round((performance.now() - r0) / 1000)} s so far)`);
  }
  const refreshSeconds = (performance.now() - r0) / 1000;
  await db.exec('ANALYZE');
  const size = await db.queryOne<{ s: string }>(`SELECT pg_size_pretty(sum(pg_total_relation_size(c.oid))) AS s FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = $1`, [TABLE]);
  return {
    nodes: shape.nodes,
    days: round((shape.ticks * STEP_MS) / 86_400_000, 2),
    rows,
    copySeconds: round(copySeconds, 1),
    copyRowsPerSec: Math.round(rows / copySeconds),
    refreshSeconds: round(refreshSeconds, 1),
    refreshRuns: runs,
    refreshedBuckets: buckets,
    tableSize: size?.s ?? '?',
  };
}

export const serverCopyInto = (url: string) => async (chunks: Iterable<Buffer>) => {
  const sql = sqlFor(url);
  try {
    const w = await sql.unsafe(COPY_SQL).writable();
    await pipeline(Readable.from(chunks), w);
  } finally {
    await sql.end();
  }
};

export const embeddedCopyInto = (h: EmbeddedHandle) => serverCopyInto(h.url);

// ---------------------------------------------------------------- A.4 chart query: rollup vs raw

/** The 1 h aggregation of raw rows that equals the 1 h rollup (same aggregates, `last` by time). */
export function rawHourlySQL(): string {
  const aggs = metricsSystem.columns.map((c) => {
    switch (c.agg) {
      case 'avg':
        return `avg(${c.name}::double precision) AS ${c.name}`;
      case 'last':
        return `(array_agg(${c.name} ORDER BY time DESC))[1] AS ${c.name}`;
      default:
        return `${c.agg}(${c.name}) AS ${c.name}`;
    }
  });
  return `SELECT date_bin('1 hour', time, timestamptz '${BUCKET_ORIGIN}') AS t, node_id,\n  ${aggs.join(',\n  ')},\n  count(*) AS samples\nFROM ${TABLE}\nWHERE time >= $1 AND time < $2\nGROUP BY 1, 2\nORDER BY 1, 2`;
}

export interface ChartQueryResult {
  from: string;
  to: string;
  nodes: number;
  rollup: LatencySummary & { points: number; resolution: string };
  raw: LatencySummary & { points: number };
  speedup: number;
  explainRollup: string;
  explainRaw: string;
}

export async function chartQuery(db: Database, store: TimeseriesStore, shape: DataShape, reps: number, rawReps: number): Promise<ChartQueryResult> {
  const hour = 3_600_000;
  const from = new Date(Math.floor(firstTime(shape) / hour) * hour);
  const to = new Date(shape.endMs + STEP_MS);
  const q = { from, to, resolution: '1h' as const };
  const rawSql = rawHourlySQL();
  const rawParams = [from.toISOString(), to.toISOString()];

  const runRollup = async () => (await store.query('system', q)).points.length;
  const runRaw = async () => (await db.queryMany(rawSql, rawParams)).length;

  const rollupPoints = await runRollup(); // warm-up
  const rollupMs: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await runRollup();
    rollupMs.push(performance.now() - t0);
  }
  log(`  rollup 1h: p50 ${summarize(rollupMs).p50} ms (${rollupPoints} points)`);
  // No warm-up run for raw (each takes tens of seconds; the table was just read by the rollup refresh).
  let rawPoints = 0;
  const rawMs: number[] = [];
  for (let i = 0; i < Math.max(1, rawReps); i++) {
    const t0 = performance.now();
    rawPoints = await runRaw();
    rawMs.push(performance.now() - t0);
  }
  log(`  raw GROUP BY: p50 ${summarize(rawMs).p50} ms (${rawPoints} points)`);

  const series = shape.nodes;
  const plan = planQuery(metricsSystem, q, series, store.limits);
  const explain = async (sql: string, params: unknown[]) =>
    (await db.queryMany<Record<string, string>>(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, params)).map((r) => Object.values(r)[0]).join('\n');
  const explainRollup = await explain(plan.sql, plan.params);
  const explainRaw = await explain(rawSql, rawParams);
  const rollup = summarize(rollupMs);
  const raw = summarize(rawMs);
  return {
    from: from.toISOString(),
    to: to.toISOString(),
    nodes: shape.nodes,
    rollup: { ...rollup, points: rollupPoints, resolution: '1h' },
    raw: { ...raw, points: rawPoints },
    speedup: round(raw.p50 / rollup.p50, 1),
    explainRollup,
    explainRaw,
  };
}

// ---------------------------------------------------------------- E: email_events (event stream)

async function ensureEmailPartitions(db: Database, s: EmailShape): Promise<void> {
  await db.query('SELECT opsdeck_ensure_partitions($1, $2, $3)', [emailEvents.table, new Date(firstEventTime(s)).toISOString(), new Date(s.endMs + 1).toISOString()]);
}

export async function countEmailEvents(db: Database): Promise<number> {
  const r = await db.queryOne<{ n: number }>(`SELECT count(*)::bigint AS n FROM ${emailEvents.table}`);
  return Number(r?.n ?? 0);
}

/** E.1 raw COPY of pre-encoded email events into a fresh migrated database (partitions created beforehand, not timed). */
export async function emailCopyServer(serverUrl: string, shape: EmailShape, chunks: readonly Buffer[], local: boolean): Promise<CopyResult> {
  const target = await createServerDatabase(serverUrl, 'ecopy');
  const st = await openServerStore(target.url);
  try {
    await ensureEmailPartitions(st.db, shape);
    const meter = local ? new PgCpuMeter(await backendPid(st.db)) : null;
    const sql = postgres(target.url, { max: 1, onnotice: () => {} });
    await sql.unsafe('SELECT 1');
    const before = meter?.available ? meter.snapshot() : null;
    const t0 = performance.now();
    const w = await sql.unsafe(EMAIL_COPY_SQL).writable();
    await pipeline(Readable.from(chunks), w);
    const seconds = (performance.now() - t0) / 1000;
    const pgCpu = before && meter ? PgCpuMeter.delta(before, meter.snapshot()) : null;
    await sql.end();
    const storedRows = await countEmailEvents(st.db);
    return { rows: shape.events, streams: 1, seconds: round(seconds, 2), rowsPerSec: Math.round(shape.events / seconds), pgCpuSeconds: pgCpu, storedRows };
  } finally {
    await st.close();
    await target.drop();
  }
}

/** What `copyEmailDays` wrote. */
export interface EmailDayCopies {
  /** Whole days written as copies (fewer than asked when the disk ran short). */
  days: number;
  events: number;
  seconds: number;
  eventsPerSecond: number;
  /** Rollup storage rows written as copies. */
  rollupRows: number;
  /** Per UTC day of the week: events counted in the table against events counted by `email_stats_overview_1h`; all equal when the copies are right. */
  check: { day: string; events: number; rollup: number }[];
  stoppedForDisk: boolean;
}

/**
 * A week at a rate whose refresh does not fit a bench run (100 events/s: 60 M events, ~90 min
 * of refresh here): one whole UTC day [dayStart, dayStart + 1 d) is loaded and refreshed, then
 * copied `days` times, shifted back by 1, 2, … days. The copied events get new ids (event id,
 * Message-ID, queue id) and every rollup's storage rows of that day are copied with their buckets
 * shifted the same way: because each rollup bucket (5 min, 1 h, 1 d) divides a day, they are the
 * rows the refresh would compute from the copied events, so nothing is pending. Stops early
 * (and says so) when less than `minFreeBytes` is left on the database's disk. Ends
 * with a check: per day, the events in the table against the events counted by the overview rollup.
 */
export async function copyEmailDays(url: string, dayStartMs: number, days: number, minFreeBytes: number): Promise<EmailDayCopies> {
  const st = await openServerStore(url);
  const db = st.db;
  try {
    // the database's own disk (a superuser may read it; else the temporary folder's, where the bench's server lives)
    const dir = await db.queryOne<{ d: string }>(`SELECT current_setting('data_directory') AS d`).catch(() => null);
    const diskPath = dir?.d ?? tmpdir();
    const DAY = 86_400_000;
    const iso = (t: number) => new Date(t).toISOString();
    await db.query('SELECT opsdeck_ensure_partitions($1, $2, $3)', [emailEvents.table, iso(dayStartMs - days * DAY), iso(dayStartMs)]);
    const columnsOf = async (table: string) =>
      (await db.query<{ c: string }>(`SELECT attname AS c FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`, [table])).rows.map((r) => r.c);
    const evCols = await columnsOf(emailEvents.table);
    const shifted = (c: string) => {
      if (c === 'time') return `time - $1::interval`;
      if (c === 'event_id') return `md5(event_id::text || $2::text)::uuid`;
      if (c === 'message_id') return `CASE WHEN message_id LIKE '<%' THEN '<d' || $2::text || '.' || substr(message_id, 2) ELSE message_id END`;
      if (c === 'queue_id') return `queue_id || '.d' || $2::text`;
      return c;
    };
    const t0 = performance.now();
    let copied = 0;
    let events = 0;
    let rollupRows = 0;
    let stoppedForDisk = false;
    const QUARTER = DAY / 4;
    for (let d = 1; d <= days && !stoppedForDisk; d++) {
      for (let q = 0; q < 4; q++) {
        const free = await statfs(diskPath);
        if (free.bavail * free.bsize < minFreeBytes) {
          stoppedForDisk = true;
          break;
        }
        const from = dayStartMs + q * QUARTER;
        // one transaction per quarter day: events of the copy are never half written at a quarter's end
        const n = await db.queryOne<{ n: number }>(
          `WITH ins AS (INSERT INTO ${emailEvents.table} (${evCols.join(', ')})
             SELECT ${evCols.map(shifted).join(', ')} FROM ${emailEvents.table} WHERE time >= $3 AND time < $4 RETURNING 1)
           SELECT count(*)::int AS n FROM ins`,
          [`${d} days`, String(d), iso(from), iso(from + QUARTER)],
        );
        events += n?.n ?? 0;
      }
      if (stoppedForDisk) {
        // the partial copy of day d is removed: the rollups hold whole days
        await db.query(`DELETE FROM ${emailEvents.table} WHERE time >= $1 AND time < $2`, [iso(dayStartMs - d * DAY), iso(dayStartMs - (d - 1) * DAY)]);
        break;
      }
      for (const r of emailEvents.rollups) {
        const mat = rollupStorage(r, 'postgres');
        const cols = await columnsOf(mat);
        const res = await db.queryOne<{ n: number }>(
          `WITH ins AS (INSERT INTO ${mat} (${cols.join(', ')})
             SELECT ${cols.map((c) => (c === 'bucket' ? 'bucket - $1::interval' : c)).join(', ')} FROM ${mat} WHERE bucket >= $2 AND bucket < $3 RETURNING 1)
           SELECT count(*)::int AS n FROM ins`,
          [`${d} days`, iso(dayStartMs), iso(dayStartMs + DAY)],
        );
        rollupRows += res?.n ?? 0;
      }
      copied = d;
      log(`  copied day -${d}: ${events} events so far (${Math.round(events / ((performance.now() - t0) / 1000))} events/s)`);
    }
    const seconds = (performance.now() - t0) / 1000;
    await db.exec(`ANALYZE`);
    const check = await db.query<{ day: string; events: number; rollup: number }>(
      `SELECT to_char(e.day, 'YYYY-MM-DD') AS day, e.n::bigint AS events, coalesce(r.n, 0)::bigint AS rollup
         FROM (SELECT date_bin('1 day', time, timestamptz '${BUCKET_ORIGIN}') AS day, count(*) AS n FROM ${emailEvents.table} WHERE time >= $1 AND time < $2 GROUP BY 1) e
         LEFT JOIN (SELECT date_bin('1 day', bucket, timestamptz '${BUCKET_ORIGIN}') AS day, sum(event_count) AS n FROM email_stats_overview_1h WHERE bucket >= $1 AND bucket < $2 GROUP BY 1) r USING (day)
        ORDER BY 1`,
      [iso(dayStartMs - copied * DAY), iso(dayStartMs + DAY)],
    );
    return {
      days: copied,
      events,
      seconds: round(seconds, 1),
      eventsPerSecond: Math.round(events / Math.max(seconds, 0.001)),
      rollupRows,
      check: check.rows.map((c) => ({ day: c.day, events: Number(c.events), rollup: Number(c.rollup) })),
      stoppedForDisk,
    };
  } finally {
    await st.close();
  }
}

export interface EmailWeekResult {
  events: number;
  days: number;
  eventsPerSecond: number;
  copySeconds: number;
  copyRowsPerSec: number;
  refreshSeconds: number;
  refreshedBuckets: Record<string, number>;
  refreshFailed: Record<string, string>;
  tableSize: string;
  rollupRows: Record<string, number>;
}

/**
 * E.3 data set: a week of email events loaded with COPY (generated on the fly, `streams`
 * connections), the rollup invalidations the insert path would have written, then the
 * postgres tier's rollup refresh (`StreamStore.refreshDue({ force: true })`), timed.
 */
export async function loadEmailWeek(url: string, shape: EmailShape, streams: number): Promise<EmailWeekResult> {
  const st = await openServerStore(url);
  try {
    const db = st.db;
    await ensureEmailPartitions(db, shape);
    const t0 = performance.now();
    const per = Math.ceil(shape.events / streams);
    let done = 0;
    let lastLog = performance.now();
    await Promise.all(
      Array.from({ length: streams }, async (_, s) => {
        const from = s * per;
        const to = Math.min(shape.events, from + per);
        if (to <= from) return;
        const sql = postgres(url, { max: 1, onnotice: () => {} });
        try {
          const chunks = function* (): Generator<Buffer> {
            for (let k = from; k < to; k += 10_000) {
              const n = Math.min(to, k + 10_000);
              yield Buffer.from(emailCopyText(emailEventsRange(shape, k, n)));
              done += n - k;
              if (performance.now() - lastLog > 30_000) {
                lastLog = performance.now();
                log(`  COPY ${done} / ${shape.events} events (${Math.round(done / ((performance.now() - t0) / 1000))} events/s)`);
              }
            }
          };
          const w = await sql.unsafe(EMAIL_COPY_SQL).writable();
          await pipeline(Readable.from(chunks()), w);
        } finally {
          await sql.end();
        }
      }),
    );
    const copySeconds = (performance.now() - t0) / 1000;
    log(`  loaded ${shape.events} events in ${round(copySeconds)} s (${Math.round(shape.events / copySeconds)} events/s)`);
    // What the insert path records for these events: one invalidation per 5-minute bucket and rollup.
    await db.query(
      `INSERT INTO opsdeck_rollup_invalidations (family, bucket)
       SELECT r, b FROM unnest($1::text[]) AS r,
         generate_series(date_bin('5 minutes', $2::timestamptz, timestamptz '${BUCKET_ORIGIN}'), $3::timestamptz, interval '5 minutes') AS b`,
      [emailEvents.rollups.map((r) => r.name), new Date(firstEventTime(shape)).toISOString(), new Date(shape.endMs).toISOString()],
    );
    await db.exec(`ANALYZE ${emailEvents.table}`);
    const streamStore = new StreamStore({ db, tier: 'postgres', streams: [emailEvents] });
    const r0 = performance.now();
    const refreshed = await streamStore.refreshDue({ force: true });
    const refreshSeconds = (performance.now() - r0) / 1000;
    log(`  rollup refresh ${round(refreshSeconds)} s: ${JSON.stringify(refreshed)}`);
    await db.exec('ANALYZE');
    const size = await db.queryOne<{ s: string }>(
      `SELECT pg_size_pretty(sum(pg_total_relation_size(c.oid))) AS s FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = $1`,
      [emailEvents.table],
    );
    const rollupRows: Record<string, number> = {};
    for (const r of emailEvents.rollups) {
      const n = await db.queryOne<{ n: number }>(`SELECT count(*)::bigint AS n FROM ${rollupStorage(r, 'postgres')}`);
      rollupRows[r.name] = Number(n?.n ?? 0);
    }
    return {
      events: shape.events,
      days: round((shape.events * shape.periodMs) / 86_400_000, 2),
      eventsPerSecond: round(1000 / shape.periodMs, 2),
      copySeconds: round(copySeconds, 1),
      copyRowsPerSec: Math.round(shape.events / copySeconds),
      refreshSeconds: round(refreshSeconds, 1),
      refreshedBuckets: refreshed.buckets,
      refreshFailed: refreshed.failed,
      tableSize: size?.s ?? '?',
      rollupRows,
    };
  } finally {
    await st.close();
  }
}
