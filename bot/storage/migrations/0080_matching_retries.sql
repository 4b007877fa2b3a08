-- Matching, part three: what Discord refused after the database changed, kept so a retry (or the next start)
-- resumes it. Notices wait here until Discord accepts them; the tries are counted so retries stay bounded.
CREATE TABLE matching_notices (
    id         INTEGER PRIMARY KEY,
    guild_id   INTEGER NOT NULL,
    user_id    INTEGER NOT NULL,
    content    TEXT    NOT NULL,
    team_id    INTEGER REFERENCES teams (id),
    created_at TEXT    NOT NULL,
    tries      INTEGER NOT NULL DEFAULT 0
);

-- A team whose thread Discord refused keeps counting its tries; the index finds the teams still without one.
ALTER TABLE teams ADD COLUMN thread_tries INTEGER NOT NULL DEFAULT 0;
CREATE INDEX teams_without_thread ON teams (created_at) WHERE ended_at IS NULL AND thread_id IS NULL;

-- A proposal copy whose buttons were taken away (closed_at set); one still open after its proposal closed is stale.
ALTER TABLE proposal_deliveries ADD COLUMN closed_at TEXT;
ALTER TABLE proposal_deliveries ADD COLUMN close_tries INTEGER NOT NULL DEFAULT 0;
UPDATE proposal_deliveries SET closed_at = (SELECT p.closed_at FROM proposals p WHERE p.id = proposal_id)
    WHERE proposal_id IN (SELECT id FROM proposals WHERE state <> 'pending');
CREATE INDEX proposal_deliveries_open ON proposal_deliveries (proposal_id) WHERE closed_at IS NULL;
