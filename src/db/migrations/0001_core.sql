-- Opsdeck core: settings, node inventory, job history, and the bookkeeping
-- tables of the postgres storage tier (partitions, rollups, invalidations).

CREATE TABLE opsdeck_settings (
  key text PRIMARY KEY,
  value text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- One row per monitored machine: absorbs nodes (mail cluster), devices (home lab)
-- and hosts (Mission Control).
CREATE TABLE nodes (
  id text PRIMARY KEY,
  hostname text,
  role text,
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'maintenance', 'retired')),
  addresses jsonb NOT NULL DEFAULT '{}'::jsonb,
  labels jsonb NOT NULL DEFAULT '{}'::jsonb,
  metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
  expected_interval_seconds integer,
  registered_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  last_seen timestamptz
);
CREATE INDEX nodes_role_idx ON nodes (role);
CREATE INDEX nodes_last_seen_idx ON nodes (last_seen DESC);

-- Run history of Opsdeck's own periodic jobs.
CREATE TABLE opsdeck_job_runs (
  id bigserial PRIMARY KEY,
  job text NOT NULL,
  instance text NOT NULL,
  started_at timestamptz NOT NULL,
  finished_at timestamptz,
  duration_ms integer,
  outcome text NOT NULL CHECK (outcome IN ('ok', 'error', 'skipped')),
  error text,
  details jsonb
);
CREATE INDEX opsdeck_job_runs_job_idx ON opsdeck_job_runs (job, started_at DESC);

-- postgres tier: natively partitioned raw tables, kept by the job runner.
CREATE TABLE opsdeck_partitioned_tables (
  table_name text PRIMARY KEY,
  partition_interval interval NOT NULL,
  retention interval NOT NULL,
  premake interval NOT NULL DEFAULT INTERVAL '3 days'
);

-- postgres tier: rollup relations (views) and the tables that store them.
CREATE TABLE opsdeck_rollup_tables (
  family text NOT NULL,
  level text NOT NULL,
  relation text NOT NULL UNIQUE,
  storage_table text NOT NULL UNIQUE,
  retention interval NOT NULL,
  last_refreshed_at timestamptz,
  PRIMARY KEY (family, level)
);

-- postgres tier: 5-minute buckets written since their rollups were last computed.
-- Append-only from ingest; the refresh job deletes exactly the rows it processed.
CREATE TABLE opsdeck_rollup_invalidations (
  id bigserial PRIMARY KEY,
  family text NOT NULL,
  bucket timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX opsdeck_rollup_invalidations_family_idx ON opsdeck_rollup_invalidations (family, bucket);

-- Creates the missing range partitions of `parent` covering [p_from, p_to).
CREATE FUNCTION opsdeck_ensure_partitions(parent text, p_from timestamptz, p_to timestamptz)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  step interval;
  s timestamptz;
  pname text;
  created integer := 0;
BEGIN
  SELECT partition_interval INTO step FROM opsdeck_partitioned_tables WHERE table_name = parent;
  IF step IS NULL THEN
    RAISE EXCEPTION 'table % is not registered in opsdeck_partitioned_tables', parent;
  END IF;
  s := date_bin(step, p_from, timestamptz '2000-01-03 00:00:00+00');
  WHILE s < p_to LOOP
    pname := parent || '_p' || to_char(s AT TIME ZONE 'UTC', 'YYYYMMDD"t"HH24MI');
    IF to_regclass(pname) IS NULL THEN
      BEGIN
        EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)', pname, parent, s, s + step);
        created := created + 1;
      EXCEPTION WHEN duplicate_table THEN
        NULL; -- created concurrently by another process
      END;
    END IF;
    s := s + step;
  END LOOP;
  RETURN created;
END $$;
