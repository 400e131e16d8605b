-- Generated from the metrics_rspamd family declaration (postgres tier) by scripts/gen-migration.ts.
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
) PARTITION BY RANGE (time);

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

INSERT INTO opsdeck_partitioned_tables (table_name, partition_interval, retention) VALUES ('metrics_rspamd', INTERVAL '1 day', INTERVAL '90 days');

SELECT opsdeck_ensure_partitions('metrics_rspamd', now() - INTERVAL '1 day', now() + INTERVAL '3 days');

CREATE TABLE _opsdeck_mat_rspamd_stats_5m (
  bucket timestamptz NOT NULL,
  node_id text NOT NULL,
  scanned_sum double precision,
  ham_sum double precision,
  spam_sum double precision,
  action_reject_sum double precision,
  action_soft_reject_sum double precision,
  action_rewrite_subject_sum double precision,
  action_add_header_sum double precision,
  action_greylist_sum double precision,
  action_no_action_sum double precision,
  learned_sum double precision,
  connections_sum double precision,
  scan_time_avg_ms_sum double precision,
  scan_time_avg_ms_count bigint,
  scan_time_max_ms_max double precision,
  samples bigint NOT NULL,
  PRIMARY KEY (node_id, bucket)
);

CREATE INDEX _opsdeck_mat_rspamd_stats_5m_bucket_idx ON _opsdeck_mat_rspamd_stats_5m (bucket DESC);

CREATE VIEW rspamd_stats_5m AS
  SELECT m.bucket, m.node_id, m.scanned_sum, m.ham_sum, m.spam_sum, m.action_reject_sum, m.action_soft_reject_sum, m.action_rewrite_subject_sum, m.action_add_header_sum, m.action_greylist_sum, m.action_no_action_sum, m.learned_sum, m.connections_sum, m.scan_time_avg_ms_sum, m.scan_time_avg_ms_count, m.scan_time_max_ms_max, m.samples
  FROM _opsdeck_mat_rspamd_stats_5m m
  WHERE NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'metrics_rspamd' AND i.bucket >= m.bucket AND i.bucket < m.bucket + INTERVAL '5 minutes')
  UNION ALL
  SELECT date_bin(INTERVAL '5 minutes', s.time, timestamptz '2000-01-03 00:00:00+00') AS bucket,
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
  FROM metrics_rspamd s
  WHERE s.time >= (SELECT min(date_bin(INTERVAL '5 minutes', i.bucket, timestamptz '2000-01-03 00:00:00+00')) FROM opsdeck_rollup_invalidations i WHERE i.family = 'metrics_rspamd')
    AND date_bin(INTERVAL '5 minutes', s.time, timestamptz '2000-01-03 00:00:00+00') IN (SELECT date_bin(INTERVAL '5 minutes', i.bucket, timestamptz '2000-01-03 00:00:00+00') FROM opsdeck_rollup_invalidations i WHERE i.family = 'metrics_rspamd')
  GROUP BY 1, 2;

INSERT INTO opsdeck_rollup_tables (family, level, relation, storage_table, retention) VALUES ('metrics_rspamd', '5m', 'rspamd_stats_5m', '_opsdeck_mat_rspamd_stats_5m', INTERVAL '90 days');

CREATE TABLE _opsdeck_mat_rspamd_stats_1h (
  bucket timestamptz NOT NULL,
  node_id text NOT NULL,
  scanned_sum double precision,
  ham_sum double precision,
  spam_sum double precision,
  action_reject_sum double precision,
  action_soft_reject_sum double precision,
  action_rewrite_subject_sum double precision,
  action_add_header_sum double precision,
  action_greylist_sum double precision,
  action_no_action_sum double precision,
  learned_sum double precision,
  connections_sum double precision,
  scan_time_avg_ms_sum double precision,
  scan_time_avg_ms_count bigint,
  scan_time_max_ms_max double precision,
  samples bigint NOT NULL,
  PRIMARY KEY (node_id, bucket)
);

CREATE INDEX _opsdeck_mat_rspamd_stats_1h_bucket_idx ON _opsdeck_mat_rspamd_stats_1h (bucket DESC);

