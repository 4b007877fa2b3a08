-- The /projects board's counts per project, kept up to date by triggers instead of counted on every read.
--
-- A learner counts on the board when their announcement is current and they are still in the server:
-- on their track, as paired while in a team that has not ended, and as waiting while matching holds them
-- in its pool for the project they announced. board_members says exactly that, per learner. An update or a
-- delete subtracts what the learners it can affect counted before the change and adds what they count after
-- it. An insert only adds: an upsert that turns into an update fires BEFORE INSERT and then the update's own
-- triggers, but not AFTER INSERT, so a BEFORE INSERT subtraction would be counted twice. What an insert adds is
-- exact because of the unique indexes: a new current announcement or learner row counted nothing before,
-- a new pool row makes a learner waiting who was not, a new active membership makes them paired who was not.
-- So board_counts equals a full recount inside every transaction, whichever feature wrote (announcements,
-- matching, data rights); a recount test drives every writer and compares the two.

CREATE VIEW board_members AS
SELECT a.guild_id, a.user_id, a.project_key,
       a.track = 'frontend' AS frontend,
       a.track = 'backend' AS backend,
       EXISTS (SELECT 1 FROM team_members m JOIN teams t ON t.id = m.team_id
               WHERE m.guild_id = a.guild_id AND m.user_id = a.user_id AND m.left_at IS NULL
                 AND t.ended_at IS NULL) AS paired,
       EXISTS (SELECT 1 FROM match_pool p
               WHERE p.guild_id = a.guild_id AND p.user_id = a.user_id AND p.project_key = a.project_key
                 AND p.state = 'waiting') AS waiting
FROM announcements a JOIN learners l ON l.guild_id = a.guild_id AND l.user_id = a.user_id
WHERE a.ended_at IS NULL AND l.left_at IS NULL;

-- Rows whose counts fall to zero stay (a project nobody is on reads as empty, as it would counted afresh).
CREATE TABLE board_counts (
    guild_id    INTEGER NOT NULL,
    project_key TEXT    NOT NULL,
    frontend    INTEGER NOT NULL DEFAULT 0,
    backend     INTEGER NOT NULL DEFAULT 0,
    paired      INTEGER NOT NULL DEFAULT 0,
    waiting     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (guild_id, project_key)
) WITHOUT ROWID;

INSERT INTO board_counts (guild_id, project_key, frontend, backend, paired, waiting)
SELECT guild_id, project_key, SUM(frontend), SUM(backend), SUM(paired), SUM(waiting)
FROM board_members GROUP BY guild_id, project_key;

-- /project lists a project's learners per track, oldest first, and the board names each project after its
-- latest announcement: both read a few entries of an index instead of sorting every announcement.
DROP INDEX announcements_by_project;
CREATE INDEX announcements_by_project ON announcements (guild_id, project_key, track, created_at)
    WHERE ended_at IS NULL;
CREATE INDEX announcements_latest ON announcements (guild_id, project_key, created_at) WHERE ended_at IS NULL;


-- announcements
CREATE TRIGGER board_after_announcements_insert AFTER INSERT ON announcements WHEN NEW.ended_at IS NULL BEGIN
    INSERT INTO board_counts (guild_id, project_key, frontend, backend, paired, waiting)
    SELECT guild_id, project_key, frontend, backend, paired, waiting FROM board_members
    WHERE guild_id = NEW.guild_id AND user_id = NEW.user_id
    ON CONFLICT (guild_id, project_key) DO UPDATE SET frontend = frontend + excluded.frontend,
        backend = backend + excluded.backend, paired = paired + excluded.paired,
        waiting = waiting + excluded.waiting;
END;
CREATE TRIGGER board_before_announcements_update BEFORE UPDATE OF ended_at, project_key, track, guild_id, user_id ON announcements BEGIN
    INSERT INTO board_counts (guild_id, project_key, frontend, backend, paired, waiting)
    SELECT guild_id, project_key, -frontend, -backend, -paired, -waiting FROM board_members
    WHERE guild_id IN (OLD.guild_id, NEW.guild_id) AND user_id IN (OLD.user_id, NEW.user_id)
    ON CONFLICT (guild_id, project_key) DO UPDATE SET frontend = frontend + excluded.frontend,
        backend = backend + excluded.backend, paired = paired + excluded.paired,
        waiting = waiting + excluded.waiting;
