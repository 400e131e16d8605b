-- Access-control hardening (docs/adr/0004-access-control.md).

-- Usernames are stored in their canonical form: NFKC, lower case, from a small
-- ASCII alphabet (the application canonicalises at creation and login, so a
-- look-alike such as "vİewer2" never reaches the account "viewer2"). Names made
-- before this migration were ASCII already (the API allowed A-Z a-z 0-9 . _ @ -);
-- only their letter case changes.
UPDATE dashboard_users SET username = lower(username) WHERE username <> lower(username);
ALTER TABLE dashboard_users
  ADD CONSTRAINT dashboard_users_username_canonical CHECK (username ~ '^[a-z0-9][a-z0-9._@-]{0,63}$');

-- Every access token carries the user's token_version at issue time (claim
-- `tv`); disabling, re-enabling, a role change and a password change increment
-- it, so tokens issued before stay dead even after a re-enable, within their TTL.
ALTER TABLE dashboard_users ADD COLUMN token_version integer NOT NULL DEFAULT 0;
