"""Data rights storage: count, then delete or anonymise, one learner's data in one guild in one transaction."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from bot.privacy import Forgotten
from bot.storage.db import Database, Session


async def _count(conn: Session, sql: str, params: tuple[object, ...] | Mapping[str, object]) -> int:
    rows = await conn.fetchall(sql, params)
    return int(rows[0][0])


async def _found(conn: Session, guild_id: int, user_id: int) -> Forgotten:
    ids = (guild_id, user_id)
    named = {"guild": guild_id, "user": user_id}
    posts = await conn.fetchall(
        "SELECT message_id FROM announcements WHERE guild_id = ? AND user_id = ? AND message_id IS NOT NULL",
        ids,
    )
    return Forgotten(
        announcements=await _count(conn, "SELECT COUNT(*) FROM announcements WHERE guild_id = ? AND user_id = ?", ids),
        pool_entries=await _count(conn, "SELECT COUNT(*) FROM match_pool WHERE guild_id = ? AND user_id = ?", ids),
        proposals=await _count(
            conn,
            # Two index look-ups (migration 0053); `? IN (frontend_id, backend_id)` would scan every proposal.
            "SELECT (SELECT COUNT(*) FROM proposals WHERE guild_id = :guild AND frontend_id = :user)"
            " + (SELECT COUNT(*) FROM proposals WHERE guild_id = :guild AND backend_id = :user"
            "    AND frontend_id != :user)",
            named,
        ),
        team_memberships=await _count(
            conn, "SELECT COUNT(*) FROM team_members WHERE guild_id = ? AND user_id = ?", ids
        ),
        pair_blocks=await _count(
            conn,
            "SELECT (SELECT COUNT(*) FROM pair_blocks WHERE guild_id = :guild AND user_low = :user)"
            " + (SELECT COUNT(*) FROM pair_blocks WHERE guild_id = :guild AND user_high = :user)",
            named,
        ),
        reminder_deliveries=await _count(
            conn, "SELECT COUNT(*) FROM reminder_deliveries WHERE guild_id = ? AND recipient = ?", ids
        ),
        learner=await _count(conn, "SELECT COUNT(*) FROM learners WHERE guild_id = ? AND user_id = ?", ids),
        post_ids=tuple(int(row[0]) for row in posts),
    )


class PrivacyStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def found(self, guild_id: int, user_id: int) -> Forgotten:
        """What `forget` would remove right now (for the confirmation)."""
        return await self.db.query(lambda conn: _found(conn, guild_id, user_id))

    async def forget(self, guild_id: int, user_id: int, now: datetime) -> Forgotten:
        """Delete the learner's data in this guild; anonymise what other learners' history still needs.

        Team rows stay (the partner's team remains) but the member's id becomes a negative placeholder derived
        from the row id: stable, unique (so the team's primary key holds), and never a real Discord id.
        """

        async def body(conn: Session) -> Forgotten:
            found = await _found(conn, guild_id, user_id)
            ids = (guild_id, user_id)
            stamp = now.isoformat()
            # A learner counts on the board only on the project of their current choice, so that project is all
            # the board loses, whatever else of theirs goes below (pool entry, team memberships, learner row).
            choices = await conn.fetchall(
                "DELETE FROM announcements WHERE guild_id = ? AND user_id = ? RETURNING project_key, ended_at", ids
            )
            conn.board_changed(guild_id, [row["project_key"] for row in choices if row["ended_at"] is None])
            await conn.execute("DELETE FROM match_pool WHERE guild_id = ? AND user_id = ?", ids)
            # Matching has already withdrawn a pending proposal; this only closes one it could not.
            await conn.execute(
                "UPDATE proposals SET state = 'withdrawn', closed_at = ?"
                " WHERE guild_id = ? AND state = 'pending' AND ? IN (frontend_id, backend_id)",
                (stamp, guild_id, user_id),
            )
            await conn.execute(
                "DELETE FROM proposal_deliveries WHERE user_id = ?"
                " AND proposal_id IN (SELECT id FROM proposals WHERE guild_id = ?)",
                (user_id, guild_id),
            )
            await conn.execute(
                "UPDATE proposals SET frontend_id = 0 WHERE guild_id = ? AND frontend_id = ?",
                ids,
            )
            await conn.execute("UPDATE proposals SET backend_id = 0 WHERE guild_id = ? AND backend_id = ?", ids)
            await conn.execute(
                "UPDATE team_members SET user_id = -rowid, left_at = COALESCE(left_at, ?)"
                " WHERE guild_id = ? AND user_id = ?",
                (stamp, guild_id, user_id),
            )
            await conn.execute("DELETE FROM pair_blocks WHERE guild_id = ? AND ? IN (user_low, user_high)", ids)
            await conn.execute("DELETE FROM dm_fallback_threads WHERE guild_id = ? AND user_id = ?", ids)
            await conn.execute("DELETE FROM matching_notices WHERE guild_id = ? AND user_id = ?", ids)
            await conn.execute("DELETE FROM reminder_deliveries WHERE guild_id = ? AND recipient = ?", ids)
            await conn.execute("DELETE FROM learners WHERE guild_id = ? AND user_id = ?", ids)
            return found

        return await self.db.transact(body)
