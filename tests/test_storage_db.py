"""The database layer on real SQLite files: pragmas, migrations from an old schema, serialised writes."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.admin import GuildConfig
from bot.errors import StorageUnavailable
from bot.ops import ProjectCount
from bot.storage.admin import AdminStore
from bot.storage.db import (
    BUSY_TIMEOUT_MS,
    CHECKPOINT_AFTER_WRITES,
    LATEST_VERSION,
    Database,
    Session,
    load_migrations,
)
from bot.storage.matching import MatchingStore
from bot.storage.ops import OpsStore
from bot.storage.projects import ProjectsStore
from tests.test_ops_stats import GUILD, OTHER_GUILD, seed

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


async def test_fresh_database_has_pragmas_and_latest_schema(tmp_path: Path) -> None:
    db = Database(tmp_path / "n.db")
    version = await db.connect()
    try:
        assert version == LATEST_VERSION
        pragmas = {}
        for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous", "wal_autocheckpoint"):
            row = await db.fetchone(f"PRAGMA {name}")
            assert row is not None
            pragmas[name] = row[0]
        # synchronous 1 is NORMAL; the log is checkpointed by Database itself, not inside a COMMIT (below).
        assert pragmas == {
            "journal_mode": "wal",
            "foreign_keys": 1,
            "busy_timeout": BUSY_TIMEOUT_MS,
            "synchronous": 1,
            "wal_autocheckpoint": 0,
        }
        assert [tuple(row) for row in await db.fetchall("PRAGMA integrity_check")] == [("ok",)]
    finally:
        await db.close()


async def test_the_log_is_checkpointed_every_few_writes_and_nothing_is_lost(tmp_path: Path) -> None:
    db = Database(tmp_path / "n.db")
    await db.connect()
    wal = tmp_path / "n.db-wal"
    try:
        await db.execute("CREATE TABLE scratch (n INTEGER, body BLOB)")
        # From an empty log: the migrations' own pages would otherwise set its size.
        await db.fetchall("PRAGMA wal_checkpoint(TRUNCATE)")
        writes = 10 * CHECKPOINT_AFTER_WRITES
        for n in range(writes):
            # A page and more per write: without checkpoints the log would hold every one of them.
            await db.execute("INSERT INTO scratch VALUES (?, zeroblob(5000))", (n,))
        page = 4096
        # Checkpointed, the log is written again from its start: it stays near one checkpoint's worth of writes.
        assert wal.stat().st_size < 3 * CHECKPOINT_AFTER_WRITES * 2 * page < writes * page
        row = await db.fetchone("SELECT COUNT(*), SUM(n) FROM scratch")
        assert row is not None and tuple(row) == (writes, writes * (writes - 1) // 2)
    finally:
        await db.close()
    raw = sqlite3.connect(tmp_path / "n.db")
    assert raw.execute("SELECT COUNT(*) FROM scratch").fetchone() == (writes,)
    raw.close()


async def test_migrations_are_safe_to_rerun(tmp_path: Path) -> None:
    path = tmp_path / "n.db"
    for _ in range(2):
        db = Database(path)
        assert await db.connect() == LATEST_VERSION
        await db.close()


async def test_v1_database_upgrades_without_loss(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    version, _, sql = load_migrations()[0]
    assert version == 1
    raw = sqlite3.connect(path)
    raw.executescript(sql)
    raw.execute(
        "INSERT INTO guild_config (guild_id, channel_id, cohort_start, timezone, updated_at, updated_by)"
        " VALUES (1, 2, '2026-01-05', 'Africa/Lagos', '2026-01-01T00:00:00+00:00', 3)"
    )
    raw.execute("PRAGMA user_version=1")
    raw.commit()
    raw.close()

    db = Database(path)
    assert await db.connect() == LATEST_VERSION
    try:
        config = await AdminStore(db).get_config(1)
        assert config == GuildConfig(1, 2, date(2026, 1, 5), "Africa/Lagos")
    finally:
        await db.close()


async def test_concurrent_writes_are_serialised(tmp_path: Path) -> None:
    db = Database(tmp_path / "n.db")
    await db.connect()
    store = AdminStore(db)
    try:
        await asyncio.gather(*(store.set_meta(f"k{i}", str(i)) for i in range(50)))
        rows = await db.fetchall("SELECT COUNT(*) FROM bot_meta")
        assert rows[0][0] == 50
    finally:
        await db.close()


async def test_failed_write_rolls_back(tmp_path: Path) -> None:
    db = Database(tmp_path / "n.db")
    await db.connect()
    try:

        async def body(conn: Session) -> None:
            await conn.execute("INSERT INTO bot_meta (key, value) VALUES ('a', 'b')")
            raise RuntimeError("boom")

        with pytest.raises(RuntimeError):
            await db.transact(body)
        assert await AdminStore(db).get_meta("a") is None
    finally:
        await db.close()


async def test_read_only_database_gives_a_user_error(tmp_path: Path) -> None:
    path = tmp_path / "n.db"
    db = Database(path)
    await db.connect()
    await db.close()
    uri_db = Database(path)
    await uri_db.connect()
    try:
        await uri_db.set_pragma("query_only=ON")
        with pytest.raises(StorageUnavailable, match="read-only"):
            await AdminStore(uri_db).set_meta("x", "y")
    finally:
        await uri_db.set_pragma("query_only=OFF")
        await uri_db.close()


async def test_a_write_waits_for_another_process_on_the_thread_not_the_event_loop(tmp_path: Path) -> None:
    db = Database(tmp_path / "n.db")
    await db.connect()
    other = sqlite3.connect(tmp_path / "n.db", isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        write = asyncio.create_task(AdminStore(db).set_meta("k", "v"))
        ticks = 0
        for _ in range(20):  # the loop keeps running while the write waits
            await asyncio.sleep(0.01)
            ticks += 1
        assert not write.done() and ticks == 20
        other.execute("COMMIT")
        await asyncio.wait_for(write, timeout=BUSY_TIMEOUT_MS / 1000)
        assert await AdminStore(db).get_meta("k") == "v"
    finally:
        other.close()
        await db.close()


async def test_a_lock_held_past_the_busy_timeout_is_a_clear_storage_error(tmp_path: Path) -> None:
    db = Database(tmp_path / "n.db")
    await db.connect()
    await db.set_pragma("busy_timeout = 50")  # the thread's wait, shortened for the test
    other = sqlite3.connect(tmp_path / "n.db", isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(StorageUnavailable, match="busy"):
            await AdminStore(db).set_meta("k", "v")
        other.execute("ROLLBACK")
        assert await AdminStore(db).get_meta("k") is None
    finally:
        other.close()
        await db.close()


async def test_nobody_reads_a_write_that_is_half_done(tmp_path: Path) -> None:
    db = Database(tmp_path / "n.db")
    await db.connect()
    seen: list[object] = []

    async def read() -> None:
        seen.append(await AdminStore(db).get_meta("k"))

    async def body(conn: Session) -> None:
        await conn.execute("INSERT INTO bot_meta (key, value) VALUES ('k', 'half')")
        reader = asyncio.get_running_loop().create_task(read())
        await conn.execute("UPDATE bot_meta SET value = 'done' WHERE key = 'k'")
        await asyncio.sleep(0.01)  # the reader had every chance to run between the two statements
        assert not reader.done() and seen == []
        readers.append(reader)

    readers: list[asyncio.Task[None]] = []
    try:
        await db.transact(body)
        await readers[0]
        assert seen == ["done"]
    finally:
        await db.close()


COUNTED_ON_READ = 60  # the migration that dropped the counter tables and their triggers


async def test_a_populated_database_from_before_counting_on_read_upgrades_without_loss(tmp_path: Path) -> None:
    path = tmp_path / "v53.db"
    raw = sqlite3.connect(path, isolation_level=None)
    before = [(version, sql) for version, _, sql in load_migrations() if version < COUNTED_ON_READ]
    for version, sql in before:
        raw.executescript(f"BEGIN;\n{sql}\nPRAGMA user_version={version};\nCOMMIT;")
    raw.close()
    # Rows written while the triggers were live, as a running bot would have left them.
    await seed(Database(path), GUILD)
    await seed(Database(path), OTHER_GUILD)
    raw = sqlite3.connect(path)
    tables = [name for (name,) in raw.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    rows_before = {table: raw.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] for table in tables}  # noqa: S608
    assert raw.execute("SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger'").fetchone()[0] == 30
    raw.close()

    db = Database(path)
    assert await db.connect() == LATEST_VERSION
    try:
        # The counting triggers and the view are gone, and so are the cohort defaults (0091, dropped by 0102).
        left = {row["type"] for row in await db.fetchall("SELECT type FROM sqlite_master")}
        assert "trigger" not in left and "view" not in left
        for table, count in rows_before.items():
            if table in ("board_counts", "learner_counts", "pool_counts"):
                assert await db.fetchone("SELECT name FROM sqlite_master WHERE name = ?", (table,)) is None
                continue
            row = await db.fetchone(f"SELECT COUNT(*) FROM {table}")  # noqa: S608 - names read from the schema
            assert row is not None and row[0] == count, table
        assert [tuple(row) for row in await db.fetchall("PRAGMA integrity_check")] == [("ok",)]

        stats = await OpsStore(db).guild_stats(GUILD)
        assert (stats.learners, stats.waiting, stats.pending_proposals, stats.paired, stats.teams) == (4, 1, 1, 2, 1)
        assert (stats.reminders_sent, stats.reminders_failed) == (2, 1)
        assert sorted(stats.projects, key=lambda p: p.project_key) == [
            ProjectCount("custom:pionus", "Pionus Safaris (custom)", 1, 0),
            ProjectCount("ecommerce", "ecommerce", 1, 1),
        ]
        board = sorted(await ProjectsStore(db).board_totals(GUILD), key=lambda total: total.key)
        assert [(t.key, t.frontend, t.backend, t.paired, t.waiting) for t in board] == [
            ("custom:pionus", 1, 0, 0, 1),
            ("ecommerce", 1, 1, 2, 0),
        ]
        match_board = await MatchingStore(db).board(GUILD)
        assert [(row.project_key, row.frontend_waiting, row.backend_waiting) for row in match_board] == [
            ("custom:pionus", 1, 0)
        ]
        # Writes after the upgrade are counted at once, with nothing left to keep in step.
        await ProjectsStore(db).member_left(GUILD, 2, now=NOW)
        ecommerce = await ProjectsStore(db).board_total(GUILD, "ecommerce")
        assert ecommerce is not None and (ecommerce.frontend, ecommerce.backend, ecommerce.paired) == (0, 1, 1)
    finally:
        await db.close()


async def test_an_ended_team_with_members_still_marked_in_it_upgrades_to_members_who_left(tmp_path: Path) -> None:
    # From 0101 the board reads an active membership as "in a team that has not ended".
    path = tmp_path / "v100.db"
    raw = sqlite3.connect(path, isolation_level=None)
    for version, _, sql in load_migrations():
        if version < 101:
            raw.executescript(f"BEGIN;\n{sql}\nPRAGMA user_version={version};\nCOMMIT;")
    when, ended = NOW.isoformat(), "2026-01-06T09:00:00+00:00"
    raw.executemany(
        "INSERT INTO learners (guild_id, user_id, display_name, first_seen_at) VALUES (?, ?, ?, ?)",
        [(GUILD, 1, "one", when), (GUILD, 2, "two", when)],
    )
    raw.executemany(
        "INSERT INTO announcements (guild_id, user_id, project_key, project_name, track, created_at)"
        " VALUES (?, ?, 'ecommerce', ?, ?, ?)",
        [(GUILD, 1, "E-Commerce Backend", "backend", when), (GUILD, 2, "E-Commerce Frontend", "frontend", when)],
    )
    raw.executemany(
        "INSERT INTO teams (id, guild_id, project_key, created_at, ended_at) VALUES (?, ?, 'ecommerce', ?, ?)",
        [(1, GUILD, when, ended), (2, GUILD, when, None)],
    )
    raw.executemany(
        "INSERT INTO team_members (team_id, guild_id, user_id, track, joined_at) VALUES (?, ?, ?, ?, ?)",
        [(1, GUILD, 1, "backend", when), (2, GUILD, 2, "frontend", when)],
    )
    raw.close()

    db = Database(path)
    assert await db.connect() == LATEST_VERSION
    try:
        members = await db.fetchall("SELECT team_id, user_id, left_at FROM team_members ORDER BY team_id")
        assert [tuple(row) for row in members] == [(1, 1, ended), (2, 2, None)]
        board = await ProjectsStore(db).board_totals(GUILD)
        assert [(t.key, t.frontend, t.backend, t.paired) for t in board] == [("ecommerce", 1, 1, 1)]
        one = await ProjectsStore(db).board_total(GUILD, "ecommerce")
        assert one is not None and one.paired == 1
    finally:
        await db.close()
