-- /search questions whose best hit was weak (see bot.knowledge.WEAK_SCORE): answered, but probably not well.
-- Kept apart from knowledge_misses, which stays "found nothing". No user id, on purpose.
CREATE TABLE knowledge_weak_answers (
    id         INTEGER PRIMARY KEY,
    guild_id   INTEGER,               -- NULL when asked in a DM
    query      TEXT    NOT NULL,      -- as typed, trimmed
    query_key  TEXT    NOT NULL,      -- normalised, so "Kubernetes" and "kubernetes " count together
    best_entry TEXT    NOT NULL,      -- the entry that came first
    best_score REAL    NOT NULL,      -- its bm25 score (negative; closer to 0 is weaker)
    asked_at   TEXT    NOT NULL
);
CREATE INDEX knowledge_weak_answers_by_guild ON knowledge_weak_answers (guild_id, query_key);
CREATE INDEX knowledge_weak_answers_by_time ON knowledge_weak_answers (asked_at);
