-- Generated from the blacklist_checks stream declaration (timescale tier) by scripts/gen-migration.ts.
-- Applied migrations are immutable: change the declaration and add a new migration instead.

CREATE TABLE blacklist_checks (
  time timestamptz NOT NULL,
  ip inet NOT NULL,
  ip_version smallint NOT NULL,
  node_id text,
  blacklist text NOT NULL,
  tier text,
  listed boolean,
  response text,
  check_duration_ms integer,
  reason text,
  error text,
  CONSTRAINT blacklist_checks_tier_check CHECK (tier IN ('critical', 'high', 'medium', 'low')),
  PRIMARY KEY (ip, blacklist, time)
);

SELECT create_hypertable('blacklist_checks', by_range('time', INTERVAL '1 day'), create_default_indexes => false);

CREATE INDEX blacklist_checks_time_idx ON blacklist_checks (time DESC);

CREATE INDEX blacklist_checks_ip_idx ON blacklist_checks (ip, time DESC);

CREATE INDEX blacklist_checks_blacklist_idx ON blacklist_checks (blacklist, time DESC);

COMMENT ON TABLE blacklist_checks IS 'DNSBL checks: One row per DNSBL query of a sending IP: listed, clean or an error (a query that failed or was refused is never counted as clean or listed).';

COMMENT ON COLUMN blacklist_checks.ip IS 'The sending IP checked';

COMMENT ON COLUMN blacklist_checks.ip_version IS '4 or 6';

COMMENT ON COLUMN blacklist_checks.node_id IS 'Node the IP belongs to';

COMMENT ON COLUMN blacklist_checks.blacklist IS 'The DNSBL zone asked';

COMMENT ON COLUMN blacklist_checks.tier IS 'The zone''s tier when checked';

COMMENT ON COLUMN blacklist_checks.listed IS 'true: listed (A 127.0.0.2–255); false: clean (NXDOMAIN); null: the check failed (see error)';

COMMENT ON COLUMN blacklist_checks.response IS 'The A answers as received, comma-separated';

COMMENT ON COLUMN blacklist_checks.check_duration_ms IS 'Time the query took';

COMMENT ON COLUMN blacklist_checks.reason IS 'TXT record of a listing (the list''s reason and lookup link)';

COMMENT ON COLUMN blacklist_checks.error IS 'Why the check failed: timeout, SERVFAIL, a Spamhaus refusal code (127.255.255.252/254/255), an unexpected answer';

ALTER TABLE blacklist_checks SET (timescaledb.compress, timescaledb.compress_segmentby = 'blacklist', timescaledb.compress_orderby = 'time DESC');

SELECT add_compression_policy('blacklist_checks', compress_after => INTERVAL '30 days');

SELECT add_retention_policy('blacklist_checks', drop_after => INTERVAL '365 days');
