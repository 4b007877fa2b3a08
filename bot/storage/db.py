"""The SQLite connection: opening, pragmas, numbered migrations and the one serialised path to the file."""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from bot.errors import StorageUnavailable
from bot.projects import ProjectTotals

log = logging.getLogger(__name__)

MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
BUSY_TIMEOUT_MS = 5000
# A checkpoint copies the write-ahead log into the database file. Left to SQLite, it runs inside whichever COMMIT
# takes the log past 1,000 pages, and that write pays 8-14 ms (at 5,000 learners, docs/benchmarks.md). Run it
# instead as its own turn on the connection, right after every this many writes: the write that triggers it has
# already returned. Its cost is the pages it syncs, so small and often beats large and rare: after 100 writes it
# held the connection p90 10.7 ms (the command that came next waited for it), after 20 about a fifth of that.
CHECKPOINT_AFTER_WRITES = 20

Params = Sequence[Any] | Mapping[str, Any]
T = TypeVar("T")


def load_migrations() -> list[tuple[int, str, str]]:
    """Every bundled migration as (version, file name, SQL), in version order."""
    found: list[tuple[int, str, str]] = []
    folder = resources.files("bot.storage") / "migrations"
    for entry in folder.iterdir():
        match = MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    versions = [version for version, _, _ in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"duplicate migration numbers: {versions}")
    return found


LATEST_VERSION = max((version for version, _, _ in load_migrations()), default=0)


class BoardCache:
    """Each guild's board counts, one `ProjectTotals` per project, kept between reads and recounted where stale.

    /projects, /project and /nexus stats would otherwise count every announced learner of the guild on every read
    (docs/benchmarks.md). The rule stays in SQL, written once (bot.storage.projects): a guild is filled by its
    whole-guild form on first read, and afterwards only the projects a write marked stale are recounted, together,
    by its some-projects form, as RoboDanny's starboard recounts only the stale stars. Every write that can change a
    count names the projects it may have changed: marking too much only costs a recount, too little would show
    wrong counts. A file opened anew (migrations included) starts with nothing kept.

    Only used under Database's lock (it is reached through a Session, and writes mark it before the lock is
    released), so a read never sees counts older than a committed write, and no write lands during a recount.
    Writes by another process are not seen: this process is the database's only writer.
    """

    def __init__(self) -> None:
        # Kept per board: a guild's cohort (or the whole guild, cohort None, for a server with no cohort yet).
        self._totals: dict[tuple[int, int | None], dict[str, ProjectTotals]] = {}
        self._stale: dict[tuple[int, int | None], set[str]] = {}

    def mark_stale(self, guild_id: int, keys: Iterable[str]) -> None:
        """Recount these projects of the guild on its next read (on every board of the guild: writers name the
        guild, and a needless recount in another cohort costs less than a second rule for which one changed)."""
        marked = set(keys)
        for board in self._totals:  # a board never read is filled in full anyway
            if board[0] == guild_id:
                self._stale.setdefault(board, set()).update(marked)

    def clear(self) -> None:
        self._totals.clear()
        self._stale.clear()

    async def read(
        self,
        guild_id: int,
        count: Callable[[list[str] | None], Awaitable[list[ProjectTotals]]],
        key: str | None = None,
        *,
        cohort_id: int | None = None,
    ) -> list[ProjectTotals]:
        """Every project's counts (or one project's), by key; `count(None)` counts the board, `count(keys)` those
        projects."""
        board = (guild_id, cohort_id)
        totals = self._totals.get(board)
        if totals is None:
            totals = {total.key: total for total in await count(None)}
            self._totals[board] = totals
            self._stale.pop(board, None)
        stale = self._stale.get(board, set())
        due = sorted(stale if key is None else stale & {key})
        if due:
            found = {total.key: total for total in await count(due)}
            for project in due:
                if project in found:
                    totals[project] = found[project]
                else:  # nobody present is on it any more
                    totals.pop(project, None)
            # Only once recounted: if counting raised, the projects stay stale.
            stale.difference_update(due)
        if key is not None:
            return [totals[key]] if key in totals else []
        return [totals[project] for project in sorted(totals)]


