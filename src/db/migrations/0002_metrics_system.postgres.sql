-- Generated from the metrics_system family declaration (postgres tier) by scripts/gen-migration.ts.
-- Applied migrations are immutable: change the declaration and add a new migration instead.

CREATE TABLE metrics_system (
  time timestamptz NOT NULL,
  node_id text NOT NULL,
  node_role text,
  cpu_percent double precision,
  cpu_iowait_percent double precision,
  ram_used_bytes bigint,
  ram_total_bytes bigint,
  swap_used_bytes bigint,
  disk_used_bytes bigint,
  disk_total_bytes bigint,
  disk_read_bytes_per_sec double precision,
  disk_write_bytes_per_sec double precision,
  net_rx_bytes_per_sec double precision,
  net_tx_bytes_per_sec double precision,
  load_1m double precision,
  load_5m double precision,
  load_15m double precision,
  tcp_established integer,
  tcp_time_wait integer,
  open_files integer,
  PRIMARY KEY (node_id, time)
) PARTITION BY RANGE (time);

CREATE INDEX metrics_system_time_idx ON metrics_system (time DESC);

COMMENT ON TABLE metrics_system IS 'Host metrics: CPU, memory, swap, disk, disk I/O, network, load, TCP and open files of every node, sampled every 15 s.';

COMMENT ON COLUMN metrics_system.node_id IS 'identity: Node that reported the sample (nodes.id)';

COMMENT ON COLUMN metrics_system.node_role IS '[label; last] Role of the node when sampled (mongodb, redis, zonemta, wildduck, rspamd, host, ...)';

COMMENT ON COLUMN metrics_system.cpu_percent IS '[percent; avg] CPU busy time over the interval, all cores (100 = every core busy)';

COMMENT ON COLUMN metrics_system.cpu_iowait_percent IS '[percent; avg] CPU time waiting for I/O over the interval';

COMMENT ON COLUMN metrics_system.ram_used_bytes IS '[bytes; avg] Memory in use (total - available)';

COMMENT ON COLUMN metrics_system.ram_total_bytes IS '[bytes; last] Installed memory';

COMMENT ON COLUMN metrics_system.swap_used_bytes IS '[bytes; avg] Swap in use';

COMMENT ON COLUMN metrics_system.disk_used_bytes IS '[bytes; max] Used space on the data filesystem';

COMMENT ON COLUMN metrics_system.disk_total_bytes IS '[bytes; last] Size of the data filesystem';

COMMENT ON COLUMN metrics_system.disk_read_bytes_per_sec IS '[bytes/s; avg] Bytes read from block devices per second over the interval';

COMMENT ON COLUMN metrics_system.disk_write_bytes_per_sec IS '[bytes/s; avg] Bytes written to block devices per second over the interval';

COMMENT ON COLUMN metrics_system.net_rx_bytes_per_sec IS '[bytes/s; avg] Bytes received per second, all non-loopback interfaces';

COMMENT ON COLUMN metrics_system.net_tx_bytes_per_sec IS '[bytes/s; avg] Bytes sent per second, all non-loopback interfaces';

COMMENT ON COLUMN metrics_system.load_1m IS '[load; avg] 1-minute load average';

COMMENT ON COLUMN metrics_system.load_5m IS '[load; avg] 5-minute load average';

COMMENT ON COLUMN metrics_system.load_15m IS '[load; avg] 15-minute load average';

COMMENT ON COLUMN metrics_system.tcp_established IS '[connections; avg] TCP connections in ESTABLISHED state';

COMMENT ON COLUMN metrics_system.tcp_time_wait IS '[connections; avg] TCP connections in TIME_WAIT state';

COMMENT ON COLUMN metrics_system.open_files IS '[files; avg] Open file handles, system-wide';

INSERT INTO opsdeck_partitioned_tables (table_name, partition_interval, retention) VALUES ('metrics_system', INTERVAL '1 day', INTERVAL '90 days');

SELECT opsdeck_ensure_partitions('metrics_system', now() - INTERVAL '1 day', now() + INTERVAL '3 days');

