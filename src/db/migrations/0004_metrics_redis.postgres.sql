-- Generated from the metrics_redis family declaration (postgres tier) by scripts/gen-migration.ts.
-- Applied migrations are immutable: change the declaration and add a new migration instead.

CREATE TABLE metrics_redis (
  time timestamptz NOT NULL,
  node_id text NOT NULL,
  role text,
  connected_clients integer,
  blocked_clients integer,
  used_memory_bytes bigint,
  used_memory_peak_bytes bigint,
  maxmemory_bytes bigint,
  mem_fragmentation_ratio double precision,
  ops_per_sec double precision,
  keyspace_hits bigint,
  keyspace_misses bigint,
  evicted_keys bigint,
  expired_keys bigint,
  total_keys bigint,
  connected_replicas integer,
  repl_offset_lag_bytes bigint,
  master_link_up integer,
  rdb_last_bgsave_ok integer,
  rdb_changes_since_last_save bigint,
  aof_enabled integer,
  aof_last_write_ok integer,
  PRIMARY KEY (node_id, time)
) PARTITION BY RANGE (time);

CREATE INDEX metrics_redis_time_idx ON metrics_redis (time DESC);

COMMENT ON TABLE metrics_redis IS 'Redis metrics: Clients, memory, throughput, keyspace hits and misses, evictions and expirations, keys, replication and persistence of every Redis server, sampled every 15 s.';

COMMENT ON COLUMN metrics_redis.node_id IS 'identity: Node running the Redis server (nodes.id)';

COMMENT ON COLUMN metrics_redis.role IS '[label; last] Replication role: master, or replica (INFO reports a replica as "slave"; the agent sends "replica")';

COMMENT ON COLUMN metrics_redis.connected_clients IS '[clients; avg] Client connections open (replicas excluded)';

COMMENT ON COLUMN metrics_redis.blocked_clients IS '[clients; max] Clients waiting in a blocking call (BLPOP, BRPOP, XREAD BLOCK, WAIT, ...); rolls up with MAX to keep spikes';

COMMENT ON COLUMN metrics_redis.used_memory_bytes IS '[bytes; avg] Memory allocated by Redis for data and buffers';

COMMENT ON COLUMN metrics_redis.used_memory_peak_bytes IS '[bytes; max] Highest used_memory since the server started';

COMMENT ON COLUMN metrics_redis.maxmemory_bytes IS '[bytes; last] Configured memory limit; 0 means no limit';

COMMENT ON COLUMN metrics_redis.mem_fragmentation_ratio IS '[ratio; avg] Resident memory of the process divided by used_memory (> 1.5: fragmentation; < 1: swapping)';

COMMENT ON COLUMN metrics_redis.ops_per_sec IS '[operations/s; avg] Commands processed per second, as measured by the server over its last samples';

COMMENT ON COLUMN metrics_redis.keyspace_hits IS '[lookups; sum] Successful key lookups in the interval. Per-interval count: the agent sends the increase since its previous sample (after a restart, when the counter went down, the new value itself), so rollups sum it.';

COMMENT ON COLUMN metrics_redis.keyspace_misses IS '[lookups; sum] Failed key lookups in the interval. Per-interval count: the agent sends the increase since its previous sample (after a restart, when the counter went down, the new value itself), so rollups sum it.';

COMMENT ON COLUMN metrics_redis.evicted_keys IS '[keys; sum] Keys evicted because of the maxmemory limit in the interval. Per-interval count: the agent sends the increase since its previous sample (after a restart, when the counter went down, the new value itself), so rollups sum it.';

COMMENT ON COLUMN metrics_redis.expired_keys IS '[keys; sum] Keys removed on TTL expiry in the interval. Per-interval count: the agent sends the increase since its previous sample (after a restart, when the counter went down, the new value itself), so rollups sum it.';

COMMENT ON COLUMN metrics_redis.total_keys IS '[keys; avg] Keys in all databases';

COMMENT ON COLUMN metrics_redis.connected_replicas IS '[replicas; min] Replicas connected to this server; rolls up with MIN so a replica that dropped out shows in the bucket';

COMMENT ON COLUMN metrics_redis.repl_offset_lag_bytes IS '[bytes; max] Replication backlog not yet applied: on a replica, master offset − own offset; on a master, master offset − offset of the slowest replica (0 without replicas)';

