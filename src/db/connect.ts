/**
 * Opens the configured database: a PostgreSQL server when a URL is given;
 * otherwise the embedded database in the data folder — a real PostgreSQL
 * server run as a child of Opsdeck (the default, embedded-postgres.ts), or
 * PGlite inside the process (OPSDECK_EMBEDDED=pglite).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Database } from './database.ts';
import { PostgresDatabase, type PostgresDriverOptions } from './postgres-driver.ts';
import { PGliteDatabase, pgliteParsers } from './pglite-driver.ts';
import { secureDataDir, tightenTree } from './data-dir.ts';
import { EmbeddedPostgresError, startEmbeddedPostgres, type EmbeddedPostgres } from './embedded-postgres.ts';

export interface ConnectOptions {
  databaseUrl?: string | undefined;
  dataDir: string;
  /**
   * The embedded database when there is no URL. Unset: `postgres`, except that a data folder
   * holding only the PGlite database of an earlier Opsdeck (the default until the server
   * replaced it) is refused, rather than started empty beside it.
   */
  embedded?: 'postgres' | 'pglite' | undefined;
  logger?: Logger;
  poolMax?: number;
  poolWaitMs?: number;
  statementTimeoutMs?: number;
  slowQueryMs?: number;
}

/** The pool on Opsdeck's embedded PostgreSQL server: closing it stops the server (after the pool has closed). */
export class EmbeddedPostgresDatabase extends PostgresDatabase {
  constructor(
    readonly server: EmbeddedPostgres,
    options: PostgresDriverOptions,
  ) {
    super(options);
  }

  override async close(): Promise<void> {
    try {
      await super.close();
    } finally {
      await this.server.close();
    }
  }
}

/** Connections the embedded server accepts beyond Opsdeck's pool (its start-up probe, a look with psql). */
const EMBEDDED_SPARE_CONNECTIONS = 5;

export async function connectDatabase(opts: ConnectOptions): Promise<Database> {
  const pool = {
    max: opts.poolMax ?? 20,
    poolWaitMs: opts.poolWaitMs,
    statementTimeoutMs: opts.statementTimeoutMs,
    slowQueryMs: opts.slowQueryMs,
    logger: opts.logger,
  };
  if (opts.databaseUrl) return new PostgresDatabase({ url: opts.databaseUrl, ...pool });
  // The data folder is the owner's only before anything is written into it (see data-dir.ts).
  const dataDir = secureDataDir(opts.dataDir);
  if (opts.embedded === undefined && existsSync(join(dataDir, 'pglite')) && !existsSync(join(dataDir, 'postgres')) && !existsSync(join(dataDir, 'postgres.location'))) {
    throw new EmbeddedPostgresError(
      'PGLITE_DATA',
      `${dataDir} holds the PGlite database of an earlier Opsdeck (${join(dataDir, 'pglite')}), whose embedded default was PGlite; the default is now a PostgreSQL server, which would start empty. ` +
        'Keep your data with OPSDECK_EMBEDDED=pglite, or set OPSDECK_EMBEDDED=postgres to start a new, empty database beside it',
    );
  }
  if ((opts.embedded ?? 'postgres') === 'postgres') {
    const server = await startEmbeddedPostgres({ dataDir, logger: opts.logger, maxConnections: pool.max + EMBEDDED_SPARE_CONNECTIONS });
    try {
      return new EmbeddedPostgresDatabase(server, { url: server.url, ...pool });
    } catch (err) {
      await server.close();
      throw err;
    }
  }
  const { PGlite } = await import('@electric-sql/pglite');
  const dir = join(dataDir, 'pglite');
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
