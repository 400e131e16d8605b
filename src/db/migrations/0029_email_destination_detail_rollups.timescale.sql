-- Generated from the email_events stream declaration (timescale tier) by scripts/gen-rollup-migration.ts:
-- the rollups email_stats_dest_code_1h, email_stats_dest_code_1d, email_stats_dest_mx_1h, email_stats_dest_mx_1d, email_stats_dest_ip_1h, email_stats_dest_ip_1d.
-- Applied migrations are immutable: change the declaration and add a new migration instead.

CREATE MATERIALIZED VIEW _opsdeck_cagg_email_stats_dest_code_1h
  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT time_bucket(INTERVAL '1 hour', time) AS bucket,
    to_domain,
    status_code,
    event_type,
    count(*) AS event_count,
    opsdeck_hist(delivery_time_ms::double precision) AS delivery_time_ms_hist
  FROM email_events
  GROUP BY 1, 2, 3, 4
  WITH NO DATA;

SELECT add_continuous_aggregate_policy('_opsdeck_cagg_email_stats_dest_code_1h', start_offset => INTERVAL '89 days 23:00:00', end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '5 minutes');

SELECT count(*) FROM (SELECT alter_job(job_id, config => config || jsonb_build_object('buckets_per_batch', 0)) FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_schema = 'public' AND hypertable_name = '_opsdeck_cagg_email_stats_dest_code_1h') s;

SELECT add_retention_policy('_opsdeck_cagg_email_stats_dest_code_1h', drop_after => INTERVAL '90 days');

CREATE VIEW email_stats_dest_code_1h AS
  SELECT bucket, to_domain, status_code, event_type, event_count, delivery_time_ms_hist, opsdeck_hist_quantile(delivery_time_ms_hist, 0.95) AS p95_delivery_ms
  FROM _opsdeck_cagg_email_stats_dest_code_1h;

COMMENT ON VIEW email_stats_dest_code_1h IS 'Email events per hour by recipient domain and SMTP reply code and event type (Opsdeck per-question rollup)';

CREATE MATERIALIZED VIEW _opsdeck_cagg_email_stats_dest_code_1d
  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT time_bucket(INTERVAL '1 day', time) AS bucket,
    to_domain,
    status_code,
    event_type,
    count(*) AS event_count,
    opsdeck_hist(delivery_time_ms::double precision) AS delivery_time_ms_hist
  FROM email_events
  GROUP BY 1, 2, 3, 4
  WITH NO DATA;

SELECT add_continuous_aggregate_policy('_opsdeck_cagg_email_stats_dest_code_1d', start_offset => INTERVAL '179 days', end_offset => INTERVAL '1 day', schedule_interval => INTERVAL '1 hour');

SELECT count(*) FROM (SELECT alter_job(job_id, config => config || jsonb_build_object('buckets_per_batch', 0)) FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_schema = 'public' AND hypertable_name = '_opsdeck_cagg_email_stats_dest_code_1d') s;

SELECT add_retention_policy('_opsdeck_cagg_email_stats_dest_code_1d', drop_after => INTERVAL '730 days');

CREATE VIEW email_stats_dest_code_1d AS
  SELECT bucket, to_domain, status_code, event_type, event_count, delivery_time_ms_hist, opsdeck_hist_quantile(delivery_time_ms_hist, 0.95) AS p95_delivery_ms
  FROM _opsdeck_cagg_email_stats_dest_code_1d;

COMMENT ON VIEW email_stats_dest_code_1d IS 'Email events per day by recipient domain and SMTP reply code and event type (Opsdeck per-question rollup)';

CREATE MATERIALIZED VIEW _opsdeck_cagg_email_stats_dest_mx_1h
  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT time_bucket(INTERVAL '1 hour', time) AS bucket,
    to_domain,
    mx_host,
    event_type,
    count(*) AS event_count,
    opsdeck_hist(delivery_time_ms::double precision) AS delivery_time_ms_hist
  FROM email_events
  GROUP BY 1, 2, 3, 4
  WITH NO DATA;

SELECT add_continuous_aggregate_policy('_opsdeck_cagg_email_stats_dest_mx_1h', start_offset => INTERVAL '89 days 23:00:00', end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '5 minutes');

SELECT count(*) FROM (SELECT alter_job(job_id, config => config || jsonb_build_object('buckets_per_batch', 0)) FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_schema = 'public' AND hypertable_name = '_opsdeck_cagg_email_stats_dest_mx_1h') s;

SELECT add_retention_policy('_opsdeck_cagg_email_stats_dest_mx_1h', drop_after => INTERVAL '90 days');

CREATE VIEW email_stats_dest_mx_1h AS
  SELECT bucket, to_domain, mx_host, event_type, event_count, delivery_time_ms_hist, opsdeck_hist_quantile(delivery_time_ms_hist, 0.95) AS p95_delivery_ms
  FROM _opsdeck_cagg_email_stats_dest_mx_1h;

