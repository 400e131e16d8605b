/**
 * PostgreSQL server driver on the `postgres` (postgres.js) package.
 *
 * postgres.js queues queries forever when every connection is busy; a small
 * semaphore in front of it bounds the wait (`poolWaitMs`) so callers get a
 * DatabaseUnavailableError (HTTP 503) instead of a hang, and gives poolStats().
 * Lost connections are replaced by postgres.js on the next query.
 */
import type { Writable } from 'node:stream';
import postgres from 'postgres';
import { Semaphore } from '../domain/semaphore.ts';
import {
  BaseDatabase,
  classifyError,
  DatabaseUnavailableError,
  type DatabaseOptions,
  type PoolStats,
  type Queryable,
  type QueryResult,
} from './database.ts';

export interface PostgresDriverOptions extends DatabaseOptions {
  url: string;
  max?: number;
  idleTimeoutSec?: number;
  connectTimeoutSec?: number;
  /** How long a caller may wait for a free connection before 503 (ms). */
  poolWaitMs?: number;
  applicationName?: string;
}

/**
 * postgres.js arguments for a URL. A `host` query parameter naming a folder
 * (`postgres://user@localhost:5432/db?host=/run/opsdeck`, libpq's form) connects
 * over the Unix socket in that folder; postgres.js itself would send it to the
 * server as a setting.
 */
export function connectionTarget(url: string): { url: string; host?: string; port?: number } {
  const u = new URL(url);
  const host = u.searchParams.get('host');
  if (!host?.startsWith('/')) return { url };
  u.searchParams.delete('host');
  return { url: u.toString(), host, port: Number(u.port || 5432) };
}

export class PostgresDatabase extends BaseDatabase {
  readonly driver = 'postgres' as const;
  /** The current connections; replaced after a lost connection (see renewPool). */
  private pool: Pool;
  private readonly newPool: (max: number) => postgres.Sql;
  private readonly max: number;
  /** Replaced pools still finishing their work. */
  private readonly retired = new Set<Promise<void>>();
  private readonly sem: Semaphore;
  private readonly poolWaitMs: number;
  private opened = 0;
  private closed = false;

  constructor(options: PostgresDriverOptions) {
    super(options);
    const max = options.max ?? 20;
    this.max = max;
    this.sem = new Semaphore(max);
    this.poolWaitMs = options.poolWaitMs ?? 5000;
    const connection: Record<string, string> = { application_name: options.applicationName ?? 'opsdeck' };
    if (options.statementTimeoutMs) connection.statement_timeout = String(options.statementTimeoutMs);
    const target = connectionTarget(options.url);
    this.newPool = (poolMax: number) =>
      postgres(target.url, {
        ...(target.host ? { host: target.host, port: target.port } : {}),
        max: poolMax,
        idle_timeout: options.idleTimeoutSec ?? 30,
        connect_timeout: options.connectTimeoutSec ?? 10,
        // A query waits this long before its connection retries after a failed connect. postgres.js
        // grows it to 20 s over an outage, so requests hung far past poolWaitMs before their 503;
        // capped, a request during an outage fails fast and one after it connects at once.
        backoff: (attempt: number) => Math.min(0.02 * 2 ** attempt, 0.25),
        max_lifetime: 60 * 30,
        prepare: true,
        onnotice: () => {},
        onclose: () => {
          this.opened = Math.max(0, this.opened - 1);
        },
        connection,
        types: {
          // int8 and numeric come back as JS numbers (exact up to 2^53), the same as the PGlite driver.
          bigint: { to: 20, from: [20, 1700], serialize: (x: number) => String(x), parse: (x: string) => Number(x) },
        },
      });
    this.pool = this.openPool();
  }

  /**
   * The connections as two postgres.js pools: `first`, one connection taken whenever it is
   * free, and `rest`, the others, taken only while it is busy. postgres.js hands its idle
   * connections out in turn, so periodic work alone (self-monitoring, jobs) would keep every
   * connection it ever opened alive; this way that work runs on `first`, and the others
   * close after idleTimeoutSec once a burst is over (each idle server backend holds
   * 5-15 MB).
   */
  private openPool(): Pool {
    return { first: this.newPool(1), firstBusy: false, rest: this.max > 1 ? this.newPool(this.max - 1) : null };
  }

  /** A connection's pool for one piece of work: `first` when free. done() gives it back. */
  private lease(): { sql: postgres.Sql; pool: Pool; done: () => void } {
    const pool = this.pool;
    if (!pool.firstBusy || pool.rest === null) {
      pool.firstBusy = true;
      return { sql: pool.first, pool, done: () => void (pool.firstBusy = false) };
    }
    return { sql: pool.rest, pool, done: () => undefined };
  }

  /** One of the pool's permits (a connection), or 503 after poolWaitMs. */
  private async permit(): Promise<() => void> {
    const release = await this.sem.acquire(1, this.poolWaitMs);
    if (!release) throw new DatabaseUnavailableError(`no database connection free within ${this.poolWaitMs} ms (pool of ${this.sem.capacity} busy)`);
    this.opened = Math.max(this.opened, this.sem.inUse);
    return release;
  }

