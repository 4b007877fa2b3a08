-- One learner's rows, found without scanning whole tables: data rights (/forget-me counts and deletes them) and
-- /me look up proposals and blocks by either side, and reminder deliveries by recipient.
CREATE INDEX proposals_by_frontend ON proposals (guild_id, frontend_id);
CREATE INDEX proposals_by_backend ON proposals (guild_id, backend_id);
CREATE INDEX pair_blocks_by_high ON pair_blocks (guild_id, user_high);
CREATE INDEX reminder_deliveries_by_recipient ON reminder_deliveries (guild_id, recipient);
