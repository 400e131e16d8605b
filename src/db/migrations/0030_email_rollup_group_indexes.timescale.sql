-- Generated from the email_events stream declaration (timescale tier) by scripts/gen-rollup-index-migration.ts:
-- the group indexes of email_stats_ip_1h, email_stats_ip_1d, email_stats_sender_1h, email_stats_sender_1d, email_stats_destination_1h, email_stats_destination_1d, email_stats_mx_1h, email_stats_mx_1d.
-- Applied migrations are immutable: change the declaration and add a new migration instead.

CREATE INDEX _opsdeck_cagg_email_stats_ip_1h_groups_idx ON _opsdeck_cagg_email_stats_ip_1h (sending_ip, event_type, bucket DESC);
CREATE INDEX _opsdeck_cagg_email_stats_ip_1d_groups_idx ON _opsdeck_cagg_email_stats_ip_1d (sending_ip, event_type, bucket DESC);
CREATE INDEX _opsdeck_cagg_email_stats_sender_1h_groups_idx ON _opsdeck_cagg_email_stats_sender_1h (from_domain, event_type, bucket DESC);
CREATE INDEX _opsdeck_cagg_email_stats_sender_1d_groups_idx ON _opsdeck_cagg_email_stats_sender_1d (from_domain, event_type, bucket DESC);
CREATE INDEX _opsdeck_cagg_email_stats_destination_1h_groups_idx ON _opsdeck_cagg_email_stats_destination_1h (to_domain, event_type, bucket DESC);
CREATE INDEX _opsdeck_cagg_email_stats_destination_1d_groups_idx ON _opsdeck_cagg_email_stats_destination_1d (to_domain, event_type, bucket DESC);
CREATE INDEX _opsdeck_cagg_email_stats_mx_1h_groups_idx ON _opsdeck_cagg_email_stats_mx_1h (mx_host, event_type, bucket DESC);
CREATE INDEX _opsdeck_cagg_email_stats_mx_1d_groups_idx ON _opsdeck_cagg_email_stats_mx_1d (mx_host, event_type, bucket DESC);
