-- Retention: a closed cohort's personal data is deleted `retention_days` after it closed. What stats need afterwards
-- is kept here, as counts without any user id (JSON, e.g. {"announced": 40, "teams": 17}).
ALTER TABLE cohorts ADD COLUMN purged_counts TEXT;
CREATE INDEX cohorts_awaiting_purge ON cohorts (closed_at) WHERE closed_at IS NOT NULL AND purged_at IS NULL;
