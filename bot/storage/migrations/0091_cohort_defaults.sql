-- Which cohort a new row belongs to, written once here instead of in every INSERT of every feature: a row inserted
-- without a cohort_id gets the cohort of the learner's current announcement (the announcement is what puts a
-- learner in a cohort; the pool, proposals, teams and notices follow it), reminder rows get their schedule's.
-- A writer that knows the cohort (an announcement made in a cohort's channel) names it and these stay out of the way.
--
-- An announcement written without one keeps the learner in the live cohort they were in, else goes to the
-- guild's only live cohort, else to its first cohort (a single-cohort server, whatever its state).
CREATE TRIGGER cohort_of_new_announcement AFTER INSERT ON announcements WHEN NEW.cohort_id IS NULL BEGIN
    UPDATE announcements SET cohort_id = COALESCE(
        (SELECT a.cohort_id FROM announcements a JOIN cohorts c ON c.id = a.cohort_id
         WHERE a.guild_id = NEW.guild_id AND a.user_id = NEW.user_id AND a.id <> NEW.id AND c.closed_at IS NULL
         ORDER BY a.id DESC LIMIT 1),
        (SELECT MIN(c.id) FROM cohorts c WHERE c.guild_id = NEW.guild_id AND c.closed_at IS NULL
         HAVING COUNT(*) = 1),
        (SELECT MIN(c.id) FROM cohorts c WHERE c.guild_id = NEW.guild_id))
    WHERE id = NEW.id;
END;

CREATE TRIGGER cohort_of_new_pool_entry AFTER INSERT ON match_pool WHEN NEW.cohort_id IS NULL BEGIN
    UPDATE match_pool SET cohort_id = (
        SELECT a.cohort_id FROM announcements a
        WHERE a.guild_id = NEW.guild_id AND a.user_id = NEW.user_id AND a.ended_at IS NULL)
    WHERE guild_id = NEW.guild_id AND user_id = NEW.user_id;
END;

CREATE TRIGGER cohort_of_new_proposal AFTER INSERT ON proposals WHEN NEW.cohort_id IS NULL BEGIN
    UPDATE proposals SET cohort_id = (
        SELECT a.cohort_id FROM announcements a
        WHERE a.guild_id = NEW.guild_id AND a.user_id = NEW.frontend_id AND a.ended_at IS NULL)
    WHERE id = NEW.id;
END;

-- A team made from a proposal is in the proposal's cohort; one made by staff (/match pair, /match run) takes the
-- cohort of its first member's announcement when that member joins.
CREATE TRIGGER cohort_of_new_team AFTER INSERT ON teams WHEN NEW.cohort_id IS NULL BEGIN
    UPDATE teams SET cohort_id = (SELECT p.cohort_id FROM proposals p WHERE p.id = NEW.proposal_id)
    WHERE id = NEW.id;
END;
CREATE TRIGGER cohort_of_team_by_member AFTER INSERT ON team_members BEGIN
    UPDATE teams SET cohort_id = (
        SELECT a.cohort_id FROM announcements a
        WHERE a.guild_id = NEW.guild_id AND a.user_id = NEW.user_id AND a.ended_at IS NULL)
    WHERE id = NEW.team_id AND cohort_id IS NULL;
END;

CREATE TRIGGER cohort_of_new_notice AFTER INSERT ON matching_notices WHEN NEW.cohort_id IS NULL BEGIN
    UPDATE matching_notices SET cohort_id = (
        SELECT a.cohort_id FROM announcements a
        WHERE a.guild_id = NEW.guild_id AND a.user_id = NEW.user_id AND a.ended_at IS NULL)
    WHERE id = NEW.id;
END;

-- Week-one schedules are still kept one per guild (reminder_cohorts.active); each belongs to the guild's first
-- cohort until schedules are kept per cohort.
CREATE TRIGGER cohort_of_new_schedule AFTER INSERT ON reminder_cohorts WHEN NEW.cohort_id IS NULL BEGIN
    UPDATE reminder_cohorts SET cohort_id = (SELECT MIN(c.id) FROM cohorts c WHERE c.guild_id = NEW.guild_id)
    WHERE guild_id = NEW.guild_id AND cohort_key = NEW.cohort_key;
END;
CREATE TRIGGER cohort_of_new_run AFTER INSERT ON reminder_runs WHEN NEW.cohort_id IS NULL BEGIN
    UPDATE reminder_runs SET cohort_id = (
        SELECT s.cohort_id FROM reminder_cohorts s WHERE s.guild_id = NEW.guild_id AND s.cohort_key = NEW.cohort_key)
    WHERE guild_id = NEW.guild_id AND cohort_key = NEW.cohort_key AND reminder_id = NEW.reminder_id;
END;
CREATE TRIGGER cohort_of_new_delivery AFTER INSERT ON reminder_deliveries WHEN NEW.cohort_id IS NULL BEGIN
    UPDATE reminder_deliveries SET cohort_id = (
        SELECT r.cohort_id FROM reminder_runs r
        WHERE r.guild_id = NEW.guild_id AND r.cohort_key = NEW.cohort_key AND r.reminder_id = NEW.reminder_id)
    WHERE guild_id = NEW.guild_id AND cohort_key = NEW.cohort_key AND reminder_id = NEW.reminder_id
      AND recipient = NEW.recipient;
END;
