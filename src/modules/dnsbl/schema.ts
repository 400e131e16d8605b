/**
 * Drizzle declarations of the DNSBL tables (src/db/migrations/0022_sending_ips.sql):
 * `dnsbl_tiers` (check interval and auto-response per tier), `dnsbl_zones` (the lists
 * checked) and `dnsbl_listings` (the current state of each IP × zone). The history of
 * every query is the blacklist_checks stream (./stream.ts).
 */
import { sql } from 'drizzle-orm';
import { boolean, check, inet, integer, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
import { sqlList, tstz } from '../../db/drizzle.ts';
import { sendingIps } from '../sending-ips/schema.ts';
import { AUTO_RESPONSES, DNSBL_TIERS } from './zones.ts';

export const LISTING_STATUSES = ['listed', 'clean', 'error'] as const;

export const dnsblTiers = pgTable(
  'dnsbl_tiers',
  {
    tier: text({ enum: DNSBL_TIERS }).primaryKey(),
    check_interval_seconds: integer().notNull(),
    auto_response: text({ enum: AUTO_RESPONSES }).notNull(),
  },
  (t) => [
    check('dnsbl_tiers_tier_check', sql`${t.tier} IN (${sqlList(DNSBL_TIERS)})`),
    check('dnsbl_tiers_auto_response_check', sql`${t.auto_response} IN (${sqlList(AUTO_RESPONSES)})`),
    check('dnsbl_tiers_check_interval_seconds_check', sql`${t.check_interval_seconds} BETWEEN 60 AND 604800`),
  ],
);

export const dnsblZones = pgTable(
  'dnsbl_zones',
  {
    zone: text().primaryKey(),
    tier: text({ enum: DNSBL_TIERS }).notNull().references(() => dnsblTiers.tier),
    enabled: boolean().notNull().default(true),
    ipv6: boolean().notNull().default(false),
    delist_url: text(),
    description: text().notNull().default(''),
    created_at: tstz().notNull().defaultNow(),
    updated_at: tstz().notNull().defaultNow(),
  },
  (t) => [check('dnsbl_zones_tier_check', sql`${t.tier} IN (${sqlList(DNSBL_TIERS)})`), check('dnsbl_zones_zone_check', sql`${t.zone} ~ '^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$' AND length(${t.zone}) <= 253`)],
);
export type DnsblZoneRow = typeof dnsblZones.$inferSelect;

export const dnsblListings = pgTable(
  'dnsbl_listings',
  {
    ip: inet().notNull().references(() => sendingIps.ip, { onDelete: 'cascade' }),
    zone: text().notNull().references(() => dnsblZones.zone, { onDelete: 'cascade', onUpdate: 'cascade' }),
    listed: boolean(),
    listed_since: tstz(),
    delisted_at: tstz(),
    last_status: text({ enum: LISTING_STATUSES }).notNull(),
    response: text(),
    reason: text(),
    error: text(),
    checked_at: tstz().notNull(),
  },
  (t) => [primaryKey({ columns: [t.ip, t.zone] }), check('dnsbl_listings_last_status_check', sql`${t.last_status} IN (${sqlList(LISTING_STATUSES)})`)],
);
