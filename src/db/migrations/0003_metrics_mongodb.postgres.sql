-- Generated from the metrics_mongodb family declaration (postgres tier) by scripts/gen-migration.ts.
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
) PARTITION BY RANGE (time);

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

INSERT INTO opsdeck_partitioned_tables (table_name, partition_interval, retention) VALUES ('metrics_mongodb', INTERVAL '1 day', INTERVAL '90 days');

SELECT opsdeck_ensure_partitions('metrics_mongodb', now() - INTERVAL '1 day', now() + INTERVAL '3 days');

CREATE TABLE _opsdeck_mat_mongodb_stats_5m (
  bucket timestamptz NOT NULL,
  node_id text NOT NULL,
  role_last text,
  connections_current_sum double precision,
  connections_current_count bigint,
  connections_available_sum double precision,
  connections_available_count bigint,
  ops_insert_sum double precision,
  ops_query_sum double precision,
  ops_update_sum double precision,
  ops_delete_sum double precision,
  ops_command_sum double precision,
  repl_lag_seconds_sum double precision,
  repl_lag_seconds_count bigint,
  data_size_bytes_max bigint,
  index_size_bytes_max bigint,
  storage_size_bytes_max bigint,
  oplog_window_hours_min double precision,
  wt_cache_used_bytes_sum double precision,
  wt_cache_used_bytes_count bigint,
  wt_cache_max_bytes_sum double precision,
  wt_cache_max_bytes_count bigint,
  samples bigint NOT NULL,
  PRIMARY KEY (node_id, bucket)
);

CREATE INDEX _opsdeck_mat_mongodb_stats_5m_bucket_idx ON _opsdeck_mat_mongodb_stats_5m (bucket DESC);

CREATE VIEW mongodb_stats_5m AS
  SELECT m.bucket, m.node_id, m.role_last, m.connections_current_sum, m.connections_current_count, m.connections_available_sum, m.connections_available_count, m.ops_insert_sum, m.ops_query_sum, m.ops_update_sum, m.ops_delete_sum, m.ops_command_sum, m.repl_lag_seconds_sum, m.repl_lag_seconds_count, m.data_size_bytes_max, m.index_size_bytes_max, m.storage_size_bytes_max, m.oplog_window_hours_min, m.wt_cache_used_bytes_sum, m.wt_cache_used_bytes_count, m.wt_cache_max_bytes_sum, m.wt_cache_max_bytes_count, m.samples
  FROM _opsdeck_mat_mongodb_stats_5m m
  WHERE NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'metrics_mongodb' AND i.bucket >= m.bucket AND i.bucket < m.bucket + INTERVAL '5 minutes')
  UNION ALL
  SELECT date_bin(INTERVAL '5 minutes', s.time, timestamptz '2000-01-03 00:00:00+00') AS bucket,
    node_id,
    (array_agg(role ORDER BY time DESC))[1] AS role_last,
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
  FROM metrics_mongodb s
  WHERE s.time >= (SELECT min(date_bin(INTERVAL '5 minutes', i.bucket, timestamptz '2000-01-03 00:00:00+00')) FROM opsdeck_rollup_invalidations i WHERE i.family = 'metrics_mongodb')
    AND date_bin(INTERVAL '5 minutes', s.time, timestamptz '2000-01-03 00:00:00+00') IN (SELECT date_bin(INTERVAL '5 minutes', i.bucket, timestamptz '2000-01-03 00:00:00+00') FROM opsdeck_rollup_invalidations i WHERE i.family = 'metrics_mongodb')
  GROUP BY 1, 2;

INSERT INTO opsdeck_rollup_tables (family, level, relation, storage_table, retention) VALUES ('metrics_mongodb', '5m', 'mongodb_stats_5m', '_opsdeck_mat_mongodb_stats_5m', INTERVAL '90 days');

CREATE TABLE _opsdeck_mat_mongodb_stats_1h (
  bucket timestamptz NOT NULL,
  node_id text NOT NULL,
  role_last text,
  connections_current_sum double precision,
  connections_current_count bigint,
  connections_available_sum double precision,
  connections_available_count bigint,
  ops_insert_sum double precision,
  ops_query_sum double precision,
  ops_update_sum double precision,
  ops_delete_sum double precision,
  ops_command_sum double precision,
  repl_lag_seconds_sum double precision,
  repl_lag_seconds_count bigint,
  data_size_bytes_max bigint,
  index_size_bytes_max bigint,
  storage_size_bytes_max bigint,
  oplog_window_hours_min double precision,
  wt_cache_used_bytes_sum double precision,
  wt_cache_used_bytes_count bigint,
  wt_cache_max_bytes_sum double precision,
  wt_cache_max_bytes_count bigint,
  samples bigint NOT NULL,
  PRIMARY KEY (node_id, bucket)
);

CREATE INDEX _opsdeck_mat_mongodb_stats_1h_bucket_idx ON _opsdeck_mat_mongodb_stats_1h (bucket DESC);

