/**
 * Migration 0013: the requirements' §6.1 metric columns under their names and units,
 * and the mail-cluster agent's MongoDB fields as columns (docs/schema.md). Written to
 * src/db/migrations by `node --import tsx scripts/gen-column-migration.ts 0013_prd_metric_columns`.
 */
import type { ColumnChange } from '../../src/timeseries/ddl.ts';

export const common = `-- Rollup buckets a column change could not recompute (timescale tier: buckets older than the
-- oldest raw row of a family whose continuous aggregates were recreated), one JSON row each.
CREATE TABLE opsdeck_rollup_archive (
  relation text NOT NULL,
  bucket timestamptz NOT NULL,
  row jsonb NOT NULL,
  archived_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX opsdeck_rollup_archive_relation_bucket_idx ON opsdeck_rollup_archive (relation, bucket);
COMMENT ON TABLE opsdeck_rollup_archive IS 'Rollup buckets kept when a family''s continuous aggregates were recreated and the raw rows no longer covered them (docs/adr/0010-changing-family-columns.md)';

-- The last totals a sender reported per node and metrics type (mail-cluster agent: counters
-- since the server started), so Opsdeck stores the per-interval increase.
CREATE TABLE agent_counter_totals (
  node_id text NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
  agent_type text NOT NULL CHECK (agent_type IN ('mongodb', 'redis', 'zonemta', 'rspamd')),
  series text NOT NULL DEFAULT '' CHECK (length(series) <= 128),
  sample_time timestamptz NOT NULL,
  totals jsonb NOT NULL CHECK (jsonb_typeof(totals) = 'object'),
  PRIMARY KEY (node_id, agent_type, series)
);
`;

export const changes: Record<string, ColumnChange> = {
  metrics_system: {
    renamed: {
      disk_read_bytes_per_sec: 'disk_read_bytes_sec',
      disk_write_bytes_per_sec: 'disk_write_bytes_sec',
      net_rx_bytes_per_sec: 'net_rx_bytes_sec',
      net_tx_bytes_per_sec: 'net_tx_bytes_sec',
    },
    added: ['ram_percent', 'disk_percent', 'disk_free_bytes', 'net_rx_errors', 'net_tx_errors'],
    backfill: {
      ram_percent: 'CASE WHEN ram_total_bytes > 0 THEN least(100, 100.0 * ram_used_bytes / ram_total_bytes) END',
      disk_percent: 'CASE WHEN disk_total_bytes > 0 THEN least(100, 100.0 * disk_used_bytes / disk_total_bytes) END',
      disk_free_bytes: 'CASE WHEN disk_total_bytes >= disk_used_bytes THEN disk_total_bytes - disk_used_bytes END',
    },
  },
  metrics_mongodb: {
    added: [
      'wt_cache_dirty_bytes',
      'wt_cache_timeout_count',
      'wt_eviction_calls',
      'conn_app_imap',
      'conn_app_smtp',
      'conn_app_internal',
      'conn_app_monitoring',
      'conn_app_other',
      'gridfs_messages_bytes',
      'gridfs_attach_files_bytes',
      'gridfs_attach_chunks_bytes',
      'gridfs_storage_files_bytes',
      'gridfs_storage_chunks_bytes',
    ],
  },
  metrics_redis: {
    renamed: { used_memory_bytes: 'memory_used_bytes', maxmemory_bytes: 'memory_max_bytes' },
    added: ['hit_rate'],
    backfill: { hit_rate: 'CASE WHEN keyspace_hits + keyspace_misses > 0 THEN 100.0 * keyspace_hits / (keyspace_hits + keyspace_misses) END' },
  },
  metrics_zonemta: {
    added: ['mta_role', 'queue_size', 'active_deliveries', 'sent_total', 'delivered_total', 'bounced_total', 'deferred_total', 'rejected_total', 'connections_active', 'throughput_per_sec'],
    backfill: {
      queue_size: 'CASE WHEN num_nonnulls(queue_queued, queue_deferred, queue_sending) > 0 THEN coalesce(queue_queued, 0) + coalesce(queue_deferred, 0) + coalesce(queue_sending, 0) END',
      active_deliveries: 'CASE WHEN num_nonnulls(queue_queued, queue_sending) > 0 THEN coalesce(queue_queued, 0) + coalesce(queue_sending, 0) END',
    },
  },
  metrics_rspamd: {
    renamed: { action_reject: 'rejected', action_greylist: 'greylist' },
    added: ['learned_ham', 'learned_spam'],
  },
};
