"""The SQL that matching's reads and writes share, and the mappers from its rows to bot.matching's types."""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import cast

from bot.matching import Choice, PoolEntry, Proposal, Team, TeamMember, Track
from bot.storage.db import maybe_stored_time, stored_time

CHOICE_SQL = (
    "SELECT a.guild_id, a.user_id, a.project_key, a.project_name, a.track, a.timezone, a.repo_url,"
    " l.display_name, l.left_at"
    " FROM announcements a LEFT JOIN learners l ON l.guild_id = a.guild_id AND l.user_id = a.user_id"
    " WHERE a.ended_at IS NULL AND a.guild_id = ? AND a.user_id = ?"
)
# Lists of ids travel as one JSON parameter, so no statement is ever assembled from pieces.
CHOICES_SQL = (
    "SELECT a.guild_id, a.user_id, a.project_key, a.project_name, a.track, a.timezone, a.repo_url,"
    " l.display_name, l.left_at"
    " FROM announcements a LEFT JOIN learners l ON l.guild_id = a.guild_id AND l.user_id = a.user_id"
    " WHERE a.ended_at IS NULL AND a.guild_id = ? AND a.user_id IN (SELECT value FROM json_each(?))"
)
PROPOSAL_BY_ID_SQL = (
    "SELECT id, guild_id, project_key, frontend_id, backend_id, frontend_answer, backend_answer, state, created_at,"
    " expires_at, closed_at FROM proposals WHERE id = ?"
)
# One branch per partial unique index (an OR across the two columns could use neither), in one trip.
PENDING_SQL = (
    "SELECT id, guild_id, project_key, frontend_id, backend_id, frontend_answer, backend_answer, state, created_at,"
    " expires_at, closed_at FROM proposals WHERE guild_id = :guild AND frontend_id = :user AND state = 'pending'"
    " UNION ALL"
    " SELECT id, guild_id, project_key, frontend_id, backend_id, frontend_answer, backend_answer, state, created_at,"
    " expires_at, closed_at FROM proposals WHERE guild_id = :guild AND backend_id = :user AND state = 'pending'"
)
ALL_PENDING_SQL = (
    "SELECT id, guild_id, project_key, frontend_id, backend_id, frontend_answer, backend_answer, state, created_at,"
    " expires_at, closed_at FROM proposals WHERE state = 'pending' ORDER BY expires_at, id"
)
POOL_ENTRY_SQL = (
    "SELECT guild_id, user_id, project_key, track, timezone, queued_at, state FROM match_pool"
    " WHERE guild_id = ? AND user_id = ?"
)
POOL_ENTRIES_SQL = (
    "SELECT guild_id, user_id, project_key, track, timezone, queued_at, state FROM match_pool"
    " WHERE guild_id = ? AND user_id IN (SELECT value FROM json_each(?))"
)
# Everything /match find needs to know about the learner, in one read.
FIND_STATE_SQL = (
    "SELECT a.guild_id, a.user_id, a.project_key, a.project_name, a.track, a.timezone, a.repo_url,"
    " l.display_name, l.left_at,"
    " (SELECT t.team_id FROM team_members t WHERE t.guild_id = a.guild_id AND t.user_id = a.user_id"
    "  AND t.left_at IS NULL) AS team_id,"
    " (SELECT r.id FROM proposals r WHERE r.guild_id = a.guild_id AND r.frontend_id = a.user_id"
    "  AND r.state = 'pending') AS pending_as_frontend,"
    " (SELECT r.id FROM proposals r WHERE r.guild_id = a.guild_id AND r.backend_id = a.user_id"
    "  AND r.state = 'pending') AS pending_as_backend,"
    " p.project_key AS pool_project_key, p.track AS pool_track, p.queued_at AS pool_queued_at"
    " FROM announcements a"
    " LEFT JOIN learners l ON l.guild_id = a.guild_id AND l.user_id = a.user_id"
    " LEFT JOIN match_pool p ON p.guild_id = a.guild_id AND p.user_id = a.user_id"
    " WHERE a.ended_at IS NULL AND a.guild_id = ? AND a.user_id = ?"
)
# The next page of waiting counterparts in line order, straight off match_pool_line, with what the rules need to
# skip them (a pair block, gone from the server or from this project) and what a proposal shows about them.
CANDIDATE_PAGE_SQL = (
    "SELECT p.guild_id, p.user_id, p.project_key, p.track, p.timezone, p.queued_at,"
    " a.project_name, a.repo_url, l.display_name, l.left_at,"
    " EXISTS (SELECT 1 FROM pair_blocks b WHERE b.guild_id = p.guild_id"
    "  AND b.user_low = min(p.user_id, :seeker) AND b.user_high = max(p.user_id, :seeker)) AS blocked,"
    " (a.id IS NULL OR l.left_at IS NOT NULL) AS gone"
    " FROM match_pool p"
    " LEFT JOIN announcements a ON a.guild_id = p.guild_id AND a.user_id = p.user_id AND a.ended_at IS NULL"
    "  AND a.project_key = p.project_key AND a.track = p.track"
    " LEFT JOIN learners l ON l.guild_id = p.guild_id AND l.user_id = p.user_id"
    " WHERE p.guild_id = :guild AND p.project_key = :project AND p.track = :track AND p.state = 'waiting'"
    " AND (p.queued_at, p.user_id) > (:after_time, :after_user)"
    # Never across cohorts: only those waiting in the seeker's cohort (each entry is written with its cohort).
    " AND p.cohort_id IS (SELECT s.cohort_id FROM announcements s WHERE s.guild_id = :guild AND s.user_id = :seeker"
    "  AND s.ended_at IS NULL)"
    " ORDER BY p.queued_at, p.user_id LIMIT :limit"
)
# Both learners of a new proposal leave the line in one statement (the seeker's row may not exist yet).
# A row of the pool, a proposal, a team or a notice belongs to the cohort of its learner's current announcement
# (the announcement is what puts a learner in a cohort), named in the INSERT itself.
LEARNER_COHORT_SQL = (
    "(SELECT a.cohort_id FROM announcements a WHERE a.guild_id = ? AND a.user_id = ? AND a.ended_at IS NULL)"
)
POOL_PAIR_UPSERT_SQL = (
    "INSERT INTO match_pool (guild_id, user_id, project_key, track, timezone, queued_at, state, cohort_id)"  # noqa: S608
    f" VALUES (?, ?, ?, ?, ?, ?, 'proposed', {LEARNER_COHORT_SQL}),"
    f" (?, ?, ?, ?, ?, ?, 'proposed', {LEARNER_COHORT_SQL})"
    " ON CONFLICT (guild_id, user_id) DO UPDATE SET project_key = excluded.project_key, track = excluded.track,"
    " timezone = excluded.timezone, queued_at = excluded.queued_at, state = 'proposed'"
)
# The board counts a learner as paired on the project of their current choice, which their team's need not be
# (teams survive a project change): a team membership write RETURNs that project, to mark it stale (BoardCache).
TEAM_JOIN_SQL = (
    "INSERT INTO team_members (team_id, guild_id, user_id, track, joined_at) VALUES (?, ?, ?, ?, ?)"
    " RETURNING (SELECT c.project_key FROM announcements c WHERE c.guild_id = team_members.guild_id"
    "  AND c.user_id = team_members.user_id AND c.ended_at IS NULL) AS project_key"
)
TEAM_LEAVE_SQL = (
    "UPDATE team_members SET left_at = ? WHERE team_id = ? AND left_at IS NULL"
    " AND user_id IN (SELECT value FROM json_each(?))"
    " RETURNING (SELECT c.project_key FROM announcements c WHERE c.guild_id = team_members.guild_id"
    "  AND c.user_id = team_members.user_id AND c.ended_at IS NULL) AS project_key"
)
# A pool entry counts as waiting on its own project (when it is the learner's current choice): a pool write that
# removes entries RETURNs their projects, to mark them stale.
POOL_LEAVE_SQL = "DELETE FROM match_pool WHERE guild_id = ? AND user_id = ? RETURNING project_key"
POOL_WAITING_UPSERT_SQL = (
    "INSERT INTO match_pool (guild_id, user_id, project_key, track, timezone, queued_at, state, cohort_id)"  # noqa: S608
    f" VALUES (?, ?, ?, ?, ?, ?, 'waiting', {LEARNER_COHORT_SQL}) ON CONFLICT (guild_id, user_id) DO UPDATE SET"
    " project_key = excluded.project_key, track = excluded.track, timezone = excluded.timezone,"
    " queued_at = excluded.queued_at, state = 'waiting'"
)