COMMENT ON COLUMN metrics_redis.master_link_up IS '[flag; min] On a replica: 1 when the link to the master is up, 0 when down (null on a master); rolls up with MIN: 0 when the link was down in any sample of the bucket';

COMMENT ON COLUMN metrics_redis.rdb_last_bgsave_ok IS '[flag; min] 1 when the last RDB snapshot succeeded, 0 when it failed; rolls up with MIN: 0 when a failure was seen in the bucket';

COMMENT ON COLUMN metrics_redis.rdb_changes_since_last_save IS '[changes; max] Writes not yet in an RDB snapshot (what a crash would lose without AOF)';

COMMENT ON COLUMN metrics_redis.aof_enabled IS '[flag; min] 1 when the append-only file is on; rolls up with MIN: 1 only when it was on throughout the bucket';

COMMENT ON COLUMN metrics_redis.aof_last_write_ok IS '[flag; min] 1 when the last write to the AOF succeeded, 0 when it failed (null when AOF is off); rolls up with MIN';

INSERT INTO opsdeck_partitioned_tables (table_name, partition_interval, retention) VALUES ('metrics_redis', INTERVAL '1 day', INTERVAL '90 days');

SELECT opsdeck_ensure_partitions('metrics_redis', now() - INTERVAL '1 day', now() + INTERVAL '3 days');

CREATE TABLE _opsdeck_mat_redis_stats_5m (
  bucket timestamptz NOT NULL,
  node_id text NOT NULL,
  role_last text,
  connected_clients_sum double precision,
  connected_clients_count bigint,
  blocked_clients_max integer,
  used_memory_bytes_sum double precision,
  used_memory_bytes_count bigint,
  used_memory_peak_bytes_max bigint,
  maxmemory_bytes_last bigint,
  mem_fragmentation_ratio_sum double precision,
  mem_fragmentation_ratio_count bigint,
  ops_per_sec_sum double precision,
  ops_per_sec_count bigint,
  keyspace_hits_sum double precision,
  keyspace_misses_sum double precision,
  evicted_keys_sum double precision,
  expired_keys_sum double precision,
  total_keys_sum double precision,
  total_keys_count bigint,
  connected_replicas_min integer,
  repl_offset_lag_bytes_max bigint,
  master_link_up_min integer,
  rdb_last_bgsave_ok_min integer,
  rdb_changes_since_last_save_max bigint,
  aof_enabled_min integer,
  aof_last_write_ok_min integer,
  samples bigint NOT NULL,
  PRIMARY KEY (node_id, bucket)
);

CREATE INDEX _opsdeck_mat_redis_stats_5m_bucket_idx ON _opsdeck_mat_redis_stats_5m (bucket DESC);

