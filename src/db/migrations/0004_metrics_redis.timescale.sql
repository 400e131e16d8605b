-- Generated from the metrics_redis family declaration (timescale tier) by scripts/gen-migration.ts.
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
);

SELECT create_hypertable('metrics_redis', by_range('time', INTERVAL '1 hour'), create_default_indexes => false);

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

ALTER TABLE metrics_redis SET (timescaledb.compress, timescaledb.compress_segmentby = 'node_id', timescaledb.compress_orderby = 'time DESC');

SELECT add_compression_policy('metrics_redis', compress_after => INTERVAL '7 days');

SELECT add_retention_policy('metrics_redis', drop_after => INTERVAL '90 days');

CREATE MATERIALIZED VIEW redis_stats_5m
  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT time_bucket(INTERVAL '5 minutes', time) AS bucket,
    node_id,
    last(role, time) AS role_last,
    sum(connected_clients::double precision) AS connected_clients_sum,
    count(connected_clients) AS connected_clients_count,
    max(blocked_clients) AS blocked_clients_max,
    sum(used_memory_bytes::double precision) AS used_memory_bytes_sum,
    count(used_memory_bytes) AS used_memory_bytes_count,
    max(used_memory_peak_bytes) AS used_memory_peak_bytes_max,
    last(maxmemory_bytes, time) AS maxmemory_bytes_last,
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
  FROM metrics_redis
  GROUP BY 1, 2
  WITH NO DATA;

SELECT add_continuous_aggregate_policy('redis_stats_5m', start_offset => INTERVAL '3 days', end_offset => INTERVAL '5 minutes', schedule_interval => INTERVAL '1 minute');

SELECT add_retention_policy('redis_stats_5m', drop_after => INTERVAL '90 days');

CREATE MATERIALIZED VIEW redis_stats_1h
  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT time_bucket(INTERVAL '1 hour', bucket) AS bucket,
    node_id,
    last(role_last, bucket) AS role_last,
    sum(connected_clients_sum) AS connected_clients_sum,
    sum(connected_clients_count)::bigint AS connected_clients_count,
    max(blocked_clients_max) AS blocked_clients_max,
    sum(used_memory_bytes_sum) AS used_memory_bytes_sum,
    sum(used_memory_bytes_count)::bigint AS used_memory_bytes_count,
    max(used_memory_peak_bytes_max) AS used_memory_peak_bytes_max,
    last(maxmemory_bytes_last, bucket) AS maxmemory_bytes_last,
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
  FROM redis_stats_5m
  GROUP BY 1, 2
  WITH NO DATA;

SELECT add_continuous_aggregate_policy('redis_stats_1h', start_offset => INTERVAL '3 days', end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '15 minutes');

SELECT add_retention_policy('redis_stats_1h', drop_after => INTERVAL '365 days');

CREATE MATERIALIZED VIEW redis_stats_daily
  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT time_bucket(INTERVAL '1 day', bucket) AS bucket,
    node_id,
    last(role_last, bucket) AS role_last,
    sum(connected_clients_sum) AS connected_clients_sum,
    sum(connected_clients_count)::bigint AS connected_clients_count,
    max(blocked_clients_max) AS blocked_clients_max,
    sum(used_memory_bytes_sum) AS used_memory_bytes_sum,
    sum(used_memory_bytes_count)::bigint AS used_memory_bytes_count,
    max(used_memory_peak_bytes_max) AS used_memory_peak_bytes_max,
    last(maxmemory_bytes_last, bucket) AS maxmemory_bytes_last,
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
  FROM redis_stats_1h
  GROUP BY 1, 2
  WITH NO DATA;

SELECT add_continuous_aggregate_policy('redis_stats_daily', start_offset => INTERVAL '6 days', end_offset => INTERVAL '1 day', schedule_interval => INTERVAL '1 hour');

SELECT add_retention_policy('redis_stats_daily', drop_after => INTERVAL '730 days');
