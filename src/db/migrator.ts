/**
 * Forward-only migrations: numbered SQL files in src/db/migrations.
 *
 *   NNNN_name.sql            applied on every tier
 *   NNNN_name.timescale.sql  appended on the timescale tier
 *   NNNN_name.postgres.sql   appended on the postgres tier
 *
 * A run holds a transaction-level advisory lock, so concurrent runs serialise:
 * the first applies, the others find nothing pending. Each migration runs under
 * its own savepoint and is rolled back alone on failure; the ones before it stay.
 * The checksum of every applied migration is compared with the file: a changed
 * file stops the run.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { rootPath } from '../paths.ts';
import type { Database, Queryable } from './database.ts';
import { describeTier, detectTier, type StorageTier, type TierInfo, type TierPreference } from './tier.ts';

export const MIGRATIONS_DIR = rootPath('src', 'db', 'migrations');
const MIGRATION_LOCK_KEY = 7_210_431_001; // arbitrary, constant: "opsdeck migrations"

export interface MigrationFile {
  version: number;
  name: string;
  common: string | null;
  tiers: Partial<Record<StorageTier, string>>;
}

export interface AppliedMigration {
  version: number;
  name: string;
  checksum: string;
  applied_at: Date;
  duration_ms: number;
  tier: string;
}

export class MigrationError extends Error {
  constructor(
    message: string,
    readonly code: 'MIGRATION_FAILED' | 'MIGRATION_CHECKSUM_MISMATCH' | 'MIGRATION_NOT_FRESH' | 'MIGRATION_UNKNOWN_VERSION',
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'MigrationError';
  }
}

const loaded = new Map<string, MigrationFile[]>();

/** The migration files of a folder, read once per process (/ready checks status on every call). */
export function loadMigrations(dir = MIGRATIONS_DIR): MigrationFile[] {
  let files = loaded.get(dir);
  if (!files) {
    files = readMigrations(dir);
    loaded.set(dir, files);
  }
  return files;
}

function readMigrations(dir: string): MigrationFile[] {
  const byVersion = new Map<number, MigrationFile>();
  for (const file of readdirSync(dir).sort()) {
    const m = /^(\d{4})_([a-z0-9_]+?)(?:\.(timescale|postgres))?\.sql$/.exec(file);
    if (!m) continue;
    const version = Number(m[1]);
    const name = m[2]!;
    const entry = byVersion.get(version) ?? { version, name, common: null, tiers: {} };
    if (entry.name !== name) throw new MigrationError(`migration ${m[1]} has two names: ${entry.name} and ${name}`, 'MIGRATION_FAILED');
    const sql = readFileSync(join(dir, file), 'utf8');
    if (m[3]) entry.tiers[m[3] as StorageTier] = sql;
    else entry.common = sql;
    byVersion.set(version, entry);
  }
  return [...byVersion.values()].sort((a, b) => a.version - b.version);
}

/** The SQL a migration runs on a tier. */
export function migrationSQL(m: MigrationFile, tier: StorageTier): string {
  return [m.common, m.tiers[tier]].filter((s): s is string => s !== null && s !== undefined).join('\n');
}

export function checksum(sql: string): string {
  return createHash('sha256').update(sql).digest('hex');
}

