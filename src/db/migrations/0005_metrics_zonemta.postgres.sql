-- Generated from the metrics_zonemta family declaration (postgres tier) by scripts/gen-migration.ts.
-- Applied migrations are immutable: change the declaration and add a new migration instead.

CREATE TABLE metrics_zonemta (
  time timestamptz NOT NULL,
  node_id text NOT NULL,
  zone text NOT NULL,
  queue_queued integer,
  queue_deferred integer,
  queue_sending integer,
  delivered bigint,
  bounced bigint,
  deferred bigint,
  rejected bigint,
  PRIMARY KEY (node_id, zone, time)
) PARTITION BY RANGE (time);

CREATE INDEX metrics_zonemta_time_idx ON metrics_zonemta (time DESC);

COMMENT ON TABLE metrics_zonemta IS 'ZoneMTA metrics: Queue size by state and delivery outcomes of every ZoneMTA instance, per sending zone, sampled every 15 s.';

COMMENT ON COLUMN metrics_zonemta.node_id IS 'identity: Node running the ZoneMTA instance (nodes.id)';

COMMENT ON COLUMN metrics_zonemta.zone IS 'identity: Sending zone (the ZoneMTA "zones" configuration key, e.g. default, bulk)';

COMMENT ON COLUMN metrics_zonemta.queue_queued IS '[deliveries; max] Deliveries waiting for their first attempt (or due now); rolls up with MAX';

COMMENT ON COLUMN metrics_zonemta.queue_deferred IS '[deliveries; max] Deliveries that failed temporarily and wait for a later retry; rolls up with MAX';

COMMENT ON COLUMN metrics_zonemta.queue_sending IS '[deliveries; max] Deliveries locked by a sender process and being attempted right now; rolls up with MAX';

COMMENT ON COLUMN metrics_zonemta.delivered IS '[deliveries; sum] Deliveries accepted by the remote MX (2xx). Per-interval count (the agent counts the events of the zone since its previous sample), so rollups sum it.';

COMMENT ON COLUMN metrics_zonemta.bounced IS '[deliveries; sum] Deliveries that failed for good and produced a bounce: a hard rejection or a deferral that ran out of retries. Per-interval count (the agent counts the events of the zone since its previous sample), so rollups sum it.';

COMMENT ON COLUMN metrics_zonemta.deferred IS '[deliveries; sum] Delivery attempts that failed temporarily (4xx, connection or DNS error) and were rescheduled. Per-interval count (the agent counts the events of the zone since its previous sample), so rollups sum it.';

COMMENT ON COLUMN metrics_zonemta.rejected IS '[deliveries; sum] Delivery attempts the remote MX refused permanently (5xx); each also counts as bounced. Per-interval count (the agent counts the events of the zone since its previous sample), so rollups sum it.';

INSERT INTO opsdeck_partitioned_tables (table_name, partition_interval, retention) VALUES ('metrics_zonemta', INTERVAL '1 day', INTERVAL '90 days');

SELECT opsdeck_ensure_partitions('metrics_zonemta', now() - INTERVAL '1 day', now() + INTERVAL '3 days');

CREATE TABLE _opsdeck_mat_zonemta_stats_5m (
  bucket timestamptz NOT NULL,
  node_id text NOT NULL,
  zone text NOT NULL,
  queue_queued_max integer,
  queue_deferred_max integer,
  queue_sending_max integer,
  delivered_sum double precision,
  bounced_sum double precision,
  deferred_sum double precision,
  rejected_sum double precision,
  samples bigint NOT NULL,
  PRIMARY KEY (node_id, zone, bucket)
);

CREATE INDEX _opsdeck_mat_zonemta_stats_5m_bucket_idx ON _opsdeck_mat_zonemta_stats_5m (bucket DESC);

CREATE VIEW zonemta_stats_5m AS
  SELECT m.bucket, m.node_id, m.zone, m.queue_queued_max, m.queue_deferred_max, m.queue_sending_max, m.delivered_sum, m.bounced_sum, m.deferred_sum, m.rejected_sum, m.samples
  FROM _opsdeck_mat_zonemta_stats_5m m
  WHERE NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'metrics_zonemta' AND i.bucket >= m.bucket AND i.bucket < m.bucket + INTERVAL '5 minutes')
  UNION ALL
  SELECT date_bin(INTERVAL '5 minutes', s.time, timestamptz '2000-01-03 00:00:00+00') AS bucket,
    node_id,
    zone,
    max(queue_queued) AS queue_queued_max,
    max(queue_deferred) AS queue_deferred_max,
    max(queue_sending) AS queue_sending_max,
    sum(delivered::double precision) AS delivered_sum,
    sum(bounced::double precision) AS bounced_sum,
    sum(deferred::double precision) AS deferred_sum,
    sum(rejected::double precision) AS rejected_sum,
    count(*) AS samples
  FROM metrics_zonemta s
  WHERE s.time >= (SELECT min(date_bin(INTERVAL '5 minutes', i.bucket, timestamptz '2000-01-03 00:00:00+00')) FROM opsdeck_rollup_invalidations i WHERE i.family = 'metrics_zonemta')
    AND date_bin(INTERVAL '5 minutes', s.time, timestamptz '2000-01-03 00:00:00+00') IN (SELECT date_bin(INTERVAL '5 minutes', i.bucket, timestamptz '2000-01-03 00:00:00+00') FROM opsdeck_rollup_invalidations i WHERE i.family = 'metrics_zonemta')
  GROUP BY 1, 2, 3;

