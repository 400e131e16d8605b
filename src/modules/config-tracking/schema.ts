/**
 * Drizzle declarations of configuration_snapshots and configuration_change_events
 * (src/db/migrations/0025_config_tracking.sql) and the tuples shared by the
 * columns, their CHECKs and the routes' Zod schemas. Property names are the
 * column names, so a raw `SELECT *` row has the `$inferSelect` shape.
 */
import { sql } from 'drizzle-orm';
import { boolean, check, index, integer, jsonb, numeric, pgTable, text, uniqueIndex, uuid, varchar } from 'drizzle-orm/pg-core';
import { sqlList, tstz } from '../../db/drizzle.ts';
import { nodes } from '../nodes/schema.ts';

/** What kind of configuration a file holds (detection rules: detect.ts). `text`: none recognised. */
export const CONFIG_TYPES = ['nginx', 'docker-compose', 'sshd_config', 'systemd', 'env', 'yaml', 'json', 'ini', 'text'] as const;
export type ConfigType = (typeof CONFIG_TYPES)[number];

/** How a change was judged (rules.ts), lowest first. */
export const RISK_LEVELS = ['LOW', 'MEDIUM', 'HIGH'] as const;
export type RiskLevel = (typeof RISK_LEVELS)[number];

/** 'created': the first snapshot of a file; 'modified': its content changed. An unchanged file stores nothing. */
export const CHANGE_TYPES = ['created', 'modified'] as const;
export type ChangeType = (typeof CHANGE_TYPES)[number];

export const COLLECTION_SOURCES = ['ssh', 'push'] as const;

export const configurationSnapshots = pgTable(
  'configuration_snapshots',
  {
    id: uuid().primaryKey().defaultRandom(),
    node_id: text()
      .notNull()
      .references(() => nodes.id, { onDelete: 'cascade' }),
    time: tstz().notNull(),
    config_type: varchar({ length: 50, enum: CONFIG_TYPES }).notNull(),
    file_path: varchar({ length: 1024 }).notNull(),
    content_hash: varchar({ length: 64 }).notNull(),
    file_size_bytes: integer(),
    raw_content: text().notNull(),
    parsed_data: jsonb().$type<unknown>(),
    change_type: varchar({ length: 20, enum: CHANGE_TYPES }).notNull(),
    previous_hash: varchar({ length: 64 }),
    file_modified_time: tstz(),
    collection_source: varchar({ length: 50, enum: COLLECTION_SOURCES }).notNull(),
    detection_latency_ms: integer(),
    affected_services: jsonb().$type<string[]>(),
    requires_restart: boolean().default(false),
    risk_level: varchar({ length: 20, enum: RISK_LEVELS }).default(sql`'MEDIUM'::character varying`),
  },
  (t) => [
    check('configuration_snapshots_config_type_check', sql`${t.config_type} IN (${sqlList(CONFIG_TYPES)})`),
    check('configuration_snapshots_file_path_check', sql`${t.file_path} LIKE '/%'`),
    check('configuration_snapshots_content_hash_check', sql`${t.content_hash} ~ '^[0-9a-f]{64}$'`),
    check('configuration_snapshots_change_type_check', sql`${t.change_type} IN (${sqlList(CHANGE_TYPES)})`),
    check('configuration_snapshots_collection_source_check', sql`${t.collection_source} IN (${sqlList(COLLECTION_SOURCES)})`),
    check('configuration_snapshots_risk_level_check', sql`${t.risk_level} IN (${sqlList(RISK_LEVELS)})`),
    index('configuration_snapshots_file_idx').on(t.node_id, t.file_path, t.time.desc()),
    uniqueIndex('configuration_snapshots_one_created_idx').on(t.node_id, t.file_path).where(sql`${t.change_type} = 'created'`),
  ],
);

export type ConfigSnapshotRow = typeof configurationSnapshots.$inferSelect;

export const configurationChangeEvents = pgTable(
  'configuration_change_events',
  {
    id: uuid().primaryKey().defaultRandom(),
    node_id: text()
      .notNull()
      .references(() => nodes.id, { onDelete: 'cascade' }),
    snapshot_id: uuid()
      .notNull()
      .unique('configuration_change_events_snapshot_id_key')
      .references(() => configurationSnapshots.id, { onDelete: 'cascade' }),
    time: tstz().notNull(),
    config_type: varchar({ length: 50, enum: CONFIG_TYPES }).notNull(),
    file_path: varchar({ length: 1024 }).notNull(),
    change_type: varchar({ length: 20, enum: CHANGE_TYPES }).notNull(),
    affected_services: jsonb().$type<string[]>(),
    service_dependencies: jsonb().$type<Record<string, string[]>>(),
    requires_restart: boolean().default(false),
    restart_services: jsonb().$type<string[]>(),
    changes_summary: jsonb().$type<Record<string, unknown>>(),
    risk_level: varchar({ length: 20, enum: RISK_LEVELS }).default(sql`'MEDIUM'::character varying`),
    /** numeric(3, 2) in the migration (the comparison reads the type without its precision). */
    confidence_score: numeric({ mode: 'number' }),
    processed: boolean().default(false),
    notifications_sent: jsonb().$type<unknown[]>(),
  },
  (t) => [
    check('configuration_change_events_config_type_check', sql`${t.config_type} IN (${sqlList(CONFIG_TYPES)})`),
    check('configuration_change_events_change_type_check', sql`${t.change_type} IN (${sqlList(CHANGE_TYPES)})`),
    check('configuration_change_events_risk_level_check', sql`${t.risk_level} IN (${sqlList(RISK_LEVELS)})`),
    check('configuration_change_events_confidence_score_check', sql`${t.confidence_score} BETWEEN 0 AND 1`),
    index('configuration_change_events_time_idx').on(t.time.desc()),
    index('configuration_change_events_node_time_idx').on(t.node_id, t.time.desc()),
    index('configuration_change_events_unprocessed_idx').on(t.node_id, t.file_path).where(sql`NOT ${t.processed}`),
  ],
);

export type ConfigChangeEventRow = typeof configurationChangeEvents.$inferSelect;
