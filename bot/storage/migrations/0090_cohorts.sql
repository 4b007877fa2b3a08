-- Cohorts: a server runs the program cohort after cohort, sometimes several at once, each with its own start
-- date, timezone, channel and (optionally) learner role. Until now a guild had exactly one, spread over
-- guild_config (start, timezone, channel, role) and reminder_cohorts (its week-one schedule); each guild_config
-- becomes the guild's first cohort here, and every per-learner row is attached to it.
--
-- The state (upcoming, open, closed) is not stored: it follows from the start date and closed_at (bot.cohorts),
-- so it can never disagree with them. guild_config keeps the server-wide settings (staff role, staff channel)
-- and stays the single-cohort form that /nexus setup edits.
CREATE TABLE cohorts (
    id              INTEGER PRIMARY KEY,
    guild_id        INTEGER NOT NULL,
    name            TEXT    NOT NULL,
    start_date      TEXT    NOT NULL,   -- ISO date, local to `timezone`
    timezone        TEXT    NOT NULL,   -- IANA name or fixed offset label
    channel_id      INTEGER NOT NULL,
    learner_role_id INTEGER,
    created_at      TEXT    NOT NULL,
    created_by      INTEGER,            -- NULL: made by this migration from the guild's configuration
    closed_at       TEXT,               -- closed: pool emptied, board frozen; retention counts from here
    closed_by       INTEGER,
    purge_notice_at TEXT,               -- staff were told the personal data is about to be deleted
    purged_at       TEXT                -- personal data deleted (retention); the row and counts stay
);
-- Names are how staff pick a cohort: one spelling per server, whatever the letter case.
CREATE UNIQUE INDEX cohorts_name ON cohorts (guild_id, name COLLATE NOCASE);
CREATE INDEX cohorts_by_guild ON cohorts (guild_id, start_date);

INSERT INTO cohorts (guild_id, name, start_date, timezone, channel_id, learner_role_id, created_at)
SELECT guild_id, 'Cohort ' || cohort_start, cohort_start, timezone, channel_id, learner_role_id, updated_at
FROM guild_config;

-- Every per-learner row names its cohort. NULL means "the guild's first cohort, once there is one": rows written
-- before /nexus setup ran are adopted by the cohort it creates (bot.storage.cohorts). The learner's current
-- announcement is what puts them in a cohort; the pool, proposals and teams follow it.
ALTER TABLE announcements ADD COLUMN cohort_id INTEGER REFERENCES cohorts (id);
ALTER TABLE match_pool ADD COLUMN cohort_id INTEGER REFERENCES cohorts (id);
ALTER TABLE proposals ADD COLUMN cohort_id INTEGER REFERENCES cohorts (id);
ALTER TABLE teams ADD COLUMN cohort_id INTEGER REFERENCES cohorts (id);
ALTER TABLE matching_log ADD COLUMN cohort_id INTEGER REFERENCES cohorts (id);
ALTER TABLE matching_notices ADD COLUMN cohort_id INTEGER REFERENCES cohorts (id);
ALTER TABLE reminder_cohorts ADD COLUMN cohort_id INTEGER REFERENCES cohorts (id);
ALTER TABLE reminder_runs ADD COLUMN cohort_id INTEGER REFERENCES cohorts (id);
ALTER TABLE reminder_deliveries ADD COLUMN cohort_id INTEGER REFERENCES cohorts (id);

UPDATE announcements SET cohort_id = (SELECT c.id FROM cohorts c WHERE c.guild_id = announcements.guild_id);
UPDATE match_pool SET cohort_id = (SELECT c.id FROM cohorts c WHERE c.guild_id = match_pool.guild_id);
UPDATE proposals SET cohort_id = (SELECT c.id FROM cohorts c WHERE c.guild_id = proposals.guild_id);
UPDATE teams SET cohort_id = (SELECT c.id FROM cohorts c WHERE c.guild_id = teams.guild_id);
UPDATE matching_log SET cohort_id = (SELECT c.id FROM cohorts c WHERE c.guild_id = matching_log.guild_id);
UPDATE matching_notices SET cohort_id = (SELECT c.id FROM cohorts c WHERE c.guild_id = matching_notices.guild_id);
UPDATE reminder_cohorts SET cohort_id = (SELECT c.id FROM cohorts c WHERE c.guild_id = reminder_cohorts.guild_id);
UPDATE reminder_runs SET cohort_id = (SELECT c.id FROM cohorts c WHERE c.guild_id = reminder_runs.guild_id);
UPDATE reminder_deliveries SET cohort_id = (
    SELECT c.id FROM cohorts c WHERE c.guild_id = reminder_deliveries.guild_id);

-- A cohort's board, pool and history are read per cohort; these find its rows without scanning the guild's.
CREATE INDEX announcements_by_cohort ON announcements (cohort_id, project_key, track) WHERE ended_at IS NULL;
CREATE INDEX match_pool_by_cohort ON match_pool (cohort_id, project_key, track, state, queued_at, user_id);
CREATE INDEX proposals_by_cohort ON proposals (cohort_id) WHERE state = 'pending';
CREATE INDEX teams_by_cohort ON teams (cohort_id) WHERE ended_at IS NULL;
CREATE INDEX reminder_runs_by_cohort ON reminder_runs (cohort_id, state);

-- Each cohort keeps its own week-one schedule: one active schedule per cohort instead of per guild (NULL, a guild
-- not set up yet, counts as one cohort).
DROP INDEX reminder_cohorts_one_active;
CREATE UNIQUE INDEX reminder_cohorts_one_active ON reminder_cohorts (guild_id, IFNULL(cohort_id, 0)) WHERE active = 1;
