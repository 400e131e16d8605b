/**
 * The delivery side of the outbox. `deliverDue()` — what the `notification-delivery` job runs,
 * holding no transaction while it waits on the network:
 *
 * 1. claims due rows in one short statement (`FOR UPDATE SKIP LOCKED`): `pending` and `failed`
 *    rows whose next_attempt_at has come, and `sending` rows whose lease ran out (their sender
 *    crashed); they become `sending` with a lease and one more attempt. Two Opsdeck processes
 *    on one database never claim the same row, so each delivery is sent once;
 * 2. sends each group (same channel and group key) as one message through the channel's
 *    sender, which goes out through the outbound rules (src/net/outbound.ts);
 * 3. records the outcome in a short transaction: `sent`; or `failed` with the next attempt after
 *    an exponential backoff with jitter (or the peer's Retry-After when longer); or `dead` after `maxAttempts` attempts or at once when
 *    retrying cannot help (a refused address, a 4xx answer other than 408/425/429, SMTP 5xx);
 * 4. posts again the firing alerts of Alertmanager channels not posted for the channel's
 *    repost interval, until they resolve.
 *
 * Time comes from the injected Clock, so tests move it by hand.
 */
import type { Logger } from 'pino';
import type { Database } from '../../db/database.ts';
import type { Clock } from '../../domain/clock.ts';
import type { Outbound } from '../../net/outbound.ts';
import type { ChannelStore, ChannelWithSecrets } from './channels.ts';
import type { NoticeGroup, StoredNotice } from './message.ts';
import type { ChannelKind, ChannelRow, DeliveryRow } from './schema.ts';
import { sendAlertmanager } from './senders/alertmanager.ts';
import { sendEmail } from './senders/email.ts';
import { errorOutcome, type SendOutcome, type Sender } from './senders/http.ts';
import { sendSlack } from './senders/slack.ts';
import { sendTelegram } from './senders/telegram.ts';
import { sendWebhook } from './senders/webhook.ts';

export interface DeliverySettings {
  /** Attempts before a delivery is `dead`. */
  maxAttempts: number;
  /** First retry delay (ms); doubled per attempt, capped at retryMaxMs; each delay is jittered into [d/2, d]. */
  retryBaseMs: number;
  retryMaxMs: number;
  /** How long a claimed row stays `sending` before another runner may take it over (ms). */
  leaseMs: number;
  /** Longest time one send may take (ms); well under leaseMs. */
  sendTimeoutMs: number;
  /** Most rows claimed per run. */
  batchSize: number;
}

export const DEFAULT_DELIVERY_SETTINGS: DeliverySettings = { maxAttempts: 10, retryBaseMs: 30_000, retryMaxMs: 3_600_000, leaseMs: 300_000, sendTimeoutMs: 30_000, batchSize: 200 };

export interface DeliveryOptions {
  db: Database;
  clock: Clock;
  outbound: Outbound;
  channels: ChannelStore;
  settings?: Partial<DeliverySettings>;
  logger?: Logger | undefined;
  /** Jitter source in [0, 1) (tests pin it). */
  random?: () => number;
  /** Replace a kind's sender (tests). */
  senders?: Partial<Record<ChannelKind, Sender>>;
}

export interface DeliveryRunResult {
  claimed: number;
  messages: number;
  sent: number;
  failed: number;
  dead: number;
  muted: number;
  reposted: number;
}

const SENDERS: Record<Exclude<ChannelKind, 'inapp'>, Sender> = {
  webhook: sendWebhook,
  email: sendEmail,
  slack: sendSlack,
  telegram: sendTelegram,
  alertmanager: sendAlertmanager,
};

const bigintList = (ids: readonly number[]) => `{${ids.join(',')}}`;

/** Removes every secret value of the channel from a text (an error message may echo a URL). */
export function scrub(text: string, secrets: Record<string, string>): string {
  let out = text;
  for (const v of Object.values(secrets)) if (v && v.length >= 4) out = out.split(v).join('[secret]');
  return out;
}

export class DeliveryService {
  readonly settings: DeliverySettings;
  private readonly random: () => number;

  constructor(private readonly opts: DeliveryOptions) {
    this.settings = { ...DEFAULT_DELIVERY_SETTINGS, ...opts.settings };
    this.random = opts.random ?? Math.random;
  }

  /** Delay before the attempt after `attempts` failed ones: base·2^(attempts−1), capped, jittered into [d/2, d]. */
  backoffMs(attempts: number): number {
    const d = Math.min(this.settings.retryMaxMs, this.settings.retryBaseMs * 2 ** Math.max(0, attempts - 1));
    return Math.round(d / 2 + (this.random() * d) / 2);
  }

