-- Generated from the metrics_mongodb family declaration (timescale tier) by scripts/gen-migration.ts.
-- Applied migrations are immutable: change the declaration and add a new migration instead.

CREATE TABLE metrics_mongodb (
  time timestamptz NOT NULL,
  node_id text NOT NULL,
  role text,
  connections_current integer,
  connections_available integer,
  ops_insert bigint,
  ops_query bigint,
  ops_update bigint,
  ops_delete bigint,
  ops_command bigint,
  repl_lag_seconds double precision,
  data_size_bytes bigint,
  index_size_bytes bigint,
  storage_size_bytes bigint,
  oplog_window_hours double precision,
  wt_cache_used_bytes bigint,
  wt_cache_max_bytes bigint,
  PRIMARY KEY (node_id, time)
);

SELECT create_hypertable('metrics_mongodb', by_range('time', INTERVAL '1 hour'), create_default_indexes => false);

CREATE INDEX metrics_mongodb_time_idx ON metrics_mongodb (time DESC);

COMMENT ON TABLE metrics_mongodb IS 'MongoDB metrics: Connections, operation counts, replication lag, data/index/storage sizes, oplog window and WiredTiger cache of every mongod, sampled every 15 s.';

COMMENT ON COLUMN metrics_mongodb.node_id IS 'identity: Node running the mongod (nodes.id)';

COMMENT ON COLUMN metrics_mongodb.role IS '[label; last] Replica-set member state when sampled: primary, secondary, arbiter, recovering, startup, startup2, rollback, down, unknown, removed, or standalone outside a replica set';

COMMENT ON COLUMN metrics_mongodb.connections_current IS '[connections; avg] Incoming client connections open';

COMMENT ON COLUMN metrics_mongodb.connections_available IS '[connections; avg] Incoming connections still available before the limit';

COMMENT ON COLUMN metrics_mongodb.ops_insert IS '[operations; sum] Insert operations in the interval. Per-interval count: the agent sends the increase of the server counter since its previous sample (counter resets on restart are sent as the new value), so rollups sum it.';

COMMENT ON COLUMN metrics_mongodb.ops_query IS '[operations; sum] Query operations in the interval. Per-interval count: the agent sends the increase of the server counter since its previous sample (counter resets on restart are sent as the new value), so rollups sum it.';

COMMENT ON COLUMN metrics_mongodb.ops_update IS '[operations; sum] Update operations in the interval. Per-interval count: the agent sends the increase of the server counter since its previous sample (counter resets on restart are sent as the new value), so rollups sum it.';

COMMENT ON COLUMN metrics_mongodb.ops_delete IS '[operations; sum] Delete operations in the interval. Per-interval count: the agent sends the increase of the server counter since its previous sample (counter resets on restart are sent as the new value), so rollups sum it.';

COMMENT ON COLUMN metrics_mongodb.ops_command IS '[operations; sum] Commands in the interval. Per-interval count: the agent sends the increase of the server counter since its previous sample (counter resets on restart are sent as the new value), so rollups sum it.';

COMMENT ON COLUMN metrics_mongodb.repl_lag_seconds IS '[seconds; avg] How far this member’s applied oplog is behind the primary (0 on the primary, null on arbiters and standalones)';

COMMENT ON COLUMN metrics_mongodb.data_size_bytes IS '[bytes; max] Uncompressed size of the documents, all databases';

COMMENT ON COLUMN metrics_mongodb.index_size_bytes IS '[bytes; max] Size of all indexes, all databases';

COMMENT ON COLUMN metrics_mongodb.storage_size_bytes IS '[bytes; max] Space allocated for documents on disk (compressed), all databases';

COMMENT ON COLUMN metrics_mongodb.oplog_window_hours IS '[hours; min] Time span covered by the oplog (newest − oldest entry): how long a member may be down and still catch up without a full resync. Rolls up with MIN: the shortest window in the bucket is the one that matters';

COMMENT ON COLUMN metrics_mongodb.wt_cache_used_bytes IS '[bytes; avg] Data held in the WiredTiger cache';

COMMENT ON COLUMN metrics_mongodb.wt_cache_max_bytes IS '[bytes; avg] Configured size of the WiredTiger cache';

ALTER TABLE metrics_mongodb SET (timescaledb.compress, timescaledb.compress_segmentby = 'node_id', timescaledb.compress_orderby = 'time DESC');

SELECT add_compression_policy('metrics_mongodb', compress_after => INTERVAL '7 days');

SELECT add_retention_policy('metrics_mongodb', drop_after => INTERVAL '90 days');

