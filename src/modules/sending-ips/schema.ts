/**
 * Drizzle declarations of the sending-IP tables (src/db/migrations/0022_sending_ips.sql):
 * `sending_ips` (§6.2 of the mail-cluster requirements, column for column, plus the
 * warm-up, auto-response and PTR columns) and `warmup_plans` (daily-limit schedules
 * with their gates), `ip_pools` (0028_ip_pools.sql). The status tuple is shared by the column, its CHECK and the
 * routes' Zod schemas. Property names are the column names, so a raw `SELECT *` row
 * has the `$inferSelect` shape.
 */
import { sql } from 'drizzle-orm';
import { boolean, check, cidr, date, doublePrecision, index, inet, integer, jsonb, pgTable, smallint, text } from 'drizzle-orm/pg-core';
import { sqlList, tstz } from '../../db/drizzle.ts';
import { nodes } from '../nodes/schema.ts';

/** §6.2: active, warming, paused, blacklisted, retired. */
export const IP_STATUSES = ['active', 'warming', 'paused', 'blacklisted', 'retired'] as const;
export type IpStatus = (typeof IP_STATUSES)[number];

export const warmupPlans = pgTable(
  'warmup_plans',
  {
    id: integer().primaryKey().generatedAlwaysAsIdentity(),
    name: text().notNull().unique('warmup_plans_name_key'),
    description: text().notNull().default(''),
    schedule: integer().array().notNull(),
    max_bounce_percent: doublePrecision().notNull().default(2),
    max_complaint_percent: doublePrecision().notNull().default(0.1),
    min_daily_events: integer().notNull().default(1),
    builtin: boolean().notNull().default(false),
    created_at: tstz().notNull().defaultNow(),
    updated_at: tstz().notNull().defaultNow(),
  },
  (t) => [
    check('warmup_plans_name_check', sql`length(${t.name}) BETWEEN 1 AND 100`),
    check('warmup_plans_schedule_check', sql`cardinality(${t.schedule}) BETWEEN 1 AND 365`),
    check('warmup_plans_gates_check', sql`${t.max_bounce_percent} BETWEEN 0 AND 100 AND ${t.max_complaint_percent} BETWEEN 0 AND 100 AND ${t.min_daily_events} >= 0`),
  ],
);
export type WarmupPlanRow = typeof warmupPlans.$inferSelect;

/**
 * IP pools (§10.4): named groups of sending IPs ("transactional", "marketing", …) that
 * ZoneMTA's sending zones send from (its `pools` configuration; Opsdeck writes it).
 */
export const ipPools = pgTable(
  'ip_pools',
  {
    name: text().primaryKey(),
    description: text().notNull().default(''),
    created_at: tstz().notNull().defaultNow(),
    updated_at: tstz().notNull().defaultNow(),
  },
  (t) => [
    check('ip_pools_name_check', sql`${t.name} ~ '^[a-z0-9][a-z0-9_-]{0,62}$'`),
    check('ip_pools_description_check', sql`length(${t.description}) <= 500`),
  ],
);
export type IpPoolRow = typeof ipPools.$inferSelect;

export const sendingIps = pgTable(
  'sending_ips',
  {
    ip: inet().primaryKey(),
    ip_version: smallint().notNull(),
    node_id: text().references(() => nodes.id, { onDelete: 'set null' }),
    subnet: cidr(),
    ptr_record: text(),
    status: text({ enum: IP_STATUSES }).notNull().default('active'),
    warmup_start: date({ mode: 'string' }),
    warmup_day: integer().notNull().default(0),
    daily_limit: integer(),
    current_daily_sent: integer().notNull().default(0),
    blacklist_count: integer().notNull().default(0),
    reputation_score: integer().notNull().default(50),
    last_blacklist_check: tstz(),
    notes: text(),
    created_at: tstz().notNull().defaultNow(),
    updated_at: tstz().notNull().defaultNow(),
    status_reason: text(),
    status_changed_at: tstz(),
    warmup_plan_id: integer().references(() => warmupPlans.id, { onDelete: 'restrict' }),
    warmup_held: boolean().notNull().default(false),
    warmup_held_reason: text(),
    warmup_evaluated_on: date({ mode: 'string' }),
    warmup_gate: jsonb().$type<Record<string, unknown>>(),
    ptr_confirmed: boolean(),
    ptr_checked_at: tstz(),
    ptr_error: text(),
    pool: text().references(() => ipPools.name, { onDelete: 'restrict', onUpdate: 'cascade' }),
    pool_ratio: doublePrecision(),
  },
  (t) => [
    check('sending_ips_status_check', sql`${t.status} IN (${sqlList(IP_STATUSES)})`),
    check('sending_ips_ip_version_check', sql`${t.ip_version} = family(${t.ip}) AND masklen(${t.ip}) = CASE WHEN family(${t.ip}) = 4 THEN 32 ELSE 128 END`),
    check('sending_ips_subnet_check', sql`${t.subnet} IS NULL OR ${t.ip} <<= ${t.subnet}`),
    check('sending_ips_counts_check', sql`${t.warmup_day} >= 0 AND ${t.current_daily_sent} >= 0 AND ${t.blacklist_count} >= 0 AND (${t.daily_limit} IS NULL OR ${t.daily_limit} >= 0)`),
    check('sending_ips_reputation_score_check', sql`${t.reputation_score} BETWEEN 0 AND 100`),
    check('sending_ips_notes_check', sql`${t.notes} IS NULL OR length(${t.notes}) <= 2000`),
    index('idx_sending_ips_node').on(t.node_id, t.ip),
    index('idx_sending_ips_status').on(t.status, t.ip),
    check('sending_ips_pool_ratio_check', sql`${t.pool_ratio} IS NULL OR (${t.pool_ratio} > 0 AND ${t.pool_ratio} <= 1)`),
    index('idx_sending_ips_subnet').on(t.subnet),
    index('idx_sending_ips_pool').on(t.pool, t.ip),
  ],
);
export type SendingIpRow = typeof sendingIps.$inferSelect;