CREATE VIEW redis_stats_5m AS
  SELECT m.bucket, m.node_id, m.role_last, m.connected_clients_sum, m.connected_clients_count, m.blocked_clients_max, m.used_memory_bytes_sum, m.used_memory_bytes_count, m.used_memory_peak_bytes_max, m.maxmemory_bytes_last, m.mem_fragmentation_ratio_sum, m.mem_fragmentation_ratio_count, m.ops_per_sec_sum, m.ops_per_sec_count, m.keyspace_hits_sum, m.keyspace_misses_sum, m.evicted_keys_sum, m.expired_keys_sum, m.total_keys_sum, m.total_keys_count, m.connected_replicas_min, m.repl_offset_lag_bytes_max, m.master_link_up_min, m.rdb_last_bgsave_ok_min, m.rdb_changes_since_last_save_max, m.aof_enabled_min, m.aof_last_write_ok_min, m.samples
  FROM _opsdeck_mat_redis_stats_5m m
  WHERE NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'metrics_redis' AND i.bucket >= m.bucket AND i.bucket < m.bucket + INTERVAL '5 minutes')
  UNION ALL
  SELECT date_bin(INTERVAL '5 minutes', s.time, timestamptz '2000-01-03 00:00:00+00') AS bucket,
    node_id,
    (array_agg(role ORDER BY time DESC))[1] AS role_last,
    sum(connected_clients::double precision) AS connected_clients_sum,
    count(connected_clients) AS connected_clients_count,
    max(blocked_clients) AS blocked_clients_max,
    sum(used_memory_bytes::double precision) AS used_memory_bytes_sum,
    count(used_memory_bytes) AS used_memory_bytes_count,
    max(used_memory_peak_bytes) AS used_memory_peak_bytes_max,
    (array_agg(maxmemory_bytes ORDER BY time DESC))[1] AS maxmemory_bytes_last,
    sum(mem_fragmentation_ratio::double precision) AS mem_fragmentation_ratio_sum,
    count(mem_fragmentation_ratio) AS mem_fragmentation_ratio_count,
    sum(ops_per_sec::double precision) AS ops_per_sec_sum,
    count(ops_per_sec) AS ops_per_sec_count,
    sum(keyspace_hits::double precision) AS keyspace_hits_sum,
    sum(keyspace_misses::double precision) AS keyspace_misses_sum,
    sum(evicted_keys::double precision) AS evicted_keys_sum,
    sum(expired_keys::double precision) AS expired_keys_sum,
    sum(total_keys::double precision) AS total_keys_sum,
    count(total_keys) AS total_keys_count,
    min(connected_replicas) AS connected_replicas_min,
    max(repl_offset_lag_bytes) AS repl_offset_lag_bytes_max,
    min(master_link_up) AS master_link_up_min,
    min(rdb_last_bgsave_ok) AS rdb_last_bgsave_ok_min,
    max(rdb_changes_since_last_save) AS rdb_changes_since_last_save_max,
    min(aof_enabled) AS aof_enabled_min,
    min(aof_last_write_ok) AS aof_last_write_ok_min,
    count(*) AS samples
  FROM metrics_redis s
  WHERE s.time >= (SELECT min(date_bin(INTERVAL '5 minutes', i.bucket, timestamptz '2000-01-03 00:00:00+00')) FROM opsdeck_rollup_invalidations i WHERE i.family = 'metrics_redis')
    AND date_bin(INTERVAL '5 minutes', s.time, timestamptz '2000-01-03 00:00:00+00') IN (SELECT date_bin(INTERVAL '5 minutes', i.bucket, timestamptz '2000-01-03 00:00:00+00') FROM opsdeck_rollup_invalidations i WHERE i.family = 'metrics_redis')
  GROUP BY 1, 2;

INSERT INTO opsdeck_rollup_tables (family, level, relation, storage_table, retention) VALUES ('metrics_redis', '5m', 'redis_stats_5m', '_opsdeck_mat_redis_stats_5m', INTERVAL '90 days');

CREATE TABLE _opsdeck_mat_redis_stats_1h (
  bucket timestamptz NOT NULL,
  node_id text NOT NULL,
  role_last text,
  connected_clients_sum double precision,
  connected_clients_count bigint,
  blocked_clients_max integer,
  used_memory_bytes_sum double precision,
  used_memory_bytes_count bigint,
  used_memory_peak_bytes_max bigint,
  maxmemory_bytes_last bigint,
  mem_fragmentation_ratio_sum double precision,
  mem_fragmentation_ratio_count bigint,
  ops_per_sec_sum double precision,
  ops_per_sec_count bigint,
  keyspace_hits_sum double precision,
  keyspace_misses_sum double precision,
  evicted_keys_sum double precision,
  expired_keys_sum double precision,
  total_keys_sum double precision,
  total_keys_count bigint,
  connected_replicas_min integer,
  repl_offset_lag_bytes_max bigint,
  master_link_up_min integer,
  rdb_last_bgsave_ok_min integer,
  rdb_changes_since_last_save_max bigint,
  aof_enabled_min integer,
  aof_last_write_ok_min integer,
  samples bigint NOT NULL,
  PRIMARY KEY (node_id, bucket)
);

CREATE INDEX _opsdeck_mat_redis_stats_1h_bucket_idx ON _opsdeck_mat_redis_stats_1h (bucket DESC);

