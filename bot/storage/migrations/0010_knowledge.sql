-- Knowledge base: a full-text index rebuilt from content/ at every load, questions it could not answer, look-ups.
CREATE VIRTUAL TABLE knowledge_fts USING fts5(
    entry_id UNINDEXED,
    title,
    aliases,
    tags,
    summary,
    body,
    tokenize = 'porter unicode61 remove_diacritics 2'
);

-- /search and /topic queries that found nothing, for /nexus gaps. No user id, on purpose.
CREATE TABLE knowledge_misses (
    id        INTEGER PRIMARY KEY,
    guild_id  INTEGER,                -- NULL when asked in a DM
    query     TEXT    NOT NULL,       -- as typed, trimmed
    query_key TEXT    NOT NULL,       -- normalised, so "Kubernetes" and "kubernetes " count together
    source    TEXT    NOT NULL CHECK (source IN ('search', 'topic')),
    asked_at  TEXT    NOT NULL
);
CREATE INDEX knowledge_misses_by_guild ON knowledge_misses (guild_id, query_key);
CREATE INDEX knowledge_misses_by_time ON knowledge_misses (asked_at);

-- How often each entry was opened per guild (slash command or button), for staff stats.
CREATE TABLE knowledge_lookups (
    guild_id  INTEGER NOT NULL,       -- 0 for DMs
    entry_id  TEXT    NOT NULL,
    count     INTEGER NOT NULL DEFAULT 0,
    last_at   TEXT    NOT NULL,
    PRIMARY KEY (guild_id, entry_id)
);
