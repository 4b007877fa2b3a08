"""The SQLite connection: opening, pragmas, numbered migrations and the one serialised write path."""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from bot.errors import StorageUnavailable

log = logging.getLogger(__name__)

MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
BUSY_TIMEOUT_MS = 5000
# The event loop's connection waits this long for another process's lock, then hands the write to the thread.
LOOP_BUSY_TIMEOUT_MS = 20
# The loop's connection never checkpoints (a checkpoint syncs to disk); the database thread does, this often.
CHECKPOINT_EVERY_COMMITS = 500
LOOP_CACHE_KIB = 32 * 1024  # pages are only held once read, so a small cohort uses little of it

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
    """The bot's SQLite file, shared by every store: small reads and writes on the event loop, the rest on a thread.

    Every call into aiosqlite is a round trip to its database thread (a queue, a thread wake-up, a wake-up of the
    loop), and those trips, not SQLite, were most of what a command waited for. A command's reads and writes
    touch a few rows and take tens of microseconds, so they run at once on a second connection owned by the
    event loop: `fetchall`/`fetchone` for one statement, `query()` for several reads under one snapshot,
    `transact()` for one write transaction. What could stall the loop stays on aiosqlite's thread:
    - waiting for a lock held by another process: the loop's connection gives up after LOOP_BUSY_TIMEOUT_MS and
      the write is retried on the thread, which waits up to BUSY_TIMEOUT_MS;
    - checkpoints, which sync the file to disk: the loop's connection never runs one, the thread runs a passive
      one every CHECKPOINT_EVERY_COMMITS commits;
    - anything that may read or write a whole cohort: callers pass `bulk=True`;
    - migrations and backups.
    Both connections run in WAL mode with synchronous=NORMAL, so a commit appends to the log without a sync.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: aiosqlite.Connection | None = None
        self._local: sqlite3.Connection | None = None
        self._write_lock = asyncio.Lock()
        self._commits = 0

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
        if self._local is not None:
            self._local.close()
        self._local = self._open_local()
        return version

    def _open_local(self) -> sqlite3.Connection | None:
        if str(self.path) == ":memory:":
            return None  # a second connection to :memory: would be another, empty database
        # check_same_thread=False: the Database may be created outside the loop's thread (tests); it is never
        # used from two threads at once, since nothing awaits while using it.
        local = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        local.row_factory = sqlite3.Row
        for pragma in (
            "foreign_keys=ON",
            f"busy_timeout={LOOP_BUSY_TIMEOUT_MS}",
            "synchronous=NORMAL",
            "wal_autocheckpoint=0",
            "mmap_size=268435456",
            # Every command's reads and writes share this cache; SQLite's default 2 MiB held less than one
            # benchmark round's pages, so each command re-read its pages from the file.
            f"cache_size=-{LOOP_CACHE_KIB}",
        ):
            local.execute(f"PRAGMA {pragma}").fetchall()
        return local

    async def set_pragma(self, pragma: str) -> None:
        """A connection setting (e.g. query_only, max_page_count) on every connection the bot writes through."""
        await self.conn.execute_fetchall(f"PRAGMA {pragma}")
        if self._local is not None:
            self._local.execute(f"PRAGMA {pragma}").fetchall()

    async def close(self) -> None:
        if self._local is not None:
            local, self._local = self._local, None
            local.close()
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

    async def transact(self, body: Callable[[sqlite3.Connection], T], *, bulk: bool = False) -> T:
        """One write transaction; the same guarantees as `write()`.

        `body` is plain synchronous sqlite3 code run between BEGIN IMMEDIATE and COMMIT (ROLLBACK if it raises),
        under the same lock as `write()`: on the event loop, or on the database thread for `bulk` work or when
        another process holds the lock. It must not await or touch anything but the connection it is given;
        what it returns is returned here, what it raises is raised here.
        """
        async with self._write_lock:
            local = self._local
            if local is not None and not bulk:
                try:
                    result = _run_transaction(local, body)
                except _Refused as refused:
                    if not (refused.at_begin and _is_busy(refused.error)):
                        raise _unavailable(refused.error) from refused.error
                    log.info("database locked by another process; writing from the database thread")
                except sqlite3.OperationalError as error:
                    # A full disk shows up on the statement that needs a new page, not at BEGIN or COMMIT.
                    if _is_unavailable(error):
                        raise _unavailable(error) from error
                    raise
                else:
                    await self._after_commit()
                    return result
            conn = self.conn
            try:
                # aiosqlite's own way to run a callable on its thread (every public method goes through it).
                result = await conn._execute(_run_transaction, conn._conn, body)  # type: ignore[no-untyped-call]
            except _Refused as refused:
                raise _unavailable(refused.error) from refused.error
            except sqlite3.OperationalError as error:
                if _is_unavailable(error):
                    raise _unavailable(error) from error
                raise
            return result

    async def _after_commit(self) -> None:
        self._commits += 1
        if self._commits % CHECKPOINT_EVERY_COMMITS == 0:
            try:
                await self.conn.execute_fetchall("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.Error:
                log.warning("WAL checkpoint failed; the next one retries", exc_info=True)

    async def query(self, body: Callable[[sqlite3.Connection], T], *, bulk: bool = False) -> T:
        """Several reads under one snapshot: `body` is synchronous sqlite3 code as in transact(), and never writes."""
        conn = self.conn
        if self._local is None or bulk:
            result: T = await conn._execute(_read_snapshot, conn._conn, body)  # type: ignore[no-untyped-call]
            return result
        return _read_snapshot(self._local, body)

    async def fetchone(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> sqlite3.Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def fetchall(
        self, sql: str, params: Sequence[Any] | Mapping[str, Any] = (), *, bulk: bool = False
    ) -> list[sqlite3.Row]:
        conn = self.conn
        if self._local is None or bulk:
            # Execute, fetch and close in one trip (a cursor would take three).
            return list(await conn.execute_fetchall(sql, params))
        return self._local.execute(sql, params).fetchall()

    async def integrity_check(self) -> str:
        rows = list(await self.conn.execute_fetchall("PRAGMA integrity_check"))
        return str(rows[0][0]) if rows else "no answer"

    async def backup_to(self, target: Path) -> None:
        """Online backup (safe while the bot runs) using SQLite's backup API."""
        target.parent.mkdir(parents=True, exist_ok=True)
        async with aiosqlite.connect(target) as destination:
            await self.conn.backup(destination)


class _Refused(Exception):
    """BEGIN or COMMIT failed; transact() turns it into StorageUnavailable (or, if BEGIN was busy, retries)."""

    def __init__(self, error: sqlite3.OperationalError, *, at_begin: bool) -> None:
        super().__init__(str(error))
        self.error = error
        self.at_begin = at_begin


def _run_transaction(connection: sqlite3.Connection, body: Callable[[sqlite3.Connection], T]) -> T:
    """BEGIN IMMEDIATE, the body, COMMIT; ROLLBACK if anything fails."""
    try:
        connection.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as error:
        raise _Refused(error, at_begin=True) from error
    try:
        result = body(connection)
    except BaseException:
        connection.rollback()
        raise
    try:
        connection.commit()
    except sqlite3.OperationalError as error:
        connection.rollback()
        raise _Refused(error, at_begin=False) from error
    return result


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


def _is_busy(error: sqlite3.OperationalError) -> bool:
    name = getattr(error, "sqlite_errorname", "") or ""
    return name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED"))


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
