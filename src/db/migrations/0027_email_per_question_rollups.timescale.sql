-- Generated from the email_events stream declaration (timescale tier) by scripts/gen-rollup-migration.ts:
-- the rollups email_stats_ip_1h, email_stats_ip_1d, email_stats_sender_1h, email_stats_sender_1d, email_stats_destination_1h, email_stats_destination_1d, email_stats_mx_1h, email_stats_mx_1d, email_stats_failure_1h, email_stats_failure_1d.
-- Applied migrations are immutable: change the declaration and add a new migration instead.

CREATE MATERIALIZED VIEW _opsdeck_cagg_email_stats_ip_1h
  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT time_bucket(INTERVAL '1 hour', time) AS bucket,
    sending_ip,
    event_type,
    count(*) AS event_count,
    opsdeck_hist(delivery_time_ms::double precision) AS delivery_time_ms_hist
  FROM email_events
  GROUP BY 1, 2, 3
  WITH NO DATA;

SELECT add_continuous_aggregate_policy('_opsdeck_cagg_email_stats_ip_1h', start_offset => INTERVAL '89 days 23:00:00', end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '5 minutes');

SELECT count(*) FROM (SELECT alter_job(job_id, config => config || jsonb_build_object('buckets_per_batch', 0)) FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_schema = 'public' AND hypertable_name = '_opsdeck_cagg_email_stats_ip_1h') s;

SELECT add_retention_policy('_opsdeck_cagg_email_stats_ip_1h', drop_after => INTERVAL '90 days');

CREATE VIEW email_stats_ip_1h AS
  SELECT bucket, sending_ip, event_type, event_count, delivery_time_ms_hist, opsdeck_hist_quantile(delivery_time_ms_hist, 0.95) AS p95_delivery_ms
  FROM _opsdeck_cagg_email_stats_ip_1h;

COMMENT ON VIEW email_stats_ip_1h IS 'Email events per hour by sending IP and event type (Opsdeck per-question rollup)';

CREATE MATERIALIZED VIEW _opsdeck_cagg_email_stats_ip_1d
  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT time_bucket(INTERVAL '1 day', time) AS bucket,
    sending_ip,
    event_type,
    count(*) AS event_count,
    opsdeck_hist(delivery_time_ms::double precision) AS delivery_time_ms_hist
  FROM email_events
  GROUP BY 1, 2, 3
  WITH NO DATA;

SELECT add_continuous_aggregate_policy('_opsdeck_cagg_email_stats_ip_1d', start_offset => INTERVAL '179 days', end_offset => INTERVAL '1 day', schedule_interval => INTERVAL '1 hour');

SELECT count(*) FROM (SELECT alter_job(job_id, config => config || jsonb_build_object('buckets_per_batch', 0)) FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_schema = 'public' AND hypertable_name = '_opsdeck_cagg_email_stats_ip_1d') s;

SELECT add_retention_policy('_opsdeck_cagg_email_stats_ip_1d', drop_after => INTERVAL '730 days');

CREATE VIEW email_stats_ip_1d AS
  SELECT bucket, sending_ip, event_type, event_count, delivery_time_ms_hist, opsdeck_hist_quantile(delivery_time_ms_hist, 0.95) AS p95_delivery_ms
  FROM _opsdeck_cagg_email_stats_ip_1d;

COMMENT ON VIEW email_stats_ip_1d IS 'Email events per day by sending IP and event type (Opsdeck per-question rollup)';

CREATE MATERIALIZED VIEW _opsdeck_cagg_email_stats_sender_1h
  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT time_bucket(INTERVAL '1 hour', time) AS bucket,
    from_domain,
    event_type,
    count(*) AS event_count,
    opsdeck_hist(delivery_time_ms::double precision) AS delivery_time_ms_hist
  FROM email_events
  GROUP BY 1, 2, 3
  WITH NO DATA;

SELECT add_continuous_aggregate_policy('_opsdeck_cagg_email_stats_sender_1h', start_offset => INTERVAL '89 days 23:00:00', end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '5 minutes');

SELECT count(*) FROM (SELECT alter_job(job_id, config => config || jsonb_build_object('buckets_per_batch', 0)) FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_schema = 'public' AND hypertable_name = '_opsdeck_cagg_email_stats_sender_1h') s;

SELECT add_retention_policy('_opsdeck_cagg_email_stats_sender_1h', drop_after => INTERVAL '90 days');

CREATE VIEW email_stats_sender_1h AS
  SELECT bucket, from_domain, event_type, event_count, delivery_time_ms_hist, opsdeck_hist_quantile(delivery_time_ms_hist, 0.95) AS p95_delivery_ms
  FROM _opsdeck_cagg_email_stats_sender_1h;

COMMENT ON VIEW email_stats_sender_1h IS 'Email events per hour by sender domain and event type (Opsdeck per-question rollup)';

CREATE MATERIALIZED VIEW _opsdeck_cagg_email_stats_sender_1d
  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT time_bucket(INTERVAL '1 day', time) AS bucket,
    from_domain,
    event_type,
    count(*) AS event_count,
    opsdeck_hist(delivery_time_ms::double precision) AS delivery_time_ms_hist
  FROM email_events
  GROUP BY 1, 2, 3
  WITH NO DATA;

