-- Generated from the mongodb_events stream declaration (postgres tier) by scripts/gen-migration.ts.
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
) PARTITION BY RANGE (time);

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

INSERT INTO opsdeck_partitioned_tables (table_name, partition_interval, retention) VALUES ('mongodb_events', INTERVAL '7 days', INTERVAL '365 days');

SELECT opsdeck_ensure_partitions('mongodb_events', now() - INTERVAL '7 days', now() + INTERVAL '3 days');

CREATE TABLE _opsdeck_mat_mongodb_events_daily (
  bucket timestamptz NOT NULL,
  node_id text,
  event_type text,
  event_count bigint
);

CREATE INDEX _opsdeck_mat_mongodb_events_daily_bucket_idx ON _opsdeck_mat_mongodb_events_daily (bucket DESC);

CREATE VIEW mongodb_events_daily AS
  SELECT bucket, node_id, event_type, event_count
  FROM (
    SELECT m.bucket, m.node_id, m.event_type, m.event_count
    FROM _opsdeck_mat_mongodb_events_daily m
    WHERE NOT EXISTS (SELECT 1 FROM opsdeck_rollup_invalidations i WHERE i.family = 'mongodb_events_daily' AND i.bucket >= m.bucket AND i.bucket < m.bucket + INTERVAL '1 day')
    UNION ALL
    SELECT date_bin(INTERVAL '1 day', s.time, timestamptz '2000-01-03 00:00:00+00') AS bucket,
      s.node_id,
      s.event_type,
      count(*) AS event_count
    FROM mongodb_events s
    WHERE s.time >= (SELECT min(date_bin(INTERVAL '1 day', i.bucket, timestamptz '2000-01-03 00:00:00+00')) FROM opsdeck_rollup_invalidations i WHERE i.family = 'mongodb_events_daily')
      AND date_bin(INTERVAL '1 day', s.time, timestamptz '2000-01-03 00:00:00+00') IN (SELECT date_bin(INTERVAL '1 day', i.bucket, timestamptz '2000-01-03 00:00:00+00') FROM opsdeck_rollup_invalidations i WHERE i.family = 'mongodb_events_daily')
    GROUP BY 1, 2, 3
  ) u;

COMMENT ON VIEW mongodb_events_daily IS 'Replication events per day by member and type';

INSERT INTO opsdeck_rollup_tables (family, level, relation, storage_table, retention) VALUES ('mongodb_events_daily', '1d', 'mongodb_events_daily', '_opsdeck_mat_mongodb_events_daily', INTERVAL '730 days');
