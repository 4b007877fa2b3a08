"""SQL for team check-ins: the rounds posted in team threads, each member's answer, the choice offered when a
partner goes quiet, and stopping a team's check-ins."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import NamedTuple, cast

from bot.checkins import (
    AnswerCounts,
    Attention,
    Checkin,
    CheckinAnswer,
    CheckinRules,
    CheckinState,
    Offer,
    OfferState,
    Rematched,
    TeamCheckins,
    attention,
    count_answers,
    plan_rematch,
    quiet_members,
)
from bot.errors import InvalidInput, NotFound
from bot.storage.db import Database, Session, maybe_stored_time, stored_time
from bot.storage.matching import TEAM_COLUMNS, TEAM_MEMBERS_SQL, MatchingStore, iso, teams_of

log = logging.getLogger(__name__)

# The teams whose check-ins run (active, not stopped), a page at a time in id order.
TEAM_IDS_SQL = (
    "SELECT t.id FROM teams t WHERE t.ended_at IS NULL AND (:guild IS NULL OR t.guild_id = :guild) AND t.id > :after"
    " AND t.cohort_id IS COALESCE(:cohort, t.cohort_id)"
    " AND (NOT :posted OR EXISTS (SELECT 1 FROM checkins c WHERE c.team_id = t.id AND c.posted_at IS NOT NULL))"
    " AND NOT EXISTS (SELECT 1 FROM checkin_stops s WHERE s.team_id = t.id) ORDER BY t.id LIMIT :limit"
)
# Each read below takes the page's team ids as one JSON parameter, so no statement is assembled from pieces.
TEAMS_SQL = f"SELECT {TEAM_COLUMNS} FROM teams WHERE id IN (SELECT value FROM json_each(:ids)) ORDER BY id"  # noqa: S608
CHECKINS_SQL = (
    "SELECT id, team_id, round, due_at, state, nonce, posted_at, tries FROM checkins"
    " WHERE team_id IN (SELECT value FROM json_each(:ids)) ORDER BY team_id, round"
)
ANSWERS_SQL = (
    "SELECT a.checkin_id, a.user_id, a.answer, a.answered_at FROM checkin_answers a"
    " JOIN checkins c ON c.id = a.checkin_id WHERE c.team_id IN (SELECT value FROM json_each(:ids))"
)
OFFERS_SQL = (
    "SELECT team_id, user_id, state, nonce, offered_at, ask_again_at, tries FROM checkin_offers"
    " WHERE team_id IN (SELECT value FROM json_each(:ids))"
)
# A pass reads this many teams per read transaction, so it never holds the database for long at a time. At 200,
# a page's objects lived long enough to be promoted to the oldest generation, full collections followed every
# dozen pages and one landed inside a page's reads every few passes (p99 161 ms held at 10,000 teams); at 50 the
# page is gone before a collection sees it (p99 7 ms, docs/benchmarks.md, section 3).
PAGE = 50


def _offer(row: sqlite3.Row) -> Offer:
    return Offer(
        team_id=row["team_id"],
        user_id=row["user_id"],
        state=cast(OfferState, row["state"]),
        nonce=row["nonce"],
        offered_at=stored_time(row["offered_at"]),
        ask_again_at=maybe_stored_time(row["ask_again_at"]),
        tries=row["tries"],
    )


class _PageRows(NamedTuple):
    teams: list[sqlite3.Row]
    members: list[sqlite3.Row]
    checkins: list[sqlite3.Row]
    answers: list[sqlite3.Row]
    offers: list[sqlite3.Row]


async def _read(conn: Session, team_ids: Sequence[int]) -> _PageRows:
    """These teams' rows (if their check-ins run), with their check-ins, answers and offers, in five reads."""
    params = {"ids": json.dumps(list(team_ids))}
    return _PageRows(
        teams=await conn.fetchall(TEAMS_SQL, params),
        members=await conn.fetchall(TEAM_MEMBERS_SQL, params),
        checkins=await conn.fetchall(CHECKINS_SQL, params),
        answers=await conn.fetchall(ANSWERS_SQL, params),
        offers=await conn.fetchall(OFFERS_SQL, params),
    )


