-- Generated from the email_events stream declaration (every tier) by scripts/gen-rollup-migration.ts:
-- the columns enhanced_status.
-- Applied migrations are immutable: change the declaration and add a new migration instead.

ALTER TABLE email_events ADD COLUMN enhanced_status text;

COMMENT ON COLUMN email_events.enhanced_status IS 'RFC 3463 enhanced status code of the reply (5.1.1 = bad mailbox), read by Opsdeck from the reply text when the sender gives none';

-- Filled by Opsdeck at ingest when a sender gives none; the same rule for the events already stored.
UPDATE email_events SET enhanced_status = substring(coalesce(status_message, bounce_message) from '(?:^|[^0-9.])([245]\.[0-9]{1,3}\.[0-9]{1,3})(?:[^0-9.]|$)') WHERE enhanced_status IS NULL AND (substring(coalesce(status_message, bounce_message) from '(?:^|[^0-9.])([245]\.[0-9]{1,3}\.[0-9]{1,3})(?:[^0-9.]|$)')) IS NOT NULL;
