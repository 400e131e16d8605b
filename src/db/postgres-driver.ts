/**
 * PostgreSQL server driver on the `postgres` (postgres.js) package.
 *
 * postgres.js queues queries forever when every connection is busy; a small
 * semaphore in front of it bounds the wait (`poolWaitMs`) so callers get a
 * DatabaseUnavailableError (HTTP 503) instead of a hang, and gives poolStats().
 * Lost connections are replaced by postgres.js on the next query.
 */
import postgres from 'postgres';
import {
  BaseDatabase,
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

class Semaphore {
  private active = 0;
  private readonly queue: Array<{ resolve: () => void; reject: (e: Error) => void; timer: NodeJS.Timeout }> = [];
  constructor(private readonly max: number) {}

  get inUse(): number {
    return this.active;
  }
  get waiting(): number {
    return this.queue.length;
  }

  acquire(timeoutMs: number): Promise<void> {
    if (this.active < this.max) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const entry = {
        resolve: () => {
          clearTimeout(entry.timer);
          resolve();
        },
        reject,
        timer: setTimeout(() => {
          const i = this.queue.indexOf(entry);
          if (i >= 0) this.queue.splice(i, 1);
          reject(new DatabaseUnavailableError(`no database connection free within ${timeoutMs} ms (pool of ${this.max} busy)`));
        }, timeoutMs),
      };
      this.queue.push(entry);
    });
  }

  release(): void {
    const next = this.queue.shift();
    if (next) next.resolve();
    else this.active--;
  }
}

export class PostgresDatabase extends BaseDatabase {
  readonly driver = 'postgres' as const;
  private readonly sql: postgres.Sql;
  private readonly sem: Semaphore;
  private readonly poolWaitMs: number;
  private opened = 0;
  private closed = false;

  constructor(options: PostgresDriverOptions) {
    super(options);
    const max = options.max ?? 20;
    this.sem = new Semaphore(max);
    this.poolWaitMs = options.poolWaitMs ?? 5000;
    const connection: Record<string, string> = { application_name: options.applicationName ?? 'opsdeck' };
    if (options.statementTimeoutMs) connection.statement_timeout = String(options.statementTimeoutMs);
    this.sql = postgres(options.url, {
      max,
      idle_timeout: options.idleTimeoutSec ?? 30,
      connect_timeout: options.connectTimeoutSec ?? 10,
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
  }

  private async withPermit<R>(run: () => Promise<R>): Promise<R> {
    if (this.closed) throw new DatabaseUnavailableError('database pool is closed');
    await this.sem.acquire(this.poolWaitMs);
    this.opened = Math.max(this.opened, this.sem.inUse);
    try {
      return await run();
    } finally {
      this.sem.release();
    }
  }

  protected rawQuery<T>(text: string, params: readonly unknown[]): Promise<QueryResult<T>> {
    return this.withPermit(() => runQuery<T>(this.sql, text, params));
  }

  protected rawExec(text: string): Promise<void> {
    return this.withPermit(async () => {
      await this.sql.unsafe(text).simple();
    });
  }

  protected rawTransaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.withPermit(async () => {
      const result = await this.sql.begin(async (t) => ({ value: await fn(txHandle(t)) }));
      return (result as unknown as { value: T }).value;
    });
  }

  poolStats(): PoolStats {
    const total = Math.max(this.opened, this.sem.inUse);
    return { total, idle: total - this.sem.inUse, waiting: this.sem.waiting };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.sql.end({ timeout: 5 });
  }
}

/** A transaction handle; postgres.js needs its own savepoint() for recoverable errors inside a transaction. */
function txHandle(t: postgres.TransactionSql): Queryable {
  return {
    query: <R>(q: string, p: readonly unknown[] = []) => runQuery<R>(t, q, p),
    queryOne: async <R>(q: string, p: readonly unknown[] = []) => (await runQuery<R>(t, q, p)).rows[0] ?? null,
    queryMany: async <R>(q: string, p: readonly unknown[] = []) => (await runQuery<R>(t, q, p)).rows,
    exec: async (q: string) => {
      await t.unsafe(q).simple();
    },
    savepoint: async <R>(fn: (tx: Queryable) => Promise<R>) => {
      const r = await t.savepoint(async (sp) => ({ value: await fn(txHandle(sp)) }));
      return (r as unknown as { value: R }).value;
    },
  };
}

async function runQuery<T>(sql: postgres.Sql | postgres.TransactionSql, text: string, params: readonly unknown[]): Promise<QueryResult<T>> {
  const res = await sql.unsafe(text, params as postgres.ParameterOrJSON<never>[], { prepare: params.length > 0 });
  // Result is an Array subclass; hand out a plain array.
  return { rows: Array.from(res) as unknown as T[], rowCount: res.count ?? res.length };
}
