-- Generated from the home-lab stream declarations (src/modules/homelab/streams.ts: container_snapshots, drive_health, data_collection_audit; postgres tier) with streamDDL of src/timeseries/stream-ddl.ts, as scripts/gen-migration.ts does for one stream.
-- Applied migrations are immutable: change the declaration and add a new migration instead.

-- container_snapshots
CREATE TABLE container_snapshots (
  time timestamptz NOT NULL,
  node_id text NOT NULL,
  container_id text NOT NULL,
  name text,
  image text,
  status text,
  state text,
  runtime text,
  cpu_percent double precision,
  memory_usage_bytes bigint,
  memory_limit_bytes bigint,
  CONSTRAINT container_snapshots_runtime_check CHECK (runtime IN ('docker', 'podman')),
  PRIMARY KEY (node_id, container_id, time)
) PARTITION BY RANGE (time);

CREATE INDEX container_snapshots_time_idx ON container_snapshots (time DESC);

CREATE INDEX container_snapshots_node_id_container_id_idx ON container_snapshots (node_id, container_id, time DESC);

COMMENT ON TABLE container_snapshots IS 'Container snapshots: Every container of a home-lab device at each collection (docker ps / docker stats / podman ps), from SSH collection or the push API.';

COMMENT ON COLUMN container_snapshots.node_id IS 'The device (nodes.id)';

COMMENT ON COLUMN container_snapshots.container_id IS 'Container id as the runtime reports it';

COMMENT ON COLUMN container_snapshots.name IS 'Container name, stored as text (never used in a command)';

COMMENT ON COLUMN container_snapshots.image IS 'Image reference';

COMMENT ON COLUMN container_snapshots.status IS 'Human status text (Up 3 minutes, Exited (0) …)';

COMMENT ON COLUMN container_snapshots.state IS 'Machine state (running, exited, paused, created, restarting, dead)';

COMMENT ON COLUMN container_snapshots.runtime IS 'docker or podman';

COMMENT ON COLUMN container_snapshots.cpu_percent IS 'CPU use (100 = one core; running containers only)';

COMMENT ON COLUMN container_snapshots.memory_usage_bytes IS 'Memory in use';

COMMENT ON COLUMN container_snapshots.memory_limit_bytes IS 'Memory limit';

INSERT INTO opsdeck_partitioned_tables (table_name, partition_interval, retention) VALUES ('container_snapshots', INTERVAL '1 day', INTERVAL '30 days');

SELECT opsdeck_ensure_partitions('container_snapshots', now() - INTERVAL '1 day', now() + INTERVAL '3 days');

CREATE TABLE _opsdeck_mat_container_stats_5m (
  bucket timestamptz NOT NULL,
  node_id text,
  container_id text,
  samples bigint,
  avg_cpu_percent_sum double precision,
  avg_cpu_percent_count bigint,
  max_cpu_percent double precision,
  avg_memory_bytes_sum double precision,
  avg_memory_bytes_count bigint,
  max_memory_bytes bigint
);

CREATE INDEX _opsdeck_mat_container_stats_5m_bucket_idx ON _opsdeck_mat_container_stats_5m (bucket DESC);

CREATE VIEW container_stats_5m AS
  SELECT bucket, node_id, container_id, samples, avg_cpu_percent_sum, avg_cpu_percent_count, max_cpu_percent, avg_memory_bytes_sum, avg_memory_bytes_count, max_memory_bytes, avg_cpu_percent_sum / NULLIF(avg_cpu_percent_count, 0) AS avg_cpu_percent, avg_memory_bytes_sum / NULLIF(avg_memory_bytes_count, 0) AS avg_memory_bytes
  FROM (
    SELECT m.bucket, m.node_id, m.container_id, m.samples, m.avg_cpu_percent_sum, m.avg_cpu_percent_count, m.max_cpu_percent, m.avg_memory_bytes_sum, m.avg_memory_bytes_count, m.max_memory_bytes
    FROM _opsdeck_mat_container_stats_5m m
    WHERE NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'container_stats_5m')
    UNION ALL
    SELECT m.bucket, m.node_id, m.container_id, m.samples, m.avg_cpu_percent_sum, m.avg_cpu_percent_count, m.max_cpu_percent, m.avg_memory_bytes_sum, m.avg_memory_bytes_count, m.max_memory_bytes
    FROM _opsdeck_mat_container_stats_5m m
    WHERE EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'container_stats_5m')
      AND NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'container_stats_5m' AND i.bucket >= m.bucket AND i.bucket < m.bucket + INTERVAL '5 minutes')
    UNION ALL
    SELECT * FROM (
      SELECT date_bin(INTERVAL '5 minutes', s.time, timestamptz '2000-01-03 00:00:00+00') AS bucket,
        s.node_id,
        s.container_id,
        count(*) AS samples,
        sum(cpu_percent::double precision) AS avg_cpu_percent_sum,
        count(cpu_percent) AS avg_cpu_percent_count,
        max(cpu_percent) AS max_cpu_percent,
        sum(memory_usage_bytes::double precision) AS avg_memory_bytes_sum,
        count(memory_usage_bytes) AS avg_memory_bytes_count,
        max(memory_usage_bytes) AS max_memory_bytes
      FROM container_snapshots s
      WHERE s.time >= (SELECT min(date_bin(INTERVAL '5 minutes', i.bucket, timestamptz '2000-01-03 00:00:00+00')) FROM opsdeck_rollup_invalidations i WHERE i.family = 'container_stats_5m')
        AND date_bin(INTERVAL '5 minutes', s.time, timestamptz '2000-01-03 00:00:00+00') IN (SELECT date_bin(INTERVAL '5 minutes', i.bucket, timestamptz '2000-01-03 00:00:00+00') FROM opsdeck_rollup_invalidations i WHERE i.family = 'container_stats_5m')
      GROUP BY 1, 2, 3
      OFFSET 0
    ) live
    WHERE EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'container_stats_5m')
  ) u;

