"""SQL for reminders: cohorts and their runs, the exactly-once delivery log, pauses, and the audience data."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import cast

from bot.reminders import (
    AnnouncedLearner,
    Cohort,
    Delivery,
    DeliveryFailure,
    DeliveryState,
    ReminderRun,
    RunProgress,
    RunState,
    SkippedRun,
    Track,
    is_new_cohort,
)
from bot.storage.db import Database, Session, placeholders


def _instant(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _run(row: sqlite3.Row) -> ReminderRun:
    return ReminderRun(
        guild_id=row["guild_id"],
        cohort_key=row["cohort_key"],
        reminder_id=row["reminder_id"],
        due_at=datetime.fromisoformat(row["due_at"]),
        state=cast(RunState, row["state"]),
        reason=row["reason"],
        started_at=_instant(row["started_at"]),
        finished_at=_instant(row["finished_at"]),
        total=row["total"],
        progress_message_id=row["progress_message_id"],
    )


def _delivery(row: sqlite3.Row) -> Delivery:
    return Delivery(
        recipient=row["recipient"],
        nonce=row["nonce"],
        state=cast(DeliveryState, row["state"]),
        attempts=row["attempts"],
        reason=row["reason"],
        kind=row["kind"],
        next_attempt_at=_instant(row["next_attempt_at"]),
    )


RUN_COLUMNS = (
    "guild_id, cohort_key, reminder_id, due_at, state, reason, started_at, finished_at, total, progress_message_id"
)
DELIVERY_COLUMNS = "recipient, nonce, state, attempts, reason, kind, next_attempt_at"


async def _schedule_key(conn: Session, guild_id: int, start: date, cohort_id: int | None) -> str:
    """A new schedule's key, unique in the guild: its start date, as before cohorts, for the guild's first cohort;
    with the cohort id after it for any other, since two cohorts of a server may start on the same day."""
    first = await conn.fetchone("SELECT MIN(id) AS id FROM cohorts WHERE guild_id = ?", (guild_id,))
    if cohort_id is None or first is None or first["id"] == cohort_id:
        return start.isoformat()
    return f"{start.isoformat()}#{cohort_id}"


class RemindersStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # --- cohorts and runs ---------------------------------------------------------------------------------

    async def active_cohort(self, guild_id: int, cohort_id: int | None = None) -> Cohort | None:
        """The active week-one schedule of a cohort (None: the guild's, as on a server with a single cohort)."""
        row = await self.db.fetchone(
            "SELECT guild_id, cohort_key, cohort_start, timezone, cohort_id FROM reminder_cohorts"
            " WHERE guild_id = ? AND active = 1 AND cohort_id IS COALESCE(?, cohort_id) ORDER BY cohort_id LIMIT 1",
            (guild_id, cohort_id),
        )
        if row is None:
            return None
        return Cohort(
            row["guild_id"],
            row["cohort_key"],
            date.fromisoformat(row["cohort_start"]),
            row["timezone"],
            row["cohort_id"],
        )

    async def apply_schedule(
        self,
        guild_id: int,
        cohort_start: date,
        timezone: str,
        due: Mapping[str, datetime],
        now: datetime,
        cohort_id: int | None = None,
    ) -> Cohort:
        """Bring a cohort's runs (None: the guild's, as on a server with a single cohort) in line with its dates and
        the content file.

        The same cohort (a corrected date or zone, or a restart) keeps what was sent and moves what was not;
        a new cohort starts a fresh week. Skipped runs come back only when their time actually moved.
        """

        async def body(conn: Session) -> Cohort:
            active = await conn.fetchone(
                "SELECT cohort_key, cohort_start FROM reminder_cohorts WHERE guild_id = ? AND active = 1"
                " AND cohort_id IS COALESCE(?, cohort_id) ORDER BY cohort_id LIMIT 1",
                (guild_id, cohort_id),
            )
            if active is None or is_new_cohort(date.fromisoformat(active["cohort_start"]), cohort_start):
                key = await _schedule_key(conn, guild_id, cohort_start, cohort_id)
                if active is not None:
                    await conn.execute(
                        "UPDATE reminder_runs SET state = 'skipped', reason = ?"
                        " WHERE guild_id = ? AND cohort_key = ? AND state = 'pending'",
                        (f"replaced by the cohort starting {key}", guild_id, active["cohort_key"]),
                    )
                    await conn.execute(
                        "UPDATE reminder_cohorts SET active = 0 WHERE guild_id = ? AND cohort_key = ?",
                        (guild_id, active["cohort_key"]),
                    )
                # A key seen before (staff switched back to an earlier date) keeps its history: no resends.
                await conn.execute(
                    "INSERT INTO reminder_cohorts (guild_id, cohort_key, cohort_start, timezone, active, created_at,"
                    # No cohort named: a single-cohort server's schedule, which is its first cohort's.
                    " cohort_id) VALUES (?1, ?2, ?3, ?4, 1, ?5, COALESCE(?6, (SELECT MIN(c.id) FROM cohorts c"
                    " WHERE c.guild_id = ?1))) ON CONFLICT (guild_id, cohort_key) DO UPDATE SET"
                    " active = 1, cohort_start = excluded.cohort_start, timezone = excluded.timezone",
                    (guild_id, key, cohort_start.isoformat(), timezone, now.isoformat(), cohort_id),
                )
            else:
                key = active["cohort_key"]
                await conn.execute(
                    "UPDATE reminder_cohorts SET cohort_start = ?, timezone = ? WHERE guild_id = ? AND cohort_key = ?",
                    (cohort_start.isoformat(), timezone, guild_id, key),
                )
            for reminder_id, due_at in due.items():
                await conn.execute(
                    "INSERT INTO reminder_runs (guild_id, cohort_key, reminder_id, due_at, cohort_id)"
                    " VALUES (?1, ?2, ?3, ?4, (SELECT s.cohort_id FROM reminder_cohorts s"
                    "  WHERE s.guild_id = ?1 AND s.cohort_key = ?2))"
                    " ON CONFLICT (guild_id, cohort_key, reminder_id) DO UPDATE SET"
                    " due_at = excluded.due_at, state = 'pending', reason = NULL"
                    " WHERE state = 'pending' OR (state = 'skipped' AND due_at <> excluded.due_at)",
                    (guild_id, key, reminder_id, due_at.isoformat()),
                )
            return Cohort(guild_id, key, cohort_start, timezone, cohort_id)

        return await self.db.transact(body)

    async def runs(self, guild_id: int, cohort_key: str) -> list[ReminderRun]:
        rows = await self.db.fetchall(
            f"SELECT {RUN_COLUMNS} FROM reminder_runs WHERE guild_id = ? AND cohort_key = ?"  # noqa: S608
            " ORDER BY due_at, reminder_id",
            (guild_id, cohort_key),
        )
        return [_run(row) for row in rows]

    async def run(self, guild_id: int, cohort_key: str, reminder_id: str) -> ReminderRun | None:
        row = await self.db.fetchone(
            f"SELECT {RUN_COLUMNS} FROM reminder_runs"  # noqa: S608
            " WHERE guild_id = ? AND cohort_key = ? AND reminder_id = ?",
            (guild_id, cohort_key, reminder_id),
        )
        return None if row is None else _run(row)

    async def begin_sending(
        self, guild_id: int, cohort_key: str, reminder_id: str, now: datetime, *, manual: bool = False
    ) -> bool:
        """pending -> sending (a manual send may also revive a skipped run). False if someone else has it."""
        states = ("pending", "skipped") if manual else ("pending",)

        async def body(conn: Session) -> bool:
            changed = await conn.execute(
                "UPDATE reminder_runs SET state = 'sending', started_at = ?, reason = NULL"  # noqa: S608
                f" WHERE guild_id = ? AND cohort_key = ? AND reminder_id = ? AND state IN ({placeholders(states)})",
                (now.isoformat(), guild_id, cohort_key, reminder_id, *states),
            )
            return changed == 1

        return await self.db.transact(body)

    async def skip(self, guild_id: int, cohort_key: str, reminder_id: str, reason: str, now: datetime) -> bool:
        """pending or sending -> skipped, with the reason staff will see."""

        async def body(conn: Session) -> bool:
            changed = await conn.execute(
                "UPDATE reminder_runs SET state = 'skipped', reason = ?, finished_at = ?"
                " WHERE guild_id = ? AND cohort_key = ? AND reminder_id = ? AND state IN ('pending', 'sending')",
                (reason, now.isoformat(), guild_id, cohort_key, reminder_id),
            )
            return changed == 1

        return await self.db.transact(body)

    async def finish(self, guild_id: int, cohort_key: str, reminder_id: str, now: datetime) -> None:
        async def body(conn: Session) -> None:
            await conn.execute(
                "UPDATE reminder_runs SET state = 'sent', finished_at = ?"
                " WHERE guild_id = ? AND cohort_key = ? AND reminder_id = ? AND state = 'sending'",
                (now.isoformat(), guild_id, cohort_key, reminder_id),
            )

        return await self.db.transact(body)

    async def set_total(self, guild_id: int, cohort_key: str, reminder_id: str, total: int) -> None:
        async def body(conn: Session) -> None:
            await conn.execute(
                "UPDATE reminder_runs SET total = ? WHERE guild_id = ? AND cohort_key = ? AND reminder_id = ?",
                (total, guild_id, cohort_key, reminder_id),
            )

        return await self.db.transact(body)

    async def set_progress_message(self, guild_id: int, cohort_key: str, reminder_id: str, message_id: int) -> None:
        async def body(conn: Session) -> None:
            await conn.execute(
                "UPDATE reminder_runs SET progress_message_id = ?"
                " WHERE guild_id = ? AND cohort_key = ? AND reminder_id = ?",
                (message_id, guild_id, cohort_key, reminder_id),
            )

        return await self.db.transact(body)

    async def next_due(self, guild_id: int, cohort_key: str) -> datetime | None:
        row = await self.db.fetchone(
            "SELECT MIN(due_at) AS due FROM reminder_runs WHERE guild_id = ? AND cohort_key = ? AND state = 'pending'",
            (guild_id, cohort_key),
        )
        return None if row is None or row["due"] is None else datetime.fromisoformat(row["due"])

    async def skipped(self, guild_id: int, cohort_key: str) -> list[SkippedRun]:
        rows = await self.db.fetchall(
            "SELECT reminder_id, due_at, reason FROM reminder_runs"
            " WHERE guild_id = ? AND cohort_key = ? AND state = 'skipped' ORDER BY due_at",
            (guild_id, cohort_key),
        )
        return [SkippedRun(r["reminder_id"], datetime.fromisoformat(r["due_at"]), r["reason"] or "") for r in rows]

    # --- pause --------------------------------------------------------------------------------------------

    async def is_paused(self, guild_id: int, cohort_id: int | None = None) -> bool:
        """Whether a cohort's reminders are paused (None: any of the guild's, as on a server with a single cohort)."""
        row = await self.db.fetchone(
            "SELECT 1 FROM reminder_pauses WHERE guild_id = ? AND cohort_id IS COALESCE(?, cohort_id)",
            (guild_id, cohort_id),
        )
        return row is not None

    async def set_paused(
        self, guild_id: int, paused: bool, *, by: int, now: datetime, cohort_id: int | None = None
    ) -> bool:
        """True if this changed anything."""

        async def body(conn: Session) -> bool:
            if paused:
                changed = await conn.execute(
                    "INSERT OR IGNORE INTO reminder_pauses (guild_id, cohort_id, paused_at, paused_by)"
                    " VALUES (?, ?, ?, ?)",
                    (guild_id, cohort_id, now.isoformat(), by),
                )
            else:
                changed = await conn.execute(
                    "DELETE FROM reminder_pauses WHERE guild_id = ? AND cohort_id IS COALESCE(?, cohort_id)",
                    (guild_id, cohort_id),
                )
            return changed >= 1

        return await self.db.transact(body)

    # --- deliveries ---------------------------------------------------------------------------------------

    async def claim(
        self, guild_id: int, cohort_key: str, reminder_id: str, recipient: int, nonce: str, now: datetime
    ) -> Delivery:
        """Claim a recipient before sending. An existing row wins: a 'claimed' or 'retry' one is resent with
        its own nonce; a 'sent' or 'failed' one is not sent again."""

        # The no-op update makes RETURNING give back the row that was already there.
        rows = await self.db.execute(
            "INSERT INTO reminder_deliveries (guild_id, cohort_key, reminder_id, recipient, nonce,"  # noqa: S608
            " state, claimed_at, updated_at, cohort_id) VALUES (?1, ?2, ?3, ?4, ?5, 'claimed', ?6, ?6,"
            " (SELECT r.cohort_id FROM reminder_runs r WHERE r.guild_id = ?1 AND r.cohort_key = ?2"
            "  AND r.reminder_id = ?3))"
            " ON CONFLICT (guild_id, cohort_key, reminder_id, recipient) DO UPDATE SET recipient = recipient"
            f" RETURNING {DELIVERY_COLUMNS}",
            (guild_id, cohort_key, reminder_id, recipient, nonce, now.isoformat()),
        )
        return _delivery(rows[0])

    async def mark_sent(
        self, guild_id: int, cohort_key: str, reminder_id: str, recipient: int, message_id: int, now: datetime
    ) -> None:
        await self.db.execute(
            "UPDATE reminder_deliveries SET state = 'sent', message_id = ?, attempts = attempts + 1,"
            " updated_at = ?, next_attempt_at = NULL, reason = NULL, kind = NULL"
            " WHERE guild_id = ? AND cohort_key = ? AND reminder_id = ? AND recipient = ?",
            (message_id, now.isoformat(), guild_id, cohort_key, reminder_id, recipient),
        )

    async def mark_failed(
        self,
        guild_id: int,
        cohort_key: str,
        reminder_id: str,
        recipient: int,
        *,
        kind: str,
        reason: str,
        now: datetime,
    ) -> None:
        """A permanent failure: kept (never deleted) and listed for staff and in the next channel post."""

        await self.db.execute(
            "UPDATE reminder_deliveries SET state = 'failed', kind = ?, reason = ?, attempts = attempts + 1,"
            " updated_at = ?, next_attempt_at = NULL"
            " WHERE guild_id = ? AND cohort_key = ? AND reminder_id = ? AND recipient = ?",
            (kind, reason, now.isoformat(), guild_id, cohort_key, reminder_id, recipient),
        )

    async def mark_retry(
        self,
        guild_id: int,
        cohort_key: str,
        reminder_id: str,
        recipient: int,
        *,
        reason: str,
        next_attempt_at: datetime,
        now: datetime,
    ) -> Delivery:
        async def body(conn: Session) -> Delivery:
            await conn.execute(
                "UPDATE reminder_deliveries SET state = 'retry', reason = ?, attempts = attempts + 1,"
                " updated_at = ?, next_attempt_at = ?"
                " WHERE guild_id = ? AND cohort_key = ? AND reminder_id = ? AND recipient = ?",
                (reason, now.isoformat(), next_attempt_at.isoformat(), guild_id, cohort_key, reminder_id, recipient),
            )
            row = await conn.fetchone(
                f"SELECT {DELIVERY_COLUMNS} FROM reminder_deliveries"  # noqa: S608
                " WHERE guild_id = ? AND cohort_key = ? AND reminder_id = ? AND recipient = ?",
                (guild_id, cohort_key, reminder_id, recipient),
            )
            if row is None:
                raise RuntimeError("reminder delivery row vanished")
            return _delivery(row)

        return await self.db.transact(body)

    async def deliveries(self, guild_id: int, cohort_key: str, reminder_id: str) -> dict[int, Delivery]:
        rows = await self.db.fetchall(
            f"SELECT {DELIVERY_COLUMNS} FROM reminder_deliveries"  # noqa: S608
            " WHERE guild_id = ? AND cohort_key = ? AND reminder_id = ? ORDER BY recipient",
            (guild_id, cohort_key, reminder_id),
        )
        return {row["recipient"]: _delivery(row) for row in rows}

    async def progress(self, guild_id: int, cohort_key: str) -> dict[str, RunProgress]:
        """Per reminder: deliveries finished (sent or failed), failed, and the planned total."""
        rows = await self.db.fetchall(
            "SELECT r.reminder_id, r.total,"
            " SUM(CASE WHEN d.state IN ('sent', 'failed') THEN 1 ELSE 0 END) AS done,"
            " SUM(CASE WHEN d.state = 'failed' THEN 1 ELSE 0 END) AS failed"
            " FROM reminder_runs r LEFT JOIN reminder_deliveries d ON d.guild_id = r.guild_id"
            " AND d.cohort_key = r.cohort_key AND d.reminder_id = r.reminder_id"
            " WHERE r.guild_id = ? AND r.cohort_key = ? GROUP BY r.reminder_id, r.total",
            (guild_id, cohort_key),
        )
        return {
            row["reminder_id"]: RunProgress(done=row["done"] or 0, failed=row["failed"] or 0, total=row["total"])
            for row in rows
        }

    async def failures(self, guild_id: int, cohort_key: str) -> list[DeliveryFailure]:
        rows = await self.db.fetchall(
            "SELECT reminder_id, recipient, kind, reason FROM reminder_deliveries"
            " WHERE guild_id = ? AND cohort_key = ? AND state = 'failed' ORDER BY updated_at, recipient",
            (guild_id, cohort_key),
        )
        return [DeliveryFailure(r["reminder_id"], r["recipient"], r["kind"] or "", r["reason"] or "") for r in rows]

    async def unreported(
        self, guild_id: int, cohort_key: str, kinds: Sequence[str], reminder_ids: Sequence[str]
    ) -> list[int]:
        """People whose DM for one of `reminder_ids` failed in one of `kinds`, not yet listed by a channel post."""
        if not kinds or not reminder_ids:
            return []
        rows = await self.db.fetchall(
            "SELECT recipient, MIN(updated_at) AS first FROM reminder_deliveries"  # noqa: S608
            " WHERE guild_id = ? AND cohort_key = ? AND state = 'failed' AND recipient <> 0 AND reported_in IS NULL"
            f" AND kind IN ({placeholders(kinds)}) AND reminder_id IN ({placeholders(reminder_ids)})"
            " GROUP BY recipient ORDER BY first, recipient",
            (guild_id, cohort_key, *kinds, *reminder_ids),
        )
        return [row["recipient"] for row in rows]

    async def mark_reported(self, guild_id: int, cohort_key: str, recipients: Sequence[int], in_reminder: str) -> None:
        if not recipients:
            return

        async def body(conn: Session) -> None:
            await conn.execute(
                "UPDATE reminder_deliveries SET reported_in = ?"  # noqa: S608
                " WHERE guild_id = ? AND cohort_key = ? AND state = 'failed' AND reported_in IS NULL"
                f" AND recipient IN ({placeholders(recipients)})",
                (in_reminder, guild_id, cohort_key, *recipients),
            )

        return await self.db.transact(body)

    # --- audience data (tables owned by announcements and matching; read here) -----------------------------

    async def announced(self, guild_id: int, cohort_id: int | None = None) -> list[AnnouncedLearner]:
        """Current announcements of a cohort (None: of the whole guild)."""
        rows = await self.db.fetchall(
            "SELECT user_id, project_key, project_name, track FROM announcements"
            " WHERE guild_id = ? AND ended_at IS NULL AND cohort_id IS COALESCE(?, cohort_id) ORDER BY created_at, id",
            (guild_id, cohort_id),
        )
        return [
            AnnouncedLearner(row["user_id"], row["project_key"], row["project_name"], cast(Track, row["track"]))
            for row in rows
        ]

    async def teamed(self, guild_id: int, cohort_id: int | None = None) -> frozenset[int]:
        """Learners in an active team of a cohort (None: of the whole guild)."""
        rows = await self.db.fetchall(
            "SELECT m.user_id FROM team_members m JOIN teams t ON t.id = m.team_id"
            " WHERE m.guild_id = ? AND m.left_at IS NULL AND t.cohort_id IS COALESCE(?, t.cohort_id)",
            (guild_id, cohort_id),
        )
        return frozenset(row["user_id"] for row in rows)

    async def opted_out(self, guild_id: int) -> frozenset[int]:
        rows = await self.db.fetchall(
            "SELECT user_id FROM learners WHERE guild_id = ? AND reminders_opt_out = 1", (guild_id,)
        )
        return frozenset(row["user_id"] for row in rows)

    async def set_opt_out(
        self, guild_id: int, user_id: int, *, display_name: str, opt_out: bool, now: datetime
    ) -> None:
        """/reminders off|on: creates the learner row if Nexus has not seen them yet."""

        async def body(conn: Session) -> None:
            await conn.execute(
                "INSERT INTO learners (guild_id, user_id, display_name, first_seen_at, reminders_opt_out)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (guild_id, user_id)"
                " DO UPDATE SET reminders_opt_out = excluded.reminders_opt_out",
                (guild_id, user_id, display_name, now.isoformat(), int(opt_out)),
            )

        return await self.db.transact(body)