END;
CREATE TRIGGER board_after_announcements_update AFTER UPDATE OF ended_at, project_key, track, guild_id, user_id ON announcements BEGIN
    INSERT INTO board_counts (guild_id, project_key, frontend, backend, paired, waiting)
    SELECT guild_id, project_key, frontend, backend, paired, waiting FROM board_members
    WHERE guild_id IN (OLD.guild_id, NEW.guild_id) AND user_id IN (OLD.user_id, NEW.user_id)
    ON CONFLICT (guild_id, project_key) DO UPDATE SET frontend = frontend + excluded.frontend,
        backend = backend + excluded.backend, paired = paired + excluded.paired,
        waiting = waiting + excluded.waiting;
END;
CREATE TRIGGER board_before_announcements_delete BEFORE DELETE ON announcements BEGIN
    INSERT INTO board_counts (guild_id, project_key, frontend, backend, paired, waiting)
    SELECT guild_id, project_key, -frontend, -backend, -paired, -waiting FROM board_members
    WHERE guild_id = OLD.guild_id AND user_id = OLD.user_id
    ON CONFLICT (guild_id, project_key) DO UPDATE SET frontend = frontend + excluded.frontend,
        backend = backend + excluded.backend, paired = paired + excluded.paired,
        waiting = waiting + excluded.waiting;
END;
CREATE TRIGGER board_after_announcements_delete AFTER DELETE ON announcements BEGIN
    INSERT INTO board_counts (guild_id, project_key, frontend, backend, paired, waiting)
    SELECT guild_id, project_key, frontend, backend, paired, waiting FROM board_members
    WHERE guild_id = OLD.guild_id AND user_id = OLD.user_id
    ON CONFLICT (guild_id, project_key) DO UPDATE SET frontend = frontend + excluded.frontend,
        backend = backend + excluded.backend, paired = paired + excluded.paired,
        waiting = waiting + excluded.waiting;
END;

-- learners
CREATE TRIGGER board_after_learners_insert AFTER INSERT ON learners BEGIN
    INSERT INTO board_counts (guild_id, project_key, frontend, backend, paired, waiting)
    SELECT guild_id, project_key, frontend, backend, paired, waiting FROM board_members
    WHERE guild_id = NEW.guild_id AND user_id = NEW.user_id
    ON CONFLICT (guild_id, project_key) DO UPDATE SET frontend = frontend + excluded.frontend,
        backend = backend + excluded.backend, paired = paired + excluded.paired,
        waiting = waiting + excluded.waiting;
END;
CREATE TRIGGER board_before_learners_update BEFORE UPDATE OF left_at, guild_id, user_id ON learners BEGIN
    INSERT INTO board_counts (guild_id, project_key, frontend, backend, paired, waiting)
    SELECT guild_id, project_key, -frontend, -backend, -paired, -waiting FROM board_members
    WHERE guild_id IN (OLD.guild_id, NEW.guild_id) AND user_id IN (OLD.user_id, NEW.user_id)
    ON CONFLICT (guild_id, project_key) DO UPDATE SET frontend = frontend + excluded.frontend,
        backend = backend + excluded.backend, paired = paired + excluded.paired,
        waiting = waiting + excluded.waiting;
END;
CREATE TRIGGER board_after_learners_update AFTER UPDATE OF left_at, guild_id, user_id ON learners BEGIN
    INSERT INTO board_counts (guild_id, project_key, frontend, backend, paired, waiting)
    SELECT guild_id, project_key, frontend, backend, paired, waiting FROM board_members
    WHERE guild_id IN (OLD.guild_id, NEW.guild_id) AND user_id IN (OLD.user_id, NEW.user_id)
    ON CONFLICT (guild_id, project_key) DO UPDATE SET frontend = frontend + excluded.frontend,
        backend = backend + excluded.backend, paired = paired + excluded.paired,
        waiting = waiting + excluded.waiting;
END;
CREATE TRIGGER board_before_learners_delete BEFORE DELETE ON learners BEGIN
    INSERT INTO board_counts (guild_id, project_key, frontend, backend, paired, waiting)
    SELECT guild_id, project_key, -frontend, -backend, -paired, -waiting FROM board_members
    WHERE guild_id = OLD.guild_id AND user_id = OLD.user_id
    ON CONFLICT (guild_id, project_key) DO UPDATE SET frontend = frontend + excluded.frontend,
        backend = backend + excluded.backend, paired = paired + excluded.paired,
        waiting = waiting + excluded.waiting;
END;
CREATE TRIGGER board_after_learners_delete AFTER DELETE ON learners BEGIN
    INSERT INTO board_counts (guild_id, project_key, frontend, backend, paired, waiting)
    SELECT guild_id, project_key, frontend, backend, paired, waiting FROM board_members
    WHERE guild_id = OLD.guild_id AND user_id = OLD.user_id
    ON CONFLICT (guild_id, project_key) DO UPDATE SET frontend = frontend + excluded.frontend,
        backend = backend + excluded.backend, paired = paired + excluded.paired,
        waiting = waiting + excluded.waiting;
