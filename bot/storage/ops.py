"""SQL for operations: read-only counts over every feature's tables for /nexus stats, and online backups."""

from __future__ import annotations

import logging
import os
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

from bot.ops import BackupReport, GuildStats, ProjectCount, project_label
from bot.storage.db import BUSY_TIMEOUT_MS, Database
from bot.storage.projects import current_board

log = logging.getLogger(__name__)


class BackupError(Exception):
    """The backup could not be made; the message says why. Nothing was left at the target path."""


# Counters from other features' tables: (name, table it needs, scalar subquery with the named parameters :guild
# and :cohort; a NULL cohort counts the whole guild). The knowledge base is server-wide: its counts ignore the cohort.
CORE_COUNTERS: tuple[tuple[str, str, str], ...] = (
    (
        "learners",
        "learners",
        "SELECT COUNT(*) FROM learners l WHERE l.guild_id = :guild AND l.left_at IS NULL AND (:cohort IS NULL OR"
        " EXISTS (SELECT 1 FROM announcements a WHERE a.guild_id = l.guild_id AND a.user_id = l.user_id"
        "  AND a.ended_at IS NULL AND a.cohort_id = :cohort))",
    ),
    (
        "waiting",
        "match_pool",
        "SELECT COUNT(*) FROM match_pool WHERE guild_id = :guild AND state = 'waiting'"
        " AND cohort_id IS COALESCE(:cohort, cohort_id)",
    ),
    (
        "pending_proposals",
        "proposals",
        "SELECT COUNT(*) FROM proposals WHERE guild_id = :guild AND state = 'pending'"
        " AND cohort_id IS COALESCE(:cohort, cohort_id)",
    ),
    (
        "paired",
        "team_members",
        "SELECT COUNT(*) FROM team_members WHERE guild_id = :guild AND left_at IS NULL"
        " AND (:cohort IS NULL OR team_id IN (SELECT id FROM teams WHERE cohort_id = :cohort))",
    ),
    (
        "teams",
        "teams",
        "SELECT COUNT(*) FROM teams WHERE guild_id = :guild AND ended_at IS NULL"
        " AND cohort_id IS COALESCE(:cohort, cohort_id)",
    ),
)
OPTIONAL_COUNTERS: tuple[tuple[str, str, str], ...] = (
    (
        "reminders_sent",
        "reminder_deliveries",
        "SELECT COUNT(*) FROM reminder_deliveries WHERE guild_id = :guild AND state = 'sent'"
        " AND cohort_id IS COALESCE(:cohort, cohort_id)",
    ),
    (
        "reminders_failed",
        "reminder_deliveries",
        "SELECT COUNT(*) FROM reminder_deliveries WHERE guild_id = :guild AND state = 'failed'"
        " AND cohort_id IS COALESCE(:cohort, cohort_id)",
    ),
    (
        "knowledge_lookups",
        "knowledge_lookups",
        "SELECT COALESCE(SUM(count), 0) FROM knowledge_lookups WHERE guild_id = :guild",
    ),
    ("knowledge_misses", "knowledge_misses", "SELECT COUNT(*) FROM knowledge_misses WHERE guild_id = :guild"),
)