CREATE TABLE _opsdeck_mat_system_stats_5m (
  bucket timestamptz NOT NULL,
  node_id text NOT NULL,
  node_role_last text,
  cpu_percent_sum double precision,
  cpu_percent_count bigint,
  cpu_iowait_percent_sum double precision,
  cpu_iowait_percent_count bigint,
  ram_used_bytes_sum double precision,
  ram_used_bytes_count bigint,
  ram_total_bytes_last bigint,
  swap_used_bytes_sum double precision,
  swap_used_bytes_count bigint,
  disk_used_bytes_max bigint,
  disk_total_bytes_last bigint,
  disk_read_bytes_per_sec_sum double precision,
  disk_read_bytes_per_sec_count bigint,
  disk_write_bytes_per_sec_sum double precision,
  disk_write_bytes_per_sec_count bigint,
  net_rx_bytes_per_sec_sum double precision,
  net_rx_bytes_per_sec_count bigint,
  net_tx_bytes_per_sec_sum double precision,
  net_tx_bytes_per_sec_count bigint,
  load_1m_sum double precision,
  load_1m_count bigint,
  load_5m_sum double precision,
  load_5m_count bigint,
  load_15m_sum double precision,
  load_15m_count bigint,
  tcp_established_sum double precision,
  tcp_established_count bigint,
  tcp_time_wait_sum double precision,
  tcp_time_wait_count bigint,
  open_files_sum double precision,
  open_files_count bigint,
  samples bigint NOT NULL,
  PRIMARY KEY (node_id, bucket)
);

CREATE INDEX _opsdeck_mat_system_stats_5m_bucket_idx ON _opsdeck_mat_system_stats_5m (bucket DESC);

CREATE VIEW system_stats_5m AS
  SELECT m.bucket, m.node_id, m.node_role_last, m.cpu_percent_sum, m.cpu_percent_count, m.cpu_iowait_percent_sum, m.cpu_iowait_percent_count, m.ram_used_bytes_sum, m.ram_used_bytes_count, m.ram_total_bytes_last, m.swap_used_bytes_sum, m.swap_used_bytes_count, m.disk_used_bytes_max, m.disk_total_bytes_last, m.disk_read_bytes_per_sec_sum, m.disk_read_bytes_per_sec_count, m.disk_write_bytes_per_sec_sum, m.disk_write_bytes_per_sec_count, m.net_rx_bytes_per_sec_sum, m.net_rx_bytes_per_sec_count, m.net_tx_bytes_per_sec_sum, m.net_tx_bytes_per_sec_count, m.load_1m_sum, m.load_1m_count, m.load_5m_sum, m.load_5m_count, m.load_15m_sum, m.load_15m_count, m.tcp_established_sum, m.tcp_established_count, m.tcp_time_wait_sum, m.tcp_time_wait_count, m.open_files_sum, m.open_files_count, m.samples
  FROM _opsdeck_mat_system_stats_5m m
  WHERE NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'metrics_system' AND i.bucket >= m.bucket AND i.bucket < m.bucket + INTERVAL '5 minutes')
  UNION ALL
  SELECT date_bin(INTERVAL '5 minutes', s.time, timestamptz '2000-01-03 00:00:00+00') AS bucket,
    node_id,
    (array_agg(node_role ORDER BY time DESC))[1] AS node_role_last,
    sum(cpu_percent::double precision) AS cpu_percent_sum,
    count(cpu_percent) AS cpu_percent_count,
    sum(cpu_iowait_percent::double precision) AS cpu_iowait_percent_sum,
    count(cpu_iowait_percent) AS cpu_iowait_percent_count,
    sum(ram_used_bytes::double precision) AS ram_used_bytes_sum,
    count(ram_used_bytes) AS ram_used_bytes_count,
    (array_agg(ram_total_bytes ORDER BY time DESC))[1] AS ram_total_bytes_last,
    sum(swap_used_bytes::double precision) AS swap_used_bytes_sum,
    count(swap_used_bytes) AS swap_used_bytes_count,
    max(disk_used_bytes) AS disk_used_bytes_max,
    (array_agg(disk_total_bytes ORDER BY time DESC))[1] AS disk_total_bytes_last,
    sum(disk_read_bytes_per_sec::double precision) AS disk_read_bytes_per_sec_sum,
    count(disk_read_bytes_per_sec) AS disk_read_bytes_per_sec_count,
    sum(disk_write_bytes_per_sec::double precision) AS disk_write_bytes_per_sec_sum,
    count(disk_write_bytes_per_sec) AS disk_write_bytes_per_sec_count,
    sum(net_rx_bytes_per_sec::double precision) AS net_rx_bytes_per_sec_sum,
    count(net_rx_bytes_per_sec) AS net_rx_bytes_per_sec_count,
    sum(net_tx_bytes_per_sec::double precision) AS net_tx_bytes_per_sec_sum,
    count(net_tx_bytes_per_sec) AS net_tx_bytes_per_sec_count,
    sum(load_1m::double precision) AS load_1m_sum,
    count(load_1m) AS load_1m_count,
    sum(load_5m::double precision) AS load_5m_sum,
    count(load_5m) AS load_5m_count,
    sum(load_15m::double precision) AS load_15m_sum,
    count(load_15m) AS load_15m_count,
    sum(tcp_established::double precision) AS tcp_established_sum,
    count(tcp_established) AS tcp_established_count,
    sum(tcp_time_wait::double precision) AS tcp_time_wait_sum,
    count(tcp_time_wait) AS tcp_time_wait_count,
    sum(open_files::double precision) AS open_files_sum,
    count(open_files) AS open_files_count,
    count(*) AS samples
  FROM metrics_system s
  WHERE s.time >= (SELECT min(date_bin(INTERVAL '5 minutes', i.bucket, timestamptz '2000-01-03 00:00:00+00')) FROM opsdeck_rollup_invalidations i WHERE i.family = 'metrics_system')
    AND date_bin(INTERVAL '5 minutes', s.time, timestamptz '2000-01-03 00:00:00+00') IN (SELECT date_bin(INTERVAL '5 minutes', i.bucket, timestamptz '2000-01-03 00:00:00+00') FROM opsdeck_rollup_invalidations i WHERE i.family = 'metrics_system')
  GROUP BY 1, 2;