  private async withPermit<R>(run: (sql: postgres.Sql) => Promise<R>): Promise<R> {
    if (this.closed) throw new DatabaseUnavailableError('database pool is closed');
    const release = await this.permit();
    const lease = this.lease();
    try {
      return await run(lease.sql);
    } catch (err) {
      if (lease.pool === this.pool && (connectionLost(err) || (err as { code?: string }).code === 'CONNECT_TIMEOUT')) void this.renewPool('lost');
      throw err;
    } finally {
      lease.done();
      release();
    }
  }

  /**
   * Replaces the postgres.js pool after a connection was lost while in use.
   * postgres.js 3.4.9 leaves a connection whose socket closed with a write
   * still pending unable to send anything on its next connect (it times out
   * after connect_timeout, again and again), and its reconnect back-off keeps
   * growing through an outage; both outlive the outage. A fresh pool starts
   * clean; the old one finishes what it still runs (up to 5 s) and is ended.
   */
  private renewPool(why: 'lost' | 'asked'): Promise<void> {
    if (this.closed) return Promise.resolve();
    const old = this.pool;
    this.pool = this.openPool();
    if (why === 'lost') this.logger?.warn('database connection lost: replaced the connection pool');
    const ending: Promise<void> = endPool(old);
    this.retired.add(ending);
    void ending.then(() => this.retired.delete(ending));
    return ending;
  }

  /**
   * Fresh connections from here on: the pool is replaced, and its connections end once their
   * work is done. A server backend keeps the catalogue entries of every relation it has touched
   * for its life; the connection that ran the migrations (every table, index and function
   * created) holds ~25 MB on the embedded server, against ~13 MB for one that serves requests.
   */
  override async renewConnections(): Promise<void> {
    await this.renewPool('asked');
  }

  protected rawQuery<T>(text: string, params: readonly unknown[]): Promise<QueryResult<T>> {
    return this.withPermit((sql) => runQuery<T>(sql, text, params));
  }

  /**
   * A postgres.js cursor: an unnamed portal fetched `batchRows` rows at a time, on one pool
   * connection (and one permit) held until the loop ends. Returning early (the consumer's
   * break, throw or destroyed stream) makes postgres.js send Close + Sync once the batch in
   * flight has arrived: the statement ends there and the connection goes back to the pool.
   * The server's statement_timeout counts from the first fetch to the last (a suspended portal
   * keeps it running), so a reader that stalls cannot hold the connection longer than that.
   * The statement is not prepared (an unnamed one, parsed and planned with its values each
   * time): the answers read this way are large and their best plan depends on their range,
   * while PostgreSQL may keep a generic plan for a prepared statement after five runs — a
   * generic plan made an hour of every node's 5-minute rollup 3.5× slower (docs/adr/0029).
   */
  protected override async *rawCursor<T>(text: string, params: readonly unknown[], batchRows: number): AsyncGenerator<T[]> {
    if (this.closed) throw new DatabaseUnavailableError('database pool is closed');
    const release = await this.permit();
    const lease = this.lease();
    try {
      const q = lease.sql.unsafe(text, params as postgres.ParameterOrJSON<never>[], { prepare: false });
      for await (const rows of q.cursor(batchRows)) yield Array.from(rows) as unknown as T[];
    } catch (err) {
      if (lease.pool === this.pool && (connectionLost(err) || (err as { code?: string }).code === 'CONNECT_TIMEOUT')) void this.renewPool('lost');
      throw classifyError(err);
    } finally {
      lease.done();
      release();
    }
  }

  protected rawExec(text: string): Promise<void> {
    return this.withPermit(async (sql) => {
      await sql.unsafe(text).simple();
    });
  }

  protected rawTransaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.withPermit(
      (sql) =>
        new Promise<T>((resolve, reject) => {
          const guard: TxGuard = {
            gone: false,
            lost(err) {
              guard.gone = true;
              reject(err);
              return new Promise<never>(() => {});
            },
          };
          sql.begin(async (t) => ({ value: await fn(txHandle(t, guard)) })).then(
            (r) => resolve((r as unknown as { value: T }).value),
            (err: unknown) => {
              guard.gone = true;
              reject(err);
            },
          );
        }),
    );
  }

  override freeConnections(): number {
    return this.closed || this.sem.waiting > 0 ? 0 : this.sem.capacity - this.sem.inUse;
  }

  poolStats(): PoolStats {
    const total = Math.max(this.opened, this.sem.inUse);
    return { total, idle: total - this.sem.inUse, waiting: this.sem.waiting };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([endPool(this.pool), ...this.retired]);
  }
}

interface Pool {
  first: postgres.Sql;
  /** `first` runs a piece of work (a query, a transaction, a cursor). */
  firstBusy: boolean;
  /** null when the pool has one connection. */
  rest: postgres.Sql | null;
}