  /**
   * One run. When `signal` aborts (shutdown), the message being sent finishes and the claimed
   * rows not yet sent are handed back as they were (their attempt not counted).
   */
  async deliverDue(signal?: AbortSignal): Promise<DeliveryRunResult> {
    if (this.opts.db.inTransaction()) throw new Error('deliverDue must not run inside a transaction: it waits on the network');
    const result: DeliveryRunResult = { claimed: 0, messages: 0, sent: 0, failed: 0, dead: 0, muted: 0, reposted: 0 };
    const rows = await this.claim();
    result.claimed = rows.length;
    if (rows.length) {
      const channelIds = [...new Set(rows.map((r) => r.channel_id))];
      const channels = new Map(
        (await this.opts.db.queryMany<ChannelRow>('SELECT * FROM notification_channels WHERE id = ANY($1::text::int[])', [bigintList(channelIds)])).map((c) => [c.id, c]),
      );
      const groups = new Map<string, DeliveryRow[]>();
      for (const r of rows) {
        const k = `${r.channel_id}\u0000${r.group_key}`;
        const g = groups.get(k);
        if (g) g.push(r);
        else groups.set(k, [r]);
      }
      for (const g of groups.values()) {
        if (signal?.aborted) {
          await this.handBack(g);
          continue;
        }
        const ch = channels.get(g[0]!.channel_id);
        if (!ch || !ch.enabled || ch.kind === 'inapp') {
          await this.finish(g, ch?.kind === 'inapp' ? { ok: true, status: null, retryable: false, detail: '' } : null);
          if (ch?.kind === 'inapp') result.sent += g.length;
          else result.muted += g.length;
          continue;
        }
        result.messages++;
        let outcome: SendOutcome;
        try {
          const channel = this.opts.channels.open(ch);
          outcome = await this.send(channel, g.map((r) => r.notice as unknown as StoredNotice), g[0]!.group_key);
        } catch (err) {
          // Unreadable secrets, or anything unexpected: this group fails (and is retried); the others go on.
          outcome = errorOutcome(err);
        }
        const counts = await this.finish(g, outcome);
        result.sent += counts.sent;
        result.failed += counts.failed;
        result.dead += counts.dead;
        this.opts.logger?.[outcome.ok ? 'info' : 'warn'](
          { channelId: ch.id, channel: ch.name, kind: ch.kind, deliveries: g.map((r) => r.id), ok: outcome.ok, peerStatus: outcome.status, detail: outcome.ok ? undefined : outcome.detail },
          outcome.ok ? 'notification sent' : 'notification not sent',
        );
      }
    }
    if (!signal?.aborted) result.reposted = await this.repostFiring();
    return result;
  }

  /** Sends one group through the channel's sender (also used by "send a test notification"). */
  async send(channel: ChannelWithSecrets, notices: StoredNotice[], groupKey: string): Promise<SendOutcome> {
    const sender = this.opts.senders?.[channel.kind] ?? (channel.kind === 'inapp' ? null : SENDERS[channel.kind]);
    if (!sender) return { ok: true, status: null, retryable: false, detail: 'in-app notices are read from the stream' };
    let groupLabels: Record<string, string> = {};
    try {
      groupLabels = Object.fromEntries(JSON.parse(groupKey) as [string, string][]);
    } catch {
      // A key not written by groupKeyOf: no group labels.
    }
    const group: NoticeGroup = { receiver: channel.name, notices, groupLabels, groupKey };
    let outcome: SendOutcome;
    try {
      outcome = await sender(channel, group, { outbound: this.opts.outbound, now: this.opts.clock.now(), timeoutMs: this.settings.sendTimeoutMs });
    } catch (err) {
      outcome = errorOutcome(err);
    }
    return { ...outcome, detail: scrub(outcome.detail, channel.secrets) };
  }

  /** "Send a test notification": one firing info notice straight to the channel (no outbox, same outbound rules); what the peer said. */
  async testChannel(id: number): Promise<SendOutcome> {
    const channel = await this.opts.channels.withSecrets(id);
    const now = this.opts.clock.now();
    const notice: StoredNotice = {
      eventId: 0,
      fingerprint: 'opsdeck-test-notification',
      status: 'firing',
      reason: 'fired',
      alertName: 'OpsdeckTestNotification',
      severity: 'info',
      message: `Test notification from Opsdeck to the channel ${channel.name}`,
      labels: { alertname: 'OpsdeckTestNotification', severity: 'info', channel: channel.name },
      details: {},
      startsAt: now.toISOString(),
      endsAt: null,
      ruleId: null,
      nodeId: null,
      serviceName: null,
    };
    return this.send(channel, [notice], JSON.stringify([['alertname', 'OpsdeckTestNotification']]));
  }

  /** Returns claimed, unsent rows to their state before the claim. */
  private async handBack(rows: DeliveryRow[]): Promise<void> {
    await this.opts.db.transaction(async (tx) => {
      for (const r of rows)
        await tx.query(
          `UPDATE notification_deliveries SET status = CASE WHEN attempts > 1 THEN 'failed' ELSE 'pending' END, attempts = attempts - 1, lease_until = NULL
           WHERE id = $1 AND status = 'sending' AND lease_until = $2::timestamptz`,
          [r.id, r.lease_until!.toISOString()],
        );
    });
  }