INSERT INTO opsdeck_rollup_tables (family, level, relation, storage_table, retention) VALUES ('metrics_system', '5m', 'system_stats_5m', '_opsdeck_mat_system_stats_5m', INTERVAL '90 days');

CREATE TABLE _opsdeck_mat_system_stats_1h (
  bucket timestamptz NOT NULL,
  node_id text NOT NULL,
  node_role_last text,
  cpu_percent_sum double precision,
  cpu_percent_count bigint,
  cpu_iowait_percent_sum double precision,
  cpu_iowait_percent_count bigint,
  ram_used_bytes_sum double precision,
  ram_used_bytes_count bigint,
  ram_total_bytes_last bigint,
  swap_used_bytes_sum double precision,
  swap_used_bytes_count bigint,
  disk_used_bytes_max bigint,
  disk_total_bytes_last bigint,
  disk_read_bytes_per_sec_sum double precision,
  disk_read_bytes_per_sec_count bigint,
  disk_write_bytes_per_sec_sum double precision,
  disk_write_bytes_per_sec_count bigint,
  net_rx_bytes_per_sec_sum double precision,
  net_rx_bytes_per_sec_count bigint,
  net_tx_bytes_per_sec_sum double precision,
  net_tx_bytes_per_sec_count bigint,
  load_1m_sum double precision,
  load_1m_count bigint,
  load_5m_sum double precision,
  load_5m_count bigint,
  load_15m_sum double precision,
  load_15m_count bigint,
  tcp_established_sum double precision,
  tcp_established_count bigint,
  tcp_time_wait_sum double precision,
  tcp_time_wait_count bigint,
  open_files_sum double precision,
  open_files_count bigint,
  samples bigint NOT NULL,
  PRIMARY KEY (node_id, bucket)
);

