"""SQL for partner matching: the pool, proposals, teams, pair blocks, deliveries and the staff log."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any, cast

from bot.admin import week_one_ends
from bot.checkins import Rematch, Rematched, front_of_line
from bot.errors import NotFound
from bot.matching import (
    Answer,
    BlockReason,
    BoardRow,
    Candidate,
    Choice,
    CounterpartSearch,
    Departure,
    Drift,
    DriftReason,
    FindResult,
    LeftoverRun,
    LineStats,
    ManualPair,
    MatchStatus,
    Notice,
    OpenCopy,
    PoolEntry,
    Proposal,
    ProposalUpdate,
    Settlement,
    Team,
    TeamChange,
    TeamMember,
    Track,
    check_manual_pair,
    other_track,
    pair_key,
    plan_leftovers,
    project_label,
    proposal_expiry,
    proposal_ttl_hours,
    require_choice,
    settle_answer,
    settle_expiry,
    settle_withdrawal,
    team_after_leaving,
)
from bot.storage.db import Database, Session, maybe_stored_time, stored_time

log = logging.getLogger(__name__)

# The counterpart scan reads the line in pages straight off the index and stops once the choice is final. Pages
# start small (the answer is usually near the front) and grow; past SCAN_LIMIT rows it settles for the earliest
# eligible learner rather than read an unbounded line.
FIRST_PAGE = 16
MAX_PAGE = 256
SCAN_LIMIT = 1024
# When one learner drifted in several ways, the strongest repair wins (leaving ends the team too).
DRIFT_ORDER: tuple[DriftReason, ...] = ("left", "withdrawn", "moved")

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
# One statement per partial unique index: an OR across the two columns could use neither.
PENDING_AS_FRONTEND_SQL = (
    "SELECT id, guild_id, project_key, frontend_id, backend_id, frontend_answer, backend_answer, state, created_at,"
    " expires_at, closed_at FROM proposals WHERE guild_id = ? AND frontend_id = ? AND state = 'pending'"
)
PENDING_AS_BACKEND_SQL = (
    "SELECT id, guild_id, project_key, frontend_id, backend_id, frontend_answer, backend_answer, state, created_at,"
    " expires_at, closed_at FROM proposals WHERE guild_id = ? AND backend_id = ? AND state = 'pending'"
)
ALL_PENDING_SQL = (
    "SELECT id, guild_id, project_key, frontend_id, backend_id, frontend_answer, backend_answer, state, created_at,"
    " expires_at, closed_at FROM proposals WHERE state = 'pending' ORDER BY expires_at, id"
)
POOL_ENTRY_SQL = (
    "SELECT guild_id, user_id, project_key, track, timezone, queued_at, state FROM match_pool"
    " WHERE guild_id = ? AND user_id = ?"
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


def iso(moment: datetime) -> str:
    """One fixed-width UTC format, so timestamps compare correctly as text."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _choice(row: sqlite3.Row) -> Choice:
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


def _proposal(row: sqlite3.Row) -> Proposal:
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


def _pool_entry(row: sqlite3.Row) -> PoolEntry:
    return PoolEntry(
        guild_id=row["guild_id"],
        user_id=row["user_id"],
        project_key=row["project_key"],
        track=cast(Track, row["track"]),
        timezone=row["timezone"],
        queued_at=stored_time(row["queued_at"]),
        state=row["state"],
    )


