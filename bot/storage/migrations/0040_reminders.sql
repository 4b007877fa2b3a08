-- Week-one reminders: one cohort per guild at a time, one run per (cohort, reminder), one delivery per recipient.
CREATE TABLE reminder_cohorts (
    guild_id     INTEGER NOT NULL,
    cohort_key   TEXT    NOT NULL,   -- the cohort's first start date (ISO); stays when staff correct the date
    cohort_start TEXT    NOT NULL,   -- current start date, local to `timezone`
    timezone     TEXT    NOT NULL,
    active       INTEGER NOT NULL DEFAULT 1,
    created_at   TEXT    NOT NULL,
    PRIMARY KEY (guild_id, cohort_key)
);
CREATE UNIQUE INDEX reminder_cohorts_one_active ON reminder_cohorts (guild_id) WHERE active = 1;

CREATE TABLE reminder_runs (
    guild_id            INTEGER NOT NULL,
    cohort_key          TEXT    NOT NULL,
    reminder_id         TEXT    NOT NULL,
    due_at              TEXT    NOT NULL,   -- UTC ISO instant
    state               TEXT    NOT NULL DEFAULT 'pending'
                        CHECK (state IN ('pending', 'sending', 'sent', 'skipped')),
    reason              TEXT,               -- why it was skipped
    started_at          TEXT,
    finished_at         TEXT,
    total               INTEGER NOT NULL DEFAULT 0,   -- recipients planned (sent + failed + still to go)
    progress_message_id INTEGER,            -- the staff-channel message edited with "sending n/m"
    PRIMARY KEY (guild_id, cohort_key, reminder_id),
    FOREIGN KEY (guild_id, cohort_key) REFERENCES reminder_cohorts (guild_id, cohort_key)
);
CREATE INDEX reminder_runs_pending ON reminder_runs (guild_id, due_at) WHERE state IN ('pending', 'sending');

-- Exactly once: a recipient is claimed (with the nonce its message will carry) before anything is sent.
CREATE TABLE reminder_deliveries (
    guild_id        INTEGER NOT NULL,
    cohort_key      TEXT    NOT NULL,
    reminder_id     TEXT    NOT NULL,
    recipient       INTEGER NOT NULL,   -- user id, or 0 for the one post in a channel
    nonce           TEXT    NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('claimed', 'sent', 'failed', 'retry')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    kind            TEXT,               -- failure kind: closed_dms, left, unknown_user, forbidden, gave_up, ...
    reason          TEXT,
    message_id      INTEGER,
    claimed_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL,
    next_attempt_at TEXT,
    reported_in     TEXT,               -- the channel post (reminder id) that listed this failure
    UNIQUE (guild_id, cohort_key, reminder_id, recipient),
    FOREIGN KEY (guild_id, cohort_key, reminder_id) REFERENCES reminder_runs (guild_id, cohort_key, reminder_id)
);
CREATE INDEX reminder_deliveries_failed ON reminder_deliveries (guild_id, cohort_key) WHERE state = 'failed';

CREATE TABLE reminder_pauses (
    guild_id  INTEGER PRIMARY KEY,
    paused_at TEXT    NOT NULL,
    paused_by INTEGER NOT NULL
);