SELECT add_continuous_aggregate_policy('_opsdeck_cagg_email_stats_sender_1d', start_offset => INTERVAL '179 days', end_offset => INTERVAL '1 day', schedule_interval => INTERVAL '1 hour');

SELECT count(*) FROM (SELECT alter_job(job_id, config => config || jsonb_build_object('buckets_per_batch', 0)) FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_schema = 'public' AND hypertable_name = '_opsdeck_cagg_email_stats_sender_1d') s;

SELECT add_retention_policy('_opsdeck_cagg_email_stats_sender_1d', drop_after => INTERVAL '730 days');

CREATE VIEW email_stats_sender_1d AS
  SELECT bucket, from_domain, event_type, event_count, delivery_time_ms_hist, opsdeck_hist_quantile(delivery_time_ms_hist, 0.95) AS p95_delivery_ms
  FROM _opsdeck_cagg_email_stats_sender_1d;

COMMENT ON VIEW email_stats_sender_1d IS 'Email events per day by sender domain and event type (Opsdeck per-question rollup)';

CREATE MATERIALIZED VIEW _opsdeck_cagg_email_stats_destination_1h
  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT time_bucket(INTERVAL '1 hour', time) AS bucket,
    to_domain,
    event_type,
    count(*) AS event_count,
    sum(delivery_time_ms::double precision) AS avg_delivery_ms_sum,
    count(delivery_time_ms) AS avg_delivery_ms_count,
    opsdeck_hist(delivery_time_ms::double precision) AS delivery_time_ms_hist
  FROM email_events
  GROUP BY 1, 2, 3
  WITH NO DATA;

SELECT add_continuous_aggregate_policy('_opsdeck_cagg_email_stats_destination_1h', start_offset => INTERVAL '89 days 23:00:00', end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '5 minutes');

SELECT count(*) FROM (SELECT alter_job(job_id, config => config || jsonb_build_object('buckets_per_batch', 0)) FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_schema = 'public' AND hypertable_name = '_opsdeck_cagg_email_stats_destination_1h') s;

SELECT add_retention_policy('_opsdeck_cagg_email_stats_destination_1h', drop_after => INTERVAL '90 days');

CREATE VIEW email_stats_destination_1h AS
  SELECT bucket, to_domain, event_type, event_count, avg_delivery_ms_sum, avg_delivery_ms_count, delivery_time_ms_hist, avg_delivery_ms_sum / NULLIF(avg_delivery_ms_count, 0) AS avg_delivery_ms, opsdeck_hist_quantile(delivery_time_ms_hist, 0.95) AS p95_delivery_ms
  FROM _opsdeck_cagg_email_stats_destination_1h;

COMMENT ON VIEW email_stats_destination_1h IS 'Email events per hour by recipient domain and event type (Opsdeck per-question rollup)';

CREATE MATERIALIZED VIEW _opsdeck_cagg_email_stats_destination_1d
  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT time_bucket(INTERVAL '1 day', time) AS bucket,
    to_domain,
    event_type,
    count(*) AS event_count,
    sum(delivery_time_ms::double precision) AS avg_delivery_ms_sum,
    count(delivery_time_ms) AS avg_delivery_ms_count,
    opsdeck_hist(delivery_time_ms::double precision) AS delivery_time_ms_hist
  FROM email_events
  GROUP BY 1, 2, 3
  WITH NO DATA;

SELECT add_continuous_aggregate_policy('_opsdeck_cagg_email_stats_destination_1d', start_offset => INTERVAL '179 days', end_offset => INTERVAL '1 day', schedule_interval => INTERVAL '1 hour');

SELECT count(*) FROM (SELECT alter_job(job_id, config => config || jsonb_build_object('buckets_per_batch', 0)) FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_schema = 'public' AND hypertable_name = '_opsdeck_cagg_email_stats_destination_1d') s;

SELECT add_retention_policy('_opsdeck_cagg_email_stats_destination_1d', drop_after => INTERVAL '730 days');

CREATE VIEW email_stats_destination_1d AS
  SELECT bucket, to_domain, event_type, event_count, avg_delivery_ms_sum, avg_delivery_ms_count, delivery_time_ms_hist, avg_delivery_ms_sum / NULLIF(avg_delivery_ms_count, 0) AS avg_delivery_ms, opsdeck_hist_quantile(delivery_time_ms_hist, 0.95) AS p95_delivery_ms
  FROM _opsdeck_cagg_email_stats_destination_1d;

COMMENT ON VIEW email_stats_destination_1d IS 'Email events per day by recipient domain and event type (Opsdeck per-question rollup)';

CREATE MATERIALIZED VIEW _opsdeck_cagg_email_stats_mx_1h
  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT time_bucket(INTERVAL '1 hour', time) AS bucket,
    mx_host,
    event_type,
    count(*) AS event_count,
    opsdeck_hist(delivery_time_ms::double precision) AS delivery_time_ms_hist
  FROM email_events
  GROUP BY 1, 2, 3
  WITH NO DATA;

