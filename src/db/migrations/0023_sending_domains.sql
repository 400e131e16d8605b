-- Sending domains and the checks of their DNS authentication (SPF, DKIM, DMARC)
-- (docs/mail.md, "Sending domains"). Declared in src/modules/sending-domains/schema.ts.
--
-- sending_domains: the requirements' columns (§6.2: domain, the three
-- configured flags, dmarc_policy, status, daily_limit, created_at) plus what
-- the checker needs: the DKIM selectors to look up, when the domain was last
-- checked, that check's outcome and evidence (the records read), and how many
-- checks in a row could not read DNS. A flag changes only when DNS answered:
-- a check whose lookups failed keeps the previous values.
CREATE TABLE sending_domains (
  domain text PRIMARY KEY,
  dkim_configured boolean NOT NULL DEFAULT false,
  spf_configured boolean NOT NULL DEFAULT false,
  dmarc_configured boolean NOT NULL DEFAULT false,
  dmarc_policy text,
  status text NOT NULL DEFAULT 'active',
  daily_limit integer,
  dkim_selectors text[] NOT NULL DEFAULT '{}'::text[],
  last_checked_at timestamptz,
  last_check_outcome text,
  last_check jsonb,
  consecutive_check_errors integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT sending_domains_domain_check CHECK (length(domain) BETWEEN 3 AND 253 AND domain = lower(domain)),
  CONSTRAINT sending_domains_dmarc_policy_check CHECK (dmarc_policy IN ('none', 'quarantine', 'reject')),
  CONSTRAINT sending_domains_status_check CHECK (status IN ('active', 'paused', 'blocked')),
  CONSTRAINT sending_domains_daily_limit_check CHECK (daily_limit >= 0),
  CONSTRAINT sending_domains_last_check_outcome_check CHECK (last_check_outcome IN ('ok', 'error')),
  CONSTRAINT sending_domains_dkim_selectors_check CHECK (cardinality(dkim_selectors) <= 20)
);
CREATE INDEX sending_domains_last_checked_at_idx ON sending_domains (last_checked_at NULLS FIRST);

-- sending_domain_checks: every check with the time it was made (the history
-- that shows what changed and when). outcome `error`: a lookup got no answer
-- (timeout, SERVFAIL, refused); the parts that did answer are still recorded.
CREATE TABLE sending_domain_checks (
  id bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
  domain text NOT NULL REFERENCES sending_domains (domain) ON DELETE CASCADE,
  checked_at timestamptz NOT NULL,
  outcome text NOT NULL,
  spf_state text NOT NULL,
  dkim_state text NOT NULL,
  dmarc_state text NOT NULL,
  dmarc_policy text,
  evidence jsonb NOT NULL,
  duration_ms integer NOT NULL,
  CONSTRAINT sending_domain_checks_outcome_check CHECK (outcome IN ('ok', 'error')),
  CONSTRAINT sending_domain_checks_spf_state_check CHECK (spf_state IN ('configured', 'not_configured', 'error')),
  CONSTRAINT sending_domain_checks_dkim_state_check CHECK (dkim_state IN ('configured', 'not_configured', 'error')),
  CONSTRAINT sending_domain_checks_dmarc_state_check CHECK (dmarc_state IN ('configured', 'not_configured', 'error')),
  CONSTRAINT sending_domain_checks_dmarc_policy_check CHECK (dmarc_policy IN ('none', 'quarantine', 'reject'))
);
CREATE INDEX sending_domain_checks_domain_checked_at_idx ON sending_domain_checks (domain, checked_at DESC);
CREATE INDEX sending_domain_checks_checked_at_idx ON sending_domain_checks (checked_at);
