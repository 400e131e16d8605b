-- Generated from the metrics_rspamd family declaration (timescale tier) by scripts/gen-migration.ts.
-- Applied migrations are immutable: change the declaration and add a new migration instead.

CREATE TABLE metrics_rspamd (
  time timestamptz NOT NULL,
  node_id text NOT NULL,
  scanned bigint,
  ham bigint,
  spam bigint,
  action_reject bigint,
  action_soft_reject bigint,
  action_rewrite_subject bigint,
  action_add_header bigint,
  action_greylist bigint,
  action_no_action bigint,
  learned bigint,
  connections bigint,
  scan_time_avg_ms double precision,
  scan_time_max_ms double precision,
  PRIMARY KEY (node_id, time)
);

SELECT create_hypertable('metrics_rspamd', by_range('time', INTERVAL '1 hour'), create_default_indexes => false);

CREATE INDEX metrics_rspamd_time_idx ON metrics_rspamd (time DESC);

COMMENT ON TABLE metrics_rspamd IS 'Rspamd metrics: Messages scanned, ham/spam verdicts, actions, learning, connections and scan time of every Rspamd instance, sampled every 15 s.';

COMMENT ON COLUMN metrics_rspamd.node_id IS 'identity: Node running Rspamd (nodes.id)';

COMMENT ON COLUMN metrics_rspamd.scanned IS '[messages; sum] Messages scanned. Per-interval count: the agent sends the increase of the /stat total since its previous sample (after a restart or stat_reset, the new total itself), so rollups sum it.';

COMMENT ON COLUMN metrics_rspamd.ham IS '[messages; sum] Messages classified as ham. Per-interval count: the agent sends the increase of the /stat total since its previous sample (after a restart or stat_reset, the new total itself), so rollups sum it.';

COMMENT ON COLUMN metrics_rspamd.spam IS '[messages; sum] Messages classified as spam. Per-interval count: the agent sends the increase of the /stat total since its previous sample (after a restart or stat_reset, the new total itself), so rollups sum it.';

COMMENT ON COLUMN metrics_rspamd.action_reject IS '[messages; sum] Messages given the "reject" action. Per-interval count: the agent sends the increase of the /stat total since its previous sample (after a restart or stat_reset, the new total itself), so rollups sum it.';

COMMENT ON COLUMN metrics_rspamd.action_soft_reject IS '[messages; sum] Messages given the "soft reject" action (temporary refusal, e.g. rate limits). Per-interval count: the agent sends the increase of the /stat total since its previous sample (after a restart or stat_reset, the new total itself), so rollups sum it.';

COMMENT ON COLUMN metrics_rspamd.action_rewrite_subject IS '[messages; sum] Messages given the "rewrite subject" action. Per-interval count: the agent sends the increase of the /stat total since its previous sample (after a restart or stat_reset, the new total itself), so rollups sum it.';

COMMENT ON COLUMN metrics_rspamd.action_add_header IS '[messages; sum] Messages given the "add header" action (delivered marked as spam). Per-interval count: the agent sends the increase of the /stat total since its previous sample (after a restart or stat_reset, the new total itself), so rollups sum it.';

COMMENT ON COLUMN metrics_rspamd.action_greylist IS '[messages; sum] Messages given the "greylist" action. Per-interval count: the agent sends the increase of the /stat total since its previous sample (after a restart or stat_reset, the new total itself), so rollups sum it.';

COMMENT ON COLUMN metrics_rspamd.action_no_action IS '[messages; sum] Messages given "no action" (accepted as is). Per-interval count: the agent sends the increase of the /stat total since its previous sample (after a restart or stat_reset, the new total itself), so rollups sum it.';

COMMENT ON COLUMN metrics_rspamd.learned IS '[messages; sum] Messages learned by the Bayes classifier (learn_spam / learn_ham, autolearn). Per-interval count: the agent sends the increase of the /stat total since its previous sample (after a restart or stat_reset, the new total itself), so rollups sum it.';

COMMENT ON COLUMN metrics_rspamd.connections IS '[connections; sum] Connections accepted by the scanner workers. Per-interval count: the agent sends the increase of the /stat total since its previous sample (after a restart or stat_reset, the new total itself), so rollups sum it.';

COMMENT ON COLUMN metrics_rspamd.scan_time_avg_ms IS '[milliseconds; avg] Mean time to scan one message over the recent scans the controller keeps';

COMMENT ON COLUMN metrics_rspamd.scan_time_max_ms IS '[milliseconds; max] Slowest of the recent scans the controller keeps; rolls up with MAX';

ALTER TABLE metrics_rspamd SET (timescaledb.compress, timescaledb.compress_segmentby = 'node_id', timescaledb.compress_orderby = 'time DESC');