class Session:
    """What a `transact()` or `query()` body gets: the one connection, one statement per call."""

    def __init__(self, conn: aiosqlite.Connection, board: BoardCache) -> None:
        self._connection = conn
        self.board = board
        self.board_marks: list[tuple[int, set[str]]] = []

    def board_changed(self, guild_id: int, keys: Iterable[str | None]) -> None:
        """This write may change the board counts of these projects of the guild.

        A None key (a learner with no current choice) counts nowhere and is skipped. The marks are applied when
        the transaction ends, committed or rolled back, before the lock is released (Database.transact).
        """
        self.board_marks.append((guild_id, {key for key in keys if key is not None}))

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        # execute_fetchall runs, fetches and closes in one trip to the database thread.
        return list(await self._connection.execute_fetchall(sql, params))

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    # A statement that returns no rows has finished when execute() returns, so its cursor holds nothing open and is
    # left to the garbage collector: closing it would be one more trip to the database thread.
    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement that returns no rows; the number of rows it changed."""
        cursor = await self._connection.execute(sql, params)
        return cursor.rowcount

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        await self._connection.executemany(sql, rows)

    async def insert(self, sql: str, params: Params = ()) -> int:
        """Run one INSERT; the new row's id."""
        cursor = await self._connection.execute(sql, params)
        row_id = cursor.lastrowid
        if row_id is None:
            raise RuntimeError("INSERT returned no row id")
        return int(row_id)