COMMENT ON VIEW email_stats_dest_mx_1h IS 'Email events per hour by recipient domain and MX host and event type (Opsdeck per-question rollup)';

CREATE MATERIALIZED VIEW _opsdeck_cagg_email_stats_dest_mx_1d
  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT time_bucket(INTERVAL '1 day', time) AS bucket,
    to_domain,
    mx_host,
    event_type,
    count(*) AS event_count,
    opsdeck_hist(delivery_time_ms::double precision) AS delivery_time_ms_hist
  FROM email_events
  GROUP BY 1, 2, 3, 4
  WITH NO DATA;

SELECT add_continuous_aggregate_policy('_opsdeck_cagg_email_stats_dest_mx_1d', start_offset => INTERVAL '179 days', end_offset => INTERVAL '1 day', schedule_interval => INTERVAL '1 hour');

SELECT count(*) FROM (SELECT alter_job(job_id, config => config || jsonb_build_object('buckets_per_batch', 0)) FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_schema = 'public' AND hypertable_name = '_opsdeck_cagg_email_stats_dest_mx_1d') s;

SELECT add_retention_policy('_opsdeck_cagg_email_stats_dest_mx_1d', drop_after => INTERVAL '730 days');

CREATE VIEW email_stats_dest_mx_1d AS
  SELECT bucket, to_domain, mx_host, event_type, event_count, delivery_time_ms_hist, opsdeck_hist_quantile(delivery_time_ms_hist, 0.95) AS p95_delivery_ms
  FROM _opsdeck_cagg_email_stats_dest_mx_1d;

COMMENT ON VIEW email_stats_dest_mx_1d IS 'Email events per day by recipient domain and MX host and event type (Opsdeck per-question rollup)';

CREATE MATERIALIZED VIEW _opsdeck_cagg_email_stats_dest_ip_1h
  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT time_bucket(INTERVAL '1 hour', time) AS bucket,
    to_domain,
    sending_ip,
    sending_ip_v6,
    event_type,
    count(*) AS event_count,
    opsdeck_hist(delivery_time_ms::double precision) AS delivery_time_ms_hist
  FROM email_events
  GROUP BY 1, 2, 3, 4, 5
  WITH NO DATA;

SELECT add_continuous_aggregate_policy('_opsdeck_cagg_email_stats_dest_ip_1h', start_offset => INTERVAL '89 days 23:00:00', end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '5 minutes');

SELECT count(*) FROM (SELECT alter_job(job_id, config => config || jsonb_build_object('buckets_per_batch', 0)) FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_schema = 'public' AND hypertable_name = '_opsdeck_cagg_email_stats_dest_ip_1h') s;

SELECT add_retention_policy('_opsdeck_cagg_email_stats_dest_ip_1h', drop_after => INTERVAL '90 days');

CREATE VIEW email_stats_dest_ip_1h AS
  SELECT bucket, to_domain, sending_ip, sending_ip_v6, event_type, event_count, delivery_time_ms_hist, opsdeck_hist_quantile(delivery_time_ms_hist, 0.95) AS p95_delivery_ms
  FROM _opsdeck_cagg_email_stats_dest_ip_1h;

COMMENT ON VIEW email_stats_dest_ip_1h IS 'Email events per hour by recipient domain and sending IP (IPv4 or IPv6) and event type (Opsdeck per-question rollup)';

CREATE MATERIALIZED VIEW _opsdeck_cagg_email_stats_dest_ip_1d
  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT time_bucket(INTERVAL '1 day', time) AS bucket,
    to_domain,
    sending_ip,
    sending_ip_v6,
    event_type,
    count(*) AS event_count,
    opsdeck_hist(delivery_time_ms::double precision) AS delivery_time_ms_hist
  FROM email_events
  GROUP BY 1, 2, 3, 4, 5
  WITH NO DATA;

SELECT add_continuous_aggregate_policy('_opsdeck_cagg_email_stats_dest_ip_1d', start_offset => INTERVAL '179 days', end_offset => INTERVAL '1 day', schedule_interval => INTERVAL '1 hour');

SELECT count(*) FROM (SELECT alter_job(job_id, config => config || jsonb_build_object('buckets_per_batch', 0)) FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_schema = 'public' AND hypertable_name = '_opsdeck_cagg_email_stats_dest_ip_1d') s;

SELECT add_retention_policy('_opsdeck_cagg_email_stats_dest_ip_1d', drop_after => INTERVAL '730 days');

CREATE VIEW email_stats_dest_ip_1d AS
  SELECT bucket, to_domain, sending_ip, sending_ip_v6, event_type, event_count, delivery_time_ms_hist, opsdeck_hist_quantile(delivery_time_ms_hist, 0.95) AS p95_delivery_ms
  FROM _opsdeck_cagg_email_stats_dest_ip_1d;

COMMENT ON VIEW email_stats_dest_ip_1d IS 'Email events per day by recipient domain and sending IP (IPv4 or IPv6) and event type (Opsdeck per-question rollup)';