class OpsStore:
    """Read-only: never writes to other features' tables. A feature whose tables are absent counts as None."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._tables: set[str] | None = None

    async def tables(self) -> set[str]:
        # Migrations only run when the database is opened, so the table list is read once.
        if self._tables is None:
            rows = await self.db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")
            self._tables = {str(row["name"]) for row in rows}
        return self._tables

    async def configured_guilds(self) -> list[int]:
        rows = await self.db.fetchall("SELECT guild_id FROM guild_config ORDER BY guild_id")
        return [int(row["guild_id"]) for row in rows]

    async def guild_stats(self, guild_id: int, *, cohort_id: int | None = None) -> GuildStats:
        """The guild's counts; of one cohort, if given (the knowledge base's stay server-wide)."""
        tables = await self.tables()
        optional = [counter for counter in OPTIONAL_COUNTERS if counter[1] in tables]
        counts = await self._counts([*CORE_COUNTERS, *optional], guild_id, cohort_id)
        # The same counts as /projects, from the same cache: learners still in the server (BOARD_SQL in
        # bot.storage.projects).
        totals = await self.db.query(lambda conn: current_board(conn, guild_id, cohort_id=cohort_id))
        projects = tuple(
            ProjectCount(
                project_key=total.key,
                label=project_label(total.key, total.latest_name),
                frontend=total.frontend,
                backend=total.backend,
            )
            for total in totals
        )
        return GuildStats(
            guild_id=guild_id,
            learners=counts["learners"] or 0,
            projects=projects,
            waiting=counts["waiting"] or 0,
            pending_proposals=counts["pending_proposals"] or 0,
            paired=counts["paired"] or 0,
            teams=counts["teams"] or 0,
            reminders_sent=counts.get("reminders_sent"),
            reminders_failed=counts.get("reminders_failed"),
            knowledge_lookups=counts.get("knowledge_lookups"),
            knowledge_misses=counts.get("knowledge_misses"),
        )

    async def announced_since(
        self, guild_id: int, since: datetime, *, cohort_id: int | None = None
    ) -> list[tuple[int, datetime]]:
        """(learner, when) of every announcement made from `since` on, replaced or withdrawn ones included."""
        # Stored timestamps are ISO text in UTC whose precision varies: a day earlier is a safe text bound, and the
        # exact window is applied by the caller (bot.ops.week_one_per_day).
        rows = await self.db.fetchall(
            "SELECT user_id, created_at FROM announcements WHERE guild_id = ? AND created_at >= ?"
            " AND cohort_id IS COALESCE(?, cohort_id)",
            (guild_id, (since - timedelta(days=1)).date().isoformat(), cohort_id),
        )
        return [(int(row["user_id"]), datetime.fromisoformat(row["created_at"])) for row in rows]

    async def _counts(
        self, counters: list[tuple[str, str, str]], guild_id: int, cohort_id: int | None
    ) -> dict[str, int | None]:
        """All counters in one round trip; if another feature changed its table's shape, count the rest alone."""
        try:
            return await self._select_counts(counters, guild_id, cohort_id)
        except sqlite3.OperationalError:
            counts: dict[str, int | None] = {}
            for counter in counters:
                try:
                    counts.update(await self._select_counts([counter], guild_id, cohort_id))
                except sqlite3.OperationalError as error:
                    if counter in CORE_COUNTERS:
                        raise
                    log.warning("stats: cannot count %s from %s: %s", counter[0], counter[1], error)
                    counts[counter[0]] = None
            return counts

    async def _select_counts(
        self, counters: list[tuple[str, str, str]], guild_id: int, cohort_id: int | None
    ) -> dict[str, int | None]:
        # Built only from the constant counters above; the guild and cohort ids are always bound parameters.
        columns = ", ".join(f"({sql}) AS {name}" for name, _, sql in counters)
        row = await self.db.fetchone(f"SELECT {columns}", {"guild": guild_id, "cohort": cohort_id})
        if row is None:  # a SELECT of scalar subqueries always returns one row
            raise RuntimeError("stats query returned no row")
        return {name: int(row[name]) for name, _, _ in counters}


def backup_database(source: Path, target: Path, *, overwrite: bool = False) -> BackupReport:
    """Online backup with SQLite's backup API: a consistent copy even while the bot is writing.

    The live database is opened as it is (no migrations, never created), the copy is written next to the target
    and checked with `PRAGMA integrity_check`, then renamed into place, so a failed backup leaves nothing behind.
    """
    if not source.is_file():
        raise BackupError(f"no database at {source}")
    if target.exists():
        if target.resolve() == source.resolve():
            raise BackupError("the backup target is the live database itself")
        if not overwrite:
            raise BackupError(f"{target} already exists (use --force to replace it)")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        # mode=rw: fail rather than create an empty database when the path is wrong.
        live = sqlite3.connect(f"{source.resolve().as_uri()}?mode=rw", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            copy = sqlite3.connect(partial)
            try:
                live.backup(copy)
                verdict = copy.execute("PRAGMA integrity_check").fetchone()
                version = copy.execute("PRAGMA user_version").fetchone()
            finally:
                copy.close()
        finally:
            live.close()
        if verdict is None or verdict[0] != "ok":
            raise BackupError(f"the copy failed its integrity check: {verdict[0] if verdict else 'no answer'}")
        os.replace(partial, target)
    except sqlite3.Error as error:
        raise BackupError(f"backup of {source} failed: {error}") from error
    finally:
        for suffix in ("", "-wal", "-shm", "-journal"):
            partial.with_name(partial.name + suffix).unlink(missing_ok=True)
    return BackupReport(
        source=source,
        target=target,
        schema_version=int(version[0]) if version else 0,
        size_bytes=target.stat().st_size,
    )