CREATE VIEW redis_stats_1h AS
  SELECT m.bucket, m.node_id, m.role_last, m.connected_clients_sum, m.connected_clients_count, m.blocked_clients_max, m.used_memory_bytes_sum, m.used_memory_bytes_count, m.used_memory_peak_bytes_max, m.maxmemory_bytes_last, m.mem_fragmentation_ratio_sum, m.mem_fragmentation_ratio_count, m.ops_per_sec_sum, m.ops_per_sec_count, m.keyspace_hits_sum, m.keyspace_misses_sum, m.evicted_keys_sum, m.expired_keys_sum, m.total_keys_sum, m.total_keys_count, m.connected_replicas_min, m.repl_offset_lag_bytes_max, m.master_link_up_min, m.rdb_last_bgsave_ok_min, m.rdb_changes_since_last_save_max, m.aof_enabled_min, m.aof_last_write_ok_min, m.samples
  FROM _opsdeck_mat_redis_stats_1h m
  WHERE NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'metrics_redis' AND i.bucket >= m.bucket AND i.bucket < m.bucket + INTERVAL '1 hour')
  UNION ALL
  SELECT date_bin(INTERVAL '1 hour', s.bucket, timestamptz '2000-01-03 00:00:00+00') AS bucket,
    node_id,
    (array_agg(role_last ORDER BY bucket DESC))[1] AS role_last,
    sum(connected_clients_sum) AS connected_clients_sum,
    sum(connected_clients_count)::bigint AS connected_clients_count,
    max(blocked_clients_max) AS blocked_clients_max,
    sum(used_memory_bytes_sum) AS used_memory_bytes_sum,
    sum(used_memory_bytes_count)::bigint AS used_memory_bytes_count,
    max(used_memory_peak_bytes_max) AS used_memory_peak_bytes_max,
    (array_agg(maxmemory_bytes_last ORDER BY bucket DESC))[1] AS maxmemory_bytes_last,
    sum(mem_fragmentation_ratio_sum) AS mem_fragmentation_ratio_sum,
    sum(mem_fragmentation_ratio_count)::bigint AS mem_fragmentation_ratio_count,
    sum(ops_per_sec_sum) AS ops_per_sec_sum,
    sum(ops_per_sec_count)::bigint AS ops_per_sec_count,
    sum(keyspace_hits_sum) AS keyspace_hits_sum,
    sum(keyspace_misses_sum) AS keyspace_misses_sum,
    sum(evicted_keys_sum) AS evicted_keys_sum,
    sum(expired_keys_sum) AS expired_keys_sum,
    sum(total_keys_sum) AS total_keys_sum,
    sum(total_keys_count)::bigint AS total_keys_count,
    min(connected_replicas_min) AS connected_replicas_min,
    max(repl_offset_lag_bytes_max) AS repl_offset_lag_bytes_max,
    min(master_link_up_min) AS master_link_up_min,
    min(rdb_last_bgsave_ok_min) AS rdb_last_bgsave_ok_min,
    max(rdb_changes_since_last_save_max) AS rdb_changes_since_last_save_max,
    min(aof_enabled_min) AS aof_enabled_min,
    min(aof_last_write_ok_min) AS aof_last_write_ok_min,
    sum(samples)::bigint AS samples
  FROM redis_stats_5m s
  WHERE s.bucket >= (SELECT min(date_bin(INTERVAL '1 hour', i.bucket, timestamptz '2000-01-03 00:00:00+00')) FROM opsdeck_rollup_invalidations i WHERE i.family = 'metrics_redis')
    AND date_bin(INTERVAL '1 hour', s.bucket, timestamptz '2000-01-03 00:00:00+00') IN (SELECT date_bin(INTERVAL '1 hour', i.bucket, timestamptz '2000-01-03 00:00:00+00') FROM opsdeck_rollup_invalidations i WHERE i.family = 'metrics_redis')
  GROUP BY 1, 2;

INSERT INTO opsdeck_rollup_tables (family, level, relation, storage_table, retention) VALUES ('metrics_redis', '1h', 'redis_stats_1h', '_opsdeck_mat_redis_stats_1h', INTERVAL '365 days');

CREATE TABLE _opsdeck_mat_redis_stats_daily (
  bucket timestamptz NOT NULL,
  node_id text NOT NULL,
  role_last text,
  connected_clients_sum double precision,
  connected_clients_count bigint,
  blocked_clients_max integer,
  used_memory_bytes_sum double precision,
  used_memory_bytes_count bigint,
  used_memory_peak_bytes_max bigint,
  maxmemory_bytes_last bigint,
  mem_fragmentation_ratio_sum double precision,
  mem_fragmentation_ratio_count bigint,
  ops_per_sec_sum double precision,
  ops_per_sec_count bigint,
  keyspace_hits_sum double precision,
  keyspace_misses_sum double precision,
  evicted_keys_sum double precision,
  expired_keys_sum double precision,
  total_keys_sum double precision,
  total_keys_count bigint,
  connected_replicas_min integer,
  repl_offset_lag_bytes_max bigint,
  master_link_up_min integer,
  rdb_last_bgsave_ok_min integer,
  rdb_changes_since_last_save_max bigint,
  aof_enabled_min integer,
  aof_last_write_ok_min integer,
  samples bigint NOT NULL,
  PRIMARY KEY (node_id, bucket)
);

