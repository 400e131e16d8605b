/**
 * Storage tier detection. `timescale` needs the TimescaleDB extension under the
 * timescale licence (hypertables, continuous aggregates, compression and
 * policies). Everything else — plain PostgreSQL, Apache-only TimescaleDB
 * (Supabase, Neon), PGlite — is the `postgres` tier, which never calls a
 * licence-gated TimescaleDB function.
 */
import type { Queryable } from './database.ts';
import type { StorageTier } from '../timeseries/ddl.ts';

export type { StorageTier };

/** The configured or recorded tier cannot be used on this server; the message says why and what to do. */
export class TierError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TierError';
  }
}
export type TierPreference = 'auto' | StorageTier;

export interface TierInfo {
  tier: StorageTier;
  postgresVersion: string;
  timescaleVersion: string | null;
  timescaleLicense: string | null;
  reason: string;
  /** Something the operator should read (logged at WARN by `serve` and printed by `db migrate`), e.g. how to enable TimescaleDB. */
  notice: string | null;
}

export interface TierChoice {
  tier: StorageTier;
  reason: string;
  /** Whether `CREATE EXTENSION timescaledb` may be issued. */
  createExtension: boolean;
  notice: string | null;
}

const ENABLE_TIMESCALE =
  "add shared_preload_libraries = 'timescaledb' to postgresql.conf (keeping any libraries already listed there), restart PostgreSQL, and migrate a new database";

/**
 * Pure decision from what the server reports (unit-tested for every licence case).
 * `preloadMissing`: the timescaledb library is installed on a PostgreSQL server but
 * not in shared_preload_libraries. TimescaleDB answers CREATE EXTENSION there with
 * FATAL, which ends the connection (a savepoint cannot catch it), so the statement
 * is never issued: the postgres tier, with a notice saying how to enable TimescaleDB.
 */
export function chooseTier(input: {
  preference: TierPreference;
  extensionAvailable: boolean;
  license: string | null;
  preloadMissing?: boolean;
}): TierChoice {
  const { preference, extensionAvailable, license } = input;
  if (preference === 'postgres') return { tier: 'postgres', reason: 'postgres tier requested by configuration', createExtension: false, notice: null };
  if (extensionAvailable && input.preloadMissing) {
    if (preference === 'timescale') {
      throw new TierError(
        `OPSDECK_STORAGE_TIER=timescale but TimescaleDB is installed without being in shared_preload_libraries, so it cannot be loaded; ${ENABLE_TIMESCALE}`,
      );
    }
    return {
      tier: 'postgres',
      reason: 'TimescaleDB is installed but not in shared_preload_libraries: native partitions and Opsdeck-maintained rollups',
      createExtension: false,
      notice: `TimescaleDB is installed on this server but not in shared_preload_libraries, so this database uses the postgres tier (a database keeps the tier of its first migration). To use the timescale tier, ${ENABLE_TIMESCALE}.`,
    };
  }
  const usable = extensionAvailable && license === 'timescale';
  if (preference === 'timescale' && !usable) {
    throw new TierError(
      extensionAvailable
        ? `timescale tier requested but TimescaleDB runs under the "${license ?? 'unknown'}" licence; continuous aggregates and policies need the timescale licence`
        : 'timescale tier requested but the timescaledb extension is not available on this server',
    );
  }
  const base = { createExtension: extensionAvailable, notice: null };
  if (usable) return { tier: 'timescale', reason: 'TimescaleDB with the timescale licence', ...base };
  if (extensionAvailable) return { tier: 'postgres', reason: `TimescaleDB under the "${license ?? 'unknown'}" licence: native partitions and Opsdeck-maintained rollups`, ...base };
  return { tier: 'postgres', reason: 'no TimescaleDB: native partitions and Opsdeck-maintained rollups', ...base };
}

async function serverFacts(db: Queryable): Promise<{ postgresVersion: string; timescaleVersion: string | null; license: string | null }> {
  const v = await db.queryOne<{ v: string; ts: string | null; lic: string | null }>(
    `SELECT current_setting('server_version') AS v,
            (SELECT extversion FROM pg_extension WHERE extname = 'timescaledb') AS ts,
            current_setting('timescaledb.license', true) AS lic`,
  );
  return { postgresVersion: v?.v ?? 'unknown', timescaleVersion: v?.ts ?? null, license: v?.lic || null };
}

