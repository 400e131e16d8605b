/**
 * Drizzle declarations of the alerting tables (src/db/migrations/0016_alerts.sql).
 * Enum tuples are shared by the columns, their CHECKs and the routes' Zod schemas;
 * src/modules/tables.test.ts compares these declarations with the migrated database.
 */
import { sql } from 'drizzle-orm';
import { boolean, check, doublePrecision, index, integer, jsonb, pgTable, text, unique, uniqueIndex } from 'drizzle-orm/pg-core';
import { sqlList, tstz } from '../../db/drizzle.ts';
import { ALERT_SEVERITIES } from './contracts.ts';

export const SCOPE_KINDS = ['all', 'role', 'node', 'service'] as const;
export type ScopeKind = (typeof SCOPE_KINDS)[number];
/** What a rule does when its query gives no value (Grafana's no-data states). */
export const NO_DATA_POLICIES = ['ok', 'nodata', 'alerting', 'keep_state'] as const;
export type NoDataPolicy = (typeof NO_DATA_POLICIES)[number];
/** pending → firing → acknowledged → resolved; the service seed's `active` is pending or firing. */
export const EVENT_STATUSES = ['pending', 'firing', 'acknowledged', 'resolved'] as const;
export type EventStatus = (typeof EVENT_STATUSES)[number];
export const RECURRENCES = ['none', 'daily', 'weekly'] as const;
export type Recurrence = (typeof RECURRENCES)[number];

export interface EscalationStep {
  afterMinutes: number;
  channelIds: number[];
}

export interface MutedBy {
  kind: 'silence' | 'maintenance' | 'rule_muted' | 'rule_snoozed' | 'dedup';
  id?: number;
  at: string;
}

export const alertRules = pgTable(
  'alert_rules',
  {
    id: integer().primaryKey().generatedAlwaysAsIdentity(),
    name: text().notNull(),
    description: text().notNull().default(''),
    severity: text({ enum: ALERT_SEVERITIES }).notNull(),
    condition: jsonb().notNull().$type<Record<string, unknown>>(),
    for_seconds: integer().notNull().default(0),
    scope_kind: text({ enum: SCOPE_KINDS }).notNull().default('all'),
    scope_values: text().array().notNull().default(sql`'{}'::text[]`),
    no_data_policy: text({ enum: NO_DATA_POLICIES }).notNull().default('nodata'),
    channels: integer().array().notNull().default(sql`'{}'::integer[]`),
    escalation: jsonb().notNull().default([]).$type<EscalationStep[]>(),
    repeat_interval_seconds: integer().notNull().default(1800),
    labels: jsonb().notNull().default({}).$type<Record<string, string>>(),
    enabled: boolean().notNull().default(true),
    muted: boolean().notNull().default(false),
    snoozed_until: tstz(),
    is_default: boolean().notNull().default(false),
    last_evaluated_at: tstz(),
    last_evaluation: jsonb().$type<Record<string, unknown>>(),
    created_at: tstz().notNull().defaultNow(),
    updated_at: tstz().notNull().defaultNow(),
  },
  (t) => [
    unique('alert_rules_name_key').on(t.name),
    check('alert_rules_name_check', sql`length(${t.name}) BETWEEN 1 AND 200`),
    check('alert_rules_severity_check', sql`${t.severity} IN (${sqlList(ALERT_SEVERITIES)})`),
    check('alert_rules_scope_kind_check', sql`${t.scope_kind} IN (${sqlList(SCOPE_KINDS)})`),
    check('alert_rules_no_data_policy_check', sql`${t.no_data_policy} IN (${sqlList(NO_DATA_POLICIES)})`),
    check('alert_rules_for_seconds_check', sql`${t.for_seconds} BETWEEN 0 AND 604800`),
    check('alert_rules_repeat_interval_seconds_check', sql`${t.repeat_interval_seconds} BETWEEN 60 AND 604800`),
  ],
);
export type AlertRuleRow = typeof alertRules.$inferSelect;

/** Names of the default rules already seeded (a deleted default is not seeded again). */
export const alertRuleDefaults = pgTable('alert_rule_defaults', {
  name: text().primaryKey(),
  seeded_at: tstz().notNull().defaultNow(),
});

