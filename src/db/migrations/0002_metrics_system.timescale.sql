-- Generated from the metrics_system family declaration (timescale tier) by scripts/gen-migration.ts.
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
);

SELECT create_hypertable('metrics_system', by_range('time', INTERVAL '1 hour'), create_default_indexes => false);

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

ALTER TABLE metrics_system SET (timescaledb.compress, timescaledb.compress_segmentby = 'node_id', timescaledb.compress_orderby = 'time DESC');

SELECT add_compression_policy('metrics_system', compress_after => INTERVAL '7 days');

SELECT add_retention_policy('metrics_system', drop_after => INTERVAL '90 days');

CREATE MATERIALIZED VIEW system_stats_5m
  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT time_bucket(INTERVAL '5 minutes', time) AS bucket,
    node_id,
    last(node_role, time) AS node_role_last,
    sum(cpu_percent::double precision) AS cpu_percent_sum,
    count(cpu_percent) AS cpu_percent_count,
    sum(cpu_iowait_percent::double precision) AS cpu_iowait_percent_sum,
    count(cpu_iowait_percent) AS cpu_iowait_percent_count,
    sum(ram_used_bytes::double precision) AS ram_used_bytes_sum,
    count(ram_used_bytes) AS ram_used_bytes_count,
    last(ram_total_bytes, time) AS ram_total_bytes_last,
    sum(swap_used_bytes::double precision) AS swap_used_bytes_sum,
    count(swap_used_bytes) AS swap_used_bytes_count,
    max(disk_used_bytes) AS disk_used_bytes_max,
    last(disk_total_bytes, time) AS disk_total_bytes_last,
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
  FROM metrics_system
  GROUP BY 1, 2
  WITH NO DATA;

SELECT add_continuous_aggregate_policy('system_stats_5m', start_offset => INTERVAL '3 days', end_offset => INTERVAL '5 minutes', schedule_interval => INTERVAL '1 minute');

SELECT add_retention_policy('system_stats_5m', drop_after => INTERVAL '90 days');

CREATE MATERIALIZED VIEW system_stats_1h
  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT time_bucket(INTERVAL '1 hour', bucket) AS bucket,
    node_id,
    last(node_role_last, bucket) AS node_role_last,
    sum(cpu_percent_sum) AS cpu_percent_sum,
    sum(cpu_percent_count)::bigint AS cpu_percent_count,
    sum(cpu_iowait_percent_sum) AS cpu_iowait_percent_sum,
    sum(cpu_iowait_percent_count)::bigint AS cpu_iowait_percent_count,
    sum(ram_used_bytes_sum) AS ram_used_bytes_sum,
    sum(ram_used_bytes_count)::bigint AS ram_used_bytes_count,
    last(ram_total_bytes_last, bucket) AS ram_total_bytes_last,
    sum(swap_used_bytes_sum) AS swap_used_bytes_sum,
    sum(swap_used_bytes_count)::bigint AS swap_used_bytes_count,
    max(disk_used_bytes_max) AS disk_used_bytes_max,
    last(disk_total_bytes_last, bucket) AS disk_total_bytes_last,
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
  FROM system_stats_5m
  GROUP BY 1, 2
  WITH NO DATA;

SELECT add_continuous_aggregate_policy('system_stats_1h', start_offset => INTERVAL '3 days', end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '15 minutes');

SELECT add_retention_policy('system_stats_1h', drop_after => INTERVAL '365 days');

CREATE MATERIALIZED VIEW system_stats_daily
  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT time_bucket(INTERVAL '1 day', bucket) AS bucket,
    node_id,
    last(node_role_last, bucket) AS node_role_last,
    sum(cpu_percent_sum) AS cpu_percent_sum,
    sum(cpu_percent_count)::bigint AS cpu_percent_count,
    sum(cpu_iowait_percent_sum) AS cpu_iowait_percent_sum,
    sum(cpu_iowait_percent_count)::bigint AS cpu_iowait_percent_count,
    sum(ram_used_bytes_sum) AS ram_used_bytes_sum,
    sum(ram_used_bytes_count)::bigint AS ram_used_bytes_count,
    last(ram_total_bytes_last, bucket) AS ram_total_bytes_last,
    sum(swap_used_bytes_sum) AS swap_used_bytes_sum,
    sum(swap_used_bytes_count)::bigint AS swap_used_bytes_count,
    max(disk_used_bytes_max) AS disk_used_bytes_max,
    last(disk_total_bytes_last, bucket) AS disk_total_bytes_last,
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
  FROM system_stats_1h
  GROUP BY 1, 2
  WITH NO DATA;

SELECT add_continuous_aggregate_policy('system_stats_daily', start_offset => INTERVAL '6 days', end_offset => INTERVAL '1 day', schedule_interval => INTERVAL '1 hour');

SELECT add_retention_policy('system_stats_daily', drop_after => INTERVAL '730 days');