COMMENT ON VIEW container_stats_5m IS 'Container CPU and memory per 5 minutes, by device and container';

INSERT INTO opsdeck_rollup_tables (family, level, relation, storage_table, retention) VALUES ('container_stats_5m', '5m', 'container_stats_5m', '_opsdeck_mat_container_stats_5m', INTERVAL '90 days');

CREATE TABLE _opsdeck_mat_container_stats_1h (
  bucket timestamptz NOT NULL,
  node_id text,
  container_id text,
  samples bigint,
  avg_cpu_percent_sum double precision,
  avg_cpu_percent_count bigint,
  max_cpu_percent double precision,
  avg_memory_bytes_sum double precision,
  avg_memory_bytes_count bigint,
  max_memory_bytes bigint
);

CREATE INDEX _opsdeck_mat_container_stats_1h_bucket_idx ON _opsdeck_mat_container_stats_1h (bucket DESC);

CREATE VIEW container_stats_1h AS
  SELECT bucket, node_id, container_id, samples, avg_cpu_percent_sum, avg_cpu_percent_count, max_cpu_percent, avg_memory_bytes_sum, avg_memory_bytes_count, max_memory_bytes, avg_cpu_percent_sum / NULLIF(avg_cpu_percent_count, 0) AS avg_cpu_percent, avg_memory_bytes_sum / NULLIF(avg_memory_bytes_count, 0) AS avg_memory_bytes
  FROM (
    SELECT m.bucket, m.node_id, m.container_id, m.samples, m.avg_cpu_percent_sum, m.avg_cpu_percent_count, m.max_cpu_percent, m.avg_memory_bytes_sum, m.avg_memory_bytes_count, m.max_memory_bytes
    FROM _opsdeck_mat_container_stats_1h m
    WHERE NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'container_stats_1h')
    UNION ALL
    SELECT m.bucket, m.node_id, m.container_id, m.samples, m.avg_cpu_percent_sum, m.avg_cpu_percent_count, m.max_cpu_percent, m.avg_memory_bytes_sum, m.avg_memory_bytes_count, m.max_memory_bytes
    FROM _opsdeck_mat_container_stats_1h m
    WHERE EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'container_stats_1h')
      AND NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'container_stats_1h' AND i.bucket >= m.bucket AND i.bucket < m.bucket + INTERVAL '1 hour')
    UNION ALL
    SELECT * FROM (
      SELECT date_bin(INTERVAL '1 hour', s.time, timestamptz '2000-01-03 00:00:00+00') AS bucket,
        s.node_id,
        s.container_id,
        count(*) AS samples,
        sum(cpu_percent::double precision) AS avg_cpu_percent_sum,
        count(cpu_percent) AS avg_cpu_percent_count,
        max(cpu_percent) AS max_cpu_percent,
        sum(memory_usage_bytes::double precision) AS avg_memory_bytes_sum,
        count(memory_usage_bytes) AS avg_memory_bytes_count,
        max(memory_usage_bytes) AS max_memory_bytes
      FROM container_snapshots s
      WHERE s.time >= (SELECT min(date_bin(INTERVAL '1 hour', i.bucket, timestamptz '2000-01-03 00:00:00+00')) FROM opsdeck_rollup_invalidations i WHERE i.family = 'container_stats_1h')
        AND date_bin(INTERVAL '1 hour', s.time, timestamptz '2000-01-03 00:00:00+00') IN (SELECT date_bin(INTERVAL '1 hour', i.bucket, timestamptz '2000-01-03 00:00:00+00') FROM opsdeck_rollup_invalidations i WHERE i.family = 'container_stats_1h')
      GROUP BY 1, 2, 3
      OFFSET 0
    ) live
    WHERE EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'container_stats_1h')
  ) u;

