-- Generated from the device_io stream declaration (postgres tier) by scripts/gen-migration.ts.
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
) PARTITION BY RANGE (time);

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

INSERT INTO opsdeck_partitioned_tables (table_name, partition_interval, retention) VALUES ('device_io', INTERVAL '1 day', INTERVAL '90 days');

SELECT opsdeck_ensure_partitions('device_io', now() - INTERVAL '1 day', now() + INTERVAL '3 days');

CREATE TABLE _opsdeck_mat_device_io_1h (
  bucket timestamptz NOT NULL,
  node_id text,
  kind text,
  name text,
  samples bigint,
  avg_read_bytes_per_sec_sum double precision,
  avg_read_bytes_per_sec_count bigint,
  avg_write_bytes_per_sec_sum double precision,
  avg_write_bytes_per_sec_count bigint,
  avg_rx_bytes_per_sec_sum double precision,
  avg_rx_bytes_per_sec_count bigint,
  avg_tx_bytes_per_sec_sum double precision,
  avg_tx_bytes_per_sec_count bigint,
  max_used_percent double precision
);

CREATE INDEX _opsdeck_mat_device_io_1h_bucket_idx ON _opsdeck_mat_device_io_1h (bucket DESC);

CREATE VIEW device_io_1h AS
  SELECT bucket, node_id, kind, name, samples, avg_read_bytes_per_sec_sum, avg_read_bytes_per_sec_count, avg_write_bytes_per_sec_sum, avg_write_bytes_per_sec_count, avg_rx_bytes_per_sec_sum, avg_rx_bytes_per_sec_count, avg_tx_bytes_per_sec_sum, avg_tx_bytes_per_sec_count, max_used_percent, avg_read_bytes_per_sec_sum / NULLIF(avg_read_bytes_per_sec_count, 0) AS avg_read_bytes_per_sec, avg_write_bytes_per_sec_sum / NULLIF(avg_write_bytes_per_sec_count, 0) AS avg_write_bytes_per_sec, avg_rx_bytes_per_sec_sum / NULLIF(avg_rx_bytes_per_sec_count, 0) AS avg_rx_bytes_per_sec, avg_tx_bytes_per_sec_sum / NULLIF(avg_tx_bytes_per_sec_count, 0) AS avg_tx_bytes_per_sec
  FROM (
    SELECT m.bucket, m.node_id, m.kind, m.name, m.samples, m.avg_read_bytes_per_sec_sum, m.avg_read_bytes_per_sec_count, m.avg_write_bytes_per_sec_sum, m.avg_write_bytes_per_sec_count, m.avg_rx_bytes_per_sec_sum, m.avg_rx_bytes_per_sec_count, m.avg_tx_bytes_per_sec_sum, m.avg_tx_bytes_per_sec_count, m.max_used_percent
    FROM _opsdeck_mat_device_io_1h m
    WHERE NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'device_io_1h')
    UNION ALL
    SELECT m.bucket, m.node_id, m.kind, m.name, m.samples, m.avg_read_bytes_per_sec_sum, m.avg_read_bytes_per_sec_count, m.avg_write_bytes_per_sec_sum, m.avg_write_bytes_per_sec_count, m.avg_rx_bytes_per_sec_sum, m.avg_rx_bytes_per_sec_count, m.avg_tx_bytes_per_sec_sum, m.avg_tx_bytes_per_sec_count, m.max_used_percent
    FROM _opsdeck_mat_device_io_1h m
    WHERE EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'device_io_1h')
      AND NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'device_io_1h' AND i.bucket >= m.bucket AND i.bucket < m.bucket + INTERVAL '1 hour')
    UNION ALL
    SELECT * FROM (
      SELECT date_bin(INTERVAL '1 hour', s.time, timestamptz '2000-01-03 00:00:00+00') AS bucket,
        s.node_id,
        s.kind,
        s.name,
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
      FROM device_io s
      WHERE s.time >= (SELECT min(date_bin(INTERVAL '1 hour', i.bucket, timestamptz '2000-01-03 00:00:00+00')) FROM opsdeck_rollup_invalidations i WHERE i.family = 'device_io_1h')
        AND date_bin(INTERVAL '1 hour', s.time, timestamptz '2000-01-03 00:00:00+00') IN (SELECT date_bin(INTERVAL '1 hour', i.bucket, timestamptz '2000-01-03 00:00:00+00') FROM opsdeck_rollup_invalidations i WHERE i.family = 'device_io_1h')
      GROUP BY 1, 2, 3, 4
      OFFSET 0
    ) live
    WHERE EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'device_io_1h')
  ) u;

COMMENT ON VIEW device_io_1h IS 'Disk and interface rates and filesystem use per hour, by device, kind and name';

INSERT INTO opsdeck_rollup_tables (family, level, relation, storage_table, retention) VALUES ('device_io_1h', '1h', 'device_io_1h', '_opsdeck_mat_device_io_1h', INTERVAL '365 days');
