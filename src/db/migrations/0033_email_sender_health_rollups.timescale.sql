-- Generated from the email_events stream declaration (timescale tier) by scripts/gen-rollup-migration.ts:
-- the rollups email_stats_sender_health_5m, email_stats_sender_health_1h, email_stats_sender_health_1d.
-- Applied migrations are immutable: change the declaration and add a new migration instead.

CREATE MATERIALIZED VIEW _opsdeck_cagg_email_stats_sender_health_5m
  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT time_bucket(INTERVAL '5 minutes', time) AS bucket,
    from_domain,
    event_type,
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
  FROM email_events
  GROUP BY 1, 2, 3
  WITH NO DATA;

SELECT add_continuous_aggregate_policy('_opsdeck_cagg_email_stats_sender_health_5m', start_offset => INTERVAL '89 days 23:55:00', end_offset => INTERVAL '5 minutes', schedule_interval => INTERVAL '5 minutes');

SELECT count(*) FROM (SELECT alter_job(job_id, config => config || jsonb_build_object('buckets_per_batch', 0)) FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_schema = 'public' AND hypertable_name = '_opsdeck_cagg_email_stats_sender_health_5m') s;

SELECT add_retention_policy('_opsdeck_cagg_email_stats_sender_health_5m', drop_after => INTERVAL '90 days');

CREATE VIEW email_stats_sender_health_5m AS
  SELECT bucket, from_domain, event_type, event_count, avg_delivery_ms_sum, avg_delivery_ms_count, hard_bounces, dkim_results, dkim_pass, spf_results, spf_pass, dmarc_results, dmarc_pass, avg_delivery_ms_sum / NULLIF(avg_delivery_ms_count, 0) AS avg_delivery_ms
  FROM _opsdeck_cagg_email_stats_sender_health_5m;

COMMENT ON VIEW email_stats_sender_health_5m IS 'Email events per 5 minutes by sender domain and event type, with hard bounces and authentication results (Opsdeck reputation rollup)';

CREATE MATERIALIZED VIEW _opsdeck_cagg_email_stats_sender_health_1h
  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT time_bucket(INTERVAL '1 hour', time) AS bucket,
    from_domain,
    event_type,
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
  FROM email_events
  GROUP BY 1, 2, 3
  WITH NO DATA;

SELECT add_continuous_aggregate_policy('_opsdeck_cagg_email_stats_sender_health_1h', start_offset => INTERVAL '89 days 23:00:00', end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '5 minutes');

SELECT count(*) FROM (SELECT alter_job(job_id, config => config || jsonb_build_object('buckets_per_batch', 0)) FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_schema = 'public' AND hypertable_name = '_opsdeck_cagg_email_stats_sender_health_1h') s;

SELECT add_retention_policy('_opsdeck_cagg_email_stats_sender_health_1h', drop_after => INTERVAL '90 days');

CREATE VIEW email_stats_sender_health_1h AS
  SELECT bucket, from_domain, event_type, event_count, avg_delivery_ms_sum, avg_delivery_ms_count, hard_bounces, dkim_results, dkim_pass, spf_results, spf_pass, dmarc_results, dmarc_pass, avg_delivery_ms_sum / NULLIF(avg_delivery_ms_count, 0) AS avg_delivery_ms
  FROM _opsdeck_cagg_email_stats_sender_health_1h;

COMMENT ON VIEW email_stats_sender_health_1h IS 'Email events per hour by sender domain, with hard bounces and authentication results and event type (Opsdeck per-question rollup)';

CREATE MATERIALIZED VIEW _opsdeck_cagg_email_stats_sender_health_1d
  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT time_bucket(INTERVAL '1 day', time) AS bucket,
    from_domain,
    event_type,
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
  FROM email_events
  GROUP BY 1, 2, 3
  WITH NO DATA;

SELECT add_continuous_aggregate_policy('_opsdeck_cagg_email_stats_sender_health_1d', start_offset => INTERVAL '179 days', end_offset => INTERVAL '1 day', schedule_interval => INTERVAL '1 hour');

SELECT count(*) FROM (SELECT alter_job(job_id, config => config || jsonb_build_object('buckets_per_batch', 0)) FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_schema = 'public' AND hypertable_name = '_opsdeck_cagg_email_stats_sender_health_1d') s;

SELECT add_retention_policy('_opsdeck_cagg_email_stats_sender_health_1d', drop_after => INTERVAL '730 days');

CREATE VIEW email_stats_sender_health_1d AS
  SELECT bucket, from_domain, event_type, event_count, avg_delivery_ms_sum, avg_delivery_ms_count, hard_bounces, dkim_results, dkim_pass, spf_results, spf_pass, dmarc_results, dmarc_pass, avg_delivery_ms_sum / NULLIF(avg_delivery_ms_count, 0) AS avg_delivery_ms
  FROM _opsdeck_cagg_email_stats_sender_health_1d;

COMMENT ON VIEW email_stats_sender_health_1d IS 'Email events per day by sender domain, with hard bounces and authentication results and event type (Opsdeck per-question rollup)';
