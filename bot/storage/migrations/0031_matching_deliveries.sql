-- Matching, part two: where proposals were delivered, DM-fallback threads, the staff log, and faster lines.

-- Each learner's copy of a proposal (a DM, or a message in their fallback thread when DMs are closed), so its
-- buttons can be closed when the proposal ends.
CREATE TABLE proposal_deliveries (
    proposal_id INTEGER NOT NULL REFERENCES proposals (id),
    user_id     INTEGER NOT NULL,
    channel_id  INTEGER NOT NULL,
    message_id  INTEGER NOT NULL,
    via         TEXT    NOT NULL CHECK (via IN ('dm', 'thread')),
    PRIMARY KEY (proposal_id, user_id)
);

-- One private thread per learner in the configured channel, used instead of DMs while theirs are closed.
CREATE TABLE dm_fallback_threads (
    guild_id   INTEGER NOT NULL,
    user_id    INTEGER NOT NULL,
    thread_id  INTEGER NOT NULL,
    created_at TEXT    NOT NULL,
    PRIMARY KEY (guild_id, user_id)
);

-- Staff actions on matching (manual pairs, leftover runs), for accountability.
CREATE TABLE matching_log (
    id         INTEGER PRIMARY KEY,
    guild_id   INTEGER NOT NULL,
    actor_id   INTEGER NOT NULL,
    action     TEXT    NOT NULL CHECK (action IN ('pair', 'run')),
    details    TEXT    NOT NULL,
    created_at TEXT    NOT NULL
);
CREATE INDEX matching_log_by_guild ON matching_log (guild_id, created_at);

-- The line in full order (queued_at, then user id) straight from the index, so a scan can stop at LIMIT.
DROP INDEX match_pool_line;
CREATE INDEX match_pool_line ON match_pool (guild_id, project_key, track, state, queued_at, user_id);

CREATE INDEX teams_active_by_project ON teams (guild_id, project_key) WHERE ended_at IS NULL;
