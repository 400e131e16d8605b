-- Generated from the email_events stream declaration (postgres tier) by scripts/gen-rollup-migration.ts:
-- the rollups email_stats_dest_code_1h, email_stats_dest_code_1d, email_stats_dest_mx_1h, email_stats_dest_mx_1d, email_stats_dest_ip_1h, email_stats_dest_ip_1d.
-- Applied migrations are immutable: change the declaration and add a new migration instead.

CREATE TABLE _opsdeck_mat_email_stats_dest_code_1h (
  bucket timestamptz NOT NULL,
  to_domain text,
  status_code smallint,
  event_type text,
  event_count bigint,
  delivery_time_ms_hist bigint[]
);

CREATE INDEX _opsdeck_mat_email_stats_dest_code_1h_bucket_idx ON _opsdeck_mat_email_stats_dest_code_1h (bucket DESC);

CREATE INDEX _opsdeck_mat_email_stats_dest_code_1h_to_domain_idx ON _opsdeck_mat_email_stats_dest_code_1h (to_domain, bucket DESC);

CREATE VIEW email_stats_dest_code_1h AS
  SELECT bucket, to_domain, status_code, event_type, event_count, delivery_time_ms_hist, opsdeck_hist_quantile(delivery_time_ms_hist, 0.95) AS p95_delivery_ms
  FROM (
    SELECT m.bucket, m.to_domain, m.status_code, m.event_type, m.event_count, m.delivery_time_ms_hist
    FROM _opsdeck_mat_email_stats_dest_code_1h m
    WHERE NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_dest_code_1h')
    UNION ALL
    SELECT m.bucket, m.to_domain, m.status_code, m.event_type, m.event_count, m.delivery_time_ms_hist
    FROM _opsdeck_mat_email_stats_dest_code_1h m
    WHERE EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_dest_code_1h')
      AND NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_dest_code_1h' AND i.bucket >= m.bucket AND i.bucket < m.bucket + INTERVAL '1 hour')
    UNION ALL
    SELECT * FROM (
      SELECT date_bin(INTERVAL '1 hour', s.time, timestamptz '2000-01-03 00:00:00+00') AS bucket,
        s.to_domain,
        s.status_code,
        s.event_type,
        count(*) AS event_count,
        opsdeck_hist(delivery_time_ms::double precision) AS delivery_time_ms_hist
      FROM email_events s
      WHERE s.time >= (SELECT min(date_bin(INTERVAL '1 hour', i.bucket, timestamptz '2000-01-03 00:00:00+00')) FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_dest_code_1h')
        AND date_bin(INTERVAL '1 hour', s.time, timestamptz '2000-01-03 00:00:00+00') IN (SELECT date_bin(INTERVAL '1 hour', i.bucket, timestamptz '2000-01-03 00:00:00+00') FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_dest_code_1h')
      GROUP BY 1, 2, 3, 4
      OFFSET 0
    ) live
    WHERE EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_dest_code_1h')
  ) u;

COMMENT ON VIEW email_stats_dest_code_1h IS 'Email events per hour by recipient domain and SMTP reply code and event type (Opsdeck per-question rollup)';

INSERT INTO opsdeck_rollup_tables (family, level, relation, storage_table, retention) VALUES ('email_stats_dest_code_1h', '1h', 'email_stats_dest_code_1h', '_opsdeck_mat_email_stats_dest_code_1h', INTERVAL '90 days');

CREATE TABLE _opsdeck_mat_email_stats_dest_code_1d (
  bucket timestamptz NOT NULL,
  to_domain text,
  status_code smallint,
  event_type text,
  event_count bigint,
  delivery_time_ms_hist bigint[]
);

CREATE INDEX _opsdeck_mat_email_stats_dest_code_1d_bucket_idx ON _opsdeck_mat_email_stats_dest_code_1d (bucket DESC);

CREATE INDEX _opsdeck_mat_email_stats_dest_code_1d_to_domain_idx ON _opsdeck_mat_email_stats_dest_code_1d (to_domain, bucket DESC);

CREATE VIEW email_stats_dest_code_1d AS
  SELECT bucket, to_domain, status_code, event_type, event_count, delivery_time_ms_hist, opsdeck_hist_quantile(delivery_time_ms_hist, 0.95) AS p95_delivery_ms
  FROM (
    SELECT m.bucket, m.to_domain, m.status_code, m.event_type, m.event_count, m.delivery_time_ms_hist
    FROM _opsdeck_mat_email_stats_dest_code_1d m
    WHERE NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_dest_code_1d')
    UNION ALL
    SELECT m.bucket, m.to_domain, m.status_code, m.event_type, m.event_count, m.delivery_time_ms_hist
    FROM _opsdeck_mat_email_stats_dest_code_1d m
    WHERE EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_dest_code_1d')
      AND NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_dest_code_1d' AND i.bucket >= m.bucket AND i.bucket < m.bucket + INTERVAL '1 day')
    UNION ALL
    SELECT * FROM (
      SELECT date_bin(INTERVAL '1 day', s.time, timestamptz '2000-01-03 00:00:00+00') AS bucket,
        s.to_domain,
        s.status_code,
        s.event_type,
        count(*) AS event_count,
        opsdeck_hist(delivery_time_ms::double precision) AS delivery_time_ms_hist
      FROM email_events s
      WHERE s.time >= (SELECT min(date_bin(INTERVAL '1 day', i.bucket, timestamptz '2000-01-03 00:00:00+00')) FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_dest_code_1d')
        AND date_bin(INTERVAL '1 day', s.time, timestamptz '2000-01-03 00:00:00+00') IN (SELECT date_bin(INTERVAL '1 day', i.bucket, timestamptz '2000-01-03 00:00:00+00') FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_dest_code_1d')
      GROUP BY 1, 2, 3, 4
      OFFSET 0
    ) live
    WHERE EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_dest_code_1d')
  ) u;

COMMENT ON VIEW email_stats_dest_code_1d IS 'Email events per day by recipient domain and SMTP reply code and event type (Opsdeck per-question rollup)';

INSERT INTO opsdeck_rollup_tables (family, level, relation, storage_table, retention) VALUES ('email_stats_dest_code_1d', '1d', 'email_stats_dest_code_1d', '_opsdeck_mat_email_stats_dest_code_1d', INTERVAL '730 days');

CREATE TABLE _opsdeck_mat_email_stats_dest_mx_1h (
  bucket timestamptz NOT NULL,
  to_domain text,
  mx_host text,
  event_type text,
  event_count bigint,
  delivery_time_ms_hist bigint[]
);

CREATE INDEX _opsdeck_mat_email_stats_dest_mx_1h_bucket_idx ON _opsdeck_mat_email_stats_dest_mx_1h (bucket DESC);

CREATE INDEX _opsdeck_mat_email_stats_dest_mx_1h_to_domain_idx ON _opsdeck_mat_email_stats_dest_mx_1h (to_domain, bucket DESC);

CREATE VIEW email_stats_dest_mx_1h AS
  SELECT bucket, to_domain, mx_host, event_type, event_count, delivery_time_ms_hist, opsdeck_hist_quantile(delivery_time_ms_hist, 0.95) AS p95_delivery_ms
  FROM (
    SELECT m.bucket, m.to_domain, m.mx_host, m.event_type, m.event_count, m.delivery_time_ms_hist
    FROM _opsdeck_mat_email_stats_dest_mx_1h m
    WHERE NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_dest_mx_1h')
    UNION ALL
    SELECT m.bucket, m.to_domain, m.mx_host, m.event_type, m.event_count, m.delivery_time_ms_hist
    FROM _opsdeck_mat_email_stats_dest_mx_1h m
    WHERE EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_dest_mx_1h')
      AND NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_dest_mx_1h' AND i.bucket >= m.bucket AND i.bucket < m.bucket + INTERVAL '1 hour')
    UNION ALL
    SELECT * FROM (
      SELECT date_bin(INTERVAL '1 hour', s.time, timestamptz '2000-01-03 00:00:00+00') AS bucket,
        s.to_domain,
        s.mx_host,
        s.event_type,
        count(*) AS event_count,
        opsdeck_hist(delivery_time_ms::double precision) AS delivery_time_ms_hist
      FROM email_events s
      WHERE s.time >= (SELECT min(date_bin(INTERVAL '1 hour', i.bucket, timestamptz '2000-01-03 00:00:00+00')) FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_dest_mx_1h')
        AND date_bin(INTERVAL '1 hour', s.time, timestamptz '2000-01-03 00:00:00+00') IN (SELECT date_bin(INTERVAL '1 hour', i.bucket, timestamptz '2000-01-03 00:00:00+00') FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_dest_mx_1h')
      GROUP BY 1, 2, 3, 4
      OFFSET 0
    ) live
    WHERE EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_dest_mx_1h')
  ) u;

COMMENT ON VIEW email_stats_dest_mx_1h IS 'Email events per hour by recipient domain and MX host and event type (Opsdeck per-question rollup)';

INSERT INTO opsdeck_rollup_tables (family, level, relation, storage_table, retention) VALUES ('email_stats_dest_mx_1h', '1h', 'email_stats_dest_mx_1h', '_opsdeck_mat_email_stats_dest_mx_1h', INTERVAL '90 days');

CREATE TABLE _opsdeck_mat_email_stats_dest_mx_1d (
  bucket timestamptz NOT NULL,
  to_domain text,
  mx_host text,
  event_type text,
  event_count bigint,
  delivery_time_ms_hist bigint[]
);

CREATE INDEX _opsdeck_mat_email_stats_dest_mx_1d_bucket_idx ON _opsdeck_mat_email_stats_dest_mx_1d (bucket DESC);

CREATE INDEX _opsdeck_mat_email_stats_dest_mx_1d_to_domain_idx ON _opsdeck_mat_email_stats_dest_mx_1d (to_domain, bucket DESC);

CREATE VIEW email_stats_dest_mx_1d AS
  SELECT bucket, to_domain, mx_host, event_type, event_count, delivery_time_ms_hist, opsdeck_hist_quantile(delivery_time_ms_hist, 0.95) AS p95_delivery_ms
  FROM (
    SELECT m.bucket, m.to_domain, m.mx_host, m.event_type, m.event_count, m.delivery_time_ms_hist
    FROM _opsdeck_mat_email_stats_dest_mx_1d m
    WHERE NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_dest_mx_1d')
    UNION ALL
    SELECT m.bucket, m.to_domain, m.mx_host, m.event_type, m.event_count, m.delivery_time_ms_hist
    FROM _opsdeck_mat_email_stats_dest_mx_1d m
    WHERE EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_dest_mx_1d')
      AND NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_dest_mx_1d' AND i.bucket >= m.bucket AND i.bucket < m.bucket + INTERVAL '1 day')
    UNION ALL
    SELECT * FROM (
      SELECT date_bin(INTERVAL '1 day', s.time, timestamptz '2000-01-03 00:00:00+00') AS bucket,
        s.to_domain,
        s.mx_host,
        s.event_type,
        count(*) AS event_count,
        opsdeck_hist(delivery_time_ms::double precision) AS delivery_time_ms_hist
      FROM email_events s
      WHERE s.time >= (SELECT min(date_bin(INTERVAL '1 day', i.bucket, timestamptz '2000-01-03 00:00:00+00')) FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_dest_mx_1d')
        AND date_bin(INTERVAL '1 day', s.time, timestamptz '2000-01-03 00:00:00+00') IN (SELECT date_bin(INTERVAL '1 day', i.bucket, timestamptz '2000-01-03 00:00:00+00') FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_dest_mx_1d')
      GROUP BY 1, 2, 3, 4
      OFFSET 0
    ) live
    WHERE EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_dest_mx_1d')
  ) u;

COMMENT ON VIEW email_stats_dest_mx_1d IS 'Email events per day by recipient domain and MX host and event type (Opsdeck per-question rollup)';

INSERT INTO opsdeck_rollup_tables (family, level, relation, storage_table, retention) VALUES ('email_stats_dest_mx_1d', '1d', 'email_stats_dest_mx_1d', '_opsdeck_mat_email_stats_dest_mx_1d', INTERVAL '730 days');

CREATE TABLE _opsdeck_mat_email_stats_dest_ip_1h (
  bucket timestamptz NOT NULL,
  to_domain text,
  sending_ip inet,
  sending_ip_v6 inet,
  event_type text,
  event_count bigint,
  delivery_time_ms_hist bigint[]
);

CREATE INDEX _opsdeck_mat_email_stats_dest_ip_1h_bucket_idx ON _opsdeck_mat_email_stats_dest_ip_1h (bucket DESC);

CREATE INDEX _opsdeck_mat_email_stats_dest_ip_1h_to_domain_idx ON _opsdeck_mat_email_stats_dest_ip_1h (to_domain, bucket DESC);

CREATE VIEW email_stats_dest_ip_1h AS
  SELECT bucket, to_domain, sending_ip, sending_ip_v6, event_type, event_count, delivery_time_ms_hist, opsdeck_hist_quantile(delivery_time_ms_hist, 0.95) AS p95_delivery_ms
  FROM (
    SELECT m.bucket, m.to_domain, m.sending_ip, m.sending_ip_v6, m.event_type, m.event_count, m.delivery_time_ms_hist
    FROM _opsdeck_mat_email_stats_dest_ip_1h m
    WHERE NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_dest_ip_1h')
    UNION ALL
    SELECT m.bucket, m.to_domain, m.sending_ip, m.sending_ip_v6, m.event_type, m.event_count, m.delivery_time_ms_hist
    FROM _opsdeck_mat_email_stats_dest_ip_1h m
    WHERE EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_dest_ip_1h')
      AND NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_dest_ip_1h' AND i.bucket >= m.bucket AND i.bucket < m.bucket + INTERVAL '1 hour')
    UNION ALL
    SELECT * FROM (
      SELECT date_bin(INTERVAL '1 hour', s.time, timestamptz '2000-01-03 00:00:00+00') AS bucket,
        s.to_domain,
        s.sending_ip,
        s.sending_ip_v6,
        s.event_type,
        count(*) AS event_count,
        opsdeck_hist(delivery_time_ms::double precision) AS delivery_time_ms_hist
      FROM email_events s
      WHERE s.time >= (SELECT min(date_bin(INTERVAL '1 hour', i.bucket, timestamptz '2000-01-03 00:00:00+00')) FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_dest_ip_1h')
        AND date_bin(INTERVAL '1 hour', s.time, timestamptz '2000-01-03 00:00:00+00') IN (SELECT date_bin(INTERVAL '1 hour', i.bucket, timestamptz '2000-01-03 00:00:00+00') FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_dest_ip_1h')
      GROUP BY 1, 2, 3, 4, 5
      OFFSET 0
    ) live
    WHERE EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_dest_ip_1h')
  ) u;

COMMENT ON VIEW email_stats_dest_ip_1h IS 'Email events per hour by recipient domain and sending IP (IPv4 or IPv6) and event type (Opsdeck per-question rollup)';

INSERT INTO opsdeck_rollup_tables (family, level, relation, storage_table, retention) VALUES ('email_stats_dest_ip_1h', '1h', 'email_stats_dest_ip_1h', '_opsdeck_mat_email_stats_dest_ip_1h', INTERVAL '90 days');

CREATE TABLE _opsdeck_mat_email_stats_dest_ip_1d (
  bucket timestamptz NOT NULL,
  to_domain text,
  sending_ip inet,
  sending_ip_v6 inet,
  event_type text,
  event_count bigint,
  delivery_time_ms_hist bigint[]
);

CREATE INDEX _opsdeck_mat_email_stats_dest_ip_1d_bucket_idx ON _opsdeck_mat_email_stats_dest_ip_1d (bucket DESC);

CREATE INDEX _opsdeck_mat_email_stats_dest_ip_1d_to_domain_idx ON _opsdeck_mat_email_stats_dest_ip_1d (to_domain, bucket DESC);

CREATE VIEW email_stats_dest_ip_1d AS
  SELECT bucket, to_domain, sending_ip, sending_ip_v6, event_type, event_count, delivery_time_ms_hist, opsdeck_hist_quantile(delivery_time_ms_hist, 0.95) AS p95_delivery_ms
  FROM (
    SELECT m.bucket, m.to_domain, m.sending_ip, m.sending_ip_v6, m.event_type, m.event_count, m.delivery_time_ms_hist
    FROM _opsdeck_mat_email_stats_dest_ip_1d m
    WHERE NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_dest_ip_1d')
    UNION ALL
    SELECT m.bucket, m.to_domain, m.sending_ip, m.sending_ip_v6, m.event_type, m.event_count, m.delivery_time_ms_hist
    FROM _opsdeck_mat_email_stats_dest_ip_1d m
    WHERE EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_dest_ip_1d')
      AND NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_dest_ip_1d' AND i.bucket >= m.bucket AND i.bucket < m.bucket + INTERVAL '1 day')
    UNION ALL
    SELECT * FROM (
      SELECT date_bin(INTERVAL '1 day', s.time, timestamptz '2000-01-03 00:00:00+00') AS bucket,
        s.to_domain,
        s.sending_ip,
        s.sending_ip_v6,
        s.event_type,
        count(*) AS event_count,
        opsdeck_hist(delivery_time_ms::double precision) AS delivery_time_ms_hist
      FROM email_events s
      WHERE s.time >= (SELECT min(date_bin(INTERVAL '1 day', i.bucket, timestamptz '2000-01-03 00:00:00+00')) FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_dest_ip_1d')
        AND date_bin(INTERVAL '1 day', s.time, timestamptz '2000-01-03 00:00:00+00') IN (SELECT date_bin(INTERVAL '1 day', i.bucket, timestamptz '2000-01-03 00:00:00+00') FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_dest_ip_1d')
      GROUP BY 1, 2, 3, 4, 5
      OFFSET 0
    ) live
    WHERE EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_dest_ip_1d')
  ) u;

COMMENT ON VIEW email_stats_dest_ip_1d IS 'Email events per day by recipient domain and sending IP (IPv4 or IPv6) and event type (Opsdeck per-question rollup)';

INSERT INTO opsdeck_rollup_tables (family, level, relation, storage_table, retention) VALUES ('email_stats_dest_ip_1d', '1d', 'email_stats_dest_ip_1d', '_opsdeck_mat_email_stats_dest_ip_1d', INTERVAL '730 days');

-- The events already stored: one invalidation per hour that holds any, for each new rollup;
-- Opsdeck's refresh job computes those buckets, the views answer them live until then.
INSERT INTO opsdeck_rollup_invalidations (family, bucket)
  SELECT r, h.bucket
  FROM (SELECT DISTINCT date_bin(INTERVAL '1 hour', time, timestamptz '2000-01-03 00:00:00+00') AS bucket FROM email_events) h,
    unnest(ARRAY['email_stats_dest_code_1h', 'email_stats_dest_code_1d', 'email_stats_dest_mx_1h', 'email_stats_dest_mx_1d', 'email_stats_dest_ip_1h', 'email_stats_dest_ip_1d']::text[]) AS r;
