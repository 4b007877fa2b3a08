-- How many learners each guild has who are still in the server, for /nexus stats and its hourly log line:
-- counting the learners table on every read grows with the cohort. Triggers keep it on every write. Only AFTER
-- triggers: an upsert that turns into an update fires the update's triggers and not AFTER INSERT.
CREATE TABLE learner_counts (
    guild_id INTEGER PRIMARY KEY,
    present  INTEGER NOT NULL DEFAULT 0
);

INSERT INTO learner_counts (guild_id, present)
SELECT guild_id, COUNT(*) FROM learners WHERE left_at IS NULL GROUP BY guild_id;

CREATE TRIGGER learner_counts_after_insert AFTER INSERT ON learners WHEN NEW.left_at IS NULL BEGIN
    INSERT INTO learner_counts (guild_id, present) VALUES (NEW.guild_id, 1)
    ON CONFLICT (guild_id) DO UPDATE SET present = present + 1;
END;

CREATE TRIGGER learner_counts_after_update AFTER UPDATE OF left_at, guild_id ON learners BEGIN
    UPDATE learner_counts SET present = present - 1 WHERE guild_id = OLD.guild_id AND OLD.left_at IS NULL;
    INSERT INTO learner_counts (guild_id, present) SELECT NEW.guild_id, 1 WHERE NEW.left_at IS NULL
    ON CONFLICT (guild_id) DO UPDATE SET present = present + 1;
END;

CREATE TRIGGER learner_counts_after_delete AFTER DELETE ON learners WHEN OLD.left_at IS NULL BEGIN
    UPDATE learner_counts SET present = present - 1 WHERE guild_id = OLD.guild_id;
END;
