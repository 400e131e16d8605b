-- IP pools (docs/mail.md "IP pools"): named groups of sending IPs that ZoneMTA's sending
-- zones send from. Declared in src/modules/sending-ips/schema.ts.
CREATE TABLE ip_pools (
  name text PRIMARY KEY,
  description text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT ip_pools_name_check CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
  CONSTRAINT ip_pools_description_check CHECK (length(description) <= 500)
);

-- An IP belongs to at most one pool; pool_ratio is its share of the pool's connections
-- (ZoneMTA's `ratio`, 0 < r ≤ 1; null: Opsdeck decides, see docs/mail.md).
ALTER TABLE sending_ips
  ADD COLUMN pool text REFERENCES ip_pools (name) ON UPDATE CASCADE ON DELETE RESTRICT,
  ADD COLUMN pool_ratio double precision,
  ADD CONSTRAINT sending_ips_pool_ratio_check CHECK (pool_ratio IS NULL OR (pool_ratio > 0 AND pool_ratio <= 1));
CREATE INDEX idx_sending_ips_pool ON sending_ips (pool, ip);