  private async claim(): Promise<DeliveryRow[]> {
    const now = this.opts.clock.now();
    const rows = await this.opts.db.transaction((tx) =>
      tx.queryMany<DeliveryRow>(
        `UPDATE notification_deliveries SET status = 'sending', lease_until = $2::timestamptz, attempts = attempts + 1
         WHERE id IN (
           SELECT id FROM notification_deliveries
           WHERE (status IN ('pending', 'failed') AND next_attempt_at <= $1::timestamptz) OR (status = 'sending' AND lease_until <= $1::timestamptz)
           ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)
         RETURNING *`,
        [now.toISOString(), new Date(now.getTime() + this.settings.leaseMs).toISOString(), this.settings.batchSize],
      ),
    );
    // RETURNING keeps no order: oldest due first.
    return rows.sort((a, b) => a.next_attempt_at.getTime() - b.next_attempt_at.getTime() || a.id - b.id);
  }

  /** Records the outcome of a group's send (null: the channel is gone or disabled → muted). */
  private async finish(rows: DeliveryRow[], outcome: SendOutcome | null): Promise<{ sent: number; failed: number; dead: number }> {
    const now = this.opts.clock.now();
    const counts = { sent: 0, failed: 0, dead: 0 };
    await this.opts.db.transaction(async (tx) => {
      for (const r of rows) {
        // `status = 'sending' AND lease_until = …`: a row whose lease ran out and was taken over is the other runner's now.
        const mine = `WHERE id = $1 AND status = 'sending' AND lease_until = $2::timestamptz`;
        const lease = r.lease_until!.toISOString();
        if (outcome === null) {
          await tx.query(`UPDATE notification_deliveries SET status = 'muted', lease_until = NULL, last_error = 'the channel is disabled' ${mine}`, [r.id, lease]);
        } else if (outcome.ok) {
          await tx.query(
            `UPDATE notification_deliveries SET status = 'sent', lease_until = NULL, sent_at = $3::timestamptz, last_posted_at = $3::timestamptz, response_status = $4, last_error = NULL ${mine}`,
            [r.id, lease, now.toISOString(), outcome.status],
          );
          counts.sent++;
        } else if (!outcome.retryable || r.attempts >= this.settings.maxAttempts) {
          await tx.query(`UPDATE notification_deliveries SET status = 'dead', lease_until = NULL, response_status = $3, last_error = $4 ${mine}`, [r.id, lease, outcome.status, outcome.detail]);
          counts.dead++;
        } else {
          await tx.query(
            `UPDATE notification_deliveries SET status = 'failed', lease_until = NULL, response_status = $3, last_error = $4, next_attempt_at = $5::timestamptz ${mine}`,
            [r.id, lease, outcome.status, outcome.detail, new Date(now.getTime() + Math.max(this.backoffMs(r.attempts), outcome.retryAfterMs ?? 0)).toISOString()],
          );
          counts.failed++;
        }
      }
    });
    return counts;
  }

  /**
   * Alertmanager resolves an alert that is not posted again within its resolve_timeout, so the
   * firing alerts of Alertmanager channels (the latest delivery of the alert to the channel is a
   * sent firing notice) are posted again every repostIntervalSeconds. Each is claimed by moving
   * last_posted_at first, so two runners do not both post it.
   */
  private async repostFiring(): Promise<number> {
    const now = this.opts.clock.now();
    const latest = await this.opts.db.queryMany<DeliveryRow & { repost_seconds: number }>(
      `SELECT * FROM (
         SELECT DISTINCT ON (d.channel_id, d.fingerprint) d.*, COALESCE((c.config->>'repostIntervalSeconds')::int, 60) AS repost_seconds
         FROM notification_deliveries d JOIN notification_channels c ON c.id = d.channel_id
         WHERE c.kind = 'alertmanager' AND c.enabled AND d.status <> 'muted'
         ORDER BY d.channel_id, d.fingerprint, d.id DESC) l
       WHERE l.status = 'sent' AND l.notice->>'status' = 'firing'
         AND COALESCE(l.last_posted_at, l.sent_at) + make_interval(secs => l.repost_seconds) <= $1::timestamptz`,
      [now.toISOString()],
    );
    if (!latest.length) return 0;
    const byChannel = new Map<number, DeliveryRow[]>();
    for (const r of latest) {
      const claimed = await this.opts.db.query(
        'UPDATE notification_deliveries SET last_posted_at = $3::timestamptz WHERE id = $1 AND last_posted_at IS NOT DISTINCT FROM $2::timestamptz',
        [r.id, r.last_posted_at ? r.last_posted_at.toISOString() : null, now.toISOString()],
      );
      if (claimed.rowCount === 0) continue;
      const list = byChannel.get(r.channel_id);
      if (list) list.push(r);
      else byChannel.set(r.channel_id, [r]);
    }
    let n = 0;
    for (const [channelId, rows] of byChannel) {
      let outcome: SendOutcome;
      try {
        outcome = await this.send(await this.opts.channels.withSecrets(channelId), rows.map((r) => r.notice as unknown as StoredNotice), '[]');
      } catch (err) {
        outcome = errorOutcome(err);
      }
      if (outcome.ok) n += rows.length;
      else this.opts.logger?.warn({ channelId, detail: outcome.detail }, 're-posting firing alerts to Alertmanager failed; tried again at the next interval');
    }
    return n;
  }
}