class Database:
    """The bot's SQLite file, shared by every store: one aiosqlite connection, used one caller at a time.

    aiosqlite runs every statement on its own thread, so waiting for the disk or for another process's lock
    (up to BUSY_TIMEOUT_MS) never stalls the event loop; a trip to that thread costs tens of microseconds, far
    inside a command's budget (docs/benchmarks.md). One asyncio lock orders every caller: a write transaction
    (`transact`, BEGIN IMMEDIATE ... COMMIT) never interleaves with another caller's statements on the shared
    connection, so nobody reads a half-done write and writers queue on the lock, not on SQLITE_BUSY.
    WAL mode with synchronous=NORMAL: a commit appends to the log without a sync; the log is checkpointed after
    every CHECKPOINT_AFTER_WRITES writes, as a turn of its own on the database thread.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()
        self.board = BoardCache()
        self._writes = 0
        self._checkpoint: asyncio.Task[None] | None = None

    @property
    def conn(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise RuntimeError("Database.connect() has not run")
        return self._conn

    @property
    def is_open(self) -> bool:
        return self._conn is not None

    async def connect(self) -> int:
        """Open, set pragmas, apply pending migrations; returns the schema version."""
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we issue BEGIN IMMEDIATE ourselves so writers queue on the lock, not on SQLITE_BUSY.
        self._conn = await aiosqlite.connect(self.path, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        for pragma in (
            "journal_mode=WAL",
            "foreign_keys=ON",
            f"busy_timeout={BUSY_TIMEOUT_MS}",
            "synchronous=NORMAL",
            "wal_autocheckpoint=0",
        ):
            await self.set_pragma(pragma)
        # A file opened (and perhaps migrated) anew may hold anything: nothing counted before is trusted.
        self.board.clear()
        return await self.migrate()

    async def set_pragma(self, pragma: str) -> None:
        """A connection setting (e.g. query_only, max_page_count, busy_timeout)."""
        # Fully consume the result: an unfinished statement would block the next COMMIT.
        await self.conn.execute_fetchall(f"PRAGMA {pragma}")

    async def close(self) -> None:
        if self._conn is None:
            return
        if self._checkpoint is not None:
            await self._checkpoint
        try:
            await self._conn.execute_fetchall("PRAGMA optimize")
        except sqlite3.Error:
            log.debug("PRAGMA optimize failed on close", exc_info=True)
        conn, self._conn = self._conn, None
        await conn.close()

    async def schema_version(self) -> int:
        rows = list(await self.conn.execute_fetchall("PRAGMA user_version"))
        return int(rows[0][0]) if rows else 0

    async def migrate(self) -> int:
        current = await self.schema_version()
        for version, name, sql in load_migrations():
            if version <= current:
                continue
            log.info("applying migration %s", name)
            # executescript commits implicitly, so the version bump lives inside the same script.
            await self.conn.executescript(f"BEGIN IMMEDIATE;\n{sql}\nPRAGMA user_version={version};\nCOMMIT;")
            current = version
        return current

    async def transact(self, body: Callable[[Session], Awaitable[T]]) -> T:
        """One write transaction: BEGIN IMMEDIATE, `body`, COMMIT (ROLLBACK if it raises); returns what it returns.

        `body` may only await statements on the session it is given (anything else would hold every other
        caller up). A file or disk that refuses the write raises StorageUnavailable, with a message safe to show.
        """
        async with self._lock:
            conn = self.conn
            try:
                await conn.execute_fetchall("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as error:
                raise _unavailable(error) from error
            session = Session(conn, self.board)
            try:
                try:
                    result = await body(session)
                except sqlite3.OperationalError as error:
                    await conn.rollback()
                    # A full disk shows up on the statement that needs a new page, not at BEGIN or COMMIT.
                    if _is_unavailable(error):
                        raise _unavailable(error) from error
                    raise
                except BaseException:
                    await conn.rollback()
                    raise
                try:
                    await conn.commit()
                except sqlite3.OperationalError as error:
                    await conn.rollback()
                    raise _unavailable(error) from error
                self._wrote()
                return result
            finally:
                # Still under the lock, after COMMIT or ROLLBACK: no read can see the new rows with the old counts.
                # Marking after a rollback too is harmless (a needless recount) and keeps this path simple.
                for guild_id, keys in session.board_marks:
                    self.board.mark_stale(guild_id, keys)

    async def execute(self, sql: str, params: Params = (), *, board: bool = False) -> list[sqlite3.Row]:
        """One write statement as its own transaction (SQLite makes a single statement atomic), in one trip to the
        database thread instead of three; the rows of its RETURNING clause. Refusals as in transact().

        `board`: the statement may change board counts, and RETURNs `guild_id` and `project_key` for each project
        it may have changed (BoardCache); they are marked stale before the lock is released.
        """
        async with self._lock:
            try:
                rows = list(await self.conn.execute_fetchall(sql, params))
            except sqlite3.OperationalError as error:
                if _is_unavailable(error):
                    raise _unavailable(error) from error
                raise
            if board:
                for row in rows:
                    if row["project_key"] is not None:
                        self.board.mark_stale(row["guild_id"], {row["project_key"]})
            self._wrote()
            return rows

    def _wrote(self) -> None:
        self._writes += 1
        if self._writes >= CHECKPOINT_AFTER_WRITES and self._checkpoint is None:
            self._writes = 0
            self._checkpoint = asyncio.get_running_loop().create_task(self._run_checkpoint())

    async def _run_checkpoint(self) -> None:
        try:
            async with self._lock:
                if self._conn is not None:
                    # PASSIVE never waits: this process is the file's only user, so it copies the whole log.
                    await self._conn.execute_fetchall("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error:
            # Not fatal: the log only grows until the next checkpoint (or the close) succeeds.
            log.warning("WAL checkpoint failed", exc_info=True)
        finally:
            self._checkpoint = None

    async def query(self, body: Callable[[Session], Awaitable[T]]) -> T:
        """Several reads that see one state: no write of this process lands between two of them (the lock)."""
        async with self._lock:
            return await body(Session(self.conn, self.board))

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        async with self._lock:
            return list(await self.conn.execute_fetchall(sql, params))

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None


UNAVAILABLE_CODES = (
    "SQLITE_READONLY",
    "SQLITE_FULL",
    "SQLITE_IOERR",
    "SQLITE_BUSY",
    "SQLITE_LOCKED",
    "SQLITE_CANTOPEN",
)


def _is_unavailable(error: sqlite3.OperationalError) -> bool:
    """The file or disk refused the write (as opposed to a bug in a statement, which must stay loud)."""
    name = getattr(error, "sqlite_errorname", "") or ""
    return name.startswith(UNAVAILABLE_CODES)


def _unavailable(error: sqlite3.OperationalError) -> StorageUnavailable:
    text = str(error).lower()
    log.error("database write failed: %s", error)
    if "readonly" in text or "read-only" in text:
        return StorageUnavailable("The database is read-only right now, so nothing was saved. Staff have been alerted.")
    if "full" in text or "disk" in text:
        return StorageUnavailable("The server's disk is full, so nothing was saved. Staff have been alerted.")
    return StorageUnavailable("The database is busy or unavailable, so nothing was saved. Please try again shortly.")


def stored_time(text: str) -> datetime:
    """A timestamp as the stores write it (ISO 8601, UTC)."""
    return datetime.fromisoformat(text)


def maybe_stored_time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def placeholders(values: Iterable[Any]) -> str:
    """`?, ?, ?` for an IN (...) clause."""
    return ", ".join("?" for _ in values)