# A `teams` row as team_of reads it (every column but cohort_id), and the current members of a list of teams (their
# ids as one JSON parameter, :ids), oldest first: the two reads teams_of builds teams from.
TEAM_COLUMNS = "id, guild_id, project_key, thread_id, proposal_id, created_by, created_at, ended_at"
TEAM_MEMBERS_SQL = (
    "SELECT team_id, user_id, track, joined_at FROM team_members"
    " WHERE team_id IN (SELECT value FROM json_each(:ids)) AND left_at IS NULL ORDER BY joined_at, user_id"
)


def iso(moment: datetime) -> str:
    """One fixed-width UTC format, so timestamps compare correctly as text."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def choice_of(row: sqlite3.Row) -> Choice:
    return Choice(
        guild_id=row["guild_id"],
        user_id=row["user_id"],
        project_key=row["project_key"],
        project_name=row["project_name"],
        track=cast(Track, row["track"]),
        timezone=row["timezone"],
        repo_url=row["repo_url"],
        display_name=row["display_name"] or "",
        left=row["left_at"] is not None,
    )


def proposal_of(row: sqlite3.Row) -> Proposal:
    return Proposal(
        id=row["id"],
        guild_id=row["guild_id"],
        project_key=row["project_key"],
        frontend_id=row["frontend_id"],
        backend_id=row["backend_id"],
        frontend_answer=row["frontend_answer"],
        backend_answer=row["backend_answer"],
        state=row["state"],
        created_at=stored_time(row["created_at"]),
        expires_at=stored_time(row["expires_at"]),
        closed_at=maybe_stored_time(row["closed_at"]),
    )


def team_member(row: sqlite3.Row) -> TeamMember:
    return TeamMember(row["user_id"], cast(Track, row["track"]), stored_time(row["joined_at"]))


def team_of(row: sqlite3.Row, members: Iterable[TeamMember]) -> Team:
    """A `teams` row (all its columns but cohort_id) and its current members, oldest first."""
    return Team(
        id=row["id"],
        guild_id=row["guild_id"],
        project_key=row["project_key"],
        thread_id=row["thread_id"],
        proposal_id=row["proposal_id"],
        created_by=row["created_by"],
        created_at=stored_time(row["created_at"]),
        ended_at=maybe_stored_time(row["ended_at"]),
        members=tuple(members),
    )


def teams_of(team_rows: Sequence[sqlite3.Row], member_rows: Iterable[sqlite3.Row]) -> list[Team]:
    """Teams from their rows (TEAM_COLUMNS) and their members' rows (TEAM_MEMBERS_SQL), in `team_rows`' order."""
    members: dict[int, list[TeamMember]] = defaultdict(list)
    for row in member_rows:
        members[row["team_id"]].append(team_member(row))
    return [team_of(row, members[row["id"]]) for row in team_rows]


def pool_entry_of(row: sqlite3.Row) -> PoolEntry:
    return PoolEntry(
        guild_id=row["guild_id"],
        user_id=row["user_id"],
        project_key=row["project_key"],
        track=cast(Track, row["track"]),
        timezone=row["timezone"],
        queued_at=stored_time(row["queued_at"]),
        state=row["state"],
    )
