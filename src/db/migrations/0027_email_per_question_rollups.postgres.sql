-- Generated from the email_events stream declaration (postgres tier) by scripts/gen-rollup-migration.ts:
-- the rollups email_stats_ip_1h, email_stats_ip_1d, email_stats_sender_1h, email_stats_sender_1d, email_stats_destination_1h, email_stats_destination_1d, email_stats_mx_1h, email_stats_mx_1d, email_stats_failure_1h, email_stats_failure_1d.
-- Applied migrations are immutable: change the declaration and add a new migration instead.

CREATE TABLE _opsdeck_mat_email_stats_ip_1h (
  bucket timestamptz NOT NULL,
  sending_ip inet,
  event_type text,
  event_count bigint,
  delivery_time_ms_hist bigint[]
);

CREATE INDEX _opsdeck_mat_email_stats_ip_1h_bucket_idx ON _opsdeck_mat_email_stats_ip_1h (bucket DESC);

CREATE VIEW email_stats_ip_1h AS
  SELECT bucket, sending_ip, event_type, event_count, delivery_time_ms_hist, opsdeck_hist_quantile(delivery_time_ms_hist, 0.95) AS p95_delivery_ms
  FROM (
    SELECT m.bucket, m.sending_ip, m.event_type, m.event_count, m.delivery_time_ms_hist
    FROM _opsdeck_mat_email_stats_ip_1h m
    WHERE NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_ip_1h')
    UNION ALL
    SELECT m.bucket, m.sending_ip, m.event_type, m.event_count, m.delivery_time_ms_hist
    FROM _opsdeck_mat_email_stats_ip_1h m
    WHERE EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_ip_1h')
      AND NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_ip_1h' AND i.bucket >= m.bucket AND i.bucket < m.bucket + INTERVAL '1 hour')
    UNION ALL
    SELECT * FROM (
      SELECT date_bin(INTERVAL '1 hour', s.time, timestamptz '2000-01-03 00:00:00+00') AS bucket,
        s.sending_ip,
        s.event_type,
        count(*) AS event_count,
        opsdeck_hist(delivery_time_ms::double precision) AS delivery_time_ms_hist
      FROM email_events s
      WHERE s.time >= (SELECT min(date_bin(INTERVAL '1 hour', i.bucket, timestamptz '2000-01-03 00:00:00+00')) FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_ip_1h')
        AND date_bin(INTERVAL '1 hour', s.time, timestamptz '2000-01-03 00:00:00+00') IN (SELECT date_bin(INTERVAL '1 hour', i.bucket, timestamptz '2000-01-03 00:00:00+00') FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_ip_1h')
      GROUP BY 1, 2, 3
      OFFSET 0
    ) live
    WHERE EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_ip_1h')
  ) u;

COMMENT ON VIEW email_stats_ip_1h IS 'Email events per hour by sending IP and event type (Opsdeck per-question rollup)';

INSERT INTO opsdeck_rollup_tables (family, level, relation, storage_table, retention) VALUES ('email_stats_ip_1h', '1h', 'email_stats_ip_1h', '_opsdeck_mat_email_stats_ip_1h', INTERVAL '90 days');

CREATE TABLE _opsdeck_mat_email_stats_ip_1d (
  bucket timestamptz NOT NULL,
  sending_ip inet,
  event_type text,
  event_count bigint,
  delivery_time_ms_hist bigint[]
);

CREATE INDEX _opsdeck_mat_email_stats_ip_1d_bucket_idx ON _opsdeck_mat_email_stats_ip_1d (bucket DESC);

CREATE VIEW email_stats_ip_1d AS
  SELECT bucket, sending_ip, event_type, event_count, delivery_time_ms_hist, opsdeck_hist_quantile(delivery_time_ms_hist, 0.95) AS p95_delivery_ms
  FROM (
    SELECT m.bucket, m.sending_ip, m.event_type, m.event_count, m.delivery_time_ms_hist
    FROM _opsdeck_mat_email_stats_ip_1d m
    WHERE NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_ip_1d')
    UNION ALL
    SELECT m.bucket, m.sending_ip, m.event_type, m.event_count, m.delivery_time_ms_hist
    FROM _opsdeck_mat_email_stats_ip_1d m
    WHERE EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_ip_1d')
      AND NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_ip_1d' AND i.bucket >= m.bucket AND i.bucket < m.bucket + INTERVAL '1 day')
    UNION ALL
    SELECT * FROM (
      SELECT date_bin(INTERVAL '1 day', s.time, timestamptz '2000-01-03 00:00:00+00') AS bucket,
        s.sending_ip,
        s.event_type,
        count(*) AS event_count,
        opsdeck_hist(delivery_time_ms::double precision) AS delivery_time_ms_hist
      FROM email_events s
      WHERE s.time >= (SELECT min(date_bin(INTERVAL '1 day', i.bucket, timestamptz '2000-01-03 00:00:00+00')) FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_ip_1d')
        AND date_bin(INTERVAL '1 day', s.time, timestamptz '2000-01-03 00:00:00+00') IN (SELECT date_bin(INTERVAL '1 day', i.bucket, timestamptz '2000-01-03 00:00:00+00') FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_ip_1d')
      GROUP BY 1, 2, 3
      OFFSET 0
    ) live
    WHERE EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_ip_1d')
  ) u;

COMMENT ON VIEW email_stats_ip_1d IS 'Email events per day by sending IP and event type (Opsdeck per-question rollup)';

INSERT INTO opsdeck_rollup_tables (family, level, relation, storage_table, retention) VALUES ('email_stats_ip_1d', '1d', 'email_stats_ip_1d', '_opsdeck_mat_email_stats_ip_1d', INTERVAL '730 days');

CREATE TABLE _opsdeck_mat_email_stats_sender_1h (
  bucket timestamptz NOT NULL,
  from_domain text,
  event_type text,
  event_count bigint,
  delivery_time_ms_hist bigint[]
);

CREATE INDEX _opsdeck_mat_email_stats_sender_1h_bucket_idx ON _opsdeck_mat_email_stats_sender_1h (bucket DESC);

CREATE VIEW email_stats_sender_1h AS
  SELECT bucket, from_domain, event_type, event_count, delivery_time_ms_hist, opsdeck_hist_quantile(delivery_time_ms_hist, 0.95) AS p95_delivery_ms
  FROM (
    SELECT m.bucket, m.from_domain, m.event_type, m.event_count, m.delivery_time_ms_hist
    FROM _opsdeck_mat_email_stats_sender_1h m
    WHERE NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_sender_1h')
    UNION ALL
    SELECT m.bucket, m.from_domain, m.event_type, m.event_count, m.delivery_time_ms_hist
    FROM _opsdeck_mat_email_stats_sender_1h m
    WHERE EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_sender_1h')
      AND NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_sender_1h' AND i.bucket >= m.bucket AND i.bucket < m.bucket + INTERVAL '1 hour')
    UNION ALL
    SELECT * FROM (
      SELECT date_bin(INTERVAL '1 hour', s.time, timestamptz '2000-01-03 00:00:00+00') AS bucket,
        s.from_domain,
        s.event_type,
        count(*) AS event_count,
        opsdeck_hist(delivery_time_ms::double precision) AS delivery_time_ms_hist
      FROM email_events s
      WHERE s.time >= (SELECT min(date_bin(INTERVAL '1 hour', i.bucket, timestamptz '2000-01-03 00:00:00+00')) FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_sender_1h')
        AND date_bin(INTERVAL '1 hour', s.time, timestamptz '2000-01-03 00:00:00+00') IN (SELECT date_bin(INTERVAL '1 hour', i.bucket, timestamptz '2000-01-03 00:00:00+00') FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_sender_1h')
      GROUP BY 1, 2, 3
      OFFSET 0
    ) live
    WHERE EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_sender_1h')
  ) u;

COMMENT ON VIEW email_stats_sender_1h IS 'Email events per hour by sender domain and event type (Opsdeck per-question rollup)';

INSERT INTO opsdeck_rollup_tables (family, level, relation, storage_table, retention) VALUES ('email_stats_sender_1h', '1h', 'email_stats_sender_1h', '_opsdeck_mat_email_stats_sender_1h', INTERVAL '90 days');

CREATE TABLE _opsdeck_mat_email_stats_sender_1d (
  bucket timestamptz NOT NULL,
  from_domain text,
  event_type text,
  event_count bigint,
  delivery_time_ms_hist bigint[]
);

CREATE INDEX _opsdeck_mat_email_stats_sender_1d_bucket_idx ON _opsdeck_mat_email_stats_sender_1d (bucket DESC);

CREATE VIEW email_stats_sender_1d AS
  SELECT bucket, from_domain, event_type, event_count, delivery_time_ms_hist, opsdeck_hist_quantile(delivery_time_ms_hist, 0.95) AS p95_delivery_ms
  FROM (
    SELECT m.bucket, m.from_domain, m.event_type, m.event_count, m.delivery_time_ms_hist
    FROM _opsdeck_mat_email_stats_sender_1d m
    WHERE NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_sender_1d')
    UNION ALL
    SELECT m.bucket, m.from_domain, m.event_type, m.event_count, m.delivery_time_ms_hist
    FROM _opsdeck_mat_email_stats_sender_1d m
    WHERE EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_sender_1d')
      AND NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_sender_1d' AND i.bucket >= m.bucket AND i.bucket < m.bucket + INTERVAL '1 day')
    UNION ALL
    SELECT * FROM (
      SELECT date_bin(INTERVAL '1 day', s.time, timestamptz '2000-01-03 00:00:00+00') AS bucket,
        s.from_domain,
        s.event_type,
        count(*) AS event_count,
        opsdeck_hist(delivery_time_ms::double precision) AS delivery_time_ms_hist
      FROM email_events s
      WHERE s.time >= (SELECT min(date_bin(INTERVAL '1 day', i.bucket, timestamptz '2000-01-03 00:00:00+00')) FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_sender_1d')
        AND date_bin(INTERVAL '1 day', s.time, timestamptz '2000-01-03 00:00:00+00') IN (SELECT date_bin(INTERVAL '1 day', i.bucket, timestamptz '2000-01-03 00:00:00+00') FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_sender_1d')
      GROUP BY 1, 2, 3
      OFFSET 0
    ) live
    WHERE EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_sender_1d')
  ) u;

COMMENT ON VIEW email_stats_sender_1d IS 'Email events per day by sender domain and event type (Opsdeck per-question rollup)';

INSERT INTO opsdeck_rollup_tables (family, level, relation, storage_table, retention) VALUES ('email_stats_sender_1d', '1d', 'email_stats_sender_1d', '_opsdeck_mat_email_stats_sender_1d', INTERVAL '730 days');

CREATE TABLE _opsdeck_mat_email_stats_destination_1h (
  bucket timestamptz NOT NULL,
  to_domain text,
  event_type text,
  event_count bigint,
  avg_delivery_ms_sum double precision,
  avg_delivery_ms_count bigint,
  delivery_time_ms_hist bigint[]
);

CREATE INDEX _opsdeck_mat_email_stats_destination_1h_bucket_idx ON _opsdeck_mat_email_stats_destination_1h (bucket DESC);

CREATE VIEW email_stats_destination_1h AS
  SELECT bucket, to_domain, event_type, event_count, avg_delivery_ms_sum, avg_delivery_ms_count, delivery_time_ms_hist, avg_delivery_ms_sum / NULLIF(avg_delivery_ms_count, 0) AS avg_delivery_ms, opsdeck_hist_quantile(delivery_time_ms_hist, 0.95) AS p95_delivery_ms
  FROM (
    SELECT m.bucket, m.to_domain, m.event_type, m.event_count, m.avg_delivery_ms_sum, m.avg_delivery_ms_count, m.delivery_time_ms_hist
    FROM _opsdeck_mat_email_stats_destination_1h m
    WHERE NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_destination_1h')
    UNION ALL
    SELECT m.bucket, m.to_domain, m.event_type, m.event_count, m.avg_delivery_ms_sum, m.avg_delivery_ms_count, m.delivery_time_ms_hist
    FROM _opsdeck_mat_email_stats_destination_1h m
    WHERE EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_destination_1h')
      AND NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_destination_1h' AND i.bucket >= m.bucket AND i.bucket < m.bucket + INTERVAL '1 hour')
    UNION ALL
    SELECT * FROM (
      SELECT date_bin(INTERVAL '1 hour', s.time, timestamptz '2000-01-03 00:00:00+00') AS bucket,
        s.to_domain,
        s.event_type,
        count(*) AS event_count,
        sum(delivery_time_ms::double precision) AS avg_delivery_ms_sum,
        count(delivery_time_ms) AS avg_delivery_ms_count,
        opsdeck_hist(delivery_time_ms::double precision) AS delivery_time_ms_hist
      FROM email_events s
      WHERE s.time >= (SELECT min(date_bin(INTERVAL '1 hour', i.bucket, timestamptz '2000-01-03 00:00:00+00')) FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_destination_1h')
        AND date_bin(INTERVAL '1 hour', s.time, timestamptz '2000-01-03 00:00:00+00') IN (SELECT date_bin(INTERVAL '1 hour', i.bucket, timestamptz '2000-01-03 00:00:00+00') FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_destination_1h')
      GROUP BY 1, 2, 3
      OFFSET 0
    ) live
    WHERE EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_destination_1h')
  ) u;

COMMENT ON VIEW email_stats_destination_1h IS 'Email events per hour by recipient domain and event type (Opsdeck per-question rollup)';

INSERT INTO opsdeck_rollup_tables (family, level, relation, storage_table, retention) VALUES ('email_stats_destination_1h', '1h', 'email_stats_destination_1h', '_opsdeck_mat_email_stats_destination_1h', INTERVAL '90 days');

CREATE TABLE _opsdeck_mat_email_stats_destination_1d (
  bucket timestamptz NOT NULL,
  to_domain text,
  event_type text,
  event_count bigint,
  avg_delivery_ms_sum double precision,
  avg_delivery_ms_count bigint,
  delivery_time_ms_hist bigint[]
);

CREATE INDEX _opsdeck_mat_email_stats_destination_1d_bucket_idx ON _opsdeck_mat_email_stats_destination_1d (bucket DESC);

CREATE VIEW email_stats_destination_1d AS
  SELECT bucket, to_domain, event_type, event_count, avg_delivery_ms_sum, avg_delivery_ms_count, delivery_time_ms_hist, avg_delivery_ms_sum / NULLIF(avg_delivery_ms_count, 0) AS avg_delivery_ms, opsdeck_hist_quantile(delivery_time_ms_hist, 0.95) AS p95_delivery_ms
  FROM (
    SELECT m.bucket, m.to_domain, m.event_type, m.event_count, m.avg_delivery_ms_sum, m.avg_delivery_ms_count, m.delivery_time_ms_hist
    FROM _opsdeck_mat_email_stats_destination_1d m
    WHERE NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_destination_1d')
    UNION ALL
    SELECT m.bucket, m.to_domain, m.event_type, m.event_count, m.avg_delivery_ms_sum, m.avg_delivery_ms_count, m.delivery_time_ms_hist
    FROM _opsdeck_mat_email_stats_destination_1d m
    WHERE EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_destination_1d')
      AND NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_destination_1d' AND i.bucket >= m.bucket AND i.bucket < m.bucket + INTERVAL '1 day')
    UNION ALL
    SELECT * FROM (
      SELECT date_bin(INTERVAL '1 day', s.time, timestamptz '2000-01-03 00:00:00+00') AS bucket,
        s.to_domain,
        s.event_type,
        count(*) AS event_count,
        sum(delivery_time_ms::double precision) AS avg_delivery_ms_sum,
        count(delivery_time_ms) AS avg_delivery_ms_count,
        opsdeck_hist(delivery_time_ms::double precision) AS delivery_time_ms_hist
      FROM email_events s
      WHERE s.time >= (SELECT min(date_bin(INTERVAL '1 day', i.bucket, timestamptz '2000-01-03 00:00:00+00')) FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_destination_1d')
        AND date_bin(INTERVAL '1 day', s.time, timestamptz '2000-01-03 00:00:00+00') IN (SELECT date_bin(INTERVAL '1 day', i.bucket, timestamptz '2000-01-03 00:00:00+00') FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_destination_1d')
      GROUP BY 1, 2, 3
      OFFSET 0
    ) live
    WHERE EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_destination_1d')
  ) u;

COMMENT ON VIEW email_stats_destination_1d IS 'Email events per day by recipient domain and event type (Opsdeck per-question rollup)';

INSERT INTO opsdeck_rollup_tables (family, level, relation, storage_table, retention) VALUES ('email_stats_destination_1d', '1d', 'email_stats_destination_1d', '_opsdeck_mat_email_stats_destination_1d', INTERVAL '730 days');

CREATE TABLE _opsdeck_mat_email_stats_mx_1h (
  bucket timestamptz NOT NULL,
  mx_host text,
  event_type text,
  event_count bigint,
  delivery_time_ms_hist bigint[]
);

CREATE INDEX _opsdeck_mat_email_stats_mx_1h_bucket_idx ON _opsdeck_mat_email_stats_mx_1h (bucket DESC);

CREATE VIEW email_stats_mx_1h AS
  SELECT bucket, mx_host, event_type, event_count, delivery_time_ms_hist, opsdeck_hist_quantile(delivery_time_ms_hist, 0.95) AS p95_delivery_ms
  FROM (
    SELECT m.bucket, m.mx_host, m.event_type, m.event_count, m.delivery_time_ms_hist
    FROM _opsdeck_mat_email_stats_mx_1h m
    WHERE NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_mx_1h')
    UNION ALL
    SELECT m.bucket, m.mx_host, m.event_type, m.event_count, m.delivery_time_ms_hist
    FROM _opsdeck_mat_email_stats_mx_1h m
    WHERE EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_mx_1h')
      AND NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_mx_1h' AND i.bucket >= m.bucket AND i.bucket < m.bucket + INTERVAL '1 hour')
    UNION ALL
    SELECT * FROM (
      SELECT date_bin(INTERVAL '1 hour', s.time, timestamptz '2000-01-03 00:00:00+00') AS bucket,
        s.mx_host,
        s.event_type,
        count(*) AS event_count,
        opsdeck_hist(delivery_time_ms::double precision) AS delivery_time_ms_hist
      FROM email_events s
      WHERE s.time >= (SELECT min(date_bin(INTERVAL '1 hour', i.bucket, timestamptz '2000-01-03 00:00:00+00')) FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_mx_1h')
        AND date_bin(INTERVAL '1 hour', s.time, timestamptz '2000-01-03 00:00:00+00') IN (SELECT date_bin(INTERVAL '1 hour', i.bucket, timestamptz '2000-01-03 00:00:00+00') FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_mx_1h')
      GROUP BY 1, 2, 3
      OFFSET 0
    ) live
    WHERE EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_mx_1h')
  ) u;

COMMENT ON VIEW email_stats_mx_1h IS 'Email events per hour by MX host and event type (Opsdeck per-question rollup)';

INSERT INTO opsdeck_rollup_tables (family, level, relation, storage_table, retention) VALUES ('email_stats_mx_1h', '1h', 'email_stats_mx_1h', '_opsdeck_mat_email_stats_mx_1h', INTERVAL '90 days');

CREATE TABLE _opsdeck_mat_email_stats_mx_1d (
  bucket timestamptz NOT NULL,
  mx_host text,
  event_type text,
  event_count bigint,
  delivery_time_ms_hist bigint[]
);

CREATE INDEX _opsdeck_mat_email_stats_mx_1d_bucket_idx ON _opsdeck_mat_email_stats_mx_1d (bucket DESC);

CREATE VIEW email_stats_mx_1d AS
  SELECT bucket, mx_host, event_type, event_count, delivery_time_ms_hist, opsdeck_hist_quantile(delivery_time_ms_hist, 0.95) AS p95_delivery_ms
  FROM (
    SELECT m.bucket, m.mx_host, m.event_type, m.event_count, m.delivery_time_ms_hist
    FROM _opsdeck_mat_email_stats_mx_1d m
    WHERE NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_mx_1d')
    UNION ALL
    SELECT m.bucket, m.mx_host, m.event_type, m.event_count, m.delivery_time_ms_hist
    FROM _opsdeck_mat_email_stats_mx_1d m
    WHERE EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_mx_1d')
      AND NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_mx_1d' AND i.bucket >= m.bucket AND i.bucket < m.bucket + INTERVAL '1 day')
    UNION ALL
    SELECT * FROM (
      SELECT date_bin(INTERVAL '1 day', s.time, timestamptz '2000-01-03 00:00:00+00') AS bucket,
        s.mx_host,
        s.event_type,
        count(*) AS event_count,
        opsdeck_hist(delivery_time_ms::double precision) AS delivery_time_ms_hist
      FROM email_events s
      WHERE s.time >= (SELECT min(date_bin(INTERVAL '1 day', i.bucket, timestamptz '2000-01-03 00:00:00+00')) FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_mx_1d')
        AND date_bin(INTERVAL '1 day', s.time, timestamptz '2000-01-03 00:00:00+00') IN (SELECT date_bin(INTERVAL '1 day', i.bucket, timestamptz '2000-01-03 00:00:00+00') FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_mx_1d')
      GROUP BY 1, 2, 3
      OFFSET 0
    ) live
    WHERE EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_mx_1d')
  ) u;

COMMENT ON VIEW email_stats_mx_1d IS 'Email events per day by MX host and event type (Opsdeck per-question rollup)';

INSERT INTO opsdeck_rollup_tables (family, level, relation, storage_table, retention) VALUES ('email_stats_mx_1d', '1d', 'email_stats_mx_1d', '_opsdeck_mat_email_stats_mx_1d', INTERVAL '730 days');

CREATE TABLE _opsdeck_mat_email_stats_failure_1h (
  bucket timestamptz NOT NULL,
  status_code smallint,
  enhanced_status text,
  bounce_category text,
  event_type text,
  event_count bigint
);

CREATE INDEX _opsdeck_mat_email_stats_failure_1h_bucket_idx ON _opsdeck_mat_email_stats_failure_1h (bucket DESC);

CREATE VIEW email_stats_failure_1h AS
  SELECT bucket, status_code, enhanced_status, bounce_category, event_type, event_count
  FROM (
    SELECT m.bucket, m.status_code, m.enhanced_status, m.bounce_category, m.event_type, m.event_count
    FROM _opsdeck_mat_email_stats_failure_1h m
    WHERE NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_failure_1h')
    UNION ALL
    SELECT m.bucket, m.status_code, m.enhanced_status, m.bounce_category, m.event_type, m.event_count
    FROM _opsdeck_mat_email_stats_failure_1h m
    WHERE EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_failure_1h')
      AND NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_failure_1h' AND i.bucket >= m.bucket AND i.bucket < m.bucket + INTERVAL '1 hour')
    UNION ALL
    SELECT * FROM (
      SELECT date_bin(INTERVAL '1 hour', s.time, timestamptz '2000-01-03 00:00:00+00') AS bucket,
        s.status_code,
        s.enhanced_status,
        s.bounce_category,
        s.event_type,
        count(*) AS event_count
      FROM email_events s
      WHERE s.time >= (SELECT min(date_bin(INTERVAL '1 hour', i.bucket, timestamptz '2000-01-03 00:00:00+00')) FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_failure_1h')
        AND date_bin(INTERVAL '1 hour', s.time, timestamptz '2000-01-03 00:00:00+00') IN (SELECT date_bin(INTERVAL '1 hour', i.bucket, timestamptz '2000-01-03 00:00:00+00') FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_failure_1h')
      GROUP BY 1, 2, 3, 4, 5
      OFFSET 0
    ) live
    WHERE EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_failure_1h')
  ) u;

COMMENT ON VIEW email_stats_failure_1h IS 'Email events per hour by SMTP reply code, enhanced status code, bounce category and event type (Opsdeck per-question rollup)';

INSERT INTO opsdeck_rollup_tables (family, level, relation, storage_table, retention) VALUES ('email_stats_failure_1h', '1h', 'email_stats_failure_1h', '_opsdeck_mat_email_stats_failure_1h', INTERVAL '90 days');

CREATE TABLE _opsdeck_mat_email_stats_failure_1d (
  bucket timestamptz NOT NULL,
  status_code smallint,
  enhanced_status text,
  bounce_category text,
  event_type text,
  event_count bigint
);

CREATE INDEX _opsdeck_mat_email_stats_failure_1d_bucket_idx ON _opsdeck_mat_email_stats_failure_1d (bucket DESC);

CREATE VIEW email_stats_failure_1d AS
  SELECT bucket, status_code, enhanced_status, bounce_category, event_type, event_count
  FROM (
    SELECT m.bucket, m.status_code, m.enhanced_status, m.bounce_category, m.event_type, m.event_count
    FROM _opsdeck_mat_email_stats_failure_1d m
    WHERE NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_failure_1d')
    UNION ALL
    SELECT m.bucket, m.status_code, m.enhanced_status, m.bounce_category, m.event_type, m.event_count
    FROM _opsdeck_mat_email_stats_failure_1d m
    WHERE EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_failure_1d')
      AND NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_failure_1d' AND i.bucket >= m.bucket AND i.bucket < m.bucket + INTERVAL '1 day')
    UNION ALL
    SELECT * FROM (
      SELECT date_bin(INTERVAL '1 day', s.time, timestamptz '2000-01-03 00:00:00+00') AS bucket,
        s.status_code,
        s.enhanced_status,
        s.bounce_category,
        s.event_type,
        count(*) AS event_count
      FROM email_events s
      WHERE s.time >= (SELECT min(date_bin(INTERVAL '1 day', i.bucket, timestamptz '2000-01-03 00:00:00+00')) FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_failure_1d')
        AND date_bin(INTERVAL '1 day', s.time, timestamptz '2000-01-03 00:00:00+00') IN (SELECT date_bin(INTERVAL '1 day', i.bucket, timestamptz '2000-01-03 00:00:00+00') FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_failure_1d')
      GROUP BY 1, 2, 3, 4, 5
      OFFSET 0
    ) live
    WHERE EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_failure_1d')
  ) u;

COMMENT ON VIEW email_stats_failure_1d IS 'Email events per day by SMTP reply code, enhanced status code, bounce category and event type (Opsdeck per-question rollup)';

INSERT INTO opsdeck_rollup_tables (family, level, relation, storage_table, retention) VALUES ('email_stats_failure_1d', '1d', 'email_stats_failure_1d', '_opsdeck_mat_email_stats_failure_1d', INTERVAL '730 days');

-- The events already stored: one invalidation per hour that holds any, for each new rollup;
-- Opsdeck's refresh job computes those buckets, the views answer them live until then.
INSERT INTO opsdeck_rollup_invalidations (family, bucket)
  SELECT r, h.bucket
  FROM (SELECT DISTINCT date_bin(INTERVAL '1 hour', time, timestamptz '2000-01-03 00:00:00+00') AS bucket FROM email_events) h,
    unnest(ARRAY['email_stats_ip_1h', 'email_stats_ip_1d', 'email_stats_sender_1h', 'email_stats_sender_1d', 'email_stats_destination_1h', 'email_stats_destination_1d', 'email_stats_mx_1h', 'email_stats_mx_1d', 'email_stats_failure_1h', 'email_stats_failure_1d']::text[]) AS r;
