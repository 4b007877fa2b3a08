-- How many learners wait in matching's pool per project and track, for /match board and /nexus stats: counting
-- the pool on every read grows with it (50,000 waiting is a benchmark size). Triggers keep it on every write.
-- Only AFTER triggers: an upsert that turns into an update fires the update's triggers and not AFTER INSERT.
CREATE TABLE pool_counts (
    guild_id    INTEGER NOT NULL,
    project_key TEXT    NOT NULL,
    track       TEXT    NOT NULL,
    waiting     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (guild_id, project_key, track)
) WITHOUT ROWID;

INSERT INTO pool_counts (guild_id, project_key, track, waiting)
SELECT guild_id, project_key, track, COUNT(*) FROM match_pool WHERE state = 'waiting'
GROUP BY guild_id, project_key, track;

CREATE TRIGGER pool_counts_after_insert AFTER INSERT ON match_pool WHEN NEW.state = 'waiting' BEGIN
    INSERT INTO pool_counts (guild_id, project_key, track, waiting) VALUES (NEW.guild_id, NEW.project_key, NEW.track, 1)
    ON CONFLICT (guild_id, project_key, track) DO UPDATE SET waiting = waiting + 1;
END;

CREATE TRIGGER pool_counts_after_update AFTER UPDATE OF state, project_key, track, guild_id ON match_pool BEGIN
    UPDATE pool_counts SET waiting = waiting - 1
    WHERE guild_id = OLD.guild_id AND project_key = OLD.project_key AND track = OLD.track AND OLD.state = 'waiting';
    INSERT INTO pool_counts (guild_id, project_key, track, waiting)
    SELECT NEW.guild_id, NEW.project_key, NEW.track, 1 WHERE NEW.state = 'waiting'
    ON CONFLICT (guild_id, project_key, track) DO UPDATE SET waiting = waiting + 1;
END;

CREATE TRIGGER pool_counts_after_delete AFTER DELETE ON match_pool WHEN OLD.state = 'waiting' BEGIN
    UPDATE pool_counts SET waiting = waiting - 1
    WHERE guild_id = OLD.guild_id AND project_key = OLD.project_key AND track = OLD.track;
END;
