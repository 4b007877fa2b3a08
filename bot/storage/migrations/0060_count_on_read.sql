-- The counts of /projects, /nexus stats and /match board are counted when they are read (the board rule is
-- written once, in bot/storage/projects.py). The counter tables, the board_members view and the 30 triggers that
-- kept them (0050-0052) go: three definitions of one rule, kept in step by triggers on five tables. What reading
-- costs instead is measured in docs/benchmarks.md. The indexes of 0050 and 0053 stay: the reads use them.
--
-- The board's counts are driven from the small sets (learners who left, active team members, the waiting pool)
-- and probe these, index-only: a learner's current choice, and whether a learner is still here (left_at is in
-- the index so that SQLite reads it there, not from the table).
CREATE INDEX announcements_current_choice ON announcements (guild_id, user_id, project_key, track)
    WHERE ended_at IS NULL;
CREATE INDEX learners_present ON learners (guild_id, user_id, left_at) WHERE left_at IS NULL;
CREATE INDEX learners_gone ON learners (guild_id) WHERE left_at IS NOT NULL;
DROP TRIGGER IF EXISTS board_after_announcements_insert;
DROP TRIGGER IF EXISTS board_before_announcements_update;
DROP TRIGGER IF EXISTS board_after_announcements_update;
DROP TRIGGER IF EXISTS board_before_announcements_delete;
DROP TRIGGER IF EXISTS board_after_announcements_delete;
DROP TRIGGER IF EXISTS board_after_learners_insert;
DROP TRIGGER IF EXISTS board_before_learners_update;
DROP TRIGGER IF EXISTS board_after_learners_update;
DROP TRIGGER IF EXISTS board_before_learners_delete;
DROP TRIGGER IF EXISTS board_after_learners_delete;
DROP TRIGGER IF EXISTS board_after_match_pool_insert;
DROP TRIGGER IF EXISTS board_before_match_pool_update;
DROP TRIGGER IF EXISTS board_after_match_pool_update;
DROP TRIGGER IF EXISTS board_before_match_pool_delete;
DROP TRIGGER IF EXISTS board_after_match_pool_delete;
DROP TRIGGER IF EXISTS board_after_team_members_insert;
DROP TRIGGER IF EXISTS board_before_team_members_update;
DROP TRIGGER IF EXISTS board_after_team_members_update;
DROP TRIGGER IF EXISTS board_before_team_members_delete;
DROP TRIGGER IF EXISTS board_after_team_members_delete;
DROP TRIGGER IF EXISTS board_before_teams_update;
DROP TRIGGER IF EXISTS board_after_teams_update;
DROP TRIGGER IF EXISTS board_before_teams_delete;
DROP TRIGGER IF EXISTS board_after_teams_delete;
DROP TRIGGER IF EXISTS learner_counts_after_insert;
DROP TRIGGER IF EXISTS learner_counts_after_update;
DROP TRIGGER IF EXISTS learner_counts_after_delete;
DROP TRIGGER IF EXISTS pool_counts_after_insert;
DROP TRIGGER IF EXISTS pool_counts_after_update;
DROP TRIGGER IF EXISTS pool_counts_after_delete;
DROP VIEW IF EXISTS board_members;
DROP TABLE IF EXISTS board_counts;
DROP TABLE IF EXISTS learner_counts;
DROP TABLE IF EXISTS pool_counts;

-- Data rights (/forget-me) count and delete one learner's rows in every table; these two were scans.
CREATE INDEX announcements_by_learner ON announcements (guild_id, user_id);
CREATE INDEX team_members_by_learner ON team_members (guild_id, user_id);