const ENSURE_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version integer PRIMARY KEY,
  name text NOT NULL,
  checksum text NOT NULL,
  tier text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  duration_ms integer NOT NULL
)`;

async function appliedMigrations(db: Queryable): Promise<AppliedMigration[]> {
  const t = await db.queryOne<{ t: string | null }>(`SELECT to_regclass('schema_migrations')::text AS t`);
  if (!t?.t) return [];
  return db.queryMany<AppliedMigration>('SELECT version, name, checksum, applied_at, duration_ms, tier FROM schema_migrations ORDER BY version');
}

function verifyChecksums(files: MigrationFile[], applied: AppliedMigration[]): void {
  for (const a of applied) {
    const f = files.find((m) => m.version === a.version);
    if (!f) {
      throw new MigrationError(`database has migration ${a.version} (${a.name}) that this Opsdeck does not know; it is newer than this code`, 'MIGRATION_UNKNOWN_VERSION');
    }
    const sum = checksum(migrationSQL(f, a.tier as StorageTier));
    if (sum !== a.checksum) {
      throw new MigrationError(
        `migration ${pad(a.version)}_${a.name} was changed after it was applied (checksum ${a.checksum.slice(0, 12)} in the database, ${sum.slice(0, 12)} on disk). Applied migrations are immutable: restore the file and add a new migration.`,
        'MIGRATION_CHECKSUM_MISMATCH',
      );
    }
  }
}

const pad = (v: number) => String(v).padStart(4, '0');

export interface MigrateResult {
  tier: TierInfo;
  applied: { version: number; name: string; durationMs: number }[];
  currentVersion: number;
}

export interface MigrateOptions {
  tierPreference?: TierPreference;
  dir?: string;
  /** Stop after this version (tests). */
  target?: number;
  onApplied?: (m: { version: number; name: string; durationMs: number }) => void;
}

/** Applies every pending migration. Safe to run from several processes at once. */
export async function migrate(db: Database, options: MigrateOptions = {}): Promise<MigrateResult> {
  const files = loadMigrations(options.dir);
  let failure = null as MigrationError | null;
  const outcome = await db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    const tier = await detectTier(tx, options.tierPreference ?? 'auto', { preloadRequired: db.driver === 'postgres' });
    await tx.exec(ENSURE_TABLE);
    const applied = await appliedMigrations(tx);
    verifyChecksums(files, applied);
    const done = new Set(applied.map((a) => a.version));
    const result: MigrateResult['applied'] = [];
    for (const m of files) {
      if (done.has(m.version)) continue;
      if (options.target !== undefined && m.version > options.target) break;
      const sql = migrationSQL(m, tier.tier);
      const start = performance.now();
      try {
        await tx.savepoint((sp) => sp.exec(sql));
      } catch (err) {
        // The savepoint undid this migration only; the ones applied before it in this run are kept.
        const msg = err instanceof Error ? err.message : String(err);
        failure = new MigrationError(`migration ${pad(m.version)}_${m.name} failed and was rolled back: ${msg}`, 'MIGRATION_FAILED', { cause: err });
        break;
      }
      const durationMs = Math.round(performance.now() - start);
      await tx.query('INSERT INTO schema_migrations (version, name, checksum, tier, duration_ms) VALUES ($1, $2, $3, $4, $5)', [
        m.version,
        m.name,
        checksum(sql),
        tier.tier,
        durationMs,
      ]);
      if (m.version === 1) {
        await tx.query(`INSERT INTO opsdeck_settings (key, value) VALUES ('storage_tier', $1) ON CONFLICT (key) DO NOTHING`, [tier.tier]);
      }
      result.push({ version: m.version, name: m.name, durationMs });
      options.onApplied?.({ version: m.version, name: m.name, durationMs });
    }
    const last = [...done, ...result.map((r) => r.version)].reduce((a, b) => Math.max(a, b), 0);
    return { tier, applied: result, currentVersion: last };
  });
  if (failure) throw failure;
  return outcome;
}

export interface MigrationStatusLine {
  version: number;
  name: string;
  state: 'applied' | 'pending' | 'changed';
  appliedAt: Date | null;
  durationMs: number | null;
}

export interface MigrationStatus {
  tier: StorageTier | null;
  postgresVersion: string;
  timescaleVersion: string | null;
  timescaleLicense: string | null;
  lines: MigrationStatusLine[];
  currentVersion: number;
  pending: number;
}

export async function migrationStatus(db: Database, dir?: string): Promise<MigrationStatus> {
  const files = loadMigrations(dir);
  const applied = await appliedMigrations(db);
  const info = await describeTier(db);
  const lines: MigrationStatusLine[] = files.map((f) => {
    const a = applied.find((x) => x.version === f.version);
    if (!a) return { version: f.version, name: f.name, state: 'pending', appliedAt: null, durationMs: null };
    const same = checksum(migrationSQL(f, a.tier as StorageTier)) === a.checksum;
    return { version: f.version, name: f.name, state: same ? 'applied' : 'changed', appliedAt: a.applied_at, durationMs: a.duration_ms };
  });
  return {
    ...info,
    lines,
    currentVersion: applied.reduce((m, a) => Math.max(m, a.version), 0),
    pending: lines.filter((l) => l.state === 'pending').length,
  };
}

export function formatStatus(s: MigrationStatus): string {
  const out: string[] = [];
  const ts = s.timescaleVersion ? `, TimescaleDB ${s.timescaleVersion} (${s.timescaleLicense ?? 'unknown'} licence)` : '';
  out.push(`Storage tier: ${s.tier ?? 'not yet chosen (fresh database)'} — PostgreSQL ${s.postgresVersion}${ts}`);
  for (const l of s.lines) {
    // Exactly the line the Mission Control database layer documents; when and how long are in `schema_migrations`.
    if (l.state === 'applied') out.push(`✓ Applied | Version ${l.version} | ${l.name}`);
    else if (l.state === 'changed') out.push(`✗ Changed | Version ${l.version} | ${l.name} | file differs from the applied migration`);
    else out.push(`○ Pending | Version ${l.version} | ${l.name}`);
  }
  out.push(`${s.lines.length - s.pending} applied, ${s.pending} pending; current version ${s.currentVersion}`);
  return out.join('\n');
}

/** `db migrate init`: migrate a database that has never been migrated. */
export async function initDatabase(db: Database, options: MigrateOptions = {}): Promise<MigrateResult> {
  const applied = await appliedMigrations(db);
  if (applied.length > 0) {
    throw new MigrationError(
      `database is already initialised (version ${applied.at(-1)?.version}); use \`opsdeck db migrate\` to apply pending migrations`,
      'MIGRATION_NOT_FRESH',
    );
  }
  return migrate(db, options);
}

/** Drops everything Opsdeck owns (schema public) and recreates an empty schema. */
export async function dropAll(db: Database): Promise<void> {
  await db.exec('DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;');
  // TimescaleDB keeps its catalog in its own schemas; drop the extension so a reset is complete.
  await db.exec('DROP EXTENSION IF EXISTS timescaledb CASCADE;');
}
