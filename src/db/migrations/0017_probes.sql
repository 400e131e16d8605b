-- Service health probes (docs/probes.md, docs/adr/0014-probes-scheduling-and-thresholds.md).
-- Declared in src/modules/probes/schema.ts.
--
-- monitors: one row per monitored service — what to probe, what to expect, the
-- failure/success thresholds and the confirmed state with its counters (kept on
-- the row so a restart continues where the last process stopped).
CREATE TABLE monitors (
  id integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
  name text NOT NULL CONSTRAINT monitors_name_key UNIQUE,
  kind text NOT NULL,
  target text NOT NULL,
  interval_seconds integer NOT NULL DEFAULT 60,
  timeout_ms integer NOT NULL DEFAULT 10000,
  enabled boolean NOT NULL DEFAULT true,
  labels jsonb NOT NULL DEFAULT '{}',
  accepted_statuses text NOT NULL DEFAULT '200-299',
  max_redirects integer NOT NULL DEFAULT 5,
  body_keyword text,
  json_path text,
  json_value text,
  degraded_above_ms integer,
  dns_record_type text,
  dns_expected text,
  dns_server text,
  cert_min_days integer,
  tls_allow_self_signed boolean NOT NULL DEFAULT false,
  heartbeat_grace_seconds integer NOT NULL DEFAULT 0,
  heartbeat_token_hash text CONSTRAINT monitors_heartbeat_token_hash_key UNIQUE,
  last_ping_at timestamptz,
  failure_threshold integer NOT NULL DEFAULT 3,
  success_threshold integer NOT NULL DEFAULT 2,
  status text,
  status_since timestamptz,
  consecutive_failures integer NOT NULL DEFAULT 0,
  consecutive_successes integer NOT NULL DEFAULT 0,
  last_result text,
  result_streak integer NOT NULL DEFAULT 0,
  last_checked_at timestamptz,
  next_due_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT monitors_name_check CHECK (length(name) BETWEEN 1 AND 100),
  CONSTRAINT monitors_kind_check CHECK (kind IN ('http', 'tcp', 'dns', 'tls', 'heartbeat')),
  CONSTRAINT monitors_target_check CHECK (length(target) BETWEEN 1 AND 2048),
  CONSTRAINT monitors_interval_seconds_check CHECK (interval_seconds BETWEEN 10 AND 86400),
  CONSTRAINT monitors_timeout_ms_check CHECK (timeout_ms BETWEEN 100 AND 60000),
  CONSTRAINT monitors_max_redirects_check CHECK (max_redirects BETWEEN 0 AND 10),
  CONSTRAINT monitors_dns_record_type_check CHECK (dns_record_type IN ('A', 'AAAA', 'CNAME', 'MX', 'NS', 'TXT')),
  CONSTRAINT monitors_status_check CHECK (status IN ('healthy', 'degraded', 'down')),
  CONSTRAINT monitors_last_result_check CHECK (last_result IN ('healthy', 'degraded', 'down')),
  CONSTRAINT monitors_thresholds_check CHECK (failure_threshold BETWEEN 1 AND 100 AND success_threshold BETWEEN 1 AND 100)
);
CREATE INDEX monitors_next_due_at_idx ON monitors (next_due_at) WHERE enabled;

-- service_health_checks: one row per probe run, exactly as the service-health
-- seed asks (checked_at = when the probe ran; created_at = when it was stored).
CREATE TABLE service_health_checks (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  service_name varchar(100) NOT NULL,
  status text NOT NULL CONSTRAINT service_health_checks_status_check CHECK (status IN ('healthy', 'degraded', 'down')),
  latency_ms integer,
  checked_at timestamptz DEFAULT CURRENT_TIMESTAMP,
  error_message text,
  probe_details jsonb,
  created_at timestamptz DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX idx_service_health_checks_created_at ON service_health_checks (created_at);
CREATE INDEX idx_service_health_checks_service_created ON service_health_checks (service_name, created_at);

-- Row-level security on the checks: roles other than Opsdeck's see no rows unless
-- a policy grants them some. Opsdeck's own role (the one running the migrations,
-- which owns the table) keeps full access through this policy, also if FORCE ROW
-- LEVEL SECURITY is set later or the table changes owner.
ALTER TABLE service_health_checks ENABLE ROW LEVEL SECURITY;
DO $$
BEGIN
  EXECUTE format('CREATE POLICY service_health_checks_opsdeck ON service_health_checks TO %I USING (true) WITH CHECK (true)', current_user);
END
$$;

-- Hourly counts per service, kept with every stored check: the overview's
-- 24 h / 7 d / 30 d uptime reads at most 720 rows per service instead of the
-- up to 259,200 checks of a service probed every 10 s.
CREATE TABLE service_health_hourly (
  service_name varchar(100) NOT NULL,
  hour timestamptz NOT NULL,
  healthy integer NOT NULL DEFAULT 0,
  degraded integer NOT NULL DEFAULT 0,
  down integer NOT NULL DEFAULT 0,
  PRIMARY KEY (service_name, hour)
);
