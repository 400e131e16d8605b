-- Generated from the email_events stream declaration (timescale tier) by scripts/gen-rollup-migration.ts:
-- the rollups email_stats_destination_count_1h, email_stats_destination_count_1d, email_stats_mx_count_1h, email_stats_mx_count_1d.
-- Applied migrations are immutable: change the declaration and add a new migration instead.

CREATE MATERIALIZED VIEW _opsdeck_cagg_email_stats_destination_count_1h
  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT time_bucket(INTERVAL '1 hour', time) AS bucket,
    to_domain,
    event_type,
    count(*) AS event_count
  FROM email_events
  GROUP BY 1, 2, 3
  WITH NO DATA;

SELECT add_continuous_aggregate_policy('_opsdeck_cagg_email_stats_destination_count_1h', start_offset => INTERVAL '89 days 23:00:00', end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '5 minutes');

SELECT count(*) FROM (SELECT alter_job(job_id, config => config || jsonb_build_object('buckets_per_batch', 0)) FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_schema = 'public' AND hypertable_name = '_opsdeck_cagg_email_stats_destination_count_1h') s;

SELECT add_retention_policy('_opsdeck_cagg_email_stats_destination_count_1h', drop_after => INTERVAL '90 days');

CREATE VIEW email_stats_destination_count_1h AS
  SELECT bucket, to_domain, event_type, event_count
  FROM _opsdeck_cagg_email_stats_destination_count_1h;

COMMENT ON VIEW email_stats_destination_count_1h IS 'Email events per hour by recipient domain (counts only) and event type (Opsdeck per-question rollup)';

CREATE MATERIALIZED VIEW _opsdeck_cagg_email_stats_destination_count_1d
  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT time_bucket(INTERVAL '1 day', time) AS bucket,
    to_domain,
    event_type,
    count(*) AS event_count
  FROM email_events
  GROUP BY 1, 2, 3
  WITH NO DATA;

SELECT add_continuous_aggregate_policy('_opsdeck_cagg_email_stats_destination_count_1d', start_offset => INTERVAL '179 days', end_offset => INTERVAL '1 day', schedule_interval => INTERVAL '1 hour');

SELECT count(*) FROM (SELECT alter_job(job_id, config => config || jsonb_build_object('buckets_per_batch', 0)) FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_schema = 'public' AND hypertable_name = '_opsdeck_cagg_email_stats_destination_count_1d') s;

SELECT add_retention_policy('_opsdeck_cagg_email_stats_destination_count_1d', drop_after => INTERVAL '730 days');

CREATE VIEW email_stats_destination_count_1d AS
  SELECT bucket, to_domain, event_type, event_count
  FROM _opsdeck_cagg_email_stats_destination_count_1d;

COMMENT ON VIEW email_stats_destination_count_1d IS 'Email events per day by recipient domain (counts only) and event type (Opsdeck per-question rollup)';

CREATE MATERIALIZED VIEW _opsdeck_cagg_email_stats_mx_count_1h
  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT time_bucket(INTERVAL '1 hour', time) AS bucket,
    mx_host,
    event_type,
    count(*) AS event_count
  FROM email_events
  GROUP BY 1, 2, 3
  WITH NO DATA;

SELECT add_continuous_aggregate_policy('_opsdeck_cagg_email_stats_mx_count_1h', start_offset => INTERVAL '89 days 23:00:00', end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '5 minutes');

SELECT count(*) FROM (SELECT alter_job(job_id, config => config || jsonb_build_object('buckets_per_batch', 0)) FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_schema = 'public' AND hypertable_name = '_opsdeck_cagg_email_stats_mx_count_1h') s;

SELECT add_retention_policy('_opsdeck_cagg_email_stats_mx_count_1h', drop_after => INTERVAL '90 days');

CREATE VIEW email_stats_mx_count_1h AS
  SELECT bucket, mx_host, event_type, event_count
  FROM _opsdeck_cagg_email_stats_mx_count_1h;

COMMENT ON VIEW email_stats_mx_count_1h IS 'Email events per hour by MX host (counts only) and event type (Opsdeck per-question rollup)';

CREATE MATERIALIZED VIEW _opsdeck_cagg_email_stats_mx_count_1d
  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT time_bucket(INTERVAL '1 day', time) AS bucket,
    mx_host,
    event_type,
    count(*) AS event_count
  FROM email_events
  GROUP BY 1, 2, 3
  WITH NO DATA;

SELECT add_continuous_aggregate_policy('_opsdeck_cagg_email_stats_mx_count_1d', start_offset => INTERVAL '179 days', end_offset => INTERVAL '1 day', schedule_interval => INTERVAL '1 hour');

SELECT count(*) FROM (SELECT alter_job(job_id, config => config || jsonb_build_object('buckets_per_batch', 0)) FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_schema = 'public' AND hypertable_name = '_opsdeck_cagg_email_stats_mx_count_1d') s;

SELECT add_retention_policy('_opsdeck_cagg_email_stats_mx_count_1d', drop_after => INTERVAL '730 days');

CREATE VIEW email_stats_mx_count_1d AS
  SELECT bucket, mx_host, event_type, event_count
  FROM _opsdeck_cagg_email_stats_mx_count_1d;

COMMENT ON VIEW email_stats_mx_count_1d IS 'Email events per day by MX host (counts only) and event type (Opsdeck per-question rollup)';
