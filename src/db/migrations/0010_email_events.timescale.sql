-- Generated from the email_events stream declaration (timescale tier) by scripts/gen-migration.ts.
-- Applied migrations are immutable: change the declaration and add a new migration instead.

CREATE TABLE email_events (
  time timestamptz NOT NULL,
  event_id uuid NOT NULL,
  event_type text NOT NULL,
  message_id text,
  queue_id text,
  from_address text,
  from_user text,
  from_domain text,
  to_address text,
  to_domain text,
  mta_node text,
  sending_ip inet,
  sending_ip_v6 inet,
  mx_host text,
  status_code smallint,
  status_message text,
  delivery_time_ms integer,
  queue_time_ms integer,
  total_time_ms integer,
  bounce_type text,
  bounce_category text,
  bounce_message text,
  message_size integer,
  has_attachment boolean,
  attachment_count smallint,
  subject_hash text,
  dkim_result text,
  spf_result text,
  dmarc_result text,
  spam_score double precision,
  spam_action text,
  spam_symbols jsonb,
  CONSTRAINT email_events_event_type_check CHECK (event_type IN ('sent', 'delivered', 'bounced', 'deferred', 'rejected', 'received')),
  CONSTRAINT email_events_bounce_type_check CHECK (bounce_type IN ('hard', 'soft')),
  CONSTRAINT email_events_bounce_category_check CHECK (bounce_category IN ('user_unknown', 'mailbox_full', 'policy', 'spam', 'other', 'blacklist', 'rate_limit', 'greylist', 'network')),
  CONSTRAINT email_events_dkim_result_check CHECK (dkim_result IN ('pass', 'fail', 'none', 'neutral', 'policy', 'temperror', 'permerror')),
  CONSTRAINT email_events_spf_result_check CHECK (spf_result IN ('pass', 'fail', 'softfail', 'neutral', 'none', 'temperror', 'permerror')),
  CONSTRAINT email_events_dmarc_result_check CHECK (dmarc_result IN ('pass', 'fail', 'none', 'temperror', 'permerror')),
  CONSTRAINT email_events_spam_action_check CHECK (spam_action IN ('no_action', 'add_header', 'rewrite_subject', 'greylist', 'soft_reject', 'reject')),
  PRIMARY KEY (event_id, time)
);

SELECT create_hypertable('email_events', by_range('time', INTERVAL '1 day'), create_default_indexes => false);

CREATE INDEX email_events_time_idx ON email_events (time DESC);

CREATE INDEX email_events_from_domain_idx ON email_events (from_domain, time DESC);

CREATE INDEX email_events_to_domain_idx ON email_events (to_domain, time DESC);

CREATE INDEX email_events_mta_node_idx ON email_events (mta_node, time DESC);

CREATE INDEX email_events_sending_ip_idx ON email_events (sending_ip, time DESC);

CREATE INDEX email_events_from_user_from_domain_idx ON email_events (from_user, from_domain, time DESC);

CREATE INDEX email_events_event_type_idx ON email_events (event_type, time DESC);

CREATE INDEX email_events_message_id_idx ON email_events (message_id, time DESC);

COMMENT ON TABLE email_events IS 'Email delivery events: One row per mail event of the cluster (ZoneMTA deliveries, bounces and deferrals, WildDuck/Haraka receptions, Rspamd verdicts): the source of delivery analytics, message tracing and reputation.';

COMMENT ON COLUMN email_events.event_id IS 'Event id (§5.8 `event_id`): the idempotency key with time. When the sender gives none, Opsdeck derives it from the event (the same event sent twice gets the same id).';

COMMENT ON COLUMN email_events.event_type IS 'What happened: sent, delivered, bounced, deferred, rejected, received';

COMMENT ON COLUMN email_events.message_id IS 'RFC 5322 Message-ID, with angle brackets';

COMMENT ON COLUMN email_events.queue_id IS 'The MTA queue id of the message';

COMMENT ON COLUMN email_events.from_address IS 'Envelope sender (MAIL FROM)';

COMMENT ON COLUMN email_events.from_user IS 'Local part of the sender address (the account)';

COMMENT ON COLUMN email_events.from_domain IS 'Domain of the sender address (stored lower-case)';

COMMENT ON COLUMN email_events.to_address IS 'Envelope recipient (RCPT TO)';

COMMENT ON COLUMN email_events.to_domain IS 'Domain of the recipient address (stored lower-case)';

