-- Generated from the metrics_zonemta family declaration (timescale tier) by scripts/gen-migration.ts.
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
);

SELECT create_hypertable('metrics_zonemta', by_range('time', INTERVAL '1 hour'), create_default_indexes => false);

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

ALTER TABLE metrics_zonemta SET (timescaledb.compress, timescaledb.compress_segmentby = 'node_id, zone', timescaledb.compress_orderby = 'time DESC');

SELECT add_compression_policy('metrics_zonemta', compress_after => INTERVAL '7 days');

SELECT add_retention_policy('metrics_zonemta', drop_after => INTERVAL '90 days');

CREATE MATERIALIZED VIEW zonemta_stats_5m
  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT time_bucket(INTERVAL '5 minutes', time) AS bucket,
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
  FROM metrics_zonemta
  GROUP BY 1, 2, 3
  WITH NO DATA;

SELECT add_continuous_aggregate_policy('zonemta_stats_5m', start_offset => INTERVAL '3 days', end_offset => INTERVAL '5 minutes', schedule_interval => INTERVAL '1 minute');

SELECT add_retention_policy('zonemta_stats_5m', drop_after => INTERVAL '90 days');

CREATE MATERIALIZED VIEW zonemta_stats_1h
  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT time_bucket(INTERVAL '1 hour', bucket) AS bucket,
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
  FROM zonemta_stats_5m
  GROUP BY 1, 2, 3
  WITH NO DATA;

SELECT add_continuous_aggregate_policy('zonemta_stats_1h', start_offset => INTERVAL '3 days', end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '15 minutes');

SELECT add_retention_policy('zonemta_stats_1h', drop_after => INTERVAL '365 days');

CREATE MATERIALIZED VIEW zonemta_stats_daily
  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT time_bucket(INTERVAL '1 day', bucket) AS bucket,
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
  FROM zonemta_stats_1h
  GROUP BY 1, 2, 3
  WITH NO DATA;

SELECT add_continuous_aggregate_policy('zonemta_stats_daily', start_offset => INTERVAL '6 days', end_offset => INTERVAL '1 day', schedule_interval => INTERVAL '1 hour');

SELECT add_retention_policy('zonemta_stats_daily', drop_after => INTERVAL '730 days');