INSERT INTO opsdeck_rollup_tables (family, level, relation, storage_table, retention) VALUES ('metrics_zonemta', '5m', 'zonemta_stats_5m', '_opsdeck_mat_zonemta_stats_5m', INTERVAL '90 days');

CREATE TABLE _opsdeck_mat_zonemta_stats_1h (
  bucket timestamptz NOT NULL,
  node_id text NOT NULL,
  zone text NOT NULL,
  queue_queued_max integer,
  queue_deferred_max integer,
  queue_sending_max integer,
  delivered_sum double precision,
  bounced_sum double precision,
  deferred_sum double precision,
  rejected_sum double precision,
  samples bigint NOT NULL,
  PRIMARY KEY (node_id, zone, bucket)
);

CREATE INDEX _opsdeck_mat_zonemta_stats_1h_bucket_idx ON _opsdeck_mat_zonemta_stats_1h (bucket DESC);

CREATE VIEW zonemta_stats_1h AS
  SELECT m.bucket, m.node_id, m.zone, m.queue_queued_max, m.queue_deferred_max, m.queue_sending_max, m.delivered_sum, m.bounced_sum, m.deferred_sum, m.rejected_sum, m.samples
  FROM _opsdeck_mat_zonemta_stats_1h m
  WHERE NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'metrics_zonemta' AND i.bucket >= m.bucket AND i.bucket < m.bucket + INTERVAL '1 hour')
  UNION ALL
  SELECT date_bin(INTERVAL '1 hour', s.bucket, timestamptz '2000-01-03 00:00:00+00') AS bucket,
    node_id,
    zone,
    max(queue_queued_max) AS queue_queued_max,
    max(queue_deferred_max) AS queue_deferred_max,
    max(queue_sending_max) AS queue_sending_max,
    sum(delivered_sum) AS delivered_sum,
    sum(bounced_sum) AS bounced_sum,
    sum(deferred_sum) AS deferred_sum,
    sum(rejected_sum) AS rejected_sum,
    sum(samples)::bigint AS samples
  FROM zonemta_stats_5m s
  WHERE s.bucket >= (SELECT min(date_bin(INTERVAL '1 hour', i.bucket, timestamptz '2000-01-03 00:00:00+00')) FROM opsdeck_rollup_invalidations i WHERE i.family = 'metrics_zonemta')
    AND date_bin(INTERVAL '1 hour', s.bucket, timestamptz '2000-01-03 00:00:00+00') IN (SELECT date_bin(INTERVAL '1 hour', i.bucket, timestamptz '2000-01-03 00:00:00+00') FROM opsdeck_rollup_invalidations i WHERE i.family = 'metrics_zonemta')
  GROUP BY 1, 2, 3;

INSERT INTO opsdeck_rollup_tables (family, level, relation, storage_table, retention) VALUES ('metrics_zonemta', '1h', 'zonemta_stats_1h', '_opsdeck_mat_zonemta_stats_1h', INTERVAL '365 days');

CREATE TABLE _opsdeck_mat_zonemta_stats_daily (
  bucket timestamptz NOT NULL,
  node_id text NOT NULL,
  zone text NOT NULL,
  queue_queued_max integer,
  queue_deferred_max integer,
  queue_sending_max integer,
  delivered_sum double precision,
  bounced_sum double precision,
  deferred_sum double precision,
  rejected_sum double precision,
  samples bigint NOT NULL,
  PRIMARY KEY (node_id, zone, bucket)
);

CREATE INDEX _opsdeck_mat_zonemta_stats_daily_bucket_idx ON _opsdeck_mat_zonemta_stats_daily (bucket DESC);

CREATE VIEW zonemta_stats_daily AS
  SELECT m.bucket, m.node_id, m.zone, m.queue_queued_max, m.queue_deferred_max, m.queue_sending_max, m.delivered_sum, m.bounced_sum, m.deferred_sum, m.rejected_sum, m.samples
  FROM _opsdeck_mat_zonemta_stats_daily m
  WHERE NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'metrics_zonemta' AND i.bucket >= m.bucket AND i.bucket < m.bucket + INTERVAL '1 day')
  UNION ALL
  SELECT date_bin(INTERVAL '1 day', s.bucket, timestamptz '2000-01-03 00:00:00+00') AS bucket,
    node_id,
    zone,
    max(queue_queued_max) AS queue_queued_max,
    max(queue_deferred_max) AS queue_deferred_max,
    max(queue_sending_max) AS queue_sending_max,
    sum(delivered_sum) AS delivered_sum,
    sum(bounced_sum) AS bounced_sum,
    sum(deferred_sum) AS deferred_sum,
    sum(rejected_sum) AS rejected_sum,
    sum(samples)::bigint AS samples
  FROM zonemta_stats_1h s
  WHERE s.bucket >= (SELECT min(date_bin(INTERVAL '1 day', i.bucket, timestamptz '2000-01-03 00:00:00+00')) FROM opsdeck_rollup_invalidations i WHERE i.family = 'metrics_zonemta')
    AND date_bin(INTERVAL '1 day', s.bucket, timestamptz '2000-01-03 00:00:00+00') IN (SELECT date_bin(INTERVAL '1 day', i.bucket, timestamptz '2000-01-03 00:00:00+00') FROM opsdeck_rollup_invalidations i WHERE i.family = 'metrics_zonemta')
  GROUP BY 1, 2, 3;

INSERT INTO opsdeck_rollup_tables (family, level, relation, storage_table, retention) VALUES ('metrics_zonemta', '1d', 'zonemta_stats_daily', '_opsdeck_mat_zonemta_stats_daily', INTERVAL '730 days');