export const alertEvents = pgTable(
  'alert_events',
  {
    id: integer().primaryKey().generatedAlwaysAsIdentity(),
    rule_id: integer().references(() => alertRules.id, { onDelete: 'set null' }),
    service_name: text(),
    fingerprint: text().notNull(),
    alert_type: text().notNull(),
    alert_name: text().notNull(),
    severity: text({ enum: ALERT_SEVERITIES }).notNull(),
    status: text({ enum: EVENT_STATUSES }).notNull(),
    message: text().notNull().default(''),
    details: jsonb().notNull().default({}).$type<Record<string, unknown>>(),
    labels: jsonb().notNull().default({}).$type<Record<string, string>>(),
    node_id: text(),
    value: doublePrecision(),
    created_at: tstz().notNull(),
    fired_at: tstz(),
    acknowledged_at: tstz(),
    acknowledged_by: text(),
    resolved_at: tstz(),
    notified: boolean().notNull().default(false),
    last_notified_at: tstz(),
    escalation_level: integer().notNull().default(0),
    muted_by: jsonb().notNull().default([]).$type<MutedBy[]>(),
  },
  (t) => [
    check('alert_events_severity_check', sql`${t.severity} IN (${sqlList(ALERT_SEVERITIES)})`),
    check('alert_events_status_check', sql`${t.status} IN (${sqlList(EVENT_STATUSES)})`),
    check('alert_events_source_check', sql`${t.rule_id} IS NOT NULL OR ${t.service_name} IS NOT NULL OR ${t.status} = 'resolved'`),
    check('alert_events_escalation_level_check', sql`${t.escalation_level} >= 0`),
    uniqueIndex('alert_events_open_fingerprint_idx').on(t.fingerprint).where(sql`${t.status} <> 'resolved'`),
    index('alert_events_created_at_idx').on(t.created_at),
    index('alert_events_status_idx').on(t.status),
    index('alert_events_service_idx').on(t.service_name, t.alert_type, t.created_at),
    index('alert_events_rule_idx').on(t.rule_id).where(sql`${t.status} <> 'resolved'`),
    index('alert_events_resolved_at_idx').on(t.resolved_at).where(sql`${t.status} = 'resolved'`),
  ],
);
export type AlertEventRow = typeof alertEvents.$inferSelect;

export const alertEventTransitions = pgTable(
  'alert_event_transitions',
  {
    id: integer().primaryKey().generatedAlwaysAsIdentity(),
    event_id: integer()
      .notNull()
      .references(() => alertEvents.id, { onDelete: 'cascade' }),
    from_status: text({ enum: EVENT_STATUSES }),
    to_status: text({ enum: EVENT_STATUSES }).notNull(),
    at: tstz().notNull(),
    actor: text().notNull(),
    reason: text().notNull().default(''),
  },
  (t) => [
    check('alert_event_transitions_from_status_check', sql`${t.from_status} IN (${sqlList(EVENT_STATUSES)})`),
    check('alert_event_transitions_to_status_check', sql`${t.to_status} IN (${sqlList(EVENT_STATUSES)})`),
    index('alert_event_transitions_event_idx').on(t.event_id, t.at),
  ],
);
export type AlertEventTransitionRow = typeof alertEventTransitions.$inferSelect;

export interface SilenceMatcher {
  name: string;
  op: '=' | '!=' | '=~' | '!~';
  value: string;
}

export const alertSilences = pgTable(
  'alert_silences',
  {
    id: integer().primaryKey().generatedAlwaysAsIdentity(),
    matchers: jsonb().notNull().$type<SilenceMatcher[]>(),
    starts_at: tstz().notNull(),
    ends_at: tstz().notNull(),
    created_by: text().notNull(),
    comment: text().notNull().default(''),
    created_at: tstz().notNull().defaultNow(),
  },
  (t) => [check('alert_silences_period_check', sql`${t.ends_at} > ${t.starts_at}`)],
);
export type AlertSilenceRow = typeof alertSilences.$inferSelect;

export const alertMaintenanceWindows = pgTable(
  'alert_maintenance_windows',
  {
    id: integer().primaryKey().generatedAlwaysAsIdentity(),
    name: text().notNull(),
    node_ids: text().array().notNull().default(sql`'{}'::text[]`),
    services: text().array().notNull().default(sql`'{}'::text[]`),
    recurrence: text({ enum: RECURRENCES }).notNull().default('none'),
    starts_at: tstz().notNull(),
    ends_at: tstz(),
    start_time: text(),
    duration_minutes: integer(),
    weekdays: integer().array().notNull().default(sql`'{}'::integer[]`),
    time_zone: text().notNull().default('UTC'),
    created_by: text().notNull(),
    comment: text().notNull().default(''),
    created_at: tstz().notNull().defaultNow(),
  },
  (t) => [
    check('alert_maintenance_windows_name_check', sql`length(${t.name}) BETWEEN 1 AND 200`),
    check('alert_maintenance_windows_recurrence_check', sql`${t.recurrence} IN (${sqlList(RECURRENCES)})`),
    check('alert_maintenance_windows_duration_minutes_check', sql`${t.duration_minutes} BETWEEN 1 AND 10080`),
  ],
);
export type AlertMaintenanceWindowRow = typeof alertMaintenanceWindows.$inferSelect;
