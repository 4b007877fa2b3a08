"""Partner matching's reads and writes: the pool, proposals, teams, pair blocks and the staff log."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import date, datetime
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
from bot.storage.matching._delivery import DeliveryRecords
from bot.storage.matching._rows import (
    ALL_PENDING_SQL,
    CANDIDATE_PAGE_SQL,
    CHOICE_SQL,
    CHOICES_SQL,
    FIND_STATE_SQL,
    LEARNER_COHORT_SQL,
    PENDING_SQL,
    POOL_ENTRIES_SQL,
    POOL_ENTRY_SQL,
    POOL_LEAVE_SQL,
    POOL_PAIR_UPSERT_SQL,
    POOL_WAITING_UPSERT_SQL,
    PROPOSAL_BY_ID_SQL,
    TEAM_COLUMNS,
    TEAM_JOIN_SQL,
    TEAM_LEAVE_SQL,
    TEAM_MEMBERS_SQL,
    choice_of,
    iso,
    pool_entry_of,
    proposal_of,
    teams_of,
)

log = logging.getLogger(__name__)

# The counterpart scan reads the line in pages straight off the index and stops once the choice is final. Pages
# start small (the answer is usually near the front) and grow; past SCAN_LIMIT rows it settles for the earliest
# eligible learner rather than read an unbounded line.
FIRST_PAGE = 16
MAX_PAGE = 256
SCAN_LIMIT = 1024
# When one learner drifted in several ways, the strongest repair wins (leaving ends the team too).
DRIFT_ORDER: tuple[DriftReason, ...] = ("left", "withdrawn", "moved")


class MatchingStore(DeliveryRecords):
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
        return {row["user_id"]: choice_of(row) for row in rows}

    async def proposal(self, proposal_id: int) -> Proposal | None:
        row = await self.db.fetchone(PROPOSAL_BY_ID_SQL, (proposal_id,))
        return None if row is None else proposal_of(row)

    async def pending_proposal_for(self, guild_id: int, user_id: int) -> Proposal | None:
        return await self.db.query(lambda conn: self._pending_proposal(conn, guild_id, user_id))

    async def pending_proposals(self) -> list[Proposal]:
        """Every open proposal in every guild, soonest expiry first: what the expiry timers are re-armed from."""
        rows = await self.db.fetchall(ALL_PENDING_SQL)
        return [proposal_of(row) for row in rows]

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
            # The latest current announcement's name, else the latest ended one's: each an index probe.
            row = await self.db.fetchone(
                "SELECT COALESCE("
                " (SELECT project_name FROM announcements INDEXED BY announcements_by_key_id"
                "  WHERE guild_id = :guild AND project_key = :project AND ended_at IS NULL ORDER BY id DESC LIMIT 1),"
                " (SELECT project_name FROM announcements INDEXED BY announcements_ended_by_key"
                "  WHERE guild_id = :guild AND project_key = :project AND ended_at IS NOT NULL"
                "  ORDER BY id DESC LIMIT 1)) AS project_name",
                {"guild": guild_id, "project": project_key},
            )
        return project_label(project_key, None if row is None else row["project_name"])

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
            state = await conn.fetchone(FIND_STATE_SQL, (guild_id, user_id))
            choice = require_choice(None if state is None else choice_of(state))
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
            row = await conn.fetchone(PROPOSAL_BY_ID_SQL, (proposal_id,))
            if row is None:
                return None
            proposal = proposal_of(row)
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
            block = await conn.fetchone(
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
            pool_rows = await conn.fetchall(
                "SELECT p.guild_id, p.user_id, p.project_key, p.track, p.timezone, p.queued_at, p.state"
                " FROM match_pool p"
                " WHERE p.guild_id = ? AND p.state = 'waiting' AND p.cohort_id IS COALESCE(?, p.cohort_id)"
                " AND EXISTS (SELECT 1 FROM announcements a WHERE a.guild_id = p.guild_id AND a.user_id = p.user_id"
                "  AND a.ended_at IS NULL AND a.project_key = p.project_key AND a.track = p.track)"
                " AND NOT EXISTS (SELECT 1 FROM learners l WHERE l.guild_id = p.guild_id AND l.user_id = p.user_id"
                "  AND l.left_at IS NOT NULL)",
                (guild_id, cohort_id),
            )
            pool = [pool_entry_of(row) for row in pool_rows]
            # Every project's teams, not only the pool's: learners left alone are offered seats elsewhere.
            team_projects = await conn.fetchall(
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

    # ----------------------------------------------------------------------------------------- internals

    async def _choice(self, conn: Session, guild_id: int, user_id: int) -> Choice | None:
        row = await conn.fetchone(CHOICE_SQL, (guild_id, user_id))
        return None if row is None else choice_of(row)

    async def _choices(self, conn: Session, guild_id: int, user_ids: Sequence[int]) -> dict[int, Choice]:
        ids = sorted(set(user_ids))
        if not ids:
            return {}
        rows = await conn.fetchall(CHOICES_SQL, (guild_id, json.dumps(ids)))
        return {row["user_id"]: choice_of(row) for row in rows}

    async def _pool_entry(self, conn: Session, guild_id: int, user_id: int) -> PoolEntry | None:
        row = await conn.fetchone(POOL_ENTRY_SQL, (guild_id, user_id))
        return None if row is None else pool_entry_of(row)

    async def _proposal_row(self, conn: Session, proposal_id: int) -> Proposal:
        row = await conn.fetchone(PROPOSAL_BY_ID_SQL, (proposal_id,))
        if row is None:
            raise NotFound("That proposal no longer exists.")
        return proposal_of(row)

    async def _pending_proposal(self, conn: Session, guild_id: int, user_id: int) -> Proposal | None:
        # A learner is on one track, so at most one row: the unique indexes allow one pending proposal per side.
        row = await conn.fetchone(PENDING_SQL, {"guild": guild_id, "user": user_id})
        return None if row is None else proposal_of(row)

    async def _team(self, conn: Session, team_id: int) -> Team | None:
        rows = await conn.fetchall(f"SELECT {TEAM_COLUMNS} FROM teams WHERE id = ?", (team_id,))  # noqa: S608
        if not rows:
            return None
        return teams_of(rows, await conn.fetchall(TEAM_MEMBERS_SQL, {"ids": json.dumps([team_id])}))[0]

    async def _active_team(self, conn: Session, guild_id: int, user_id: int) -> Team | None:
        row = await conn.fetchone(
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
        rows = await conn.fetchall(
            f"SELECT {TEAM_COLUMNS} FROM teams"  # noqa: S608
            " WHERE guild_id = ? AND ended_at IS NULL AND cohort_id IS COALESCE(?, cohort_id)"
            " AND project_key IN (SELECT value FROM json_each(?)) ORDER BY created_at, id",
            (guild_id, cohort_id, json.dumps(keys)),
        )
        # Every team's members in one read: two reads per team took 1.2 s of /match run's 1.7 s at 50,000 learners.
        members = await conn.fetchall(TEAM_MEMBERS_SQL, {"ids": json.dumps([row["id"] for row in rows])})
        return teams_of(rows, members)

    async def _blocks_among(self, conn: Session, guild_id: int, people: set[int]) -> set[tuple[int, int]]:
        rows = await conn.fetchall("SELECT user_low, user_high FROM pair_blocks WHERE guild_id = ?", (guild_id,))
        return {
            (row["user_low"], row["user_high"])
            for row in rows
            if row["user_low"] in people and row["user_high"] in people
        }

    async def _labels(self, conn: Session, guild_id: int, projects: set[str]) -> dict[str, str]:
        labels: dict[str, str] = {}
        for key in sorted(projects):
            row = await conn.fetchone(
                "SELECT project_name FROM announcements WHERE guild_id = ? AND project_key = ? AND ended_at IS NULL"
                " LIMIT 1",
                (guild_id, key),
            )
            labels[key] = project_label(key, None if row is None else row["project_name"])
        return labels

    async def _line_stats(self, conn: Session, entry: PoolEntry, skipped: int = 0) -> LineStats:
        queued = iso(entry.queued_at)
        row = await conn.fetchone(
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
            rows = await conn.fetchall(
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
        proposal_id = await conn.insert(
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
        return proposal, choice_of(partner), search.skipped

    async def _ttl_hours(self, conn: Session, guild_id: int, now: datetime) -> float:
        if not self.shorten_expiry:
            return self.proposal_ttl_hours
        row = await conn.fetchone("SELECT cohort_start, timezone FROM guild_config WHERE guild_id = ?", (guild_id,))
        week_ends = None if row is None else week_one_ends(date.fromisoformat(row["cohort_start"]), row["timezone"])
        return proposal_ttl_hours(now, week_ends, self.proposal_ttl_hours)

    async def _retry(self, conn: Session, guild_id: int, user_ids: Sequence[int], now: datetime) -> list[Proposal]:
        """Propose again, at once, to learners just put back in the pool (earliest in line first)."""
        if not user_ids:
            return []
        rows = await conn.fetchall(POOL_ENTRIES_SQL, (guild_id, json.dumps(list(dict.fromkeys(user_ids)))))
        return await self._retry_entries(conn, [pool_entry_of(row) for row in rows], now)

    async def _retry_entries(self, conn: Session, entries: Sequence[PoolEntry], now: datetime) -> list[Proposal]:
        """`_retry` for pool entries the caller has just read or written (no need to read them again)."""
        waiting = sorted(
            (entry for entry in entries if entry.state == "waiting"),
            key=lambda entry: (entry.queued_at, entry.user_id),
        )
        made: list[Proposal] = []
        for place, entry in enumerate(waiting):
            # Read again after the first claim: it may have proposed this learner or tidied them out of the line.
            current = entry if place == 0 else await self._pool_entry(conn, entry.guild_id, entry.user_id)
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
        requeued: list[PoolEntry] = []
        if settlement.requeue:
            # Same row, same queued_at: a requeued learner keeps their original place at the front of the line.
            rows = await conn.fetchall(
                "UPDATE match_pool SET state = 'waiting' WHERE guild_id = ?"
                " AND user_id IN (SELECT value FROM json_each(?))"
                " RETURNING guild_id, user_id, project_key, track, timezone, queued_at, state",
                (guild_id, json.dumps(list(settlement.requeue))),
            )
            requeued = [pool_entry_of(row) for row in rows]
            conn.board_changed(guild_id, [entry.project_key for entry in requeued])
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
        new = await self._retry_entries(conn, requeued, now) if retry else []
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
        left = await conn.fetchall(POOL_LEAVE_SQL, (guild_id, user_id))
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
        team_id = await conn.insert(
            "INSERT INTO teams (guild_id, project_key, proposal_id, created_by, created_at, cohort_id)"  # noqa: S608
            " VALUES (?, ?, ?, ?, ?,"
            f" COALESCE((SELECT p.cohort_id FROM proposals p WHERE p.id = ?), {LEARNER_COHORT_SQL}))",
            (guild_id, project_key, proposal_id, created_by, iso(now), proposal_id, guild_id, first),
        )
        for place, (user, track) in enumerate(members):
            await self._join(conn, team_id, guild_id, user, track, now)
            # A new team's other members are the ones added before: no need to read them back.
            for earlier, _ in members[:place]:
                await self._block(conn, guild_id, user, earlier, "partnered", now)
        # Everything the team's rows hold was written just above: build it as reading it back would (the stored
        # timestamp, members in TEAM_MEMBERS_SQL's order) instead of two more trips to the database thread.
        stamp = stored_time(iso(now))
        joined = sorted((TeamMember(user, track, stamp) for user, track in members), key=lambda m: m.user_id)
        return Team(team_id, guild_id, project_key, None, proposal_id, created_by, stamp, members=tuple(joined))

    async def _join(
        self, conn: Session, team_id: int, guild_id: int, user_id: int, track: Track, now: datetime
    ) -> None:
        joined = await conn.fetchall(TEAM_JOIN_SQL, (team_id, guild_id, user_id, track, iso(now)))
        conn.board_changed(guild_id, [row["project_key"] for row in joined])
        await self._leave_pool(conn, guild_id, user_id)

    async def _add_member(self, conn: Session, team: Team, user_id: int, track: Track, now: datetime) -> None:
        await self._join(conn, team.id, team.guild_id, user_id, track, now)
        rows = await conn.fetchall(
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
        left = await conn.fetchall(TEAM_LEAVE_SQL, (iso(now), team.id, json.dumps(leaving)))
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
            # The withdrawal takes the learner out of the pool before anyone is proposed again.
            withdrawn.append(await self._settle(conn, pending, settle_withdrawal(pending, user_id), now))
        else:
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
            front = await conn.fetchone(
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

    async def threadless_teams(self) -> list[tuple[Team, int]]:
        """Active teams that have no thread yet, with how often Discord refused to open one."""

        async def body(conn: Session) -> list[tuple[Team, int]]:
            rows = await conn.fetchall(
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
