-- Home-lab agentless collection (docs/homelab.md, docs/adr/0022-agentless-ssh-collection.md).
-- Declared in src/modules/homelab/schema.ts; the time-keyed tables (container_snapshots,
-- drive_health, data_collection_audit) are event streams declared in
-- src/modules/homelab/streams.ts (the tier files of this migration).
--
-- device_ssh_targets: how Opsdeck reaches a device (a node) over SSH. The private key and
-- its passphrase are sealed with the SecretBox (key outside the database); the host key is
-- pinned on first contact and a mismatch stops collection until an admin accepts it.
CREATE TABLE device_ssh_targets (
  node_id text PRIMARY KEY REFERENCES nodes(id) ON DELETE CASCADE,
  device_type text,
  address text NOT NULL,
  port integer NOT NULL DEFAULT 22,
  username text NOT NULL,
  auth_kind text NOT NULL,
  private_key_sealed text NOT NULL,
  passphrase_sealed text,
  public_key text NOT NULL,
  host_key_state text NOT NULL DEFAULT 'unpinned',
  host_key_sha256 text,
  host_key_pinned_at timestamptz,
  presented_host_key_sha256 text,
  presented_at timestamptz,
  config_paths jsonb NOT NULL DEFAULT '[]',
  enabled boolean NOT NULL DEFAULT true,
  last_collection_at timestamptz,
  last_successful_collection timestamptz,
  last_collection_status text,
  last_error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT device_ssh_targets_port_check CHECK (port BETWEEN 1 AND 65535),
  CONSTRAINT device_ssh_targets_auth_kind_check CHECK (auth_kind IN ('uploaded', 'generated')),
  CONSTRAINT device_ssh_targets_host_key_state_check CHECK (host_key_state IN ('unpinned', 'pinned', 'mismatch')),
  CONSTRAINT device_ssh_targets_last_collection_status_check CHECK (last_collection_status IN ('success', 'failed', 'partial'))
);

-- device_collection_schedules: when each data type of a device is next due.
CREATE TABLE device_collection_schedules (
  node_id text NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
  data_type text NOT NULL,
  interval_seconds integer NOT NULL,
  enabled boolean NOT NULL DEFAULT true,
  next_due_at timestamptz NOT NULL,
  last_run_at timestamptz,
  PRIMARY KEY (node_id, data_type),
  CONSTRAINT device_collection_schedules_data_type_check CHECK (data_type IN ('system', 'containers', 'drives', 'config')),
  CONSTRAINT device_collection_schedules_interval_check CHECK (interval_seconds BETWEEN 10 AND 86400)
);
CREATE INDEX device_collection_schedules_due_idx ON device_collection_schedules (next_due_at);

-- cache_metadata: the collector's cache, keyed by device + command hash; TTL per data type.
CREATE TABLE cache_metadata (
  cache_key text PRIMARY KEY,
  node_id text NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
  data_type text NOT NULL,
  created_at timestamptz NOT NULL,
  last_accessed timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  access_count integer NOT NULL DEFAULT 1,
  data_size_bytes integer,
  ttl_seconds integer NOT NULL,
  invalidated boolean NOT NULL DEFAULT false,
  invalidated_at timestamptz,
  invalidation_reason text,
  collection_method text,
  command_hash text NOT NULL,
  CONSTRAINT cache_metadata_data_type_check CHECK (data_type IN ('system', 'containers', 'drives', 'config')),
  CONSTRAINT cache_metadata_collection_method_check CHECK (collection_method IN ('ssh', 'push'))
);
CREATE INDEX cache_metadata_node_idx ON cache_metadata (node_id);

-- service_performance_metrics: the collector measured per minute (counters added up as
-- operations finish; averages and the hit ratio derived from them).
CREATE TABLE service_performance_metrics (
  time timestamptz NOT NULL,
  service_name text NOT NULL,
  operations_total integer NOT NULL DEFAULT 0,
  operations_successful integer NOT NULL DEFAULT 0,
  operations_failed integer NOT NULL DEFAULT 0,
  operations_cached integer NOT NULL DEFAULT 0,
  duration_sum_ms double precision NOT NULL DEFAULT 0,
  avg_duration_ms double precision,
  max_duration_ms integer,
  min_duration_ms integer,
  ssh_connections_created integer NOT NULL DEFAULT 0,
  ssh_connections_reused integer NOT NULL DEFAULT 0,
  ssh_commands_executed integer NOT NULL DEFAULT 0,
  cache_hit_ratio double precision,
  cache_size_entries integer,
  cache_evictions integer NOT NULL DEFAULT 0,
  data_collected_bytes double precision NOT NULL DEFAULT 0,
  database_writes integer NOT NULL DEFAULT 0,
  error_types jsonb NOT NULL DEFAULT '{}',
  top_errors jsonb NOT NULL DEFAULT '[]',
  PRIMARY KEY (time, service_name)
);
