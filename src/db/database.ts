/**
 * The one database interface every module talks to. Two drivers implement it:
 * `postgres` (the postgres.js package, for a PostgreSQL/TimescaleDB server) and
 * `pglite` (embedded PostgreSQL in WASM, the default when no DATABASE_URL is set).
 *
 * Transactions are carried in AsyncLocalStorage: inside `transaction(fn)`, every
 * call on the same Database (query, nested transaction, ...) runs on the
 * transaction's connection. Nested `transaction` calls reuse the outer one.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Logger } from 'pino';

export type DriverName = 'postgres' | 'pglite';

export interface QueryResult<T> {
  rows: T[];
  rowCount: number;
}

export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
}

export interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<T>>;
  queryOne<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T | null>;
  queryMany<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** Runs one or more statements without parameters (simple protocol): DDL, migrations. */
  exec(sql: string): Promise<void>;
  /**
   * Runs fn under a savepoint of the current transaction (a transaction of its own
   * outside one): if fn throws, only its work is rolled back and the error rethrown.
   */
  savepoint<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /**
   * `COPY … FROM STDIN` with `data` as its whole input (in the statement's format), on this
   * transaction's connection; resolves once the server has stored every row.
   * A row the server refuses fails it like a statement (DatabaseQueryError with its SQLSTATE),
   * and nothing of it is stored. Only on transaction handles of drivers that can (postgres);
   * absent elsewhere, where callers write with INSERT.
   */
  copyFrom?(sql: string, data: Uint8Array): Promise<void>;
}

export interface Database extends Queryable {
  readonly driver: DriverName;
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** True when inside a transaction started on this database. */
  inTransaction(): boolean;
  /**
   * Reads a query's rows in batches of at most `batchRows`, for answers too large to hold at
   * once. `postgres` driver: a server-side portal (postgres.js `cursor()`) on a pool connection
   * held until the loop ends; each batch is fetched when the previous one has been consumed.
   * Leaving the loop early (break, a throw, a destroyed stream reading it) closes the portal, so
   * the server stops the statement at the latest when the batch being fetched is complete.
   * PGlite (no portal across calls on its single connection), and any driver inside
   * `transaction()`: the query runs whole and its rows are handed out in batches.
   */
  cursor<T = Record<string, unknown>>(sql: string, params: readonly unknown[], batchRows: number): AsyncIterable<T[]>;
  healthCheck(): Promise<boolean>;
  poolStats(): PoolStats;
  /**
   * Connections a caller could take at once without waiting (0 while anyone waits): the ones a
   * query may use to run parts of one answer side by side. 0 on PGlite's one connection.
   */
  freeConnections(): number;
  /** The name the Mission Control database layer documents for poolStats(): `{ total, idle, waiting }`. */
  getPoolStats(): PoolStats;
  /**
   * Work from here on runs on newly opened connections; the current ones end when idle.
   * Opsdeck calls it once start-up (migrations, seed) is done. A no-op on PGlite's one connection.
   */
  renewConnections(): Promise<void>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  logger?: Logger;
  /** Queries slower than this are logged at WARN (ms). */
  slowQueryMs?: number;
  /** Per-statement timeout on the server (ms). */
  statementTimeoutMs?: number;
}

/** The database could not be reached or refused work; callers answer 503. */
export class DatabaseUnavailableError extends Error {
  readonly code = 'DATABASE_UNAVAILABLE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DatabaseUnavailableError';
  }
}

/** A SQL error raised by the server (constraint, syntax, ...), with its SQLSTATE. */
export class DatabaseQueryError extends Error {
  readonly code = 'DATABASE_QUERY_FAILED';
  constructor(
    message: string,
    readonly sqlState: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DatabaseQueryError';
  }
}

const CONNECTION_ERROR_CODES = new Set([
  'ECONNREFUSED',
  // A Unix socket (the embedded server) that is not there: the server is stopped.
  'ENOENT',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  'POOL_TIMEOUT',
]);

/**
 * SQLSTATE classes that mean "the server is not available right now":
 * 08 connection exception, 53 insufficient resources, 57P01..57P03 shutdown/cannot connect now.
 */
function isUnavailableSqlState(state: string | undefined): boolean {
  if (!state) return false;
  return state.startsWith('08') || state.startsWith('53') || state === '57P01' || state === '57P02' || state === '57P03';
}

/** Turns a driver error into DatabaseUnavailableError or DatabaseQueryError. */
export function classifyError(err: unknown): Error {
  if (err instanceof DatabaseUnavailableError || err instanceof DatabaseQueryError) return err;
  const e = err as { code?: string; errno?: string; message?: string } | undefined;
  const code = e?.code ?? e?.errno;
  const message = e?.message ?? String(err);
  if (code && CONNECTION_ERROR_CODES.has(code)) {
    return new DatabaseUnavailableError(`database unavailable: ${message}`, { cause: err });
  }
  if (isUnavailableSqlState(code)) {
    return new DatabaseUnavailableError(`database unavailable: ${message}`, { cause: err });
  }
  if (/^[0-9A-Z]{5}$/.test(code ?? '')) {
    return new DatabaseQueryError(message, code, { cause: err });
  }
  if (/connect|terminat|closed|ended/i.test(message) && !code) {
    return new DatabaseUnavailableError(`database unavailable: ${message}`, { cause: err });
  }
  return err instanceof Error ? err : new Error(message);
}