def _build(rows: _PageRows) -> list[TeamCheckins]:
    """The teams of a page, built once the database is free again: building is most of a page's time, and a
    garbage collection landing in it would otherwise hold the database too (docs/benchmarks.md, section 3)."""
    answers: dict[int, dict[int, CheckinAnswer]] = defaultdict(dict)
    answered_at: dict[int, dict[int, datetime]] = defaultdict(dict)
    for row in rows.answers:
        answers[row["checkin_id"]][row["user_id"]] = cast(CheckinAnswer, row["answer"])
        answered_at[row["checkin_id"]][row["user_id"]] = stored_time(row["answered_at"])
    checkins: dict[int, list[Checkin]] = defaultdict(list)
    for row in rows.checkins:
        checkins[row["team_id"]].append(
            Checkin(
                id=row["id"],
                team_id=row["team_id"],
                round=row["round"],
                due_at=stored_time(row["due_at"]),
                state=cast(CheckinState, row["state"]),
                nonce=row["nonce"],
                posted_at=maybe_stored_time(row["posted_at"]),
                tries=row["tries"],
                answers=answers.get(row["id"], {}),
                answered_at=answered_at.get(row["id"], {}),
            )
        )
    offers: dict[int, dict[int, Offer]] = defaultdict(dict)
    for row in rows.offers:
        offers[row["team_id"]][row["user_id"]] = _offer(row)
    return [
        TeamCheckins(team, tuple(checkins.get(team.id, ())), offers.get(team.id, {}))
        for team in teams_of(rows.teams, rows.members)
    ]


async def _load(conn: Session, team_ids: Sequence[int]) -> list[TeamCheckins]:
    """Read and built in one go, for a write that decides on what it reads inside its transaction."""
    return _build(await _read(conn, team_ids))


async def _running(conn: Session, team_ids: Sequence[int]) -> list[int]:
    """Those of these teams whose check-ins run (active and not stopped)."""
    rows = await conn.fetchall(
        "SELECT t.id FROM teams t WHERE t.id IN (SELECT value FROM json_each(?)) AND t.ended_at IS NULL"
        " AND NOT EXISTS (SELECT 1 FROM checkin_stops s WHERE s.team_id = t.id) ORDER BY t.id",
        (json.dumps(list(team_ids)),),
    )
    return [int(row["id"]) for row in rows]