COMMENT ON COLUMN email_events.mta_node IS 'Node that handled the event (a node id of the inventory)';

COMMENT ON COLUMN email_events.sending_ip IS 'Local IPv4 (or IPv6) address the message left from';

COMMENT ON COLUMN email_events.sending_ip_v6 IS 'Local IPv6 address, when the zone sends over IPv6';

COMMENT ON COLUMN email_events.mx_host IS 'MX host the delivery went to (stored lower-case)';

COMMENT ON COLUMN email_events.status_code IS 'SMTP reply code of the remote server';

COMMENT ON COLUMN email_events.status_message IS 'SMTP reply text (enhanced status code and message)';

COMMENT ON COLUMN email_events.delivery_time_ms IS 'Delivery time: from the start of the attempt to the remote reply (plugin), or from first to last queue attempt (the agent''s queue watcher: days for a message deferred for days)';

COMMENT ON COLUMN email_events.queue_time_ms IS 'Time the message waited in the queue';

COMMENT ON COLUMN email_events.total_time_ms IS 'From acceptance to this event';

COMMENT ON COLUMN email_events.bounce_type IS 'hard (permanent, 5xx) or soft (temporary, 4xx)';

COMMENT ON COLUMN email_events.bounce_category IS 'Why the message bounced';

COMMENT ON COLUMN email_events.bounce_message IS 'Bounce text as received';

COMMENT ON COLUMN email_events.message_size IS 'Message size';

COMMENT ON COLUMN email_events.has_attachment IS 'The message has attachments (§5.8)';

COMMENT ON COLUMN email_events.attachment_count IS 'Number of attachments (§5.8)';

COMMENT ON COLUMN email_events.subject_hash IS 'Hash of the subject (the subject itself is not stored, for privacy; §5.8)';

COMMENT ON COLUMN email_events.dkim_result IS 'DKIM result (RFC 8601)';

COMMENT ON COLUMN email_events.spf_result IS 'SPF result (RFC 8601)';

COMMENT ON COLUMN email_events.dmarc_result IS 'DMARC result (RFC 8601)';

COMMENT ON COLUMN email_events.spam_score IS 'Spam score';

COMMENT ON COLUMN email_events.spam_action IS 'Spam filter action';

COMMENT ON COLUMN email_events.spam_symbols IS 'Spam filter symbols that matched (§5.8), a JSON array of names';

ALTER TABLE email_events SET (timescaledb.compress, timescaledb.compress_segmentby = 'mta_node', timescaledb.compress_orderby = 'time DESC');

SELECT add_compression_policy('email_events', compress_after => INTERVAL '7 days');

SELECT add_retention_policy('email_events', drop_after => INTERVAL '180 days');

CREATE MATERIALIZED VIEW _opsdeck_cagg_email_stats_5m
  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT time_bucket(INTERVAL '5 minutes', time) AS bucket,
    from_domain,
    mta_node,
    sending_ip,
    event_type,
    count(*) AS event_count,
    sum(delivery_time_ms::double precision) AS avg_delivery_ms_sum,
    count(delivery_time_ms) AS avg_delivery_ms_count,
    opsdeck_hist(delivery_time_ms::double precision) AS delivery_time_ms_hist,
    sum(message_size::double precision) AS avg_message_size_sum,
    count(message_size) AS avg_message_size_count,
    count(*) FILTER (WHERE dkim_result = 'pass') AS dkim_pass,
    count(*) FILTER (WHERE spf_result = 'pass') AS spf_pass,
    count(*) FILTER (WHERE dmarc_result = 'pass') AS dmarc_pass
  FROM email_events
  GROUP BY 1, 2, 3, 4, 5
  WITH NO DATA;

SELECT add_continuous_aggregate_policy('_opsdeck_cagg_email_stats_5m', start_offset => INTERVAL '89 days 23:55:00', end_offset => INTERVAL '5 minutes', schedule_interval => INTERVAL '5 minutes');

SELECT count(*) FROM (SELECT alter_job(job_id, config => config || jsonb_build_object('buckets_per_batch', 0)) FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_schema = 'public' AND hypertable_name = '_opsdeck_cagg_email_stats_5m') s;

SELECT add_retention_policy('_opsdeck_cagg_email_stats_5m', drop_after => INTERVAL '90 days');

