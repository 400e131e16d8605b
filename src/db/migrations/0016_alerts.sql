-- Alerting (docs/alerts.md, docs/adr/0013-alert-model-and-evaluation.md):
-- rules with a structured condition (jsonb validated against the family and
-- stream declarations, never SQL text), the events they and the service probes
-- open, every status change of an event, silences, maintenance windows and the
-- names of the default rules already seeded. Declared in src/modules/alerts/schema.ts.
CREATE TABLE alert_rules (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name text NOT NULL CONSTRAINT alert_rules_name_key UNIQUE,
  description text NOT NULL DEFAULT '',
  severity text NOT NULL,
  condition jsonb NOT NULL,
  for_seconds integer NOT NULL DEFAULT 0,
  scope_kind text NOT NULL DEFAULT 'all',
  scope_values text[] NOT NULL DEFAULT '{}',
  no_data_policy text NOT NULL DEFAULT 'nodata',
  channels integer[] NOT NULL DEFAULT '{}',
  escalation jsonb NOT NULL DEFAULT '[]',
  repeat_interval_seconds integer NOT NULL DEFAULT 1800,
  labels jsonb NOT NULL DEFAULT '{}',
  enabled boolean NOT NULL DEFAULT true,
  muted boolean NOT NULL DEFAULT false,
  snoozed_until timestamptz,
  is_default boolean NOT NULL DEFAULT false,
  last_evaluated_at timestamptz,
  last_evaluation jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT alert_rules_name_check CHECK (length(name) BETWEEN 1 AND 200),
  CONSTRAINT alert_rules_severity_check CHECK (severity IN ('info', 'warning', 'critical')),
  CONSTRAINT alert_rules_scope_kind_check CHECK (scope_kind IN ('all', 'role', 'node', 'service')),
  CONSTRAINT alert_rules_no_data_policy_check CHECK (no_data_policy IN ('ok', 'nodata', 'alerting', 'keep_state')),
  CONSTRAINT alert_rules_for_seconds_check CHECK (for_seconds BETWEEN 0 AND 604800),
  CONSTRAINT alert_rules_repeat_interval_seconds_check CHECK (repeat_interval_seconds BETWEEN 60 AND 604800)
);

-- Names of the default rules seeded once: a default an admin deleted is not seeded again.
CREATE TABLE alert_rule_defaults (
  name text PRIMARY KEY,
  seeded_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE alert_events (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  rule_id integer REFERENCES alert_rules (id) ON DELETE SET NULL,
  service_name text,
  fingerprint text NOT NULL,
  alert_type text NOT NULL,
  alert_name text NOT NULL,
  severity text NOT NULL,
  status text NOT NULL,
  message text NOT NULL DEFAULT '',
  details jsonb NOT NULL DEFAULT '{}',
  labels jsonb NOT NULL DEFAULT '{}',
  node_id text,
  value double precision,
  created_at timestamptz NOT NULL,
  fired_at timestamptz,
  acknowledged_at timestamptz,
  acknowledged_by text,
  resolved_at timestamptz,
  notified boolean NOT NULL DEFAULT false,
  last_notified_at timestamptz,
  escalation_level integer NOT NULL DEFAULT 0,
  muted_by jsonb NOT NULL DEFAULT '[]',
  CONSTRAINT alert_events_severity_check CHECK (severity IN ('info', 'warning', 'critical')),
  CONSTRAINT alert_events_status_check CHECK (status IN ('pending', 'firing', 'acknowledged', 'resolved')),
  CONSTRAINT alert_events_source_check CHECK (rule_id IS NOT NULL OR service_name IS NOT NULL OR status = 'resolved'),
  CONSTRAINT alert_events_escalation_level_check CHECK (escalation_level >= 0)
);
-- One open event per alert identity.
CREATE UNIQUE INDEX alert_events_open_fingerprint_idx ON alert_events (fingerprint) WHERE status <> 'resolved';
CREATE INDEX alert_events_created_at_idx ON alert_events (created_at);
CREATE INDEX alert_events_status_idx ON alert_events (status);
CREATE INDEX alert_events_service_idx ON alert_events (service_name, alert_type, created_at);
CREATE INDEX alert_events_rule_idx ON alert_events (rule_id) WHERE status <> 'resolved';
CREATE INDEX alert_events_resolved_at_idx ON alert_events (resolved_at) WHERE status = 'resolved';

-- Row-level security, as the service-health seed asks: with FORCE the owner is
-- subject to the policies too, and the one policy lets the role that ran the
-- migrations (Opsdeck's own) read and write every row. Other roles see nothing.
ALTER TABLE alert_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE alert_events FORCE ROW LEVEL SECURITY;
CREATE POLICY alert_events_opsdeck ON alert_events TO CURRENT_USER USING (true) WITH CHECK (true);

CREATE TABLE alert_event_transitions (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event_id integer NOT NULL REFERENCES alert_events (id) ON DELETE CASCADE,
  from_status text,
  to_status text NOT NULL,
  at timestamptz NOT NULL,
  actor text NOT NULL,
  reason text NOT NULL DEFAULT '',
  CONSTRAINT alert_event_transitions_from_status_check CHECK (from_status IN ('pending', 'firing', 'acknowledged', 'resolved')),
  CONSTRAINT alert_event_transitions_to_status_check CHECK (to_status IN ('pending', 'firing', 'acknowledged', 'resolved'))
);
CREATE INDEX alert_event_transitions_event_idx ON alert_event_transitions (event_id, at);

CREATE TABLE alert_silences (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  matchers jsonb NOT NULL,
  starts_at timestamptz NOT NULL,
  ends_at timestamptz NOT NULL,
  created_by text NOT NULL,
  comment text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT alert_silences_period_check CHECK (ends_at > starts_at)
);

CREATE TABLE alert_maintenance_windows (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name text NOT NULL,
  node_ids text[] NOT NULL DEFAULT '{}',
  services text[] NOT NULL DEFAULT '{}',
  recurrence text NOT NULL DEFAULT 'none',
  starts_at timestamptz NOT NULL,
  ends_at timestamptz,
  start_time text,
  duration_minutes integer,
  weekdays integer[] NOT NULL DEFAULT '{}',
  time_zone text NOT NULL DEFAULT 'UTC',
  created_by text NOT NULL,
  comment text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT alert_maintenance_windows_name_check CHECK (length(name) BETWEEN 1 AND 200),
  CONSTRAINT alert_maintenance_windows_recurrence_check CHECK (recurrence IN ('none', 'daily', 'weekly')),
  CONSTRAINT alert_maintenance_windows_duration_minutes_check CHECK (duration_minutes BETWEEN 1 AND 10080)
);