END;

-- match_pool
CREATE TRIGGER board_after_match_pool_insert AFTER INSERT ON match_pool WHEN NEW.state = 'waiting' BEGIN
    INSERT INTO board_counts (guild_id, project_key, frontend, backend, paired, waiting)
    SELECT guild_id, project_key, 0, 0, 0, waiting FROM board_members
    WHERE guild_id = NEW.guild_id AND user_id = NEW.user_id
    ON CONFLICT (guild_id, project_key) DO UPDATE SET frontend = frontend + excluded.frontend,
        backend = backend + excluded.backend, paired = paired + excluded.paired,
        waiting = waiting + excluded.waiting;
END;
CREATE TRIGGER board_before_match_pool_update BEFORE UPDATE OF state, project_key, guild_id, user_id ON match_pool BEGIN
    INSERT INTO board_counts (guild_id, project_key, frontend, backend, paired, waiting)
    SELECT guild_id, project_key, -frontend, -backend, -paired, -waiting FROM board_members
    WHERE guild_id IN (OLD.guild_id, NEW.guild_id) AND user_id IN (OLD.user_id, NEW.user_id)
    ON CONFLICT (guild_id, project_key) DO UPDATE SET frontend = frontend + excluded.frontend,
        backend = backend + excluded.backend, paired = paired + excluded.paired,
        waiting = waiting + excluded.waiting;
END;
CREATE TRIGGER board_after_match_pool_update AFTER UPDATE OF state, project_key, guild_id, user_id ON match_pool BEGIN
    INSERT INTO board_counts (guild_id, project_key, frontend, backend, paired, waiting)
    SELECT guild_id, project_key, frontend, backend, paired, waiting FROM board_members
    WHERE guild_id IN (OLD.guild_id, NEW.guild_id) AND user_id IN (OLD.user_id, NEW.user_id)
    ON CONFLICT (guild_id, project_key) DO UPDATE SET frontend = frontend + excluded.frontend,
        backend = backend + excluded.backend, paired = paired + excluded.paired,
        waiting = waiting + excluded.waiting;
END;
CREATE TRIGGER board_before_match_pool_delete BEFORE DELETE ON match_pool BEGIN
    INSERT INTO board_counts (guild_id, project_key, frontend, backend, paired, waiting)
    SELECT guild_id, project_key, -frontend, -backend, -paired, -waiting FROM board_members
    WHERE guild_id = OLD.guild_id AND user_id = OLD.user_id
    ON CONFLICT (guild_id, project_key) DO UPDATE SET frontend = frontend + excluded.frontend,
        backend = backend + excluded.backend, paired = paired + excluded.paired,
        waiting = waiting + excluded.waiting;
END;
CREATE TRIGGER board_after_match_pool_delete AFTER DELETE ON match_pool BEGIN
    INSERT INTO board_counts (guild_id, project_key, frontend, backend, paired, waiting)
    SELECT guild_id, project_key, frontend, backend, paired, waiting FROM board_members
    WHERE guild_id = OLD.guild_id AND user_id = OLD.user_id
    ON CONFLICT (guild_id, project_key) DO UPDATE SET frontend = frontend + excluded.frontend,
        backend = backend + excluded.backend, paired = paired + excluded.paired,
        waiting = waiting + excluded.waiting;
END;

-- team_members
CREATE TRIGGER board_after_team_members_insert AFTER INSERT ON team_members WHEN NEW.left_at IS NULL BEGIN
    INSERT INTO board_counts (guild_id, project_key, frontend, backend, paired, waiting)
    SELECT guild_id, project_key, 0, 0, paired, 0 FROM board_members
    WHERE guild_id = NEW.guild_id AND user_id = NEW.user_id
    ON CONFLICT (guild_id, project_key) DO UPDATE SET frontend = frontend + excluded.frontend,
        backend = backend + excluded.backend, paired = paired + excluded.paired,
        waiting = waiting + excluded.waiting;
END;
CREATE TRIGGER board_before_team_members_update BEFORE UPDATE OF left_at, team_id, guild_id, user_id ON team_members BEGIN
    INSERT INTO board_counts (guild_id, project_key, frontend, backend, paired, waiting)
    SELECT guild_id, project_key, -frontend, -backend, -paired, -waiting FROM board_members
    WHERE guild_id IN (OLD.guild_id, NEW.guild_id) AND user_id IN (OLD.user_id, NEW.user_id)
    ON CONFLICT (guild_id, project_key) DO UPDATE SET frontend = frontend + excluded.frontend,
        backend = backend + excluded.backend, paired = paired + excluded.paired,
        waiting = waiting + excluded.waiting;
