-- Team check-ins: one post per (team, round) in the team's thread, each member's own answer, the private choice
-- offered to a member whose partner went quiet, and teams whose check-ins were stopped (their cohort closed).

-- Exactly once: a round is claimed (with the nonce its post will carry) before anything is sent; posted_at is set
-- once Discord accepted it. A restart resends a claimed round with the same nonce, which Discord drops if it has it.
CREATE TABLE checkins (
    id         INTEGER PRIMARY KEY,
    team_id    INTEGER NOT NULL REFERENCES teams (id),
    round      INTEGER NOT NULL CHECK (round >= 1),
    due_at     TEXT    NOT NULL,
    nonce      TEXT    NOT NULL,
    state      TEXT    NOT NULL DEFAULT 'claimed' CHECK (state IN ('claimed', 'posted', 'failed')),
    tries      INTEGER NOT NULL DEFAULT 0,
    message_id INTEGER,
    posted_at  TEXT,
    UNIQUE (team_id, round)
);

-- Answers are private to the member and staff: the thread post never shows them.
CREATE TABLE checkin_answers (
    checkin_id  INTEGER NOT NULL REFERENCES checkins (id),
    user_id     INTEGER NOT NULL,
    answer      TEXT    NOT NULL CHECK (answer IN ('going_well', 'not_started', 'partner_quiet')),
    answered_at TEXT    NOT NULL,
    PRIMARY KEY (checkin_id, user_id)
);

CREATE TABLE checkin_offers (
    team_id      INTEGER NOT NULL REFERENCES teams (id),
    user_id      INTEGER NOT NULL,
    state        TEXT    NOT NULL CHECK (state IN ('claimed', 'open', 'waiting', 'rematched', 'closed')),
    nonce        TEXT    NOT NULL,
    offered_at   TEXT    NOT NULL,
    ask_again_at TEXT,
    tries        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (team_id, user_id)
);

CREATE TABLE checkin_stops (
    team_id    INTEGER PRIMARY KEY REFERENCES teams (id),
    stopped_at TEXT    NOT NULL
);
