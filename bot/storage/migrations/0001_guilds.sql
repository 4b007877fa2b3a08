-- Per-guild configuration set by /nexus setup, and small key/value facts about the bot itself.
CREATE TABLE guild_config (
    guild_id        INTEGER PRIMARY KEY,
    channel_id      INTEGER NOT NULL,
    cohort_start    TEXT    NOT NULL,   -- ISO date, local to `timezone`
    timezone        TEXT    NOT NULL,   -- IANA name or fixed offset label
    learner_role_id INTEGER,
    staff_role_id   INTEGER,
    updated_at      TEXT    NOT NULL,
    updated_by      INTEGER NOT NULL
);

CREATE TABLE bot_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
