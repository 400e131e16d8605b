/**
 * Regular tables of home-lab collection (migration 0024, ADR 0022): how Opsdeck reaches a
 * device over SSH (sealed credentials, pinned host key, config paths), its collection
 * schedule per data type, the collector's cache metadata and its own performance per
 * time bucket. Devices are `nodes`; these tables are keyed by the node id.
 */
import { sql } from 'drizzle-orm';
import { boolean, check, doublePrecision, index, integer, jsonb, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
import { sqlList, tstz } from '../../db/drizzle.ts';
import { nodes } from '../nodes/schema.ts';
import { COLLECTION_METHODS, DATA_TYPES } from './streams.ts';

export const AUTH_KINDS = ['uploaded', 'generated'] as const;
export const HOST_KEY_STATES = ['unpinned', 'pinned', 'mismatch'] as const;
export type HostKeyState = (typeof HOST_KEY_STATES)[number];
export const LAST_STATUSES = ['success', 'failed', 'partial'] as const;

export const deviceSshTargets = pgTable(
  'device_ssh_targets',
  {
    node_id: text()
      .primaryKey()
      .references(() => nodes.id, { onDelete: 'cascade' }),
    device_type: text(),
    address: text().notNull(),
    port: integer().notNull().default(22),
    username: text().notNull(),
    auth_kind: text({ enum: AUTH_KINDS }).notNull(),
    /** SecretBox-sealed private key (context `device_ssh_targets:<node>:private_key`). */
    private_key_sealed: text().notNull(),
    passphrase_sealed: text(),
    /** OpenSSH public key line (shown for authorized_keys). */
    public_key: text().notNull(),
    host_key_state: text({ enum: HOST_KEY_STATES }).notNull().default('unpinned'),
    host_key_sha256: text(),
    host_key_pinned_at: tstz(),
    /** The key the device presented when it did not match the pin. */
    presented_host_key_sha256: text(),
    presented_at: tstz(),
    config_paths: jsonb().notNull().default([]).$type<string[]>(),
    enabled: boolean().notNull().default(true),
    last_collection_at: tstz(),
    last_successful_collection: tstz(),
    last_collection_status: text({ enum: LAST_STATUSES }),
    last_error: text(),
    created_at: tstz().notNull().defaultNow(),
    updated_at: tstz().notNull().defaultNow(),
  },
  (t) => [
    check('device_ssh_targets_port_check', sql`${t.port} BETWEEN 1 AND 65535`),
    check('device_ssh_targets_auth_kind_check', sql`${t.auth_kind} IN (${sqlList(AUTH_KINDS)})`),
    check('device_ssh_targets_host_key_state_check', sql`${t.host_key_state} IN (${sqlList(HOST_KEY_STATES)})`),
    check('device_ssh_targets_last_collection_status_check', sql`${t.last_collection_status} IN (${sqlList(LAST_STATUSES)})`),
  ],
);
export type DeviceSshTargetRow = typeof deviceSshTargets.$inferSelect;

export const deviceCollectionSchedules = pgTable(
  'device_collection_schedules',
  {
    node_id: text()
      .notNull()
      .references(() => nodes.id, { onDelete: 'cascade' }),
    data_type: text({ enum: DATA_TYPES }).notNull(),
    interval_seconds: integer().notNull(),
    enabled: boolean().notNull().default(true),
    next_due_at: tstz().notNull(),
    last_run_at: tstz(),
  },
  (t) => [
    primaryKey({ columns: [t.node_id, t.data_type] }),
    check('device_collection_schedules_data_type_check', sql`${t.data_type} IN (${sqlList(DATA_TYPES)})`),
    check('device_collection_schedules_interval_check', sql`${t.interval_seconds} BETWEEN 10 AND 86400`),
    index('device_collection_schedules_due_idx').on(t.next_due_at),
  ],
);

export const cacheMetadata = pgTable(
  'cache_metadata',
  {
    cache_key: text().primaryKey(),
    node_id: text()
      .notNull()
      .references(() => nodes.id, { onDelete: 'cascade' }),
    data_type: text({ enum: DATA_TYPES }).notNull(),
    created_at: tstz().notNull(),
    last_accessed: tstz().notNull(),
    expires_at: tstz().notNull(),
    access_count: integer().notNull().default(1),
    data_size_bytes: integer(),
    ttl_seconds: integer().notNull(),
    invalidated: boolean().notNull().default(false),
    invalidated_at: tstz(),
    invalidation_reason: text(),
    collection_method: text({ enum: COLLECTION_METHODS }),
    command_hash: text().notNull(),
  },
  (t) => [
    check('cache_metadata_data_type_check', sql`${t.data_type} IN (${sqlList(DATA_TYPES)})`),
    check('cache_metadata_collection_method_check', sql`${t.collection_method} IN (${sqlList(COLLECTION_METHODS)})`),
    index('cache_metadata_node_idx').on(t.node_id),
  ],
);
export type CacheMetadataRow = typeof cacheMetadata.$inferSelect;

export const servicePerformanceMetrics = pgTable(
  'service_performance_metrics',
  {
    time: tstz().notNull(),
    service_name: text().notNull(),
    operations_total: integer().notNull().default(0),
    operations_successful: integer().notNull().default(0),
    operations_failed: integer().notNull().default(0),
    operations_cached: integer().notNull().default(0),
    duration_sum_ms: doublePrecision().notNull().default(0),
    avg_duration_ms: doublePrecision(),
    max_duration_ms: integer(),
    min_duration_ms: integer(),
    ssh_connections_created: integer().notNull().default(0),
    ssh_connections_reused: integer().notNull().default(0),
    ssh_commands_executed: integer().notNull().default(0),
    cache_hit_ratio: doublePrecision(),
    cache_size_entries: integer(),
    cache_evictions: integer().notNull().default(0),
    data_collected_bytes: doublePrecision().notNull().default(0),
    database_writes: integer().notNull().default(0),
    error_types: jsonb().notNull().default({}).$type<Record<string, number>>(),
    top_errors: jsonb().notNull().default([]).$type<{ message: string; count: number }[]>(),
  },
  (t) => [primaryKey({ columns: [t.time, t.service_name] })],
);
export type ServicePerformanceRow = typeof servicePerformanceMetrics.$inferSelect;

export const HOMELAB_TABLES = [deviceSshTargets, deviceCollectionSchedules, cacheMetadata, servicePerformanceMetrics] as const;
