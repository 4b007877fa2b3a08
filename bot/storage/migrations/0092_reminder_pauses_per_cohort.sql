-- /reminders pause and resume act on one cohort: each cohort keeps its own week-one schedule, and pausing one must not
-- hold up another's. A pause that existed belonged to the guild's only cohort. NULL: a guild with no cohort yet.
CREATE TABLE reminder_pauses_by_cohort (
    guild_id  INTEGER NOT NULL,
    cohort_id INTEGER REFERENCES cohorts (id),
    paused_at TEXT    NOT NULL,
    paused_by INTEGER NOT NULL
);
CREATE UNIQUE INDEX reminder_pauses_one_per_cohort ON reminder_pauses_by_cohort (guild_id, IFNULL(cohort_id, 0));
INSERT INTO reminder_pauses_by_cohort (guild_id, cohort_id, paused_at, paused_by)
SELECT p.guild_id, (SELECT MIN(c.id) FROM cohorts c WHERE c.guild_id = p.guild_id), p.paused_at, p.paused_by
FROM reminder_pauses p;
DROP TABLE reminder_pauses;
ALTER TABLE reminder_pauses_by_cohort RENAME TO reminder_pauses;
