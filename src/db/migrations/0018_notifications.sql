-- Notification channels and the delivery outbox (docs/adr/0015-notification-outbox.md).
-- Drizzle declarations: src/modules/notifications/schema.ts (compared with this DDL by
-- src/modules/tables.test.ts).

-- Where alert notices go. `config` holds the kind's non-secret settings (validated per
-- kind by the service); the secret ones (webhook signing secret, SMTP password, Slack
-- webhook URL, Telegram bot token, Alertmanager basic auth) are sealed together with
-- the SecretBox into `secrets_sealed`; `secret_fields` names which are set.
CREATE TABLE notification_channels (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
  kind text NOT NULL CHECK (kind IN ('webhook', 'email', 'slack', 'telegram', 'inapp', 'alertmanager')),
  config jsonb NOT NULL DEFAULT '{}',
  secrets_sealed text,
  secret_fields jsonb NOT NULL DEFAULT '[]',
  min_severity text NOT NULL DEFAULT 'info' CHECK (min_severity IN ('info', 'warning', 'critical')),
  group_by jsonb NOT NULL DEFAULT '["alertname"]',
  group_wait_seconds integer NOT NULL DEFAULT 30 CHECK (group_wait_seconds BETWEEN 0 AND 86400),
  group_interval_seconds integer NOT NULL DEFAULT 300 CHECK (group_interval_seconds BETWEEN 0 AND 86400),
  repeat_interval_seconds integer NOT NULL DEFAULT 14400 CHECK (repeat_interval_seconds BETWEEN 0 AND 604800),
  send_resolved boolean NOT NULL DEFAULT true,
  enabled boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- The outbox and the delivery log: one row per (alert event, reason, escalation level,
-- repeat number, channel); the alerts module repeats an event under its id, so each repeat
-- has its number (0 for other reasons). event_id is the alert event's id (no foreign key here). `stream_txid` is the
-- id of the transaction that wrote the row, so the in-app stream can read rows in commit
-- order across processes (it reads only transactions older than every one in flight).
CREATE TABLE notification_deliveries (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event_id bigint NOT NULL,
  fingerprint text NOT NULL,
  channel_id integer NOT NULL REFERENCES notification_channels (id) ON DELETE CASCADE,
  reason text NOT NULL CHECK (reason IN ('fired', 'repeat', 'resolved', 'escalation')),
  escalation_level integer NOT NULL DEFAULT 0 CHECK (escalation_level >= 0),
  repeat_number integer NOT NULL DEFAULT 0 CHECK (repeat_number >= 0),
  notice jsonb NOT NULL,
  group_key text NOT NULL,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'dead', 'muted')),
  attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  next_attempt_at timestamptz NOT NULL,
  lease_until timestamptz,
  last_error text,
  response_status integer,
  sent_at timestamptz,
  last_posted_at timestamptz,
  stream_txid bigint NOT NULL,
  created_at timestamptz NOT NULL,
  CONSTRAINT notification_deliveries_once_key UNIQUE (event_id, reason, escalation_level, repeat_number, channel_id)
);
CREATE INDEX notification_deliveries_due_idx ON notification_deliveries (next_attempt_at) WHERE status IN ('pending', 'sending', 'failed');
CREATE INDEX notification_deliveries_channel_idx ON notification_deliveries (channel_id, id);
CREATE INDEX notification_deliveries_group_idx ON notification_deliveries (channel_id, group_key, sent_at);
CREATE INDEX notification_deliveries_stream_idx ON notification_deliveries (stream_txid, id) WHERE status = 'sent';
