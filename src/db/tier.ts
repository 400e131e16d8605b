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
export type TierPreference = 'auto' | StorageTier;

export interface TierInfo {
  tier: StorageTier;
  postgresVersion: string;
  timescaleVersion: string | null;
  timescaleLicense: string | null;
  reason: string;
}

/** Pure decision from what the server reports (unit-tested for every licence case). */
export function chooseTier(input: {
  preference: TierPreference;
  extensionAvailable: boolean;
  license: string | null;
}): { tier: StorageTier; reason: string } {
  const { preference, extensionAvailable, license } = input;
  if (preference === 'postgres') return { tier: 'postgres', reason: 'postgres tier requested by configuration' };
  const usable = extensionAvailable && license === 'timescale';
  if (preference === 'timescale' && !usable) {
    throw new Error(
      extensionAvailable
        ? `timescale tier requested but TimescaleDB runs under the "${license ?? 'unknown'}" licence; continuous aggregates and policies need the timescale licence`
        : 'timescale tier requested but the timescaledb extension is not available on this server',
    );
  }
  if (usable) return { tier: 'timescale', reason: 'TimescaleDB with the timescale licence' };
  if (extensionAvailable) return { tier: 'postgres', reason: `TimescaleDB under the "${license ?? 'unknown'}" licence: native partitions and Opsdeck-maintained rollups` };
  return { tier: 'postgres', reason: 'no TimescaleDB: native partitions and Opsdeck-maintained rollups' };
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
 */
export async function detectTier(tx: Queryable, preference: TierPreference): Promise<TierInfo> {
  const recorded = await recordedTier(tx);
  if (recorded) {
    const facts = await serverFacts(tx);
    if (recorded === 'timescale' && facts.license !== 'timescale') {
      throw new Error(`this database was migrated on the timescale tier but TimescaleDB is now ${facts.timescaleVersion ? `under the "${facts.license}" licence` : 'missing'}`);
    }
    if (preference !== 'auto' && preference !== recorded) {
      throw new Error(`this database is on the ${recorded} tier; OPSDECK_STORAGE_TIER=${preference} cannot change an existing database`);
    }
    return { tier: recorded, postgresVersion: facts.postgresVersion, timescaleVersion: facts.timescaleVersion, timescaleLicense: facts.license, reason: 'recorded when the database was first migrated' };
  }
  const avail = await tx.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM pg_available_extensions WHERE name = 'timescaledb'`);
  let extensionAvailable = (avail?.n ?? 0) > 0;
  if (extensionAvailable && preference !== 'postgres') {
    try {
      await tx.savepoint((sp) => sp.exec('CREATE EXTENSION IF NOT EXISTS timescaledb'));
    } catch {
      // Listed but not loadable (e.g. missing from shared_preload_libraries).
      extensionAvailable = false;
    }
  }
  const facts = await serverFacts(tx);
  const { tier, reason } = chooseTier({ preference, extensionAvailable: extensionAvailable && facts.timescaleVersion !== null, license: facts.license });
  return { tier, postgresVersion: facts.postgresVersion, timescaleVersion: facts.timescaleVersion, timescaleLicense: facts.license, reason };
}

/** Tier and server versions for status output, without changing anything. */
export async function describeTier(db: Queryable): Promise<Omit<TierInfo, 'reason' | 'tier'> & { tier: StorageTier | null }> {
  const facts = await serverFacts(db);
  return { tier: await recordedTier(db), postgresVersion: facts.postgresVersion, timescaleVersion: facts.timescaleVersion, timescaleLicense: facts.license };
}
