-- How many learners wait in matching's pool per project and track, and since when the first of them, for
-- /match board and /nexus stats: reading the pool on every look grows with it (50,000 waiting is a benchmark
-- size). Triggers keep both on every write; the oldest wait is re-read from the line's index, one seek.
-- Only AFTER triggers: an upsert that turns into an update fires the update's triggers and not AFTER INSERT.
CREATE TABLE pool_counts (
    guild_id    INTEGER NOT NULL,
    project_key TEXT    NOT NULL,
    track       TEXT    NOT NULL,
    waiting     INTEGER NOT NULL DEFAULT 0,
    oldest      TEXT,               -- queued_at of the first learner in line; NULL when nobody waits
    PRIMARY KEY (guild_id, project_key, track)
) WITHOUT ROWID;

INSERT INTO pool_counts (guild_id, project_key, track, waiting, oldest)
SELECT guild_id, project_key, track, COUNT(*), MIN(queued_at) FROM match_pool WHERE state = 'waiting'
GROUP BY guild_id, project_key, track;

CREATE TRIGGER pool_counts_after_insert AFTER INSERT ON match_pool WHEN NEW.state = 'waiting' BEGIN
    INSERT INTO pool_counts (guild_id, project_key, track, waiting, oldest)
    VALUES (NEW.guild_id, NEW.project_key, NEW.track, 1, NEW.queued_at)
    ON CONFLICT (guild_id, project_key, track) DO UPDATE SET waiting = waiting + 1,
        oldest = CASE WHEN oldest IS NULL OR excluded.oldest < oldest THEN excluded.oldest ELSE oldest END;
END;

CREATE TRIGGER pool_counts_after_update AFTER UPDATE OF state, project_key, track, guild_id, queued_at
ON match_pool BEGIN
    UPDATE pool_counts SET waiting = waiting - (OLD.state = 'waiting'),
        oldest = (SELECT MIN(p.queued_at) FROM match_pool p WHERE p.guild_id = OLD.guild_id
                  AND p.project_key = OLD.project_key AND p.track = OLD.track AND p.state = 'waiting')
    WHERE guild_id = OLD.guild_id AND project_key = OLD.project_key AND track = OLD.track;
    INSERT INTO pool_counts (guild_id, project_key, track, waiting, oldest)
    SELECT NEW.guild_id, NEW.project_key, NEW.track, 1, NEW.queued_at WHERE NEW.state = 'waiting'
    ON CONFLICT (guild_id, project_key, track) DO UPDATE SET waiting = waiting + 1,
        oldest = (SELECT MIN(p.queued_at) FROM match_pool p WHERE p.guild_id = excluded.guild_id
                  AND p.project_key = excluded.project_key AND p.track = excluded.track AND p.state = 'waiting');
END;

CREATE TRIGGER pool_counts_after_delete AFTER DELETE ON match_pool WHEN OLD.state = 'waiting' BEGIN
    UPDATE pool_counts SET waiting = waiting - 1,
        oldest = (SELECT MIN(p.queued_at) FROM match_pool p WHERE p.guild_id = OLD.guild_id
                  AND p.project_key = OLD.project_key AND p.track = OLD.track AND p.state = 'waiting')
    WHERE guild_id = OLD.guild_id AND project_key = OLD.project_key AND track = OLD.track;
END;
