/**
 * Drizzle declaration of the node inventory table created by
 * src/db/migrations/0001_core.sql. It gives the row type of the nodes service
 * and the status tuple shared by the column, its CHECK and the routes' Zod
 * schemas; src/modules/tables.test.ts compares it with the migrated database.
 * Property names are the column names, so a raw `SELECT *` row has the
 * `$inferSelect` shape.
 */
import { sql } from 'drizzle-orm';
import { check, index, integer, jsonb, pgTable, text } from 'drizzle-orm/pg-core';
import { sqlList, tstz } from '../../db/drizzle.ts';

/** Administrative status of a node (set by operators; health is derived from last_seen). */
export const NODE_STATUSES = ['active', 'maintenance', 'retired'] as const;
export type NodeStatus = (typeof NODE_STATUSES)[number];

export const nodes = pgTable(
  'nodes',
  {
    id: text().primaryKey(),
    hostname: text(),
    role: text(),
    status: text({ enum: NODE_STATUSES }).notNull().default('active'),
    addresses: jsonb().notNull().default({}).$type<Record<string, unknown>>(),
    labels: jsonb().notNull().default({}).$type<Record<string, unknown>>(),
    metadata: jsonb().notNull().default({}).$type<Record<string, unknown>>(),
    expected_interval_seconds: integer(),
    registered_at: tstz().notNull().defaultNow(),
    updated_at: tstz().notNull().defaultNow(),
    last_seen: tstz(),
  },
  (t) => [
    check('nodes_status_check', sql`${t.status} IN (${sqlList(NODE_STATUSES)})`),
    index('nodes_role_idx').on(t.role),
    index('nodes_last_seen_idx').on(t.last_seen.desc()),
  ],
);

export type NodeRow = typeof nodes.$inferSelect;