CREATE VIEW rspamd_stats_1h AS
  SELECT m.bucket, m.node_id, m.scanned_sum, m.ham_sum, m.spam_sum, m.action_reject_sum, m.action_soft_reject_sum, m.action_rewrite_subject_sum, m.action_add_header_sum, m.action_greylist_sum, m.action_no_action_sum, m.learned_sum, m.connections_sum, m.scan_time_avg_ms_sum, m.scan_time_avg_ms_count, m.scan_time_max_ms_max, m.samples
  FROM _opsdeck_mat_rspamd_stats_1h m
  WHERE NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'metrics_rspamd' AND i.bucket >= m.bucket AND i.bucket < m.bucket + INTERVAL '1 hour')
  UNION ALL
  SELECT date_bin(INTERVAL '1 hour', s.bucket, timestamptz '2000-01-03 00:00:00+00') AS bucket,
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
  FROM rspamd_stats_5m s
  WHERE s.bucket >= (SELECT min(date_bin(INTERVAL '1 hour', i.bucket, timestamptz '2000-01-03 00:00:00+00')) FROM opsdeck_rollup_invalidations i WHERE i.family = 'metrics_rspamd')
    AND date_bin(INTERVAL '1 hour', s.bucket, timestamptz '2000-01-03 00:00:00+00') IN (SELECT date_bin(INTERVAL '1 hour', i.bucket, timestamptz '2000-01-03 00:00:00+00') FROM opsdeck_rollup_invalidations i WHERE i.family = 'metrics_rspamd')
  GROUP BY 1, 2;

INSERT INTO opsdeck_rollup_tables (family, level, relation, storage_table, retention) VALUES ('metrics_rspamd', '1h', 'rspamd_stats_1h', '_opsdeck_mat_rspamd_stats_1h', INTERVAL '365 days');

CREATE TABLE _opsdeck_mat_rspamd_stats_daily (
  bucket timestamptz NOT NULL,
  node_id text NOT NULL,
  scanned_sum double precision,
  ham_sum double precision,
  spam_sum double precision,
  action_reject_sum double precision,
  action_soft_reject_sum double precision,
  action_rewrite_subject_sum double precision,
  action_add_header_sum double precision,
  action_greylist_sum double precision,
  action_no_action_sum double precision,
  learned_sum double precision,
  connections_sum double precision,
  scan_time_avg_ms_sum double precision,
  scan_time_avg_ms_count bigint,
  scan_time_max_ms_max double precision,
  samples bigint NOT NULL,
  PRIMARY KEY (node_id, bucket)
);

CREATE INDEX _opsdeck_mat_rspamd_stats_daily_bucket_idx ON _opsdeck_mat_rspamd_stats_daily (bucket DESC);

CREATE VIEW rspamd_stats_daily AS
  SELECT m.bucket, m.node_id, m.scanned_sum, m.ham_sum, m.spam_sum, m.action_reject_sum, m.action_soft_reject_sum, m.action_rewrite_subject_sum, m.action_add_header_sum, m.action_greylist_sum, m.action_no_action_sum, m.learned_sum, m.connections_sum, m.scan_time_avg_ms_sum, m.scan_time_avg_ms_count, m.scan_time_max_ms_max, m.samples
  FROM _opsdeck_mat_rspamd_stats_daily m
  WHERE NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'metrics_rspamd' AND i.bucket >= m.bucket AND i.bucket < m.bucket + INTERVAL '1 day')
  UNION ALL
  SELECT date_bin(INTERVAL '1 day', s.bucket, timestamptz '2000-01-03 00:00:00+00') AS bucket,
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
  FROM rspamd_stats_1h s
  WHERE s.bucket >= (SELECT min(date_bin(INTERVAL '1 day', i.bucket, timestamptz '2000-01-03 00:00:00+00')) FROM opsdeck_rollup_invalidations i WHERE i.family = 'metrics_rspamd')
    AND date_bin(INTERVAL '1 day', s.bucket, timestamptz '2000-01-03 00:00:00+00') IN (SELECT date_bin(INTERVAL '1 day', i.bucket, timestamptz '2000-01-03 00:00:00+00') FROM opsdeck_rollup_invalidations i WHERE i.family = 'metrics_rspamd')
  GROUP BY 1, 2;

INSERT INTO opsdeck_rollup_tables (family, level, relation, storage_table, retention) VALUES ('metrics_rspamd', '1d', 'rspamd_stats_daily', '_opsdeck_mat_rspamd_stats_daily', INTERVAL '730 days');