COMMENT ON VIEW container_stats_1h IS 'Container CPU and memory per hour, by device and container';

INSERT INTO opsdeck_rollup_tables (family, level, relation, storage_table, retention) VALUES ('container_stats_1h', '1h', 'container_stats_1h', '_opsdeck_mat_container_stats_1h', INTERVAL '365 days');

-- drive_health
CREATE TABLE drive_health (
  time timestamptz NOT NULL,
  node_id text NOT NULL,
  drive_name text NOT NULL,
  model text,
  serial_number text,
  protocol text,
  smart_attributes jsonb,
  temperature_celsius smallint,
  power_on_hours integer,
  is_healthy boolean,
  reallocated_sectors bigint,
  pending_sectors bigint,
  PRIMARY KEY (node_id, drive_name, time)
) PARTITION BY RANGE (time);

CREATE INDEX drive_health_time_idx ON drive_health (time DESC);

CREATE INDEX drive_health_node_id_drive_name_idx ON drive_health (node_id, drive_name, time DESC);

COMMENT ON TABLE drive_health IS 'Drive health: SMART data of every drive of a home-lab device at each collection (smartctl --json -a), from SSH collection or the push API.';

COMMENT ON COLUMN drive_health.node_id IS 'The device (nodes.id)';

COMMENT ON COLUMN drive_health.drive_name IS 'Device path';

COMMENT ON COLUMN drive_health.model IS 'Model name';

COMMENT ON COLUMN drive_health.serial_number IS 'Serial number';

COMMENT ON COLUMN drive_health.protocol IS 'ATA, NVMe, SCSI';

COMMENT ON COLUMN drive_health.smart_attributes IS 'SMART attributes (ATA table; NVMe health log as named values)';

COMMENT ON COLUMN drive_health.temperature_celsius IS 'Current temperature';

COMMENT ON COLUMN drive_health.power_on_hours IS 'Power-on hours';

COMMENT ON COLUMN drive_health.is_healthy IS 'Overall SMART self-assessment passed';

COMMENT ON COLUMN drive_health.reallocated_sectors IS 'Reallocated sectors (ATA attribute 5 raw; NVMe: none)';

COMMENT ON COLUMN drive_health.pending_sectors IS 'Sectors pending reallocation (ATA attribute 197 raw)';

INSERT INTO opsdeck_partitioned_tables (table_name, partition_interval, retention) VALUES ('drive_health', INTERVAL '7 days', INTERVAL '730 days');

SELECT opsdeck_ensure_partitions('drive_health', now() - INTERVAL '7 days', now() + INTERVAL '3 days');

CREATE TABLE _opsdeck_mat_drive_temperature_1h (
  bucket timestamptz NOT NULL,
  node_id text,
  drive_name text,
  samples bigint,
  avg_temperature_sum double precision,
  avg_temperature_count bigint,
  max_temperature smallint
);

CREATE INDEX _opsdeck_mat_drive_temperature_1h_bucket_idx ON _opsdeck_mat_drive_temperature_1h (bucket DESC);

CREATE VIEW drive_temperature_1h AS
  SELECT bucket, node_id, drive_name, samples, avg_temperature_sum, avg_temperature_count, max_temperature, avg_temperature_sum / NULLIF(avg_temperature_count, 0) AS avg_temperature
  FROM (
    SELECT m.bucket, m.node_id, m.drive_name, m.samples, m.avg_temperature_sum, m.avg_temperature_count, m.max_temperature
    FROM _opsdeck_mat_drive_temperature_1h m
    WHERE NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'drive_temperature_1h')
    UNION ALL
    SELECT m.bucket, m.node_id, m.drive_name, m.samples, m.avg_temperature_sum, m.avg_temperature_count, m.max_temperature
    FROM _opsdeck_mat_drive_temperature_1h m
    WHERE EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'drive_temperature_1h')
      AND NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'drive_temperature_1h' AND i.bucket >= m.bucket AND i.bucket < m.bucket + INTERVAL '1 hour')
    UNION ALL
    SELECT * FROM (
      SELECT date_bin(INTERVAL '1 hour', s.time, timestamptz '2000-01-03 00:00:00+00') AS bucket,
        s.node_id,
        s.drive_name,
        count(*) AS samples,
        sum(temperature_celsius::double precision) AS avg_temperature_sum,
        count(temperature_celsius) AS avg_temperature_count,
        max(temperature_celsius) AS max_temperature
      FROM drive_health s
      WHERE s.time >= (SELECT min(date_bin(INTERVAL '1 hour', i.bucket, timestamptz '2000-01-03 00:00:00+00')) FROM opsdeck_rollup_invalidations i WHERE i.family = 'drive_temperature_1h')
        AND date_bin(INTERVAL '1 hour', s.time, timestamptz '2000-01-03 00:00:00+00') IN (SELECT date_bin(INTERVAL '1 hour', i.bucket, timestamptz '2000-01-03 00:00:00+00') FROM opsdeck_rollup_invalidations i WHERE i.family = 'drive_temperature_1h')
      GROUP BY 1, 2, 3
      OFFSET 0
    ) live
    WHERE EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'drive_temperature_1h')
  ) u;

