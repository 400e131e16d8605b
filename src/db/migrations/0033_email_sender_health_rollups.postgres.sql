-- Generated from the email_events stream declaration (postgres tier) by scripts/gen-rollup-migration.ts:
-- the rollups email_stats_sender_health_5m, email_stats_sender_health_1h, email_stats_sender_health_1d.
-- Applied migrations are immutable: change the declaration and add a new migration instead.

CREATE TABLE _opsdeck_mat_email_stats_sender_health_5m (
  bucket timestamptz NOT NULL,
  from_domain text,
  event_type text,
  event_count bigint,
  avg_delivery_ms_sum double precision,
  avg_delivery_ms_count bigint,
  hard_bounces bigint,
  dkim_results bigint,
  dkim_pass bigint,
  spf_results bigint,
  spf_pass bigint,
  dmarc_results bigint,
  dmarc_pass bigint
);

CREATE INDEX _opsdeck_mat_email_stats_sender_health_5m_bucket_idx ON _opsdeck_mat_email_stats_sender_health_5m (bucket DESC);

CREATE INDEX _opsdeck_mat_email_stats_sender_health_5m_from_domain_idx ON _opsdeck_mat_email_stats_sender_health_5m (from_domain, bucket DESC);

CREATE VIEW email_stats_sender_health_5m AS
  SELECT bucket, from_domain, event_type, event_count, avg_delivery_ms_sum, avg_delivery_ms_count, hard_bounces, dkim_results, dkim_pass, spf_results, spf_pass, dmarc_results, dmarc_pass, avg_delivery_ms_sum / NULLIF(avg_delivery_ms_count, 0) AS avg_delivery_ms
  FROM (
    SELECT m.bucket, m.from_domain, m.event_type, m.event_count, m.avg_delivery_ms_sum, m.avg_delivery_ms_count, m.hard_bounces, m.dkim_results, m.dkim_pass, m.spf_results, m.spf_pass, m.dmarc_results, m.dmarc_pass
    FROM _opsdeck_mat_email_stats_sender_health_5m m
    WHERE NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_sender_health_5m')
    UNION ALL
    SELECT m.bucket, m.from_domain, m.event_type, m.event_count, m.avg_delivery_ms_sum, m.avg_delivery_ms_count, m.hard_bounces, m.dkim_results, m.dkim_pass, m.spf_results, m.spf_pass, m.dmarc_results, m.dmarc_pass
    FROM _opsdeck_mat_email_stats_sender_health_5m m
    WHERE EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_sender_health_5m')
      AND NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_sender_health_5m' AND i.bucket >= m.bucket AND i.bucket < m.bucket + INTERVAL '5 minutes')
    UNION ALL
    SELECT * FROM (
      SELECT date_bin(INTERVAL '5 minutes', s.time, timestamptz '2000-01-03 00:00:00+00') AS bucket,
        s.from_domain,
        s.event_type,
        count(*) AS event_count,
        sum(delivery_time_ms::double precision) AS avg_delivery_ms_sum,
        count(delivery_time_ms) AS avg_delivery_ms_count,
        count(*) FILTER (WHERE bounce_type = 'hard') AS hard_bounces,
        count(dkim_result) AS dkim_results,
        count(*) FILTER (WHERE dkim_result = 'pass') AS dkim_pass,
        count(spf_result) AS spf_results,
        count(*) FILTER (WHERE spf_result = 'pass') AS spf_pass,
        count(dmarc_result) AS dmarc_results,
        count(*) FILTER (WHERE dmarc_result = 'pass') AS dmarc_pass
      FROM email_events s
      WHERE s.time >= (SELECT min(date_bin(INTERVAL '5 minutes', i.bucket, timestamptz '2000-01-03 00:00:00+00')) FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_sender_health_5m')
        AND date_bin(INTERVAL '5 minutes', s.time, timestamptz '2000-01-03 00:00:00+00') IN (SELECT date_bin(INTERVAL '5 minutes', i.bucket, timestamptz '2000-01-03 00:00:00+00') FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_sender_health_5m')
      GROUP BY 1, 2, 3
      OFFSET 0
    ) live
    WHERE EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_sender_health_5m')
  ) u;

COMMENT ON VIEW email_stats_sender_health_5m IS 'Email events per 5 minutes by sender domain and event type, with hard bounces and authentication results (Opsdeck reputation rollup)';

INSERT INTO opsdeck_rollup_tables (family, level, relation, storage_table, retention) VALUES ('email_stats_sender_health_5m', '5m', 'email_stats_sender_health_5m', '_opsdeck_mat_email_stats_sender_health_5m', INTERVAL '90 days');

CREATE TABLE _opsdeck_mat_email_stats_sender_health_1h (
  bucket timestamptz NOT NULL,
  from_domain text,
  event_type text,
  event_count bigint,
  avg_delivery_ms_sum double precision,
  avg_delivery_ms_count bigint,
  hard_bounces bigint,
  dkim_results bigint,
  dkim_pass bigint,
  spf_results bigint,
  spf_pass bigint,
  dmarc_results bigint,
  dmarc_pass bigint
);

CREATE INDEX _opsdeck_mat_email_stats_sender_health_1h_bucket_idx ON _opsdeck_mat_email_stats_sender_health_1h (bucket DESC);

CREATE INDEX _opsdeck_mat_email_stats_sender_health_1h_from_domain_idx ON _opsdeck_mat_email_stats_sender_health_1h (from_domain, bucket DESC);

CREATE VIEW email_stats_sender_health_1h AS
  SELECT bucket, from_domain, event_type, event_count, avg_delivery_ms_sum, avg_delivery_ms_count, hard_bounces, dkim_results, dkim_pass, spf_results, spf_pass, dmarc_results, dmarc_pass, avg_delivery_ms_sum / NULLIF(avg_delivery_ms_count, 0) AS avg_delivery_ms
  FROM (
    SELECT m.bucket, m.from_domain, m.event_type, m.event_count, m.avg_delivery_ms_sum, m.avg_delivery_ms_count, m.hard_bounces, m.dkim_results, m.dkim_pass, m.spf_results, m.spf_pass, m.dmarc_results, m.dmarc_pass
    FROM _opsdeck_mat_email_stats_sender_health_1h m
    WHERE NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_sender_health_1h')
    UNION ALL
    SELECT m.bucket, m.from_domain, m.event_type, m.event_count, m.avg_delivery_ms_sum, m.avg_delivery_ms_count, m.hard_bounces, m.dkim_results, m.dkim_pass, m.spf_results, m.spf_pass, m.dmarc_results, m.dmarc_pass
    FROM _opsdeck_mat_email_stats_sender_health_1h m
    WHERE EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_sender_health_1h')
      AND NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_sender_health_1h' AND i.bucket >= m.bucket AND i.bucket < m.bucket + INTERVAL '1 hour')
    UNION ALL
    SELECT * FROM (
      SELECT date_bin(INTERVAL '1 hour', s.time, timestamptz '2000-01-03 00:00:00+00') AS bucket,
        s.from_domain,
        s.event_type,
        count(*) AS event_count,
        sum(delivery_time_ms::double precision) AS avg_delivery_ms_sum,
        count(delivery_time_ms) AS avg_delivery_ms_count,
        count(*) FILTER (WHERE bounce_type = 'hard') AS hard_bounces,
        count(dkim_result) AS dkim_results,
        count(*) FILTER (WHERE dkim_result = 'pass') AS dkim_pass,
        count(spf_result) AS spf_results,
        count(*) FILTER (WHERE spf_result = 'pass') AS spf_pass,
        count(dmarc_result) AS dmarc_results,
        count(*) FILTER (WHERE dmarc_result = 'pass') AS dmarc_pass
      FROM email_events s
      WHERE s.time >= (SELECT min(date_bin(INTERVAL '1 hour', i.bucket, timestamptz '2000-01-03 00:00:00+00')) FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_sender_health_1h')
        AND date_bin(INTERVAL '1 hour', s.time, timestamptz '2000-01-03 00:00:00+00') IN (SELECT date_bin(INTERVAL '1 hour', i.bucket, timestamptz '2000-01-03 00:00:00+00') FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_sender_health_1h')
      GROUP BY 1, 2, 3
      OFFSET 0
    ) live
    WHERE EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_sender_health_1h')
  ) u;

COMMENT ON VIEW email_stats_sender_health_1h IS 'Email events per hour by sender domain, with hard bounces and authentication results and event type (Opsdeck per-question rollup)';

INSERT INTO opsdeck_rollup_tables (family, level, relation, storage_table, retention) VALUES ('email_stats_sender_health_1h', '1h', 'email_stats_sender_health_1h', '_opsdeck_mat_email_stats_sender_health_1h', INTERVAL '90 days');

CREATE TABLE _opsdeck_mat_email_stats_sender_health_1d (
  bucket timestamptz NOT NULL,
  from_domain text,
  event_type text,
  event_count bigint,
  avg_delivery_ms_sum double precision,
  avg_delivery_ms_count bigint,
  hard_bounces bigint,
  dkim_results bigint,
  dkim_pass bigint,
  spf_results bigint,
  spf_pass bigint,
  dmarc_results bigint,
  dmarc_pass bigint
);

CREATE INDEX _opsdeck_mat_email_stats_sender_health_1d_bucket_idx ON _opsdeck_mat_email_stats_sender_health_1d (bucket DESC);

CREATE INDEX _opsdeck_mat_email_stats_sender_health_1d_from_domain_idx ON _opsdeck_mat_email_stats_sender_health_1d (from_domain, bucket DESC);

CREATE VIEW email_stats_sender_health_1d AS
  SELECT bucket, from_domain, event_type, event_count, avg_delivery_ms_sum, avg_delivery_ms_count, hard_bounces, dkim_results, dkim_pass, spf_results, spf_pass, dmarc_results, dmarc_pass, avg_delivery_ms_sum / NULLIF(avg_delivery_ms_count, 0) AS avg_delivery_ms
  FROM (
    SELECT m.bucket, m.from_domain, m.event_type, m.event_count, m.avg_delivery_ms_sum, m.avg_delivery_ms_count, m.hard_bounces, m.dkim_results, m.dkim_pass, m.spf_results, m.spf_pass, m.dmarc_results, m.dmarc_pass
    FROM _opsdeck_mat_email_stats_sender_health_1d m
    WHERE NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_sender_health_1d')
    UNION ALL
    SELECT m.bucket, m.from_domain, m.event_type, m.event_count, m.avg_delivery_ms_sum, m.avg_delivery_ms_count, m.hard_bounces, m.dkim_results, m.dkim_pass, m.spf_results, m.spf_pass, m.dmarc_results, m.dmarc_pass
    FROM _opsdeck_mat_email_stats_sender_health_1d m
    WHERE EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_sender_health_1d')
      AND NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_sender_health_1d' AND i.bucket >= m.bucket AND i.bucket < m.bucket + INTERVAL '1 day')
    UNION ALL
    SELECT * FROM (
      SELECT date_bin(INTERVAL '1 day', s.time, timestamptz '2000-01-03 00:00:00+00') AS bucket,
        s.from_domain,
        s.event_type,
        count(*) AS event_count,
        sum(delivery_time_ms::double precision) AS avg_delivery_ms_sum,
        count(delivery_time_ms) AS avg_delivery_ms_count,
        count(*) FILTER (WHERE bounce_type = 'hard') AS hard_bounces,
        count(dkim_result) AS dkim_results,
        count(*) FILTER (WHERE dkim_result = 'pass') AS dkim_pass,
        count(spf_result) AS spf_results,
        count(*) FILTER (WHERE spf_result = 'pass') AS spf_pass,
        count(dmarc_result) AS dmarc_results,
        count(*) FILTER (WHERE dmarc_result = 'pass') AS dmarc_pass
      FROM email_events s
      WHERE s.time >= (SELECT min(date_bin(INTERVAL '1 day', i.bucket, timestamptz '2000-01-03 00:00:00+00')) FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_sender_health_1d')
        AND date_bin(INTERVAL '1 day', s.time, timestamptz '2000-01-03 00:00:00+00') IN (SELECT date_bin(INTERVAL '1 day', i.bucket, timestamptz '2000-01-03 00:00:00+00') FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_sender_health_1d')
      GROUP BY 1, 2, 3
      OFFSET 0
    ) live
    WHERE EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'email_stats_sender_health_1d')
  ) u;

COMMENT ON VIEW email_stats_sender_health_1d IS 'Email events per day by sender domain, with hard bounces and authentication results and event type (Opsdeck per-question rollup)';

INSERT INTO opsdeck_rollup_tables (family, level, relation, storage_table, retention) VALUES ('email_stats_sender_health_1d', '1d', 'email_stats_sender_health_1d', '_opsdeck_mat_email_stats_sender_health_1d', INTERVAL '730 days');

-- The events already stored: one invalidation per 5-minute bucket that holds any, for each new rollup;
-- Opsdeck's refresh job computes those buckets, the views answer them live until then.
INSERT INTO opsdeck_rollup_invalidations (family, bucket)
  SELECT r, h.bucket
  FROM (SELECT DISTINCT date_bin(INTERVAL '5 minutes', time, timestamptz '2000-01-03 00:00:00+00') AS bucket FROM email_events) h,
    unnest(ARRAY['email_stats_sender_health_5m', 'email_stats_sender_health_1h', 'email_stats_sender_health_1d']::text[]) AS r;
