"""The SQLite connection: opening, pragmas, numbered migrations and the one serialised write path."""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from bot.errors import StorageUnavailable

log = logging.getLogger(__name__)

MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
BUSY_TIMEOUT_MS = 5000

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


class Database:
    """The bot's SQLite file: writes on aiosqlite's thread, reads on the event loop. Every store shares one.

    Every call into aiosqlite is a round trip to its database thread, and the round trips, not SQLite, were most
    of what a command waited for. So `transact()` runs a whole write transaction in one trip (a commit may wait
    for the disk or for another process's lock, which must never stall the event loop), while reads, which in
    WAL mode never wait for a writer, run at once on a second, read-only connection owned by the event loop:
    `fetchall`/`fetchone` for one statement, `query()` for several under one snapshot. A read that may return
    a whole cohort passes `bulk=True` and goes to the database thread instead, so it cannot stall the loop.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: aiosqlite.Connection | None = None
        self._reader: sqlite3.Connection | None = None
        self._write_lock = asyncio.Lock()

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
        ):
            # Fully consume each pragma's result: an unfinished statement would block the next COMMIT.
            await self._conn.execute_fetchall(f"PRAGMA {pragma}")
        version = await self.migrate()
        self._reader = self._open_reader()
        return version

    def _open_reader(self) -> sqlite3.Connection | None:
        if str(self.path) == ":memory:":
            return None  # a second connection to :memory: would be another, empty database
        # check_same_thread=False: the bot's loop thread uses it, but tests may create the Database elsewhere;
        # it is never used from two threads at once (reads do not await).
        reader = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        reader.row_factory = sqlite3.Row
        for pragma in ("query_only=ON", f"busy_timeout={BUSY_TIMEOUT_MS}", "mmap_size=268435456"):
            reader.execute(f"PRAGMA {pragma}").fetchall()
        return reader

    async def close(self) -> None:
        if self._reader is not None:
            reader, self._reader = self._reader, None
            reader.close()
        if self._conn is None:
            return
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

    @asynccontextmanager
    async def write(self) -> AsyncIterator[aiosqlite.Connection]:
        """Serialise writers: an asyncio lock in-process and BEGIN IMMEDIATE across processes."""
        async with self._write_lock:
            conn = self.conn
            try:
                await conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as error:
                raise _unavailable(error) from error
            try:
                yield conn
            except sqlite3.OperationalError as error:
                await conn.rollback()
                # A full disk shows up on the INSERT that needs a new page, not at BEGIN or COMMIT.
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

    async def transact(self, body: Callable[[sqlite3.Connection], T]) -> T:
        """One write transaction in one trip to the database thread; the same guarantees as `write()`.

        `body` is plain synchronous sqlite3 code run on the database thread between BEGIN IMMEDIATE and COMMIT
        (ROLLBACK if it raises), under the same lock as `write()`. It must not await or touch anything but the
        connection it is given; what it returns is returned here, what it raises is raised here.
        """
        async with self._write_lock:
            conn = self.conn
            try:
                # aiosqlite's own way to run a callable on its thread (every public method goes through it).
                result: T = await conn._execute(_run_transaction, conn, body)  # type: ignore[no-untyped-call]
            except _Refused as refused:
                raise _unavailable(refused.error) from refused.error
            except sqlite3.OperationalError as error:
                # A full disk shows up on the statement that needs a new page, not at BEGIN or COMMIT.
                if _is_unavailable(error):
                    raise _unavailable(error) from error
                raise
            return result

    async def query(self, body: Callable[[sqlite3.Connection], T], *, bulk: bool = False) -> T:
        """Several reads under one snapshot: `body` is synchronous sqlite3 code as in transact(), and never writes."""
        conn = self.conn
        if self._reader is None or bulk:
            result: T = await conn._execute(_run_reads, conn, body)  # type: ignore[no-untyped-call]
            return result
        return _read_snapshot(self._reader, body)

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Sequence[Any] = (), *, bulk: bool = False) -> list[sqlite3.Row]:
        conn = self.conn
        if self._reader is None or bulk:
            # Execute, fetch and close in one trip (a cursor would take three).
            return list(await conn.execute_fetchall(sql, params))
        return self._reader.execute(sql, params).fetchall()

    async def integrity_check(self) -> str:
        rows = list(await self.conn.execute_fetchall("PRAGMA integrity_check"))
        return str(rows[0][0]) if rows else "no answer"

    async def backup_to(self, target: Path) -> None:
        """Online backup (safe while the bot runs) using SQLite's backup API."""
        target.parent.mkdir(parents=True, exist_ok=True)
        async with aiosqlite.connect(target) as destination:
            await self.conn.backup(destination)


class _Refused(Exception):
    """BEGIN or COMMIT failed on the database thread; transact() turns it into StorageUnavailable."""

    def __init__(self, error: sqlite3.OperationalError) -> None:
        super().__init__(str(error))
        self.error = error


def _run_transaction(conn: aiosqlite.Connection, body: Callable[[sqlite3.Connection], T]) -> T:
    """On the database thread: BEGIN IMMEDIATE, the body, COMMIT; ROLLBACK if anything fails."""
    connection = conn._conn
    try:
        connection.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as error:
        raise _Refused(error) from error
    try:
        result = body(connection)
    except BaseException:
        connection.rollback()
        raise
    try:
        connection.commit()
    except sqlite3.OperationalError as error:
        connection.rollback()
        raise _Refused(error) from error
    return result


def _run_reads(conn: aiosqlite.Connection, body: Callable[[sqlite3.Connection], T]) -> T:
    return _read_snapshot(conn._conn, body)


def _read_snapshot(connection: sqlite3.Connection, body: Callable[[sqlite3.Connection], T]) -> T:
    """The body's reads see one committed state, not a write that lands between two of them."""
    connection.execute("BEGIN")
    try:
        return body(connection)
    finally:
        connection.execute("COMMIT")


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


def placeholders(values: Iterable[Any]) -> str:
    """`?, ?, ?` for an IN (...) clause."""
    return ", ".join("?" for _ in values)
