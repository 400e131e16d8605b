-- Configuration tracking (docs/config-tracking.md, docs/adr/0023-configuration-change-analysis.md).
-- Declared in src/modules/config-tracking/schema.ts (compared with this DDL by
-- src/modules/tables.test.ts).
--
-- The two tables of homelab-unified-schema-and-api-contracts.md with the
-- document's columns and types; the device is a node (node_id text referencing
-- nodes(id)) instead of device_id uuid. Regular tables, not streams: a snapshot
-- is stored only when a file's (masked) content changed, so a file that changes
-- once a week has 52 rows a year; change events reference snapshots by id, and
-- the history is kept until the node is deleted (ON DELETE CASCADE).

-- One row per content version of a configuration file: the first one seen
-- ('created') and every change ('modified', with the hash it replaced).
-- raw_content and parsed_data hold the content with secrets masked.
CREATE TABLE configuration_snapshots (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  node_id text NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
  time timestamptz NOT NULL,
  config_type varchar(50) NOT NULL CONSTRAINT configuration_snapshots_config_type_check
    CHECK (config_type IN ('nginx', 'docker-compose', 'sshd_config', 'systemd', 'env', 'yaml', 'json', 'ini', 'text')),
  file_path varchar(1024) NOT NULL CONSTRAINT configuration_snapshots_file_path_check CHECK (file_path LIKE '/%'),
  content_hash varchar(64) NOT NULL CONSTRAINT configuration_snapshots_content_hash_check CHECK (content_hash ~ '^[0-9a-f]{64}$'),
  file_size_bytes integer,
  raw_content text NOT NULL,
  parsed_data jsonb,
  change_type varchar(20) NOT NULL CONSTRAINT configuration_snapshots_change_type_check CHECK (change_type IN ('created', 'modified')),
  previous_hash varchar(64),
  file_modified_time timestamptz,
  collection_source varchar(50) NOT NULL CONSTRAINT configuration_snapshots_collection_source_check CHECK (collection_source IN ('ssh', 'push')),
  detection_latency_ms integer,
  affected_services jsonb,
  requires_restart boolean DEFAULT false,
  risk_level varchar(20) DEFAULT 'MEDIUM' CONSTRAINT configuration_snapshots_risk_level_check CHECK (risk_level IN ('LOW', 'MEDIUM', 'HIGH'))
);
CREATE INDEX configuration_snapshots_file_idx ON configuration_snapshots (node_id, file_path, time DESC);
-- At most one first snapshot per file, even when two collections race (the sink also
-- takes a transaction-scoped advisory lock per node and file).
CREATE UNIQUE INDEX configuration_snapshots_one_created_idx ON configuration_snapshots (node_id, file_path) WHERE change_type = 'created';

-- One row per detected change (a 'modified' snapshot): what changed (changes_summary:
-- line diff, key changes, the rules that decided the risk with their reasons), which
-- services it affects and whether they need a restart, and whether someone handled it.
CREATE TABLE configuration_change_events (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  node_id text NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
  snapshot_id uuid NOT NULL REFERENCES configuration_snapshots (id) ON DELETE CASCADE
    CONSTRAINT configuration_change_events_snapshot_id_key UNIQUE,
  time timestamptz NOT NULL,
  config_type varchar(50) NOT NULL CONSTRAINT configuration_change_events_config_type_check
    CHECK (config_type IN ('nginx', 'docker-compose', 'sshd_config', 'systemd', 'env', 'yaml', 'json', 'ini', 'text')),
  file_path varchar(1024) NOT NULL,
  change_type varchar(20) NOT NULL CONSTRAINT configuration_change_events_change_type_check CHECK (change_type IN ('created', 'modified')),
  affected_services jsonb,
  service_dependencies jsonb,
  requires_restart boolean DEFAULT false,
  restart_services jsonb,
  changes_summary jsonb,
  risk_level varchar(20) DEFAULT 'MEDIUM' CONSTRAINT configuration_change_events_risk_level_check CHECK (risk_level IN ('LOW', 'MEDIUM', 'HIGH')),
  confidence_score numeric(3, 2) CONSTRAINT configuration_change_events_confidence_score_check CHECK (confidence_score BETWEEN 0 AND 1),
  processed boolean DEFAULT false,
  notifications_sent jsonb
);
CREATE INDEX configuration_change_events_time_idx ON configuration_change_events (time DESC);
CREATE INDEX configuration_change_events_node_time_idx ON configuration_change_events (node_id, time DESC);
CREATE INDEX configuration_change_events_unprocessed_idx ON configuration_change_events (node_id, file_path) WHERE NOT processed;
