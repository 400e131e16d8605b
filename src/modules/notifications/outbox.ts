/**
 * The notification outbox: `enqueue` records one delivery row per channel inside the
 * caller's transaction (the alert transition and its deliveries commit together). Nothing is
 * sent here; the delivery job (delivery.ts) sends due rows later, outside any transaction.
 *
 * Per channel, at enqueue:
 * - unknown or disabled channels are skipped (returned in `skipped`);
 * - a notice below the channel's minimum severity, a resolved notice on a channel that does not
 *   send resolved ones, and a `repeat` notice sooner than the channel's repeat interval after the
 *   last notice of that alert sent there are recorded as `muted` (the log says why);
 * - in-app channels have nothing to send: their rows are `sent` at once and the in-app stream
 *   reads them;
 * - other rows are `pending`, due at the group's next flush (Alertmanager's grouping): a notice
 *   joins a pending message of its group (same channel, same values of the channel's group-by
 *   labels); else, when the group sent a message less than group interval ago, it waits for
 *   that interval to end; else it waits group wait.
 * Alertmanager channels skip these waits: Alertmanager groups by itself.
 * The same (event, reason, escalation level, channel) is stored once: a retried enqueue adds nothing.
 * Repeats are the exception the alerts module needs (it repeats an event under its id): each
 * repeat gets the next `repeat_number` once the previous one has gone out (sent, dead or muted);
 * a repeat enqueued while the previous one still waits is that one again.
 */
import type { Queryable } from '../../db/database.ts';
import type { Clock } from '../../domain/clock.ts';
import type { AlertNotice, AlertNotifier } from '../alerts/contracts.ts';
import { groupKeyOf, severityAtLeast, storeNotice } from './message.ts';
import type { ChannelRow, DeliveryStatus } from './schema.ts';

const intList = (ids: readonly number[]) => `{${ids.map((n) => Math.trunc(n)).join(',')}}`;

export class NotificationOutbox implements AlertNotifier {
  constructor(private readonly clock: Clock) {}

  async enqueue(tx: Queryable, notice: AlertNotice, channelIds: readonly number[]): Promise<{ queued: number; skipped: number[] }> {
    const ids = [...new Set(channelIds.filter((n) => Number.isInteger(n) && n > 0 && n <= 2_147_483_647))];
    const rows = ids.length ? await tx.queryMany<ChannelRow>('SELECT * FROM notification_channels WHERE id = ANY($1::text::int[]) ORDER BY id', [intList(ids)]) : [];
    const byId = new Map(rows.map((r) => [r.id, r]));
    const skipped = [...new Set(channelIds)].filter((id) => !byId.get(id)?.enabled);
    const stored = storeNotice(notice);
    const now = this.clock.now();
    let queued = 0;
    for (const ch of rows) {
      if (!ch.enabled) continue;
      const groupKey = groupKeyOf(stored, ch.group_by);
      let status: DeliveryStatus = ch.kind === 'inapp' ? 'sent' : 'pending';
      let why: string | null = null;
      if (!severityAtLeast(notice.severity, ch.min_severity)) why = `severity ${notice.severity} is below the channel's minimum (${ch.min_severity})`;
      else if (notice.status === 'resolved' && !ch.send_resolved) why = 'the channel does not send resolved notices';
      else if (notice.reason === 'repeat' && ch.repeat_interval_seconds > 0) {
        const last = await tx.queryOne<{ at: Date | null }>(
          `SELECT max(sent_at) AS at FROM notification_deliveries WHERE channel_id = $1 AND fingerprint = $2 AND status = 'sent'`,
          [ch.id, notice.fingerprint],
        );
        if (last?.at && now.getTime() - last.at.getTime() < ch.repeat_interval_seconds * 1000)
          why = `the alert was sent to this channel at ${last.at.toISOString()}, less than the repeat interval (${ch.repeat_interval_seconds} s) ago`;
      }
      if (why) status = 'muted';
      const repeatNumber = notice.reason === 'repeat' ? await this.repeatNumber(tx, notice.eventId, ch.id) : 0;
      // Alertmanager groups by itself: its alerts go out at once.
      const due = status === 'pending' && ch.kind !== 'alertmanager' ? await this.nextFlush(tx, ch, groupKey, now) : now;
      const r = await tx.query(
        `INSERT INTO notification_deliveries (event_id, fingerprint, channel_id, reason, escalation_level, notice, group_key, status,
           next_attempt_at, last_error, sent_at, stream_txid, created_at, repeat_number)
         VALUES ($1, $2, $3, $4, $5, $6::text::jsonb, $7, $8, $9::timestamptz, $10, $11::timestamptz, pg_current_xact_id()::text::bigint, $12::timestamptz, $13)
         ON CONFLICT ON CONSTRAINT notification_deliveries_once_key DO NOTHING`,
        [
          notice.eventId,
          notice.fingerprint,
          ch.id,
          notice.reason,
          notice.reason === 'escalation' ? (notice.escalationLevel ?? 1) : 0,
          JSON.stringify(stored),
          groupKey,
          status,
          due.toISOString(),
          why,
          status === 'sent' ? now.toISOString() : null,
          now.toISOString(),
          repeatNumber,
        ],
      );
      if (r.rowCount > 0 && status !== 'muted') queued++;
    }
    return { queued, skipped };
  }

  /**
   * The number of a repeat of `eventId` on a channel: the next one, unless the latest repeat
   * has not gone out yet — then this is the same repeat enqueued again, and it gets that number
   * (the insert is then a no-op).
   */
  private async repeatNumber(tx: Queryable, eventId: number, channelId: number): Promise<number> {
    const last = await tx.queryOne<{ repeat_number: number; status: string }>(
      `SELECT repeat_number, status FROM notification_deliveries WHERE event_id = $1 AND channel_id = $2 AND reason = 'repeat' ORDER BY repeat_number DESC LIMIT 1`,
      [eventId, channelId],
    );
    if (!last) return 1;
    return ['pending', 'sending', 'failed'].includes(last.status) ? last.repeat_number : last.repeat_number + 1;
  }

  /** When a new notice of this group goes out (see the module comment). */
  private async nextFlush(tx: Queryable, ch: ChannelRow, groupKey: string, now: Date): Promise<Date> {
    const g = await tx.queryOne<{ pending_at: Date | null; last_sent: Date | null }>(
      `SELECT (SELECT min(next_attempt_at) FROM notification_deliveries
                WHERE channel_id = $1 AND group_key = $2 AND status IN ('pending', 'failed')) AS pending_at,
              (SELECT max(sent_at) FROM notification_deliveries
                WHERE channel_id = $1 AND group_key = $2 AND status = 'sent') AS last_sent`,
      [ch.id, groupKey],
    );
    if (g?.pending_at) return g.pending_at.getTime() > now.getTime() ? g.pending_at : now;
    if (g?.last_sent && g.last_sent.getTime() + ch.group_interval_seconds * 1000 > now.getTime()) return new Date(g.last_sent.getTime() + ch.group_interval_seconds * 1000);
    return new Date(now.getTime() + ch.group_wait_seconds * 1000);
  }
}
