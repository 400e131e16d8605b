-- Generated from the mongodb_events stream declaration (timescale tier) by scripts/gen-migration.ts.
-- Applied migrations are immutable: change the declaration and add a new migration instead.

CREATE TABLE mongodb_events (
  time timestamptz NOT NULL,
  event_id uuid NOT NULL,
  node_id text NOT NULL,
  event_type text NOT NULL,
  old_role text,
  new_role text,
  details jsonb,
  CONSTRAINT mongodb_events_event_type_check CHECK (event_type IN ('election', 'step_down', 'step_up', 'member_unreachable', 'member_recovered')),
  CONSTRAINT mongodb_events_old_role_check CHECK (old_role IN ('STARTUP', 'PRIMARY', 'SECONDARY', 'RECOVERING', 'STARTUP2', 'UNKNOWN', 'ARBITER', 'DOWN', 'ROLLBACK', 'REMOVED')),
  CONSTRAINT mongodb_events_new_role_check CHECK (new_role IN ('STARTUP', 'PRIMARY', 'SECONDARY', 'RECOVERING', 'STARTUP2', 'UNKNOWN', 'ARBITER', 'DOWN', 'ROLLBACK', 'REMOVED')),
  PRIMARY KEY (event_id, time)
);

SELECT create_hypertable('mongodb_events', by_range('time', INTERVAL '7 days'), create_default_indexes => false);

CREATE INDEX mongodb_events_time_idx ON mongodb_events (time DESC);

CREATE INDEX mongodb_events_node_id_idx ON mongodb_events (node_id, time DESC);

CREATE INDEX mongodb_events_event_type_idx ON mongodb_events (event_type, time DESC);

COMMENT ON TABLE mongodb_events IS 'MongoDB replication events: Replica-set role transitions of MongoDB members (election, step-down, step-up, member unreachable or recovered), one row per member and transition.';

COMMENT ON COLUMN mongodb_events.event_id IS 'Event id; derived from the event when the sender gives none (the same event sent twice is stored once)';

COMMENT ON COLUMN mongodb_events.node_id IS 'The member the transition is about (its node id)';

COMMENT ON COLUMN mongodb_events.event_type IS 'election (several members became PRIMARY in one cycle), step_down, step_up, member_unreachable, member_recovered';

COMMENT ON COLUMN mongodb_events.old_role IS 'Member state before the transition';

COMMENT ON COLUMN mongodb_events.new_role IS 'Member state after the transition (none when the member disappeared from the status)';

COMMENT ON COLUMN mongodb_events.details IS 'Extra details of the transition as the sender gives them';

ALTER TABLE mongodb_events SET (timescaledb.compress, timescaledb.compress_segmentby = 'node_id', timescaledb.compress_orderby = 'time DESC');

SELECT add_compression_policy('mongodb_events', compress_after => INTERVAL '30 days');

SELECT add_retention_policy('mongodb_events', drop_after => INTERVAL '365 days');

CREATE MATERIALIZED VIEW _opsdeck_cagg_mongodb_events_daily
  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT time_bucket(INTERVAL '1 day', time) AS bucket,
    node_id,
    event_type,
    count(*) AS event_count
  FROM mongodb_events
  GROUP BY 1, 2, 3
  WITH NO DATA;

SELECT add_continuous_aggregate_policy('_opsdeck_cagg_mongodb_events_daily', start_offset => INTERVAL '364 days', end_offset => INTERVAL '1 day', schedule_interval => INTERVAL '1 hour');

SELECT count(*) FROM (SELECT alter_job(job_id, config => config || jsonb_build_object('buckets_per_batch', 0)) FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_schema = 'public' AND hypertable_name = '_opsdeck_cagg_mongodb_events_daily') s;

SELECT add_retention_policy('_opsdeck_cagg_mongodb_events_daily', drop_after => INTERVAL '730 days');

CREATE VIEW mongodb_events_daily AS
  SELECT bucket, node_id, event_type, event_count
  FROM _opsdeck_cagg_mongodb_events_daily;

COMMENT ON VIEW mongodb_events_daily IS 'Replication events per day by member and type';
