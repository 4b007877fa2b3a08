"""The database layer on real SQLite files: pragmas, migrations from an old schema, serialised writes."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.admin import GuildConfig
from bot.errors import StorageUnavailable
from bot.storage.admin import AdminStore
from bot.storage.db import BUSY_TIMEOUT_MS, CHECKPOINT_EVERY_COMMITS, LATEST_VERSION, Database, load_migrations

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


async def test_fresh_database_has_pragmas_and_latest_schema(tmp_path: Path) -> None:
    db = Database(tmp_path / "n.db")
    version = await db.connect()
    try:
        assert version == LATEST_VERSION
        thread = db.conn
        assert next(iter(await thread.execute_fetchall("PRAGMA journal_mode")))[0] == "wal"
        assert next(iter(await thread.execute_fetchall("PRAGMA foreign_keys")))[0] == 1
        assert next(iter(await thread.execute_fetchall("PRAGMA busy_timeout")))[0] >= 1000
        # The event loop's connection: the same guarantees, but it never checkpoints and hands waits over.
        assert (await db.fetchone("PRAGMA journal_mode"))[0] == "wal"
        assert (await db.fetchone("PRAGMA foreign_keys"))[0] == 1
        assert (await db.fetchone("PRAGMA synchronous"))[0] == 1  # NORMAL
        assert (await db.fetchone("PRAGMA wal_autocheckpoint"))[0] == 0
        assert await db.integrity_check() == "ok"
    finally:
        await db.close()


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
        with pytest.raises(RuntimeError):
            async with db.write() as conn:
                await conn.execute("INSERT INTO bot_meta (key, value) VALUES ('a', 'b')")
                raise RuntimeError("boom")
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


async def test_the_thread_checkpoints_so_the_log_stays_small(tmp_path: Path) -> None:
    db = Database(tmp_path / "n.db")
    await db.connect()
    store = AdminStore(db)
    writes = CHECKPOINT_EVERY_COMMITS * 2 + 100
    try:
        for index in range(writes):
            await store.set_meta("counter", str(index))
        # wal_checkpoint reports the frames in the log before it runs: without the periodic checkpoints every
        # commit would still be there (at least one frame each).
        _, frames, _ = (await db.fetchone("PRAGMA wal_checkpoint(PASSIVE)")) or (0, 0, 0)
        assert 0 < frames < writes - CHECKPOINT_EVERY_COMMITS
        assert await store.get_meta("counter") == str(writes - 1)
    finally:
        await db.close()
