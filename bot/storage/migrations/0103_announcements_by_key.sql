-- A project's name for a proposal or a team is its latest announcement's, ended or not (a team outlives its
-- members' project changes). No index held a project's ended announcements, so that look-up read every
-- announcement of the server: 5 ms at 50,000 learners, holding the database (docs/benchmarks.md). Current ones
-- are in announcements_by_key_id (0053); this one holds only the ended ones, so no row is indexed twice.
CREATE INDEX announcements_ended_by_key ON announcements (guild_id, project_key, id) WHERE ended_at IS NOT NULL;
