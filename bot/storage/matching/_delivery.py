"""What matching sent and must still send: proposal copies, fallback threads, team threads and notices kept
until Discord accepts them (cogs/matching/_delivery.py reads and writes them)."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.matching import Notice, OpenCopy
from bot.storage.db import Database, Session, maybe_stored_time, stored_time
from bot.storage.matching._rows import LEARNER_COHORT_SQL, iso


class DeliveryRecords:
    """The delivery side of MatchingStore: each record is its own small transaction, written after Discord answers."""

    db: Database

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

    async def add_notice(
        self, guild_id: int, user_id: int, content: str, now: datetime, team_id: int | None = None
    ) -> Notice:
        """Keep a notice until Discord accepts it, so a refusal or a restart before sending does not lose it."""

        async def body(conn: Session) -> int:
            return await conn.insert(
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

    async def thread_refused(self, team_id: int) -> None:
        async def body(conn: Session) -> None:
            await conn.execute("UPDATE teams SET thread_tries = thread_tries + 1 WHERE id = ?", (team_id,))

        return await self.db.transact(body)

    async def open_copies(self, proposal_id: int | None = None) -> list[OpenCopy]:
        """Copies of closed proposals that still show buttons (of one proposal, or of all of them)."""
        # Two statements, not `(:proposal IS NULL OR ...)`: with the OR, SQLite read every open copy (2.6 ms at
        # 5,000 learners) instead of one proposal's.
        one = "" if proposal_id is None else " AND d.proposal_id = :proposal"
        rows = await self.db.fetchall(
            "SELECT d.proposal_id, d.user_id, d.channel_id, d.message_id, d.close_tries, p.closed_at"  # noqa: S608
            " FROM proposal_deliveries d JOIN proposals p ON p.id = d.proposal_id"
            f" WHERE d.closed_at IS NULL AND p.state <> 'pending'{one}"
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
