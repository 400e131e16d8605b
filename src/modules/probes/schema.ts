/**
 * Drizzle declarations of the probes tables (src/db/migrations/0017_probes.sql):
 * `monitors` (what to probe and its confirmed state), `service_health_checks`
 * (one row per probe run, the service-health seed's columns exactly) and
 * `service_health_hourly` (hourly counts for the overview). The enum tuples
 * are shared by the columns, their CHECKs and the routes' Zod schemas;
 * src/modules/tables.test.ts compares the declarations with the migrated
 * database. Property names are the column names, so a raw `SELECT *` row has
 * the `$inferSelect` shape.
 */
import { sql } from 'drizzle-orm';
import { boolean, check, index, integer, jsonb, pgTable, primaryKey, text, uuid, varchar } from 'drizzle-orm/pg-core';
import { sqlList, tstz } from '../../db/drizzle.ts';
import { SERVICE_STATUSES } from '../alerts/contracts.ts';

export { SERVICE_STATUSES, type ServiceStatus } from '../alerts/contracts.ts';

/** What a monitor probes. */
export const MONITOR_KINDS = ['http', 'tcp', 'dns', 'tls', 'heartbeat'] as const;
export type MonitorKind = (typeof MONITOR_KINDS)[number];

/** DNS record types a dns monitor may ask for. */
export const DNS_RECORD_TYPES = ['A', 'AAAA', 'CNAME', 'MX', 'NS', 'TXT'] as const;
export type DnsRecordType = (typeof DNS_RECORD_TYPES)[number];

export const MONITOR_NAME_MAX = 100;
export const MIN_INTERVAL_SECONDS = 10;
export const MAX_INTERVAL_SECONDS = 86_400;
export const MIN_TIMEOUT_MS = 100;
export const MAX_TIMEOUT_MS = 60_000;

export const monitors = pgTable(
  'monitors',
  {
    id: integer().primaryKey().generatedAlwaysAsIdentity(),
    name: text().notNull().unique('monitors_name_key'),
    kind: text({ enum: MONITOR_KINDS }).notNull(),
    target: text().notNull(),
    interval_seconds: integer().notNull().default(60),
    timeout_ms: integer().notNull().default(10000),
    enabled: boolean().notNull().default(true),
    labels: jsonb().notNull().default({}).$type<Record<string, string>>(),
    accepted_statuses: text().notNull().default('200-299'),
    max_redirects: integer().notNull().default(5),
    body_keyword: text(),
    json_path: text(),
    json_value: text(),
    degraded_above_ms: integer(),
    dns_record_type: text({ enum: DNS_RECORD_TYPES }),
    dns_expected: text(),
    dns_server: text(),
    cert_min_days: integer(),
    tls_allow_self_signed: boolean().notNull().default(false),
    heartbeat_grace_seconds: integer().notNull().default(0),
    channel_ids: integer().array().notNull().default(sql`'{}'::integer[]`),
    heartbeat_token_hash: text().unique('monitors_heartbeat_token_hash_key'),
    last_ping_at: tstz(),
    failure_threshold: integer().notNull().default(3),
    success_threshold: integer().notNull().default(2),
    status: text({ enum: SERVICE_STATUSES }),
    status_since: tstz(),
    consecutive_failures: integer().notNull().default(0),
    consecutive_successes: integer().notNull().default(0),
    last_result: text({ enum: SERVICE_STATUSES }),
    result_streak: integer().notNull().default(0),
    last_checked_at: tstz(),
    next_due_at: tstz(),
    created_at: tstz().notNull().defaultNow(),
    updated_at: tstz().notNull().defaultNow(),
  },
  (t) => [
    check('monitors_name_check', sql`length(${t.name}) BETWEEN 1 AND ${sql.raw(String(MONITOR_NAME_MAX))}`),
    check('monitors_kind_check', sql`${t.kind} IN (${sqlList(MONITOR_KINDS)})`),
    check('monitors_target_check', sql`length(${t.target}) BETWEEN 1 AND 2048`),
    check('monitors_interval_seconds_check', sql`${t.interval_seconds} BETWEEN 10 AND 86400`),
    check('monitors_timeout_ms_check', sql`${t.timeout_ms} BETWEEN 100 AND 60000`),
    check('monitors_max_redirects_check', sql`${t.max_redirects} BETWEEN 0 AND 10`),
    check('monitors_dns_record_type_check', sql`${t.dns_record_type} IN (${sqlList(DNS_RECORD_TYPES)})`),
    check('monitors_status_check', sql`${t.status} IN (${sqlList(SERVICE_STATUSES)})`),
    check('monitors_last_result_check', sql`${t.last_result} IN (${sqlList(SERVICE_STATUSES)})`),
    check('monitors_thresholds_check', sql`${t.failure_threshold} BETWEEN 1 AND 100 AND ${t.success_threshold} BETWEEN 1 AND 100`),
    index('monitors_next_due_at_idx').on(t.next_due_at).where(sql`${t.enabled}`),
  ],
);

export type MonitorRow = typeof monitors.$inferSelect;

/** One probe run. Row-level security is enabled on it (policy for Opsdeck's own role; migration 0017). */
export const serviceHealthChecks = pgTable(
  'service_health_checks',
  {
    id: uuid().primaryKey().defaultRandom(),
    service_name: varchar({ length: 100 }).notNull(),
    status: text({ enum: SERVICE_STATUSES }).notNull(),
    latency_ms: integer(),
    /** When the probe ran (distinct from created_at, when the row was stored). */
    checked_at: tstz().default(sql`CURRENT_TIMESTAMP`),
    error_message: text(),
    probe_details: jsonb().$type<Record<string, unknown>>(),
    created_at: tstz().default(sql`CURRENT_TIMESTAMP`),
  },
  (t) => [
    check('service_health_checks_status_check', sql`${t.status} IN (${sqlList(SERVICE_STATUSES)})`),
    index('idx_service_health_checks_created_at').on(t.created_at),
    index('idx_service_health_checks_service_created').on(t.service_name, t.created_at),
  ],
).enableRLS();

export type ServiceHealthCheckRow = typeof serviceHealthChecks.$inferSelect;

/** Checks counted per service and hour (by checked_at), for the overview's uptime windows. */
export const serviceHealthHourly = pgTable(
  'service_health_hourly',
  {
    service_name: varchar({ length: 100 }).notNull(),
    hour: tstz().notNull(),
    healthy: integer().notNull().default(0),
    degraded: integer().notNull().default(0),
    down: integer().notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.service_name, t.hour] })],
);