CREATE VIEW mongodb_stats_1h AS
  SELECT m.bucket, m.node_id, m.role_last, m.connections_current_sum, m.connections_current_count, m.connections_available_sum, m.connections_available_count, m.ops_insert_sum, m.ops_query_sum, m.ops_update_sum, m.ops_delete_sum, m.ops_command_sum, m.repl_lag_seconds_sum, m.repl_lag_seconds_count, m.data_size_bytes_max, m.index_size_bytes_max, m.storage_size_bytes_max, m.oplog_window_hours_min, m.wt_cache_used_bytes_sum, m.wt_cache_used_bytes_count, m.wt_cache_max_bytes_sum, m.wt_cache_max_bytes_count, m.samples
  FROM _opsdeck_mat_mongodb_stats_1h m
  WHERE NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'metrics_mongodb' AND i.bucket >= m.bucket AND i.bucket < m.bucket + INTERVAL '1 hour')
  UNION ALL
  SELECT date_bin(INTERVAL '1 hour', s.bucket, timestamptz '2000-01-03 00:00:00+00') AS bucket,
    node_id,
    (array_agg(role_last ORDER BY bucket DESC))[1] AS role_last,
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
  FROM mongodb_stats_5m s
  WHERE s.bucket >= (SELECT min(date_bin(INTERVAL '1 hour', i.bucket, timestamptz '2000-01-03 00:00:00+00')) FROM opsdeck_rollup_invalidations i WHERE i.family = 'metrics_mongodb')
    AND date_bin(INTERVAL '1 hour', s.bucket, timestamptz '2000-01-03 00:00:00+00') IN (SELECT date_bin(INTERVAL '1 hour', i.bucket, timestamptz '2000-01-03 00:00:00+00') FROM opsdeck_rollup_invalidations i WHERE i.family = 'metrics_mongodb')
  GROUP BY 1, 2;

INSERT INTO opsdeck_rollup_tables (family, level, relation, storage_table, retention) VALUES ('metrics_mongodb', '1h', 'mongodb_stats_1h', '_opsdeck_mat_mongodb_stats_1h', INTERVAL '365 days');

CREATE TABLE _opsdeck_mat_mongodb_stats_daily (
  bucket timestamptz NOT NULL,
  node_id text NOT NULL,
  role_last text,
  connections_current_sum double precision,
  connections_current_count bigint,
  connections_available_sum double precision,
  connections_available_count bigint,
  ops_insert_sum double precision,
  ops_query_sum double precision,
  ops_update_sum double precision,
  ops_delete_sum double precision,
  ops_command_sum double precision,
  repl_lag_seconds_sum double precision,
  repl_lag_seconds_count bigint,
  data_size_bytes_max bigint,
  index_size_bytes_max bigint,
  storage_size_bytes_max bigint,
  oplog_window_hours_min double precision,
  wt_cache_used_bytes_sum double precision,
  wt_cache_used_bytes_count bigint,
  wt_cache_max_bytes_sum double precision,
  wt_cache_max_bytes_count bigint,
  samples bigint NOT NULL,
  PRIMARY KEY (node_id, bucket)
);

CREATE INDEX _opsdeck_mat_mongodb_stats_daily_bucket_idx ON _opsdeck_mat_mongodb_stats_daily (bucket DESC);

CREATE VIEW mongodb_stats_daily AS
  SELECT m.bucket, m.node_id, m.role_last, m.connections_current_sum, m.connections_current_count, m.connections_available_sum, m.connections_available_count, m.ops_insert_sum, m.ops_query_sum, m.ops_update_sum, m.ops_delete_sum, m.ops_command_sum, m.repl_lag_seconds_sum, m.repl_lag_seconds_count, m.data_size_bytes_max, m.index_size_bytes_max, m.storage_size_bytes_max, m.oplog_window_hours_min, m.wt_cache_used_bytes_sum, m.wt_cache_used_bytes_count, m.wt_cache_max_bytes_sum, m.wt_cache_max_bytes_count, m.samples
  FROM _opsdeck_mat_mongodb_stats_daily m
  WHERE NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'metrics_mongodb' AND i.bucket >= m.bucket AND i.bucket < m.bucket + INTERVAL '1 day')
  UNION ALL
  SELECT date_bin(INTERVAL '1 day', s.bucket, timestamptz '2000-01-03 00:00:00+00') AS bucket,
    node_id,
    (array_agg(role_last ORDER BY bucket DESC))[1] AS role_last,
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
  FROM mongodb_stats_1h s
  WHERE s.bucket >= (SELECT min(date_bin(INTERVAL '1 day', i.bucket, timestamptz '2000-01-03 00:00:00+00')) FROM opsdeck_rollup_invalidations i WHERE i.family = 'metrics_mongodb')
    AND date_bin(INTERVAL '1 day', s.bucket, timestamptz '2000-01-03 00:00:00+00') IN (SELECT date_bin(INTERVAL '1 day', i.bucket, timestamptz '2000-01-03 00:00:00+00') FROM opsdeck_rollup_invalidations i WHERE i.family = 'metrics_mongodb')
  GROUP BY 1, 2;

INSERT INTO opsdeck_rollup_tables (family, level, relation, storage_table, retention) VALUES ('metrics_mongodb', '1d', 'mongodb_stats_daily', '_opsdeck_mat_mongodb_stats_daily', INTERVAL '730 days');
