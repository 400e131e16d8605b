/**
 * Drizzle declarations of the sending-domain tables (src/db/migrations/0023_sending_domains.sql):
 * `sending_domains` (the requirements' §6.2 columns plus the checker's: DKIM selectors, the last
 * check) and `sending_domain_checks` (every check with its time and evidence). The enum tuples
 * are shared by the columns, their CHECKs and the routes' Zod schemas; src/modules/tables.test.ts
 * compares the declarations with the migrated database. Property names are the column names.
 */
import { sql } from 'drizzle-orm';
import { bigint, boolean, check, index, integer, jsonb, pgTable, text } from 'drizzle-orm/pg-core';
import { sqlList, tstz } from '../../db/drizzle.ts';
import type { CheckEvidence } from './dns-check.ts';

/** §11.1: Active / Paused / Blocked. */
export const DOMAIN_STATUSES = ['active', 'paused', 'blocked'] as const;
export type DomainStatus = (typeof DOMAIN_STATUSES)[number];
/** DMARC `p=` values (RFC 7489), weakest first. */
export const DMARC_POLICIES = ['none', 'quarantine', 'reject'] as const;
export type DmarcPolicy = (typeof DMARC_POLICIES)[number];
/** A check: `ok` = every lookup was answered; `error` = some lookup was not (timeout, SERVFAIL, refused). */
export const CHECK_OUTCOMES = ['ok', 'error'] as const;
export type CheckOutcome = (typeof CHECK_OUTCOMES)[number];
/** What one part (SPF, DKIM, DMARC) of a check found; `error`: DNS did not answer, nothing is known. */
export const PART_STATES = ['configured', 'not_configured', 'error'] as const;
export type PartState = (typeof PART_STATES)[number];

export const MAX_SELECTORS = 20;

export const sendingDomains = pgTable(
  'sending_domains',
  {
    domain: text().primaryKey(),
    dkim_configured: boolean().notNull().default(false),
    spf_configured: boolean().notNull().default(false),
    dmarc_configured: boolean().notNull().default(false),
    dmarc_policy: text({ enum: DMARC_POLICIES }),
    status: text({ enum: DOMAIN_STATUSES }).notNull().default('active'),
    daily_limit: integer(),
    dkim_selectors: text().array().notNull().default(sql`'{}'::text[]`),
    last_checked_at: tstz(),
    last_check_outcome: text({ enum: CHECK_OUTCOMES }),
    last_check: jsonb().$type<CheckEvidence>(),
    consecutive_check_errors: integer().notNull().default(0),
    created_at: tstz().notNull().defaultNow(),
    updated_at: tstz().notNull().defaultNow(),
  },
  (t) => [
    check('sending_domains_domain_check', sql`length(${t.domain}) BETWEEN 3 AND 253 AND ${t.domain} = lower(${t.domain})`),
    check('sending_domains_dmarc_policy_check', sql`${t.dmarc_policy} IN (${sqlList(DMARC_POLICIES)})`),
    check('sending_domains_status_check', sql`${t.status} IN (${sqlList(DOMAIN_STATUSES)})`),
    check('sending_domains_daily_limit_check', sql`${t.daily_limit} >= 0`),
    check('sending_domains_last_check_outcome_check', sql`${t.last_check_outcome} IN (${sqlList(CHECK_OUTCOMES)})`),
    check('sending_domains_dkim_selectors_check', sql`cardinality(${t.dkim_selectors}) <= ${sql.raw(String(MAX_SELECTORS))}`),
    index('sending_domains_last_checked_at_idx').on(t.last_checked_at.asc().nullsFirst()),
  ],
);
export type SendingDomainRow = typeof sendingDomains.$inferSelect;

export const sendingDomainChecks = pgTable(
  'sending_domain_checks',
  {
    id: bigint({ mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    domain: text()
      .notNull()
      .references(() => sendingDomains.domain, { onDelete: 'cascade' }),
    checked_at: tstz().notNull(),
    outcome: text({ enum: CHECK_OUTCOMES }).notNull(),
    spf_state: text({ enum: PART_STATES }).notNull(),
    dkim_state: text({ enum: PART_STATES }).notNull(),
    dmarc_state: text({ enum: PART_STATES }).notNull(),
    dmarc_policy: text({ enum: DMARC_POLICIES }),
    evidence: jsonb().notNull().$type<CheckEvidence>(),
    duration_ms: integer().notNull(),
  },
  (t) => [
    check('sending_domain_checks_outcome_check', sql`${t.outcome} IN (${sqlList(CHECK_OUTCOMES)})`),
    check('sending_domain_checks_spf_state_check', sql`${t.spf_state} IN (${sqlList(PART_STATES)})`),
    check('sending_domain_checks_dkim_state_check', sql`${t.dkim_state} IN (${sqlList(PART_STATES)})`),
    check('sending_domain_checks_dmarc_state_check', sql`${t.dmarc_state} IN (${sqlList(PART_STATES)})`),
    check('sending_domain_checks_dmarc_policy_check', sql`${t.dmarc_policy} IN (${sqlList(DMARC_POLICIES)})`),
    index('sending_domain_checks_domain_checked_at_idx').on(t.domain, t.checked_at.desc()),
    index('sending_domain_checks_checked_at_idx').on(t.checked_at),
  ],
);
export type SendingDomainCheckRow = typeof sendingDomainChecks.$inferSelect;
