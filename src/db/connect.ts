/** Opens the configured database: a PostgreSQL server when a URL is given, embedded PGlite otherwise. */
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Database } from './database.ts';
import { PostgresDatabase } from './postgres-driver.ts';
import { PGliteDatabase, pgliteParsers } from './pglite-driver.ts';
import { secureDataDir, tightenTree } from './data-dir.ts';

export interface ConnectOptions {
  databaseUrl?: string | undefined;
  dataDir: string;
  logger?: Logger;
  poolMax?: number;
  poolWaitMs?: number;
  statementTimeoutMs?: number;
  slowQueryMs?: number;
}

export async function connectDatabase(opts: ConnectOptions): Promise<Database> {
  if (opts.databaseUrl) {
    return new PostgresDatabase({
      url: opts.databaseUrl,
      max: opts.poolMax ?? 20,
      poolWaitMs: opts.poolWaitMs,
      statementTimeoutMs: opts.statementTimeoutMs,
      slowQueryMs: opts.slowQueryMs,
      logger: opts.logger,
    });
  }
  const { PGlite } = await import('@electric-sql/pglite');
  // The data folder is the owner's only before PGlite writes anything into it (see data-dir.ts).
  const dir = join(secureDataDir(opts.dataDir), 'pglite');
  const pg = await PGlite.create(dir, { parsers: pgliteParsers });
  // A new database is unpacked with the archive's modes (0666): make it owner-only (0600).
  tightenTree(dir);
  return new PGliteDatabase(pg, { logger: opts.logger, slowQueryMs: opts.slowQueryMs });
}

/** A throwaway in-memory PGlite (tests, tools). */
export async function memoryPGlite(options: { logger?: Logger; slowQueryMs?: number } = {}): Promise<Database> {
  const { PGlite } = await import('@electric-sql/pglite');
  const pg = await PGlite.create({ parsers: pgliteParsers });
  return new PGliteDatabase(pg, options);
}
