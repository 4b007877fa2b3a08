-- The counts of /projects, /nexus stats and /match board are counted when they are read (one GROUP BY each;
-- the board rule is written once, in bot/storage/projects.py). The counter tables and the 30 triggers that kept
-- them (0050-0052) were derived state no command needed: docs/benchmarks.md measures every command within its
-- budget without them. The indexes of 0050 and 0053 stay: the reads use them.
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
