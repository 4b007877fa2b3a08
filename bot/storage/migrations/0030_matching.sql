-- Partner matching: the waiting pool, proposals awaiting consent, teams, and pairs never to propose again.
CREATE TABLE match_pool (
    guild_id    INTEGER NOT NULL,
    user_id     INTEGER NOT NULL,
    project_key TEXT    NOT NULL,
    track       TEXT    NOT NULL CHECK (track IN ('frontend', 'backend')),
    timezone    TEXT,
    queued_at   TEXT    NOT NULL,   -- original place in line; a requeued learner keeps it
    state       TEXT    NOT NULL DEFAULT 'waiting' CHECK (state IN ('waiting', 'proposed')),
    PRIMARY KEY (guild_id, user_id)
);
CREATE INDEX match_pool_line ON match_pool (guild_id, project_key, track, state, queued_at);

CREATE TABLE proposals (
    id              INTEGER PRIMARY KEY,
    guild_id        INTEGER NOT NULL,
    project_key     TEXT    NOT NULL,
    frontend_id     INTEGER NOT NULL,
    backend_id      INTEGER NOT NULL,
    frontend_answer TEXT CHECK (frontend_answer IN ('accepted', 'declined')),
    backend_answer  TEXT CHECK (backend_answer IN ('accepted', 'declined')),
    state           TEXT    NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'accepted', 'declined', 'expired', 'withdrawn')),
    created_at      TEXT    NOT NULL,
    expires_at      TEXT    NOT NULL,
    closed_at       TEXT
);
-- Nobody is in two pending proposals at once, whatever the code above does.
CREATE UNIQUE INDEX proposals_one_pending_frontend ON proposals (guild_id, frontend_id) WHERE state = 'pending';
CREATE UNIQUE INDEX proposals_one_pending_backend ON proposals (guild_id, backend_id) WHERE state = 'pending';
CREATE INDEX proposals_pending_expiry ON proposals (expires_at) WHERE state = 'pending';

CREATE TABLE teams (
    id          INTEGER PRIMARY KEY,
    guild_id    INTEGER NOT NULL,
    project_key TEXT    NOT NULL,
    thread_id   INTEGER,
    proposal_id INTEGER REFERENCES proposals (id),
    created_by  INTEGER,            -- staff member for /match pair; NULL when formed by consent or /match run
    created_at  TEXT    NOT NULL,
    ended_at    TEXT
);

CREATE TABLE team_members (
    team_id   INTEGER NOT NULL REFERENCES teams (id),
    guild_id  INTEGER NOT NULL,
    user_id   INTEGER NOT NULL,
    track     TEXT    NOT NULL CHECK (track IN ('frontend', 'backend')),
    joined_at TEXT    NOT NULL,
    left_at   TEXT,
    PRIMARY KEY (team_id, user_id)
);
-- Nobody is in two active teams at once.
CREATE UNIQUE INDEX team_members_one_active ON team_members (guild_id, user_id) WHERE left_at IS NULL;

-- Pairs that declined, unpaired or were partners: never proposed again. user_low < user_high.
CREATE TABLE pair_blocks (
    guild_id   INTEGER NOT NULL,
    user_low   INTEGER NOT NULL,
    user_high  INTEGER NOT NULL,
    reason     TEXT    NOT NULL CHECK (reason IN ('declined', 'unpaired', 'partnered', 'expired')),
    created_at TEXT    NOT NULL,
    PRIMARY KEY (guild_id, user_low, user_high),
    CHECK (user_low < user_high)
);
