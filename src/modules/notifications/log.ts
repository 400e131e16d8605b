/** The delivery log: deliveries by event, channel and status, newest first, paged. */
import type { Database } from '../../db/database.ts';
import { pageResult, type Page } from '../../domain/paging.ts';
import type { DeliveryRow, DeliveryStatus } from './schema.ts';

export interface Delivery {
  id: number;
  eventId: number;
  fingerprint: string;
  channelId: number;
  reason: DeliveryRow['reason'];
  escalationLevel: number;
  repeatNumber: number;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: string;
  lastError: string | null;
  responseStatus: number | null;
  sentAt: string | null;
  createdAt: string;
  notice: Record<string, unknown>;
}

const toDelivery = (r: DeliveryRow): Delivery => ({
  id: Number(r.id),
  eventId: Number(r.event_id),
  fingerprint: r.fingerprint,
  channelId: r.channel_id,
  reason: r.reason,
  escalationLevel: r.escalation_level,
  repeatNumber: r.repeat_number,
  status: r.status,
  attempts: r.attempts,
  nextAttemptAt: r.next_attempt_at.toISOString(),
  lastError: r.last_error,
  responseStatus: r.response_status,
  sentAt: r.sent_at ? r.sent_at.toISOString() : null,
  createdAt: r.created_at.toISOString(),
  notice: r.notice,
});

export interface DeliveryFilter {
  eventId?: number | undefined;
  channelId?: number | undefined;
  status?: DeliveryStatus | undefined;
  page: number;
  pageSize: number;
}

export async function listDeliveries(db: Database, f: DeliveryFilter): Promise<Page<Delivery>> {
  const where = `WHERE ($1::bigint IS NULL OR event_id = $1::bigint) AND ($2::int IS NULL OR channel_id = $2::int) AND ($3::text IS NULL OR status = $3::text)`;
  const params = [f.eventId ?? null, f.channelId ?? null, f.status ?? null];
  const total = (await db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM notification_deliveries ${where}`, params))?.n ?? 0;
  const rows = await db.queryMany<DeliveryRow>(`SELECT * FROM notification_deliveries ${where} ORDER BY id DESC LIMIT $4 OFFSET $5`, [...params, f.pageSize, (f.page - 1) * f.pageSize]);
  return pageResult(rows.map(toDelivery), total, f.page, f.pageSize);
}
