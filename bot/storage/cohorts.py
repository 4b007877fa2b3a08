"""SQL for cohorts: the guild's cohorts, creating, editing and closing one, and its counts for /nexus cohort list."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime

from bot.cohorts import Cohort
from bot.storage.db import Database, Session

# Per-learner tables whose rows written before the guild's first cohort existed (cohort_id NULL) that cohort adopts.
ADOPTED_TABLES = (
    "announcements",
    "match_pool",
    "proposals",
    "teams",
    "matching_log",
    "matching_notices",
    "reminder_cohorts",
    "reminder_runs",
    "reminder_deliveries",
)


# Retention, in an order the foreign keys accept: what hangs off teams and proposals first, announcements last.
PURGE_COHORT_SQL = (
    "DELETE FROM matching_notices WHERE cohort_id = :cohort"
    " OR team_id IN (SELECT id FROM teams WHERE cohort_id = :cohort)",
    "DELETE FROM team_members WHERE team_id IN (SELECT id FROM teams WHERE cohort_id = :cohort)",
    "DELETE FROM teams WHERE cohort_id = :cohort",
    "DELETE FROM proposal_deliveries WHERE proposal_id IN (SELECT id FROM proposals WHERE cohort_id = :cohort)",
    "DELETE FROM proposals WHERE cohort_id = :cohort",
    "DELETE FROM match_pool WHERE cohort_id = :cohort",
    "DELETE FROM matching_log WHERE cohort_id = :cohort",
    "DELETE FROM reminder_deliveries WHERE cohort_id = :cohort",
    "DELETE FROM announcements WHERE cohort_id = :cohort",
)
# Of the cohort's learners (:people, a JSON list), those Nexus no longer knows from any announcement or team.
_ORPHANS = (
    "SELECT value FROM json_each(:people) WHERE NOT EXISTS (SELECT 1 FROM announcements a"
    " WHERE a.guild_id = :guild AND a.user_id = value)"
    " AND NOT EXISTS (SELECT 1 FROM team_members m WHERE m.guild_id = :guild AND m.user_id = value)"
)
PURGE_LEARNERS_SQL = (
    "DELETE FROM pair_blocks WHERE guild_id = :guild AND (user_low IN (" + _ORPHANS + ")"  # noqa: S608 - constants
    " OR user_high IN (" + _ORPHANS + "))",
    "DELETE FROM dm_fallback_threads WHERE guild_id = :guild AND user_id IN (" + _ORPHANS + ")",  # noqa: S608
    "DELETE FROM learners WHERE guild_id = :guild AND user_id IN (" + _ORPHANS + ")",  # noqa: S608 - constants
)


COUNTS_SQL = (
    "SELECT c.id,"
    " (SELECT COUNT(*) FROM announcements a WHERE a.cohort_id = c.id AND a.ended_at IS NULL) AS announced,"
    " (SELECT COUNT(*) FROM match_pool p WHERE p.cohort_id = c.id) AS waiting,"
    " (SELECT COUNT(*) FROM teams t WHERE t.cohort_id = c.id AND t.ended_at IS NULL) AS teams"
    " FROM cohorts c"
)


def _counts(row: sqlite3.Row) -> CohortCounts:
    return CohortCounts(announced=row["announced"], waiting=row["waiting"], teams=row["teams"])


@dataclass(frozen=True)
class CohortCounts:
    """What /nexus cohort list shows beside each cohort."""

    announced: int
    waiting: int
    teams: int


@dataclass(frozen=True)
class CohortClosing:
    """What closing a cohort ended, for the messages that follow: who was waiting, which proposals ended."""

    cohort: Cohort
    waiting: tuple[int, ...]
    proposals: tuple[int, ...]
    reminders_cancelled: int


@dataclass(frozen=True)
class CohortMove:
    """A learner staff moved to another cohort: where from, and their announcement's old public post."""

    guild_id: int
    user_id: int
    to: Cohort
    old_channel_id: int | None
    old_message_id: int | None


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _cohort(row: sqlite3.Row) -> Cohort:
    return Cohort(
        id=row["id"],
        guild_id=row["guild_id"],
        name=row["name"],
        start_date=date.fromisoformat(row["start_date"]),
        timezone=row["timezone"],
        channel_id=row["channel_id"],
        learner_role_id=row["learner_role_id"],
        closed_at=_time(row["closed_at"]),
        purge_notice_at=_time(row["purge_notice_at"]),
        purged_at=_time(row["purged_at"]),
    )


