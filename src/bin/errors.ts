/**
 * Start-up failures as one line for the terminal: what failed and what to check,
 * without a stack trace (`opsdeck serve`, `opsdeck db …`). Unexpected errors keep
 * their stack.
 */
import { ConfigError } from '../config.ts';
import { DataDirError } from '../db/data-dir.ts';
import { EmbeddedPostgresError } from '../db/embedded-postgres.ts';
import { DatabaseQueryError, DatabaseUnavailableError } from '../db/database.ts';
import { MigrationError } from '../db/migrator.ts';
import { TierError } from '../db/tier.ts';

/** The URL without its password (shown in messages). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}

/** SQLSTATEs of a server that answered but refused the connection: authentication, no such database or role. */
const REFUSED = /^(28|3D000)/;

export function startupErrorLine(err: unknown, databaseUrl: string | undefined, dataDir: string): string | null {
  const where = databaseUrl ? `the database at ${redactUrl(databaseUrl)}` : `the embedded database in ${dataDir}`;
  const check = databaseUrl
    ? 'check DATABASE_URL (host, port, database name, user and password) and that the PostgreSQL server is running and accepts connections from this host'
    : 'check OPSDECK_DATA_DIR (it must be a folder this user owns and can write) and that no other Opsdeck process uses it';
  if (err instanceof DatabaseUnavailableError) {
    const why = err.message.replace(/^database unavailable: /, '');
    return `cannot reach ${where} (${why}): ${check}`;
  }
  if (err instanceof DatabaseQueryError && REFUSED.test(err.sqlState ?? '')) {
    return `${where} refused the connection (${err.message}): ${check}`;
  }
  if (err instanceof ConfigError || err instanceof MigrationError || err instanceof TierError || err instanceof DataDirError || err instanceof EmbeddedPostgresError) {
    return err.message;
  }
  return null;
}