SELECT add_continuous_aggregate_policy('_opsdeck_cagg_email_stats_mx_1h', start_offset => INTERVAL '89 days 23:00:00', end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '5 minutes');

SELECT count(*) FROM (SELECT alter_job(job_id, config => config || jsonb_build_object('buckets_per_batch', 0)) FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_schema = 'public' AND hypertable_name = '_opsdeck_cagg_email_stats_mx_1h') s;

SELECT add_retention_policy('_opsdeck_cagg_email_stats_mx_1h', drop_after => INTERVAL '90 days');

CREATE VIEW email_stats_mx_1h AS
  SELECT bucket, mx_host, event_type, event_count, delivery_time_ms_hist, opsdeck_hist_quantile(delivery_time_ms_hist, 0.95) AS p95_delivery_ms
  FROM _opsdeck_cagg_email_stats_mx_1h;

COMMENT ON VIEW email_stats_mx_1h IS 'Email events per hour by MX host and event type (Opsdeck per-question rollup)';

CREATE MATERIALIZED VIEW _opsdeck_cagg_email_stats_mx_1d
  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT time_bucket(INTERVAL '1 day', time) AS bucket,
    mx_host,
    event_type,
    count(*) AS event_count,
    opsdeck_hist(delivery_time_ms::double precision) AS delivery_time_ms_hist
  FROM email_events
  GROUP BY 1, 2, 3
  WITH NO DATA;

SELECT add_continuous_aggregate_policy('_opsdeck_cagg_email_stats_mx_1d', start_offset => INTERVAL '179 days', end_offset => INTERVAL '1 day', schedule_interval => INTERVAL '1 hour');

SELECT count(*) FROM (SELECT alter_job(job_id, config => config || jsonb_build_object('buckets_per_batch', 0)) FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_schema = 'public' AND hypertable_name = '_opsdeck_cagg_email_stats_mx_1d') s;

SELECT add_retention_policy('_opsdeck_cagg_email_stats_mx_1d', drop_after => INTERVAL '730 days');

CREATE VIEW email_stats_mx_1d AS
  SELECT bucket, mx_host, event_type, event_count, delivery_time_ms_hist, opsdeck_hist_quantile(delivery_time_ms_hist, 0.95) AS p95_delivery_ms
  FROM _opsdeck_cagg_email_stats_mx_1d;

COMMENT ON VIEW email_stats_mx_1d IS 'Email events per day by MX host and event type (Opsdeck per-question rollup)';

CREATE MATERIALIZED VIEW _opsdeck_cagg_email_stats_failure_1h
  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT time_bucket(INTERVAL '1 hour', time) AS bucket,
    status_code,
    enhanced_status,
    bounce_category,
    event_type,
    count(*) AS event_count
  FROM email_events
  GROUP BY 1, 2, 3, 4, 5
  WITH NO DATA;

SELECT add_continuous_aggregate_policy('_opsdeck_cagg_email_stats_failure_1h', start_offset => INTERVAL '89 days 23:00:00', end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '5 minutes');

SELECT count(*) FROM (SELECT alter_job(job_id, config => config || jsonb_build_object('buckets_per_batch', 0)) FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_schema = 'public' AND hypertable_name = '_opsdeck_cagg_email_stats_failure_1h') s;

SELECT add_retention_policy('_opsdeck_cagg_email_stats_failure_1h', drop_after => INTERVAL '90 days');

CREATE VIEW email_stats_failure_1h AS
  SELECT bucket, status_code, enhanced_status, bounce_category, event_type, event_count
  FROM _opsdeck_cagg_email_stats_failure_1h;

COMMENT ON VIEW email_stats_failure_1h IS 'Email events per hour by SMTP reply code, enhanced status code, bounce category and event type (Opsdeck per-question rollup)';

CREATE MATERIALIZED VIEW _opsdeck_cagg_email_stats_failure_1d
  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT time_bucket(INTERVAL '1 day', time) AS bucket,
    status_code,
    enhanced_status,
    bounce_category,
    event_type,
    count(*) AS event_count
  FROM email_events
  GROUP BY 1, 2, 3, 4, 5
  WITH NO DATA;

SELECT add_continuous_aggregate_policy('_opsdeck_cagg_email_stats_failure_1d', start_offset => INTERVAL '179 days', end_offset => INTERVAL '1 day', schedule_interval => INTERVAL '1 hour');

SELECT count(*) FROM (SELECT alter_job(job_id, config => config || jsonb_build_object('buckets_per_batch', 0)) FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_schema = 'public' AND hypertable_name = '_opsdeck_cagg_email_stats_failure_1d') s;

SELECT add_retention_policy('_opsdeck_cagg_email_stats_failure_1d', drop_after => INTERVAL '730 days');

CREATE VIEW email_stats_failure_1d AS
  SELECT bucket, status_code, enhanced_status, bounce_category, event_type, event_count
  FROM _opsdeck_cagg_email_stats_failure_1d;

COMMENT ON VIEW email_stats_failure_1d IS 'Email events per day by SMTP reply code, enhanced status code, bounce category and event type (Opsdeck per-question rollup)';
