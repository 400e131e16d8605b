-- Access control: dashboard users, API keys, refresh tokens, and per-user saved views.
-- Drizzle declarations of these tables: src/modules/auth/schema.ts and
-- src/modules/saved-views/schema.ts (a test compares them with this DDL).

-- People who log in. Passwords are argon2id hashes (OWASP parameters); usernames
-- are unique regardless of case.
CREATE TABLE dashboard_users (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  username text NOT NULL CHECK (length(username) BETWEEN 1 AND 64),
  password_hash text NOT NULL,
  role text NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
  email text,
  telegram_id bigint,
  disabled boolean NOT NULL DEFAULT false,
  must_change_password boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  password_changed_at timestamptz NOT NULL DEFAULT now(),
  last_login_at timestamptz
);
CREATE UNIQUE INDEX dashboard_users_username_key ON dashboard_users (lower(username));
CREATE INDEX dashboard_users_active_admins_idx ON dashboard_users (id) WHERE role = 'admin' AND NOT disabled;

-- API keys for agents and scripts: `odk_<prefix>_<secret>`; only the prefix is
-- kept in clear, the whole key is stored as a SHA-256 hash (the secret has 256
-- bits of entropy, so a slow hash adds nothing).
CREATE TABLE api_keys (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  prefix text NOT NULL UNIQUE,
  key_hash text NOT NULL,
  scopes text[] NOT NULL CHECK (cardinality(scopes) > 0 AND scopes <@ ARRAY['read', 'ingest', 'admin']::text[]),
  created_by integer REFERENCES dashboard_users (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz,
  revoked_at timestamptz,
  last_used_at timestamptz
);

-- Opaque refresh tokens, stored hashed. Every login starts a family; each use
-- rotates the token (replaced_by points at its successor). Presenting a token
-- that was already rotated or revoked revokes the whole family.
CREATE TABLE refresh_tokens (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id integer NOT NULL REFERENCES dashboard_users (id) ON DELETE CASCADE,
  family_id uuid NOT NULL,
  token_hash text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz,
  revoked_reason text,
  replaced_by bigint REFERENCES refresh_tokens (id) ON DELETE SET NULL
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id, expires_at);

-- Per-user named dashboard configurations; at most one default per user.
CREATE TABLE saved_views (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id integer NOT NULL REFERENCES dashboard_users (id) ON DELETE CASCADE,
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  config jsonb NOT NULL DEFAULT '{}'::jsonb,
  is_default boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT saved_views_user_name_key UNIQUE (user_id, name)
);
CREATE UNIQUE INDEX saved_views_one_default_idx ON saved_views (user_id) WHERE is_default;