async def _adopt_orphans(conn: Session, guild_id: int, cohort_id: int) -> None:
    for table in ADOPTED_TABLES:
        await conn.execute(
            f"UPDATE {table} SET cohort_id = ? WHERE guild_id = ? AND cohort_id IS NULL",  # noqa: S608 - constants
            (cohort_id, guild_id),
        )


class CohortStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        # Every learner command asks which cohort it is about; only this store writes cohorts, so each guild's list
        # is read once and then kept until one of the writes below changes it.
        self._cohorts: dict[int, list[Cohort]] = {}

    async def cohorts(self, guild_id: int) -> list[Cohort]:
        """The guild's cohorts, oldest start first."""
        if guild_id not in self._cohorts:
            rows = await self.db.fetchall(
                "SELECT * FROM cohorts WHERE guild_id = ? ORDER BY start_date, id", (guild_id,)
            )
            self._cohorts[guild_id] = [_cohort(row) for row in rows]
        return list(self._cohorts[guild_id])

    async def get(self, cohort_id: int) -> Cohort | None:
        row = await self.db.fetchone("SELECT * FROM cohorts WHERE id = ?", (cohort_id,))
        return None if row is None else _cohort(row)

    async def of_learner(self, guild_id: int, user_id: int) -> Cohort | None:
        """The cohort of the learner's current announcement (what puts them in a cohort); None without one."""
        row = await self.db.fetchone(
            "SELECT c.* FROM announcements a JOIN cohorts c ON c.id = a.cohort_id"
            " WHERE a.guild_id = ? AND a.user_id = ? AND a.ended_at IS NULL",
            (guild_id, user_id),
        )
        return None if row is None else _cohort(row)

    async def create(self, cohort: Cohort, *, by: int, now: datetime) -> Cohort:
        """A new cohort (the id given is ignored); the guild's first one adopts the rows written before it."""

        async def body(conn: Session) -> Cohort:
            created = await conn.fetchall(
                "INSERT INTO cohorts (guild_id, name, start_date, timezone, channel_id, learner_role_id, created_at,"
                " created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
                (
                    cohort.guild_id,
                    cohort.name,
                    cohort.start_date.isoformat(),
                    cohort.timezone,
                    cohort.channel_id,
                    cohort.learner_role_id,
                    now.isoformat(),
                    by,
                ),
            )
            made = _cohort(created[0])
            first = await conn.fetchone("SELECT MIN(id) AS id FROM cohorts WHERE guild_id = ?", (cohort.guild_id,))
            if first is not None and first["id"] == made.id:
                await _adopt_orphans(conn, cohort.guild_id, made.id)
            return made

        self._cohorts.pop(cohort.guild_id, None)
        return await self.db.transact(body)

    async def edit(self, cohort: Cohort) -> Cohort:
        """Save a cohort's name, dates, zone, channel and role (the closed state is changed only by close())."""
        self._cohorts.pop(cohort.guild_id, None)
        await self.db.execute(
            "UPDATE cohorts SET name = ?, start_date = ?, timezone = ?, channel_id = ?, learner_role_id = ?"
            " WHERE id = ? AND guild_id = ?",
            (
                cohort.name,
                cohort.start_date.isoformat(),
                cohort.timezone,
                cohort.channel_id,
                cohort.learner_role_id,
                cohort.id,
                cohort.guild_id,
            ),
        )
        return cohort

    async def counts(self, cohort_id: int) -> CohortCounts:
        rows = await self.db.fetchall(COUNTS_SQL + " WHERE c.id = ?", (cohort_id,))
        return _counts(rows[0]) if rows else CohortCounts(0, 0, 0)

    async def counts_by_cohort(self, guild_id: int) -> dict[int, CohortCounts]:
        """Every cohort's counts in one read, for /nexus cohort list (a server gathers a cohort or more a month)."""
        rows = await self.db.fetchall(COUNTS_SQL + " WHERE c.guild_id = ?", (guild_id,))
        return {row["id"]: _counts(row) for row in rows}

    async def close(self, cohort: Cohort, *, by: int, now: datetime) -> CohortClosing | None:
        """Close the cohort: its pool empties, its pending proposals end (withdrawn), its reminders still to come
        are cancelled; announcements and teams stay, so the board reads as it was. None if it was already closed."""

        async def body(conn: Session) -> CohortClosing | None:
            closed = await conn.fetchall(
                "UPDATE cohorts SET closed_at = ?, closed_by = ? WHERE id = ? AND closed_at IS NULL RETURNING *",
                (now.isoformat(), by, cohort.id),
            )
            if not closed:
                return None
            pool = await conn.fetchall(
                "DELETE FROM match_pool WHERE cohort_id = ? RETURNING user_id, project_key", (cohort.id,)
            )
            proposals = await conn.fetchall(
                "UPDATE proposals SET state = 'withdrawn', closed_at = ? WHERE cohort_id = ? AND state = 'pending'"
                " RETURNING id",
                (now.isoformat(), cohort.id),
            )
            conn.board_changed(cohort.guild_id, [row["project_key"] for row in pool])
            skipped = await conn.execute(
                "UPDATE reminder_runs SET state = 'skipped', reason = 'the cohort closed'"
                " WHERE state = 'pending' AND (cohort_id = :cohort OR (guild_id = :guild AND cohort_key IN ("
                "  SELECT cohort_key FROM reminder_cohorts WHERE guild_id = :guild AND cohort_id = :cohort)))",
                {"cohort": cohort.id, "guild": cohort.guild_id},
            )
            await conn.execute(
                "UPDATE reminder_cohorts SET active = 0 WHERE guild_id = ? AND cohort_id = ?",
                (cohort.guild_id, cohort.id),
            )
            return CohortClosing(
                cohort=_cohort(closed[0]),
                waiting=tuple(sorted({row["user_id"] for row in pool})),
                proposals=tuple(row["id"] for row in proposals),
                reminders_cancelled=skipped,
            )

        self._cohorts.pop(cohort.guild_id, None)
        return await self.db.transact(body)

    async def in_team(self, guild_id: int, user_id: int) -> bool:
        """Whether the learner is in a team that has not ended (moving them ends it, so staff confirm first)."""
        row = await self.db.fetchone(
            "SELECT 1 FROM team_members m JOIN teams t ON t.id = m.team_id"
            " WHERE m.guild_id = ? AND m.user_id = ? AND m.left_at IS NULL AND t.ended_at IS NULL",
            (guild_id, user_id),
        )
        return row is not None

    async def move(self, guild_id: int, user_id: int, to: Cohort) -> CohortMove | None:
        """Move the learner's current announcement to another cohort (earlier ones stay as the old cohort's history);
        it is posted afresh in the new cohort's channel. None without a current announcement."""

        async def body(conn: Session) -> CohortMove | None:
            current = await conn.fetchone(
                "SELECT a.id, a.project_key, a.message_id, c.channel_id FROM announcements a"
                " LEFT JOIN cohorts c ON c.id = a.cohort_id"
                " WHERE a.guild_id = ? AND a.user_id = ? AND a.ended_at IS NULL",
                (guild_id, user_id),
            )
            if current is None:
                return None
            await conn.execute(
                "UPDATE announcements SET cohort_id = ?, message_id = NULL, posted_at = NULL WHERE id = ?",
                (to.id, current["id"]),
            )
            conn.board_changed(guild_id, [current["project_key"]])
            return CohortMove(
                guild_id=guild_id,
                user_id=user_id,
                to=to,
                old_channel_id=current["channel_id"],
                old_message_id=current["message_id"],
            )

        return await self.db.transact(body)

    async def awaiting_purge(self) -> list[Cohort]:
        """Closed cohorts whose personal data is still kept, in every guild (what retention looks at)."""
        rows = await self.db.fetchall(
            "SELECT * FROM cohorts WHERE closed_at IS NOT NULL AND purged_at IS NULL ORDER BY closed_at, id"
        )
        return [_cohort(row) for row in rows]

    async def purge_noticed(self, cohort: Cohort, now: datetime) -> None:
        self._cohorts.pop(cohort.guild_id, None)
        await self.db.execute("UPDATE cohorts SET purge_notice_at = ? WHERE id = ?", (now.isoformat(), cohort.id))

    async def purged_counts(self, cohort_id: int) -> dict[str, int] | None:
        """What a purged cohort had, without user ids; None while its data is kept."""
        row = await self.db.fetchone("SELECT purged_counts FROM cohorts WHERE id = ?", (cohort_id,))
        if row is None or row["purged_counts"] is None:
            return None
        counts: dict[str, int] = json.loads(row["purged_counts"])
        return counts

    async def purge(self, cohort: Cohort, now: datetime) -> dict[str, int] | None:
        """Delete a closed cohort's personal data (announcements, matching history, the reminder delivery log, and
        learners Nexus knows from nothing else), keeping counts without user ids. None if it was done already."""

        async def body(conn: Session) -> dict[str, int] | None:
            row = await conn.fetchone("SELECT closed_at, purged_at FROM cohorts WHERE id = ?", (cohort.id,))
            if row is None or row["closed_at"] is None or row["purged_at"] is not None:
                return None
            scope = {"cohort": cohort.id, "guild": cohort.guild_id}
            counted = await conn.fetchone(
                "SELECT (SELECT COUNT(DISTINCT user_id) FROM announcements WHERE cohort_id = :cohort) AS announced,"
                " (SELECT COUNT(*) FROM teams WHERE cohort_id = :cohort) AS teams,"
                " (SELECT COUNT(*) FROM proposals WHERE cohort_id = :cohort) AS proposals,"
                " (SELECT COUNT(*) FROM reminder_deliveries WHERE cohort_id = :cohort AND state = 'sent')"
                "  AS reminders_sent",
                scope,
            )
            counts = (
                {key: int(counted[key]) for key in ("announced", "teams", "proposals", "reminders_sent")}
                if (counted is not None)
                else {}
            )
            people = [
                row["user_id"]
                for row in await conn.fetchall(
                    "SELECT DISTINCT user_id FROM announcements WHERE cohort_id = :cohort", scope
                )
            ]
            keys = await conn.fetchall(
                "SELECT DISTINCT project_key FROM announcements WHERE cohort_id = :cohort AND ended_at IS NULL", scope
            )
            conn.board_changed(cohort.guild_id, [row["project_key"] for row in keys])
            for statement in PURGE_COHORT_SQL:
                await conn.execute(statement, scope)
            # A learner Nexus knows only from this cohort goes too, with what named them in matching.
            for statement in PURGE_LEARNERS_SQL:
                await conn.execute(statement, {"guild": cohort.guild_id, "people": json.dumps(people)})
            await conn.execute(
                "UPDATE cohorts SET purged_at = ?, purged_counts = ? WHERE id = ?",
                (now.isoformat(), json.dumps(counts, sort_keys=True), cohort.id),
            )
            return counts

        self._cohorts.pop(cohort.guild_id, None)
        return await self.db.transact(body)

    async def sync_setup(
        self,
        guild_id: int,
        *,
        channel_id: int,
        start: date,
        timezone: str,
        learner_role_id: int | None,
        by: int,
        now: datetime,
    ) -> Cohort | None:
        """/nexus setup on a single-cohort server: create its cohort, or edit the only one. None when the server
        has several (they are edited one by one with /nexus cohort edit)."""
        existing = await self.cohorts(guild_id)
        if len(existing) > 1:
            return None
        if not existing:
            draft = Cohort(0, guild_id, f"Cohort {start.isoformat()}", start, timezone, channel_id, learner_role_id)
            return await self.create(draft, by=by, now=now)
        only = existing[0]
        return await self.edit(
            Cohort(
                only.id,
                guild_id,
                only.name,
                start,
                timezone,
                channel_id,
                learner_role_id,
                only.closed_at,
                only.purge_notice_at,
                only.purged_at,
            )
        )