SELECT add_compression_policy('metrics_rspamd', compress_after => INTERVAL '7 days');

SELECT add_retention_policy('metrics_rspamd', drop_after => INTERVAL '90 days');

CREATE MATERIALIZED VIEW rspamd_stats_5m
  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT time_bucket(INTERVAL '5 minutes', time) AS bucket,
    node_id,
    sum(scanned::double precision) AS scanned_sum,
    sum(ham::double precision) AS ham_sum,
    sum(spam::double precision) AS spam_sum,
    sum(action_reject::double precision) AS action_reject_sum,
    sum(action_soft_reject::double precision) AS action_soft_reject_sum,
    sum(action_rewrite_subject::double precision) AS action_rewrite_subject_sum,
    sum(action_add_header::double precision) AS action_add_header_sum,
    sum(action_greylist::double precision) AS action_greylist_sum,
    sum(action_no_action::double precision) AS action_no_action_sum,
    sum(learned::double precision) AS learned_sum,
    sum(connections::double precision) AS connections_sum,
    sum(scan_time_avg_ms::double precision) AS scan_time_avg_ms_sum,
    count(scan_time_avg_ms) AS scan_time_avg_ms_count,
    max(scan_time_max_ms) AS scan_time_max_ms_max,
    count(*) AS samples
  FROM metrics_rspamd
  GROUP BY 1, 2
  WITH NO DATA;

SELECT add_continuous_aggregate_policy('rspamd_stats_5m', start_offset => INTERVAL '3 days', end_offset => INTERVAL '5 minutes', schedule_interval => INTERVAL '1 minute');

SELECT add_retention_policy('rspamd_stats_5m', drop_after => INTERVAL '90 days');

CREATE MATERIALIZED VIEW rspamd_stats_1h
  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT time_bucket(INTERVAL '1 hour', bucket) AS bucket,
    node_id,
    sum(scanned_sum) AS scanned_sum,
    sum(ham_sum) AS ham_sum,
    sum(spam_sum) AS spam_sum,
    sum(action_reject_sum) AS action_reject_sum,
    sum(action_soft_reject_sum) AS action_soft_reject_sum,
    sum(action_rewrite_subject_sum) AS action_rewrite_subject_sum,
    sum(action_add_header_sum) AS action_add_header_sum,
    sum(action_greylist_sum) AS action_greylist_sum,
    sum(action_no_action_sum) AS action_no_action_sum,
    sum(learned_sum) AS learned_sum,
    sum(connections_sum) AS connections_sum,
    sum(scan_time_avg_ms_sum) AS scan_time_avg_ms_sum,
    sum(scan_time_avg_ms_count)::bigint AS scan_time_avg_ms_count,
    max(scan_time_max_ms_max) AS scan_time_max_ms_max,
    sum(samples)::bigint AS samples
  FROM rspamd_stats_5m
  GROUP BY 1, 2
  WITH NO DATA;

SELECT add_continuous_aggregate_policy('rspamd_stats_1h', start_offset => INTERVAL '3 days', end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '15 minutes');

SELECT add_retention_policy('rspamd_stats_1h', drop_after => INTERVAL '365 days');

CREATE MATERIALIZED VIEW rspamd_stats_daily
  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT time_bucket(INTERVAL '1 day', bucket) AS bucket,
    node_id,
    sum(scanned_sum) AS scanned_sum,
    sum(ham_sum) AS ham_sum,
    sum(spam_sum) AS spam_sum,
    sum(action_reject_sum) AS action_reject_sum,
    sum(action_soft_reject_sum) AS action_soft_reject_sum,
    sum(action_rewrite_subject_sum) AS action_rewrite_subject_sum,
    sum(action_add_header_sum) AS action_add_header_sum,
    sum(action_greylist_sum) AS action_greylist_sum,
    sum(action_no_action_sum) AS action_no_action_sum,
    sum(learned_sum) AS learned_sum,
    sum(connections_sum) AS connections_sum,
    sum(scan_time_avg_ms_sum) AS scan_time_avg_ms_sum,
    sum(scan_time_avg_ms_count)::bigint AS scan_time_avg_ms_count,
    max(scan_time_max_ms_max) AS scan_time_max_ms_max,
    sum(samples)::bigint AS samples
  FROM rspamd_stats_1h
  GROUP BY 1, 2
  WITH NO DATA;

SELECT add_continuous_aggregate_policy('rspamd_stats_daily', start_offset => INTERVAL '6 days', end_offset => INTERVAL '1 day', schedule_interval => INTERVAL '1 hour');

SELECT add_retention_policy('rspamd_stats_daily', drop_after => INTERVAL '730 days');