/** Ends a pool's connections once their work is done (at most 5 s); never rejects. */
async function endPool(p: Pool): Promise<void> {
  await Promise.all([p.first.end({ timeout: 5 }), p.rest?.end({ timeout: 5 })]).catch(() => undefined);
}

/**
 * Guards a transaction against a postgres.js 3.4.9 defect that crashes the
 * process: when a transaction's connection closes (server restart, network
 * cut), the failed query makes sql.begin()/savepoint() write ROLLBACK on the
 * closed connection, and postgres.js then calls write() on a null socket from a
 * setImmediate — an uncaught TypeError (porsager/postgres#1154, #1208; no
 * fixed release). So once a query inside a transaction fails because the
 * connection is gone, the caller's transaction is rejected at once with that
 * error, and the promise handed back to postgres.js never settles: its
 * transaction body is abandoned and never writes to the dead connection
 * (postgres.js itself moves the closed connection out of the pool).
 */
interface TxGuard {
  /** The connection is gone (or the transaction is over): nothing more may be sent on it. */
  gone: boolean;
  /** Rejects the caller's transaction with err; returns a promise that never settles. */
  lost(err: unknown): Promise<never>;
}

/** Errors after which the transaction's socket is closed (or closing). */
function connectionLost(err: unknown): boolean {
  const e = err as { code?: string; severity?: string } | undefined;
  if (!e) return false;
  if (e.severity === 'FATAL' || e.severity === 'PANIC') return true;
  return ['CONNECTION_CLOSED', 'CONNECTION_DESTROYED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT'].includes(e.code ?? '');
}

async function guarded<R>(guard: TxGuard, run: () => Promise<R>): Promise<R> {
  if (guard.gone) return guard.lost(new DatabaseUnavailableError('the transaction connection was lost'));
  try {
    return await run();
  } catch (err) {
    if (connectionLost(err)) return guard.lost(err);
    throw err;
  }
}

/** A transaction handle; postgres.js needs its own savepoint() for recoverable errors inside a transaction. */
function txHandle(t: postgres.TransactionSql, guard: TxGuard): Queryable {
  return {
    query: <R>(q: string, p: readonly unknown[] = []) => guarded(guard, () => runQuery<R>(t, q, p)),
    queryOne: async <R>(q: string, p: readonly unknown[] = []) => (await guarded(guard, () => runQuery<R>(t, q, p))).rows[0] ?? null,
    queryMany: async <R>(q: string, p: readonly unknown[] = []) => (await guarded(guard, () => runQuery<R>(t, q, p))).rows,
    exec: (q: string) =>
      guarded(guard, async () => {
        await t.unsafe(q).simple();
      }),
    savepoint: <R>(fn: (tx: Queryable) => Promise<R>) =>
      guarded(guard, async () => {
        const r = await t.savepoint(async (sp) => ({ value: await fn(txHandle(sp, guard)) }));
        return (r as unknown as { value: R }).value;
      }),
    copyFrom: (q: string, data: Uint8Array) => guarded(guard, () => copyIn(t, q, data)),
  };
}

/**
 * COPY … FROM STDIN with `data` as its whole input, through postgres.js's writable. postgres.js
 * 3.4.9 loses an error the server reports after the data's end (a duplicate key, say): the
 * writable then neither finishes nor fails, and a transaction around it never ends
 * (porsager/postgres#1173, fix proposed in #1183). The error still reaches the statement's own
 * `reject`, which postgres.js calls on every failure, before and after the writable was handed
 * out; it is watched here, so every failure rejects this call with the server's error, and the
 * caller's savepoint or transaction rolls back as after any failed statement. The server drops
 * what it is sent after the error (its protocol), and the connection stays usable.
 */
async function copyIn(t: postgres.Sql | postgres.TransactionSql, text: string, data: Uint8Array): Promise<void> {
  const q = t.unsafe(text) as unknown as { writable(): Promise<Writable>; reject: (err: unknown) => void };
  const rejectStatement = q.reject;
  let failed: ((err: unknown) => void) | null = null;
  let early: unknown = null;
  q.reject = (err: unknown) => {
    rejectStatement(err);
    if (failed) failed(err);
    else early ??= err;
  };
  const w = await q.writable();
  await new Promise<void>((resolve, reject) => {
    failed = reject;
    if (early !== null) {
      reject(early);
      return;
    }
    w.once('error', reject);
    w.once('finish', resolve);
    w.end(data);
  });
}

async function runQuery<T>(sql: postgres.Sql | postgres.TransactionSql, text: string, params: readonly unknown[]): Promise<QueryResult<T>> {
  const res = await sql.unsafe(text, params as postgres.ParameterOrJSON<never>[], { prepare: params.length > 0 });
  // Result is an Array subclass; hand out a plain array.
  return { rows: Array.from(res) as unknown as T[], rowCount: res.count ?? res.length };
}
