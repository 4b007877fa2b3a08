-- Learners as Nexus knows them (per guild), and their project-choice announcements with full history.
CREATE TABLE learners (
    guild_id          INTEGER NOT NULL,
    user_id           INTEGER NOT NULL,
    display_name      TEXT    NOT NULL,
    first_seen_at     TEXT    NOT NULL,
    left_at           TEXT,                          -- set when the member leaves the guild; kept for history
    reminders_opt_out INTEGER NOT NULL DEFAULT 0,    -- /reminders off
    PRIMARY KEY (guild_id, user_id)
);

CREATE TABLE announcements (
    id           INTEGER PRIMARY KEY,
    guild_id     INTEGER NOT NULL,
    user_id      INTEGER NOT NULL,
    project_key  TEXT    NOT NULL,   -- catalogue key (e.g. 'job-board') or 'custom:<normalised name>'
    project_name TEXT    NOT NULL,   -- display name: official title for the track, or the custom name as typed
    track        TEXT    NOT NULL CHECK (track IN ('frontend', 'backend')),
    summary      TEXT,
    repo_url     TEXT,
    timezone     TEXT,
    late         INTEGER NOT NULL DEFAULT 0,
    created_at   TEXT    NOT NULL,
    ended_at     TEXT,               -- replaced by a newer announcement or withdrawn
    end_reason   TEXT CHECK (end_reason IN ('replaced', 'withdrawn', 'forgotten')),
    message_id   INTEGER,            -- the public post in the configured channel; NULL = not posted yet
    posted_at    TEXT,
    FOREIGN KEY (guild_id, user_id) REFERENCES learners (guild_id, user_id)
);
-- One current choice per learner per guild.
CREATE UNIQUE INDEX announcements_one_current ON announcements (guild_id, user_id) WHERE ended_at IS NULL;
CREATE INDEX announcements_by_project ON announcements (guild_id, project_key, track) WHERE ended_at IS NULL;
CREATE INDEX announcements_unposted ON announcements (guild_id) WHERE ended_at IS NULL AND message_id IS NULL;