CREATE INDEX _opsdeck_mat_system_stats_1h_bucket_idx ON _opsdeck_mat_system_stats_1h (bucket DESC);

CREATE VIEW system_stats_1h AS
  SELECT m.bucket, m.node_id, m.node_role_last, m.cpu_percent_sum, m.cpu_percent_count, m.cpu_iowait_percent_sum, m.cpu_iowait_percent_count, m.ram_used_bytes_sum, m.ram_used_bytes_count, m.ram_total_bytes_last, m.swap_used_bytes_sum, m.swap_used_bytes_count, m.disk_used_bytes_max, m.disk_total_bytes_last, m.disk_read_bytes_per_sec_sum, m.disk_read_bytes_per_sec_count, m.disk_write_bytes_per_sec_sum, m.disk_write_bytes_per_sec_count, m.net_rx_bytes_per_sec_sum, m.net_rx_bytes_per_sec_count, m.net_tx_bytes_per_sec_sum, m.net_tx_bytes_per_sec_count, m.load_1m_sum, m.load_1m_count, m.load_5m_sum, m.load_5m_count, m.load_15m_sum, m.load_15m_count, m.tcp_established_sum, m.tcp_established_count, m.tcp_time_wait_sum, m.tcp_time_wait_count, m.open_files_sum, m.open_files_count, m.samples
  FROM _opsdeck_mat_system_stats_1h m
  WHERE NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'metrics_system' AND i.bucket >= m.bucket AND i.bucket < m.bucket + INTERVAL '1 hour')
  UNION ALL
  SELECT date_bin(INTERVAL '1 hour', s.bucket, timestamptz '2000-01-03 00:00:00+00') AS bucket,
    node_id,
    (array_agg(node_role_last ORDER BY bucket DESC))[1] AS node_role_last,
    sum(cpu_percent_sum) AS cpu_percent_sum,
    sum(cpu_percent_count)::bigint AS cpu_percent_count,
    sum(cpu_iowait_percent_sum) AS cpu_iowait_percent_sum,
    sum(cpu_iowait_percent_count)::bigint AS cpu_iowait_percent_count,
    sum(ram_used_bytes_sum) AS ram_used_bytes_sum,
    sum(ram_used_bytes_count)::bigint AS ram_used_bytes_count,
    (array_agg(ram_total_bytes_last ORDER BY bucket DESC))[1] AS ram_total_bytes_last,
    sum(swap_used_bytes_sum) AS swap_used_bytes_sum,
    sum(swap_used_bytes_count)::bigint AS swap_used_bytes_count,
    max(disk_used_bytes_max) AS disk_used_bytes_max,
    (array_agg(disk_total_bytes_last ORDER BY bucket DESC))[1] AS disk_total_bytes_last,
    sum(disk_read_bytes_per_sec_sum) AS disk_read_bytes_per_sec_sum,
    sum(disk_read_bytes_per_sec_count)::bigint AS disk_read_bytes_per_sec_count,
    sum(disk_write_bytes_per_sec_sum) AS disk_write_bytes_per_sec_sum,
    sum(disk_write_bytes_per_sec_count)::bigint AS disk_write_bytes_per_sec_count,
    sum(net_rx_bytes_per_sec_sum) AS net_rx_bytes_per_sec_sum,
    sum(net_rx_bytes_per_sec_count)::bigint AS net_rx_bytes_per_sec_count,
    sum(net_tx_bytes_per_sec_sum) AS net_tx_bytes_per_sec_sum,
    sum(net_tx_bytes_per_sec_count)::bigint AS net_tx_bytes_per_sec_count,
    sum(load_1m_sum) AS load_1m_sum,
    sum(load_1m_count)::bigint AS load_1m_count,
    sum(load_5m_sum) AS load_5m_sum,
    sum(load_5m_count)::bigint AS load_5m_count,
    sum(load_15m_sum) AS load_15m_sum,
    sum(load_15m_count)::bigint AS load_15m_count,
    sum(tcp_established_sum) AS tcp_established_sum,
    sum(tcp_established_count)::bigint AS tcp_established_count,
    sum(tcp_time_wait_sum) AS tcp_time_wait_sum,
    sum(tcp_time_wait_count)::bigint AS tcp_time_wait_count,
    sum(open_files_sum) AS open_files_sum,
    sum(open_files_count)::bigint AS open_files_count,
    sum(samples)::bigint AS samples
  FROM system_stats_5m s
  WHERE s.bucket >= (SELECT min(date_bin(INTERVAL '1 hour', i.bucket, timestamptz '2000-01-03 00:00:00+00')) FROM opsdeck_rollup_invalidations i WHERE i.family = 'metrics_system')
    AND date_bin(INTERVAL '1 hour', s.bucket, timestamptz '2000-01-03 00:00:00+00') IN (SELECT date_bin(INTERVAL '1 hour', i.bucket, timestamptz '2000-01-03 00:00:00+00') FROM opsdeck_rollup_invalidations i WHERE i.family = 'metrics_system')
  GROUP BY 1, 2;

