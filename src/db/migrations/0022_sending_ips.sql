-- Sending IPs, their warm-up and their DNSBL state (docs/mail.md, docs/adr/0020-dnsbl-checking-and-warmup.md).
-- Declared in src/modules/sending-ips/schema.ts and src/modules/dnsbl/schema.ts. The
-- blacklist_checks stream (the history of every DNSBL query) is in the tier files of
-- this migration, generated from src/modules/dnsbl/stream.ts.

-- warmup_plans: a daily-limit schedule (schedule[1] = day 1's limit …, never decreasing)
-- and the gates a day must pass to advance. Three templates are seeded (builtin); all are editable.
CREATE TABLE warmup_plans (
  id integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
  name text NOT NULL CONSTRAINT warmup_plans_name_key UNIQUE,
  description text NOT NULL DEFAULT '',
  schedule integer[] NOT NULL,
  max_bounce_percent double precision NOT NULL DEFAULT 2,
  max_complaint_percent double precision NOT NULL DEFAULT 0.1,
  min_daily_events integer NOT NULL DEFAULT 1,
  builtin boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT warmup_plans_name_check CHECK (length(name) BETWEEN 1 AND 100),
  CONSTRAINT warmup_plans_schedule_check CHECK (cardinality(schedule) BETWEEN 1 AND 365),
  CONSTRAINT warmup_plans_gates_check CHECK (max_bounce_percent BETWEEN 0 AND 100 AND max_complaint_percent BETWEEN 0 AND 100 AND min_daily_events >= 0)
);

-- warm-up plan templates (src/modules/sending-ips/templates.ts)
INSERT INTO warmup_plans (name, description, schedule, builtin) VALUES
  ('conservative', '90 days: 50 on day 1, 500 by day 11, 5,000 by day 45, 50,000 on day 90', '{50,60,80,100,130,160,200,250,320,400,500,540,570,610,660,700,750,800,860,920,980,1050,1130,1210,1290,1380,1480,1580,1690,1810,1940,2070,2220,2370,2540,2720,2910,3110,3330,3560,3810,4080,4370,4670,5000,5260,5540,5830,6140,6460,6800,7150,7530,7920,8340,8780,9240,9720,10230,10770,11340,11930,12560,13220,13910,14640,15410,16220,17070,17970,18910,19910,20950,22050,23210,24430,25710,27060,28480,29970,31550,33200,34950,36780,38710,40750,42880,45140,47510,50000}', true),
  ('moderate', '60 days: 50 on day 1, 500 by day 7, 5,000 by day 30, 50,000 on day 60', '{50,70,110,160,230,340,500,550,610,680,750,820,910,1010,1110,1230,1360,1500,1660,1840,2030,2240,2480,2740,3030,3350,3700,4090,4520,5000,5400,5830,6290,6800,7340,7920,8560,9240,9980,10770,11630,12560,13560,14640,15810,17070,18430,19910,21490,23210,25060,27060,29220,31550,34060,36780,39720,42880,46310,50000}', true),
  ('aggressive', '30 days: 50 on day 1, 500 by day 4, 5,000 by day 15, 50,000 on day 30', '{50,110,230,500,620,760,940,1160,1420,1760,2160,2670,3290,4060,5000,5830,6800,7920,9240,10770,12560,14640,17070,19910,23210,27060,31550,36780,42880,50000}', true);

-- sending_ips: §6.2 of the mail-cluster requirements, column for column, plus what
-- warm-up, auto-response and the PTR check need (warmup_plan_id … ptr_checked_at).
CREATE TABLE sending_ips (
  ip inet PRIMARY KEY,
  ip_version smallint NOT NULL,
  node_id text REFERENCES nodes (id) ON DELETE SET NULL,
  subnet cidr,
  ptr_record text,
  status text NOT NULL DEFAULT 'active',
  warmup_start date,
  warmup_day integer NOT NULL DEFAULT 0,
  daily_limit integer,
  current_daily_sent integer NOT NULL DEFAULT 0,
  blacklist_count integer NOT NULL DEFAULT 0,
  reputation_score integer NOT NULL DEFAULT 50,
  last_blacklist_check timestamptz,
  notes text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  status_reason text,
  status_changed_at timestamptz,
  warmup_plan_id integer REFERENCES warmup_plans (id) ON DELETE RESTRICT,
  warmup_held boolean NOT NULL DEFAULT false,
  warmup_held_reason text,
  warmup_evaluated_on date,
  warmup_gate jsonb,
  ptr_confirmed boolean,
  ptr_checked_at timestamptz,
  ptr_error text,
  CONSTRAINT sending_ips_status_check CHECK (status IN ('active', 'warming', 'paused', 'blacklisted', 'retired')),
  CONSTRAINT sending_ips_ip_version_check CHECK (ip_version = family(ip) AND masklen(ip) = CASE WHEN family(ip) = 4 THEN 32 ELSE 128 END),
  CONSTRAINT sending_ips_subnet_check CHECK (subnet IS NULL OR ip <<= subnet),
  CONSTRAINT sending_ips_counts_check CHECK (warmup_day >= 0 AND current_daily_sent >= 0 AND blacklist_count >= 0 AND (daily_limit IS NULL OR daily_limit >= 0)),
  CONSTRAINT sending_ips_reputation_score_check CHECK (reputation_score BETWEEN 0 AND 100),
  CONSTRAINT sending_ips_notes_check CHECK (notes IS NULL OR length(notes) <= 2000)
);
CREATE INDEX idx_sending_ips_node ON sending_ips (node_id, ip);
CREATE INDEX idx_sending_ips_status ON sending_ips (status, ip);
CREATE INDEX idx_sending_ips_subnet ON sending_ips (subnet);
CREATE INDEX idx_sending_ips_listed ON sending_ips (ip) WHERE blacklist_count > 0;

-- dnsbl_tiers: how often each tier's zones are checked per IP, and what a listing does.
CREATE TABLE dnsbl_tiers (
  tier text PRIMARY KEY,
  check_interval_seconds integer NOT NULL,
  auto_response text NOT NULL,
  CONSTRAINT dnsbl_tiers_tier_check CHECK (tier IN ('critical', 'high', 'medium', 'low')),
  CONSTRAINT dnsbl_tiers_auto_response_check CHECK (auto_response IN ('pause', 'alert')),
  CONSTRAINT dnsbl_tiers_check_interval_seconds_check CHECK (check_interval_seconds BETWEEN 60 AND 604800)
);
INSERT INTO dnsbl_tiers (tier, check_interval_seconds, auto_response) VALUES
  ('critical', 60, 'pause'), ('high', 300, 'alert'), ('medium', 900, 'alert'), ('low', 3600, 'alert');

-- dnsbl_zones: the lists checked (seeded with 26 zones; editable).
CREATE TABLE dnsbl_zones (
  zone text PRIMARY KEY,
  tier text NOT NULL REFERENCES dnsbl_tiers (tier),
  enabled boolean NOT NULL DEFAULT true,
  ipv6 boolean NOT NULL DEFAULT false,
  delist_url text,
  description text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT dnsbl_zones_tier_check CHECK (tier IN ('critical', 'high', 'medium', 'low')),
  CONSTRAINT dnsbl_zones_zone_check CHECK (zone ~ '^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$' AND length(zone) <= 253)
);
INSERT INTO dnsbl_zones (zone, tier, ipv6, delist_url) VALUES
  ('zen.spamhaus.org', 'critical', true, 'https://check.spamhaus.org/'),
  ('b.barracudacentral.org', 'critical', false, 'https://www.barracudacentral.org/rbl/removal-request'),
  ('bl.spamcop.net', 'critical', false, 'https://www.spamcop.net/bl.shtml'),
  ('dnsbl.sorbs.net', 'high', false, 'http://www.sorbs.net/delisting/'),
  ('cbl.abuseat.org', 'high', false, 'https://check.spamhaus.org/'),
  ('psbl.surriel.com', 'high', false, 'https://psbl.org/remove'),
  ('bl.mailspike.net', 'high', false, 'https://mailspike.org/iplookup.html'),
  ('ix.dnsbl.manitu.net', 'high', false, 'https://www.dnsbl.manitu.net/'),
  ('dnsbl.dronebl.org', 'high', true, 'https://dronebl.org/lookup'),
  ('dnsbl-1.uceprotect.net', 'medium', false, 'https://www.uceprotect.net/en/rblcheck.php'),
  ('dnsbl-2.uceprotect.net', 'medium', false, 'https://www.uceprotect.net/en/rblcheck.php'),
  ('dnsbl-3.uceprotect.net', 'medium', false, 'https://www.uceprotect.net/en/rblcheck.php'),
  ('dyna.spamrats.com', 'medium', false, 'https://www.spamrats.com/removal.php'),
  ('noptr.spamrats.com', 'medium', false, 'https://www.spamrats.com/removal.php'),
  ('spam.spamrats.com', 'medium', false, 'https://www.spamrats.com/removal.php'),
  ('db.wpbl.info', 'medium', false, 'https://www.wpbl.info/'),
  ('bl.spameatingmonkey.net', 'medium', false, 'https://spameatingmonkey.com/lookup'),
  ('truncate.gbudb.net', 'medium', false, 'https://www.gbudb.com/truncate/'),
  ('bl.blocklist.de', 'medium', false, 'https://www.blocklist.de/en/delist.html'),
  ('all.s5h.net', 'medium', false, 'https://www.usenix.org.uk/content/rbl.html'),
  ('rbl.interserver.net', 'medium', false, 'https://rbl.interserver.net/'),
  ('dnsbl.justspam.org', 'low', false, 'https://www.justspam.org/'),
  ('spam.dnsbl.anonmails.de', 'low', false, 'https://anonmails.de/dnsbl.php'),
  ('ubl.unsubscore.com', 'low', false, 'https://www.lashback.com/blacklist/'),
  ('dnsbl.kempt.net', 'low', false, 'http://www.kempt.net/'),
  ('bl.nszones.com', 'low', false, 'https://www.nszones.com/');

-- dnsbl_listings: the current state of each (IP, zone): last known listed/clean (an
-- error keeps it), since when, the last answer and when it is due again.
CREATE TABLE dnsbl_listings (
  ip inet NOT NULL REFERENCES sending_ips (ip) ON DELETE CASCADE,
  zone text NOT NULL REFERENCES dnsbl_zones (zone) ON DELETE CASCADE ON UPDATE CASCADE,
  listed boolean,
  listed_since timestamptz,
  delisted_at timestamptz,
  last_status text NOT NULL,
  response text,
  reason text,
  error text,
  checked_at timestamptz NOT NULL,
  PRIMARY KEY (ip, zone),
  CONSTRAINT dnsbl_listings_last_status_check CHECK (last_status IN ('listed', 'clean', 'error'))
);
CREATE INDEX dnsbl_listings_listed_idx ON dnsbl_listings (zone, ip) WHERE listed;
