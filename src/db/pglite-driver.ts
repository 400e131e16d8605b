/**
 * Embedded driver on PGlite (PostgreSQL compiled to WASM, one connection).
 * Also drives the TimescaleDB-enabled PGlite build used in tests: anything
 * with PGlite's query/exec/transaction API can be wrapped.
 */
import {
  BaseDatabase,
  type DatabaseOptions,
  type PoolStats,
  type Queryable,
  type QueryResult,
} from './database.ts';

/** The part of PGlite's API this driver uses (both PGlite builds satisfy it). */
export interface PGliteLike {
  query<T>(sql: string, params?: unknown[]): Promise<{ rows: T[]; affectedRows?: number }>;
  exec(sql: string): Promise<unknown>;
  transaction<T>(fn: (tx: PGliteTxLike) => Promise<T>): Promise<T>;
  close(): Promise<void>;
  readonly closed?: boolean;
}
export interface PGliteTxLike {
  query<T>(sql: string, params?: unknown[]): Promise<{ rows: T[]; affectedRows?: number }>;
  exec(sql: string): Promise<unknown>;
}

/** Type parsers giving int8/numeric as JS numbers, like the postgres driver. */
export const pgliteParsers = {
  20: (v: string) => Number(v),
  1700: (v: string) => Number(v),
};

export class PGliteDatabase extends BaseDatabase {
  readonly driver = 'pglite' as const;
  private busy = 0;

  constructor(
    private readonly pg: PGliteLike,
    options: DatabaseOptions = {},
  ) {
    super(options);
  }

  private async track<R>(run: () => Promise<R>): Promise<R> {
    this.busy++;
    try {
      return await run();
    } finally {
      this.busy--;
    }
  }

  protected rawQuery<T>(sql: string, params: readonly unknown[]): Promise<QueryResult<T>> {
    return this.track(() => pgQuery<T>(this.pg, sql, params));
  }

  protected rawExec(sql: string): Promise<void> {
    return this.track(async () => {
      await this.pg.exec(sql);
    });
  }

  protected rawTransaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.track(() =>
      this.pg.transaction(async (t) => fn(txHandle(t))),
    );
  }

  poolStats(): PoolStats {
    // One connection; everything beyond the running statement queues inside PGlite.
    return { total: 1, idle: this.busy > 0 ? 0 : 1, waiting: Math.max(0, this.busy - 1) };
  }

  async close(): Promise<void> {
    if (!this.pg.closed) await this.pg.close();
  }
}

let savepointSeq = 0;

function txHandle(t: PGliteTxLike): Queryable {
  const tx: Queryable = {
    query: <R>(q: string, p: readonly unknown[] = []) => pgQuery<R>(t, q, p),
    queryOne: async <R>(q: string, p: readonly unknown[] = []) => (await pgQuery<R>(t, q, p)).rows[0] ?? null,
    queryMany: async <R>(q: string, p: readonly unknown[] = []) => (await pgQuery<R>(t, q, p)).rows,
    exec: async (q: string) => {
      await t.exec(q);
    },
    savepoint: async <R>(fn: (tx: Queryable) => Promise<R>) => {
      const name = `opsdeck_sp_${++savepointSeq}`;
      await t.exec(`SAVEPOINT ${name}`);
      try {
        const r = await fn(tx);
        await t.exec(`RELEASE SAVEPOINT ${name}`);
        return r;
      } catch (err) {
        await t.exec(`ROLLBACK TO SAVEPOINT ${name}`);
        throw err;
      }
    },
  };
  return tx;
}

async function pgQuery<T>(pg: PGliteTxLike, sql: string, params: readonly unknown[]): Promise<QueryResult<T>> {
  const r = await pg.query<T>(sql, params as unknown[]);
  return { rows: r.rows, rowCount: r.rows.length || r.affectedRows || 0 };
}