CREATE INDEX _opsdeck_mat_redis_stats_daily_bucket_idx ON _opsdeck_mat_redis_stats_daily (bucket DESC);

CREATE VIEW redis_stats_daily AS
  SELECT m.bucket, m.node_id, m.role_last, m.connected_clients_sum, m.connected_clients_count, m.blocked_clients_max, m.used_memory_bytes_sum, m.used_memory_bytes_count, m.used_memory_peak_bytes_max, m.maxmemory_bytes_last, m.mem_fragmentation_ratio_sum, m.mem_fragmentation_ratio_count, m.ops_per_sec_sum, m.ops_per_sec_count, m.keyspace_hits_sum, m.keyspace_misses_sum, m.evicted_keys_sum, m.expired_keys_sum, m.total_keys_sum, m.total_keys_count, m.connected_replicas_min, m.repl_offset_lag_bytes_max, m.master_link_up_min, m.rdb_last_bgsave_ok_min, m.rdb_changes_since_last_save_max, m.aof_enabled_min, m.aof_last_write_ok_min, m.samples
  FROM _opsdeck_mat_redis_stats_daily m
  WHERE NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'metrics_redis' AND i.bucket >= m.bucket AND i.bucket < m.bucket + INTERVAL '1 day')
  UNION ALL
  SELECT date_bin(INTERVAL '1 day', s.bucket, timestamptz '2000-01-03 00:00:00+00') AS bucket,
    node_id,
    (array_agg(role_last ORDER BY bucket DESC))[1] AS role_last,
    sum(connected_clients_sum) AS connected_clients_sum,
    sum(connected_clients_count)::bigint AS connected_clients_count,
    max(blocked_clients_max) AS blocked_clients_max,
    sum(used_memory_bytes_sum) AS used_memory_bytes_sum,
    sum(used_memory_bytes_count)::bigint AS used_memory_bytes_count,
    max(used_memory_peak_bytes_max) AS used_memory_peak_bytes_max,
    (array_agg(maxmemory_bytes_last ORDER BY bucket DESC))[1] AS maxmemory_bytes_last,
    sum(mem_fragmentation_ratio_sum) AS mem_fragmentation_ratio_sum,
    sum(mem_fragmentation_ratio_count)::bigint AS mem_fragmentation_ratio_count,
    sum(ops_per_sec_sum) AS ops_per_sec_sum,
    sum(ops_per_sec_count)::bigint AS ops_per_sec_count,
    sum(keyspace_hits_sum) AS keyspace_hits_sum,
    sum(keyspace_misses_sum) AS keyspace_misses_sum,
    sum(evicted_keys_sum) AS evicted_keys_sum,
    sum(expired_keys_sum) AS expired_keys_sum,
    sum(total_keys_sum) AS total_keys_sum,
    sum(total_keys_count)::bigint AS total_keys_count,
    min(connected_replicas_min) AS connected_replicas_min,
    max(repl_offset_lag_bytes_max) AS repl_offset_lag_bytes_max,
    min(master_link_up_min) AS master_link_up_min,
    min(rdb_last_bgsave_ok_min) AS rdb_last_bgsave_ok_min,
    max(rdb_changes_since_last_save_max) AS rdb_changes_since_last_save_max,
    min(aof_enabled_min) AS aof_enabled_min,
    min(aof_last_write_ok_min) AS aof_last_write_ok_min,
    sum(samples)::bigint AS samples
  FROM redis_stats_1h s
  WHERE s.bucket >= (SELECT min(date_bin(INTERVAL '1 day', i.bucket, timestamptz '2000-01-03 00:00:00+00')) FROM opsdeck_rollup_invalidations i WHERE i.family = 'metrics_redis')
    AND date_bin(INTERVAL '1 day', s.bucket, timestamptz '2000-01-03 00:00:00+00') IN (SELECT date_bin(INTERVAL '1 day', i.bucket, timestamptz '2000-01-03 00:00:00+00') FROM opsdeck_rollup_invalidations i WHERE i.family = 'metrics_redis')
  GROUP BY 1, 2;

INSERT INTO opsdeck_rollup_tables (family, level, relation, storage_table, retention) VALUES ('metrics_redis', '1d', 'redis_stats_daily', '_opsdeck_mat_redis_stats_daily', INTERVAL '730 days');
