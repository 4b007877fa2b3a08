-- Every INSERT now names its row's cohort itself (bot/storage/matching.py, projects.py, reminders.py), so the
-- triggers that filled it in afterwards, one extra UPDATE per insert, are no longer needed.
DROP TRIGGER IF EXISTS cohort_of_new_announcement;
DROP TRIGGER IF EXISTS cohort_of_new_pool_entry;
DROP TRIGGER IF EXISTS cohort_of_new_proposal;
DROP TRIGGER IF EXISTS cohort_of_new_team;
DROP TRIGGER IF EXISTS cohort_of_team_by_member;
DROP TRIGGER IF EXISTS cohort_of_new_notice;
DROP TRIGGER IF EXISTS cohort_of_new_schedule;
DROP TRIGGER IF EXISTS cohort_of_new_run;
DROP TRIGGER IF EXISTS cohort_of_new_delivery;
