-- Optional staff channel for summaries (reminders) and staff-facing alerts.
ALTER TABLE guild_config ADD COLUMN staff_channel_id INTEGER;
