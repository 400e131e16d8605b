-- Generated from the email_events stream declaration (postgres tier) by scripts/gen-rollup-migration.ts:
-- the rollups email_stats_destination_count_1h, email_stats_destination_count_1d, email_stats_mx_count_1h, email_stats_mx_count_1d.
-- Applied migrations are immutable: change the declaration and add a new migration instead.

CREATE TABLE _opsdeck_mat_email_stats_destination_count_1h (
  bucket timestamptz NOT NULL,
  to_domain text,
  event_type text,
  event_count bigint
);

CREATE INDEX _opsdeck_mat_email_stats_destination_count_1h_bucket_idx ON _opsdeck_mat_email_stats_destination_count_1h (bucket DESC);

CREATE VIEW email_stats_destination_count_1h AS
  SELECT bucket, to_domain, event_type, event_count
  FROM (
    SELECT m.bucket, m.to_domain, m.event_type, m.event_count
    FROM _opsdeck_mat_email_stats_destination_count_1h m
    WHERE NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_destination_count_1h')
    UNION ALL
    SELECT m.bucket, m.to_domain, m.event_type, m.event_count
    FROM _opsdeck_mat_email_stats_destination_count_1h m
    WHERE EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_destination_count_1h')
      AND NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_destination_count_1h' AND i.bucket >= m.bucket AND i.bucket < m.bucket + INTERVAL '1 hour')
    UNION ALL
    SELECT * FROM (
      SELECT date_bin(INTERVAL '1 hour', s.time, timestamptz '2000-01-03 00:00:00+00') AS bucket,
        s.to_domain,
        s.event_type,
        count(*) AS event_count
      FROM email_events s
      WHERE s.time >= (SELECT min(date_bin(INTERVAL '1 hour', i.bucket, timestamptz '2000-01-03 00:00:00+00')) FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_destination_count_1h')
        AND date_bin(INTERVAL '1 hour', s.time, timestamptz '2000-01-03 00:00:00+00') IN (SELECT date_bin(INTERVAL '1 hour', i.bucket, timestamptz '2000-01-03 00:00:00+00') FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_destination_count_1h')
      GROUP BY 1, 2, 3
      OFFSET 0
    ) live
    WHERE EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_destination_count_1h')
  ) u;

COMMENT ON VIEW email_stats_destination_count_1h IS 'Email events per hour by recipient domain (counts only) and event type (Opsdeck per-question rollup)';

INSERT INTO opsdeck_rollup_tables (family, level, relation, storage_table, retention) VALUES ('email_stats_destination_count_1h', '1h', 'email_stats_destination_count_1h', '_opsdeck_mat_email_stats_destination_count_1h', INTERVAL '90 days');

CREATE TABLE _opsdeck_mat_email_stats_destination_count_1d (
  bucket timestamptz NOT NULL,
  to_domain text,
  event_type text,
  event_count bigint
);

CREATE INDEX _opsdeck_mat_email_stats_destination_count_1d_bucket_idx ON _opsdeck_mat_email_stats_destination_count_1d (bucket DESC);

CREATE VIEW email_stats_destination_count_1d AS
  SELECT bucket, to_domain, event_type, event_count
  FROM (
    SELECT m.bucket, m.to_domain, m.event_type, m.event_count
    FROM _opsdeck_mat_email_stats_destination_count_1d m
    WHERE NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_destination_count_1d')
    UNION ALL
    SELECT m.bucket, m.to_domain, m.event_type, m.event_count
    FROM _opsdeck_mat_email_stats_destination_count_1d m
    WHERE EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_destination_count_1d')
      AND NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_destination_count_1d' AND i.bucket >= m.bucket AND i.bucket < m.bucket + INTERVAL '1 day')
    UNION ALL
    SELECT * FROM (
      SELECT date_bin(INTERVAL '1 day', s.time, timestamptz '2000-01-03 00:00:00+00') AS bucket,
        s.to_domain,
        s.event_type,
        count(*) AS event_count
      FROM email_events s
      WHERE s.time >= (SELECT min(date_bin(INTERVAL '1 day', i.bucket, timestamptz '2000-01-03 00:00:00+00')) FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_destination_count_1d')
        AND date_bin(INTERVAL '1 day', s.time, timestamptz '2000-01-03 00:00:00+00') IN (SELECT date_bin(INTERVAL '1 day', i.bucket, timestamptz '2000-01-03 00:00:00+00') FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_destination_count_1d')
      GROUP BY 1, 2, 3
      OFFSET 0
    ) live
    WHERE EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_destination_count_1d')
  ) u;

COMMENT ON VIEW email_stats_destination_count_1d IS 'Email events per day by recipient domain (counts only) and event type (Opsdeck per-question rollup)';

INSERT INTO opsdeck_rollup_tables (family, level, relation, storage_table, retention) VALUES ('email_stats_destination_count_1d', '1d', 'email_stats_destination_count_1d', '_opsdeck_mat_email_stats_destination_count_1d', INTERVAL '730 days');

CREATE TABLE _opsdeck_mat_email_stats_mx_count_1h (
  bucket timestamptz NOT NULL,
  mx_host text,
  event_type text,
  event_count bigint
);

CREATE INDEX _opsdeck_mat_email_stats_mx_count_1h_bucket_idx ON _opsdeck_mat_email_stats_mx_count_1h (bucket DESC);

CREATE VIEW email_stats_mx_count_1h AS
  SELECT bucket, mx_host, event_type, event_count
  FROM (
    SELECT m.bucket, m.mx_host, m.event_type, m.event_count
    FROM _opsdeck_mat_email_stats_mx_count_1h m
    WHERE NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_mx_count_1h')
    UNION ALL
    SELECT m.bucket, m.mx_host, m.event_type, m.event_count
    FROM _opsdeck_mat_email_stats_mx_count_1h m
    WHERE EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_mx_count_1h')
      AND NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_mx_count_1h' AND i.bucket >= m.bucket AND i.bucket < m.bucket + INTERVAL '1 hour')
    UNION ALL
    SELECT * FROM (
      SELECT date_bin(INTERVAL '1 hour', s.time, timestamptz '2000-01-03 00:00:00+00') AS bucket,
        s.mx_host,
        s.event_type,
        count(*) AS event_count
      FROM email_events s
      WHERE s.time >= (SELECT min(date_bin(INTERVAL '1 hour', i.bucket, timestamptz '2000-01-03 00:00:00+00')) FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_mx_count_1h')
        AND date_bin(INTERVAL '1 hour', s.time, timestamptz '2000-01-03 00:00:00+00') IN (SELECT date_bin(INTERVAL '1 hour', i.bucket, timestamptz '2000-01-03 00:00:00+00') FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_mx_count_1h')
      GROUP BY 1, 2, 3
      OFFSET 0
    ) live
    WHERE EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_mx_count_1h')
  ) u;

COMMENT ON VIEW email_stats_mx_count_1h IS 'Email events per hour by MX host (counts only) and event type (Opsdeck per-question rollup)';

INSERT INTO opsdeck_rollup_tables (family, level, relation, storage_table, retention) VALUES ('email_stats_mx_count_1h', '1h', 'email_stats_mx_count_1h', '_opsdeck_mat_email_stats_mx_count_1h', INTERVAL '90 days');

CREATE TABLE _opsdeck_mat_email_stats_mx_count_1d (
  bucket timestamptz NOT NULL,
  mx_host text,
  event_type text,
  event_count bigint
);

CREATE INDEX _opsdeck_mat_email_stats_mx_count_1d_bucket_idx ON _opsdeck_mat_email_stats_mx_count_1d (bucket DESC);

CREATE VIEW email_stats_mx_count_1d AS
  SELECT bucket, mx_host, event_type, event_count
  FROM (
    SELECT m.bucket, m.mx_host, m.event_type, m.event_count
    FROM _opsdeck_mat_email_stats_mx_count_1d m
    WHERE NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_mx_count_1d')
    UNION ALL
    SELECT m.bucket, m.mx_host, m.event_type, m.event_count
    FROM _opsdeck_mat_email_stats_mx_count_1d m
    WHERE EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_mx_count_1d')
      AND NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_mx_count_1d' AND i.bucket >= m.bucket AND i.bucket < m.bucket + INTERVAL '1 day')
    UNION ALL
    SELECT * FROM (
      SELECT date_bin(INTERVAL '1 day', s.time, timestamptz '2000-01-03 00:00:00+00') AS bucket,
        s.mx_host,
        s.event_type,
        count(*) AS event_count
      FROM email_events s
      WHERE s.time >= (SELECT min(date_bin(INTERVAL '1 day', i.bucket, timestamptz '2000-01-03 00:00:00+00')) FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_mx_count_1d')
        AND date_bin(INTERVAL '1 day', s.time, timestamptz '2000-01-03 00:00:00+00') IN (SELECT date_bin(INTERVAL '1 day', i.bucket, timestamptz '2000-01-03 00:00:00+00') FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_mx_count_1d')
      GROUP BY 1, 2, 3
      OFFSET 0
    ) live
    WHERE EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_mx_count_1d')
  ) u;

COMMENT ON VIEW email_stats_mx_count_1d IS 'Email events per day by MX host (counts only) and event type (Opsdeck per-question rollup)';

INSERT INTO opsdeck_rollup_tables (family, level, relation, storage_table, retention) VALUES ('email_stats_mx_count_1d', '1d', 'email_stats_mx_count_1d', '_opsdeck_mat_email_stats_mx_count_1d', INTERVAL '730 days');

-- The events already stored: one invalidation per hour that holds any, for each new rollup;
-- Opsdeck's refresh job computes those buckets, the views answer them live until then.
INSERT INTO opsdeck_rollup_invalidations (family, bucket)
  SELECT r, h.bucket
  FROM (SELECT DISTINCT date_bin(INTERVAL '1 hour', time, timestamptz '2000-01-03 00:00:00+00') AS bucket FROM email_events) h,
    unnest(ARRAY['email_stats_destination_count_1h', 'email_stats_destination_count_1d', 'email_stats_mx_count_1h', 'email_stats_mx_count_1d']::text[]) AS r;