COMMENT ON VIEW drive_temperature_1h IS 'Drive temperature per hour, by device and drive';

INSERT INTO opsdeck_rollup_tables (family, level, relation, storage_table, retention) VALUES ('drive_temperature_1h', '1h', 'drive_temperature_1h', '_opsdeck_mat_drive_temperature_1h', INTERVAL '1825 days');

-- data_collection_audit
CREATE TABLE data_collection_audit (
  time timestamptz NOT NULL,
  node_id text NOT NULL,
  operation_id uuid NOT NULL,
  data_type text NOT NULL,
  collection_method text NOT NULL,
  collection_source text,
  force_refresh boolean NOT NULL,
  cache_hit boolean NOT NULL,
  duration_ms integer,
  ssh_command_count integer,
  data_size_bytes bigint,
  status text NOT NULL,
  error_message text,
  warnings jsonb,
  records_created integer,
  records_updated integer,
  freshness_threshold integer,
  CONSTRAINT data_collection_audit_data_type_check CHECK (data_type IN ('system', 'containers', 'drives', 'config')),
  CONSTRAINT data_collection_audit_collection_method_check CHECK (collection_method IN ('ssh', 'push')),
  CONSTRAINT data_collection_audit_status_check CHECK (status IN ('success', 'failed', 'partial', 'cached')),
  PRIMARY KEY (node_id, operation_id, time)
) PARTITION BY RANGE (time);

CREATE INDEX data_collection_audit_time_idx ON data_collection_audit (time DESC);

CREATE INDEX data_collection_audit_node_id_data_type_idx ON data_collection_audit (node_id, data_type, time DESC);

CREATE INDEX data_collection_audit_status_idx ON data_collection_audit (status, time DESC);

COMMENT ON TABLE data_collection_audit IS 'Data collection audit: One row per collection operation of the home-lab collector (a data type of a device, over SSH or pushed): how, how long, how much, what came of it.';

COMMENT ON COLUMN data_collection_audit.node_id IS 'The device (nodes.id)';

COMMENT ON COLUMN data_collection_audit.operation_id IS 'The operation (a collection of one data type of one device)';

COMMENT ON COLUMN data_collection_audit.data_type IS 'system, containers, drives or config';

COMMENT ON COLUMN data_collection_audit.collection_method IS 'ssh (collected) or push (sent through the API)';

COMMENT ON COLUMN data_collection_audit.collection_source IS 'What started it: schedule, api (POST …/collect), push';

COMMENT ON COLUMN data_collection_audit.force_refresh IS 'The cache was bypassed';

COMMENT ON COLUMN data_collection_audit.cache_hit IS 'Answered from the cache (nothing run on the device)';

COMMENT ON COLUMN data_collection_audit.duration_ms IS 'Duration of the operation';

COMMENT ON COLUMN data_collection_audit.ssh_command_count IS 'Commands run on the device';

COMMENT ON COLUMN data_collection_audit.data_size_bytes IS 'Bytes of command output (or pushed data) read';

COMMENT ON COLUMN data_collection_audit.status IS 'success, failed, partial (some parts failed), cached';

COMMENT ON COLUMN data_collection_audit.error_message IS 'Why it failed';

COMMENT ON COLUMN data_collection_audit.warnings IS 'Non-fatal problems (a drive that did not answer, a file over the size cap)';

COMMENT ON COLUMN data_collection_audit.records_created IS 'Rows written';

COMMENT ON COLUMN data_collection_audit.records_updated IS 'Rows updated';

COMMENT ON COLUMN data_collection_audit.freshness_threshold IS 'The cache TTL of the data type when it ran';

INSERT INTO opsdeck_partitioned_tables (table_name, partition_interval, retention) VALUES ('data_collection_audit', INTERVAL '1 day', INTERVAL '90 days');

SELECT opsdeck_ensure_partitions('data_collection_audit', now() - INTERVAL '1 day', now() + INTERVAL '3 days');