CREATE VIEW email_stats_5m AS
  SELECT bucket, from_domain, mta_node, sending_ip, event_type, event_count, avg_delivery_ms_sum, avg_delivery_ms_count, delivery_time_ms_hist, avg_message_size_sum, avg_message_size_count, dkim_pass, spf_pass, dmarc_pass, avg_delivery_ms_sum / NULLIF(avg_delivery_ms_count, 0) AS avg_delivery_ms, opsdeck_hist_quantile(delivery_time_ms_hist, 0.95) AS p95_delivery_ms, avg_message_size_sum / NULLIF(avg_message_size_count, 0) AS avg_message_size
  FROM _opsdeck_cagg_email_stats_5m;

COMMENT ON VIEW email_stats_5m IS 'Email events per 5 minutes by sender domain, MTA node, sending IP and event type';

CREATE MATERIALIZED VIEW _opsdeck_cagg_email_stats_1h
  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT time_bucket(INTERVAL '1 hour', time) AS bucket,
    from_domain,
    to_domain,
    mta_node,
    event_type,
    count(*) AS event_count,
    sum(delivery_time_ms::double precision) AS avg_delivery_ms_sum,
    count(delivery_time_ms) AS avg_delivery_ms_count,
    opsdeck_hist(delivery_time_ms::double precision) AS delivery_time_ms_hist
  FROM email_events
  GROUP BY 1, 2, 3, 4, 5
  WITH NO DATA;

SELECT add_continuous_aggregate_policy('_opsdeck_cagg_email_stats_1h', start_offset => INTERVAL '179 days 23:00:00', end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '30 minutes');

SELECT count(*) FROM (SELECT alter_job(job_id, config => config || jsonb_build_object('buckets_per_batch', 0)) FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_schema = 'public' AND hypertable_name = '_opsdeck_cagg_email_stats_1h') s;

SELECT add_retention_policy('_opsdeck_cagg_email_stats_1h', drop_after => INTERVAL '365 days');

CREATE VIEW email_stats_1h AS
  SELECT bucket, from_domain, to_domain, mta_node, event_type, event_count, avg_delivery_ms_sum, avg_delivery_ms_count, delivery_time_ms_hist, avg_delivery_ms_sum / NULLIF(avg_delivery_ms_count, 0) AS avg_delivery_ms, opsdeck_hist_quantile(delivery_time_ms_hist, 0.95) AS p95_delivery_ms
  FROM _opsdeck_cagg_email_stats_1h;

COMMENT ON VIEW email_stats_1h IS 'Email events per hour by sender domain, recipient domain, MTA node and event type';

CREATE MATERIALIZED VIEW _opsdeck_cagg_email_stats_overview_5m
  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT time_bucket(INTERVAL '5 minutes', time) AS bucket,
    mta_node,
    event_type,
    count(*) AS event_count,
    sum(delivery_time_ms::double precision) AS avg_delivery_ms_sum,
    count(delivery_time_ms) AS avg_delivery_ms_count,
    opsdeck_hist(delivery_time_ms::double precision) AS delivery_time_ms_hist,
    sum(message_size::double precision) AS avg_message_size_sum,
    count(message_size) AS avg_message_size_count,
    count(*) FILTER (WHERE dkim_result = 'pass') AS dkim_pass,
    count(*) FILTER (WHERE spf_result = 'pass') AS spf_pass,
    count(*) FILTER (WHERE dmarc_result = 'pass') AS dmarc_pass
  FROM email_events
  GROUP BY 1, 2, 3
  WITH NO DATA;

SELECT add_continuous_aggregate_policy('_opsdeck_cagg_email_stats_overview_5m', start_offset => INTERVAL '89 days 23:55:00', end_offset => INTERVAL '5 minutes', schedule_interval => INTERVAL '1 minute');

SELECT count(*) FROM (SELECT alter_job(job_id, config => config || jsonb_build_object('buckets_per_batch', 0)) FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_schema = 'public' AND hypertable_name = '_opsdeck_cagg_email_stats_overview_5m') s;

SELECT add_retention_policy('_opsdeck_cagg_email_stats_overview_5m', drop_after => INTERVAL '90 days');

CREATE VIEW email_stats_overview_5m AS
  SELECT bucket, mta_node, event_type, event_count, avg_delivery_ms_sum, avg_delivery_ms_count, delivery_time_ms_hist, avg_message_size_sum, avg_message_size_count, dkim_pass, spf_pass, dmarc_pass, avg_delivery_ms_sum / NULLIF(avg_delivery_ms_count, 0) AS avg_delivery_ms, opsdeck_hist_quantile(delivery_time_ms_hist, 0.95) AS p95_delivery_ms, avg_message_size_sum / NULLIF(avg_message_size_count, 0) AS avg_message_size
  FROM _opsdeck_cagg_email_stats_overview_5m;

