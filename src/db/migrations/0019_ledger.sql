-- The agent operations ledger (Mission Control): what each AI agent did, on which
-- node or workload, with which tools, who approved it and what it cost.
-- Hosts are the existing `nodes` inventory (type and cluster live in nodes.labels).
-- See docs/agent-ledger.md and docs/adr/0017-agent-ledger.md.

-- Logical groupings of workloads.
CREATE TABLE services (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name text NOT NULL UNIQUE CONSTRAINT services_name_check CHECK (length(name) BETWEEN 1 AND 128),
  description text,
  labels jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE workloads (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind text NOT NULL CONSTRAINT workloads_kind_check CHECK (kind IN ('deployment', 'pod', 'vm', 'lxc', 'container')),
  name text NOT NULL CONSTRAINT workloads_name_check CHECK (length(name) BETWEEN 1 AND 253),
  node_id text REFERENCES nodes (id) ON DELETE SET NULL,
  service_id integer REFERENCES services (id) ON DELETE SET NULL,
  status text NOT NULL DEFAULT 'unknown' CONSTRAINT workloads_status_check CHECK (status IN ('running', 'stopped', 'pending', 'failed', 'unknown')),
  spec jsonb NOT NULL DEFAULT '{}'::jsonb,
  labels jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT workloads_kind_name_key UNIQUE (kind, name)
);
CREATE INDEX workloads_node_idx ON workloads (node_id);
CREATE INDEX workloads_service_idx ON workloads (service_id);

-- Task templates or one-off definitions.
CREATE TABLE tasks (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  title text NOT NULL CONSTRAINT tasks_title_check CHECK (length(title) BETWEEN 1 AND 200),
  description text,
  kind text NOT NULL DEFAULT 'one_off' CONSTRAINT tasks_kind_check CHECK (kind IN ('template', 'one_off')),
  prompt text,
  node_id text REFERENCES nodes (id) ON DELETE SET NULL,
  workload_id integer REFERENCES workloads (id) ON DELETE SET NULL,
  created_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- One execution of a task. Every transition stamps its column and appends a
-- `state` event to task_events (the full history); event_seq is the last
-- event's number in this run, bumped under the run's row lock.
CREATE TABLE task_runs (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  task_id integer NOT NULL REFERENCES tasks (id),
  status text NOT NULL DEFAULT 'queued' CONSTRAINT task_runs_status_check CHECK (status IN ('queued', 'running', 'awaiting_approval', 'succeeded', 'failed', 'cancelled')),
  user_prompt text NOT NULL,
  agent text NOT NULL CONSTRAINT task_runs_agent_check CHECK (length(agent) BETWEEN 1 AND 128),
  node_id text REFERENCES nodes (id) ON DELETE SET NULL,
  workload_id integer REFERENCES workloads (id) ON DELETE SET NULL,
  created_by text NOT NULL,
  queued_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  approval_requested_at timestamptz,
  approval_decided_at timestamptz,
  succeeded_at timestamptz,
  failed_at timestamptz,
  cancelled_at timestamptz,
  error text,
  event_seq integer NOT NULL DEFAULT 0
);
CREATE INDEX task_runs_status_idx ON task_runs (status);
CREATE INDEX task_runs_task_idx ON task_runs (task_id);
CREATE INDEX task_runs_queued_at_idx ON task_runs (queued_at DESC);

-- Append-only log per run; (run_id, seq) is the resumable position of the SSE stream.
CREATE TABLE task_events (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  run_id bigint NOT NULL REFERENCES task_runs (id) ON DELETE CASCADE,
  seq integer NOT NULL,
  kind text NOT NULL CONSTRAINT task_events_kind_check CHECK (kind IN ('message', 'log', 'tool_call', 'llm_call', 'state', 'error')),
  message text,
  data jsonb NOT NULL DEFAULT '{}'::jsonb,
  at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT task_events_run_seq_key UNIQUE (run_id, seq)
);

-- Outputs of a run; the content is kept in the database, named by its SHA-256.
CREATE TABLE artifacts (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  run_id bigint NOT NULL REFERENCES task_runs (id) ON DELETE CASCADE,
  name text NOT NULL CONSTRAINT artifacts_name_check CHECK (length(name) BETWEEN 1 AND 255),
  media_type text NOT NULL CONSTRAINT artifacts_media_type_check CHECK (media_type ~ '^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$'),
  size_bytes integer NOT NULL CONSTRAINT artifacts_size_bytes_check CHECK (size_bytes >= 0),
  sha256 text NOT NULL CONSTRAINT artifacts_sha256_check CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  content bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX artifacts_run_idx ON artifacts (run_id);

-- List prices per 1M tokens, versioned by start date; a model name matches a
-- pattern equal to it or to its prefix before '-', '@' or ':' (the longest wins).
CREATE TABLE provider_pricing (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  provider text NOT NULL CONSTRAINT provider_pricing_provider_check CHECK (provider ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
  model_pattern text NOT NULL CONSTRAINT provider_pricing_model_pattern_check CHECK (length(model_pattern) BETWEEN 1 AND 128),
  input_per_mtok numeric NOT NULL,
  cached_input_per_mtok numeric,
  output_per_mtok numeric NOT NULL,
  currency text NOT NULL DEFAULT 'USD',
  valid_from timestamptz NOT NULL,
  valid_to timestamptz,
  source text,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT provider_pricing_prices_check CHECK (input_per_mtok >= 0 AND output_per_mtok >= 0 AND (cached_input_per_mtok IS NULL OR cached_input_per_mtok >= 0)),
  CONSTRAINT provider_pricing_period_check CHECK (valid_to IS NULL OR valid_to > valid_from),
  CONSTRAINT provider_pricing_version_key UNIQUE (provider, model_pattern, valid_from)
);

CREATE TABLE llm_requests (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  run_id bigint NOT NULL REFERENCES task_runs (id) ON DELETE CASCADE,
  task_event_id bigint NOT NULL REFERENCES task_events (id) ON DELETE CASCADE,
  provider text NOT NULL,
  model text NOT NULL,
  request jsonb NOT NULL DEFAULT '{}'::jsonb,
  requested_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX llm_requests_run_idx ON llm_requests (run_id);

CREATE TABLE llm_responses (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  request_id bigint NOT NULL UNIQUE REFERENCES llm_requests (id) ON DELETE CASCADE,
  status text NOT NULL DEFAULT 'ok' CONSTRAINT llm_responses_status_check CHECK (status IN ('ok', 'error')),
  finish_reason text,
  latency_ms integer CONSTRAINT llm_responses_latency_ms_check CHECK (latency_ms >= 0),
  response jsonb NOT NULL DEFAULT '{}'::jsonb,
  error text,
  received_at timestamptz NOT NULL DEFAULT now()
);

-- Usage and cost of one LLM call, computed when written (never rewritten): the
-- unit prices applied are copied here with the price row (or 'client').
CREATE TABLE token_usage (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  run_id bigint NOT NULL REFERENCES task_runs (id) ON DELETE CASCADE,
  task_event_id bigint NOT NULL REFERENCES task_events (id) ON DELETE CASCADE,
  llm_request_id bigint NOT NULL UNIQUE REFERENCES llm_requests (id) ON DELETE CASCADE,
  provider text NOT NULL,
  model text NOT NULL,
  input_tokens bigint NOT NULL,
  cached_input_tokens bigint NOT NULL DEFAULT 0,
  output_tokens bigint NOT NULL,
  reasoning_tokens bigint,
  price_source text NOT NULL CONSTRAINT token_usage_price_source_check CHECK (price_source IN ('table', 'client', 'none')),
  pricing_id integer REFERENCES provider_pricing (id),
  input_per_mtok numeric,
  cached_input_per_mtok numeric,
  output_per_mtok numeric,
  cost numeric,
  currency text NOT NULL DEFAULT 'USD',
  occurred_at timestamptz NOT NULL,
  CONSTRAINT token_usage_tokens_check CHECK (input_tokens >= 0 AND output_tokens >= 0 AND cached_input_tokens >= 0 AND cached_input_tokens <= input_tokens AND (reasoning_tokens IS NULL OR reasoning_tokens >= 0))
);
CREATE INDEX token_usage_occurred_idx ON token_usage (occurred_at);
CREATE INDEX token_usage_run_idx ON token_usage (run_id);

CREATE TABLE tool_definitions (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name text NOT NULL UNIQUE CONSTRAINT tool_definitions_name_check CHECK (name ~ '^[A-Za-z0-9_.:-]{1,128}$'),
  description text NOT NULL DEFAULT '',
  args_schema jsonb NOT NULL DEFAULT '{}'::jsonb,
  risk_level text NOT NULL DEFAULT 'low' CONSTRAINT tool_definitions_risk_level_check CHECK (risk_level IN ('low', 'medium', 'high', 'critical')),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Which tool calls need approval, and by which role. Empty label maps match anything.
CREATE TABLE policies (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name text NOT NULL UNIQUE CONSTRAINT policies_name_check CHECK (length(name) BETWEEN 1 AND 128),
  description text,
  tool_name text,
  min_risk_level text CONSTRAINT policies_min_risk_level_check CHECK (min_risk_level IN ('low', 'medium', 'high', 'critical')),
  node_labels jsonb NOT NULL DEFAULT '{}'::jsonb,
  workload_labels jsonb NOT NULL DEFAULT '{}'::jsonb,
  approver_role text NOT NULL DEFAULT 'operator' CONSTRAINT policies_approver_role_check CHECK (approver_role IN ('viewer', 'operator', 'admin')),
  enabled boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE tool_call_records (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  run_id bigint NOT NULL REFERENCES task_runs (id) ON DELETE CASCADE,
  task_event_id bigint NOT NULL REFERENCES task_events (id) ON DELETE CASCADE,
  tool_id integer NOT NULL REFERENCES tool_definitions (id),
  tool_name text NOT NULL,
  arguments jsonb NOT NULL,
  args_valid boolean NOT NULL,
  validation_errors jsonb,
  approval text NOT NULL DEFAULT 'not_required' CONSTRAINT tool_call_records_approval_check CHECK (approval IN ('not_required', 'pending', 'approved', 'rejected')),
  policy_id integer REFERENCES policies (id) ON DELETE SET NULL,
  decided_by text,
  decision_reason text,
  decided_at timestamptz,
  outcome text CONSTRAINT tool_call_records_outcome_check CHECK (outcome IN ('success', 'error', 'timeout', 'rejected', 'invalid')),
  duration_ms integer,
  output_size_bytes bigint,
  output jsonb,
  requested_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  CONSTRAINT tool_call_records_measures_check CHECK ((duration_ms IS NULL OR duration_ms >= 0) AND (output_size_bytes IS NULL OR output_size_bytes >= 0))
);
CREATE INDEX tool_call_records_run_idx ON tool_call_records (run_id);
CREATE INDEX tool_call_records_tool_idx ON tool_call_records (tool_name);

-- Who did what, when, from where. Append-only, enforced here: statement triggers
-- refuse UPDATE, DELETE and TRUNCATE for every role (the owner and superusers
-- too), and those privileges are revoked from PUBLIC and from the role that ran
-- this migration. Production role setup: docs/agent-ledger.md.
CREATE TABLE audit_entries (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT now(),
  actor_kind text NOT NULL CONSTRAINT audit_entries_actor_kind_check CHECK (actor_kind IN ('user', 'api_key', 'system')),
  actor_id text,
  actor_name text,
  action text NOT NULL CONSTRAINT audit_entries_action_check CHECK (length(action) BETWEEN 1 AND 128),
  target_type text NOT NULL,
  target_id text,
  ip inet,
  request_id text,
  summary jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_entries_target_idx ON audit_entries (target_type, target_id, id);
CREATE INDEX audit_entries_action_idx ON audit_entries (action, id);

CREATE FUNCTION opsdeck_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_entries is append-only: % refused', TG_OP USING ERRCODE = '42501';
END;
$$;
CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_entries
  FOR EACH STATEMENT EXECUTE FUNCTION opsdeck_audit_append_only();
REVOKE UPDATE, DELETE, TRUNCATE ON audit_entries FROM PUBLIC;
REVOKE UPDATE, DELETE, TRUNCATE ON audit_entries FROM CURRENT_USER;

-- Views named by the Mission Control data model.
CREATE VIEW active_task_runs AS
  SELECT r.id, r.task_id, t.title AS task_title, r.status, r.agent, r.node_id, r.workload_id, r.user_prompt,
         r.queued_at, r.started_at, r.approval_requested_at, r.event_seq
  FROM task_runs r JOIN tasks t ON t.id = r.task_id
  WHERE r.status IN ('queued', 'running', 'awaiting_approval');

CREATE VIEW recent_token_usage_summary AS
  SELECT provider, model, count(*)::bigint AS requests,
         sum(input_tokens)::bigint AS input_tokens, sum(cached_input_tokens)::bigint AS cached_input_tokens,
         sum(output_tokens)::bigint AS output_tokens, sum(reasoning_tokens)::bigint AS reasoning_tokens,
         sum(cost) AS cost, count(*) FILTER (WHERE cost IS NULL)::bigint AS unpriced_requests
  FROM token_usage
  WHERE occurred_at >= now() - interval '30 days'
  GROUP BY provider, model;

CREATE VIEW tool_call_success_rate AS
  SELECT tool_name, count(*)::bigint AS calls,
         count(*) FILTER (WHERE outcome = 'success')::bigint AS successes,
         round(count(*) FILTER (WHERE outcome = 'success')::numeric / count(*), 4) AS success_rate,
         avg(duration_ms)::double precision AS avg_duration_ms
  FROM tool_call_records
  WHERE outcome IS NOT NULL
  GROUP BY tool_name;

-- Seed: list prices in USD per 1M tokens (input, cached input, output) as the
-- providers published them in November 2025 (docs/agent-ledger.md, "Prices").
-- Only the base tier: long-context surcharges and cache writes are not modelled.
INSERT INTO provider_pricing (provider, model_pattern, input_per_mtok, cached_input_per_mtok, output_per_mtok, valid_from, source) VALUES
  ('openai', 'gpt-5', 1.25, 0.125, 10.00, '2025-11-01T00:00:00Z', 'openai.com/api/pricing 2025-11'),
  ('openai', 'gpt-5-mini', 0.25, 0.025, 2.00, '2025-11-01T00:00:00Z', 'openai.com/api/pricing 2025-11'),
  ('openai', 'gpt-5-nano', 0.05, 0.005, 0.40, '2025-11-01T00:00:00Z', 'openai.com/api/pricing 2025-11'),
  ('openai', 'gpt-4.1', 2.00, 0.50, 8.00, '2025-11-01T00:00:00Z', 'openai.com/api/pricing 2025-11'),
  ('openai', 'gpt-4.1-mini', 0.40, 0.10, 1.60, '2025-11-01T00:00:00Z', 'openai.com/api/pricing 2025-11'),
  ('openai', 'gpt-4.1-nano', 0.10, 0.025, 0.40, '2025-11-01T00:00:00Z', 'openai.com/api/pricing 2025-11'),
  ('openai', 'gpt-4o', 2.50, 1.25, 10.00, '2025-11-01T00:00:00Z', 'openai.com/api/pricing 2025-11'),
  ('openai', 'gpt-4o-mini', 0.15, 0.075, 0.60, '2025-11-01T00:00:00Z', 'openai.com/api/pricing 2025-11'),
  ('openai', 'o3', 2.00, 0.50, 8.00, '2025-11-01T00:00:00Z', 'openai.com/api/pricing 2025-11'),
  ('openai', 'o3-mini', 1.10, 0.55, 4.40, '2025-11-01T00:00:00Z', 'openai.com/api/pricing 2025-11'),
  ('openai', 'o4-mini', 1.10, 0.275, 4.40, '2025-11-01T00:00:00Z', 'openai.com/api/pricing 2025-11'),
  ('anthropic', 'claude-opus-4-5', 5.00, 0.50, 25.00, '2025-11-01T00:00:00Z', 'claude.com/pricing 2025-11'),
  ('anthropic', 'claude-opus-4-1', 15.00, 1.50, 75.00, '2025-11-01T00:00:00Z', 'claude.com/pricing 2025-11'),
  ('anthropic', 'claude-opus-4', 15.00, 1.50, 75.00, '2025-11-01T00:00:00Z', 'claude.com/pricing 2025-11'),
  ('anthropic', 'claude-sonnet-4-5', 3.00, 0.30, 15.00, '2025-11-01T00:00:00Z', 'claude.com/pricing 2025-11'),
  ('anthropic', 'claude-sonnet-4', 3.00, 0.30, 15.00, '2025-11-01T00:00:00Z', 'claude.com/pricing 2025-11'),
  ('anthropic', 'claude-3-7-sonnet', 3.00, 0.30, 15.00, '2025-11-01T00:00:00Z', 'claude.com/pricing 2025-11'),
  ('anthropic', 'claude-haiku-4-5', 1.00, 0.10, 5.00, '2025-11-01T00:00:00Z', 'claude.com/pricing 2025-11'),
  ('anthropic', 'claude-3-5-haiku', 0.80, 0.08, 4.00, '2025-11-01T00:00:00Z', 'claude.com/pricing 2025-11'),
  ('google', 'gemini-2.5-pro', 1.25, 0.125, 10.00, '2025-11-01T00:00:00Z', 'ai.google.dev/gemini-api/docs/pricing 2025-11 (prompts up to 200k tokens)'),
  ('google', 'gemini-2.5-flash', 0.30, 0.03, 2.50, '2025-11-01T00:00:00Z', 'ai.google.dev/gemini-api/docs/pricing 2025-11'),
  ('google', 'gemini-2.5-flash-lite', 0.10, 0.01, 0.40, '2025-11-01T00:00:00Z', 'ai.google.dev/gemini-api/docs/pricing 2025-11'),
  ('google', 'gemini-2.0-flash', 0.10, 0.025, 0.40, '2025-11-01T00:00:00Z', 'ai.google.dev/gemini-api/docs/pricing 2025-11'),
  ('mistral', 'mistral-large', 2.00, NULL, 6.00, '2025-11-01T00:00:00Z', 'mistral.ai/pricing 2025-11'),
  ('mistral', 'mistral-medium', 0.40, NULL, 2.00, '2025-11-01T00:00:00Z', 'mistral.ai/pricing 2025-11'),
  ('mistral', 'mistral-small', 0.10, NULL, 0.30, '2025-11-01T00:00:00Z', 'mistral.ai/pricing 2025-11'),
  ('mistral', 'codestral', 0.30, NULL, 0.90, '2025-11-01T00:00:00Z', 'mistral.ai/pricing 2025-11');
