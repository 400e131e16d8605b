/**
 * Drizzle declaration of the node inventory table created by
 * src/db/migrations/0001_core.sql. It gives the row type of the nodes service
 * and the status tuple shared by the column, its CHECK and the routes' Zod
 * schemas; src/modules/tables.test.ts compares it with the migrated database.
 * Property names are the column names, so a raw `SELECT *` row has the
 * `$inferSelect` shape.
 */
import { sql } from 'drizzle-orm';
import { boolean, check, doublePrecision, index, integer, jsonb, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
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

/** The processes an agent watches on a node; its latest report replaces the previous one (migration 0012). */
export const nodeProcesses = pgTable(
  'node_processes',
  {
    node_id: text()
      .notNull()
      .references(() => nodes.id, { onDelete: 'cascade' }),
    name: text().notNull(),
    running: boolean().notNull(),
    pid: integer(),
    cpu_percent: doublePrecision(),
    memory_mb: doublePrecision(),
    reported_at: tstz().notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.node_id, t.name] }),
    check('node_processes_name_check', sql`length(${t.name}) BETWEEN 1 AND 128`),
    check('node_processes_pid_check', sql`${t.pid} >= 0`),
    check('node_processes_cpu_percent_check', sql`${t.cpu_percent} >= 0`),
    check('node_processes_memory_mb_check', sql`${t.memory_mb} >= 0`),
  ],
);

export type NodeProcessRow = typeof nodeProcesses.$inferSelect;