INSERT INTO opsdeck_rollup_tables (family, level, relation, storage_table, retention) VALUES ('metrics_system', '1h', 'system_stats_1h', '_opsdeck_mat_system_stats_1h', INTERVAL '365 days');

CREATE TABLE _opsdeck_mat_system_stats_daily (
  bucket timestamptz NOT NULL,
  node_id text NOT NULL,
  node_role_last text,
  cpu_percent_sum double precision,
  cpu_percent_count bigint,
  cpu_iowait_percent_sum double precision,
  cpu_iowait_percent_count bigint,
  ram_used_bytes_sum double precision,
  ram_used_bytes_count bigint,
  ram_total_bytes_last bigint,
  swap_used_bytes_sum double precision,
  swap_used_bytes_count bigint,
  disk_used_bytes_max bigint,
  disk_total_bytes_last bigint,
  disk_read_bytes_per_sec_sum double precision,
  disk_read_bytes_per_sec_count bigint,
  disk_write_bytes_per_sec_sum double precision,
  disk_write_bytes_per_sec_count bigint,
  net_rx_bytes_per_sec_sum double precision,
  net_rx_bytes_per_sec_count bigint,
  net_tx_bytes_per_sec_sum double precision,
  net_tx_bytes_per_sec_count bigint,
  load_1m_sum double precision,
  load_1m_count bigint,
  load_5m_sum double precision,
  load_5m_count bigint,
  load_15m_sum double precision,
  load_15m_count bigint,
  tcp_established_sum double precision,
  tcp_established_count bigint,
  tcp_time_wait_sum double precision,
  tcp_time_wait_count bigint,
  open_files_sum double precision,
  open_files_count bigint,
  samples bigint NOT NULL,
  PRIMARY KEY (node_id, bucket)
);

CREATE INDEX _opsdeck_mat_system_stats_daily_bucket_idx ON _opsdeck_mat_system_stats_daily (bucket DESC);

