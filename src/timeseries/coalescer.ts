/**
 * Group commit of small ingest batches (GroupCommit), shared by metric families
 * (WriteCoalescer) and event streams (StreamStore).
 */
import type { Database, Queryable } from '../db/database.ts';
import { columnArrays, type ColumnBatch, type LatestSample } from './ingest.ts';
import { rowKey, type TimeseriesStore } from './store.ts';

interface Member<B> {
  batch: B;
  resolve: (inserted: number) => void;
  reject: (err: unknown) => void;
}

interface Group<B> {
  members: Member<B>[];
  rows: number;
}

export interface CoalescerOptions {
  /** Batches up to this many rows are coalesced; larger ones are written directly. */
  smallBatchRows?: number;
  /** A group is closed when it reaches this many rows. */
  maxGroupRows?: number;
  /** Transactions in flight per key before new requests wait in the next group. */
  maxInFlight?: number;
}

/** How a GroupCommit writes one kind of batch. */
export interface GroupWriter<B extends { rows: number }> {
  db: Database;
  /** Writes a batch in the transaction; returns the number of new rows. */
  writeCount(tx: Queryable, key: string, batch: B): Promise<number>;
  /** Writes a batch in the transaction; returns the keys (rowKey) of the new rows. */
  writeKeys(tx: Queryable, key: string, batch: B): Promise<Set<string>>;
  /** The rowKey of every row of a batch, in order. */
  keysOf(key: string, batch: B): readonly string[];
  merge(batches: readonly B[]): B;
  /**
   * Writes a small batch in one statement outside a transaction and resolves with the keys of
   * its new rows; returns null (before anything is sent) when the batch needs a transaction.
   */
  writeAlone?(key: string, batch: B): Promise<Set<string>> | null;
  /** Called when a transaction did not commit (e.g. to forget cached state it wrote). */
  onFailure?(): void;
}

/**
 * Group commit for small ingest requests. Concurrent small batches of one key (a
 * family, a stream) that arrive while earlier writes are in flight are merged into
 * one transaction (one INSERT, one commit), and every request is answered only
 * after that commit — so a 2xx still means committed, at a fraction of the
 * per-transaction cost. Each request was validated on its own before it joined, so
 * one bad request never fails the others; a database error fails the whole group
 * (nothing of it was committed) and every member gets the error.
 */
export class GroupCommit<B extends { rows: number }> {
  private readonly open = new Map<string, Group<B>>();
  private readonly inFlight = new Map<string, number>();
  private readonly smallBatchRows: number;
  private readonly maxGroupRows: number;
  private readonly maxInFlight: number;

  constructor(
    private readonly writer: GroupWriter<B>,
    opts: CoalescerOptions = {},
  ) {
    this.smallBatchRows = opts.smallBatchRows ?? 500;
    this.maxGroupRows = opts.maxGroupRows ?? 5000;
    this.maxInFlight = opts.maxInFlight ?? 4;
  }

  /** Writes a validated batch; resolves with the number of new rows after commit. */
  write(key: string, batch: B): Promise<number> {
    if (batch.rows > this.smallBatchRows) return this.transaction((tx) => this.writer.writeCount(tx, key, batch));
    return new Promise<number>((resolve, reject) => {
      let g = this.open.get(key);
      if (!g) {
        g = { members: [], rows: 0 };
        this.open.set(key, g);
        // Let requests that arrive in the same turn of the event loop join.
        setImmediate(() => this.maybeFlush(key));
      }
      g.members.push({ batch, resolve, reject });
      g.rows += batch.rows;
      if (g.rows >= this.maxGroupRows) this.maybeFlush(key, true);
    });
  }