/** The rows of one materialised query handed out in batches (drivers without a portal). */
async function* inBatches<T>(run: () => Promise<QueryResult<T>>, batchRows: number): AsyncGenerator<T[]> {
  const { rows } = await run();
  const n = Math.max(1, Math.floor(batchRows));
  for (let i = 0; i < rows.length; i += n) yield rows.slice(i, i + n);
}

/**
 * Shared plumbing for both drivers: transaction routing through
 * AsyncLocalStorage, queryOne/queryMany, slow-query logging, error mapping.
 */
export abstract class BaseDatabase implements Database {
  abstract readonly driver: DriverName;
  protected readonly txStorage = new AsyncLocalStorage<Queryable>();
  /** Root transactions begun and not yet settled (the storage is disabled when none is). */
  private openTransactions = 0;
  protected readonly logger: Logger | undefined;
  protected readonly slowQueryMs: number;

  constructor(options: DatabaseOptions) {
    this.logger = options.logger;
    this.slowQueryMs = options.slowQueryMs ?? 1000;
  }

  protected abstract rawQuery<T>(sql: string, params: readonly unknown[]): Promise<QueryResult<T>>;
  protected abstract rawExec(sql: string): Promise<void>;
  protected abstract rawTransaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  abstract poolStats(): PoolStats;
  abstract close(): Promise<void>;

  getPoolStats(): PoolStats {
    return this.poolStats();
  }

  /** Nothing to renew by default (PGlite's one connection lives as long as the database). */
  async renewConnections(): Promise<void> {}

  freeConnections(): number {
    return 0;
  }

  inTransaction(): boolean {
    return this.txStorage.getStore() !== undefined;
  }

  cursor<T = Record<string, unknown>>(sql: string, params: readonly unknown[], batchRows: number): AsyncIterable<T[]> {
    const tx = this.txStorage.getStore();
    if (tx) return inBatches(() => tx.query<T>(sql, params), batchRows);
    return this.rawCursor<T>(sql, params, Math.max(1, Math.floor(batchRows)));
  }

  /** A driver's cursor outside a transaction; by default the query runs whole and its rows are sliced. */
  protected rawCursor<T>(sql: string, params: readonly unknown[], batchRows: number): AsyncIterable<T[]> {
    return inBatches(() => this.query<T>(sql, params), batchRows);
  }

  async query<T = Record<string, unknown>>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<T>> {
    const tx = this.txStorage.getStore();
    if (tx) return tx.query<T>(sql, params);
    return this.timed(sql, () => this.rawQuery<T>(sql, params));
  }

  async queryOne<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T | null> {
    const r = await this.query<T>(sql, params);
    return r.rows[0] ?? null;
  }

  async queryMany<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]> {
    return (await this.query<T>(sql, params)).rows;
  }

  async exec(sql: string): Promise<void> {
    const tx = this.txStorage.getStore();
    if (tx) return tx.exec(sql);
    return this.timed(sql, () => this.rawExec(sql));
  }

  async savepoint<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const current = this.txStorage.getStore();
    if (current) return current.savepoint(fn);
    return this.transaction(fn);
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const current = this.txStorage.getStore();
    if (current) return fn(current);
    this.openTransactions++;
    try {
      return await this.rawTransaction(async (rawTx) => {
        const tx = this.wrapTx(rawTx);
        return this.txStorage.run(tx, () => fn(tx));
      });
    } catch (err) {
      throw classifyError(err);
    } finally {
      // While an AsyncLocalStorage is enabled, Node 20 runs a hook on every promise the process
      // makes (several µs per ingest request). Off while no transaction is open: `run` turns it
      // on again, and outside every transaction there is no store to find.
      if (--this.openTransactions === 0) this.txStorage.disable();
    }
  }

  async healthCheck(): Promise<boolean> {
    try {
      const r = await this.queryOne<{ ok: number }>('SELECT 1 AS ok');
      return r?.ok === 1;
    } catch {
      return false;
    }
  }

  /** A transaction handle whose calls are timed and error-mapped like the root's. */
  private wrapTx(rawTx: Queryable): Queryable {
    const tx: Queryable = {
      query: <T>(sql: string, params: readonly unknown[] = []) => this.timed(sql, () => rawTx.query<T>(sql, params)),
      queryOne: async <T>(sql: string, params?: readonly unknown[]) => (await tx.query<T>(sql, params)).rows[0] ?? null,
      queryMany: async <T>(sql: string, params?: readonly unknown[]) => (await tx.query<T>(sql, params)).rows,
      exec: (sql: string) => this.timed(sql, () => rawTx.exec(sql)),
      ...(rawTx.copyFrom ? { copyFrom: (sql: string, data: Uint8Array) => this.timed(sql, () => rawTx.copyFrom!(sql, data)) } : {}),
      savepoint: async <T>(fn: (t: Queryable) => Promise<T>) => {
        try {
          return await rawTx.savepoint(async (rawSp) => {
            const sp = this.wrapTx(rawSp);
            return this.txStorage.run(sp, () => fn(sp));
          });
        } catch (err) {
          throw classifyError(err);
        }
      },
    };
    return tx;
  }

  protected async timed<R>(sql: string, run: () => Promise<R>): Promise<R> {
    const start = performance.now();
    try {
      return await run();
    } catch (err) {
      throw classifyError(err);
    } finally {
      const ms = performance.now() - start;
      if (ms > this.slowQueryMs) {
        this.logger?.warn({ durationMs: Math.round(ms), sql: sql.length > 500 ? `${sql.slice(0, 500)}…` : sql }, 'slow query');
      }
    }
  }
}