COMMENT ON VIEW email_stats_overview_5m IS 'Email events per 5 minutes by MTA node and event type (Opsdeck overview rollup)';

CREATE MATERIALIZED VIEW _opsdeck_cagg_email_stats_overview_1h
  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT time_bucket(INTERVAL '1 hour', time) AS bucket,
    mta_node,
    event_type,
    count(*) AS event_count,
    sum(delivery_time_ms::double precision) AS avg_delivery_ms_sum,
    count(delivery_time_ms) AS avg_delivery_ms_count,
    opsdeck_hist(delivery_time_ms::double precision) AS delivery_time_ms_hist,
    sum(message_size::double precision) AS avg_message_size_sum,
    count(message_size) AS avg_message_size_count,
    count(*) FILTER (WHERE dkim_result = 'pass') AS dkim_pass,
    count(*) FILTER (WHERE spf_result = 'pass') AS spf_pass,
    count(*) FILTER (WHERE dmarc_result = 'pass') AS dmarc_pass
  FROM email_events
  GROUP BY 1, 2, 3
  WITH NO DATA;

SELECT add_continuous_aggregate_policy('_opsdeck_cagg_email_stats_overview_1h', start_offset => INTERVAL '179 days 23:00:00', end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '5 minutes');

SELECT count(*) FROM (SELECT alter_job(job_id, config => config || jsonb_build_object('buckets_per_batch', 0)) FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_schema = 'public' AND hypertable_name = '_opsdeck_cagg_email_stats_overview_1h') s;

SELECT add_retention_policy('_opsdeck_cagg_email_stats_overview_1h', drop_after => INTERVAL '730 days');

CREATE VIEW email_stats_overview_1h AS
  SELECT bucket, mta_node, event_type, event_count, avg_delivery_ms_sum, avg_delivery_ms_count, delivery_time_ms_hist, avg_message_size_sum, avg_message_size_count, dkim_pass, spf_pass, dmarc_pass, avg_delivery_ms_sum / NULLIF(avg_delivery_ms_count, 0) AS avg_delivery_ms, opsdeck_hist_quantile(delivery_time_ms_hist, 0.95) AS p95_delivery_ms, avg_message_size_sum / NULLIF(avg_message_size_count, 0) AS avg_message_size
  FROM _opsdeck_cagg_email_stats_overview_1h;

COMMENT ON VIEW email_stats_overview_1h IS 'Email events per hour by MTA node and event type (Opsdeck overview rollup)';

CREATE MATERIALIZED VIEW _opsdeck_cagg_email_stats_daily
  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT time_bucket(INTERVAL '1 day', time) AS bucket,
    from_domain,
    from_user,
    to_domain,
    mta_node,
    sending_ip,
    event_type,
    count(*) AS event_count,
    sum(delivery_time_ms::double precision) AS avg_delivery_ms_sum,
    count(delivery_time_ms) AS avg_delivery_ms_count
  FROM email_events
  GROUP BY 1, 2, 3, 4, 5, 6, 7
  WITH NO DATA;

SELECT add_continuous_aggregate_policy('_opsdeck_cagg_email_stats_daily', start_offset => INTERVAL '179 days', end_offset => INTERVAL '1 day', schedule_interval => INTERVAL '1 hour');

SELECT count(*) FROM (SELECT alter_job(job_id, config => config || jsonb_build_object('buckets_per_batch', 0)) FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_schema = 'public' AND hypertable_name = '_opsdeck_cagg_email_stats_daily') s;

SELECT add_retention_policy('_opsdeck_cagg_email_stats_daily', drop_after => INTERVAL '730 days');

CREATE VIEW email_stats_daily AS
  SELECT bucket, from_domain, from_user, to_domain, mta_node, sending_ip, event_type, event_count, avg_delivery_ms_sum, avg_delivery_ms_count, avg_delivery_ms_sum / NULLIF(avg_delivery_ms_count, 0) AS avg_delivery_ms
  FROM _opsdeck_cagg_email_stats_daily;

COMMENT ON VIEW email_stats_daily IS 'Email events per day by sender domain and user, recipient domain, MTA node, sending IP and event type';