  private async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    try {
      return await this.writer.db.transaction(fn);
    } catch (err) {
      this.writer.onFailure?.();
      throw err;
    }
  }

  private maybeFlush(key: string, full = false): void {
    const g = this.open.get(key);
    if (!g || g.members.length === 0) return;
    const busy = this.inFlight.get(key) ?? 0;
    // While the key's writers are all busy, keep collecting (unless the group is full).
    if (busy >= this.maxInFlight && !full) return;
    this.open.delete(key);
    this.inFlight.set(key, busy + 1);
    void this.flush(key, g).finally(() => {
      this.inFlight.set(key, (this.inFlight.get(key) ?? 1) - 1);
      this.maybeFlush(key);
    });
  }

  private async flush(key: string, g: Group<B>): Promise<void> {
    try {
      if (g.members.length === 1) {
        const m = g.members[0]!;
        const alone = this.writer.writeAlone?.(key, m.batch);
        m.resolve(alone ? (await alone).size : await this.transaction((tx) => this.writer.writeCount(tx, key, m.batch)));
        return;
      }
      const merged = this.writer.merge(g.members.map((m) => m.batch));
      const keys = this.writer.keysOf(key, merged);
      const alone = this.writer.writeAlone?.(key, merged);
      const insertedKeys = alone ? await alone : await this.transaction((tx) => this.writer.writeKeys(tx, key, merged));
      // Attribute new rows to the requests that sent them (the first sender of a duplicated key).
      let offset = 0;
      for (const m of g.members) {
        let n = 0;
        for (let i = 0; i < m.batch.rows; i++) {
          if (insertedKeys.delete(keys[offset + i]!)) n++;
        }
        offset += m.batch.rows;
        m.resolve(n);
      }
    } catch (err) {
      for (const m of g.members) m.reject(err);
    }
  }
}

/** Group commit of metric rows, per family (the store's write path). */
export class WriteCoalescer extends GroupCommit<ColumnBatch> {
  constructor(store: TimeseriesStore, opts: CoalescerOptions = {}) {
    super(
      {
        db: store.db,
        writeCount: (tx, key, b) => store.writeBatch(tx, key, b),
        writeKeys: (tx, key, b) => store.writeBatchReturningKeys(tx, key, b),
        keysOf: (key, b) => rowKeys(b, store.family(key).identity.length),
        merge: mergeBatches,
        writeAlone: (key, b) => store.writeAlone(key, b),
        onFailure: () => store.forgetWrittenNodes(),
      },
      opts,
    );
  }
}

/** Concatenates prepared batches column by column. */
export function mergeBatches(batches: readonly ColumnBatch[]): ColumnBatch {
  const cols = batches[0]!.arrays.length;
  const arrays = columnArrays(cols, 0);
  const micros: number[] = [];
  const latestByNode = new Map<string, LatestSample>();
  let minTime = Infinity;
  let maxTime = -Infinity;
  let rows = 0;
  for (const b of batches) {
    for (let c = 0; c < cols; c++) {
      const src = b.arrays[c]!;
      const dst = arrays[c]!;
      for (let i = 0; i < b.rows; i++) dst.push(src[i]);
    }
    for (let i = 0; i < b.rows; i++) micros.push(b.micros[i]!);
    for (const [node, v] of b.latestByNode) {
      const prev = latestByNode.get(node);
      if (!prev || v.micros >= prev.micros) latestByNode.set(node, v);
    }
    minTime = Math.min(minTime, b.minTime);
    maxTime = Math.max(maxTime, b.maxTime);
    rows += b.rows;
  }
  return { rows, arrays, micros, minTime, maxTime, latestByNode };
}

/** Key of each row of a batch (stored time in microseconds + identity), as rowKey builds it for the rows the insert returns. */
export function rowKeys(batch: ColumnBatch, identityCount: number): string[] {
  const keys = new Array<string>(batch.rows);
  for (let i = 0; i < batch.rows; i++) {
    const ids: unknown[] = [];
    for (let k = 1; k <= identityCount; k++) ids.push(batch.arrays[k]![i]);
    keys[i] = rowKey(batch.micros[i]!, ids);
  }
  return keys;
}
