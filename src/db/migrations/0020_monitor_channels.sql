-- The notification channels a monitored service names for its own alerts (service
-- down / degraded and their recovery), as Uptime Kuma and Gatus attach notifications
-- to each monitor. Ids of notification_channels; an id whose channel is gone is
-- skipped when notices are queued (no foreign key on array elements).
ALTER TABLE monitors ADD COLUMN channel_ids integer[] NOT NULL DEFAULT '{}'::integer[];