CREATE VIEW system_stats_daily AS
  SELECT m.bucket, m.node_id, m.node_role_last, m.cpu_percent_sum, m.cpu_percent_count, m.cpu_iowait_percent_sum, m.cpu_iowait_percent_count, m.ram_used_bytes_sum, m.ram_used_bytes_count, m.ram_total_bytes_last, m.swap_used_bytes_sum, m.swap_used_bytes_count, m.disk_used_bytes_max, m.disk_total_bytes_last, m.disk_read_bytes_per_sec_sum, m.disk_read_bytes_per_sec_count, m.disk_write_bytes_per_sec_sum, m.disk_write_bytes_per_sec_count, m.net_rx_bytes_per_sec_sum, m.net_rx_bytes_per_sec_count, m.net_tx_bytes_per_sec_sum, m.net_tx_bytes_per_sec_count, m.load_1m_sum, m.load_1m_count, m.load_5m_sum, m.load_5m_count, m.load_15m_sum, m.load_15m_count, m.tcp_established_sum, m.tcp_established_count, m.tcp_time_wait_sum, m.tcp_time_wait_count, m.open_files_sum, m.open_files_count, m.samples
  FROM _opsdeck_mat_system_stats_daily m
  WHERE NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'metrics_system' AND i.bucket >= m.bucket AND i.bucket < m.bucket + INTERVAL '1 day')
  UNION ALL
  SELECT date_bin(INTERVAL '1 day', s.bucket, timestamptz '2000-01-03 00:00:00+00') AS bucket,
    node_id,
    (array_agg(node_role_last ORDER BY bucket DESC))[1] AS node_role_last,
    sum(cpu_percent_sum) AS cpu_percent_sum,
    sum(cpu_percent_count)::bigint AS cpu_percent_count,
    sum(cpu_iowait_percent_sum) AS cpu_iowait_percent_sum,
    sum(cpu_iowait_percent_count)::bigint AS cpu_iowait_percent_count,
    sum(ram_used_bytes_sum) AS ram_used_bytes_sum,
    sum(ram_used_bytes_count)::bigint AS ram_used_bytes_count,
    (array_agg(ram_total_bytes_last ORDER BY bucket DESC))[1] AS ram_total_bytes_last,
    sum(swap_used_bytes_sum) AS swap_used_bytes_sum,
    sum(swap_used_bytes_count)::bigint AS swap_used_bytes_count,
    max(disk_used_bytes_max) AS disk_used_bytes_max,
    (array_agg(disk_total_bytes_last ORDER BY bucket DESC))[1] AS disk_total_bytes_last,
    sum(disk_read_bytes_per_sec_sum) AS disk_read_bytes_per_sec_sum,
    sum(disk_read_bytes_per_sec_count)::bigint AS disk_read_bytes_per_sec_count,
    sum(disk_write_bytes_per_sec_sum) AS disk_write_bytes_per_sec_sum,
    sum(disk_write_bytes_per_sec_count)::bigint AS disk_write_bytes_per_sec_count,
    sum(net_rx_bytes_per_sec_sum) AS net_rx_bytes_per_sec_sum,
    sum(net_rx_bytes_per_sec_count)::bigint AS net_rx_bytes_per_sec_count,
    sum(net_tx_bytes_per_sec_sum) AS net_tx_bytes_per_sec_sum,
    sum(net_tx_bytes_per_sec_count)::bigint AS net_tx_bytes_per_sec_count,
    sum(load_1m_sum) AS load_1m_sum,
    sum(load_1m_count)::bigint AS load_1m_count,
    sum(load_5m_sum) AS load_5m_sum,
    sum(load_5m_count)::bigint AS load_5m_count,
    sum(load_15m_sum) AS load_15m_sum,
    sum(load_15m_count)::bigint AS load_15m_count,
    sum(tcp_established_sum) AS tcp_established_sum,
    sum(tcp_established_count)::bigint AS tcp_established_count,
    sum(tcp_time_wait_sum) AS tcp_time_wait_sum,
    sum(tcp_time_wait_count)::bigint AS tcp_time_wait_count,
    sum(open_files_sum) AS open_files_sum,
    sum(open_files_count)::bigint AS open_files_count,
    sum(samples)::bigint AS samples
  FROM system_stats_1h s
  WHERE s.bucket >= (SELECT min(date_bin(INTERVAL '1 day', i.bucket, timestamptz '2000-01-03 00:00:00+00')) FROM opsdeck_rollup_invalidations i WHERE i.family = 'metrics_system')
    AND date_bin(INTERVAL '1 day', s.bucket, timestamptz '2000-01-03 00:00:00+00') IN (SELECT date_bin(INTERVAL '1 day', i.bucket, timestamptz '2000-01-03 00:00:00+00') FROM opsdeck_rollup_invalidations i WHERE i.family = 'metrics_system')
  GROUP BY 1, 2;

INSERT INTO opsdeck_rollup_tables (family, level, relation, storage_table, retention) VALUES ('metrics_system', '1d', 'system_stats_daily', '_opsdeck_mat_system_stats_daily', INTERVAL '730 days');
