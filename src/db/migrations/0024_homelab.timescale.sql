-- Generated from the home-lab stream declarations (src/modules/homelab/streams.ts: container_snapshots, drive_health, data_collection_audit; timescale tier) with streamDDL of src/timeseries/stream-ddl.ts, as scripts/gen-migration.ts does for one stream.
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
);

SELECT create_hypertable('container_snapshots', by_range('time', INTERVAL '1 day'), create_default_indexes => false);

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

ALTER TABLE container_snapshots SET (timescaledb.compress, timescaledb.compress_segmentby = 'node_id', timescaledb.compress_orderby = 'time DESC');

SELECT add_compression_policy('container_snapshots', compress_after => INTERVAL '2 days');

SELECT add_retention_policy('container_snapshots', drop_after => INTERVAL '30 days');

CREATE MATERIALIZED VIEW _opsdeck_cagg_container_stats_5m
  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT time_bucket(INTERVAL '5 minutes', time) AS bucket,
    node_id,
    container_id,
    count(*) AS samples,
    sum(cpu_percent::double precision) AS avg_cpu_percent_sum,
    count(cpu_percent) AS avg_cpu_percent_count,
    max(cpu_percent) AS max_cpu_percent,
    sum(memory_usage_bytes::double precision) AS avg_memory_bytes_sum,
    count(memory_usage_bytes) AS avg_memory_bytes_count,
    max(memory_usage_bytes) AS max_memory_bytes
  FROM container_snapshots
  GROUP BY 1, 2, 3
  WITH NO DATA;

SELECT add_continuous_aggregate_policy('_opsdeck_cagg_container_stats_5m', start_offset => INTERVAL '29 days 23:55:00', end_offset => INTERVAL '5 minutes', schedule_interval => INTERVAL '5 minutes');

SELECT count(*) FROM (SELECT alter_job(job_id, config => config || jsonb_build_object('buckets_per_batch', 0)) FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_schema = 'public' AND hypertable_name = '_opsdeck_cagg_container_stats_5m') s;

SELECT add_retention_policy('_opsdeck_cagg_container_stats_5m', drop_after => INTERVAL '90 days');

CREATE VIEW container_stats_5m AS
  SELECT bucket, node_id, container_id, samples, avg_cpu_percent_sum, avg_cpu_percent_count, max_cpu_percent, avg_memory_bytes_sum, avg_memory_bytes_count, max_memory_bytes, avg_cpu_percent_sum / NULLIF(avg_cpu_percent_count, 0) AS avg_cpu_percent, avg_memory_bytes_sum / NULLIF(avg_memory_bytes_count, 0) AS avg_memory_bytes
  FROM _opsdeck_cagg_container_stats_5m;

COMMENT ON VIEW container_stats_5m IS 'Container CPU and memory per 5 minutes, by device and container';

CREATE MATERIALIZED VIEW _opsdeck_cagg_container_stats_1h
  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT time_bucket(INTERVAL '1 hour', time) AS bucket,
    node_id,
    container_id,
    count(*) AS samples,
    sum(cpu_percent::double precision) AS avg_cpu_percent_sum,
    count(cpu_percent) AS avg_cpu_percent_count,
    max(cpu_percent) AS max_cpu_percent,
    sum(memory_usage_bytes::double precision) AS avg_memory_bytes_sum,
    count(memory_usage_bytes) AS avg_memory_bytes_count,
    max(memory_usage_bytes) AS max_memory_bytes
  FROM container_snapshots
  GROUP BY 1, 2, 3
  WITH NO DATA;

SELECT add_continuous_aggregate_policy('_opsdeck_cagg_container_stats_1h', start_offset => INTERVAL '29 days 23:00:00', end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '30 minutes');

SELECT count(*) FROM (SELECT alter_job(job_id, config => config || jsonb_build_object('buckets_per_batch', 0)) FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_schema = 'public' AND hypertable_name = '_opsdeck_cagg_container_stats_1h') s;

SELECT add_retention_policy('_opsdeck_cagg_container_stats_1h', drop_after => INTERVAL '365 days');

CREATE VIEW container_stats_1h AS
  SELECT bucket, node_id, container_id, samples, avg_cpu_percent_sum, avg_cpu_percent_count, max_cpu_percent, avg_memory_bytes_sum, avg_memory_bytes_count, max_memory_bytes, avg_cpu_percent_sum / NULLIF(avg_cpu_percent_count, 0) AS avg_cpu_percent, avg_memory_bytes_sum / NULLIF(avg_memory_bytes_count, 0) AS avg_memory_bytes
  FROM _opsdeck_cagg_container_stats_1h;

COMMENT ON VIEW container_stats_1h IS 'Container CPU and memory per hour, by device and container';

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
);

SELECT create_hypertable('drive_health', by_range('time', INTERVAL '7 days'), create_default_indexes => false);

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

ALTER TABLE drive_health SET (timescaledb.compress, timescaledb.compress_segmentby = 'node_id', timescaledb.compress_orderby = 'time DESC');

SELECT add_compression_policy('drive_health', compress_after => INTERVAL '14 days');

SELECT add_retention_policy('drive_health', drop_after => INTERVAL '730 days');

CREATE MATERIALIZED VIEW _opsdeck_cagg_drive_temperature_1h
  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT time_bucket(INTERVAL '1 hour', time) AS bucket,
    node_id,
    drive_name,
    count(*) AS samples,
    sum(temperature_celsius::double precision) AS avg_temperature_sum,
    count(temperature_celsius) AS avg_temperature_count,
    max(temperature_celsius) AS max_temperature
  FROM drive_health
  GROUP BY 1, 2, 3
  WITH NO DATA;

SELECT add_continuous_aggregate_policy('_opsdeck_cagg_drive_temperature_1h', start_offset => INTERVAL '729 days 23:00:00', end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '30 minutes');

SELECT count(*) FROM (SELECT alter_job(job_id, config => config || jsonb_build_object('buckets_per_batch', 0)) FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_schema = 'public' AND hypertable_name = '_opsdeck_cagg_drive_temperature_1h') s;

SELECT add_retention_policy('_opsdeck_cagg_drive_temperature_1h', drop_after => INTERVAL '1825 days');

CREATE VIEW drive_temperature_1h AS
  SELECT bucket, node_id, drive_name, samples, avg_temperature_sum, avg_temperature_count, max_temperature, avg_temperature_sum / NULLIF(avg_temperature_count, 0) AS avg_temperature
  FROM _opsdeck_cagg_drive_temperature_1h;

COMMENT ON VIEW drive_temperature_1h IS 'Drive temperature per hour, by device and drive';

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
);

SELECT create_hypertable('data_collection_audit', by_range('time', INTERVAL '1 day'), create_default_indexes => false);

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

ALTER TABLE data_collection_audit SET (timescaledb.compress, timescaledb.compress_segmentby = 'node_id', timescaledb.compress_orderby = 'time DESC');

SELECT add_compression_policy('data_collection_audit', compress_after => INTERVAL '7 days');

SELECT add_retention_policy('data_collection_audit', drop_after => INTERVAL '90 days');