class CheckinStore:
    """Every read and write of check-ins. A re-match runs in the same transaction as matching's own writes."""

    def __init__(self, db: Database, matching: MatchingStore) -> None:
        self.db = db
        self.matching = matching

    # ----------------------------------------------------------------------------------------- reads

    async def active(
        self, guild_id: int | None = None, cohort_id: int | None = None, *, posted: bool = False
    ) -> list[TeamCheckins]:
        """Every team whose check-ins run (of one guild or cohort, or all), with its rounds, answers and offers;
        `posted`: only teams that have had a check-in posted (nothing else can need attention or be counted)."""

        pages = [page async for page in self.pages(guild_id, cohort_id, posted=posted)]
        return [team for page in pages for team in page]

    async def team(self, team_id: int) -> TeamCheckins | None:
        async def body(conn: Session) -> _PageRows:
            return await _read(conn, await _running(conn, [team_id]))

        found = _build(await self.db.query(body))
        return found[0] if found else None

    async def pages(
        self, guild_id: int | None = None, cohort_id: int | None = None, *, posted: bool = False
    ) -> AsyncIterator[list[TeamCheckins]]:
        """Every team whose check-ins run (of one guild, or all), a page per read: other callers get the database
        between pages, and a pass over thousands of teams never holds it for long."""
        after = 0
        while True:
            ids = [
                int(row["id"])
                for row in await self.db.fetchall(
                    TEAM_IDS_SQL,
                    {"guild": guild_id, "cohort": cohort_id, "posted": posted, "after": after, "limit": PAGE},
                )
            ]
            if not ids:
                return

            async def body(conn: Session, page: list[int] = ids) -> _PageRows:
                return await _read(conn, page)

            yield _build(await self.db.query(body))
            after = ids[-1]

    async def attention(
        self, guild_id: int, now: datetime, rules: CheckinRules, cohort_id: int | None = None
    ) -> list[Attention]:
        """Teams staff should look at: a quiet member, or a check-in nobody (or not everyone) answered."""
        # A team needs attention only over a posted check-in (bot.checkins.attention): the others are not read.
        found = [attention(team, now, rules) for team in await self.active(guild_id, cohort_id, posted=True)]
        return [item for item in found if item is not None]

    async def answer_counts(
        self, guild_id: int, now: datetime, rules: CheckinRules, cohort_id: int | None = None
    ) -> AnswerCounts:
        return count_answers(await self.active(guild_id, cohort_id, posted=True), now, rules)

    # ----------------------------------------------------------------------------------------- rounds

    async def claim_round(self, team_id: int, round_number: int, due_at: datetime, nonce: str) -> Checkin | None:
        """Claim a round before posting it; None if this round was claimed already (it is never posted twice)."""

        async def body(conn: Session) -> Checkin | None:
            changed = await conn.execute(
                "INSERT INTO checkins (team_id, round, due_at, nonce)"
                " SELECT t.id, :round, :due, :nonce FROM teams t WHERE t.id = :team AND t.ended_at IS NULL"
                " AND NOT EXISTS (SELECT 1 FROM checkin_stops s WHERE s.team_id = t.id)"
                " ON CONFLICT (team_id, round) DO NOTHING",
                {"team": team_id, "round": round_number, "due": iso(due_at), "nonce": nonce},
            )
            if not changed:
                return None
            row = await conn.fetchone(
                "SELECT id FROM checkins WHERE team_id = ? AND round = ?", (team_id, round_number)
            )
            assert row is not None  # noqa: S101 - inserted just above
            return Checkin(row["id"], team_id, round_number, due_at, state="claimed", nonce=nonce)

        return await self.db.transact(body)

    async def round_posted(self, checkin_id: int, message_id: int, now: datetime) -> None:
        async def body(conn: Session) -> None:
            await conn.execute(
                "UPDATE checkins SET state = 'posted', message_id = ?, posted_at = ? WHERE id = ?",
                (message_id, iso(now), checkin_id),
            )

        return await self.db.transact(body)

    async def round_refused(self, checkin_id: int, *, give_up: bool) -> None:
        """Discord refused the post: counted, and tried again by the next pass unless given up on."""

        async def body(conn: Session) -> None:
            await conn.execute(
                "UPDATE checkins SET tries = tries + 1, state = CASE WHEN ? THEN 'failed' ELSE state END"
                " WHERE id = ? AND state = 'claimed'",
                (give_up, checkin_id),
            )

        return await self.db.transact(body)

    async def answer(self, checkin_id: int, user_id: int, answer: CheckinAnswer, now: datetime) -> TeamCheckins:
        """Record (or change) a member's own answer to their team's newest check-in."""

        async def body(conn: Session) -> TeamCheckins:
            row = await conn.fetchone("SELECT team_id, round FROM checkins WHERE id = ?", (checkin_id,))
            if row is None:
                raise NotFound("That check-in no longer exists.")
            found = await _load(conn, await _running(conn, [row["team_id"]]))
            if not found:
                raise NotFound("That team has ended, so its check-ins are closed.")
            team_checkins = found[0]
            if user_id not in team_checkins.team.member_ids:
                raise InvalidInput("This check-in is for the members of that team.")
            latest = team_checkins.latest_posted
            if latest is None or latest.id != checkin_id:
                raise InvalidInput("A newer check-in is open in this thread: please answer that one.")
            await conn.execute(
                "INSERT INTO checkin_answers (checkin_id, user_id, answer, answered_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (checkin_id, user_id) DO UPDATE SET answer = excluded.answer,"
                " answered_at = excluded.answered_at",
                (checkin_id, user_id, answer, iso(now)),
            )
            return (await _load(conn, [row["team_id"]]))[0]

        return await self.db.transact(body)

    # ----------------------------------------------------------------------------------------- offers

    async def claim_offer(self, team_id: int, user_id: int, nonce: str, now: datetime) -> Offer | None:
        """Claim sending the choice to a member left behind; None if it is open already or "keep waiting" runs.
        An offer claimed before a restart and never confirmed is returned again (with its nonce)."""

        async def body(conn: Session) -> Offer | None:
            await conn.execute(
                "INSERT INTO checkin_offers (team_id, user_id, state, nonce, offered_at) VALUES (?, ?, 'claimed', ?, ?)"
                " ON CONFLICT (team_id, user_id) DO UPDATE SET state = 'claimed', nonce = excluded.nonce,"
                " offered_at = excluded.offered_at, ask_again_at = NULL, tries = 0"
                " WHERE checkin_offers.state IN ('closed', 'rematched')"
                " OR (checkin_offers.state = 'waiting' AND checkin_offers.ask_again_at <= excluded.offered_at)",
                (team_id, user_id, nonce, iso(now)),
            )
            row = await conn.fetchone(
                "SELECT team_id, user_id, state, nonce, offered_at, ask_again_at, tries FROM checkin_offers"
                " WHERE team_id = ? AND user_id = ?",
                (team_id, user_id),
            )
            return _offer(row) if row is not None and row["state"] == "claimed" else None

        return await self.db.transact(body)

    async def offer_sent(self, team_id: int, user_id: int) -> None:
        await self._set_offer(team_id, user_id, "open", only_from=("claimed",))

    async def offer_refused(self, team_id: int, user_id: int, *, give_up: bool) -> None:
        async def body(conn: Session) -> None:
            await conn.execute(
                "UPDATE checkin_offers SET tries = tries + 1, state = CASE WHEN ? THEN 'closed' ELSE state END"
                " WHERE team_id = ? AND user_id = ? AND state = 'claimed'",
                (give_up, team_id, user_id),
            )

        return await self.db.transact(body)

    async def close_offers(self, team_id: int, user_ids: Sequence[int]) -> None:
        """The quiet partner answered: open choices lapse (a later quiet spell offers a new one)."""
        for user in user_ids:
            await self._set_offer(team_id, user, "closed", only_from=("open", "waiting"))

    async def keep_waiting(self, team_id: int, user_id: int, now: datetime, rules: CheckinRules) -> datetime:
        """ "Keep waiting": the choice is offered again `ask_again_after` from now if the partner is still quiet."""
        until = now + rules.ask_again_after

        async def body(conn: Session) -> datetime:
            await self._require_open(conn, team_id, user_id)
            await conn.execute(
                "UPDATE checkin_offers SET state = 'waiting', ask_again_at = ? WHERE team_id = ? AND user_id = ?",
                (iso(until), team_id, user_id),
            )
            return until

        return await self.db.transact(body)

    async def rematch(self, team_id: int, user_id: int, now: datetime, rules: CheckinRules) -> Rematched:
        """ "Find me someone else", in one transaction: the quiet members are checked again, leave the team (a trio
        stays a pair), and whoever is left without a team goes back to the front of the line."""

        async def body(conn: Session) -> Rematched:
            await self._require_open(conn, team_id, user_id)
            found = await _load(conn, await _running(conn, [team_id]))
            if not found:
                raise NotFound("That team has ended already.")
            team_checkins = found[0]
            plan = plan_rematch(team_checkins.team, quiet_members(team_checkins, now, rules), user_id)
            result = await self.matching.rematch_in(conn, team_checkins.team, plan, now)
            await conn.execute(
                "UPDATE checkin_offers SET state = CASE WHEN user_id = ? THEN 'rematched' ELSE 'closed' END"
                " WHERE team_id = ? AND state IN ('claimed', 'open', 'waiting')",
                (user_id, team_id),
            )
            return result

        return await self.db.transact(body)

    async def _require_open(self, conn: Session, team_id: int, user_id: int) -> None:
        row = await conn.fetchone(
            "SELECT o.state, t.ended_at FROM checkin_offers o JOIN teams t ON t.id = o.team_id"
            " WHERE o.team_id = ? AND o.user_id = ?",
            (team_id, user_id),
        )
        if row is None:
            raise NotFound("That choice no longer exists.")
        if row["ended_at"] is not None:
            raise InvalidInput("That team has ended already, so there is nothing to choose.")
        if row["state"] != "open":
            raise InvalidInput("You've already answered this one (or your partner answered a check-in since).")

    async def _set_offer(self, team_id: int, user_id: int, state: OfferState, *, only_from: Sequence[str]) -> None:
        async def body(conn: Session) -> None:
            await conn.execute(
                "UPDATE checkin_offers SET state = ? WHERE team_id = ? AND user_id = ?"
                " AND state IN (SELECT value FROM json_each(?))",
                (state, team_id, user_id, json.dumps(list(only_from))),
            )

        return await self.db.transact(body)

    # ----------------------------------------------------------------------------------------- stopping

    async def stop_checkins(
        self,
        guild_id: int,
        now: datetime,
        team_ids: Sequence[int] | None = None,
        *,
        cohort_id: int | None = None,
    ) -> int:
        """Stop check-ins for a guild's active teams (or just these teams, or one cohort's), e.g. when their cohort
        closes. Teams that end stop on their own; this is for teams that live on. Returns how many were stopped."""

        async def body(conn: Session) -> int:
            return await conn.execute(
                "INSERT INTO checkin_stops (team_id, stopped_at)"
                " SELECT id, ? FROM teams WHERE guild_id = ? AND ended_at IS NULL"
                " AND (? IS NULL OR id IN (SELECT value FROM json_each(?)))"
                " AND cohort_id IS COALESCE(?, cohort_id)"
                " ON CONFLICT (team_id) DO NOTHING",
                (iso(now), guild_id, None if team_ids is None else 1, json.dumps(list(team_ids or [])), cohort_id),
            )

        return await self.db.transact(body)
