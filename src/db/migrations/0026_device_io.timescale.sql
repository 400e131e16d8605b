-- Generated from the device_io stream declaration (timescale tier) by scripts/gen-migration.ts.
-- Applied migrations are immutable: change the declaration and add a new migration instead.

CREATE TABLE device_io (
  time timestamptz NOT NULL,
  node_id text NOT NULL,
  kind text NOT NULL,
  name text NOT NULL,
  read_bytes_per_sec double precision,
  write_bytes_per_sec double precision,
  rx_bytes_per_sec double precision,
  tx_bytes_per_sec double precision,
  rx_errors bigint,
  tx_errors bigint,
  size_bytes bigint,
  used_bytes bigint,
  used_percent double precision,
  CONSTRAINT device_io_kind_check CHECK (kind IN ('disk', 'interface', 'filesystem')),
  PRIMARY KEY (node_id, kind, name, time)
);

SELECT create_hypertable('device_io', by_range('time', INTERVAL '1 day'), create_default_indexes => false);

CREATE INDEX device_io_time_idx ON device_io (time DESC);

CREATE INDEX device_io_node_id_kind_name_idx ON device_io (node_id, kind, name, time DESC);

COMMENT ON TABLE device_io IS 'Device I/O breakdown: Per-disk read/write rates, per-interface traffic and errors, and per-filesystem usage of a home-lab device at each system collection (SSH or push).';

COMMENT ON COLUMN device_io.node_id IS 'The device (nodes.id)';

COMMENT ON COLUMN device_io.kind IS 'disk, interface or filesystem';

COMMENT ON COLUMN device_io.name IS 'Disk name (sda, nvme0n1), interface name (eth0) or mount point (/srv)';

COMMENT ON COLUMN device_io.read_bytes_per_sec IS 'Disk: bytes read per second since the previous collection (null for the first sample)';

COMMENT ON COLUMN device_io.write_bytes_per_sec IS 'Disk: bytes written per second since the previous collection (null for the first sample)';

COMMENT ON COLUMN device_io.rx_bytes_per_sec IS 'Interface: bytes received per second since the previous collection (null for the first sample)';

COMMENT ON COLUMN device_io.tx_bytes_per_sec IS 'Interface: bytes sent per second since the previous collection (null for the first sample)';

COMMENT ON COLUMN device_io.rx_errors IS 'Interface: receive errors since boot (counter)';

COMMENT ON COLUMN device_io.tx_errors IS 'Interface: transmit errors since boot (counter)';

COMMENT ON COLUMN device_io.size_bytes IS 'Filesystem: size';

COMMENT ON COLUMN device_io.used_bytes IS 'Filesystem: used space';

COMMENT ON COLUMN device_io.used_percent IS 'Filesystem: used / size × 100';

ALTER TABLE device_io SET (timescaledb.compress, timescaledb.compress_segmentby = 'node_id', timescaledb.compress_orderby = 'time DESC');

SELECT add_compression_policy('device_io', compress_after => INTERVAL '7 days');

SELECT add_retention_policy('device_io', drop_after => INTERVAL '90 days');

CREATE MATERIALIZED VIEW _opsdeck_cagg_device_io_1h
  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT time_bucket(INTERVAL '1 hour', time) AS bucket,
    node_id,
    kind,
    name,
    count(*) AS samples,
    sum(read_bytes_per_sec::double precision) AS avg_read_bytes_per_sec_sum,
    count(read_bytes_per_sec) AS avg_read_bytes_per_sec_count,
    sum(write_bytes_per_sec::double precision) AS avg_write_bytes_per_sec_sum,
    count(write_bytes_per_sec) AS avg_write_bytes_per_sec_count,
    sum(rx_bytes_per_sec::double precision) AS avg_rx_bytes_per_sec_sum,
    count(rx_bytes_per_sec) AS avg_rx_bytes_per_sec_count,
    sum(tx_bytes_per_sec::double precision) AS avg_tx_bytes_per_sec_sum,
    count(tx_bytes_per_sec) AS avg_tx_bytes_per_sec_count,
    max(used_percent) AS max_used_percent
  FROM device_io
  GROUP BY 1, 2, 3, 4
  WITH NO DATA;

SELECT add_continuous_aggregate_policy('_opsdeck_cagg_device_io_1h', start_offset => INTERVAL '89 days 23:00:00', end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '30 minutes');

SELECT count(*) FROM (SELECT alter_job(job_id, config => config || jsonb_build_object('buckets_per_batch', 0)) FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_schema = 'public' AND hypertable_name = '_opsdeck_cagg_device_io_1h') s;

SELECT add_retention_policy('_opsdeck_cagg_device_io_1h', drop_after => INTERVAL '365 days');

CREATE VIEW device_io_1h AS
  SELECT bucket, node_id, kind, name, samples, avg_read_bytes_per_sec_sum, avg_read_bytes_per_sec_count, avg_write_bytes_per_sec_sum, avg_write_bytes_per_sec_count, avg_rx_bytes_per_sec_sum, avg_rx_bytes_per_sec_count, avg_tx_bytes_per_sec_sum, avg_tx_bytes_per_sec_count, max_used_percent, avg_read_bytes_per_sec_sum / NULLIF(avg_read_bytes_per_sec_count, 0) AS avg_read_bytes_per_sec, avg_write_bytes_per_sec_sum / NULLIF(avg_write_bytes_per_sec_count, 0) AS avg_write_bytes_per_sec, avg_rx_bytes_per_sec_sum / NULLIF(avg_rx_bytes_per_sec_count, 0) AS avg_rx_bytes_per_sec, avg_tx_bytes_per_sec_sum / NULLIF(avg_tx_bytes_per_sec_count, 0) AS avg_tx_bytes_per_sec
  FROM _opsdeck_cagg_device_io_1h;

COMMENT ON VIEW device_io_1h IS 'Disk and interface rates and filesystem use per hour, by device, kind and name';