END;
CREATE TRIGGER board_after_team_members_update AFTER UPDATE OF left_at, team_id, guild_id, user_id ON team_members BEGIN
    INSERT INTO board_counts (guild_id, project_key, frontend, backend, paired, waiting)
    SELECT guild_id, project_key, frontend, backend, paired, waiting FROM board_members
    WHERE guild_id IN (OLD.guild_id, NEW.guild_id) AND user_id IN (OLD.user_id, NEW.user_id)
    ON CONFLICT (guild_id, project_key) DO UPDATE SET frontend = frontend + excluded.frontend,
        backend = backend + excluded.backend, paired = paired + excluded.paired,
        waiting = waiting + excluded.waiting;
END;
CREATE TRIGGER board_before_team_members_delete BEFORE DELETE ON team_members BEGIN
    INSERT INTO board_counts (guild_id, project_key, frontend, backend, paired, waiting)
    SELECT guild_id, project_key, -frontend, -backend, -paired, -waiting FROM board_members
    WHERE guild_id = OLD.guild_id AND user_id = OLD.user_id
    ON CONFLICT (guild_id, project_key) DO UPDATE SET frontend = frontend + excluded.frontend,
        backend = backend + excluded.backend, paired = paired + excluded.paired,
        waiting = waiting + excluded.waiting;
END;
CREATE TRIGGER board_after_team_members_delete AFTER DELETE ON team_members BEGIN
    INSERT INTO board_counts (guild_id, project_key, frontend, backend, paired, waiting)
    SELECT guild_id, project_key, frontend, backend, paired, waiting FROM board_members
    WHERE guild_id = OLD.guild_id AND user_id = OLD.user_id
    ON CONFLICT (guild_id, project_key) DO UPDATE SET frontend = frontend + excluded.frontend,
        backend = backend + excluded.backend, paired = paired + excluded.paired,
        waiting = waiting + excluded.waiting;
END;

-- teams: ending one changes whether its members count as paired (a new team has no members yet).
CREATE TRIGGER board_before_teams_update BEFORE UPDATE OF ended_at, id ON teams BEGIN
    INSERT INTO board_counts (guild_id, project_key, frontend, backend, paired, waiting)
    SELECT guild_id, project_key, -frontend, -backend, -paired, -waiting FROM board_members
    WHERE guild_id = OLD.guild_id AND user_id IN (SELECT user_id FROM team_members WHERE team_id IN (OLD.id, NEW.id))
    ON CONFLICT (guild_id, project_key) DO UPDATE SET frontend = frontend + excluded.frontend,
        backend = backend + excluded.backend, paired = paired + excluded.paired,
        waiting = waiting + excluded.waiting;
END;
CREATE TRIGGER board_after_teams_update AFTER UPDATE OF ended_at, id ON teams BEGIN
    INSERT INTO board_counts (guild_id, project_key, frontend, backend, paired, waiting)
    SELECT guild_id, project_key, frontend, backend, paired, waiting FROM board_members
    WHERE guild_id = OLD.guild_id AND user_id IN (SELECT user_id FROM team_members WHERE team_id IN (OLD.id, NEW.id))
    ON CONFLICT (guild_id, project_key) DO UPDATE SET frontend = frontend + excluded.frontend,
        backend = backend + excluded.backend, paired = paired + excluded.paired,
        waiting = waiting + excluded.waiting;
END;
CREATE TRIGGER board_before_teams_delete BEFORE DELETE ON teams BEGIN
    INSERT INTO board_counts (guild_id, project_key, frontend, backend, paired, waiting)
    SELECT guild_id, project_key, -frontend, -backend, -paired, -waiting FROM board_members
    WHERE guild_id = OLD.guild_id AND user_id IN (SELECT user_id FROM team_members WHERE team_id = OLD.id)
    ON CONFLICT (guild_id, project_key) DO UPDATE SET frontend = frontend + excluded.frontend,
        backend = backend + excluded.backend, paired = paired + excluded.paired,
        waiting = waiting + excluded.waiting;
END;
CREATE TRIGGER board_after_teams_delete AFTER DELETE ON teams BEGIN
    INSERT INTO board_counts (guild_id, project_key, frontend, backend, paired, waiting)
    SELECT guild_id, project_key, frontend, backend, paired, waiting FROM board_members
    WHERE guild_id = OLD.guild_id AND user_id IN (SELECT user_id FROM team_members WHERE team_id = OLD.id)
    ON CONFLICT (guild_id, project_key) DO UPDATE SET frontend = frontend + excluded.frontend,
        backend = backend + excluded.backend, paired = paired + excluded.paired,
        waiting = waiting + excluded.waiting;
END;
