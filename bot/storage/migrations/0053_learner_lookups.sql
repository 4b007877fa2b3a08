-- Look-ups that no longer scan: one learner's rows for data rights and /me, and per-project lists.
-- /me look up proposals and blocks by either side, and reminder deliveries by recipient.
CREATE INDEX proposals_by_frontend ON proposals (guild_id, frontend_id);
CREATE INDEX proposals_by_backend ON proposals (guild_id, backend_id);
CREATE INDEX pair_blocks_by_high ON pair_blocks (guild_id, user_high);
CREATE INDEX reminder_deliveries_by_recipient ON reminder_deliveries (guild_id, recipient);

-- /project's "looking for a partner" list in matching's order across both tracks: one range of this index.
CREATE INDEX match_pool_by_project ON match_pool (guild_id, project_key, state, queued_at, user_id);
-- Custom projects in use, each with its first and latest announcement: a few index seeks per project instead of
-- reading every announcement of every custom project (see ProjectsStore.custom_projects).
CREATE INDEX announcements_by_key_id ON announcements (guild_id, project_key, id) WHERE ended_at IS NULL;
