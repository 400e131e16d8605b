/**
 * Group commit for small ingest requests. Concurrent small batches of one family
 * that arrive while earlier writes are in flight are merged into one transaction
 * (one INSERT … SELECT FROM unnest, one commit), and every request is answered
 * only after that commit — so a 2xx still means committed, at a fraction of the
 * per-transaction cost. Each request was validated on its own before it joined,
 * so one bad request never fails the others; a database error fails the whole
 * group (nothing of it was committed) and every member gets the error.
 */
import type { ColumnBatch, LatestSample } from './ingest.ts';
import { rowKey, type TimeseriesStore } from './store.ts';

interface Member {
  batch: ColumnBatch;
  resolve: (inserted: number) => void;
  reject: (err: unknown) => void;
}

interface Group {
  members: Member[];
  rows: number;
}

export interface CoalescerOptions {
  /** Batches up to this many rows are coalesced; larger ones are written directly. */
  smallBatchRows?: number;
  /** A group is closed when it reaches this many rows. */
  maxGroupRows?: number;
  /** Transactions in flight per family before new requests wait in the next group. */
  maxInFlight?: number;
}

export class WriteCoalescer {
  private readonly open = new Map<string, Group>();
  private readonly inFlight = new Map<string, number>();
  private readonly smallBatchRows: number;
  private readonly maxGroupRows: number;
  private readonly maxInFlight: number;

  constructor(
    private readonly store: TimeseriesStore,
    opts: CoalescerOptions = {},
  ) {
    this.smallBatchRows = opts.smallBatchRows ?? 500;
    this.maxGroupRows = opts.maxGroupRows ?? 5000;
    this.maxInFlight = opts.maxInFlight ?? 4;
  }

  /** Writes a validated batch; resolves with the number of new rows after commit. */
  write(key: string, batch: ColumnBatch): Promise<number> {
    if (batch.rows > this.smallBatchRows) {
      return this.store.db.transaction((tx) => this.store.writeBatch(tx, key, batch)).catch((err: unknown) => {
        this.store.forgetWrittenNodes();
        throw err;
      });
    }
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

  private maybeFlush(key: string, full = false): void {
    const g = this.open.get(key);
    if (!g || g.members.length === 0) return;
    const busy = this.inFlight.get(key) ?? 0;
    // While the family's writers are all busy, keep collecting (unless the group is full).
    if (busy >= this.maxInFlight && !full) return;
    this.open.delete(key);
    this.inFlight.set(key, busy + 1);
    void this.flush(key, g).finally(() => {
      this.inFlight.set(key, (this.inFlight.get(key) ?? 1) - 1);
      this.maybeFlush(key);
    });
  }

  private async flush(key: string, g: Group): Promise<void> {
    try {
      if (g.members.length === 1) {
        const m = g.members[0]!;
        m.resolve(await this.store.db.transaction((tx) => this.store.writeBatch(tx, key, m.batch)));
        return;
      }
      const merged = mergeBatches(g.members.map((m) => m.batch));
      const keys = rowKeys(merged, this.store.family(key).identity.length);
      const insertedKeys = await this.store.db.transaction((tx) => this.store.writeBatchReturningKeys(tx, key, merged));
      // Attribute new rows to the requests that sent them (the first sender of a duplicated key).
      let offset = 0;
      for (const m of g.members) {
        let n = 0;
        for (let i = 0; i < m.batch.rows; i++) {
          const k = keys[offset + i]!;
          if (insertedKeys.has(k)) {
            n++;
            insertedKeys.delete(k);
          }
        }
        offset += m.batch.rows;
        m.resolve(n);
      }
    } catch (err) {
      this.store.forgetWrittenNodes();
      for (const m of g.members) m.reject(err);
    }
  }
}

/** Concatenates prepared batches column by column. */
export function mergeBatches(batches: readonly ColumnBatch[]): ColumnBatch {
  const cols = batches[0]!.arrays.length;
  const arrays: unknown[][] = Array.from({ length: cols }, () => []);
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
