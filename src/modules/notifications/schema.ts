/**
 * Drizzle declarations of the notification tables (src/db/migrations/0018_notifications.sql)
 * and the enum tuples shared by the columns, their CHECKs and the routes' Zod schemas.
 * Compared with the migrated database in src/modules/tables.test.ts.
 */
import { sql } from 'drizzle-orm';
import { bigint, boolean, check, index, integer, jsonb, pgTable, text, unique } from 'drizzle-orm/pg-core';
import { sqlList, tstz } from '../../db/drizzle.ts';
import { ALERT_SEVERITIES, type AlertSeverity } from '../alerts/contracts.ts';

export const CHANNEL_KINDS = ['webhook', 'email', 'slack', 'telegram', 'inapp', 'alertmanager'] as const;
export type ChannelKind = (typeof CHANNEL_KINDS)[number];

export const DELIVERY_STATUSES = ['pending', 'sending', 'sent', 'failed', 'dead', 'muted'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export const NOTICE_REASONS = ['fired', 'repeat', 'resolved', 'escalation'] as const;

export const notificationChannels = pgTable(
  'notification_channels',
  {
    id: integer().primaryKey().generatedAlwaysAsIdentity(),
    name: text().notNull().unique(),
    kind: text({ enum: CHANNEL_KINDS }).notNull(),
    config: jsonb().notNull().default({}).$type<Record<string, unknown>>(),
    secrets_sealed: text(),
    secret_fields: jsonb().notNull().default([]).$type<string[]>(),
    min_severity: text({ enum: ALERT_SEVERITIES }).notNull().default('info').$type<AlertSeverity>(),
    group_by: jsonb().notNull().default(['alertname']).$type<string[]>(),
    group_wait_seconds: integer().notNull().default(30),
    group_interval_seconds: integer().notNull().default(300),
    repeat_interval_seconds: integer().notNull().default(14400),
    send_resolved: boolean().notNull().default(true),
    enabled: boolean().notNull().default(true),
    created_at: tstz().notNull().defaultNow(),
    updated_at: tstz().notNull().defaultNow(),
  },
  (t) => [
    check('notification_channels_name_check', sql`length(${t.name}) BETWEEN 1 AND 100`),
    check('notification_channels_kind_check', sql`${t.kind} IN (${sqlList(CHANNEL_KINDS)})`),
    check('notification_channels_min_severity_check', sql`${t.min_severity} IN (${sqlList(ALERT_SEVERITIES)})`),
    check('notification_channels_group_wait_seconds_check', sql`${t.group_wait_seconds} BETWEEN 0 AND 86400`),
    check('notification_channels_group_interval_seconds_check', sql`${t.group_interval_seconds} BETWEEN 0 AND 86400`),
    check('notification_channels_repeat_interval_seconds_check', sql`${t.repeat_interval_seconds} BETWEEN 0 AND 604800`),
  ],
);

export type ChannelRow = typeof notificationChannels.$inferSelect;

export const notificationDeliveries = pgTable(
  'notification_deliveries',
  {
    id: bigint({ mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    event_id: bigint({ mode: 'number' }).notNull(),
    fingerprint: text().notNull(),
    channel_id: integer()
      .notNull()
      .references(() => notificationChannels.id, { onDelete: 'cascade' }),
    reason: text({ enum: NOTICE_REASONS }).notNull(),
    escalation_level: integer().notNull().default(0),
    /** 1, 2 … for the repeats of one event on one channel; 0 for other reasons. */
    repeat_number: integer().notNull().default(0),
    notice: jsonb().notNull().$type<Record<string, unknown>>(),
    group_key: text().notNull(),
    status: text({ enum: DELIVERY_STATUSES }).notNull().default('pending'),
    attempts: integer().notNull().default(0),
    next_attempt_at: tstz().notNull(),
    lease_until: tstz(),
    last_error: text(),
    response_status: integer(),
    sent_at: tstz(),
    last_posted_at: tstz(),
    stream_txid: bigint({ mode: 'number' }).notNull(),
    created_at: tstz().notNull(),
  },
  (t) => [
    check('notification_deliveries_reason_check', sql`${t.reason} IN (${sqlList(NOTICE_REASONS)})`),
    check('notification_deliveries_status_check', sql`${t.status} IN (${sqlList(DELIVERY_STATUSES)})`),
    check('notification_deliveries_escalation_level_check', sql`${t.escalation_level} >= 0`),
    check('notification_deliveries_repeat_number_check', sql`${t.repeat_number} >= 0`),
    check('notification_deliveries_attempts_check', sql`${t.attempts} >= 0`),
    unique('notification_deliveries_once_key').on(t.event_id, t.reason, t.escalation_level, t.repeat_number, t.channel_id),
    index('notification_deliveries_due_idx').on(t.next_attempt_at).where(sql`${t.status} IN ('pending', 'sending', 'failed')`),
    index('notification_deliveries_channel_idx').on(t.channel_id, t.id),
    index('notification_deliveries_group_idx').on(t.channel_id, t.group_key, t.sent_at),
    index('notification_deliveries_stream_idx').on(t.stream_txid, t.id).where(sql`${t.status} = 'sent'`),
  ],
);

export type DeliveryRow = typeof notificationDeliveries.$inferSelect;
