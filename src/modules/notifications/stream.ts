/**
 * The in-app notice feed: sent deliveries of in-app channels, read from the deliveries table
 * so every Opsdeck process sharing the database sees every notice.
 *
 * Rows are read in commit order without gaps: each row carries the id of the transaction that
 * wrote it (`stream_txid`), and a poll reads only rows of transactions older than the oldest
 * one still in flight (`pg_snapshot_xmin(pg_current_snapshot())`), ordered by (txid, id). A
 * transaction that commits later always has a txid at or above that bound, so a reader that
 * has passed a position never misses a row behind it (polling by id alone would skip a row
 * whose transaction began first and committed last). The bound leaves out transactions that
 * pg_stat_activity shows running in another database of the same server (transaction ids are
 * per server, and another database's rows cannot be ours); every other in-flight transaction
 * — of this database, or one whose session cannot be seen or has just ended — holds the feed
 * back until it ends. The cost: a long transaction in Opsdeck's database delays the feed.
 *
 * A position is `<txid>-<id>`, the SSE event id; a client resumes with Last-Event-ID.
 */
import type { Database } from '../../db/database.ts';
import type { StoredNotice } from './message.ts';

/**
 * The oldest transaction id that may still write rows of this database: the smallest id in
 * flight in the current snapshot, except ids pg_stat_activity shows running in another
 * database (matched on their low 32 bits, which is what backend_xid carries); the snapshot's
 * xmax when there is none.
 */
const FEED_BOUND = `(SELECT coalesce(
    (SELECT min(x::text::bigint) FROM pg_snapshot_xip(pg_current_snapshot()) AS x
     WHERE NOT EXISTS (SELECT 1 FROM pg_stat_activity a
                       WHERE a.datname IS DISTINCT FROM current_database() AND a.backend_xid IS NOT NULL
                         AND a.backend_xid::text::bigint = x::text::bigint % 4294967296)),
    pg_snapshot_xmax(pg_current_snapshot())::text::bigint))`;

export interface StreamPosition {
  txid: number;
  id: number;
}

export interface StreamNotice {
  position: StreamPosition;
  deliveryId: number;
  channelId: number;
  sentAt: string;
  notice: StoredNotice;
}

export const formatPosition = (p: StreamPosition): string => `${p.txid}-${p.id}`;

/** Parses a Last-Event-ID; null when it is not one of ours. */
export function parsePosition(s: string | undefined): StreamPosition | null {
  const m = s ? /^([0-9]{1,19})-([0-9]{1,19})$/.exec(s.trim()) : null;
  if (!m) return null;
  const txid = Number(m[1]);
  const id = Number(m[2]);
  return Number.isSafeInteger(txid) && Number.isSafeInteger(id) ? { txid, id } : null;
}

export class NoticeFeed {
  constructor(private readonly db: Database) {}

  /** Where a new reader starts: after everything already committed. */
  async head(): Promise<StreamPosition> {
    const r = await this.db.queryOne<{ xmin: number }>(`SELECT ${FEED_BOUND} AS xmin`);
    // Rows of transactions below the bound are all visible and in the past; start just before it.
    return { txid: Number(r!.xmin) - 1, id: Number.MAX_SAFE_INTEGER };
  }

  /** Notices after `from`, in commit order, at most `limit`. */
  async after(from: StreamPosition, opts: { channelId?: number | undefined; limit?: number } = {}): Promise<StreamNotice[]> {
    const rows = await this.db.queryMany<{ id: number; stream_txid: number; channel_id: number; sent_at: Date; notice: StoredNotice }>(
      `SELECT d.id, d.stream_txid, d.channel_id, d.sent_at, d.notice
       FROM notification_deliveries d JOIN notification_channels c ON c.id = d.channel_id
       WHERE c.kind = 'inapp' AND d.status = 'sent'
         AND (d.stream_txid, d.id) > ($1::bigint, $2::bigint)
         AND d.stream_txid < ${FEED_BOUND}
         AND ($3::int IS NULL OR d.channel_id = $3::int)
       ORDER BY d.stream_txid, d.id LIMIT $4`,
      [from.txid, from.id, opts.channelId ?? null, opts.limit ?? 100],
    );
    return rows.map((r) => ({
      position: { txid: Number(r.stream_txid), id: Number(r.id) },
      deliveryId: Number(r.id),
      channelId: r.channel_id,
      sentAt: r.sent_at.toISOString(),
      notice: r.notice,
    }));
  }
}