/** Reads the tier of an already-migrated database (null when none was recorded yet). */
export async function recordedTier(db: Queryable): Promise<StorageTier | null> {
  const exists = await db.queryOne<{ t: string | null }>(`SELECT to_regclass('opsdeck_settings')::text AS t`);
  if (!exists?.t) return null;
  const row = await db.queryOne<{ value: string }>(`SELECT value FROM opsdeck_settings WHERE key = 'storage_tier'`);
  return (row?.value as StorageTier | undefined) ?? null;
}

/**
 * Determines the tier of this database, creating the timescaledb extension when
 * it is available and the tier is not fixed yet. Must run inside a transaction.
 * `preloadRequired` (PostgreSQL servers): TimescaleDB must be in
 * shared_preload_libraries before CREATE EXTENSION is issued (see chooseTier).
 */
export async function detectTier(tx: Queryable, preference: TierPreference, options: { preloadRequired?: boolean } = {}): Promise<TierInfo> {
  const recorded = await recordedTier(tx);
  if (recorded) {
    const facts = await serverFacts(tx);
    if (recorded === 'timescale' && facts.license !== 'timescale') {
      throw new TierError(
        `this database was migrated on the timescale tier but ${
          !facts.timescaleVersion
            ? 'TimescaleDB is missing'
            : facts.license
              ? `TimescaleDB is now under the "${facts.license}" licence`
              : `the TimescaleDB library is not loaded (${ENABLE_TIMESCALE.replace(', and migrate a new database', '')})`
        }`,
      );
    }
    if (preference !== 'auto' && preference !== recorded) {
      throw new TierError(`this database is on the ${recorded} tier; OPSDECK_STORAGE_TIER=${preference} cannot change an existing database`);
    }
    return { tier: recorded, postgresVersion: facts.postgresVersion, timescaleVersion: facts.timescaleVersion, timescaleLicense: facts.license, reason: 'recorded when the database was first migrated', notice: null };
  }
  // Whether the TimescaleDB library is loaded: its loader defines timescaledb.max_background_workers,
  // and pg_settings lists real settings only, not placeholders that postgresql.conf may set without
  // the library. Any role can read it, unlike shared_preload_libraries (superuser or
  // pg_read_all_settings only), so a database owner without privileges migrates too.
  const avail = await tx.queryOne<{ n: number; created: boolean; loaded: boolean }>(
    `SELECT (SELECT count(*)::int FROM pg_available_extensions WHERE name = 'timescaledb') AS n,
            EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') AS created,
            EXISTS (SELECT 1 FROM pg_settings WHERE name = 'timescaledb.max_background_workers') AS loaded`,
  );
  let extensionAvailable = (avail?.n ?? 0) > 0;
  // A PostgreSQL server loads TimescaleDB only through shared_preload_libraries; PGlite loads it as a bundled extension.
  const preloadMissing = options.preloadRequired === true && extensionAvailable && !avail?.created && !avail?.loaded;
  const first = chooseTier({ preference, extensionAvailable, license: null, preloadMissing });
  if (preloadMissing) {
    const facts = await serverFacts(tx);
    return { ...pick(first), postgresVersion: facts.postgresVersion, timescaleVersion: null, timescaleLicense: null };
  }
  if (extensionAvailable && preference !== 'postgres') {
    try {
      await tx.savepoint((sp) => sp.exec('CREATE EXTENSION IF NOT EXISTS timescaledb'));
    } catch {
      // Listed but not loadable (e.g. a broken installation).
      extensionAvailable = false;
    }
  }
  const facts = await serverFacts(tx);
  const choice = chooseTier({ preference, extensionAvailable: extensionAvailable && facts.timescaleVersion !== null, license: facts.license });
  return { ...pick(choice), postgresVersion: facts.postgresVersion, timescaleVersion: facts.timescaleVersion, timescaleLicense: facts.license };
}

const pick = (c: TierChoice) => ({ tier: c.tier, reason: c.reason, notice: c.notice });

/** Tier and server versions for status output, without changing anything. */
export async function describeTier(db: Queryable): Promise<Omit<TierInfo, 'reason' | 'tier' | 'notice'> & { tier: StorageTier | null }> {
  const facts = await serverFacts(db);
  return { tier: await recordedTier(db), postgresVersion: facts.postgresVersion, timescaleVersion: facts.timescaleVersion, timescaleLicense: facts.license };
}