CREATE MATERIALIZED VIEW mongodb_stats_5m
  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT time_bucket(INTERVAL '5 minutes', time) AS bucket,
    node_id,
    last(role, time) AS role_last,
    sum(connections_current::double precision) AS connections_current_sum,
    count(connections_current) AS connections_current_count,
    sum(connections_available::double precision) AS connections_available_sum,
    count(connections_available) AS connections_available_count,
    sum(ops_insert::double precision) AS ops_insert_sum,
    sum(ops_query::double precision) AS ops_query_sum,
    sum(ops_update::double precision) AS ops_update_sum,
    sum(ops_delete::double precision) AS ops_delete_sum,
    sum(ops_command::double precision) AS ops_command_sum,
    sum(repl_lag_seconds::double precision) AS repl_lag_seconds_sum,
    count(repl_lag_seconds) AS repl_lag_seconds_count,
    max(data_size_bytes) AS data_size_bytes_max,
    max(index_size_bytes) AS index_size_bytes_max,
    max(storage_size_bytes) AS storage_size_bytes_max,
    min(oplog_window_hours) AS oplog_window_hours_min,
    sum(wt_cache_used_bytes::double precision) AS wt_cache_used_bytes_sum,
    count(wt_cache_used_bytes) AS wt_cache_used_bytes_count,
    sum(wt_cache_max_bytes::double precision) AS wt_cache_max_bytes_sum,
    count(wt_cache_max_bytes) AS wt_cache_max_bytes_count,
    count(*) AS samples
  FROM metrics_mongodb
  GROUP BY 1, 2
  WITH NO DATA;

SELECT add_continuous_aggregate_policy('mongodb_stats_5m', start_offset => INTERVAL '3 days', end_offset => INTERVAL '5 minutes', schedule_interval => INTERVAL '1 minute');

SELECT add_retention_policy('mongodb_stats_5m', drop_after => INTERVAL '90 days');

CREATE MATERIALIZED VIEW mongodb_stats_1h
  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT time_bucket(INTERVAL '1 hour', bucket) AS bucket,
    node_id,
    last(role_last, bucket) AS role_last,
    sum(connections_current_sum) AS connections_current_sum,
    sum(connections_current_count)::bigint AS connections_current_count,
    sum(connections_available_sum) AS connections_available_sum,
    sum(connections_available_count)::bigint AS connections_available_count,
    sum(ops_insert_sum) AS ops_insert_sum,
    sum(ops_query_sum) AS ops_query_sum,
    sum(ops_update_sum) AS ops_update_sum,
    sum(ops_delete_sum) AS ops_delete_sum,
    sum(ops_command_sum) AS ops_command_sum,
    sum(repl_lag_seconds_sum) AS repl_lag_seconds_sum,
    sum(repl_lag_seconds_count)::bigint AS repl_lag_seconds_count,
    max(data_size_bytes_max) AS data_size_bytes_max,
    max(index_size_bytes_max) AS index_size_bytes_max,
    max(storage_size_bytes_max) AS storage_size_bytes_max,
    min(oplog_window_hours_min) AS oplog_window_hours_min,
    sum(wt_cache_used_bytes_sum) AS wt_cache_used_bytes_sum,
    sum(wt_cache_used_bytes_count)::bigint AS wt_cache_used_bytes_count,
    sum(wt_cache_max_bytes_sum) AS wt_cache_max_bytes_sum,
    sum(wt_cache_max_bytes_count)::bigint AS wt_cache_max_bytes_count,
    sum(samples)::bigint AS samples
  FROM mongodb_stats_5m
  GROUP BY 1, 2
  WITH NO DATA;

SELECT add_continuous_aggregate_policy('mongodb_stats_1h', start_offset => INTERVAL '3 days', end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '15 minutes');

SELECT add_retention_policy('mongodb_stats_1h', drop_after => INTERVAL '365 days');

CREATE MATERIALIZED VIEW mongodb_stats_daily
  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT time_bucket(INTERVAL '1 day', bucket) AS bucket,
    node_id,
    last(role_last, bucket) AS role_last,
    sum(connections_current_sum) AS connections_current_sum,
    sum(connections_current_count)::bigint AS connections_current_count,
    sum(connections_available_sum) AS connections_available_sum,
    sum(connections_available_count)::bigint AS connections_available_count,
    sum(ops_insert_sum) AS ops_insert_sum,
    sum(ops_query_sum) AS ops_query_sum,
    sum(ops_update_sum) AS ops_update_sum,
    sum(ops_delete_sum) AS ops_delete_sum,
    sum(ops_command_sum) AS ops_command_sum,
    sum(repl_lag_seconds_sum) AS repl_lag_seconds_sum,
    sum(repl_lag_seconds_count)::bigint AS repl_lag_seconds_count,
    max(data_size_bytes_max) AS data_size_bytes_max,
    max(index_size_bytes_max) AS index_size_bytes_max,
    max(storage_size_bytes_max) AS storage_size_bytes_max,
    min(oplog_window_hours_min) AS oplog_window_hours_min,
    sum(wt_cache_used_bytes_sum) AS wt_cache_used_bytes_sum,
    sum(wt_cache_used_bytes_count)::bigint AS wt_cache_used_bytes_count,
    sum(wt_cache_max_bytes_sum) AS wt_cache_max_bytes_sum,
    sum(wt_cache_max_bytes_count)::bigint AS wt_cache_max_bytes_count,
    sum(samples)::bigint AS samples
  FROM mongodb_stats_1h
  GROUP BY 1, 2
  WITH NO DATA;

SELECT add_continuous_aggregate_policy('mongodb_stats_daily', start_offset => INTERVAL '6 days', end_offset => INTERVAL '1 day', schedule_interval => INTERVAL '1 hour');

SELECT add_retention_policy('mongodb_stats_daily', drop_after => INTERVAL '730 days');