async def _all(conn: Session, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[sqlite3.Row]:
    return await conn.fetchall(sql, params)


async def _one(conn: Session, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> sqlite3.Row | None:
    rows = await _all(conn, sql, params)
    return rows[0] if rows else None


async def _insert(conn: Session, sql: str, params: Sequence[Any]) -> int:
    return await conn.insert(sql, params)


class MatchingStore:
    """Every read and write of matching. Each public write is one transaction (`Database.transact`): the rules in
    bot.matching are pure, so the whole find-and-claim decides inside it and concurrent finds never collide."""

    def __init__(self, db: Database, *, proposal_ttl_hours: float = 48.0, shorten_expiry: bool = True) -> None:
        self.db = db
        self.proposal_ttl_hours = proposal_ttl_hours
        # Proposals made late in the cohort's week one expire sooner (bot.matching.proposal_ttl_hours).
        self.shorten_expiry = shorten_expiry

    # ----------------------------------------------------------------------------------------- reads

    async def choices(self, guild_id: int, user_ids: Iterable[int]) -> dict[int, Choice]:
        ids = sorted(set(user_ids))
        if not ids:
            return {}
        rows = await self.db.fetchall(CHOICES_SQL, (guild_id, json.dumps(ids)))
        return {row["user_id"]: _choice(row) for row in rows}

    async def proposal(self, proposal_id: int) -> Proposal | None:
        row = await self.db.fetchone(PROPOSAL_BY_ID_SQL, (proposal_id,))
        return None if row is None else _proposal(row)

    async def pending_proposal_for(self, guild_id: int, user_id: int) -> Proposal | None:
        return await self.db.query(lambda conn: self._pending_proposal(conn, guild_id, user_id))

    async def pending_proposals(self) -> list[Proposal]:
        """Every open proposal in every guild, soonest expiry first: what the expiry timers are re-armed from."""
        rows = await self.db.fetchall(ALL_PENDING_SQL)
        return [_proposal(row) for row in rows]

    async def active_team_for(self, guild_id: int, user_id: int) -> Team | None:
        return await self.db.query(lambda conn: self._active_team(conn, guild_id, user_id))

    async def team(self, team_id: int) -> Team | None:
        return await self.db.query(lambda conn: self._team(conn, team_id))

    async def status(self, guild_id: int, user_id: int) -> MatchStatus:
        async def body(conn: Session) -> MatchStatus:
            choice = await self._choice(conn, guild_id, user_id)
            team = await self._active_team(conn, guild_id, user_id)
            proposal = await self._pending_proposal(conn, guild_id, user_id)
            entry = await self._pool_entry(conn, guild_id, user_id)
            line = await self._line_stats(conn, entry) if entry is not None and entry.state == "waiting" else None
            others: list[int] = []
            if team is not None:
                others += [member.user_id for member in team.others(user_id)]
            if proposal is not None:
                others.append(proposal.other(user_id))
            people = await self._choices(conn, guild_id, others)
            return MatchStatus(choice=choice, entry=entry, line=line, proposal=proposal, team=team, people=people)

        return await self.db.query(body)

    async def board(self, guild_id: int, *, cohort_id: int | None = None) -> list[BoardRow]:
        """Waiting learners per project and track, projects waiting longest first; of one cohort, if given."""
        # Counted from the pool's line index (match_pool_line) on every read: within budget at 50,000 waiting.
        rows = await self.db.fetchall(
            "SELECT c.project_key, SUM(c.track = 'frontend') AS frontend, SUM(c.track = 'backend') AS backend,"
            " MIN(c.queued_at) AS oldest,"
            # Only custom projects are named by what learners typed (project_label names official ones).
            " CASE WHEN c.project_key >= 'custom:' AND c.project_key < 'custom;' THEN"
            "  (SELECT a.project_name FROM announcements a WHERE a.guild_id = c.guild_id"
            "   AND a.project_key = c.project_key AND a.ended_at IS NULL LIMIT 1) END AS name"
            " FROM match_pool c WHERE c.guild_id = ? AND c.state = 'waiting'"
            " AND c.cohort_id IS COALESCE(?, c.cohort_id)"
            " GROUP BY c.project_key ORDER BY 4, c.project_key",
            (guild_id, cohort_id),
        )
        return [
            BoardRow(
                project_key=row["project_key"],
                project_name=row["name"] or project_label(row["project_key"]),
                frontend_waiting=row["frontend"],
                backend_waiting=row["backend"],
                oldest_wait=stored_time(row["oldest"]),
            )
            for row in rows
        ]

    async def project_label(self, guild_id: int, project_key: str) -> str:
        """A track-neutral project name; custom projects need the name someone typed, current or not."""
        row = None
        if project_key.startswith("custom:"):
            row = await self.db.fetchone(
                "SELECT project_name FROM announcements WHERE guild_id = ? AND project_key = ?"
                " ORDER BY ended_at IS NULL DESC, id DESC LIMIT 1",
                (guild_id, project_key),
            )
        return project_label(project_key, None if row is None else row["project_name"])

    async def deliveries(self, proposal_id: int) -> list[tuple[int, int, int]]:
        """(user id, channel id, message id) of each learner's copy of a proposal."""
        rows = await self.db.fetchall(
            "SELECT user_id, channel_id, message_id FROM proposal_deliveries WHERE proposal_id = ? ORDER BY user_id",
            (proposal_id,),
        )
        return [(row["user_id"], row["channel_id"], row["message_id"]) for row in rows]

    async def fallback_thread(self, guild_id: int, user_id: int) -> int | None:
        row = await self.db.fetchone(
            "SELECT thread_id FROM dm_fallback_threads WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
        )
        return None if row is None else int(row["thread_id"])

    async def drifted(self) -> list[Drift]:
        """Learners whose pool entry, pending proposal or team no longer fits their announcement (or who left).

        Announcements and matching are written in separate transactions joined by an event; a stop between the
        two leaves this behind. Teams survive a project change by design, so only their existence is checked.
        """
        rows = await self.db.fetchall(
            "SELECT s.guild_id, s.user_id, s.kind, s.project_key, s.track,"
            " a.project_key AS current_project, a.track AS current_track, l.left_at"
            " FROM (SELECT guild_id, user_id, 'pool' AS kind, project_key, track FROM match_pool"
            "  UNION ALL SELECT guild_id, frontend_id, 'proposal', project_key, 'frontend' FROM proposals"
            "   WHERE state = 'pending'"
            "  UNION ALL SELECT guild_id, backend_id, 'proposal', project_key, 'backend' FROM proposals"
            "   WHERE state = 'pending'"
            "  UNION ALL SELECT m.guild_id, m.user_id, 'team', t.project_key, m.track"
            "   FROM team_members m JOIN teams t ON t.id = m.team_id WHERE m.left_at IS NULL AND t.ended_at IS NULL"
            " ) AS s"
            " LEFT JOIN announcements a ON a.guild_id = s.guild_id AND a.user_id = s.user_id AND a.ended_at IS NULL"
            " LEFT JOIN learners l ON l.guild_id = s.guild_id AND l.user_id = s.user_id"
            " WHERE l.left_at IS NOT NULL OR a.id IS NULL"
            "  OR (s.kind != 'team' AND (a.project_key != s.project_key OR a.track != s.track))"
            " ORDER BY s.guild_id, s.user_id"
        )
        found: dict[tuple[int, int], Drift] = {}
        for row in rows:
            reason: DriftReason = (
                "left" if row["left_at"] is not None else "withdrawn" if row["current_project"] is None else "moved"
            )
            key = (row["guild_id"], row["user_id"])
            known = found.get(key)
            if known is None or DRIFT_ORDER.index(reason) < DRIFT_ORDER.index(known.reason):
                found[key] = Drift(row["guild_id"], row["user_id"], reason)
        return list(found.values())

    async def log_entries(self, guild_id: int) -> list[tuple[int, str, dict[str, Any], datetime]]:
        rows = await self.db.fetchall(
            "SELECT actor_id, action, details, created_at FROM matching_log WHERE guild_id = ? ORDER BY id",
            (guild_id,),
        )
        return [
            (row["actor_id"], row["action"], json.loads(row["details"]), stored_time(row["created_at"])) for row in rows
        ]

    # ----------------------------------------------------------------------------------------- writes

    async def find(self, guild_id: int, user_id: int, now: datetime) -> FindResult:
        """Join the pool and claim a counterpart, all in one write transaction: concurrent finds never share one."""

        async def body(conn: Session) -> FindResult:
            state = await _one(conn, FIND_STATE_SQL, (guild_id, user_id))
            choice = require_choice(None if state is None else _choice(state))
            assert state is not None  # noqa: S101 - require_choice raised otherwise
            if state["team_id"] is not None:
                return FindResult(kind="partnered", choice=choice, team=await self._team(conn, state["team_id"]))
            pending_id = state["pending_as_frontend"] or state["pending_as_backend"]
            if pending_id is not None:
                pending = await self._proposal_row(conn, pending_id)
                partner = await self._choice(conn, guild_id, pending.other(user_id))
                return FindResult(kind="already_proposed", choice=choice, proposal=pending, partner=partner)
            # Someone already waiting on the same project and track keeps their place in line.
            rejoined = (state["pool_project_key"], state["pool_track"]) == (choice.project_key, choice.track)
            # The seeker's entry is written below, whatever project it held before.
            conn.board_changed(guild_id, [choice.project_key, state["pool_project_key"]])
            queued_at = stored_time(state["pool_queued_at"]) if rejoined else now
            entry = PoolEntry(guild_id, user_id, choice.project_key, choice.track, choice.timezone, queued_at)
            proposal, partner, skipped = await self._claim(conn, entry, now)
            if proposal is not None:
                return FindResult(kind="proposed", choice=choice, proposal=proposal, partner=partner)
            await conn.execute(
                POOL_WAITING_UPSERT_SQL,
                (
                    *(guild_id, user_id, entry.project_key, entry.track, entry.timezone, iso(entry.queued_at)),
                    *(guild_id, user_id),
                ),
            )
            line = await self._line_stats(conn, entry, skipped)
            return FindResult(kind="waiting", choice=choice, line=line, rejoined=rejoined)

        return await self.db.transact(body)

    async def answer(
        self, proposal_id: int, user_id: int, answer: Answer, now: datetime, *, leave_pool: bool = False
    ) -> ProposalUpdate:
        async def body(conn: Session) -> ProposalUpdate:
            proposal = await self._proposal_row(conn, proposal_id)
            settlement = settle_answer(proposal, user_id, answer, leave_pool=leave_pool)
            return await self._settle(conn, proposal, settlement, now)

        return await self.db.transact(body)

    async def expire(self, proposal_id: int, now: datetime) -> ProposalUpdate | None:
        """Close a proposal whose time is up; None if it was already answered or is not due yet."""

        async def body(conn: Session) -> ProposalUpdate | None:
            row = await _one(conn, PROPOSAL_BY_ID_SQL, (proposal_id,))
            if row is None:
                return None
            proposal = _proposal(row)
            if not proposal.is_due(now):
                return None
            return await self._settle(conn, proposal, settle_expiry(proposal), now)

        return await self.db.transact(body)

    async def leave(self, guild_id: int, user_id: int, now: datetime) -> Departure:
        """/match leave: out of the pool, withdrawing any pending proposal. Teams are left with /match unpair."""

        async def body(conn: Session) -> Departure:
            return await self._depart(conn, guild_id, user_id, now, include_team=False)

        return await self.db.transact(body)

    async def remove_learner(self, guild_id: int, user_id: int, now: datetime) -> Departure:
        """The learner withdrew their announcement or left the server: out of the pool, proposals and team."""

        async def body(conn: Session) -> Departure:
            return await self._depart(conn, guild_id, user_id, now, include_team=True)

        return await self.db.transact(body)

    async def drop_if_moved(self, guild_id: int, user_id: int, now: datetime) -> Departure | None:
        """After a new announcement: leave the pool and proposals if the project or track changed.

        Returns None when nothing had to change (a timezone change is simply copied to the pool).
        """

        async def body(conn: Session) -> Departure | None:
            choice = await self._choice(conn, guild_id, user_id)
            entry = await self._pool_entry(conn, guild_id, user_id)
            pending = await self._pending_proposal(conn, guild_id, user_id)
            place = (choice.project_key, choice.track) if choice else None
            moved = (entry is not None and (entry.project_key, entry.track) != place) or (
                pending is not None and (choice is None or (pending.project_key, pending.track_of(user_id)) != place)
            )
            if not moved:
                if entry is not None and choice is not None and entry.timezone != choice.timezone:
                    # The board does not count time zones.
                    await conn.execute(
                        "UPDATE match_pool SET timezone = ? WHERE guild_id = ? AND user_id = ?",
                        (choice.timezone, guild_id, user_id),
                    )
                return None
            return await self._depart(conn, guild_id, user_id, now, include_team=False)

        return await self.db.transact(body)

    async def unpair(self, guild_id: int, user_id: int, now: datetime) -> Departure:
        async def body(conn: Session) -> Departure:
            team = await self._active_team(conn, guild_id, user_id)
            if team is None:
                raise NotFound("You don't have a partner right now, so there is nothing to unpair.")
            change = await self._leave_team(conn, team, user_id, now, block="unpaired")
            return Departure(user_id=user_id, team=team, team_change=change)

        return await self.db.transact(body)

    async def pair(
        self,
        guild_id: int,
        first: int,
        second: int,
        staff_id: int,
        now: datetime,
        names: Callable[[str, str], str] = lambda key, name: name,
    ) -> ManualPair:
        """Staff pairing: skips consent, withdraws both learners' pending proposals, and is logged.

        `names(key, typed name)` words the refusals with projects' display names.
        """

        async def body(conn: Session) -> ManualPair:
            first_choice = await self._choice(conn, guild_id, first)
            second_choice = await self._choice(conn, guild_id, second)
            low, high = pair_key(first, second)
            block = await _one(
                conn,
                "SELECT reason FROM pair_blocks WHERE guild_id = ? AND user_low = ? AND user_high = ?",
                (guild_id, low, high),
            )
            check_manual_pair(
                first_choice,
                second_choice,
                first_team=await self._active_team(conn, guild_id, first),
                second_team=await self._active_team(conn, guild_id, second),
                block=None if block is None else cast(BlockReason, block["reason"]),
                names=names,
            )
            assert first_choice is not None and second_choice is not None  # noqa: S101 - checked just above
            withdrawn: list[ProposalUpdate] = []
            requeued: list[int] = []
            for user in (first, second):
                pending = await self._pending_proposal(conn, guild_id, user)
                if pending is None:
                    continue
                update = await self._settle(conn, pending, settle_withdrawal(pending, user), now, retry=False)
                # A proposal between these two is simply overtaken by the pairing: nobody to tell or requeue.
                if not {first, second} >= set(pending.members):
                    withdrawn.append(update)
                    requeued += [other for other in update.settlement.requeue if other not in (first, second)]
            team = await self._create_team(
                conn,
                guild_id,
                first_choice.project_key,
                [(first, first_choice.track), (second, second_choice.track)],
                now,
                proposal_id=None,
                created_by=staff_id,
            )
            await self._log(conn, guild_id, staff_id, "pair", {"team": team.id, "members": [first, second]}, now)
            new = await self._retry(conn, guild_id, requeued, now)
            return ManualPair(team=team, withdrawn=tuple(withdrawn), new_proposals=tuple(new))

        return await self.db.transact(body)

    async def run_leftovers(
        self,
        guild_id: int,
        staff_id: int,
        now: datetime,
        *,
        queued_by: datetime | None = None,
        cohort_id: int | None = None,
    ) -> LeftoverRun:
        """/match run, or an automatic seating (`queued_by`: only leftovers in line since then; logged as such):
        seat leftovers as third members of existing teams (plan in bot.matching), in one transaction; only a
        cohort's leftovers in that cohort's teams, if given (None: the guild of a server with no cohort)."""

        async def body(conn: Session) -> LeftoverRun:
            pool_rows = await _all(
                conn,
                "SELECT p.guild_id, p.user_id, p.project_key, p.track, p.timezone, p.queued_at, p.state"
                " FROM match_pool p"
                " WHERE p.guild_id = ? AND p.state = 'waiting' AND p.cohort_id IS COALESCE(?, p.cohort_id)"
                " AND EXISTS (SELECT 1 FROM announcements a WHERE a.guild_id = p.guild_id AND a.user_id = p.user_id"
                "  AND a.ended_at IS NULL AND a.project_key = p.project_key AND a.track = p.track)"
                " AND NOT EXISTS (SELECT 1 FROM learners l WHERE l.guild_id = p.guild_id AND l.user_id = p.user_id"
                "  AND l.left_at IS NOT NULL)",
                (guild_id, cohort_id),
            )
            pool = [_pool_entry(row) for row in pool_rows]
            # Every project's teams, not only the pool's: learners left alone are offered seats elsewhere.
            team_projects = await _all(
                conn,
                "SELECT DISTINCT project_key FROM teams WHERE guild_id = ? AND ended_at IS NULL"
                " AND cohort_id IS COALESCE(?, cohort_id)",
                (guild_id, cohort_id),
            )
            teams = await self._active_teams(
                conn, guild_id, {row["project_key"] for row in team_projects} if pool else set(), cohort_id
            )
            people = {entry.user_id for entry in pool} | {m for team in teams for m in team.member_ids}
            blocked = await self._blocks_among(conn, guild_id, people)
            timezones: dict[int, str | None] = {entry.user_id: entry.timezone for entry in pool}
            member_ids = [m for team in teams for m in team.member_ids]
            for user, choice in (await self._choices(conn, guild_id, member_ids)).items():
                timezones[user] = choice.timezone
            plan = plan_leftovers(pool, teams, blocked, timezones, now, queued_by)
            by_id = {team.id: team for team in teams}
            changed: set[int] = set()
            for join in plan.joins:
                team = by_id[join.team_id]
                await self._add_member(conn, team, join.user_id, join.track, now)
                changed.add(team.id)
            updated = {team_id: await self._team(conn, team_id) for team_id in changed}
            mentioned = {entry.project_key for entry in pool}
            mentioned |= {seat.project_key for alone in plan.alone for seat in alone.seats}
            labels = await self._labels(conn, guild_id, mentioned)
            details: dict[str, Any] = {
                "joined": [[join.user_id, join.team_id] for join in plan.joins],
                "alone": [alone.user_id for alone in plan.alone],
            }
            if queued_by is not None:
                details["automatic"] = True
            await self._log(conn, guild_id, staff_id, "run", details, now)
            return LeftoverRun(plan=plan, teams={k: v for k, v in updated.items() if v is not None}, labels=labels)

        return await self.db.transact(body)

    async def set_team_thread(self, team_id: int, thread_id: int) -> None:
        async def body(conn: Session) -> None:
            await conn.execute("UPDATE teams SET thread_id = ? WHERE id = ?", (thread_id, team_id))

        return await self.db.transact(body)

    async def record_delivery(self, proposal_id: int, user_id: int, channel_id: int, message_id: int, via: str) -> None:
        async def body(conn: Session) -> None:
            await conn.execute(
                "INSERT INTO proposal_deliveries (proposal_id, user_id, channel_id, message_id, via)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (proposal_id, user_id) DO UPDATE SET"
                " channel_id = excluded.channel_id, message_id = excluded.message_id, via = excluded.via",
                (proposal_id, user_id, channel_id, message_id, via),
            )

        return await self.db.transact(body)

    async def save_fallback_thread(self, guild_id: int, user_id: int, thread_id: int, now: datetime) -> None:
        async def body(conn: Session) -> None:
            await conn.execute(
                "INSERT INTO dm_fallback_threads (guild_id, user_id, thread_id, created_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (guild_id, user_id) DO UPDATE SET thread_id = excluded.thread_id,"
                " created_at = excluded.created_at",
                (guild_id, user_id, thread_id, iso(now)),
            )

        return await self.db.transact(body)

    # ----------------------------------------------------------------------------------------- internals

    async def _choice(self, conn: Session, guild_id: int, user_id: int) -> Choice | None:
        row = await _one(conn, CHOICE_SQL, (guild_id, user_id))
        return None if row is None else _choice(row)

    async def _choices(self, conn: Session, guild_id: int, user_ids: Sequence[int]) -> dict[int, Choice]:
        ids = sorted(set(user_ids))
        if not ids:
            return {}
        rows = await _all(conn, CHOICES_SQL, (guild_id, json.dumps(ids)))
        return {row["user_id"]: _choice(row) for row in rows}

    async def _pool_entry(self, conn: Session, guild_id: int, user_id: int) -> PoolEntry | None:
        row = await _one(conn, POOL_ENTRY_SQL, (guild_id, user_id))
        return None if row is None else _pool_entry(row)

    async def _proposal_row(self, conn: Session, proposal_id: int) -> Proposal:
        row = await _one(conn, PROPOSAL_BY_ID_SQL, (proposal_id,))
        if row is None:
            raise NotFound("That proposal no longer exists.")
        return _proposal(row)

    async def _pending_proposal(self, conn: Session, guild_id: int, user_id: int) -> Proposal | None:
        for sql in (PENDING_AS_FRONTEND_SQL, PENDING_AS_BACKEND_SQL):
            row = await _one(conn, sql, (guild_id, user_id))
            if row is not None:
                return _proposal(row)
        return None

    async def _team(self, conn: Session, team_id: int) -> Team | None:
        row = await _one(
            conn,
            "SELECT id, guild_id, project_key, thread_id, proposal_id, created_by, created_at, ended_at"
            " FROM teams WHERE id = ?",
            (team_id,),
        )
        if row is None:
            return None
        members = await _all(
            conn,
            "SELECT user_id, track, joined_at FROM team_members WHERE team_id = ? AND left_at IS NULL"
            " ORDER BY joined_at, user_id",
            (team_id,),
        )
        return team_of(row, (team_member(member) for member in members))

    async def _active_team(self, conn: Session, guild_id: int, user_id: int) -> Team | None:
        row = await _one(
            conn,
            "SELECT team_id FROM team_members WHERE guild_id = ? AND user_id = ? AND left_at IS NULL",
            (guild_id, user_id),
        )
        return None if row is None else await self._team(conn, row["team_id"])

    async def _active_teams(
        self, conn: Session, guild_id: int, projects: set[str], cohort_id: int | None = None
    ) -> list[Team]:
        if not projects:
            return []
        keys = sorted(projects)
        rows = await _all(
            conn,
            "SELECT id FROM teams WHERE guild_id = ? AND ended_at IS NULL AND cohort_id IS COALESCE(?, cohort_id)"
            " AND project_key IN (SELECT value FROM json_each(?)) ORDER BY created_at, id",
            (guild_id, cohort_id, json.dumps(keys)),
        )
        teams = [await self._team(conn, row["id"]) for row in rows]
        return [team for team in teams if team is not None]

    async def _blocks_among(self, conn: Session, guild_id: int, people: set[int]) -> set[tuple[int, int]]:
        rows = await _all(conn, "SELECT user_low, user_high FROM pair_blocks WHERE guild_id = ?", (guild_id,))
        return {
            (row["user_low"], row["user_high"])
            for row in rows
            if row["user_low"] in people and row["user_high"] in people
        }

    async def _labels(self, conn: Session, guild_id: int, projects: set[str]) -> dict[str, str]:
        labels: dict[str, str] = {}
        for key in sorted(projects):
            row = await _one(
                conn,
                "SELECT project_name FROM announcements WHERE guild_id = ? AND project_key = ? AND ended_at IS NULL"
                " LIMIT 1",
                (guild_id, key),
            )
            labels[key] = project_label(key, None if row is None else row["project_name"])
        return labels

    async def _line_stats(self, conn: Session, entry: PoolEntry, skipped: int = 0) -> LineStats:
        queued = iso(entry.queued_at)
        row = await _one(
            conn,
            "SELECT COALESCE(SUM(track = 'frontend'), 0) AS frontend, COALESCE(SUM(track = 'backend'), 0) AS backend,"
            " COALESCE(SUM(track = ? AND (queued_at < ? OR (queued_at = ? AND user_id < ?))), 0) AS ahead"
            " FROM match_pool WHERE guild_id = ? AND project_key = ? AND state = 'waiting'",
            (entry.track, queued, queued, entry.user_id, entry.guild_id, entry.project_key),
        )
        assert row is not None  # noqa: S101 - an aggregate always returns one row
        return LineStats(
            project_key=entry.project_key,
            track=entry.track,
            position=int(row["ahead"]) + 1,
            frontend_waiting=int(row["frontend"]),
            backend_waiting=int(row["backend"]),
            counterparts_skipped=skipped,
        )

    async def _claim(
        self, conn: Session, seeker: PoolEntry, now: datetime
    ) -> tuple[Proposal | None, Choice | None, int]:
        """Propose the best waiting counterpart to `seeker` (the rules are bot.matching's CounterpartSearch).

        Returns the proposal, the partner's current choice, and how many waiting counterparts were skipped
        because the pair met before.
        """
        # Every pool entry written here is on the seeker's project (the pages are of it), but for the seeker's own
        # earlier entry, which the caller names for the board.
        conn.board_changed(seeker.guild_id, [seeker.project_key])
        search = CounterpartSearch(seeker, now)
        rows_by_user: dict[int, sqlite3.Row] = {}
        gone: list[int] = []
        after_time, after_user, page_size = "", 0, FIRST_PAGE
        while len(rows_by_user) < SCAN_LIMIT:
            rows = await _all(
                conn,
                CANDIDATE_PAGE_SQL,
                {
                    "seeker": seeker.user_id,
                    "guild": seeker.guild_id,
                    "project": seeker.project_key,
                    "track": other_track(seeker.track),
                    "after_time": after_time,
                    "after_user": after_user,
                    "limit": page_size,
                },
            )
            page = []
            for row in rows:
                rows_by_user[row["user_id"]] = row
                page.append(
                    Candidate(
                        user_id=row["user_id"],
                        track=cast(Track, row["track"]),
                        timezone=row["timezone"],
                        queued_at=stored_time(row["queued_at"]),
                        blocked=bool(row["blocked"]),
                        gone=bool(row["gone"]),
                    )
                )
            gone += [candidate.user_id for candidate in page if candidate.gone]
            if search.offer(page) or len(rows) < page_size:
                break
            after_time, after_user = rows[-1]["queued_at"], rows[-1]["user_id"]
            page_size = min(page_size * 4, MAX_PAGE)
        if gone:
            # Left the server or changed their announcement while waiting: tidy them out of the line.
            await conn.execute(
                "DELETE FROM match_pool WHERE guild_id = ? AND state = 'waiting'"
                " AND user_id IN (SELECT value FROM json_each(?))",
                (seeker.guild_id, json.dumps(gone)),
            )
        chosen = search.choice
        if chosen is None:
            return None, None, search.skipped
        partner = rows_by_user[chosen.user_id]
        await conn.execute(
            POOL_PAIR_UPSERT_SQL,
            (
                seeker.guild_id,
                seeker.user_id,
                seeker.project_key,
                seeker.track,
                seeker.timezone,
                iso(seeker.queued_at),
                seeker.guild_id,
                seeker.user_id,
                seeker.guild_id,
                chosen.user_id,
                partner["project_key"],
                partner["track"],
                partner["timezone"],
                partner["queued_at"],
                seeker.guild_id,
                chosen.user_id,
            ),
        )
        frontend, backend = (
            (seeker.user_id, chosen.user_id) if seeker.track == "frontend" else (chosen.user_id, seeker.user_id)
        )
        expires = proposal_expiry(now, await self._ttl_hours(conn, seeker.guild_id, now))
        proposal_id = await _insert(
            conn,
            "INSERT INTO proposals (guild_id, project_key, frontend_id, backend_id, state, created_at, expires_at,"  # noqa: S608
            f" cohort_id) VALUES (?, ?, ?, ?, 'pending', ?, ?, {LEARNER_COHORT_SQL})",
            (seeker.guild_id, seeker.project_key, frontend, backend, iso(now), iso(expires), seeker.guild_id, frontend),
        )
        proposal = Proposal(
            id=proposal_id,
            guild_id=seeker.guild_id,
            project_key=seeker.project_key,
            frontend_id=frontend,
            backend_id=backend,
            frontend_answer=None,
            backend_answer=None,
            state="pending",
            created_at=now,
            expires_at=expires,
        )
        return proposal, _choice(partner), search.skipped

    async def _ttl_hours(self, conn: Session, guild_id: int, now: datetime) -> float:
        if not self.shorten_expiry:
            return self.proposal_ttl_hours
        row = await _one(conn, "SELECT cohort_start, timezone FROM guild_config WHERE guild_id = ?", (guild_id,))
        week_ends = None if row is None else week_one_ends(date.fromisoformat(row["cohort_start"]), row["timezone"])
        return proposal_ttl_hours(now, week_ends, self.proposal_ttl_hours)

    async def _retry(self, conn: Session, guild_id: int, user_ids: Sequence[int], now: datetime) -> list[Proposal]:
        """Propose again, at once, to learners just put back in the pool (earliest in line first)."""
        entries = [await self._pool_entry(conn, guild_id, user) for user in dict.fromkeys(user_ids)]
        waiting = sorted(
            (entry for entry in entries if entry is not None and entry.state == "waiting"),
            key=lambda entry: (entry.queued_at, entry.user_id),
        )
        made: list[Proposal] = []
        for entry in waiting:
            current = await self._pool_entry(conn, guild_id, entry.user_id)
            if current is None or current.state != "waiting":
                continue  # claimed by an earlier retry in this same loop
            proposal, _, _ = await self._claim(conn, current, now)
            if proposal is not None:
                made.append(proposal)
        return made

    async def _settle(
        self,
        conn: Session,
        proposal: Proposal,
        settlement: Settlement,
        now: datetime,
        *,
        retry: bool = True,
    ) -> ProposalUpdate:
        closed = None if settlement.state == "pending" else now
        await conn.execute(
            "UPDATE proposals SET frontend_answer = ?, backend_answer = ?, state = ?, closed_at = ? WHERE id = ?",
            (
                settlement.frontend_answer,
                settlement.backend_answer,
                settlement.state,
                None if closed is None else iso(closed),
                proposal.id,
            ),
        )
        updated = replace(
            proposal,
            frontend_answer=settlement.frontend_answer,
            backend_answer=settlement.backend_answer,
            state=settlement.state,
            closed_at=closed,
        )
        if settlement.state == "pending":
            return ProposalUpdate(proposal=updated, settlement=settlement)
        guild_id = proposal.guild_id
        if settlement.block is not None and not settlement.partnered:
            await self._block(conn, guild_id, proposal.frontend_id, proposal.backend_id, settlement.block, now)
        for user in settlement.leave:
            await self._leave_pool(conn, guild_id, user)
        for user in settlement.requeue:
            # Same row, same queued_at: a requeued learner keeps their original place at the front of the line.
            requeued = await _all(
                conn,
                "UPDATE match_pool SET state = 'waiting' WHERE guild_id = ? AND user_id = ? RETURNING project_key",
                (guild_id, user),
            )
            conn.board_changed(guild_id, [row["project_key"] for row in requeued])
        team = None
        if settlement.partnered:
            team = await self._create_team(
                conn,
                guild_id,
                proposal.project_key,
                [(proposal.frontend_id, "frontend"), (proposal.backend_id, "backend")],
                now,
                proposal_id=proposal.id,
                created_by=None,
            )
        new = await self._retry(conn, guild_id, settlement.requeue, now) if retry else []
        return ProposalUpdate(proposal=updated, settlement=settlement, team=team, new_proposals=tuple(new))

    async def _block(
        self, conn: Session, guild_id: int, first: int, second: int, reason: BlockReason, now: datetime
    ) -> None:
        low, high = pair_key(first, second)
        await conn.execute(
            "INSERT INTO pair_blocks (guild_id, user_low, user_high, reason, created_at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (guild_id, user_low, user_high) DO UPDATE SET reason = excluded.reason,"
            " created_at = excluded.created_at",
            (guild_id, low, high, reason, iso(now)),
        )

    async def _leave_pool(self, conn: Session, guild_id: int, user_id: int) -> None:
        left = await _all(conn, POOL_LEAVE_SQL, (guild_id, user_id))
        conn.board_changed(guild_id, [row["project_key"] for row in left])

    async def _create_team(
        self,
        conn: Session,
        guild_id: int,
        project_key: str,
        members: Sequence[tuple[int, Track]],
        now: datetime,
        *,
        proposal_id: int | None,
        created_by: int | None,
    ) -> Team:
        # A team made from a proposal is in the proposal's cohort; one made by staff, in its first member's.
        first = members[0][0] if members else None
        team_id = await _insert(
            conn,
            "INSERT INTO teams (guild_id, project_key, proposal_id, created_by, created_at, cohort_id)"  # noqa: S608
            " VALUES (?, ?, ?, ?, ?,"
            f" COALESCE((SELECT p.cohort_id FROM proposals p WHERE p.id = ?), {LEARNER_COHORT_SQL}))",
            (guild_id, project_key, proposal_id, created_by, iso(now), proposal_id, guild_id, first),
        )
        team = Team(team_id, guild_id, project_key, None, proposal_id, created_by, now)
        for user, track in members:
            await self._add_member(conn, team, user, track, now)
        created = await self._team(conn, team_id)
        assert created is not None  # noqa: S101 - inserted above in this transaction
        return created

    async def _add_member(self, conn: Session, team: Team, user_id: int, track: Track, now: datetime) -> None:
        joined = await _all(conn, TEAM_JOIN_SQL, (team.id, team.guild_id, user_id, track, iso(now)))
        conn.board_changed(team.guild_id, [row["project_key"] for row in joined])
        await self._leave_pool(conn, team.guild_id, user_id)
        rows = await _all(
            conn,
            "SELECT user_id FROM team_members WHERE team_id = ? AND left_at IS NULL AND user_id != ?",
            (team.id, user_id),
        )
        for row in rows:
            await self._block(conn, team.guild_id, user_id, row["user_id"], "partnered", now)

    async def _leave_team(
        self, conn: Session, team: Team, user_id: int, now: datetime, *, block: BlockReason | None
    ) -> TeamChange:
        change = team_after_leaving(team, user_id)
        leaving = [user_id, *(member.user_id for member in change.remaining)] if change.ends else [user_id]
        # Everyone still in a team that ends is in `leaving`: ending it changes no one else's count.
        left = await _all(conn, TEAM_LEAVE_SQL, (iso(now), team.id, json.dumps(leaving)))
        conn.board_changed(team.guild_id, [row["project_key"] for row in left])
        if change.ends:
            await conn.execute("UPDATE teams SET ended_at = ? WHERE id = ?", (iso(now), team.id))
        if block is not None:
            for member in change.remaining:
                await self._block(conn, team.guild_id, user_id, member.user_id, block, now)
        return change

    async def _depart(
        self, conn: Session, guild_id: int, user_id: int, now: datetime, *, include_team: bool
    ) -> Departure:
        entry = await self._pool_entry(conn, guild_id, user_id)
        was_waiting = entry is not None and entry.state == "waiting"
        withdrawn: list[ProposalUpdate] = []
        pending = await self._pending_proposal(conn, guild_id, user_id)
        if pending is not None:
            withdrawn.append(await self._settle(conn, pending, settle_withdrawal(pending, user_id), now))
        await self._leave_pool(conn, guild_id, user_id)
        team = await self._active_team(conn, guild_id, user_id) if include_team else None
        change = await self._leave_team(conn, team, user_id, now, block=None) if team is not None else None
        return Departure(
            user_id=user_id,
            was_waiting=was_waiting,
            withdrawn=tuple(withdrawn),
            team=team,
            team_change=change,
        )

    async def _log(
        self,
        conn: Session,
        guild_id: int,
        actor_id: int,
        action: str,
        details: dict[str, Any],
        now: datetime,
    ) -> None:
        await conn.execute(
            "INSERT INTO matching_log (guild_id, actor_id, action, details, created_at) VALUES (?, ?, ?, ?, ?)",
            (guild_id, actor_id, action, json.dumps(details, sort_keys=True), iso(now)),
        )

    # ----------------------------------------------------------------------------------------- quiet partners

    async def rematch_in(self, conn: Session, team: Team, rematch: Rematch, now: datetime) -> Rematched:
        """Inside the caller's transaction (bot.storage.checkins): the quiet members leave the team and are never
        proposed to those left again; whoever is left without a team goes back to the pool ahead of everyone."""
        current: Team | None = team
        for user in rematch.removed:
            if current is None or current.ended_at is not None or user not in current.member_ids:
                break
            change = await self._leave_team(conn, current, user, now, block="unpaired")
            current = None if change.ends else await self._team(conn, team.id)
        requeued: list[int] = []
        unannounced: list[int] = []
        for user in rematch.requeue:
            choice = await self._choice(conn, team.guild_id, user)
            if choice is None or choice.left:
                unannounced.append(user)
                continue
            front = await _one(
                conn,
                "SELECT MIN(queued_at) AS front FROM match_pool"
                " WHERE guild_id = ? AND project_key = ? AND track = ? AND state = 'waiting'",
                (team.guild_id, choice.project_key, choice.track),
            )
            queued_at = front_of_line(maybe_stored_time(None if front is None else front["front"]), now)
            await conn.execute(
                POOL_WAITING_UPSERT_SQL,
                (
                    *(team.guild_id, user, choice.project_key, choice.track, choice.timezone, iso(queued_at)),
                    *(team.guild_id, user),
                ),
            )
            conn.board_changed(team.guild_id, [choice.project_key])
            requeued.append(user)
        new = await self._retry(conn, team.guild_id, requeued, now)
        return Rematched(
            team=team,
            removed=rematch.removed,
            requeued=tuple(requeued),
            ends=rematch.ends,
            new_proposals=tuple(new),
            unannounced=tuple(unannounced),
        )

    # ----------------------------------------------------------------------------------------- retried delivery

    async def add_notice(
        self, guild_id: int, user_id: int, content: str, now: datetime, team_id: int | None = None
    ) -> Notice:
        """Keep a notice until Discord accepts it, so a refusal or a restart before sending does not lose it."""

        async def body(conn: Session) -> int:
            return await _insert(
                conn,
                "INSERT INTO matching_notices (guild_id, user_id, content, team_id, created_at, cohort_id)"  # noqa: S608
                f" VALUES (?, ?, ?, ?, ?, {LEARNER_COHORT_SQL})",
                (guild_id, user_id, content, team_id, iso(now), guild_id, user_id),
            )

        notice_id = await self.db.transact(body)
        return Notice(notice_id, guild_id, user_id, content, now, 0, team_id)

    async def unsent_notices(self) -> list[Notice]:
        rows = await self.db.fetchall(
            "SELECT id, guild_id, user_id, content, team_id, created_at, tries FROM matching_notices ORDER BY id"
        )
        return [
            Notice(
                id=row["id"],
                guild_id=row["guild_id"],
                user_id=row["user_id"],
                content=row["content"],
                created_at=stored_time(row["created_at"]),
                tries=row["tries"],
                team_id=row["team_id"],
            )
            for row in rows
        ]

    async def notice_tried(self, notice_id: int, *, done: bool) -> None:
        """Done (sent, or given up on): the notice goes; otherwise one more refused try is counted."""

        async def body(conn: Session) -> None:
            if done:
                await conn.execute("DELETE FROM matching_notices WHERE id = ?", (notice_id,))
            else:
                await conn.execute("UPDATE matching_notices SET tries = tries + 1 WHERE id = ?", (notice_id,))

        return await self.db.transact(body)

    async def threadless_teams(self) -> list[tuple[Team, int]]:
        """Active teams that have no thread yet, with how often Discord refused to open one."""

        async def body(conn: Session) -> list[tuple[Team, int]]:
            rows = await _all(
                conn,
                "SELECT id, thread_tries FROM teams WHERE ended_at IS NULL AND thread_id IS NULL"
                " ORDER BY created_at, id",
            )
            found: list[tuple[Team, int]] = []
            for row in rows:
                team = await self._team(conn, row["id"])
                if team is not None:
                    found.append((team, row["thread_tries"]))
            return found

        return await self.db.query(body)

    async def thread_refused(self, team_id: int) -> None:
        async def body(conn: Session) -> None:
            await conn.execute("UPDATE teams SET thread_tries = thread_tries + 1 WHERE id = ?", (team_id,))

        return await self.db.transact(body)

    async def open_copies(self, proposal_id: int | None = None) -> list[OpenCopy]:
        """Copies of closed proposals that still show buttons (of one proposal, or of all of them)."""
        rows = await self.db.fetchall(
            "SELECT d.proposal_id, d.user_id, d.channel_id, d.message_id, d.close_tries, p.closed_at"
            " FROM proposal_deliveries d JOIN proposals p ON p.id = d.proposal_id"
            " WHERE d.closed_at IS NULL AND p.state <> 'pending' AND (:proposal IS NULL OR d.proposal_id = :proposal)"
            " ORDER BY d.proposal_id, d.user_id",
            {"proposal": proposal_id},
        )
        return [
            OpenCopy(
                proposal_id=row["proposal_id"],
                user_id=row["user_id"],
                channel_id=row["channel_id"],
                message_id=row["message_id"],
                closed_at=maybe_stored_time(row["closed_at"]) or datetime.min.replace(tzinfo=UTC),
                tries=row["close_tries"],
            )
            for row in rows
        ]

    async def copy_tried(self, proposal_id: int, message_id: int, now: datetime, *, closed: bool) -> None:
        """Closed (its buttons are gone, or the message is): recorded; otherwise one more refused try is counted."""

        async def body(conn: Session) -> None:
            if closed:
                await conn.execute(
                    "UPDATE proposal_deliveries SET closed_at = ? WHERE proposal_id = ? AND message_id = ?",
                    (iso(now), proposal_id, message_id),
                )
            else:
                await conn.execute(
                    "UPDATE proposal_deliveries SET close_tries = close_tries + 1"
                    " WHERE proposal_id = ? AND message_id = ?",
                    (proposal_id, message_id),
                )

        return await self.db.transact(body)
