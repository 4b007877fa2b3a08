"""`nexus-bot backup`: an online copy of a live database, restored by copying it into place, and the bot starts on
it with the data intact; the CLI's exit codes and refusals."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot import Settings, create_bot
from bot.storage.admin import AdminStore
from bot.storage.db import LATEST_VERSION, Database
from bot.storage.ops import BackupError, backup_database
from tests.conftest import REPO, World


def restore(backup: Path, db_path: Path) -> None:
    """The documented restore: with the bot stopped, remove the live file and its WAL side files, copy the backup."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(backup, db_path)


async def test_backup_of_the_running_bot_restores_and_the_bot_starts_on_it(
    world: World, settings: Settings, tmp_path: Path
) -> None:
    ada, grace = world.learners[0], world.learners[1]
    await ada.slash(world.channel, "announce", project="ecommerce", track="backend")
    # The bot is running and holds its database open (WAL mode, recent writes not checkpointed).
    assert world.env.bot.db.is_open
    report = backup_database(settings.db_path, tmp_path / "backups" / "nexus-1.db")
    assert report.schema_version == LATEST_VERSION
    assert report.size_bytes > 0
    # Written after the backup: a restore goes back to the backup's moment.
    await grace.slash(world.channel, "announce", project="ecommerce", track="frontend")

    old = world.env.bot
    old.scheduler.shutdown()
    await old.db.close()
    restore(report.target, settings.db_path)
    new = create_bot(settings)
    await world.env.restart_bot(new)
    try:
        config = await world.staff.slash(world.channel, "nexus config")
        fields = {field.name: field.value for field in config.response.embeds[0].fields}
        assert fields["Channel"] == world.channel.mention
        stats = await world.staff.slash(world.channel, "nexus stats")
        learners = next(field.value for field in stats.response.embeds[0].fields if field.name == "Learners")
        assert "1 announced (0 frontend, 1 backend)" in learners
        assert [tuple(row) for row in await new.db.fetchall("PRAGMA integrity_check")] == [("ok",)]
    finally:
        new.scheduler.shutdown()
        await new.db.close()


async def test_backup_while_writes_are_running_is_consistent(tmp_path: Path) -> None:
    db = Database(tmp_path / "live.db")
    await db.connect()
    store = AdminStore(db)
    stop = asyncio.Event()

    async def keep_writing() -> int:
        written = 0
        while not stop.is_set():
            await store.set_meta(f"k{written}", "x" * 500)
            written += 1
            await asyncio.sleep(0)
        return written

    writer = asyncio.ensure_future(keep_writing())
    try:
        await asyncio.sleep(0.05)
        report = await asyncio.to_thread(backup_database, db.path, tmp_path / "copy.db")
    finally:
        stop.set()
        written = await writer
        await db.close()
    with sqlite3.connect(report.target) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        copied = copy.execute("SELECT COUNT(*) FROM bot_meta WHERE key LIKE 'k%'").fetchone()[0]
    assert 0 < copied <= written


def test_backup_refuses_to_overwrite_or_to_invent_a_database(tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="no database"):
        backup_database(tmp_path / "missing.db", tmp_path / "copy.db")
    assert not (tmp_path / "missing.db").exists()
    assert not (tmp_path / "copy.db").exists()

    live = tmp_path / "live.db"
    sqlite3.connect(live).close()
    target = tmp_path / "copy.db"
    target.write_text("keep me", encoding="utf-8")
    with pytest.raises(BackupError, match="already exists"):
        backup_database(live, target)
    assert target.read_text(encoding="utf-8") == "keep me"
    with pytest.raises(BackupError, match="live database itself"):
        backup_database(live, live, overwrite=True)


def cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NEXUS_DB_PATH": str(tmp_path / "data" / "nexus.db"), "PYTHONPATH": str(REPO)}
    env.pop("DISCORD_TOKEN", None)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=30
    )


def test_backup_cli(tmp_path: Path) -> None:
    target = tmp_path / "backups" / "nexus.db"
    missing = cli(tmp_path, "backup", str(target))
    assert missing.returncode == 1
    assert "no database at" in missing.stderr

    db_path = tmp_path / "data" / "nexus.db"
    db_path.parent.mkdir()
    with sqlite3.connect(db_path) as conn:
        conn.execute("CREATE TABLE t (x)")
        conn.execute("INSERT INTO t VALUES (42)")
    made = cli(tmp_path, "backup", str(target))
    assert made.returncode == 0, made.stderr
    assert "integrity ok" in made.stdout
    with sqlite3.connect(target) as copy:
        assert copy.execute("SELECT x FROM t").fetchone() == (42,)

    again = cli(tmp_path, "backup", str(target))
    assert again.returncode == 1
    assert "already exists" in again.stderr
    assert cli(tmp_path, "backup", str(target), "--force").returncode == 0
